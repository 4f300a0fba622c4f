"""Input pipelines: `tf.data` for TensorFlow users, a `PyDataset` for the rest.

Both yield batches of `(images, labels)`, images float32 in [0, 1] with a
channel axis and labels int32 class indices (-1 = unlabeled), or images alone
when no labels are given. They share the checks and the label masking, so
the same arguments give the same labeled subset on every backend.

With few labels, `labeled_share=s` fills every batch with exactly
`k = round(s · batch_size)` labeled images (drawn from the labeled ones,
reshuffled each time they are used up) and `batch_size − k` unlabeled ones;
an epoch is one pass over the unlabeled images. Without it a batch holds
labels in proportion, so with 1 % of the labels about half the batches of 64
hold none and their phase-1 step is pure KL.
"""

import math

import keras
import numpy as np

from savae_keras.data.checks import check_images
from savae_keras.data.checks import check_labels
from savae_keras.data.checks import check_positive_int
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


def labeled_per_batch(labeled_share, batch_size, labels, drop_remainder=False):
    """`k = round(labeled_share · batch_size)`, checked: 1 <= k < batch_size
    (and, with `drop_remainder`, at least one whole batch of unlabeled images)."""
    if labels is None:
        raise ValueError("`labeled_share` needs `labels`; received labels=None.")
    if (
        isinstance(labeled_share, (bool, np.bool_))
        or not isinstance(labeled_share, (int, float, np.integer, np.floating))
        or not 0.0 < labeled_share < 1.0  # False for NaN too
    ):
        raise ValueError(
            f"`labeled_share` must lie in (0, 1); received {labeled_share!r}."
        )
    k = int(round(labeled_share * batch_size))
    if not 1 <= k < batch_size:
        raise ValueError(
            f"`labeled_share`={labeled_share} of `batch_size`={batch_size} is "
            f"{k} labeled images a batch; it must be between 1 and "
            f"{batch_size - 1}."
        )
    labeled = int(np.sum(labels >= 0))
    if labeled == 0 or labeled == len(labels):
        raise ValueError(
            f"`labeled_share` mixes labeled and unlabeled images, but "
            f"{labeled} of the {len(labels)} labels are set (-1 = unlabeled)."
        )
    if drop_remainder and len(labels) - labeled < batch_size - k:
        raise ValueError(
            f"`drop_remainder` keeps whole batches of {batch_size - k} unlabeled "
            f"images (`batch_size`={batch_size} less {k} labeled), but there "
            f"are only {len(labels) - labeled}: lower `batch_size`."
        )
    return k


def make_dataset(
    images,
    labels=None,
    batch_size=128,
    shuffle=True,
    seed=None,
    labeled_fraction=1.0,
    num_classes=None,
    drop_remainder=False,
    labeled_share=None,
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
        labeled_share: put exactly `round(labeled_share · batch_size)`
            labeled images in every batch (module docstring); None batches
            the images as they come.

    Returns:
        A `tf.data.Dataset` of `(images, labels)`, or of images alone when
        `labels` is None; images are float32 in [0, 1].
    """
    import tensorflow as tf

    batch_size = check_positive_int(batch_size, "batch_size")
    images, labels = _prepare(images, labels, num_classes, labeled_fraction, seed)

    def batches(elements, count, size, repeat=False, drop=drop_remainder):
        dataset = tf.data.Dataset.from_tensor_slices(elements).cache()
        if shuffle:
            dataset = dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True)
        if repeat:
            dataset = dataset.repeat()
        return dataset.batch(size, drop_remainder=drop)

    if labeled_share is None:
        elements = images if labels is None else (images, labels)
        dataset = batches(elements, len(images), batch_size)
    else:
        k = labeled_per_batch(labeled_share, batch_size, labels, drop_remainder)
        rows = labels >= 0
        unlabeled = batches(
            (images[~rows], labels[~rows]), int(np.sum(~rows)), batch_size - k
        )
        labeled = batches(
            (images[rows], labels[rows]), int(np.sum(rows)), k, repeat=True, drop=True
        )
        dataset = tf.data.Dataset.zip(unlabeled, labeled).map(
            lambda u, s: (tf.concat([u[0], s[0]], 0), tf.concat([u[1], s[1]], 0))
        )

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
        labeled_share=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        batch_size = check_positive_int(batch_size, "batch_size")
        self.images, self.labels = _prepare(
            images, labels, num_classes, labeled_fraction, seed
        )
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_remainder = drop_remainder
        self._rng = np.random.default_rng(seed)
        # Rows drawn in order (`_order`, `batch_size - k` a batch) and, with
        # `labeled_share`, `k` labeled rows a batch from `_labeled_order`.
        self._k = 0
        self._rows = np.arange(len(self.images))
        if labeled_share is not None:
            self._k = labeled_per_batch(
                labeled_share, batch_size, self.labels, drop_remainder
            )
            self._rows = np.flatnonzero(self.labels < 0)
            self._labeled = np.flatnonzero(self.labels >= 0)
        self._order = self._rows.copy()
        self._draw()

    def __len__(self):
        rounding = math.floor if self.drop_remainder else math.ceil
        return rounding(len(self._rows) / (self.batch_size - self._k))

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range [0, {len(self)}).")
        size = self.batch_size - self._k
        rows = self._order[index * size : (index + 1) * size]
        if self._k:
            rows = np.concatenate(
                [rows, self._labeled_order[index * self._k : (index + 1) * self._k]]
            )
        images = to_float_images(self.images[rows])
        if self.labels is None:
            return images
        return images, self.labels[rows]

    def _draw(self):
        """This epoch's order, and its stream of labeled rows."""
        if self.shuffle:
            self._rng.shuffle(self._order)
        if self._k:
            # Enough passes over the labeled rows for this epoch's batches,
            # each pass reshuffled.
            passes = math.ceil(len(self) * self._k / len(self._labeled))
            self._labeled_order = np.concatenate(
                [
                    self._rng.permutation(self._labeled)
                    if self.shuffle
                    else self._labeled
                    for _ in range(passes)
                ]
            )

    def on_epoch_end(self):
        self._draw()


def backend_batches():
    """The numpy batcher for the active backend: `make_dataset` on
    TensorFlow (a `PyDataset` reaches its step with a dynamic batch
    dimension there, under which oneDNN logs an `E0000 ... DT_INT32` error
    line), `ImageBatches` elsewhere (no TensorFlow needed). Both take the
    same arguments and draw the same kind of batches."""
    return make_dataset if keras.backend.backend() == "tensorflow" else ImageBatches
