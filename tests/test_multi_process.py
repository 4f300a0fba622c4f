"""Several processes train as one: the launcher, JAX across two processes on
this machine (loopback only), chief-only writing and a missing process.

Each run starts its own processes on JAX, whatever the backend of the
test session (the engine must start inside them).
"""

import json
import os
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from savae_keras import distribution
from savae_keras.launch import free_port
from savae_keras.launch import parse

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Trains every model with one global batch of 16 (two epochs of 32 images),
# then writes its logs and weights to `out/<name>_<process>.npz` with numpy
# (not through the package, so every process writes its own) and saves the
# last model with `model.save(out/model_<process>.keras)`.
CHECK = r"""
import json, os, sys
sys.path.insert(0, os.getcwd())
import savae_keras as sk
processes = sk.distribution.initialize()
import keras, numpy as np
from tests.helpers import deterministic_weights, steady_adam
from tests.model_cases import build

if processes > 1:
    sk.distribution.data_parallel()
out, index = sys.argv[1], sk.distribution.process_index()
rng = np.random.default_rng(0)
x = rng.random((32, 28, 28, 1)).astype("float32")
y = (np.arange(32) % 10).astype("int32")
FIT = dict(batch_size=16, epochs=2, verbose=0, shuffle=False)


def trained(name):
    keras.utils.set_random_seed(0)
    if name == "savae":
        model = build("savae", n_critic=2)
        deterministic_weights(model)
        model.compile()
        history = model.fit(x, y, encoder_epochs=2, decoder_epochs=2, **{
            k: v for k, v in FIT.items() if k != "epochs"})
        return model, {**history.phase_1.history, **history.phase_2.history}
    model = build("vec" if name == "vec_sgd" else name)
    deterministic_weights(model)
    if name == "vec_sgd":
        np.savez(os.path.join(out, f"initial_{index}.npz"), *model.get_weights())
        model.compile(optimizer=keras.optimizers.SGD(0.05))
    elif name == "vae":
        model.compile(optimizer=steady_adam())
    else:
        model.compile()
    labels = y if name == "vec_sgd" else None
    return model, model.fit(x, labels, **FIT).history


for name in MODELS:  # written above this script by the test
    model, logs = trained(name)
    arrays = {f"log_{k}": np.asarray(v) for k, v in logs.items()}
    arrays.update({f"w{i}": w for i, w in enumerate(model.get_weights())})
    np.savez(os.path.join(out, f"{name}_{index}.npz"), **arrays)
model.save(os.path.join(out, f"model_{index}.keras"))
print("DONE", index, flush=True)
"""
# SAVAE's two phases are the VEC's and the adversarial decoder's own `fit`,
# so the VEC with Adam is not trained again on its own.
MODELS = ("vec_sgd", "vae", "recursive_gan", "savae")


def _run(command, env=None, timeout=900):
    env = {**os.environ, "KERAS_BACKEND": "jax", **(env or {})}
    started = time.monotonic()
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=REPO, env=env, timeout=timeout
    )
    return result, time.monotonic() - started


def _load(path):
    with np.load(path) as arrays:
        logs = {k[4:]: arrays[k] for k in arrays.files if k.startswith("log_")}
        count = sum(k.startswith("w") for k in arrays.files)
        return logs, [arrays[f"w{i}"] for i in range(count)]


@pytest.mark.slow(torch=240)
def test_two_processes_train_every_model_as_one_process(tmp_path):
    script = tmp_path / "check.py"
    script.write_text(f"MODELS = {MODELS!r}\n{CHECK}")
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    result, _ = _run([sys.executable, str(script), str(one)])
    assert result.returncode == 0, result.stderr[-3000:]
    launch = [sys.executable, "-m", "savae_keras.launch", "--processes", "2"]
    result, _ = _run([*launch, "--timeout", "120", "--", str(script), str(two)])
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
    assert "DONE 0" in result.stdout and "[process 1] DONE 1" in result.stdout

    for name in MODELS:
        logs_1, weights_1 = _load(one / f"{name}_0.npz")
        logs_2, weights_2 = _load(two / f"{name}_0.npz")
        # Both processes hold the same model: one replica each.
        _, weights_other = _load(two / f"{name}_1.npz")
        for a, b in zip(weights_2, weights_other):
            np.testing.assert_array_equal(a, b, err_msg=name)
        # Two processes compute one process's step; only the order of the
        # sums differs (float32 round-off, which Adam can amplify for a
        # gradient near zero): the bounds of tests/test_distribution.py.
        assert logs_1.keys() == logs_2.keys(), name
        for key in logs_1:
            gap = np.abs(logs_1[key] - logs_2[key]) / np.maximum(
                np.abs(logs_1[key]), 1e-2
            )
            assert gap.max() < 1e-3, (name, key, logs_1[key], logs_2[key])
        gap = max(float(np.max(np.abs(a - b))) for a, b in zip(weights_1, weights_2))
        assert gap < 2e-3, (name, gap)
        if name == "vec_sgd":  # summed, not averaged, gradients would double
            with np.load(one / "initial_0.npz") as initial:
                moved = max(
                    float(np.max(np.abs(w - initial[f"arr_{i}"])))
                    for i, w in enumerate(weights_1)
                )
            assert moved > 0.1 and gap < 1e-3 * moved, (moved, gap)
    # Only the chief writes files.
    assert (two / "model_0.keras").exists() and not (two / "model_1.keras").exists()


