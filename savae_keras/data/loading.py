"""Loading the papers' image datasets and four signal datasets as numpy arrays.

Sources are tried in order:

1. the `data_dir` argument, a folder of `<name>.npz` files;
2. the `SAVAE_DATA_DIR` environment variable, a folder of the same files;
3. TensorFlow Datasets (`tfds.load`), for the names it knows.

The `.npz` format (the package's offline format) holds, per file, `x_train`,
`y_train`, `x_test`, `y_test` (and `x_val`, `y_val` where a validation split
exists) and `class_names`. Images are `uint8` in 0..255 with shape `(N, H, W)`
(grey) or `(N, H, W, 3)` (RGB, channels last); labels are integer class
indices counted from 0.

Signal files (`plaid`, `trace`, `basic_motions`: float32 series `(N, T, C)`
in their own units; `ucr_internal_bleeding16`: one series) are brought to a
fixed length and scaled into [0, 1], as the networks' sigmoid outputs need;
see `SIGNALS` for what is done to each. They never come from TFDS.
"""

import dataclasses
import functools
import os

import numpy as np

from savae_keras.data.checks import check_labels
from savae_keras.data.checks import check_number

DATA_DIR_ENV = "SAVAE_DATA_DIR"


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What the package knows about one dataset."""

    name: str
    image_shape: tuple
    num_classes: int
    splits: tuple
    tfds_name: str = None
    kind: str = "image"

    @property
    def is_signal(self):
        """Whether the dataset holds 1-D signals rather than images."""
        return self.kind == "signal"


DATASETS = {
    spec.name: spec
    for spec in (
        DatasetSpec("mnist", (28, 28, 1), 10, ("train", "test"), "mnist"),
        DatasetSpec(
            "fashion_mnist",
            (28, 28, 1),
            10,
            ("train", "test"),
            "fashion_mnist",
        ),
        DatasetSpec("omniglot", (28, 28, 1), 50, ("train", "test"), "omniglot"),
        DatasetSpec(
            "caltech101_silhouettes",
            (28, 28, 1),
            101,
            ("train", "validation", "test"),
        ),
        DatasetSpec("cifar10", (32, 32, 3), 10, ("train", "test"), "cifar10"),
        DatasetSpec("plaid", (256, 1), 11, ("train", "test"), kind="signal"),
        DatasetSpec("trace", (256, 1), 4, ("train", "test"), kind="signal"),
        DatasetSpec("basic_motions", (100, 6), 4, ("train", "test"), kind="signal"),
        DatasetSpec(
            "ucr_internal_bleeding16", (128, 1), 2, ("train", "test"), kind="signal"
        ),
    )
}

SIGNALS = {
    "plaid": "each series' true length (`length_*`, never the zero padding) "
    "linearly resampled to 256 samples, then min-max scaled per series",
    "trace": "275 samples linearly resampled to 256, min-max scaled per series",
    "basic_motions": "100 samples kept, min-max scaled per series and axis",
    "ucr_internal_bleeding16": "windows of 128 samples every 4 samples; train: "
    "the anomaly-free prefix (label 0), test: the whole series (label 1 where "
    "a window overlaps the anomaly); scaled by the training prefix's min and "
    "max (clipped into [0, 1]), so amplitude anomalies stay visible",
}
"""What `load_dataset` does to each signal file."""

UCR_WINDOW_STRIDE = 4


def scale_series(series):
    """Min-max scale each series (and channel) of `(N, T, C)` into [0, 1].

    A constant series becomes 0. Returns float32.
    """
    series = np.asarray(series, dtype="float32")
    low = series.min(axis=1, keepdims=True)
    span = series.max(axis=1, keepdims=True) - low
    return np.where(span > 0, (series - low) / np.where(span > 0, span, 1), 0.0).astype(
        "float32"
    )


def resample_series(series, lengths, length):
    """Linearly resample each series' first `lengths[i]` samples to `length`.

    `series` is `(N, T, C)`; the samples past a series' length (padding)
    are never read.
    """
    series = np.asarray(series, dtype="float32")
    out = np.empty((len(series), length, series.shape[-1]), "float32")
    for i, (row, n) in enumerate(zip(series, lengths)):
        n = int(n)
        if n < 2:
            raise ValueError(f"series {i} has length {n}; at least 2 are needed.")
        positions = np.linspace(0, n - 1, length)
        for c in range(series.shape[-1]):
            out[i, :, c] = np.interp(positions, np.arange(n), row[:n, c])
    return out


def sliding_windows(series, window, stride):
    """`(N, window, C)` windows of a `(T, C)` series (`C = 1` for a 1-D
    one), every `stride` samples, and where each starts."""
    series = np.asarray(series)
    if series.ndim == 1:
        series = series[:, None]
    window = check_number(window, "window", minimum=1, integer=True)
    stride = check_number(stride, "stride", minimum=1, integer=True)
    if window > len(series):
        raise ValueError(
            f"`window` ({window}) must not exceed the series' length ({len(series)})."
        )
    starts = np.arange(0, len(series) - window + 1, stride)
    return np.stack([series[s : s + window] for s in starts]), starts


_NPZ_KEYS = {"train": "train", "test": "test", "validation": "val"}


class DatasetNotFoundError(FileNotFoundError):
    """No source holds the requested dataset."""


def get_spec(name):
    """Return the `DatasetSpec` of `name`, or raise listing the valid names."""
    if name not in DATASETS:
        raise ValueError(
            f"Unknown dataset name {name!r}. Valid names: "
            f"{', '.join(sorted(DATASETS))}."
        )
    return DATASETS[name]


def check_split(spec, split):
    if split not in spec.splits:
        raise ValueError(
            f"Dataset {spec.name!r} has no split {split!r}. Available "
            f"splits: {', '.join(spec.splits)}."
        )


def load_dataset(name, split="train", data_dir=None, download=False):
    """Load one split of a dataset as `(images, labels)` numpy arrays.

    Args:
        name: one of `mnist`, `fashion_mnist`, `omniglot`,
            `caltech101_silhouettes`, `cifar10`.
        split: `"train"`, `"test"`, or `"validation"` where the data has one.
        data_dir: folder of `<name>.npz` files; tried first.
        download: let TensorFlow Datasets download data it does not find
            prepared on disk (off by default: nothing downloads unasked).

    Returns:
        `images`, `uint8` of shape `(N, H, W, C)` (for signal datasets,
        float32 `(N, length, C)` in [0, 1], see `SIGNALS`), and `labels`,
        `int32` of shape `(N,)`. The arrays are read-only and shared between
        calls; copy them before changing them in place.
    """
    spec = get_spec(name)
    check_split(spec, split)
    path, tried = find_npz(name, data_dir)
    if path is not None:
        load = _load_signal_npz if spec.is_signal else _load_npz
        return load(path, os.path.getmtime(path), spec, split)
    if spec.tfds_name is None:
        tried.append("tensorflow_datasets: has no dataset of this name")
    else:
        try:
            return _load_tfds(spec, split, download)
        except Exception as error:  # any tfds failure: report and go on
            tried.append(f"tensorflow_datasets: {type(error).__name__}: {error}")
    raise DatasetNotFoundError(
        f"Could not find dataset {name!r} (split {split!r}). Tried:\n  - "
        + "\n  - ".join(tried)
        + f"\nProvide the file {name}.npz (keys x_train, y_train, x_test, "
        "y_test, class_names; uint8 images) in a folder and pass "
        f"data_dir=... or set {DATA_DIR_ENV}, or prepare the dataset with "
        "TensorFlow Datasets (load_dataset(..., download=True))."
    )


def find_npz(name, data_dir):
    """`(path, tried)`: the first `<name>.npz` in `data_dir`, then in
    `$SAVAE_DATA_DIR`, and why each place failed (path `None` if none had it)."""
    if data_dir is not None and not os.path.isdir(data_dir):
        raise DatasetNotFoundError(
            f"`data_dir` must be a folder of `<name>.npz` files; {data_dir!r} is "
            "not a folder (leave it out to read $SAVAE_DATA_DIR)."
        )
    tried = []
    for source, folder in (
        ("data_dir", data_dir),
        (DATA_DIR_ENV, os.environ.get(DATA_DIR_ENV)),
    ):
        if not folder:
            tried.append(f"{source}: not set")
        elif not os.path.isdir(folder):
            tried.append(f"{source}: {folder!r} is not a folder")
        elif not os.path.isfile(path := os.path.join(folder, f"{name}.npz")):
            tried.append(f"{source}: {path!r} does not exist")
        else:
            return path, tried
    return None, tried


def open_npz(path, keys=()):
    """`np.load(path)`, with errors that name the file: an unreadable
    archive, or one without `keys`. Use it as a context manager."""
    try:
        archive = np.load(path)
    except Exception as error:
        raise ValueError(f"{path!r} is not a readable .npz archive: {error}") from error
    missing = [key for key in keys if key not in archive.files]
    if missing:
        archive.close()
        raise ValueError(
            f"{path!r} is missing the keys {missing}; it has {sorted(archive.files)}."
        )
    return archive


def require_npz(name, data_dir=None):
    """`find_npz`'s path, or a `DatasetNotFoundError` listing where it looked."""
    path, tried = find_npz(name, data_dir)
    if path is None:
        raise DatasetNotFoundError(
            f"Could not find {name}.npz. Tried:\n  - " + "\n  - ".join(tried)
        )
    return path


