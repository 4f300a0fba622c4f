"""Random windows of variable-length series: crops as augmentation.

`load_dataset` gives every signal one fixed length by resampling it, which
changes each series' time scale (PLAID's 100 to 1,344 samples all become
256) and removes its amplitude (min-max scaling per series). This module is
the other route, for steady-state signals such as PLAID's currents: keep the
time scale and train on windows.

* `load_series`: a signal file's series at their true lengths, unscaled.
* `window_dataset`: a `tf.data` pipeline drawing one random window of
  `window` samples from every series each epoch (window slicing, Le Guennec
  et al. 2016: each epoch sees new crops, which is the augmentation).
* `series_windows`: every window at a given stride, for evaluation.
* `classify_series`: one prediction per series, the geometric mean of the
  classifier's probabilities over its windows.
* `series_components`: a model's anomaly components per series, the mean
  over its windows (`anomaly_score`'s signals for whole series).

Each window is scaled on its own (`window_features`): min-max into [0, 1]
per channel, and with `amplitude_range=(low, high)` one more constant channel
per channel holding `log10` of the window's peak `|x|`, mapped from
`[low, high]` into [0, 1] (clipped), so the amplitude that the min-max
scaling removes stays visible (on PLAID it tells appliances apart).
TensorFlow (`tf.data`) is imported on the first call, as in `pipelines`.
A series shorter than `window` is repeated from its start up to `window`
samples (a steady-state signal is periodic).
"""

import numpy as np

from savae_keras.data.checks import check_labels
from savae_keras.data.checks import check_positive_int
from savae_keras.data.loading import check_split
from savae_keras.data.loading import get_spec
from savae_keras.data.loading import open_npz
from savae_keras.data.loading import require_npz
from savae_keras.data.loading import sliding_windows

AMPLITUDE_RANGES = {"plaid": (-4.0, 3.0)}
"""`log10` peak range of each dataset's amplitude channel (PLAID: amperes;
its series' peaks lie between 10^-3.75 and 10^2.67)."""


def load_series(name, split="train", data_dir=None):
    """A labelled signal file's series at their true lengths, unscaled.

    Returns `(series, labels)`: a list of float32 `(length_i, C)` arrays
    (never the zero padding: `length_*` in the file says where each ends)
    and int32 labels.
    """
    spec = get_spec(name)
    if not spec.is_signal or spec.name == "ucr_internal_bleeding16":
        raise ValueError(
            f"`name` must be a labelled signal dataset (plaid, trace, "
            f"basic_motions); received {name!r}."
        )
    check_split(spec, split)
    with open_npz(require_npz(name, data_dir), (f"x_{split}", f"y_{split}")) as archive:
        padded = archive[f"x_{split}"].astype("float32")
        labels = archive[f"y_{split}"]
        lengths = (
            archive[f"length_{split}"]
            if f"length_{split}" in archive.files
            else np.full(len(padded), padded.shape[1])
        )
    labels = check_labels(labels, len(padded), spec.num_classes)
    return [row[: int(n)] for row, n in zip(padded, lengths)], labels


def window_features(windows, amplitude_range=None):
    """Scale windows `(..., window, C)` as the module docstring says.

    Returns float32 `(..., window, C)`, or `(..., window, 2C)` with
    `amplitude_range`. Takes and returns tensors (numpy in, tensor out).
    """
    import tensorflow as tf  # tf.data's ops; not imported with the package

    windows = tf.convert_to_tensor(windows, "float32")
    low = tf.reduce_min(windows, axis=-2, keepdims=True)
    high = tf.reduce_max(windows, axis=-2, keepdims=True)
    shape = tf.math.divide_no_nan(windows - low, high - low)
    if amplitude_range is None:
        return shape
    floor, ceiling = _check_range(amplitude_range)
    peak = tf.reduce_max(tf.abs(windows), axis=-2, keepdims=True)
    level = (tf.math.log(peak + 1e-6) / np.log(10.0) - floor) / (ceiling - floor)
    level = tf.clip_by_value(level, 0.0, 1.0)
    return tf.concat([shape, tf.broadcast_to(level, tf.shape(shape))], axis=-1)


