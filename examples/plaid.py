"""SAVAE on 1-D signals: PLAID appliance currents (or Trace, BasicMotions).

    python examples/plaid.py --quick
    python examples/plaid.py --dataset trace --epochs 60

Trains SAVAE's two phases on the training series and the VAE for as many
seconds, then writes `metrics.json` (VEC test accuracy, test reconstruction
error and log-spectral distance of both models), `reconstructions.png` and
`generated_per_class.png` to `--out` (default `runs/<dataset>`). See
`savae_keras.experiments.signals`.

On PLAID the models train on random windows of 200 samples of each series
at its true length, with an amplitude channel (`savae_keras.data.windows`;
`--window N` for another length), phase 1 with a cosine learning-rate
decay, and the VEC votes over each test series' windows; with `--recipe
pixel_light` its test accuracy is about 0.90 (docs/results.md, "PLAID on
random windows"). `--window 0`, and the other datasets, use the series
resampled to a fixed length and scaled into [0, 1] as
`savae_keras.data.SIGNALS` says.
"""

import argparse
import json

from savae_keras.cli import device_scope
from savae_keras.cli import nonnegative_int
from savae_keras.cli import quiet_per_model_retracing
from savae_keras.experiments.signals import add_training_arguments
from savae_keras.experiments.signals import run_signals


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", default="plaid", choices=["plaid", "trace", "basic_motions"]
    )
    parser.add_argument(
        "--window",
        type=nonnegative_int,
        default=None,
        help="train on random windows of this many samples (0: on the "
        "resampled series; default 200 on PLAID, 0 elsewhere)",
    )
    add_training_arguments(parser)
    args = parser.parse_args(argv)
    if args.window is None:
        args.window = 200 if args.dataset == "plaid" else 0
    # (quick, full) epochs of phase 1 and phase 2. A windowed epoch is
    # short (one window per series), so it runs more of them.
    epochs, decoder_epochs = ((30, 300), (3, 30)) if args.window else ((8, 40), (2, 10))
    quiet_per_model_retracing()
    with device_scope(args, parser):
        results = run_signals(
            dataset=args.dataset,
            out=args.out,
            latent_dim=args.latent_dim,
            window=args.window or None,
            epochs=args.epochs or epochs[not args.quick],
            decoder_epochs=args.decoder_epochs or decoder_epochs[not args.quick],
            batch_size=args.batch_size,
            seed=args.seed,
            data_dir=args.data_dir,
            recipe=args.recipe,
        )
    print(json.dumps({k: results[k] for k in ("vec_test_accuracy", "models")}))
    return results


if __name__ == "__main__":
    main()
