""".keras round trips, SavedModel export, resumable training and bad files."""

import hashlib
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from savae_keras import VariationalEncoderClassifier
from savae_keras.saving import ModelFileError
from savae_keras.saving import export_savedmodel
from savae_keras.saving import load_model
from savae_keras.saving import serving_endpoints
from tests import harness
from tests.conftest import to_numpy
from tests.harness import assert_identical
from tests.harness import check_keras_saving
from tests.harness import optimizer_states
from tests.harness import weights
from tests.helpers import Interrupt
from tests.helpers import on_every_backend
from tests.model_cases import MODEL_NAMES
from tests.model_cases import build
from tests.model_cases import frozen_vec
from tests.model_cases import random_images

BACKEND = keras.backend.backend()
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Saving keeps per-backend state (seed generators, both optimizers, a frozen
# VEC inside a decoder): the decoder, which holds all of it, is checked on
# every backend, the other kinds on the backend that runs the whole suite.
EVERY_BACKEND = {"decoder"}


def data(n=64, seed=0):
    return random_images(n, seed)


def new_model(kind):
    """A small model of each kind, seeded and compiled (the decoder's VEC
    trained one epoch); two critic rounds, so both are saved."""
    keras.utils.set_random_seed(0)
    if kind == "decoder":
        model = build("decoder", vec=frozen_vec(*data()), n_critic=2)
    elif kind == "recursive_gan":
        model = build("recursive_gan", latent_dim=8)
    else:
        model = build(kind)
    model.compile()
    return model


def train(model, epochs=1, **kwargs):
    return harness.train(model, *data(), epochs=epochs, **kwargs)


@pytest.mark.slow(tensorflow=270, jax=110)
@pytest.mark.parametrize("kind", on_every_backend(MODEL_NAMES, EVERY_BACKEND))
def test_keras_round_trip_continues_training(kind, tmp_path):
    model = new_model(kind)
    train(model)
    assert optimizer_states(model)[0] > 0  # the optimizers really stepped
    loaded = check_keras_saving(model, data(8, seed=1)[0], tmp_path)
    # Training on continues identically: same weights, moments and seeds.
    train(model)
    train(loaded)
    assert_identical(weights(loaded), weights(model))
    assert_identical(optimizer_states(loaded), optimizer_states(model))


def test_savae_round_trip_keeps_phase_2s_optimizers_reachable(tmp_path):
    model = new_model("savae")
    train(model)
    model.save(tmp_path / "savae.keras")
    decoder = keras.saving.load_model(tmp_path / "savae.keras").adversarial_decoder
    assert decoder.decoder_optimizer is not decoder.critic_optimizer
    steps = int(to_numpy(decoder.optimizer.iterations))
    assert int(to_numpy(decoder.critic_optimizer.iterations)) == 2 * steps  # n_critic 1
    assert int(to_numpy(decoder.decoder_optimizer.iterations)) == steps == 2


# -- SavedModel export ---------------------------------------------------------
LOAD_SCRIPT = """
import sys, numpy as np, tensorflow as tf
folder = sys.argv[1]
inputs = np.load(folder + "/inputs.npz")
out = {}
for name in sys.argv[2:]:
    served = tf.saved_model.load(folder + "/" + name)
    for endpoint in ("encode", "classify", "reconstruct", "decode", "serve"):
        if not hasattr(served, endpoint):
            continue
        result = getattr(served, endpoint)(
            inputs["z_" + name] if endpoint == "decode" else inputs["x"]
        )
        result = result if isinstance(result, dict) else {"out": result}
        for key, value in result.items():
            out[f"{name}/{endpoint}/{key}"] = value.numpy()
assert "savae_keras" not in sys.modules
np.savez(folder + "/served.npz", **out)
"""


def served_outputs(folder, names):
    """Run the SavedModels with TensorFlow alone, in a process without savae_keras."""
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    result = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, str(folder), *names],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(np.load(folder / "served.npz"))


