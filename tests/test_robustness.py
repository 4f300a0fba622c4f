"""Training that fails stops cleanly, and files survive a kill at any moment."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from savae_keras import SAVAE
from savae_keras import VAE
from savae_keras import VariationalEncoderClassifier
from savae_keras.files import SafeModelCheckpoint
from savae_keras.files import save_atomically
from savae_keras.models.trainer import NonFiniteLossError
from tests.helpers import TINY
from tests.helpers import VEC_OPTIONS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RNG = np.random.default_rng(0)
X = RNG.integers(0, 256, (64, 28, 28, 1)).astype("uint8")
Y = np.arange(64) % 10


def poisoned_vec():
    """A VEC whose first kernel holds inf: its loss is NaN from step 0."""
    vec = VariationalEncoderClassifier(latent_dim=2, seed=0, **VEC_OPTIONS)
    kernel = vec.encoder.get_layer("conv_1").kernel
    kernel.assign(np.full(kernel.shape, np.inf, "float32"))
    vec.compile()
    return vec


@pytest.mark.every_backend
def test_a_non_finite_loss_stops_fit_before_any_checkpoint(tmp_path):
    vec = poisoned_vec()
    checkpoint = tmp_path / "best.keras"
    with pytest.raises(
        NonFiniteLossError, match="loss term `\\w+` became nan at step 0 of epoch 0"
    ):
        vec.fit(
            X,
            Y,
            batch_size=16,
            epochs=2,
            verbose=0,
            callbacks=[
                SafeModelCheckpoint(str(checkpoint), monitor="loss", mode="min")
            ],
        )
    assert not checkpoint.exists()
    assert int(keras.ops.convert_to_numpy(vec.trained_steps.value)) == 1


class NaNAfter(keras.utils.PyDataset):
    """Batches of 16 images and labels; from batch `bad` on, the images are
    NaN (a data pipeline that breaks mid-training)."""

    def __init__(self, bad, batches=4):
        super().__init__()
        self.bad, self.batches = bad, batches

    def __len__(self):
        return self.batches

    def __getitem__(self, index):
        images = X[16 * index : 16 * index + 16].astype("float32") / 255.0
        if index >= self.bad:
            images = np.full_like(images, np.nan)
        return images, Y[16 * index : 16 * index + 16]


def _weights(model):
    return [keras.ops.convert_to_numpy(v.value) for v in model.weights]


@pytest.mark.every_backend
def test_a_non_finite_step_leaves_the_weights_of_the_step_before(tmp_path):
    """The step whose loss is NaN has applied NaN gradients; the model is
    put back as it was before it: equal to a model trained on the two good
    batches alone, optimizer included, and it saves."""
    good = VariationalEncoderClassifier(latent_dim=2, seed=0, **VEC_OPTIONS)
    good.compile()
    broken = VariationalEncoderClassifier(latent_dim=2, seed=0, **VEC_OPTIONS)
    broken.compile()
    broken.set_weights(good.get_weights())
    good.fit(NaNAfter(bad=2, batches=2), epochs=1, verbose=0, shuffle=False)
    with pytest.raises(NonFiniteLossError, match="at step 2 of epoch 0"):
        broken.fit(NaNAfter(bad=2), epochs=1, verbose=0, shuffle=False)
    assert int(keras.ops.convert_to_numpy(broken.optimizer.iterations)) == 2
    for got, want in zip(_weights(broken), _weights(good)):
        np.testing.assert_array_equal(got, want)
    broken.save(tmp_path / "kept.keras")  # finite: it saves
    np.testing.assert_array_equal(broken.classify(X[:4]), good.classify(X[:4]))


@pytest.mark.every_backend
def test_a_model_with_non_finite_weights_is_not_saved(tmp_path):
    vec = poisoned_vec()
    for save in (vec.save, vec.save_weights):
        suffix = ".keras" if save == vec.save else ".weights.h5"
        with pytest.raises(ValueError, match="hold NaN or inf .*refusing to write"):
            save(tmp_path / f"model{suffix}")
    assert not list(tmp_path.iterdir())
    savae = SAVAE(latent_dim=2, seed=0, **TINY)
    savae.compile()
    kernel = savae.decoder.weights[0]
    kernel.assign(np.full(kernel.shape, np.nan, "float32"))
    with pytest.raises(ValueError, match="SAVAE.save: 1 of"):
        savae.save(tmp_path / "savae.keras")
    with pytest.raises(ValueError, match="SAVAE.save_weights"):
        savae.save_to_preset(tmp_path / "preset")


def test_the_posterior_log_variance_stays_finite():
    """With no KL pressure (kl_weight=0) the log-variance is bounded."""
    vec = VariationalEncoderClassifier(latent_dim=2, kl_weight=0.0, **VEC_OPTIONS)
    dense = vec.encoder.get_layer("z_log_var")
    dense.kernel.assign(np.full(dense.kernel.shape, 50.0, "float32"))
    _, z_log_var = vec.posterior(X[:4])
    assert np.all(np.isfinite(z_log_var))
    assert z_log_var.max() <= 10.0 + 1e-6


@pytest.mark.slow(tensorflow=100, jax=20)
@pytest.mark.every_backend
@pytest.mark.parametrize("method", ["predict", "fit"])
def test_an_exception_inside_a_call_leaves_the_model_usable(method, tmp_path):
    """On JAX the trainer holds the variables during a call: they come back."""
    model = VAE(latent_dim=2, encoder_options=TINY["encoder_options"], seed=0)
    model.compile()
    before = model.reconstruct(X[:4])

    class CtrlC(keras.callbacks.Callback):
        """Ctrl-C in the middle of the call, after its first batch."""

        def on_predict_batch_end(self, batch, logs=None):
            raise KeyboardInterrupt("interrupted by the user")

        on_train_batch_end = on_predict_batch_end

    with pytest.raises(KeyboardInterrupt):
        getattr(model, method)(X[:64], batch_size=16, verbose=0, callbacks=[CtrlC()])
    model.save(tmp_path / "after.keras")  # every variable has its value
    after = model.reconstruct(X[:4])
    if method == "predict":
        np.testing.assert_array_equal(before, after)
    assert np.all(np.isfinite(after))


def test_save_atomically_keeps_the_last_good_file(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"the last good file")

    def crash(temporary):
        with open(temporary, "wb") as handle:
            handle.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        save_atomically(crash, str(path))
    assert path.read_bytes() == b"the last good file"
    assert os.listdir(tmp_path) == ["model.keras"]  # no partial file left


# A SAVAE run with a crash-safe backup folder. With SABOTAGE set, the process
# announces itself and stops in the middle of writing the backup of phase 1's
# second epoch, with half the file on disk, until it is killed. On PyTorch and
# JAX the run needs no TensorFlow, and goes without it as a user's may
# (`keras.utils.set_random_seed` would import it only to seed it: half a
# minute of each process's start here).
SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    if os.environ.get("KERAS_BACKEND") != "tensorflow":
        sys.modules["tensorflow"] = None
    import keras, numpy as np
    import savae_keras.files
    from savae_keras import SAVAE
    from tests.helpers import TINY

    backup_dir, out, sabotage = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    real_save = keras.Model.save_weights

    def save_weights(self, path, *args, **kwargs):
        real_save(self, path, *args, **kwargs)
        if sabotage and "epoch_00002" in str(path):
            with open(path, "r+b") as handle:
                handle.truncate(os.path.getsize(path) // 2)
            print("WRITING", flush=True)
            time.sleep(600)

    keras.Model.save_weights = save_weights
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 28, 28, 1)).astype("uint8")
    y = np.arange(64) % 10
    keras.utils.set_random_seed(0)
    model = SAVAE(latent_dim=2, n_critic=1, seed=0, **TINY)
    model.compile()
    epochs = []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            epochs.append(epoch)

    model.fit(x, y, batch_size=32, encoder_epochs=3, decoder_epochs=1,
              shuffle=False, verbose=0, backup_dir=backup_dir,
              encoder_callbacks=[Record()])
    weights = [np.asarray(w).tolist() for w in model.vec.encoder.get_weights()[:2]]
    with open(out, "w") as handle:
        json.dump({"epochs": epochs, "weights": weights}, handle)
    """
)


