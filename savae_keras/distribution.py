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

**Several processes** (several machines, or several processes on one) run
on JAX only. Every process runs the same script; its `data_parallel()`
first joins the others (`initialize`, from the environment that the
launcher, `python -m savae_keras.launch`, or the cluster sets). Each `fit`
then takes the whole data and the global batch in every process, feeds
each process its shard (`shard_inputs`), runs as one data-parallel step
over all the processes' devices, and leaves a whole local copy of the
model in each process, so that everything else (`predict`, metrics,
figures) runs locally. Only the chief (process 0) writes files
(`is_chief`). TensorFlow's
`MultiWorkerMirroredStrategy` does not train Keras 3 models
(keras-team/keras#20585: its `fit` fails on its first batch), and PyTorch
has no Keras distribution: both get a clear error.

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

import contextlib
import os
import socket
import sys
import time

import keras
import numpy as np

__all__ = [
    "initialize",
    "process_count",
    "process_index",
    "is_chief",
    "shard",
    "agree",
    "shard_inputs",
    "ProcessShard",
    "across_processes",
    "data_parallel",
    "device_count",
    "replica_position",
    "check_batches_split",
    "check_dataset_split",
]

BACKEND = keras.backend.backend()


# Keras's own variables (`keras.distribution.initialize` reads them too).
ADDRESS_VARIABLE = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
PROCESSES_VARIABLE = "KERAS_DISTRIBUTION_NUM_PROCESSES"
PROCESS_ID_VARIABLE = "KERAS_DISTRIBUTION_PROCESS_ID"
# Seconds a process waits for the others to join, and for a silent one
# before the run fails (instead of hanging).
TIMEOUT_VARIABLE = "SAVAE_DISTRIBUTED_TIMEOUT"
DEFAULT_TIMEOUT = 300

# The data-parallel distribution across processes (`data_parallel`), set
# only while a `fit` runs (`across_processes`).
_ACROSS = None


def _multi_process_unsupported():
    if BACKEND == "tensorflow":
        return (
            "Training across several processes is not available on the "
            "tensorflow backend: tf.distribute.MultiWorkerMirroredStrategy "
            "does not train Keras 3 models (keras-team/keras#20585; `fit` "
            "fails on its first batch). Use KERAS_BACKEND=jax "
            "(jax.distributed with keras.distribution.DataParallel)."
        )
    return (
        f"Training across several processes is not available on the {BACKEND} "
        "backend: Keras has no distribution support for it. Use "
        "KERAS_BACKEND=jax (jax.distributed with keras.distribution.DataParallel)."
    )


def _environment_int(name, argument, value, minimum):
    """`value`, or the environment variable `name` when None, as an int."""
    source = f"`{argument}`"
    if value is None:
        value = os.environ.get(name)
        if value is None:
            return None
        source = f"${name}"
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number < minimum or str(number) != str(value).strip():
        raise ValueError(
            f"{source} must be an integer >= {minimum}; received {value!r}."
        )
    return number


def initialize(coordinator=None, num_processes=None, process_id=None, timeout=None):
    """Join a run of `num_processes` processes (JAX), before any model is built.

    Arguments left out are read from Keras's environment variables
    (`KERAS_DISTRIBUTION_JOB_ADDRESSES`: the coordinator's `host:port`,
    `KERAS_DISTRIBUTION_NUM_PROCESSES`, `KERAS_DISTRIBUTION_PROCESS_ID`), as
    the launcher sets them. On CPUs the processes reduce through gloo.
    `timeout` (default `$SAVAE_DISTRIBUTED_TIMEOUT` or 300 s) bounds the
    wait for the others to join, and for a process that stops answering:
    the run then fails with an error instead of hanging. Without a global
    seed, the processes agree on one, so their weights start equal.

    Returns:
        The number of processes (1: nothing to join).
    """
    num_processes = _environment_int(
        PROCESSES_VARIABLE, "num_processes", num_processes, 1
    )
    if num_processes is None or num_processes == 1:
        return 1
    if BACKEND != "jax":
        raise NotImplementedError(_multi_process_unsupported())
    process_id = _environment_int(PROCESS_ID_VARIABLE, "process_id", process_id, 0)
    coordinator = coordinator or os.environ.get(ADDRESS_VARIABLE)
    if process_id is None or process_id >= num_processes or not coordinator:
        raise ValueError(
            f"initialize(): {num_processes} processes need a coordinator "
            f"address ('host:port', ${ADDRESS_VARIABLE}) and this process's id "
            f"in 0..{num_processes - 1} (${PROCESS_ID_VARIABLE}); received "
            f"coordinator={coordinator!r}, process_id={process_id!r}."
        )
    timeout = (
        _environment_int(TIMEOUT_VARIABLE, "timeout", timeout, 1) or DEFAULT_TIMEOUT
    )
    import jax

    if jax.distributed.is_initialized():
        return jax.process_count()  # joined already
    # CPUs reduce through gloo (GPUs keep their own collectives); set before
    # anything starts JAX's backend, which `initialize` must precede.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    address = coordinator.split(",")[0]
    if process_id:
        _wait_for_coordinator(address, timeout, process_id, num_processes)
    # A process that waits in vain is ended by JAX itself (an abort,
    # DEADLINE_EXCEEDED), which no `except` sees: say first what it means.
    print(
        f"savae_keras: process {process_id} of {num_processes} joining the run "
        f"at {address}; a process missing for {timeout} s "
        f"(${TIMEOUT_VARIABLE}) ends this one (JAX: DEADLINE_EXCEEDED).",
        file=sys.stderr,
        flush=True,
    )
    jax.distributed.initialize(
        coordinator_address=address,
        num_processes=num_processes,
        process_id=process_id,
        initialization_timeout=timeout,
        heartbeat_timeout_seconds=timeout,
    )
    from keras.src.backend.common import global_state

    if global_state.get_global_attribute("global_random_seed") is None:
        from jax.experimental import multihost_utils

        local = np.asarray(np.random.SeedSequence().generate_state(1)[0] % 2**31)
        keras.utils.set_random_seed(int(multihost_utils.broadcast_one_to_all(local)))
    return num_processes


def _wait_for_coordinator(address, timeout, process_id, num_processes):
    """Return once `address` accepts connections; a clear error after
    `timeout` seconds (a worker started without its chief)."""
    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"initialize(): process {process_id} of {num_processes} found "
                    f"no coordinator at {address} within {timeout} s "
                    f"(${TIMEOUT_VARIABLE}): process 0 did not start, or is not "
                    "reachable there."
                ) from None
            time.sleep(0.2)


