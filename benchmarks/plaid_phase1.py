"""Phase 1 alone on PLAID: how the series are prepared against VEC accuracy.

    python benchmarks/plaid_phase1.py --amplitude-channel --kl-weight 0.01

Trains a `VariationalEncoderClassifier` (latent 16, batch 32) on the 537
PLAID training series and prints the training and test accuracy of
`Class(μ(x))` every 10 epochs. The series are prepared as `load_dataset`
does (each series' true length resampled to 256 steps, min-max scaled), or
with `--tile` repeated from their start up to 256 steps instead of
resampled (no change of time scale), and with `--amplitude-channel` a
second, constant channel holding the series' log10 peak current scaled
from [-4, 3] into [0, 1] (the per-series scaling removes the amplitude;
docs/results/signals.md, "Why the PLAID VEC stops near 75 %").

With `--window N` it trains instead on a new random window of N samples of
every series each epoch, at the series' true length
(`savae_keras.data.window_dataset`, whole batches), and tests one vote per
series over its windows N // 8 apart (`classify_series`; the training
accuracy likewise). `--cosine` lets Adam's learning rate fall from 1e-3 to
0 along a cosine over the epochs.
"""

import argparse
import os
import time

import keras
import numpy as np

from savae_keras.data import AMPLITUDE_RANGES
from savae_keras.data import classify_series
from savae_keras.data import load_series
from savae_keras.data import resample_series
from savae_keras.data import scale_series
from savae_keras.data import window_dataset
from savae_keras.data.loading import DATA_DIR_ENV
from savae_keras.models import VariationalEncoderClassifier

LENGTH = 256


def tile_series(series, lengths, length):
    """Each series' first `lengths[i]` steps repeated up to `length` steps."""
    out = np.empty((len(series), length, series.shape[-1]), "float32")
    for i, (row, n) in enumerate(zip(series, lengths)):
        out[i] = np.tile(row[:n], (-(-length // int(n)), 1))[:length]
    return out


def prepare(series, lengths, tile, amplitude_channel):
    """`(N, 256, 1 or 2)` float32 series in [0, 1] (module docstring)."""
    fixed = (tile_series if tile else resample_series)(series, lengths, LENGTH)
    shape = scale_series(fixed)
    if not amplitude_channel:
        return shape
    peak = np.log10(np.abs(fixed).max(axis=1, keepdims=True) + 1e-6)
    amplitude = np.clip((peak + 4.0) / 7.0, 0.0, 1.0)
    return np.concatenate([shape, np.broadcast_to(amplitude, shape.shape)], -1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get(DATA_DIR_ENV))
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--kl-weight", type=float, default=0.1)
    parser.add_argument("--reconstruction-weight", type=float, default=0.0)
    parser.add_argument("--tile", action="store_true")
    parser.add_argument("--amplitude-channel", action="store_true")
    parser.add_argument("--window", type=int, default=0)
    parser.add_argument("--cosine", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not args.data_dir:
        parser.error(f"give --data-dir or set {DATA_DIR_ENV} (the folder of plaid.npz)")
    keras.utils.set_random_seed(args.seed)
    if args.window:
        amplitude = AMPLITUDE_RANGES["plaid"] if args.amplitude_channel else None
        series, y = load_series("plaid", "train", args.data_dir)
        test_series, y_test = load_series("plaid", "test", args.data_dir)
        x = window_dataset(
            series,
            y,
            args.window,
            32,
            amplitude_range=amplitude,
            seed=args.seed,
            drop_remainder=True,
        )
        shape, steps = tuple(x.element_spec[0].shape[1:]), int(x.cardinality())

        def accuracy(model, which):
            data, labels = (series, y) if which == "train" else (test_series, y_test)
            votes = classify_series(model, data, args.window, amplitude_range=amplitude)
            return np.mean(votes.argmax(-1) == labels)

        fit, fit_labels = dict(shuffle=False), None
    else:
        with np.load(os.path.join(args.data_dir, "plaid.npz")) as raw:
            files = dict(raw)
        arrays = {
            split: prepare(
                files[f"x_{split}"],
                files[f"length_{split}"],
                args.tile,
                args.amplitude_channel,
            )
            for split in ("train", "test")
        }
        labels = {split: files[f"y_{split}"] for split in ("train", "test")}
        x, y, shape = arrays["train"], labels["train"], arrays["train"].shape[1:]
        steps = -(-len(x) // 32)

        def accuracy(model, which):
            predicted = model.classify(arrays[which]).argmax(-1)
            return np.mean(predicted == labels[which])

        fit, fit_labels = dict(batch_size=32), y
    vec = VariationalEncoderClassifier(
        shape,
        11,
        16,
        kl_weight=args.kl_weight,
        reconstruction_weight=args.reconstruction_weight,
        seed=args.seed,
    )
    rate = 1e-3
    if args.cosine:
        rate = keras.optimizers.schedules.CosineDecay(rate, args.epochs * steps)
    vec.compile(optimizer=keras.optimizers.Adam(rate))
    start = time.perf_counter()
    for done in range(10, args.epochs + 1, 10):
        vec.fit(x, fit_labels, epochs=10, verbose=0, **fit)
        print(
            f"epoch {done:>4}  {time.perf_counter() - start:>6.0f} s  "
            f"train {accuracy(vec, 'train'):.3f}  test {accuracy(vec, 'test'):.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
