"""SAVAE on 1-D signals and as an anomaly detector, against the VAE.

Two experiments, shared by `examples/plaid.py` and `examples/anomaly.py`.
In both, SAVAE trains its two phases (the VEC, then the adversarial
decoder) and the VAE of the same networks trains for as many seconds as
both phases took (the same wall-clock, not the same epochs).

* `run_signals`: on a labelled signal dataset (`plaid`, `trace`,
  `basic_motions`), the VEC's test accuracy, each model's test
  reconstruction error and log-spectral distance, the label consistency
  of its reconstructions and of its class-conditional series (judged by a
  second VEC trained on the same data with another seed), and the
  figures: test series against both reconstructions, generated series per
  class.
* `run_anomaly`: novelty detection. Each `held_out` class in turn is
  removed from the training data (the models see only the other classes),
  and every test sample is scored by `anomaly_score` (the held-out class is
  the anomaly); ROC-AUC per held-out class and model, both for the primary
  score and for the calibrated combination of components. With `window`
  (PLAID, Trace, BasicMotions) the models train on random windows of the
  series, as `run_signals(window=...)`, and a series scores the mean of its
  windows' components. On
  `ucr_internal_bleeding16` (train windows are all normal) it also reports
  whether the highest-scoring test window falls on the labelled anomaly,
  and whether the highest-scoring *step* does (the windows' `anomaly_map`s
  stitched into one score per step): a 12-step anomaly is under 10 % of a
  128-step window, and a window's mean error dilutes it.
"""

import json
import os

import keras
import numpy as np

from savae_keras.callbacks import TimeLimit
from savae_keras.cli import add_device_arguments
from savae_keras.cli import add_preset_arguments
from savae_keras.cli import nonnegative_int
from savae_keras.cli import preset_overrides
from savae_keras.data import SIGNALS
from savae_keras.data import get_spec
from savae_keras.data import load_class_names
from savae_keras.data import load_dataset
from savae_keras.data import load_ucr_series
from savae_keras.data.checks import check_number
from savae_keras.data.loading import UCR_WINDOW_STRIDE
from savae_keras.data.windows import AMPLITUDE_RANGES
from savae_keras.data.windows import classify_series
from savae_keras.data.windows import load_series
from savae_keras.data.windows import series_components
from savae_keras.data.windows import series_windows
from savae_keras.data.windows import window_dataset
from savae_keras.files import write_json_atomically
from savae_keras.metrics import calibrated_score
from savae_keras.metrics import locate_anomaly
from savae_keras.metrics import roc_auc
from savae_keras.metrics import series_scores
from savae_keras.metrics import signal_metrics
from savae_keras.models import SAVAE
from savae_keras.models import VAE
from savae_keras.plots import plot_generated_series
from savae_keras.plots import plot_series_reconstructions
from savae_keras.presets import resolve_preset

CALIBRATION_SHARE = 0.1
"""Share of the normal training samples kept out to calibrate the scores."""
JUDGE_SEED_OFFSET = 1000
"""`run_signals`' judge VEC trains with the seed `seed + JUDGE_SEED_OFFSET`."""
GENERATED_PER_CLASS = 20
"""Class-conditional series per class that the judge scores (4 are drawn)."""


def resolve_training(dataset, preset, overrides, seed):
    """`train_pair`'s settings: the preset resolved with `overrides`, checked
    here (one model of it is built) so that a bad setting fails before any
    data loads."""
    spec = get_spec(dataset)
    resolved = resolve_preset(SAVAE, preset, overrides)
    _build(resolved, spec.image_shape, spec.num_classes, seed).fit_settings()
    return resolved


def _build(resolved, shape, num_classes, seed):
    keras.utils.set_random_seed(seed)
    return SAVAE.from_preset(
        resolved, input_shape=shape, num_classes=num_classes, seed=seed
    )


def _fit_arguments(x):
    """`(shape, fit keywords)` of an array or of a dataset (a
    `tf.data.Dataset` of `(x, y)` batches brings its own batches)."""
    if isinstance(x, np.ndarray):
        return tuple(x.shape[1:]), {}
    import tensorflow as tf

    if not isinstance(x, tf.data.Dataset):
        raise TypeError(
            f"`x` must be a numpy array or a tf.data.Dataset; received "
            f"{type(x).__name__}."
        )
    return tuple(x.element_spec[0].shape[1:]), {"shuffle": False}