def keras_outputs(model, x, z):
    """What each endpoint must return, computed through the Keras model."""
    expected = {}
    for endpoint, (function, _) in serving_endpoints(model).items():
        result = function(z if endpoint == "decode" else x)
        result = result if isinstance(result, dict) else {"out": result}
        for key, value in result.items():
            expected[f"{endpoint}/{key}"] = to_numpy(value)
    return expected


def check_served(folder, models, x, codes):
    """Serve `models` (by name) in one TensorFlow process: `x` to every
    endpoint but `decode`, which gets the model's latent codes `codes[name]`."""
    np.savez(folder / "inputs.npz", x=x, **{f"z_{n}": z for n, z in codes.items()})
    served = served_outputs(folder, list(models))
    for name, model in models.items():
        expected = keras_outputs(model, x, codes[name])
        endpoints = {key.split("/")[0] for key in expected}
        want = {"encode", "reconstruct", "decode", "serve"}
        if name in ("vec", "decoder", "savae"):
            want = (want | {"classify"}) - (
                {"reconstruct", "decode"} if name == "vec" else set()
            )
        assert endpoints == want, name
        for key, value in expected.items():
            np.testing.assert_allclose(
                served[f"{name}/{key}"], value, atol=1e-5, err_msg=key
            )


# JAX exports through jax2tf, over 15 minutes for this test on a loaded
# 2-core CPU: it runs in `make test SUITE=full` and with FULL_BACKEND=jax.
@pytest.mark.slow(tensorflow=330)
@(pytest.mark.every_backend if BACKEND == "tensorflow" else lambda test: test)
@pytest.mark.skipif(
    BACKEND == "torch", reason="Keras exports SavedModels from TF and JAX"
)
def test_savedmodel_endpoints_match_keras_in_a_separate_process(tmp_path):
    x, _ = data(5, seed=2)
    rng = np.random.default_rng(0)
    codes = {
        "vec": rng.normal(size=(5, 2)).astype("float32"),
        "savae": rng.normal(size=(5, 2)).astype("float32"),
        "recursive_gan": rng.normal(size=(5, 8)).astype("float32"),
    }
    models = {}
    # Each kind of endpoint set: classify only, SAVAE's (which the decoder and
    # the VAE share), and the recursive GAN's code.
    for kind in codes:
        model = new_model(kind)  # random weights: export needs no training
        export_savedmodel(model, tmp_path / kind)
        models[kind] = model
    check_served(tmp_path, models, x, codes)