def load_ucr_series(name="ucr_internal_bleeding16", data_dir=None):
    """The UCR anomaly series whole: `(series, is_anomaly, starts)`.

    `series` is the test series scaled as `load_dataset` scales its windows,
    `is_anomaly` (int32, one per step) marks the labelled anomaly, and
    `starts` gives where each window of `load_dataset(name, "test")` begins.
    Use them to turn window scores back into step scores
    (`savae_keras.metrics.series_scores`, `locate_anomaly`).
    """
    spec = get_spec(name)
    if spec.name != "ucr_internal_bleeding16":
        raise ValueError(
            f"`name` must be a UCR anomaly series (ucr_internal_bleeding16); "
            f"received {name!r}."
        )
    keys = ("series_train", "series_test", "is_anomaly_test")
    with open_npz(require_npz(name, data_dir), keys) as archive:
        files = dict(archive)
    scaled = _scale_ucr(files, "test")
    is_anomaly = files["is_anomaly_test"].astype("int32")
    window = spec.image_shape[0]
    starts = np.arange(0, len(scaled) - window + 1, UCR_WINDOW_STRIDE)
    return scaled, is_anomaly, starts


def load_class_names(name, data_dir=None):
    """Return the class names of a dataset (from its `.npz` file if found)."""
    spec = get_spec(name)
    for folder in (data_dir, os.environ.get(DATA_DIR_ENV)):
        path = os.path.join(folder or "", f"{name}.npz")
        if folder and os.path.isfile(path):
            with open_npz(path) as archive:
                if "class_names" in archive.files:
                    return [str(c) for c in archive["class_names"]]
    return [str(i) for i in range(spec.num_classes)]


