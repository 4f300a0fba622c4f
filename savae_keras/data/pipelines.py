"""Input pipelines: `tf.data` for TensorFlow users, a `PyDataset` for the rest.

Both yield batches of `(images, labels)`, images float32 in [0, 1] with a
channel axis and labels int32 class indices (-1 = unlabeled), or images alone
when no labels are given. They share the checks and the label masking, so
the same arguments give the same labeled subset on every backend.
"""

import math

import keras
import numpy as np

from savae_keras.data.checks import check_images
from savae_keras.data.checks import check_labels
from savae_keras.data.checks import mask_labels
from savae_keras.data.checks import to_float_images


def _prepare(images, labels, num_classes, labeled_fraction, seed):
    """Checked uint8 NHWC images and (masked) int32 labels or None."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        if images.ndim == 3:
            images = images[..., None]
        check_images(images[:1])  # shape only; uint8 is always in range
    else:
        images = check_images(images)
    if labels is None:
        if labeled_fraction != 1.0:
            raise ValueError("`labeled_fraction` needs `labels`; received labels=None.")
        return images, None
    labels = check_labels(labels, len(images), num_classes)
    return images, mask_labels(labels, labeled_fraction, seed)


def _check_batch_size(batch_size):
    if (
        isinstance(batch_size, (bool, np.bool_))
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(
            f"`batch_size` must be a positive integer; received {batch_size!r}."
        )
    return int(batch_size)


def make_dataset(
    images,
    labels=None,
    batch_size=128,
    shuffle=True,
    seed=None,
    labeled_fraction=1.0,
    num_classes=None,
    drop_remainder=False,
):
    """Build a batched, shuffled, cached and prefetched `tf.data.Dataset`.

    Args:
        images: uint8 images (0..255) or floats in [0, 1], `(N, H, W[, C])`.
        labels: optional integer class indices `(N,)`; -1 means unlabeled.
        batch_size: images per batch.
        shuffle: reshuffle the images every epoch.
        seed: seed of the shuffle and of the labeled subset.
        labeled_fraction: keep a class-balanced, seeded share of the labels
            and mark the rest -1 (the semi-supervised setting).
        num_classes: if given, labels must lie in `[0, num_classes)`.
        drop_remainder: drop the last, smaller batch.

    Returns:
        A `tf.data.Dataset` of `(images, labels)`, or of images alone when
        `labels` is None; images are float32 in [0, 1].
    """
    import tensorflow as tf

    batch_size = _check_batch_size(batch_size)
    images, labels = _prepare(images, labels, num_classes, labeled_fraction, seed)
    elements = images if labels is None else (images, labels)
    dataset = tf.data.Dataset.from_tensor_slices(elements).cache()
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)

    def to_float(x, *y):
        if x.dtype == tf.uint8:
            x = tf.cast(x, "float32") / 255.0
        return (x, *y) if y else x

    dataset = dataset.map(to_float, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


class ImageBatches(keras.utils.PyDataset):
    """Numpy batches for any backend, with no TensorFlow needed.

    The same contract as `make_dataset`: `(images, labels)` or images alone,
    float32 in [0, 1], reshuffled each epoch with a generator seeded by `seed`.
    """

    def __init__(
        self,
        images,
        labels=None,
        batch_size=128,
        shuffle=True,
        seed=None,
        labeled_fraction=1.0,
        num_classes=None,
        drop_remainder=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        batch_size = _check_batch_size(batch_size)
        self.images, self.labels = _prepare(
            images, labels, num_classes, labeled_fraction, seed
        )
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_remainder = drop_remainder
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(len(self.images))
        if shuffle:
            self._rng.shuffle(self._order)

    def __len__(self):
        rounding = math.floor if self.drop_remainder else math.ceil
        return rounding(len(self.images) / self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range [0, {len(self)}).")
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        images = to_float_images(self.images[rows])
        if self.labels is None:
            return images
        return images, self.labels[rows]

    def on_epoch_end(self):
        if self.shuffle:
            self._rng.shuffle(self._order)
