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
    "--epochs",
    "1",
    "--num-samples",
    "300",
    "--verbose",
    "0",
]
# the reference classifiers these tests need beyond MNIST and Fashion-MNIST
# are trained for one epoch (cached apart from the full ones)
ONE_DECODER = ["--latent-dim", "2", "--betas", "0.005", "--gammas", "0.1"]
DATASETS = {
    # as `make main` runs it: a seconds budget (the epoch caps it here), one
    # critic round per decoder step, a spectrally normalised critic and
    # weight averaging
    "mnist": [
        *ONE_DECODER,
        "--seconds",
        "600",
        "--recipe",
        "one_critic",
        "--critic-spectral-norm",
        "--ema",
    ],
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
    # the options beyond the paper: the pixel recipe (pixel term in phase 1,
    # warm start), few labels with the FixMatch term, a 1-Lipschitz critic,
    # a pixel term in phase 2 and its critic judging prior samples
    "fashion_mnist": [
        *ONE_DECODER,
        "--recipe",
        "pixel",
        "--critic-spectral-norm",
        "--pixel-weight",
        "1",
        "--prior-weight",
        "1",
        "--labels-per-class",
        "5",
        "--consistency-weight",
        "1",
    ],
    "omniglot": [*ONE_DECODER, "--reference-epochs", "1"],
    "caltech101_silhouettes": [*ONE_DECODER, "--reference-epochs", "1"],
    "cifar10": ["--reference-epochs", "1"],
}


@pytest.mark.long
@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_example_runs_end_to_end(dataset, tmp_path, data_dir):
    if keras.backend.backend() != "torch":
        pytest.skip("long end-to-end runs: PyTorch only")
    out = tmp_path / dataset
    script = "mnist" if dataset == "mnist_sweep" else dataset
    path = os.path.join(REPO, "examples", f"{script}.py")
    argv = [*TINY_BUDGET, *DATASETS[dataset], "--out", str(out)]
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
        assert metrics["feature_weights"] == [1.0, 1.0, 1.0]
    else:
        assert metrics["feature_weights"] == [1.0, 0.1, 0.01]
    recipes = {"fashion_mnist": "pixel", "mnist": "one_critic"}
    assert metrics["recipe"] == recipes.get(dataset, "paper")
    spectral = dataset in ("mnist", "fashion_mnist")
    assert metrics["critic_spectral_norm"] == spectral
    assert metrics["ema"] == (dataset == "mnist")
    assert metrics["pixel_weight"] == (1.0 if dataset == "fashion_mnist" else 0.0)
    assert metrics["prior_weight"] == metrics["pixel_weight"]
    if spectral:
        saved = keras.saving.load_model(out / "z2" / "savae.keras")
        wrapped = [
            layer
            for layer in saved.critic.layers
            if isinstance(layer, sk.layers.SpectralNormalization)
        ]
        assert len(wrapped) == 8
        # the decoder's optimizer keeps its average where --ema was given
        assert saved.decoder_optimizer.use_ema == (dataset == "mnist")
        assert saved.pixel_weight == metrics["pixel_weight"]
        assert saved.prior_weight == metrics["prior_weight"]
    if dataset == "fashion_mnist":
        assert metrics["budget"]["labeled_images"] == 50
        assert metrics["budget"]["consistency_weight"] == 1.0
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
