"""Each dataset's example runs end to end on a tiny budget.

Long end-to-end runs, on PyTorch only: the package code they run is the same
on every backend, and each backend's steps are tested by the model tests.
The MNIST script runs as a user runs it, in its own process; the others call
the same `example_main` in the test's process (each new process spends most
of a minute importing the backends), after checking that their script is
that call.
"""

import json
import os
import subprocess
import sys

import keras
import pytest

import savae_keras as sk
from savae_keras.experiments.savae import example_main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_BUDGET = [
    "--train-size",
    "256",
    "--set",
    "encoder_epochs=1",
    "--set",
    "decoder_epochs=1",
    "--num-samples",
    "300",
    "--verbose",
    "0",
]
# the reference classifiers these tests need beyond MNIST and Fashion-MNIST
# are trained for one epoch (cached apart from the full ones)
DATASETS = {
    # as `make main` runs it (the quick preset), with a seconds budget that
    # the epochs cap here
    "mnist": ["--preset", "quick", "--set", "seconds=600"],
    # the sweep's order over both latent sizes (6 models, PyTorch only)
    "mnist_sweep": [
        "--latent-dim",
        "2",
        "100",
        "--betas",
        "0",
        "0.005",
        "--gammas",
        "0.1",
    ],
    # the options beyond the paper: the latent100 preset (pixel term in
    # phase 1, warm start, a 1-Lipschitz critic, a pixel term in phase 2 and
    # its critic judging prior samples, weight averaging) at latent 2, few
    # labels with the FixMatch term
    "fashion_mnist": [
        "--preset",
        "latent100",
        "--set",
        "latent_dim=2",
        "--labels-per-class",
        "5",
        "--set",
        "consistency_weight=1",
    ],
    "omniglot": ["--reference-epochs", "1"],
    "caltech101_silhouettes": ["--reference-epochs", "1"],
    "cifar10": ["--reference-epochs", "1", "--sweep"],
}


@pytest.mark.long
@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_example_runs_end_to_end(dataset, tmp_path, data_dir):
    if keras.backend.backend() != "torch":
        pytest.skip("long end-to-end runs: PyTorch only")
    out = tmp_path / dataset
    script = "mnist" if dataset == "mnist_sweep" else dataset
    path = os.path.join(REPO, "examples", f"{script}.py")
    argv = [*DATASETS[dataset], *TINY_BUDGET, "--out", str(out)]
    if dataset == "mnist":
        result = subprocess.run(
            [sys.executable, path, *argv],
            capture_output=True,
            text=True,
            timeout=1200,
            cwd=REPO,
        )
        assert result.returncode == 0, result.stderr[-4000:]
    else:
        with open(path) as file:
            assert f'example_main("{script}")' in file.read()
        example_main(script, argv)
    metrics = json.loads((out / "metrics.json").read_text())
    assert (
        metrics["dataset"] == script and metrics["backend"] == keras.backend.backend()
    )
    models = [(run["model"], run["latent_dim"], run["beta"]) for run in metrics["runs"]]
    if dataset == "mnist_sweep":
        assert models == [
            ("SAVAE", 2, 0.0),
            ("SAVAE", 2, 0.005),
            ("VAE", 2, None),
            ("SAVAE", 100, 0.0),
            ("SAVAE", 100, 0.005),
            ("VAE", 100, None),
        ]
    elif dataset == "cifar10":  # the paper's CIFAR-10 setting (section 4.5)
        assert models == [("SAVAE", 100, 0.001), ("VAE", 100, None)]
    else:
        assert models == [("SAVAE", 2, 0.005), ("VAE", 2, None)]
    preset = metrics["preset"]
    weights = [1.0, 1.0, 1.0] if dataset == "cifar10" else [1.0, 0.1, 0.01]
    assert preset["config"]["feature_weights"] == weights
    names = {"fashion_mnist": "latent100", "mnist": "quick"}
    assert preset["name"] == names.get(dataset, "paper")
    spectral = dataset in ("mnist", "fashion_mnist")
    critic = preset["config"].get("critic_options") or {}
    assert critic.get("spectral_normalization", False) == spectral
    assert preset["optimizer"]["ema"] == spectral
    pixel = 1.0 if dataset == "fashion_mnist" else 0.0
    assert preset["config"].get("pixel_weight", 0.0) == pixel
    if spectral:
        saved = keras.saving.load_model(out / "z2" / "savae.keras")
        wrapped = [
            layer
            for layer in saved.adversarial_decoder.critic.layers
            if isinstance(layer, sk.layers.SpectralNormalization)
        ]
        assert len(wrapped) == 8
        # the decoder's optimizer keeps its average where the preset says so
        assert saved.adversarial_decoder.decoder_optimizer.use_ema
        assert saved.adversarial_decoder.pixel_weight == pixel
        assert saved.adversarial_decoder.prior_weight == pixel
    if dataset == "fashion_mnist":
        assert metrics["data"]["labeled_images"] == 50
        assert preset["config"]["consistency_weight"] == 1
    for run in metrics["runs"]:
        assert run["num_samples"] == 300 and run["fcd_reconstructions"] > 0
        if run["model"] == "SAVAE":  # one epoch of 256 images, batch 64
            assert (run["vec_steps"], run["decoder_steps"]) == (4, 4)
        assert 0 <= run["label_consistency_reconstructions"] <= 1
    latent = "z100" if dataset == "cifar10" else "z2"
    figures = [
        "savae/reconstructions.png",
        "savae/prior_samples.png",
        "savae/latent_space.png",
        "vae/reconstructions.png",
        "beta_gamma_grid.png",
        "side_by_side.png",
    ]
    if latent == "z2":
        figures.append("savae/latent_grid.png")
    for figure in figures:
        assert (out / latent / figure).stat().st_size > 1000, figure
    assert "| SAVAE |" in (out / "results.md").read_text()