def run_script(backup_dir, out, sabotage):
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(backup_dir), str(out), sabotage],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow(torch=165)
def test_a_kill_while_a_backup_is_written_loses_only_that_epoch(tmp_path):
    victim = run_script(tmp_path / "backup", tmp_path / "unused.json", "1")
    for line in victim.stdout:
        if line.strip() == "WRITING":
            break
    else:
        pytest.fail("the run ended before it wrote: " + victim.stderr.read()[-3000:])
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert any(name.startswith(".") for name in os.listdir(tmp_path / "backup/vec"))

    resumed = run_script(tmp_path / "backup", tmp_path / "resumed.json", "0")
    fresh = run_script(tmp_path / "fresh", tmp_path / "fresh.json", "0")
    for process in (resumed, fresh):
        _, errors = process.communicate(timeout=900)
        assert process.returncode == 0, errors[-3000:]
    resumed_run = json.loads((tmp_path / "resumed.json").read_text())
    fresh_run = json.loads((tmp_path / "fresh.json").read_text())
    assert resumed_run["epochs"] == [1, 2]  # epoch 0's backup was complete
    assert fresh_run["epochs"] == [0, 1, 2]
    for resumed_weights, fresh_weights in zip(
        resumed_run["weights"], fresh_run["weights"]
    ):
        np.testing.assert_array_equal(resumed_weights, fresh_weights)
    assert not (tmp_path / "backup").exists()  # cleaned up when both finished