def train_vec(x, y, num_classes, resolved, *, seed, cosine_decay=False):
    """Phase 1 alone (`SAVAE.fit` with no phase-2 epochs): the SAVAE whose
    VEC is trained on `(x, y)`; `x` and `cosine_decay` as in `train_pair`."""
    shape, fit = _fit_arguments(x)
    model = _build(resolved, shape, num_classes, seed)
    epochs = model.fit_settings()["encoder_epochs"]
    model.fit(
        x,
        y,
        encoder_epochs=epochs,
        decoder_epochs=0,
        cosine_decay=cosine_decay,
        verbose=0,
        **fit,
    )
    return model


def train_pair(x, y, num_classes, resolved, *, seed, cosine_decay=False):
    """SAVAE's two phases on `(x, y)` (`SAVAE.fit`), then the VAE for as
    many seconds.

    `x` is an array (with labels `y`) or a `tf.data.Dataset` of `(x, y)`
    batches (`y=None`; phase 2 and the VAE ignore its labels). `resolved`
    is the SAVAE preset with its overrides (`resolve_preset`), budget
    included. `cosine_decay` lets phase 1's Adam learning rate fall to 0
    along a cosine over its epochs (beyond the paper; on PLAID's windows it
    steadies the last epochs).

    Returns `(savae, vae, seconds)`: the trained `SAVAE`, the VAE, and
    SAVAE's training seconds.
    """
    shape, fit = _fit_arguments(x)
    model = _build(resolved, shape, num_classes, seed)
    history = model.fit(x, y, cosine_decay=cosine_decay, verbose=0, **fit)
    seconds = history.seconds["phase_1"] + history.seconds["phase_2"]
    config = resolved["config"]
    vae = VAE(
        shape,
        model.latent_dim,
        num_classes=num_classes,
        encoder_options=config.get("encoder_options"),
        decoder_options=config.get("decoder_options"),
        seed=seed,
    )
    vae.compile()
    batch = {} if fit else {"batch_size": model.fit_settings()["batch_size"]}
    vae.fit(x, epochs=10_000, callbacks=[TimeLimit(seconds)], verbose=0, **fit, **batch)
    return model, vae, seconds


