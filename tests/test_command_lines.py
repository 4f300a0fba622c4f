"""Every command-line tool checks its flags before loading data or training."""

import importlib.util
import os
import sys

import numpy as np
import pytest

from savae_keras import VariationalEncoderClassifier
from savae_keras.data import get_spec
from savae_keras.experiments.savae import example_main
from savae_keras.metrics import reference
from savae_keras.report import main as report_main
from savae_keras.tuning.search import trained_phase_1
from tests.helpers import VEC_OPTIONS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def script(path):
    spec = importlib.util.spec_from_file_location("script", os.path.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def search_main(argv):
    return script("tuning/search_beta_gamma.py").main(argv)


def recursive_main(argv, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["recursive_gan_cifar10.py", *argv])
    return script("examples/recursive_gan_cifar10.py").main()


CASES = [
    (lambda mp: example_main("mnist", ["--train-size", "0"]), "--train-size: must"),
    (lambda mp: example_main("mnist", ["--train-size", "-5"]), "--train-size: must"),
    (
        lambda mp: example_main("mnist", ["--set", "encoder_epochs=-1"]),
        "`encoder_epochs` must be an integer >= 0",
    ),
    (
        lambda mp: example_main("mnist", ["--set", "batch_size=0"]),
        "`batch_size` must be an integer >= 1",
    ),
    (lambda mp: example_main("mnist", ["--betas", "nan"]), "--betas: must"),
    (
        lambda mp: example_main("mnist", ["--labeled-fraction", "0"]),
        "--labeled-fraction: must",
    ),
    (
        lambda mp: example_main("mnist", ["--set", "labeled_share=1"]),
        "`labeled_share` must be > 0 and < 1",
    ),
    (
        lambda mp: example_main("mnist", ["--labels-per-class", "0"]),
        "--labels-per-class: must be an integer >= 1",
    ),
    (
        lambda mp: example_main(
            "mnist", ["--labels-per-class", "10", "--labeled-fraction", "0.1"]
        ),
        "give --labeled-fraction or --labels-per-class, not both",
    ),
    (
        lambda mp: example_main("mnist", ["--set", "confidence_threshold=1.5"]),
        "`confidence_threshold` must be",
    ),
    (
        lambda mp: example_main("mnist", ["--num-samples", "100"]),
        "`--num-samples` must be at least 256",
    ),
    (
        lambda mp: example_main("mnist", ["--set", "seconds=0"]),
        "`seconds` must be > 0",
    ),
    (
        lambda mp: example_main("mnist", ["--set", "vec_share=1"]),
        "`vec_share` must be > 0 and < 1",
    ),
    (
        lambda mp: example_main("mnist", ["--preset", "two_critics"]),
        "Unknown preset 'two_critics' for SAVAE. Its presets are ['few_labels'",
    ),
    (
        lambda mp: example_main("mnist", ["--set", "n_critics=2"]),
        "Unknown setting 'n_critics' for SAVAE's presets. The settings are",
    ),
    (
        lambda mp: example_main("mnist", ["--set", "beta"]),
        "a setting must read `key=value`; received 'beta'",
    ),
    (
        lambda mp: example_main("mnist", ["--set", "ema=no"]),
        "`ema` must be True or False; received 'no'",
    ),
    (
        lambda mp: example_main("mnist", ["--set", "critic_options.nope=1"]),
        "nope",
    ),
    (lambda mp: search_main(["--trials", "0"]), "--trials: must"),
    (lambda mp: search_main(["--validation-size", "0"]), "--validation-size: must"),
    (lambda mp: search_main(["--validation-size", "-3"]), "--validation-size: must"),
    (lambda mp: search_main(["--num-samples", "100"]), "at least 256"),
    (lambda mp: search_main(["--tuner", "grid"]), "--tuner: invalid choice"),
    (
        lambda mp: search_main(["--search", "beta=log:0:0.1"]),
        "`space['beta']` must be a list of choices or (kind, low, high)",
    ),
    (
        lambda mp: search_main(["--search", "betas=0,1"]),
        "`space` names 'betas', which is not a SAVAE setting",
    ),
    (lambda mp: search_main(["--set", "n_critic"]), "must read `key=value`"),
    (lambda mp: recursive_main(["--epochs", "0"], mp), "--epochs: must"),
    (lambda mp: recursive_main(["--test-size", "0"], mp), "--test-size: must"),
    (
        lambda mp: recursive_main(["--epochs", "2", "--report-epochs"], mp),
        "--report-epochs: not allowed with argument --epochs",
    ),
    (lambda mp: recursive_main(["--models", "gan"], mp), "--models: invalid choice"),
    (lambda mp: recursive_main(["--curve-every", "0"], mp), "--curve-every: must"),
    (lambda mp: reference.main(["mnist", "--epochs", "0"]), "--epochs: must"),
    (lambda mp: reference.main(["mnist3"]), "invalid choice: 'mnist3'"),
    (
        lambda mp: example_main("mnist", ["--dtype-policy", "half"]),
        "--dtype-policy: invalid choice",
    ),
    (lambda mp: search_main(["--dtype-policy", "float64"]), "--dtype-policy: invalid"),
    (lambda mp: recursive_main(["--dtype-policy", "x"], mp), "--dtype-policy: invalid"),
    (
        lambda mp: script("examples/plaid.py").main(["--set", "decoder_epochs=-1"]),
        "`decoder_epochs` must be an integer >= 0",
    ),
    (
        lambda mp: script("examples/anomaly.py").main(["--preset", "nope"]),
        "Unknown preset 'nope' for SAVAE",
    ),
    (
        lambda mp: script("examples/plaid.py").main(["--dataset", "mnist"]),
        "--dataset: invalid choice",
    ),
    (
        lambda mp: script("examples/anomaly.py").main(["--held-out", "-1"]),
        "--held-out: must",
    ),
]


@pytest.mark.parametrize("index", range(len(CASES)))
def test_bad_flags_stop_before_any_work(index, capsys, monkeypatch):
    call, message = CASES[index]
    with pytest.raises(SystemExit) as stopped:
        call(monkeypatch)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_report_checks_the_model_file_first(tmp_path, capsys):
    truncated = tmp_path / "model.keras"
    truncated.write_bytes(b"PK\x03\x04 half")
    for path, message in [
        (tmp_path / "missing.keras", "--model: No model file"),
        (truncated, "--model: `filepath`"),
    ]:
        with pytest.raises(SystemExit):
            report_main(["--model", str(path), "--dataset", "mnist", "--out", "o"])
        assert message in capsys.readouterr().err


def test_a_search_folder_of_another_latent_size_is_refused(tmp_path):
    from savae_keras import SAVAE
    from savae_keras.presets import resolve_preset

    SAVAE.from_preset("tiny", latent_dim=2).save_to_preset(tmp_path / "phase_1")
    resolved = resolve_preset(SAVAE, "tiny", {"latent_dim": 3})
    x = np.zeros((4, 28, 28, 1), "uint8")
    with pytest.raises(ValueError, match="latent_dim 2, but this search's is 3"):
        trained_phase_1(
            str(tmp_path / "phase_1"), x, np.zeros(4), resolved, get_spec("mnist"), 1, 0
        )


def test_distribute_on_pytorch_names_the_supported_backends(capsys):
    import keras

    if keras.backend.backend() != "torch":
        pytest.skip("the PyTorch backend's error (JAX and TF would distribute)")
    with pytest.raises(SystemExit):
        example_main("mnist", ["--distribute", "--preset", "tiny"])
    assert "--distribute: Data-parallel training is not available" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    "name", ["vec", "decoder", "vae", "recursive_k0", "recursive_k1", "recursive_k2"]
)
def test_the_throughput_benchmark_trains_each_model(name):
    # benchmarks/throughput.py builds each model as a user would (the decoder
    # on a frozen VEC) and times fit; a model it cannot build is a failed row.
    import argparse

    throughput = script("benchmarks/throughput.py")
    args = argparse.Namespace(dtype_policy="float32", distribute=False)
    row = throughput.measure(name, 2, 1, 1, False, args)
    assert row["model"] == name and row["images_per_second"] > 0


