"""Training prints progress and results, not TensorFlow's internal errors."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from savae_keras import VariationalEncoderClassifier
from savae_keras.cli import _NotPerModelRetracing
from savae_keras.cli import quiet_per_model_retracing
from savae_keras.console import filtered_stderr
from savae_keras.console import started_by_our_command_line
from tests.helpers import VEC_OPTIONS

X = np.random.default_rng(0).integers(0, 256, (32, 28, 28, 1)).astype("uint8")
Y = np.arange(32) % 10


@pytest.mark.every_backend
@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="grappler is TensorFlow's"
)
def test_training_a_residual_network_logs_no_remapper_error(capfd):
    """Grappler's remapper fails on the gradient of residual blocks (E0000 lines)."""
    import tensorflow as tf

    vec = VariationalEncoderClassifier(latent_dim=2, seed=0, **VEC_OPTIONS)
    vec.compile()
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(tf.config.optimizer.get_experimental_options())

    vec.fit(X, Y, batch_size=16, epochs=1, verbose=0, callbacks=[Record()])
    err = capfd.readouterr().err
    assert "remapper failed" not in err
    assert seen and all(options["remapping"] is False for options in seen)
    # Restored after fit: inference graphs keep the pass.
    assert tf.config.optimizer.get_experimental_options()["remapping"] is True


@pytest.mark.every_backend
@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="oneDNN's log is TensorFlow's"
)
def test_a_labeled_share_logs_no_onednn_int32_error(capfd):
    """A dynamic batch dimension makes oneDNN log `E0000 ... DT_INT32`."""
    labels = np.full(len(X), -1)
    labels[:4] = Y[:4]
    vec = VariationalEncoderClassifier(
        latent_dim=2, reconstruction_weight=0.01, seed=0, **VEC_OPTIONS
    )
    vec.compile()
    vec.fit(X, labels, batch_size=8, labeled_share=0.25, epochs=1, verbose=0)
    assert int(keras.ops.convert_to_numpy(vec.trained_steps.value)) == 4  # 28 // 6
    assert "DT_INT32" not in capfd.readouterr().err


def test_the_command_lines_drop_only_the_per_model_retracing_warning():
    logger = logging.getLogger("tensorflow")
    before, level = list(logger.filters), logger.level
    # Start from a logger without the filter (a command line run earlier in
    # this process may have installed it).
    logger.filters[:] = [f for f in before if not isinstance(f, _NotPerModelRetracing)]
    logger.setLevel(logging.WARNING)
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        quiet_per_model_retracing()
        quiet_per_model_retracing()  # installed once
        assert sum(isinstance(f, _NotPerModelRetracing) for f in logger.filters) == 1
        logger.warning(
            "5 out of the last 22 calls to <function f> triggered "
            "tf.function retracing. Tracing is expensive"
        )
        logger.warning("another warning")
        assert [r.getMessage() for r in records] == ["another warning"]
    finally:
        logger.removeHandler(handler)
        logger.filters[:] = before
        logger.setLevel(level)


ROOT = Path(__file__).resolve().parent.parent
STARTUP = ("oneDNN custom operations", "cpu_feature_guard", "absl::InitializeLog")


@pytest.mark.parametrize(
    "argv, main_file, ours",
    [
        (["python", "-m", "savae_keras.presets"], None, True),
        (["python", "-m", "savae_keras.metrics.reference", "mnist"], None, True),
        (["python", "-m", "pytest", "tests"], "/x/pytest/__main__.py", False),
        (["python", "examples/mnist.py"], str(ROOT / "examples" / "mnist.py"), True),
        (["python", "tuning/s.py"], str(ROOT / "tuning" / "s.py"), True),
        (["python", "mine.py"], str(ROOT / "mine.py"), False),
        (["python", "e/mnist.py"], "/elsewhere/examples/mnist.py", False),
        (["python", "-c", "import savae_keras"], None, False),
    ],
)
def test_which_processes_are_our_command_lines(argv, main_file, ours):
    assert started_by_our_command_line(argv, main_file or "") is ours


def test_the_filter_drops_only_the_startup_lines(capfd):
    with filtered_stderr():
        os.write(2, b"first\n")
        os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on.\n")
        os.write(2, b"I0000 cpu_feature_guard.cc:227] This TensorFlow binary\n")
        os.write(2, b"last\n")
    assert capfd.readouterr().err == "first\nlast\n"
    with filtered_stderr(enabled=False):
        os.write(2, b"oneDNN custom operations are on\n")
    assert capfd.readouterr().err == "oneDNN custom operations are on\n"


def _run(*args, env=None):
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", **(env or {})}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


@pytest.mark.slow(torch=20)
def test_our_command_lines_start_quietly():
    for args, printed in (
        (["-m", "savae_keras.presets"], "quick"),  # the list of presets
        (["examples/mnist.py", "--help"], "--preset"),
    ):
        done = _run(*args)
        assert done.returncode == 0, done.stderr
        assert printed in done.stdout
        assert not any(line in done.stderr for line in STARTUP), done.stderr
        assert "RuntimeWarning" not in done.stderr, done.stderr


@pytest.mark.slow(torch=15)
def test_a_users_import_changes_no_setting_of_theirs():
    code = (
        "import logging, os, warnings\n"
        "import keras  # sets TensorFlow's variables (TF2_BEHAVIOR, ...)\n"
        "environ, filters = dict(os.environ), list(warnings.filters)\n"
        "loggers = {n: (l.level, list(l.filters)) for n, l in "
        "logging.root.manager.loggerDict.items() if hasattr(l, 'filters')}\n"
        "import savae_keras\n"
        "assert dict(os.environ) == environ\n"
        "assert list(warnings.filters) == filters\n"
        "for n, (level, fs) in loggers.items():\n"
        "    l = logging.getLogger(n)\n"
        "    assert (l.level, list(l.filters)) == (level, fs), n\n"
        "assert not any(isinstance(f, savae_keras.cli._NotPerModelRetracing)\n"
        "    for f in logging.getLogger('tensorflow').filters)\n"
        "print('unchanged')\n"
    )
    done = _run("-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "unchanged"
    # Nothing was filtered for the user: TensorFlow's own lines are theirs
    # (which of them TensorFlow prints depends on the CPU: oneDNN's line on
    # some, the CPU-feature line on others).
    assert any(line in done.stderr for line in STARTUP), done.stderr
