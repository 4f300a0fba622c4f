"""The signal and anomaly experiments run end to end and write their outputs."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from savae_keras.experiments.signals import run_anomaly
from savae_keras.experiments.signals import run_signals
from savae_keras.experiments.signals import series_components
from tests.conftest import REPO


def test_signals_experiment_writes_metrics_and_figures(tmp_path, data_dir):
    results = run_signals(
        "trace", out=str(tmp_path), latent_dim=4, epochs=1, decoder_epochs=1
    )
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
        latent_dim=4,
        epochs=1,
        decoder_epochs=1,
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
        latent_dim=4,
        epochs=1,
        decoder_epochs=1,
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


class _MeanModel:
    """A stand-in for a trained model: a window's components are its mean
    and its maximum."""

    primary_anomaly_component = "mean"

    def anomaly_components(self, windows):
        return {"mean": windows.mean(axis=(1, 2)), "max": windows.max(axis=(1, 2))}


def test_series_components_are_the_means_over_each_series_windows():
    series = [np.arange(12, dtype="float32")[:, None], np.ones((5, 1), "float32")]
    components = series_components(_MeanModel(), series, window=4, stride=4)
    # Unscaled windows would be [0..3], [4..7], [8..11]; each is min-max
    # scaled into [0, 1] (mean 0.5, max 1), the constant one to 0.
    np.testing.assert_allclose(components["mean"], [0.5, 0.0])
    np.testing.assert_allclose(components["max"], [1.0, 0.0])
    # A series of 12 samples has windows at 0, 2, ..., 8 with stride 2: five.
    ramp = [np.concatenate([np.zeros(8), np.arange(4)]).astype("float32")[:, None]]
    (mean,) = series_components(_MeanModel(), ramp, window=4, stride=2)["mean"]
    # Windows: [0,0,0,0] -> 0; [0,0,0,0] -> 0; [0,0,0,0] -> 0 (starts 0, 2, 4);
    # start 6: [0,0,0,1] -> 0.25; start 8: [0,1,2,3] -> 0.5.
    np.testing.assert_allclose(mean, (0.25 + 0.5) / 5)


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
