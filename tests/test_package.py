"""Package-level promises: imports, exports, no TensorFlow on other backends."""

import os
import subprocess
import sys

import keras
import pytest

import savae_keras

# Backend mechanics: this file runs on every backend (see the Makefile).
pytestmark = pytest.mark.every_backend


def test_public_api_is_exported():
    """`from savae_keras import *` gives exactly `__all__`, and each name is
    the object its module defines."""
    namespace = {}
    exec("from savae_keras import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(savae_keras.__all__)
    assert namespace["SAVAE"] is savae_keras.models.savae.SAVAE
    assert namespace["load_dataset"] is savae_keras.data.loading.load_dataset
    assert namespace["presets"] is sys.modules["savae_keras.presets"]
    major, minor, patch = savae_keras.__version__.split(".")
    assert all(part.isdigit() for part in (major, minor, patch))


@pytest.mark.slow(torch=50, jax=60)
@pytest.mark.skipif(
    keras.backend.backend() == "tensorflow",
    reason="TensorFlow is the active backend: importing it is expected",
)
def test_import_does_not_import_tensorflow():
    code = (
        "import sys, savae_keras, savae_keras.data, savae_keras.networks;"
        "savae_keras.networks.build_encoder();"
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'"
    )
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
