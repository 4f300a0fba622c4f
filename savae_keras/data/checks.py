"""Input checks shared by the data pipelines and the models.

Every check raises an error that names the argument and says what was expected,
so a user sees `labels: values must lie in [0, 10) or be -1 ...` instead of a
shape error from deep inside a backend.
"""

import math
import numbers

import numpy as np

UNLABELED = -1
"""Label value that marks a sample as unlabeled (the semi-supervised setting)."""


def to_float_images(images):
    """uint8 images (0..255) -> float32 in [0, 1]; other dtypes pass through.

    The package's one conversion of pixel values: numpy arrays here, and
    the same arithmetic in the `tf.data` pipeline and the model checks.
    """
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.astype("float32") / 255.0
    return images


def check_number(
    value,
    name,
    minimum=None,
    maximum=None,
    integer=False,
    exclusive_minimum=False,
    exclusive_maximum=False,
):
    """Return `value` as a Python `int`/`float` after checking it.

    Numpy scalars are accepted; booleans, strings, NaN and infinities are
    not. `minimum`/`maximum` bound it (each exclusive when
    `exclusive_minimum`/`exclusive_maximum`).
    """
    kind = numbers.Integral if integer else numbers.Real
    wanted = "an integer" if integer else "a finite number"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, kind):
        raise ValueError(
            f"`{name}` must be {wanted}; received {value!r} ({type(value).__name__})."
        )
    value = int(value) if integer else float(value)
    if not integer and not math.isfinite(value):
        raise ValueError(f"`{name}` must be a finite number; received {value!r}.")
    low_bad = minimum is not None and (
        value <= minimum if exclusive_minimum else value < minimum
    )
    high_bad = maximum is not None and (
        value >= maximum if exclusive_maximum else value > maximum
    )
    if low_bad or high_bad:
        noun = "an integer" if integer else "a number"
        parts = []
        if minimum is not None:
            parts.append(f"{'>' if exclusive_minimum else '>='} {minimum:g}")
        if maximum is not None:
            parts.append(f"{'<' if exclusive_maximum else '<='} {maximum:g}")
        bounds = " and ".join(parts)
        exclusive = exclusive_minimum or exclusive_maximum
        wanted = f"{bounds} ({noun})" if exclusive else f"{noun} {bounds}"
        raise ValueError(f"`{name}` must be {wanted}; received {value!r}.")
    return value