def test_a_seconds_budget_ends_training_and_epochs_cap_it():
    # `run(seconds=...)` trains each model with a TimeLimit and no epoch
    # count; an epoch count, when given, still caps it.
    from savae_keras.experiments.savae import fit_for
    from savae_keras.experiments.savae import optimizer_steps

    x = np.random.default_rng(0).uniform(0, 1, (32, 28, 28, 1)).astype("float32")
    y = np.arange(32) % 10
    for epochs, seconds, steps in [(None, 1e-9, 1), (2, 1e9, 8), (1, None, 4)]:
        vec = VariationalEncoderClassifier((28, 28, 1), 10, 2, **VEC_OPTIONS)
        vec.compile()
        fit_for(vec, x, y, epochs, seconds, batch_size=8, verbose=0)
        assert optimizer_steps(vec) == steps, (epochs, seconds)


def test_unlabeled_fits_train_on_whole_batches_only():
    # Phase 2 and the VAE (no labels) drop the last, smaller batch: a batch
    # of another size gives TensorFlow's step a dynamic batch dimension, and
    # oneDNN an error line. Labeled phase 1 keeps every image.
    from savae_keras import VAE
    from savae_keras.experiments.savae import fit_for
    from savae_keras.experiments.savae import optimizer_steps

    x = np.random.default_rng(0).integers(0, 256, (20, 28, 28, 1)).astype("uint8")
    vae = VAE((28, 28, 1), 2, encoder_options=VEC_OPTIONS["encoder_options"])
    vae.compile()
    fit_for(vae, x, None, 2, None, batch_size=8, verbose=0)
    assert optimizer_steps(vae) == 2 * (20 // 8)
    vec = VariationalEncoderClassifier((28, 28, 1), 10, 2, **VEC_OPTIONS)
    vec.compile()
    fit_for(vec, x, np.arange(20) % 10, 2, None, batch_size=8, verbose=0)
    assert optimizer_steps(vec) == 2 * 3