def run_signals(
    dataset="plaid",
    out=None,
    preset="signals",
    overrides=None,
    seed=0,
    data_dir=None,
    window=None,
):
    """Train SAVAE and the VAE on a signal dataset; metrics and figures.

    SAVAE is `SAVAE.from_preset(preset, **overrides)` trained on its
    budget; the VAE gets its seconds.

    With `window` (samples), the models train on random windows of the
    series at their true lengths (`data.windows`: a new window per series
    each epoch, per-window scaling plus PLAID's amplitude channel, phase 1
    with `cosine_decay`); the VEC's accuracy is then one vote per test
    series over its windows `window // 8` apart (`classify_series`), and
    the reconstruction metrics (on the series' channels, not the amplitude
    channel) and figures use each test series' first window. Without it,
    the series `load_dataset` resamples.

    Returns the `metrics.json` content as a dict.
    """
    spec = get_spec(dataset)
    if not spec.is_signal or spec.name == "ucr_internal_bleeding16":
        raise ValueError(
            f"`dataset` must be a labelled signal dataset (plaid, trace, "
            f"basic_motions); received {dataset!r}."
        )
    resolved = resolve_training(dataset, preset, overrides, seed)
    batch_size = resolved["fit"]["batch_size"]
    out = out or os.path.join("runs", dataset)
    os.makedirs(out, exist_ok=True)
    class_names = load_class_names(dataset, data_dir)
    if window is None:
        x, y = load_dataset(dataset, "train", data_dir=data_dir)
        x_test, y_test = load_dataset(dataset, "test", data_dir=data_dir)
        data = (x, y)
    else:
        amplitude = AMPLITUDE_RANGES.get(dataset)
        series, y = load_series(dataset, "train", data_dir)
        test_series, y_test = load_series(dataset, "test", data_dir)
        data = (_windows(series, y, window, batch_size, amplitude, seed), None)
    cosine_decay = window is not None
    vec, vae, seconds = train_pair(
        *data, spec.num_classes, resolved, seed=seed, cosine_decay=cosine_decay
    )
    if window is None:
        accuracy = _consistency(vec, x_test, y_test)
        preprocessing = SIGNALS[dataset]
    else:
        votes = classify_series(vec, test_series, window, amplitude_range=amplitude)
        accuracy = float(np.mean(votes.argmax(-1) == y_test))
        x, y = _first_windows(series, y, window, amplitude)
        x_test, y_test = _first_windows(test_series, y_test, window, amplitude)
        preprocessing = _window_preprocessing(window, amplitude) + (
            f"; VEC accuracy by a vote over windows {max(1, window // 8)} samples apart"
        )
    reconstructions = {
        "SAVAE": vec.reconstruct(x_test),
        "VAE": vae.reconstruct(x_test),
    }
    # The metrics compare the series' own channels (an amplitude channel is
    # constant: its spectrum is a single bin and its log-spectrum diverges).
    series_channels = slice(None) if window is None else slice(series[0].shape[-1])
    models = {
        name: signal_metrics(x_test[..., series_channels], values[..., series_channels])
        for name, values in reconstructions.items()
    }
    order = np.argsort(y_test, kind="stable")
    shown = order[np.linspace(0, len(order) - 1, 6).astype(int)]
    plot_series_reconstructions(
        x_test[shown],
        {name: values[shown] for name, values in reconstructions.items()},
        os.path.join(out, "reconstructions.png"),
        titles=[class_names[c] for c in y_test[shown]],
    )
    # The judge of label consistency: a second VEC, trained as phase 1 on
    # the same data with another seed (the decoder never saw it).
    judge = train_vec(
        *data,
        spec.num_classes,
        resolved,
        seed=seed + JUDGE_SEED_OFFSET,
        cosine_decay=cosine_decay,
    )
    vec.fit_class_prior(x, y)
    vae.fit_class_prior(x, y)
    labels = np.repeat(np.arange(spec.num_classes), GENERATED_PER_CLASS)
    generated = {
        "SAVAE": vec.generate(len(labels), labels=labels, seed=seed),
        "VAE": vae.generate(len(labels), labels=labels, seed=seed),
    }
    for name in models:
        models[name]["label_consistency"] = _consistency(
            judge, reconstructions[name], y_test
        )
        models[name]["generation_label_consistency"] = _consistency(
            judge, generated[name], labels
        )
    shown_per_class = 4
    plot_generated_series(
        {
            name: values[:: GENERATED_PER_CLASS // shown_per_class]
            for name, values in generated.items()
        },
        os.path.join(out, "generated_per_class.png"),
        class_names,
        shown_per_class,
    )
    results = _record(dataset, resolved, seed=seed, savae_seconds=seconds)
    results.update(
        preprocessing=preprocessing,
        vec_test_accuracy=accuracy,
        judge_test_accuracy=_consistency(judge, x_test, y_test),
        models=models,
    )
    if window is not None:
        results["budget"]["window"] = window
    _write(results, out)
    return results


def _windows(series, labels, window, batch_size, amplitude, seed):
    """The training batches of random windows (`window_dataset`).

    Whole batches only: a last, smaller one gives TensorFlow's step a
    dynamic batch dimension (and oneDNN an error line in phase 2).
    """
    return window_dataset(
        series,
        labels,
        window,
        batch_size,
        amplitude_range=amplitude,
        seed=seed,
        drop_remainder=True,
    )


def _window_preprocessing(window, amplitude):
    """`metrics.json`'s account of the windowed training data."""
    return (
        f"random windows of {window} samples of each series at its true "
        "length (shorter ones repeated), min-max scaled per window"
        + (f", log10 peak channel from {amplitude}" if amplitude else "")
        + "; phase 1 with a cosine learning-rate decay"
    )


def _consistency(vec, x, labels):
    """Fraction of `x` that a VEC assigns to `labels` (its accuracy)."""
    return float(np.mean(vec.classify(x).argmax(-1) == labels))


def _first_windows(series, labels, window, amplitude):
    """Each series' first window (scaled), with its label."""
    windows, index = series_windows(series, window, window, amplitude)
    first = np.unique(index, return_index=True)[1]
    return windows[first], np.asarray(labels)[index[first]]


def add_training_arguments(parser):
    """The flags `examples/plaid.py` and `examples/anomaly.py` share."""
    parser.add_argument("--quick", action="store_true", help="a few minutes on a CPU")
    add_preset_arguments(
        parser,
        "signals",
        "latent_dim=32, reconstruction_weight=0.01, encoder_epochs=40, batch_size=32",
    )
    parser.add_argument("--out", default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    add_device_arguments(parser)


def training_overrides(args, parser, epochs, decoder_epochs):
    """`--set`'s overrides; without a budget among them, phase 1 and 2 get
    `epochs` and `decoder_epochs` (each a `(quick, full)` pair)."""
    overrides = preset_overrides(args, parser)
    if not set(overrides) & set(SAVAE.preset_budget):
        overrides["encoder_epochs"] = epochs[not args.quick]
        overrides["decoder_epochs"] = decoder_epochs[not args.quick]
    return overrides


def _record(dataset, resolved, *, seed, **budget):
    """The head of `metrics.json`: the data, the backend and the preset."""
    return {
        "dataset": dataset,
        "backend": keras.backend.backend(),
        "seed": seed,
        "preprocessing": SIGNALS.get(dataset, "uint8 images scaled to [0, 1]"),
        "preset": resolved,
        "budget": {"vae_budget": "SAVAE's training seconds", **budget},
    }


def _split_normal(y, held_out, seed):
    """Which samples train and which calibrate, leaving out `held_out`.

    Returns `(train, labels, calibration)`: indices of the training
    samples, their labels renumbered 0..C-2 (the held-out class removed),
    and indices of the calibration samples. `held_out=None` keeps every
    sample (all are normal).
    """
    keep = np.arange(len(y)) if held_out is None else np.flatnonzero(y != held_out)
    order = keep[np.random.default_rng(seed).permutation(len(keep))]
    cut = max(1, int(round(CALIBRATION_SHARE * len(keep))))
    train, calibration = order[cut:], order[:cut]
    labels = y[train] if held_out is None else y[train] - (y[train] > held_out)
    return train, labels, calibration


def _scores(model, x, calibration, window=None, amplitude=None):
    """The primary and the calibrated score of `x`. With `window`, `x` and
    `calibration` are lists of series, scored by `series_components`."""

    def components(samples):
        if window is None:
            return model.anomaly_components(samples)
        return series_components(model, samples, window, amplitude)

    values = components(x)
    return {
        "primary": values[model.primary_anomaly_component],
        "calibrated": calibrated_score(values, components(calibration)),
    }


def run_anomaly(
    dataset="plaid",
    held_out=None,
    out=None,
    preset="signals",
    overrides=None,
    train_size=None,
    test_size=None,
    seed=0,
    data_dir=None,
    window=None,
):
    """Novelty detection with SAVAE and the VAE (module docstring).

    Args:
        held_out: the classes held out in turn (default: all; ignored for
            the UCR series, whose training windows are all normal).
        train_size, test_size: use only the first samples of each split.
        preset, overrides: SAVAE's preset and its changed settings, budget
            included (`train_pair`).
        window: on a labelled signal dataset, train on random windows of
            this many samples of the series at their true lengths, as
            `run_signals(window=...)` does (phase 1 with `cosine_decay`),
            and score each series by the mean of its windows' components
            (`series_components`), calibrated on the calibration series'
            means. Default: the series `load_dataset` resamples.

    Returns the `metrics.json` content as a dict.
    """
    spec = get_spec(dataset)
    for name, size in (("train_size", train_size), ("test_size", test_size)):
        if size is not None:
            check_number(size, name, minimum=1, integer=True)
    resolved = resolve_training(dataset, preset, overrides, seed)
    batch_size = resolved["fit"]["batch_size"]
    ucr = dataset == "ucr_internal_bleeding16"
    bad = [k for k in held_out or () if not 0 <= k < spec.num_classes]
    if bad and not ucr:
        raise ValueError(
            f"`held_out` classes must lie in [0, {spec.num_classes}) for "
            f"{dataset}; received {bad}."
        )
    if window is not None and (ucr or not spec.is_signal):
        raise ValueError(
            "`window` applies to the labelled signal datasets (plaid, trace, "
            f"basic_motions); received dataset={dataset!r}, window={window!r}."
        )
    out = out or os.path.join("runs", f"anomaly_{dataset}")
    os.makedirs(out, exist_ok=True)
    amplitude = AMPLITUDE_RANGES.get(dataset)
    if window is None:
        x, y = load_dataset(dataset, "train", data_dir=data_dir)
        x_test, y_test = load_dataset(dataset, "test", data_dir=data_dir)
    else:  # lists of series at their true lengths
        x, y = load_series(dataset, "train", data_dir)
        x_test, y_test = load_series(dataset, "test", data_dir)
    x, y = x[:train_size], y[:train_size]
    x_test, y_test = x_test[:test_size], y_test[:test_size]
    # The whole UCR series, to turn window maps into step scores (read once).
    ucr_series = load_ucr_series(data_dir=data_dir) if ucr else None
    rows = []
    for k in [None] if ucr else list(held_out or range(spec.num_classes)):
        train, y_fit, kept = _split_normal(y, k, seed)
        if ucr:  # every training window is normal; the classifier has one class
            anomalous, num_classes = y_test, 2
        else:
            anomalous, num_classes = (y_test == k).astype("int32"), spec.num_classes - 1
        if window is None:
            x_fit, calibration = x[train], x[kept]
            data = (x_fit, y_fit)
        else:
            x_fit, calibration = [x[i] for i in train], [x[i] for i in kept]
            data = (_windows(x_fit, y_fit, window, batch_size, amplitude, seed), None)
        savae, vae, seconds = train_pair(
            *data, num_classes, resolved, seed=seed, cosine_decay=window is not None
        )
        row = {"held_out": k, "savae_seconds": seconds}
        for name, model in (("SAVAE", savae), ("VAE", vae)):
            scores = _scores(model, x_test, calibration, window, amplitude)
            for kind, values in scores.items():
                row[f"{name}_{kind}_auc"] = roc_auc(values, anomalous)
            if ucr:
                row[f"{name}_top_window"] = _top_window(scores["primary"], anomalous)
                row[f"{name}_top_step"] = _top_step(model, x_test, ucr_series)
        rows.append(row)
        print(json.dumps(row), flush=True)
    results = _record(
        dataset,
        resolved,
        seed=seed,
        train_size=int(len(x)),
        test_size=int(len(x_test)),
        calibration=f"{CALIBRATION_SHARE:.0%} of the normal training samples",
    )
    if window is not None:
        results["budget"]["window"] = window
        results["preprocessing"] = _window_preprocessing(window, amplitude) + (
            "; a series' anomaly components are the means over its windows"
        )
    results.update(
        rows=rows,
        mean={
            key: float(np.mean([r[key] for r in rows]))
            for key in rows[0]
            if key.endswith("_auc")
        },
    )
    _write(results, out)
    return results


def _top_window(scores, anomalous):
    """Where the highest-scoring window starts, and whether it is anomalous."""
    top = int(np.argmax(scores))
    return {
        "start": top * UCR_WINDOW_STRIDE,
        "on_anomaly": bool(anomalous[top]),
        "rank_of_first_anomalous_window": int(
            np.sum(scores > np.max(scores[anomalous == 1])) + 1
        ),
    }


def _top_step(model, windows, ucr_series):
    """Where the UCR series' highest-scoring step is, by the windows' maps.

    `ucr_series` is `load_ucr_series()`'s `(series, is_anomaly, starts)`.
    Each step scores the mean of `anomaly_map` over the windows covering
    it (`series_scores`); located means within 100 steps of the labelled
    anomaly (`locate_anomaly`, the UCR archive's rule).
    """
    series, is_anomaly, starts = ucr_series
    steps = series_scores(model.anomaly_map(windows), starts, len(series))
    return locate_anomaly(steps, is_anomaly)


def _write(results, out):
    write_json_atomically(results, os.path.join(out, "metrics.json"))