@functools.lru_cache(maxsize=16)
def _load_npz(path, mtime, spec, split):
    """Read and validate one split of an `.npz` file (cached per file)."""
    del mtime  # part of the cache key only: a changed file is read again
    key = _NPZ_KEYS[split]
    with open_npz(path, (f"x_{key}", f"y_{key}")) as archive:
        images, labels = archive[f"x_{key}"], archive[f"y_{key}"]
    if images.dtype != np.uint8:
        raise ValueError(
            f"{path!r}: `x_{key}` must be uint8 images in 0..255; received "
            f"dtype {images.dtype}."
        )
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or tuple(images.shape[1:]) != spec.image_shape:
        raise ValueError(
            f"{path!r}: `x_{key}` must have shape (N, "
            f"{', '.join(map(str, spec.image_shape))}) (grey images may omit "
            f"the channel axis); received {images.shape}."
        )
    return _read_only(images, labels, spec, f"y_{key} in {path}")


def _read_only(samples, labels, spec, name):
    """Checked labels, and both arrays made read-only (they are cached)."""
    labels = check_labels(
        labels, len(samples), spec.num_classes, name=name, allow_unlabeled=False
    )
    samples.flags.writeable = False
    labels.flags.writeable = False
    return samples, labels


@functools.lru_cache(maxsize=16)
def _load_signal_npz(path, mtime, spec, split):
    """Read one split of a signal file, at fixed length and in [0, 1]."""
    del mtime
    key = _NPZ_KEYS[split]
    with open_npz(path) as archive:
        files = dict(archive)
    try:
        if spec.name == "ucr_internal_bleeding16":
            series, labels = _ucr_windows(files, split, spec.image_shape[0])
        else:
            series = files[f"x_{key}"].astype("float32")
            labels = files[f"y_{key}"]
            full = np.full(len(series), series.shape[1])
            lengths = files.get(f"length_{key}", full)
            length = spec.image_shape[0]
            if series.shape[1] != length or np.any(lengths != full):
                series = resample_series(series, lengths, length)
            series = scale_series(series)
    except KeyError as error:
        raise ValueError(
            f"{path!r} is missing the key {error} for split {split!r}; it has "
            f"{sorted(files)}."
        ) from None
    if tuple(series.shape[1:]) != spec.image_shape or not np.all(np.isfinite(series)):
        raise ValueError(
            f"{path!r}: split {split!r} gives series of shape {series.shape} "
            f"(expected (N, {', '.join(map(str, spec.image_shape))}), finite)."
        )
    return _read_only(series, labels, spec, f"y_{key} in {path}")


