"""Data-parallel training: 2 devices train as 1 device does, with the same batch.

JAX runs on two virtual CPU devices (`XLA_FLAGS`), TensorFlow's
`MirroredStrategy` on two logical CPU devices; both must be set before the
engine starts: each check runs in its own process, whatever the backend of
the test session, and prints one JSON line for the test to read.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from savae_keras.distribution import data_parallel

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHECK = r"""
import contextlib, json, os, sys
if os.environ["KERAS_BACKEND"] == "tensorflow":
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
import keras, numpy as np
sys.path.insert(0, os.getcwd())
import savae_keras as sk
from tests.helpers import deterministic_weights, steady_adam
from tests.model_cases import build

rng = np.random.default_rng(0)
x = rng.random((32, 28, 28, 1)).astype("float32")
y = (np.arange(32) % 10).astype("int32")
FIT = dict(batch_size=16, epochs=2, verbose=0, shuffle=False)


def train(name):
    keras.utils.set_random_seed(0)
    if name == "vec_sgd":  # a constant factor on the gradients shows under SGD
        vec = build("vec")
        deterministic_weights(vec)
        vec.compile(optimizer=keras.optimizers.SGD(0.05))
        return vec.fit(x, y, **FIT).history, vec.get_weights()
    if name == "savae":
        model = build("savae", n_critic=2)
        deterministic_weights(model)
        model.compile(steady_adam(), steady_adam(), steady_adam())
        phases = {k: v for k, v in FIT.items() if k != "epochs"}
        history = model.fit(x, y, encoder_epochs=2, decoder_epochs=2, **phases)
        logs = {**history.phase_1.history, **history.phase_2.history}
        return logs, model.get_weights()
    model = build(name)
    deterministic_weights(model)
    model.compile(**({"optimizer": steady_adam()} if name == "vae" else {}))
    return model.fit(x, **FIT).history, model.get_weights()


# SAVAE's two phases are the VEC's and the adversarial decoder's own `fit`
# (Adam), so those two models are not trained again on their own.
MODELS = ("vec_sgd", "savae", "vae", "recursive_gan")
initial = build("vec")
deterministic_weights(initial)
initial = initial.get_weights()
one = {name: train(name) for name in MODELS}
strategy = sk.data_parallel()
tensorflow = keras.backend.backend() == "tensorflow"
scope = lambda: strategy.scope() if tensorflow else contextlib.nullcontext()
with scope():  # TensorFlow: models built, compiled and trained in the scope
    devices = sk.distribution.device_count()
    two = {name: train(name) for name in MODELS}
rows = {}
for name in MODELS:
    (h1, w1), (h2, w2) = one[name], two[name]
    rows[name] = {
        "loss_gap": max(
            abs(a - b) / max(abs(a), 1e-2) for k in h1 for a, b in zip(h1[k], h2[k])
        ),
        "weight_gap": max(float(np.max(np.abs(a - b))) for a, b in zip(w1, w2)),
        "finite": bool(all(np.isfinite(v).all() for v in w2)),
    }
rows["vec_sgd"]["moved"] = max(
    float(np.max(np.abs(a - b))) for a, b in zip(one["vec_sgd"][1], initial)
)
with scope():
    model = build("vae")
    model.compile()
try:
    model.fit(x[:30], batch_size=15, epochs=1, verbose=0)
    error = None
except ValueError as caught:
    error = str(caught)
print("RESULT " + json.dumps({"devices": devices, "models": rows, "error": error}))
"""


ENGINES = {
    "jax": {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"},
    "tensorflow": {},  # two logical devices, set by the script
}


@pytest.mark.slow(torch=200)  # runs its own process, on the PyTorch tier
@pytest.mark.parametrize("engine", list(ENGINES))
def test_data_parallel_on_two_devices_trains_as_one_device(tmp_path, engine):
    script = tmp_path / "check.py"
    script.write_text(CHECK)
    env = {**os.environ, "KERAS_BACKEND": engine, **ENGINES[engine]}
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=1200,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    report = json.loads(lines[-1][len("RESULT ") :])
    print(json.dumps(report, indent=1))  # shown with -s or on failure
    assert report["devices"] == 2
    for name, row in report["models"].items():
        # Two devices compute the same global step; only the order of the
        # sums differs (float32 round-off), which Adam can amplify for a
        # gradient near zero. Every logged term within 1e-3 relative (terms
        # under 1e-2 within 1e-5: SAVAE's L_adv is small), weights within
        # 2e-3; SAVAE compounds both phases. Measured gaps:
        # docs/results/tolerances.md.
        assert row["finite"], name
        assert row["loss_gap"] < 1e-3, (name, row)
        assert row["weight_gap"] < 2e-3, (name, row)
    # Plain SGD: summed instead of averaged replica gradients would double
    # every step, a gap of the order of the weights' moves; the two runs
    # agree to round-off instead (measured: docs/results/tolerances.md).
    sgd = report["models"]["vec_sgd"]
    assert sgd["moved"] > 0.1 and sgd["weight_gap"] < 1e-3 * sgd["moved"], sgd
    assert "`batch_size`=15 does not split evenly over the 2 devices" in (
        report["error"] or ""
    )


def test_pytorch_has_no_data_parallel_route_and_says_which_do():
    if keras.backend.backend() != "torch":
        pytest.skip("the PyTorch backend's error")
    with pytest.raises(NotImplementedError, match="KERAS_BACKEND=jax.*tensorflow"):
        data_parallel()


def test_a_pydataset_whose_batches_do_not_split_is_refused():
    """A `PyDataset` brings its own batches: its first and last are checked."""
    from savae_keras.data import ImageBatches
    from savae_keras.distribution import check_dataset_split

    x = np.zeros((9, 28, 28, 1), "uint8")
    y = np.arange(9) % 10
    with pytest.raises(ValueError, match="the last batch .* holds 1 samples"):
        check_dataset_split(ImageBatches(x, y, batch_size=4), "fit", devices=2)
    with pytest.raises(ValueError, match="fit\\(\\): the first batch .* 3 samples"):
        check_dataset_split(ImageBatches(x, y, batch_size=3), "fit", devices=2)
    check_dataset_split(ImageBatches(x[:8], y[:8], batch_size=4), "fit", devices=2)
    check_dataset_split(ImageBatches(x, y, batch_size=3), "fit", devices=1)
