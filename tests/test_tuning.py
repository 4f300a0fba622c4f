"""The KerasTuner search over β and γ: phase 1 once, tables, figure, resume."""

import csv
import os

import pytest

from savae_keras import AdversarialDecoder
from savae_keras import VariationalEncoderClassifier
from savae_keras.saving import load_model
from savae_keras.tuning import DecoderHyperModel
from savae_keras.tuning import search_beta_gamma
from tests.conftest import to_numpy
from tests.helpers import TINY

SMALL = {
    "train_size": 256,
    "validation_size": 300,
    "num_samples": 300,
    "batch_size": 128,
    "vec_epochs": 1,
    "n_critic": 1,
    "network_options": TINY,
    "verbose": 0,
}


@pytest.fixture
def vec_fits(monkeypatch):
    """Counts the phase-1 trainings."""
    calls = []
    original = VariationalEncoderClassifier.fit

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(VariationalEncoderClassifier, "fit", counted)
    return calls


def read_csv(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow(torch=170)
def test_random_search_writes_results_and_resumes(tmp_path, vec_fits, mnist_reference):
    out = str(tmp_path / "search")
    result = search_beta_gamma(out=out, tuner="random", max_trials=2, epochs=1, **SMALL)
    assert len(vec_fits) == 1 and result["vec_seconds"] > 0
    rows = read_csv(os.path.join(out, "results.csv"))
    assert len(rows) == 2
    for row in rows:
        assert 1e-4 <= float(row["beta"]) <= 1e-1 and 0 <= float(row["gamma"]) <= 1
        assert float(row["fcd_reconstructions"]) > 0 and float(row["seconds"]) > 0
    scores = [float(row["fcd_reconstructions"]) for row in rows]
    assert scores == sorted(scores)  # best first
    table = open(os.path.join(out, "results.md")).read()
    assert "`fcd_reconstructions` (minimise)" in table and table.count("\n| ") == 3
    assert os.path.getsize(os.path.join(out, "objective_vs_beta.png")) > 1000
    best = load_model(os.path.join(out, "best_decoder.keras"))
    assert isinstance(best, AdversarialDecoder)
    assert best.beta == pytest.approx(float(rows[0]["beta"]))

    # The same command again, with a larger budget: it resumes, keeps the
    # finished trials and phase 1, and runs only the missing trial.
    result = search_beta_gamma(out=out, tuner="random", max_trials=3, epochs=1, **SMALL)
    assert len(vec_fits) == 1 and result["vec_seconds"] == 0.0
    again = read_csv(os.path.join(out, "results.csv"))
    assert len(again) == 3
    assert {r["trial"] for r in rows} < {r["trial"] for r in again}


@pytest.mark.long
def test_hyperband_honours_epochs_and_initial_epoch(
    tmp_path, vec_fits, monkeypatch, mnist_reference
):
    fits = []
    original = DecoderHyperModel.fit

    def recorded(self, hp, model, *args, **kwargs):
        before = int(to_numpy(model.optimizer.iterations))
        result = original(self, hp, model, *args, **kwargs)
        after = int(to_numpy(model.optimizer.iterations))
        fits.append((kwargs["initial_epoch"], kwargs["epochs"], before, after))
        return result

    monkeypatch.setattr(DecoderHyperModel, "fit", recorded)
    search_beta_gamma(out=str(tmp_path / "hb"), tuner="hyperband", epochs=3, **SMALL)
    assert len(vec_fits) == 1
    steps = SMALL["train_size"] // SMALL["batch_size"]
    resumed = [f for f in fits if f[0] > 0]
    assert resumed, fits  # Hyperband trained a survivor on
    for initial_epoch, epochs, before, after in fits:
        # a resumed trial starts from its checkpoint, then trains the rest
        assert before == initial_epoch * steps
        assert after - before == (epochs - initial_epoch) * steps


def test_bad_search_arguments_get_clear_errors(tmp_path):
    with pytest.raises(
        ValueError, match="`beta_range` must be .* 0 < low < high.*log scale"
    ):
        search_beta_gamma(out=str(tmp_path), beta_range=(0.0, 0.1))
    with pytest.raises(ValueError, match="Unknown `tuner` 'grid'; expected one of"):
        search_beta_gamma(out=str(tmp_path), tuner="grid")
    with pytest.raises(ValueError, match="`gammas` must be values in \\[0, 1\\]"):
        search_beta_gamma(out=str(tmp_path), gammas=(0.0, 2.0))
