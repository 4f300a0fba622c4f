"""Every example script and the search script, run as a user runs them
(`python examples/<name>.py ...`, here in the test's process to spare a
minute of imports each), on tiny presets and a few hundred images.

The long versions (`make test-long`) run the examples' own presets; these
check in every `make test` that each script still parses its flags, trains,
scores and writes its outputs.
"""

import json
import runpy
import sys

import keras
import pytest

from tests.conftest import REPO

TINY_IMAGES = [
    "--preset", "tiny", "--train-size", "256", "--num-samples", "256",
    "--verbose", "0",
]  # fmt: skip
TINY_SIGNALS = [
    "--dataset", "trace", "--window", "0", "--set", "latent_dim=4",
    "--set", "encoder_epochs=1", "--set", "decoder_epochs=1",
]  # fmt: skip
SCRIPTS = {
    "examples/mnist.py": [*TINY_IMAGES],
    "examples/fashion_mnist.py": [*TINY_IMAGES, "--no-vae"],
    "examples/omniglot.py": [*TINY_IMAGES, "--no-vae", "--reference-epochs", "1"],
    "examples/caltech101_silhouettes.py": [
        *TINY_IMAGES,
        "--no-vae",
        "--reference-epochs",
        "1",
    ],  # fmt: skip
    "examples/cifar10.py": [*TINY_IMAGES, "--no-vae", "--reference-epochs", "1"],
    "examples/recursive_gan_cifar10.py": [
        "--epochs",
        "1",
        "--train-size",
        "64",
        "--test-size",
        "32",
        "--batch-size",
        "32",
        "--verbose",
        "0",
    ],  # fmt: skip
    "examples/plaid.py": TINY_SIGNALS,
    "examples/anomaly.py": [*TINY_SIGNALS, "--held-out", "0"],
    "tuning/search_beta_gamma.py": [
        "--preset",
        "tiny",
        "--trials",
        "1",
        "--epochs",
        "1",
        "--vec-epochs",
        "1",
        "--train-size",
        "256",
        "--validation-size",
        "256",
        "--num-samples",
        "256",
        "--verbose",
        "0",
    ],  # fmt: skip
}
OUTPUTS = {  # a file each script writes, and a key of its JSON
    "examples/recursive_gan_cifar10.py": ("results.json", "rows"),
    "examples/plaid.py": ("metrics.json", "models"),
    "examples/anomaly.py": ("metrics.json", "rows"),
    "tuning/search_beta_gamma.py": ("results.md", None),
}


@pytest.mark.slow(torch=50)
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_the_script_runs_end_to_end(script, tmp_path, monkeypatch, data_dir):
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", [script, *SCRIPTS[script], "--out", str(out)])
    runpy.run_path(str(REPO / script), run_name="__main__")
    name, key = OUTPUTS.get(script, ("metrics.json", "runs"))
    written = out / name
    assert written.stat().st_size > 0
    if key is None:
        assert "Objective:" in written.read_text()
        return
    results = json.loads(written.read_text())
    assert results[key], results
    if name == "metrics.json" and "backend" in results:
        assert results["backend"] == keras.backend.backend()
