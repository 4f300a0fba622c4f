"""Checks of what users pass to the models, before any tracing.

Numpy images are checked and converted (uint8 0..255 or floats in [0, 1]
become float32 in [0, 1]); labels are checked against the class count. A
`tf.data.Dataset` or a `keras.utils.PyDataset` is checked on its element
structure and its first batch (shape, dtype, value range, labels), so a wrong
input is reported with the argument's name instead of failing deep inside a
compiled step or training silently on wrong values.
"""

import numpy as np

from savae_keras.data.checks import UNLABELED
from savae_keras.data.checks import check_images
from savae_keras.data.checks import check_labels
from savae_keras.data.pipelines import ImageBatches


def _is_tf_dataset(x):
    return type(x).__module__.startswith("tensorflow") and hasattr(x, "element_spec")


def _is_py_dataset(x):
    import keras

    return isinstance(x, keras.utils.PyDataset)


def _split(element, name="x"):
    """`(images, labels or None)` of a dataset element; other forms raise."""
    if isinstance(element, dict):
        raise ValueError(
            f"`{name}`: dataset elements must be images or (images, labels) "
            f"tuples; received a dict with keys {sorted(element)}. Map the "
            "dataset to tuples, e.g. `ds.map(lambda d: (d['image'], d['label']))`."
        )
    if isinstance(element, (tuple, list)):
        if len(element) > 2:
            raise ValueError(
                f"`{name}`: dataset elements must be images or (images, labels); "
                f"received {len(element)} parts. Sample weights are not "
                "supported: the models weigh every sample alike."
            )
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


def _check_first_batch(images, labels, model, name, require_labels):
    """Check one batch's values: dtype, shape, range and labels."""
    images = np.asarray(images)
    _check_image_spec(images.shape, images.dtype, model.image_shape, name)
    check_images(images, name=f"{name} (first batch)", image_shape=model.image_shape)
    if labels is not None:
        check_labels(labels, len(images), model.num_classes, name=f"labels of {name}")
    elif require_labels:
        raise ValueError(_missing_labels(model))


def _missing_labels(model):
    return (
        f"{type(model).__name__} needs labels: pass `y` (class indices, -1 "
        "for unlabeled samples) or a dataset of (images, labels)."
    )


def check_inputs(model, x, y, name="x", require_labels=False):
    """Return `(x, y)` checked for `model` (converted if numpy)."""
    if _is_tf_dataset(x):
        spec, _ = _split(x.element_spec, name)  # the structure, before iterating
        _check_image_spec(spec.shape, spec.dtype.name, model.image_shape, name)
        for element in x.take(1).as_numpy_iterator():
            images, labels = _split(element, name)
            _check_first_batch(images, labels, model, name, require_labels)
        return x, y
    if _is_py_dataset(x):
        images, labels = _split(x[0], name)
        _check_first_batch(images, labels, model, name, require_labels)
        every_label = getattr(x, "labels", None)
        if isinstance(x, ImageBatches) and every_label is not None:
            # its labels are all in memory: every batch's, checked at once
            check_labels(
                every_label,
                len(every_label),
                getattr(model, "num_classes", None),
                name=f"labels of {name}",
            )
        return x, y
    if x is None:
        raise ValueError(f"`{name}` is None: pass images (numpy) or a dataset.")
    x = check_images(x, name=name, image_shape=getattr(model, "image_shape", None))
    if y is not None:
        y = check_labels(y, len(x), getattr(model, "num_classes", None), name="y")
        if require_labels and np.all(y == UNLABELED):
            raise ValueError(
                "`y`: every label is -1 (unlabeled); "
                f"{type(model).__name__} needs at least one labeled image."
            )
    elif require_labels:
        raise ValueError(_missing_labels(model))
    return x, y