def window_dataset(
    series,
    labels,
    window,
    batch_size=32,
    *,
    amplitude_range=None,
    shuffle=True,
    seed=None,
    drop_remainder=False,
):
    """Batches of `(window_features, label)`, one random window per series.

    One epoch is one pass over the series; each pass draws new windows
    (`tf.data.Dataset.random` re-randomised every iteration) and, with
    `shuffle`, a new order. `labels` may be None (windows alone).
    `drop_remainder` keeps whole batches only (a fixed batch dimension).
    """
    import tensorflow as tf

    window = check_positive_int(window, "window")
    padded, lengths = _pad(series, window)
    columns = (padded, lengths) if labels is None else (padded, lengths, labels)
    data = tf.data.Dataset.from_tensor_slices(columns)
    if shuffle:
        data = data.shuffle(len(padded), seed=seed, reshuffle_each_iteration=True)
    starts = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

    channels = padded.shape[-1] * (1 if amplitude_range is None else 2)

    def crop(row, start):
        values, length = row[0], row[1]
        start = tf.cast(start % tf.cast(length - window + 1, "int64"), "int32")
        features = window_features(values[start : start + window], amplitude_range)
        features = tf.ensure_shape(features, (window, channels))
        return features if labels is None else (features, row[2])

    data = tf.data.Dataset.zip((data, starts)).map(
        lambda row, start: crop(row, start), num_parallel_calls=tf.data.AUTOTUNE
    )
    return data.batch(batch_size, drop_remainder).prefetch(tf.data.AUTOTUNE)


def series_windows(series, window, stride, amplitude_range=None):
    """Every window of every series, `stride` samples apart.

    Returns `(windows, index)`: float32 numpy `(M, window, C or 2C)` scaled
    by `window_features`, and which series each window comes from.
    """
    window = check_positive_int(window, "window")
    stride = check_positive_int(stride, "stride")
    padded, lengths = _pad(series, window)
    crops = [
        sliding_windows(values[:length], window, stride)[0]
        for values, length in zip(padded, lengths)
    ]
    index = np.repeat(np.arange(len(crops)), [len(c) for c in crops])
    return window_features(np.concatenate(crops), amplitude_range).numpy(), index


def classify_series(
    model, series, window, stride=None, amplitude_range=None, batch_size=256
):
    """Class probabilities per series: over its windows, a geometric mean.

    `model.classify(windows)` (a `VariationalEncoderClassifier`) scores
    every window `stride` samples apart (default `window // 8`); each
    series gets its windows' mean log-probability, renormalised.
    """
    stride = stride or max(1, window // 8)
    windows, index = series_windows(series, window, stride, amplitude_range)
    log_p = np.log(model.classify(windows, batch_size=batch_size) + 1e-12)
    mean = _series_means(log_p, index, len(series))
    probabilities = np.exp(mean - mean.max(-1, keepdims=True))
    return probabilities / probabilities.sum(-1, keepdims=True)


def series_components(model, series, window, amplitude_range=None, stride=None):
    """`model.anomaly_components` of whole series, from their windows.

    Every window `stride` samples apart (default `window // 8`, as
    `classify_series`) is scored, and each series gets the mean of its
    windows' components: `{name: (len(series),) numpy array}`.
    """
    stride = stride or max(1, window // 8)
    windows, index = series_windows(series, window, stride, amplitude_range)
    return {
        name: _series_means(values, index, len(series))
        for name, values in model.anomaly_components(windows).items()
    }


def _series_means(values, index, count):
    """Per series, the mean of its windows' `values` `(M, ...)`, where
    `index` says which of the `count` series each window comes from."""
    total = np.zeros((count, *np.shape(values)[1:]))
    np.add.at(total, index, values)
    counts = np.bincount(index, minlength=count)
    return total / counts.reshape(-1, *[1] * (total.ndim - 1))


def _pad(series, window):
    """`(padded, lengths)`: series (shorter ones tiled up to `window`)
    zero-padded to a common length, and their lengths."""
    if not len(series):
        raise ValueError("`series` must hold at least one series.")
    rows = []
    for i, values in enumerate(series):
        values = np.asarray(values, "float32")
        if values.ndim != 2 or len(values) == 0:
            raise ValueError(
                f"`series[{i}]` must be a non-empty (length, channels) array; "
                f"received shape {values.shape}."
            )
        if not np.all(np.isfinite(values)):
            raise ValueError(f"`series[{i}]` holds NaN or infinite values.")
        if len(values) < window:
            values = np.tile(values, (-(-window // len(values)), 1))[:window]
        rows.append(values)
    channels = {row.shape[1] for row in rows}
    if len(channels) > 1:
        raise ValueError(
            f"every series must have the same channels; received {sorted(channels)}."
        )
    lengths = np.array([len(row) for row in rows], "int64")
    padded = np.zeros((len(rows), lengths.max(), rows[0].shape[1]), "float32")
    for row, out in zip(rows, padded):
        out[: len(row)] = row
    return padded, lengths


def _check_range(amplitude_range):
    floor, ceiling = (float(v) for v in amplitude_range)
    if not ceiling > floor:
        raise ValueError(
            "`amplitude_range` must be (low, high) with high > low; received "
            f"{tuple(amplitude_range)!r}."
        )
    return floor, ceiling