def process_count():
    """The number of processes training together (1 without `initialize`)."""
    if BACKEND != "jax":
        return 1
    import jax

    return jax.process_count()


def process_index():
    """This process's index, 0 for the chief (and without `initialize`)."""
    if BACKEND != "jax":
        return 0
    import jax

    return jax.process_index()


def is_chief():
    """True in the process that writes files: process 0, or the only one."""
    return process_index() == 0


def shard(*arrays, batch_size, count=None, index=None):
    """This process's share of `arrays` and its batch: `(*shards, local_batch)`.

    Process `p` of `P` takes the `p`-th slice of `batch_size // P` rows of
    every global batch, so the processes' local batches, put together, are
    the batches of one process reading `arrays` in order with `batch_size`:
    `fit(*shards, batch_size=local_batch, shuffle=False)` in every process
    trains as one process would on `arrays`. Rows past the last whole
    global batch are dropped. With one process, `arrays` are returned.
    `count` and `index` default to this run's processes and this process.
    """
    count = process_count() if count is None else count
    index = process_index() if index is None else index
    if count == 1:
        return (*arrays, batch_size)
    if batch_size % count:
        raise ValueError(
            f"shard(): `batch_size`={batch_size} does not split over the "
            f"{count} processes; choose a global batch divisible by {count}."
        )
    local = batch_size // count
    shards = []
    for array in arrays:
        array = np.asarray(array)
        steps = len(array) // batch_size
        blocks = array[: steps * batch_size].reshape(
            steps, count, local, *array.shape[1:]
        )
        shards.append(blocks[:, index].reshape(steps * local, *array.shape[1:]))
    return (*shards, local)


class ProcessShard(keras.utils.PyDataset):
    """This process's slice of every batch of `dataset`, a `PyDataset` whose
    batches are the same in every process (seeded): the processes' slices
    together are its batch. `on_epoch_end` passes on (reshuffling)."""

    def __init__(self, dataset):
        super().__init__()
        self.dataset = dataset
        self.count, self.index = process_count(), process_index()

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        def mine(array):
            rows = array.shape[0]
            if rows % self.count:
                raise ValueError(
                    f"fit(): batch {index} of the PyDataset `x` holds {rows} "
                    f"samples, which do not split over the {self.count} "
                    f"processes; give it batches divisible by {self.count}."
                )
            size = rows // self.count
            return array[self.index * size : (self.index + 1) * size]

        return keras.tree.map_structure(mine, self.dataset[index])

    def on_epoch_end(self):
        self.dataset.on_epoch_end()