def _scale_ucr(files, split):
    """One split of the UCR series scaled by the anomaly-free prefix's range."""
    train = files["series_train"].astype("float32")
    low, high = float(train.min()), float(train.max())
    series = train if split == "train" else files["series_test"].astype("float32")
    return np.clip((series - low) / (high - low), 0.0, 1.0)


def _ucr_windows(files, split, window):
    """The UCR series as windows, scaled by the anomaly-free prefix."""
    scaled = _scale_ucr(files, split)
    windows, starts = sliding_windows(scaled, window, UCR_WINDOW_STRIDE)
    if split == "train":
        return windows, np.zeros(len(windows), "int32")
    anomaly = files["is_anomaly_test"].astype(bool)
    labels = np.array([anomaly[s : s + window].any() for s in starts], "int32")
    return windows, labels


def _load_tfds(spec, split, download):
    """Load a split with TensorFlow Datasets, converted to the npz format."""
    import tensorflow_datasets as tfds

    # Batches of 4096, concatenated: `batch_size=-1` aborts the process in
    # tensorflow-datasets 4.9.10 ("vector::reserve").
    dataset = tfds.load(spec.tfds_name, split=split, download=download)
    batches = list(tfds.as_numpy(dataset.batch(4096)))
    if not batches:
        raise ValueError(f"TFDS split {split!r} of {spec.tfds_name!r} is empty.")
    columns = {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}
    if spec.name == "omniglot":
        images = _omniglot_to_28x28(columns["image"])
        labels = columns["alphabet"]
    else:
        images, labels = columns["image"].astype("uint8"), columns["label"]
    return images, check_labels(labels, len(images), spec.num_classes)


def _omniglot_to_28x28(images):
    """TFDS Omniglot (105x105 RGB, black strokes) to the npz file's form.

    As in the npz file: grey, inverted (strokes 255), area-averaged to 28x28.
    The label is the alphabet. TFDS splits by alphabet set ("train" is the
    background set, "test" the evaluation set), unlike the npz file, which
    splits each character's drawings.
    """
    import tensorflow as tf

    grey = 255.0 - tf.cast(images[..., :1], "float32")
    small = tf.image.resize(grey, (28, 28), method="area")
    return np.clip(np.round(small.numpy()), 0, 255).astype("uint8")
