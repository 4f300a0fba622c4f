"""Shared fixtures. Tests run on the backend named by `KERAS_BACKEND`."""

import os
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[1]
# JAX: tests build the same tiny networks again and again; XLA's compilation
# is most of their time, so compiled programs are cached on disk and shared
# by the test workers (before keras imports jax).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(REPO / ".cache" / "jax"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"

if not os.environ.get("SAVAE_DATA_DIR") and DEFAULT_DATA_DIR.is_dir():
    os.environ["SAVAE_DATA_DIR"] = str(DEFAULT_DATA_DIR)
# Reference classifiers are trained once and shared by the three backends' runs.
os.environ.setdefault("SAVAE_CACHE_DIR", str(REPO / ".cache"))


def pytest_collection_modifyitems(config, items):
    """The slow tests first, the longest first: the test workers then end at
    about the same time. `slow(torch=170, tensorflow=...)` gives the seconds
    a test took here on each backend (none: not slow there)."""
    backend = keras.backend.backend()

    def expected_seconds(item):
        marker = item.get_closest_marker("slow")
        return marker.kwargs.get(backend, 0) if marker else 0

    items.sort(key=expected_seconds, reverse=True)


@pytest.fixture(scope="session")
def data_dir():
    """The folder of real `.npz` datasets; the test fails if it is absent."""
    folder = os.environ.get("SAVAE_DATA_DIR")
    if not folder or not os.path.isfile(os.path.join(folder, "mnist.npz")):
        pytest.fail(
            "Real datasets not found: set SAVAE_DATA_DIR to the folder of "
            "mnist.npz and the other .npz files (../shared/data)."
        )
    return folder


@pytest.fixture
def mnist_slice(data_dir):
    """512 training and 256 test MNIST images (uint8 NHWC) with labels."""
    from savae_keras.data import load_dataset

    x_train, y_train = load_dataset("mnist", "train")
    x_test, y_test = load_dataset("mnist", "test")
    return (x_train[:512], y_train[:512]), (x_test[:256], y_test[:256])


@pytest.fixture(scope="session")
def mnist_reference():
    """The MNIST reference classifier (trained on the first use, then cached)."""
    from savae_keras.metrics import reference_classifier

    return reference_classifier("mnist")


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield
    # Without the garbage collection, which took 4-12 s a test here.
    keras.backend.clear_session(free_memory=False)


def backend():
    return keras.backend.backend()


def to_numpy(x):
    if not isinstance(x, np.ndarray):
        x = keras.ops.convert_to_numpy(keras.ops.stop_gradient(x))
    return np.asarray(x)
