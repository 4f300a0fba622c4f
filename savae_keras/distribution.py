"""Data-parallel training on the engines Keras users already have.

* **JAX**: `keras.distribution.DataParallel`. `data_parallel()` sets it for
  the process; every model of the package then trains through plain `fit`:
  JAX compiles the whole step (critic loop and both optimizers included)
  for the device mesh and averages the gradients itself, so 2 devices give
  the losses and weights of 1 device with the same global batch
  (tests/test_distribution.py).
* **TensorFlow**: `tf.distribute.MirroredStrategy`. `data_parallel()`
  returns the strategy; create and compile the models inside
  `strategy.scope()`. The same equivalence holds (tests/test_distribution.py,
  two logical CPU devices).
* **PyTorch**: Keras has no data-parallel support for PyTorch (no
  `distribution_lib` for it); `data_parallel()` says so and names the two
  routes above. Nothing here all-reduces gradients by hand.

The global batch must split evenly over the devices; `fit`, `evaluate` and
`predict` check it before any work, for numpy inputs (a dataset's batches
are the user's: TensorFlow's strategy would split an uneven one unevenly,
and each replica's share of the noise would then be wrong). On TensorFlow,
each replica scales its losses by `1 / replicas` and takes its slice of the
global batch's noise (`replica_position`), and BatchNorm uses the global
batch's statistics (`savae_keras.layers.BatchNormalization`): N replicas
compute the step of one device, as on JAX. One term differs: a mean over
a count that varies within the batch (the VEC's cross-entropy over a
batch's labeled images, when some are unlabeled) is the mean of the
replicas' means on TensorFlow, not the mean over the global batch.
"""

import keras

__all__ = [
    "data_parallel",
    "device_count",
    "replica_position",
    "check_batches_split",
    "check_dataset_split",
]

BACKEND = keras.backend.backend()


def data_parallel(devices=None):
    """Train data-parallel over `devices` (default: all) on the active backend.

    Returns:
        On JAX, the `keras.distribution.DataParallel` now set for the
        process (`keras.distribution.set_distribution`). On TensorFlow, a
        `tf.distribute.MirroredStrategy`: build and compile the models in
        its `scope()`.

    Raises:
        NotImplementedError: on PyTorch, which Keras cannot distribute.
    """
    if BACKEND == "jax":
        devices = devices or keras.distribution.list_devices()
        distribution = keras.distribution.DataParallel(devices=devices)
        keras.distribution.set_distribution(distribution)
        return distribution
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.distribute.MirroredStrategy(devices)
    raise NotImplementedError(
        f"Data-parallel training is not available on the {BACKEND} backend: "
        "Keras has no distribution support for it, and savae_keras does not "
        "all-reduce gradients by hand. Use KERAS_BACKEND=jax "
        "(keras.distribution.DataParallel) or KERAS_BACKEND=tensorflow "
        "(tf.distribute.MirroredStrategy)."
    )


def device_count():
    """Devices the batch is split over: a JAX distribution's, or the replicas
    of the TensorFlow strategy in scope (1 without either)."""
    if BACKEND == "jax":
        distribution = keras.distribution.distribution()
        if distribution is not None:
            return int(distribution.device_mesh.devices.size)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return int(tf.distribute.get_strategy().num_replicas_in_sync)
    return 1


def replica_position():
    """`(replicas, index)` of the step being traced: inside a TensorFlow
    strategy's replica context, its number of replicas in sync and this
    replica's index (a tensor); `(1, 0)` everywhere else.

    A TensorFlow replica sees its own slice of the global batch: the models
    scale their losses by `1 / replicas` (the strategy sums the replicas'
    gradients) and take their slice of the global batch's noise, so that N
    replicas compute the step one device computes. JAX's `DataParallel`
    runs the global batch as one sharded array and needs neither.
    """
    if BACKEND != "tensorflow":
        return 1, 0
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return 1, 0
    return context.num_replicas_in_sync, context.replica_id_in_sync_group


def check_batches_split(batch_size, num_samples=None, method="fit", devices=None):
    """Refuse batches that do not split evenly over the devices.

    Args:
        batch_size: the global batch (Keras's default 32 when None).
        num_samples: the number of samples, to check the last batch too.
        devices: the devices of the batch (default `device_count()`).
    """
    devices = device_count() if devices is None else devices
    if devices == 1:
        return
    batch_size = 32 if batch_size is None else batch_size
    last = num_samples % batch_size if num_samples else 0
    if batch_size % devices or last % devices:
        what = f"`batch_size`={batch_size}"
        if not batch_size % devices:
            what = f"the last batch ({num_samples} samples, {what}: {last})"
        raise ValueError(
            f"{method}(): {what} does not split evenly over the {devices} "
            "devices of the data-parallel distribution; choose a global batch "
            f"(and a number of samples) divisible by {devices}."
        )


def check_dataset_split(dataset, method="fit", devices=None):
    """Refuse a `keras.utils.PyDataset` whose batches do not split evenly
    over the devices: its first and its last batch are read and checked.

    Args:
        dataset: the `PyDataset` given to `fit`, `evaluate` or `predict`.
        devices: the devices of the batch (default `device_count()`).
    """
    devices = device_count() if devices is None else devices
    if devices == 1 or len(dataset) == 0:
        return
    for index, which in ((0, "first"), (len(dataset) - 1, "last")):
        rows = int(keras.tree.flatten(dataset[index])[0].shape[0])
        if rows % devices:
            raise ValueError(
                f"{method}(): the {which} batch of the PyDataset `x` holds "
                f"{rows} samples, which do not split evenly over the {devices} "
                "devices of the data-parallel distribution; give it batches "
                f"(the last one too) whose size is divisible by {devices}."
            )
