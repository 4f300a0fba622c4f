"""Checks of what users pass to `fit` and `evaluate`, before any tracing.

Numpy images are checked and converted (uint8 0..255 or floats in [0, 1]
become float32 in [0, 1]); labels are checked against the class count. A
`tf.data.Dataset` is checked through its element spec and a
`keras.utils.PyDataset` through its first batch, so a wrong image shape or
dtype is reported with the argument's name instead of failing deep inside a
compiled step.
"""

import numpy as np

from savae_keras.data.checks import check_images
from savae_keras.data.checks import check_labels


def _is_tf_dataset(x):
    return type(x).__module__.startswith("tensorflow") and hasattr(x, "element_spec")


def _is_py_dataset(x):
    import keras

    return isinstance(x, keras.utils.PyDataset)


def _split(element):
    if isinstance(element, (tuple, list)):
        return element[0], (element[1] if len(element) > 1 else None)
    return element, None


def _check_image_spec(shape, dtype, image_shape, name):
    shape = tuple(shape)
    if image_shape is not None and shape[1:] != tuple(image_shape):
        raise ValueError(
            f"`{name}`: images must have shape (batch, "
            f"{', '.join(map(str, image_shape))}); the data has {shape}."
        )
    if "float" not in str(dtype):
        raise ValueError(
            f"`{name}`: images in a dataset must be floats in [0, 1]; the "
            f"data has dtype {dtype}. Build it with "
            "savae_keras.data.make_dataset, or cast and divide by 255."
        )


def check_inputs(model, x, y, name="x", require_labels=False):
    """Return `(x, y)` checked for `model` (converted if numpy)."""
    image_shape = getattr(model, "image_shape", None)
    num_classes = getattr(model, "num_classes", None)
    missing_labels = (
        f"{type(model).__name__} needs labels: pass `y` (class indices, -1 "
        "for unlabeled samples) or a dataset of (images, labels)."
    )
    if _is_tf_dataset(x):
        images, labels = _split(x.element_spec)
        _check_image_spec(images.shape, images.dtype.name, image_shape, name)
        if require_labels and labels is None:
            raise ValueError(missing_labels)
        return x, y
    if _is_py_dataset(x):
        images, labels = _split(x[0])
        images = np.asarray(images)
        _check_image_spec(images.shape, images.dtype, image_shape, name)
        if labels is not None:
            check_labels(labels, len(images), num_classes, name=f"labels of {name}")
        elif require_labels:
            raise ValueError(missing_labels)
        return x, y
    if isinstance(x, (np.ndarray, list)) or hasattr(x, "__array__"):
        x = check_images(x, name=name, image_shape=image_shape)
        if y is not None:
            y = check_labels(y, len(x), num_classes, name="y")
        elif require_labels:
            raise ValueError(missing_labels)
    return x, y