def shard_inputs(x, y, batch_size, validation_data=None, positional=()):
    """`fit`'s inputs for this process: `(x, y, batch_size)` of its shard.

    Numpy `x` (and `y`) with the global `batch_size` (Keras's 32 if None)
    give `shard`'s rows and the local batch; a `PyDataset` gives its
    `ProcessShard`. Anything else, and `validation_data`, are refused with
    the way round them, as are `fit`'s settings given by position
    (`positional`). With one process, the inputs are returned.
    """
    if _ACROSS is None:
        return x, y, batch_size
    if positional:
        raise TypeError(
            "fit(): across several processes pass `batch_size`, `epochs` and "
            "the rest by keyword, so that fit can split the global batch."
        )
    if validation_data is not None:
        raise ValueError(
            "fit(): `validation_data` is not taken across several processes; "
            "call `evaluate` after `fit` (each process then holds the whole "
            "model), or train in one process."
        )
    if isinstance(x, keras.utils.PyDataset):
        return ProcessShard(x), y, batch_size
    if not isinstance(x, np.ndarray):
        raise TypeError(
            "fit(): across several processes `x` must be numpy arrays (fit "
            "gives each process its shard) or a keras.utils.PyDataset whose "
            f"batches are the same in every process; received {type(x).__name__}."
        )
    batch_size = 32 if batch_size is None else batch_size
    arrays = (x,) if y is None else (x, y)
    *shards, local = shard(*arrays, batch_size=batch_size)
    if not len(shards[0]):
        raise ValueError(
            f"fit(): {len(x)} samples make no whole global batch of {batch_size}."
        )
    return shards[0], (None if y is None else shards[1]), local


def agree(flag):
    """The chief's `flag` in every process (a decision they must share, such
    as stopping: a process that stops alone leaves the others waiting)."""
    if process_count() == 1:
        return bool(flag)
    from jax.experimental import multihost_utils

    return bool(multihost_utils.broadcast_one_to_all(np.asarray(bool(flag))))


def model_variables(model):
    """Every variable of `model` once: its weights, its metrics' and its
    optimizer's."""
    optimizer = getattr(model, "optimizer", None)
    variables = [*model.variables, *model.metrics_variables]
    if optimizer is not None:
        variables += optimizer.variables
    return list({id(v): v for v in variables}.values())


@contextlib.contextmanager
def across_processes(model):
    """Run the block (a `fit`) across the processes, then give each process
    a whole local copy of `model`.

    Entering sets the distribution of `data_parallel()` and lays every
    variable of the model out on it (one replica per device, all
    processes); leaving brings each variable back as this process's
    replica, an ordinary local array, and unsets the distribution. Without
    several processes it does nothing.
    """
    if _ACROSS is None:
        yield
        return
    keras.distribution.set_distribution(_ACROSS)
    try:
        for variable in model_variables(model):
            variable._layout = _ACROSS.get_variable_layout(variable).backend_layout
            variable.assign(np.asarray(variable.value))
        yield
    finally:
        for variable in model_variables(model):
            value = variable.value
            if value is not None and hasattr(value, "addressable_data"):
                value = value.addressable_data(0)
            variable._layout = None
            if value is not None:
                variable.assign(np.asarray(value))
        keras.distribution.set_distribution(None)


def data_parallel(devices=None):
    """Train data-parallel over `devices` (default: all) on the active backend.

    Joins the other processes first when the environment names several
    (`initialize`).

    Returns:
        On JAX, the `keras.distribution.DataParallel` now set for the
        process (`keras.distribution.set_distribution`); across several
        processes, the one each `fit` runs in (`across_processes`). On
        TensorFlow, a `tf.distribute.MirroredStrategy`: build and compile
        the models in its `scope()`.

    Raises:
        NotImplementedError: on PyTorch, which Keras cannot distribute.
    """
    global _ACROSS
    if initialize() > 1:
        devices = devices or keras.distribution.list_devices()
        distribution = keras.distribution.DataParallel(devices=devices)
        distribution.auto_shard_dataset = False  # each process reads its shard
        _ACROSS = distribution
        return distribution
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