def test_a_missing_process_ends_the_run_with_an_error_not_a_hang(tmp_path):
    script = tmp_path / "join.py"
    script.write_text(
        "import savae_keras as sk\nsk.distribution.initialize()\nprint('JOINED')\n"
    )
    env = {
        distribution.ADDRESS_VARIABLE: "127.0.0.1:1",  # nothing listens there
        distribution.PROCESSES_VARIABLE: "2",
        distribution.TIMEOUT_VARIABLE: "3",
    }
    # A worker without its chief: our error, after the timeout.
    result, seconds = _run(
        [sys.executable, str(script)],
        {**env, distribution.PROCESS_ID_VARIABLE: "1"},
        timeout=120,
    )
    assert result.returncode != 0 and "JOINED" not in result.stdout
    assert "process 1 of 2 found no coordinator at 127.0.0.1:1 within 3 s" in (
        result.stderr
    )
    assert seconds < 90
    # The chief without its worker: JAX ends it after the timeout, and the
    # line before says what that means.
    port = str(free_port())
    result, seconds = _run(
        [sys.executable, str(script)],
        {
            **env,
            distribution.ADDRESS_VARIABLE: f"127.0.0.1:{port}",
            distribution.PROCESS_ID_VARIABLE: "0",
        },
        timeout=120,
    )
    assert result.returncode != 0 and "JOINED" not in result.stdout
    assert "a process missing for 3 s" in result.stderr
    assert "DEADLINE_EXCEEDED" in result.stderr
    assert seconds < 90


def test_the_launcher_stops_the_others_when_one_process_fails(tmp_path):
    script = tmp_path / "fail.py"
    script.write_text(
        "import os, sys, time\n"
        "if os.environ['KERAS_DISTRIBUTION_PROCESS_ID'] == '1':\n"
        "    print('failing'); sys.exit(3)\n"
        "time.sleep(300)\n"
    )
    command = [sys.executable, "-m", "savae_keras.launch", "--processes", "2"]
    result, seconds = _run([*command, "--grace", "1", "--", str(script)], timeout=120)
    assert result.returncode == 3
    assert "[process 1] failing" in result.stdout
    assert "process 1 exited with 3; stopped the others" in result.stderr
    assert seconds < 60  # the sleeping chief did not keep it waiting


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--processes", "2", "x.py"], "give the script after `--`"),
        (["--processes", "2", "--"], "no script after `--`"),
        (["--processes", "0", "--", "x.py"], "argument --processes: must be an"),
        (["--processes", "2", "--port", "70000", "--", "x.py"], "port <= 65535"),
        (["--processes", "2", "--", "missing.py"], "'missing.py' does not exist"),
    ],
)
def test_the_launcher_checks_its_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        parse(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_the_launcher_refuses_a_backend_that_cannot_span_processes(
    monkeypatch, capsys, tmp_path
):
    script = tmp_path / "train.py"
    script.write_text("")
    for backend in ("tensorflow", "torch"):
        monkeypatch.setenv("KERAS_BACKEND", backend)
        with pytest.raises(SystemExit):
            parse(["--processes", "2", "--", str(script)])
        assert "several processes train on JAX only" in capsys.readouterr().err
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    assert parse(["--processes", "1", "--", str(script)]).processes == 1


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="the other engines")
def test_other_engines_say_which_engine_trains_across_processes():
    match = "KERAS_BACKEND=jax"
    if keras.backend.backend() == "tensorflow":
        match = "keras-team/keras#20585.*KERAS_BACKEND=jax"
    with pytest.raises(NotImplementedError, match=match):
        distribution.initialize("127.0.0.1:1", num_processes=2, process_id=0)
    assert distribution.initialize(num_processes=1) == 1  # one process: nothing


def test_shards_put_together_are_the_global_batches():
    x = np.arange(40)
    y = -np.arange(40)
    parts = [distribution.shard(x, y, batch_size=8, count=4, index=i) for i in range(4)]
    assert all(part[2] == 2 for part in parts)  # the local batch
    for step in range(5):  # global batch `step`: the processes' local batches
        batch = np.concatenate([part[0][2 * step : 2 * step + 2] for part in parts])
        np.testing.assert_array_equal(batch, x[8 * step : 8 * step + 8])
        labels = np.concatenate([part[1][2 * step : 2 * step + 2] for part in parts])
        np.testing.assert_array_equal(labels, y[8 * step : 8 * step + 8])
    with pytest.raises(ValueError, match="`batch_size`=6 does not split over the 4"):
        distribution.shard(x, batch_size=6, count=4, index=0)
    (same, batch) = distribution.shard(x, batch_size=8)  # one process
    assert same is x and batch == 8


def test_bad_process_settings_get_clear_errors(monkeypatch):
    monkeypatch.setenv(distribution.PROCESSES_VARIABLE, "two")
    with pytest.raises(ValueError, match="KERAS_DISTRIBUTION_NUM_PROCESSES.*'two'"):
        distribution.initialize()
    with pytest.raises(ValueError, match="`num_processes` must be an integer >= 1"):
        distribution.initialize(num_processes=0)
    monkeypatch.setenv(distribution.PROCESSES_VARIABLE, "1")
    assert distribution.initialize() == 1


@pytest.mark.long
def test_the_mnist_example_runs_across_two_processes(tmp_path):
    """The guide's command: `make main`'s script on the tiny preset, two
    processes; the chief writes the run's files, once."""
    out = tmp_path / "run"
    command = [sys.executable, "-m", "savae_keras.launch", "--processes", "2"]
    example = ["examples/mnist.py", "--preset", "tiny", "--distribute"]
    small = ["--train-size", "512", "--num-samples", "256", "--out", str(out)]
    result, _ = _run([*command, "--", *example, *small], timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["processes"] == 2 and metrics["backend"] == "jax"
    assert (out / "z2" / "savae.keras").exists()
    assert result.stdout.count("Wrote ") == 1  # the chief's report only
