"""The recursive-GAN comparison runs end to end and writes its outputs."""

import json
import os
import subprocess
import sys

import keras
import pytest

from savae_keras.experiments import recursive_gan
from savae_keras.models import RecursiveAutoencoderGAN
from tests.conftest import REPO
from tests.helpers import Interrupt

# A tiny MNIST run: the rows' options vary per test.
TINY_RUN = dict(dataset="mnist", train_size=64, test_size=32, batch_size=32, verbose=0)


@pytest.mark.parametrize(
    "dataset",
    [
        "mnist",
        pytest.param(
            "cifar10",
            marks=[
                pytest.mark.long,
                pytest.mark.skipif(
                    keras.backend.backend() != "torch",
                    reason="one backend is enough for the CIFAR-10 run",
                ),
            ],
        ),
    ],
)
def test_comparison_writes_table_json_and_figure(dataset, tmp_path, data_dir):
    rows = recursive_gan.run(
        dataset=dataset,
        train_size=64,
        test_size=32,
        epochs=1,
        batch_size=32,
        game_schedule="report",
        out=str(tmp_path),
        verbose=0,
    )
    assert [row["model"] for row in rows] == list(recursive_gan.VARIANTS)
    table = (tmp_path / "results.md").read_text()
    assert "| autoencoder | 0 | 0 |" in table and "train_size 64" in table
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["budget"]["backend"] == keras.backend.backend()
    assert results["budget"]["game_schedule"] == "report"
    # The presets' reading: batch normalisation at the report's rate.
    assert results["budget"]["batch_norm"] is True
    assert results["budget"]["autoencoder_learning_rate"] == pytest.approx(0.005)
    for row in results["rows"]:
        assert 0 <= row["test_mse"] <= 1 and row["test_bce"] > 0
    assert (tmp_path / "reconstructions.png").stat().st_size > 10_000


def test_one_row_without_batch_norm_scores_its_curve(tmp_path, data_dir):
    rows = recursive_gan.run(
        epochs=4,
        models=["recursive autoencoder"],
        batch_norm=False,
        autoencoder_learning_rate=0.001,
        curve_every=2,
        out=str(tmp_path),
        **TINY_RUN,
    )
    assert [row["model"] for row in rows] == ["recursive autoencoder"]
    (row,) = rows
    assert row["epochs"] == 4
    assert [point["epoch"] for point in row["curve"]] == [2, 4]
    # The last point scores the model that the table scores: the same BCE.
    assert row["curve"][-1]["test_bce"] == pytest.approx(row["test_bce"], rel=1e-5)
    assert row["curve"][0]["test_bce"] != row["curve"][1]["test_bce"]
    saved = json.loads((tmp_path / "curve_recursive_autoencoder.json").read_text())
    assert saved == row["curve"]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["budget"]["batch_norm"] is False
    assert results["budget"]["autoencoder_learning_rate"] == pytest.approx(0.001)
    assert (tmp_path / "curve.png").stat().st_size > 5_000
    assert "| recursive autoencoder | 2 | 0 |" in (tmp_path / "results.md").read_text()


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path, data_dir, monkeypatch):
    run = dict(epochs=3, models=["recursive autoencoder"], curve_every=1, **TINY_RUN)
    # Keras draws each epoch's shuffle from a random state that no backup
    # holds, so only an unshuffled run resumes to the same numbers.
    fit, crash = RecursiveAutoencoderGAN.fit, []

    def unshuffled(self, *args, callbacks=(), **kwargs):
        callbacks = [*callbacks, *crash]
        return fit(self, *args, shuffle=False, callbacks=callbacks, **kwargs)

    monkeypatch.setattr(RecursiveAutoencoderGAN, "fit", unshuffled)
    (fresh,) = recursive_gan.run(out=str(tmp_path / "fresh"), **run)

    crash.append(Interrupt(after=1))
    out, backup = tmp_path / "resumed", tmp_path / "backup"
    with pytest.raises(KeyboardInterrupt):
        recursive_gan.run(out=str(out), backup_dir=str(backup), **run)
    curve = json.loads((out / "curve_recursive_autoencoder.json").read_text())
    assert [point["epoch"] for point in curve] == [1, 2]
    crash.clear()

    (resumed,) = recursive_gan.run(out=str(out), backup_dir=str(backup), **run)
    assert (resumed["first_epoch"], resumed["epochs"]) == (3, 3)
    assert fresh["first_epoch"] == 1
    # Epochs 1 and 2 restored, not trained again: the same curve and model.
    assert resumed["curve"] == fresh["curve"]
    for metric in ("test_bce", "test_mse", "test_psnr", "test_ssim"):
        assert resumed[metric] == fresh[metric], metric
    assert not backup.exists()  # removed once the model finished


def test_epochs_none_trains_each_preset_for_its_report_epochs(tmp_path, data_dir):
    rows = recursive_gan.run(
        dataset="mnist",
        train_size=32,
        test_size=32,
        epochs=None,
        batch_size=32,
        models=["autoencoder with GAN"],
        out=str(tmp_path),
        verbose=0,
    )
    assert rows[0]["game_schedule"] == "report"  # the preset's, not overridden
    expected = recursive_gan.RecursiveAutoencoderGAN.presets["report_autoencoder_gan"]
    assert rows[0]["epochs"] == expected["fit"]["epochs"] == 20


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"models": ["gan"]}, "`models` must be one of"),
        ({"models": []}, "`models` must name at least one"),
        ({"curve_every": 0}, "`curve_every` must be"),
    ],
)
def test_bad_arguments_are_named(kwargs, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        recursive_gan.run(dataset="mnist", out=str(tmp_path), **kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [  # MNIST here holds 60,000 training and 10,000 test images
        (
            {"test_size": 10001},
            "`test_size` is 10001, but the mnist test split here holds 10000 images",
        ),
        (
            {"train_size": 60001},
            "`train_size` is 60001, but the mnist train split here holds 60000 images",
        ),
    ],
)
def test_sizes_past_the_data_are_named(kwargs, message, tmp_path, data_dir):
    with pytest.raises(ValueError, match=message):
        recursive_gan.run(dataset="mnist", out=str(tmp_path), verbose=0, **kwargs)


@pytest.mark.long
@pytest.mark.skipif(keras.backend.backend() != "torch", reason="the CLI once is enough")
def test_example_script_runs(tmp_path, data_dir):
    script = os.path.join(REPO, "examples", "recursive_gan_cifar10.py")
    result = subprocess.run(
        [
            sys.executable,
            script,
            "--dataset",
            "mnist",
            "--train-size",
            "64",
            "--test-size",
            "32",
            "--epochs",
            "1",
            "--verbose",
            "0",
            "--game-schedule",
            "report",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "results.md").is_file()
