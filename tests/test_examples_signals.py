"""The signal and anomaly experiments run end to end and write their outputs."""

import json
import os
import subprocess
import sys

import pytest

from savae_keras.experiments.signals import run_anomaly
from savae_keras.experiments.signals import run_signals
from tests.conftest import REPO

# latent 4, one epoch per phase
TINY_BUDGET = {"latent_dim": 4, "encoder_epochs": 1, "decoder_epochs": 1}


def test_signals_experiment_writes_metrics_and_figures(tmp_path, data_dir):
    results = run_signals("trace", out=str(tmp_path), overrides=TINY_BUDGET)
    assert 0.0 <= results["vec_test_accuracy"] <= 1.0
    assert 0.0 <= results["judge_test_accuracy"] <= 1.0
    for model in ("SAVAE", "VAE"):
        metrics = results["models"][model]
        assert metrics["mse"] > 0 and metrics["log_spectral_distance"] > 0
        for key in ("label_consistency", "generation_label_consistency"):
            assert 0.0 <= metrics[key] <= 1.0
    for name in ("metrics.json", "reconstructions.png", "generated_per_class.png"):
        assert os.path.getsize(tmp_path / name) > 0
    assert json.loads((tmp_path / "metrics.json").read_text())["dataset"] == "trace"


def test_signals_experiment_on_plaid_windows(tmp_path, data_dir):
    results = run_signals(
        "plaid",
        out=str(tmp_path),
        overrides=TINY_BUDGET,
        window=200,
    )
    assert 0.0 <= results["vec_test_accuracy"] <= 1.0
    assert results["budget"]["window"] == 200
    assert "random windows of 200 samples" in results["preprocessing"]
    for model in ("SAVAE", "VAE"):
        assert results["models"][model]["mse"] > 0
    assert os.path.getsize(tmp_path / "generated_per_class.png") > 0


@pytest.mark.parametrize("window", [None, 64])
def test_anomaly_experiment_scores_a_held_out_class(tmp_path, data_dir, window):
    """On the resampled series, or on windows (a series: its windows' mean)."""
    results = run_anomaly(
        "trace",
        held_out=[0],
        out=str(tmp_path),
        overrides=TINY_BUDGET,
        window=window,
    )
    (row,) = results["rows"]
    for key in ("SAVAE_primary_auc", "SAVAE_calibrated_auc", "VAE_primary_auc"):
        assert 0.0 <= row[key] <= 1.0
    assert results["mean"]["VAE_calibrated_auc"] == row["VAE_calibrated_auc"]
    assert results["budget"].get("window") == window
    windows = "random windows of 64 samples" in results["preprocessing"]
    assert windows == (window is not None)
    with pytest.raises(ValueError, match=r"`held_out` classes must lie in \[0, 4\)"):
        run_anomaly("trace", held_out=[4], out=str(tmp_path), window=window)
    with pytest.raises(ValueError, match="`window` applies to the labelled signal"):
        run_anomaly("mnist", held_out=[0], out=str(tmp_path), window=64)


@pytest.mark.long
def test_anomaly_script_locates_windows_of_the_ucr_series(tmp_path, data_dir):
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "examples", "anomaly.py"),
            "--dataset",
            "ucr_internal_bleeding16",
            "--quick",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (row,) = json.loads((tmp_path / "metrics.json").read_text())["rows"]
    assert row["SAVAE_top_window"]["start"] % 4 == 0
    assert row["VAE_top_window"]["rank_of_first_anomalous_window"] >= 1
    for model in ("SAVAE", "VAE"):  # the step scores of the stitched maps
        top = row[f"{model}_top_step"]
        assert 0 <= top["top_step"] < 7501
        assert top["located"] == (top["distance"] <= 100)