@pytest.mark.long
@pytest.mark.skipif(BACKEND != "torch", reason="the PyTorch route")
def test_torch_export_says_which_backend_and_the_command_works(tmp_path):
    model = new_model("savae")
    train(model)
    with pytest.raises(
        RuntimeError,
        match="needs the TensorFlow or JAX backend.*KERAS_BACKEND=tensorflow",
    ):
        export_savedmodel(model, tmp_path / "savae")
    model.save(tmp_path / "savae.keras")
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "savae_keras.saving",
            str(tmp_path / "savae.keras"),
            str(tmp_path / "savae"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "endpoints encode, classify, reconstruct, decode, serve" in result.stdout
    x, _ = data(5, seed=2)
    z = np.random.default_rng(0).normal(size=(5, 2)).astype("float32")
    check_served(tmp_path, {"savae": model}, x, {"savae": z})


# -- resumable training ----------------------------------------------------------
class Epochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_begin(self, epoch, logs=None):
        self.seen.append(epoch)


@pytest.mark.parametrize("kind", ["vec", "decoder", "recursive_gan"])
def test_backup_and_restore_resumes_at_the_right_epoch(kind, tmp_path):
    reference = new_model(kind)
    train(reference, epochs=4)

    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        train(
            new_model(kind),
            epochs=4,
            callbacks=[keras.callbacks.BackupAndRestore(backup), Interrupt(after=1)],
        )
    resumed, epochs = new_model(kind), Epochs()
    train(
        resumed, epochs=4, callbacks=[keras.callbacks.BackupAndRestore(backup), epochs]
    )
    assert epochs.seen == [2, 3]  # epochs 0 and 1 were restored, not rerun
    assert_identical(weights(resumed), weights(reference))
    assert_identical(optimizer_states(resumed), optimizer_states(reference))


@pytest.mark.slow(torch=65)
def test_savae_resumes_in_phase_2_without_retraining_phase_1(tmp_path):
    reference = new_model("savae")
    train(reference, epochs=3)

    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        train(
            new_model("savae"),
            epochs=3,
            backup_dir=backup,
            decoder_callbacks=[Interrupt(after=0)],
        )
    resumed, phase_1, phase_2 = new_model("savae"), Epochs(), Epochs()
    history = train(
        resumed,
        epochs=3,
        backup_dir=backup,
        encoder_callbacks=[phase_1],
        decoder_callbacks=[phase_2],
    )
    assert phase_1.seen == [] and history.phase_1 is None  # phase 1 was done
    assert phase_2.seen == [1, 2]
    assert_identical(weights(resumed), weights(reference))
    assert_identical(optimizer_states(resumed), optimizer_states(reference))
    assert not os.path.exists(backup)  # cleaned up once both phases finished


def test_model_checkpoint_writes_loadable_models(tmp_path):
    model = new_model("decoder")
    pattern = str(tmp_path / "decoder_{epoch}.keras")
    train(model, epochs=2, callbacks=[keras.callbacks.ModelCheckpoint(pattern)])
    assert sorted(os.listdir(tmp_path)) == ["decoder_1.keras", "decoder_2.keras"]
    last = load_model(tmp_path / "decoder_2.keras")
    assert_identical(weights(last), weights(model))
    assert_identical(optimizer_states(last), optimizer_states(model))


def test_model_checkpoint_keeps_the_best_decoder_epoch(tmp_path):
    """docs/results/options.md advises this for a phase 2 that swung late."""

    class Snapshots(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_epoch_end(self, epoch, logs=None):
            self.seen.append(weights(self.model))

    model, snapshots = new_model("decoder"), Snapshots()
    best = tmp_path / "best.keras"
    checkpoint = keras.callbacks.ModelCheckpoint(
        best, monitor="reconstruction_loss", mode="min", save_best_only=True
    )
    history = train(model, epochs=3, callbacks=[checkpoint, snapshots])
    losses = history.history["reconstruction_loss"]
    assert_identical(weights(load_model(best)), snapshots.seen[int(np.argmin(losses))])


# -- bad files ---------------------------------------------------------------------
def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_bad_files_get_clear_errors_and_stay_untouched(tmp_path):
    model = new_model("vec")
    good = tmp_path / "vec.keras"
    model.save(good)
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    text = tmp_path / "notes.keras"
    text.write_text("my notes, not a model")
    foreign = tmp_path / "foreign.keras"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save(foreign)
    files = [good, truncated, text, foreign]
    before = {path: digest(path) for path in files}

    for path in (truncated, text):
        with pytest.raises(ModelFileError, match="not a complete `.keras` model file"):
            load_model(path)
    with pytest.raises(
        ModelFileError, match="holds a 'Sequential', not a savae_keras model"
    ):
        load_model(foreign)
    with pytest.raises(
        ModelFileError,
        match="for images of shape \\(28, 28, 1\\), not the expected \\(32, 32, 3\\)",
    ):
        load_model(good, expected_input_shape=(32, 32, 3))
    with pytest.raises(FileNotFoundError, match="No model file"):
        load_model(tmp_path / "missing.keras")
    assert isinstance(
        load_model(good, expected_input_shape=(28, 28, 1)), VariationalEncoderClassifier
    )
    assert {path: digest(path) for path in files} == before
