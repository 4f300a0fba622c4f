"""Training prints progress and results, not TensorFlow's internal errors."""

import logging

import keras
import numpy as np
import pytest

from savae_keras import VariationalEncoderClassifier
from savae_keras.cli import _NotPerModelRetracing
from savae_keras.cli import quiet_per_model_retracing
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