def check_positive_int(value, name):
    """Return `value` as a Python `int` >= 1 (numpy integers too, not bools)."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, np.integer))
        or value < 1
    ):
        raise ValueError(f"`{name}` must be a positive integer; received {value!r}.")
    return int(value)


def check_bool(value, name):
    """Return `value` as a Python `bool`: only `True`/`False` (numpy's too).

    Strings such as `"no"` are refused rather than read as truthy.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(
            f"`{name}` must be True or False; received {value!r} "
            f"({type(value).__name__})."
        )
    return bool(value)


def check_choice(value, name, choices):
    """Return `value` after checking that it is one of `choices`."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"`{name}` must be one of {tuple(choices)}; received {value!r}."
        )
    return value


def check_split_size(size, name, split, dataset, available):
    """Check that `size` images fit in a split of `available` images.

    A slice past the end of a split would silently give fewer images.
    """
    if size > available:
        raise ValueError(
            f"`{name}` is {size} but the {split} split of {dataset} has "
            f"{available} images."
        )


def check_images(images, name="images", image_shape=None):
    """Return `images` as a float32 NHWC array in [0, 1].

    Accepts `uint8` images in 0..255 or floating images already in [0, 1],
    with shape `(N, H, W)` (grey, a channel axis is added) or `(N, H, W, C)`.
    `image_shape`, if given, is the `(H, W, C)` the caller expects; a
    `(length, C)` there means signals, `(N, length, C)` or `(N, length)`
    (one channel), scaled into [0, 1] (`savae_keras.data.scale_series`).
    """
    images = np.asarray(images)
    signals = image_shape is not None and len(image_shape) == 2
    rank = 3 if signals else 4
    if images.ndim == rank - 1:
        images = images[..., None]
    if images.ndim != rank:
        wanted = (
            "(N, length) or (N, length, C)" if signals else "(N, H, W) or (N, H, W, C)"
        )
        got = {3: " (signals?)", 4: " (images?)"}.get(images.ndim, "")
        raise ValueError(
            f"`{name}` must have shape {wanted}: the model takes "
            f"{'signals' if signals else 'images'} of shape "
            f"{tuple(image_shape) if image_shape else '(H, W, C)'}; received "
            f"shape {images.shape}{got}."
        )
    if len(images) == 0:
        raise ValueError(f"`{name}` is empty: it holds no image.")
    if images.dtype == np.uint8:
        images = to_float_images(images)
    elif np.issubdtype(images.dtype, np.floating):
        images = images.astype("float32", copy=False)
        if not np.all(np.isfinite(images)):
            raise ValueError(f"`{name}` contains NaN or infinite values.")
        low, high = float(images.min()), float(images.max())
        if low < 0.0 or high > 1.0:
            remedy = (
                "Scale each series into [0, 1] with savae_keras.data.scale_series."
                if signals
                else "Pass uint8 images (0..255) or divide by 255."
            )
            raise ValueError(
                f"`{name}`: floating {'signals' if signals else 'images'} must "
                f"lie in [0, 1]; received values in [{low:.4g}, {high:.4g}]. " + remedy
            )
    else:
        raise TypeError(
            f"`{name}` must be uint8 (0..255) or floating point in [0, 1]; "
            f"received dtype {images.dtype}."
        )
    if image_shape is not None and tuple(images.shape[1:]) != tuple(image_shape):
        raise ValueError(
            f"`{name}` must have {'signal' if signals else 'image'} shape "
            f"{tuple(image_shape)}; received {tuple(images.shape[1:])}."
        )
    return images


def check_labels(
    labels, num_samples, num_classes=None, name="labels", allow_unlabeled=True
):
    """Return `labels` as an int32 vector of class indices.

    Values must lie in `[0, num_classes)`; `-1` marks an unlabeled sample when
    `allow_unlabeled` is true. One-hot labels are not accepted: pass indices.
    """
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(
            f"`{name}` must be a vector of class indices of shape (N,); "
            f"received shape {labels.shape}."
        )
    if not np.issubdtype(labels.dtype, np.integer):
        if (
            np.issubdtype(labels.dtype, np.floating)
            and np.all(np.isfinite(labels))
            and np.all(labels == np.round(labels))
        ):
            labels = labels.astype("int64")
        else:
            raise TypeError(
                f"`{name}` must hold integer class indices; received dtype "
                f"{labels.dtype}."
            )
    if len(labels) != num_samples:
        raise ValueError(
            f"`{name}` has {len(labels)} entries but there are {num_samples} images."
        )
    low = UNLABELED if allow_unlabeled else 0
    bad = labels < low
    if num_classes is not None:
        bad |= labels >= num_classes
    if np.any(bad):
        allowed = f"[0, {num_classes})" if num_classes is not None else ">= 0"
        if allow_unlabeled:
            allowed += " or be -1 (unlabeled)"
        raise ValueError(
            f"`{name}`: values must lie in {allowed}; received "
            f"{labels[bad][:5].tolist()} (min {labels.min()}, "
            f"max {labels.max()})."
        )
    return labels.astype("int32")


def mask_labels(labels, labeled_fraction=1.0, seed=None, labels_per_class=None):
    """Mark all but a class-balanced share of labels as -1 (unlabeled).

    For each class `c` with `n_c` labeled samples, `max(1, round(f * n_c))` of
    them keep their label (`f = labeled_fraction`), or exactly
    `labels_per_class` of them (the standard semi-supervised protocol: 10 per
    class is MNIST's 100 labels), chosen by a generator seeded with `seed`;
    the rest become -1. `labeled_fraction=1` without `labels_per_class`
    returns the labels unchanged.
    """
    if (
        isinstance(labeled_fraction, (bool, np.bool_))
        or not isinstance(labeled_fraction, numbers.Real)
        or not 0.0 < labeled_fraction <= 1.0  # False for NaN too
    ):
        raise ValueError(
            f"`labeled_fraction` must lie in (0, 1]; received {labeled_fraction!r}."
        )
    labeled_fraction = float(labeled_fraction)
    labels = np.array(labels, dtype="int32")
    if labels_per_class is not None:
        labels_per_class = check_number(
            labels_per_class, "labels_per_class", minimum=1, integer=True
        )
        if labeled_fraction != 1.0:
            raise ValueError(
                "Give `labeled_fraction` or `labels_per_class`, not both; "
                f"received {labeled_fraction} and {labels_per_class}."
            )
    elif labeled_fraction == 1.0:
        return labels
    rng = np.random.default_rng(seed)
    masked = np.full_like(labels, UNLABELED)
    for c in np.unique(labels[labels != UNLABELED]):
        members = np.flatnonzero(labels == c)
        if labels_per_class is None:
            keep = max(1, int(round(labeled_fraction * len(members))))
        elif labels_per_class > len(members):
            raise ValueError(
                f"`labels_per_class` is {labels_per_class} but class {c} has "
                f"only {len(members)} labeled samples."
            )
        else:
            keep = labels_per_class
        chosen = rng.choice(members, size=keep, replace=False)
        masked[chosen] = c
    return masked
