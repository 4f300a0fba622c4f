"""The KerasTuner search from a preset: phase 1 once, tables, figure, resume."""

import csv
import os

import numpy as np
import pytest

from savae_keras import SAVAE
from savae_keras import VariationalEncoderClassifier
from savae_keras.tuning import SAVAEHyperModel
from savae_keras.tuning import check_space
from savae_keras.tuning import search_savae
from tests.conftest import to_numpy

SMALL = {
    "preset": "tiny",
    "train_size": 256,
    "validation_size": 300,
    "num_samples": 300,
    "vec_epochs": 1,
    "overrides": {"batch_size": 128},
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
    result = search_savae(out=out, tuner="random", max_trials=2, epochs=1, **SMALL)
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
    best = SAVAE.from_preset(os.path.join(out, "best"))
    assert best.adversarial_decoder.beta == pytest.approx(float(rows[0]["beta"]))
    # the best trial's phase 1 is the shared one, bit for bit
    shared = SAVAE.from_preset(os.path.join(out, "phase_1"))
    for got, want in zip(best.vec.get_weights(), shared.vec.get_weights()):
        np.testing.assert_array_equal(got, want)

    # The same command again, with a larger budget: it resumes, keeps the
    # finished trials and phase 1, and runs only the missing trial.
    result = search_savae(out=out, tuner="random", max_trials=3, epochs=1, **SMALL)
    assert len(vec_fits) == 1 and result["vec_seconds"] == 0.0
    again = read_csv(os.path.join(out, "results.csv"))
    assert len(again) == 3
    assert {r["trial"] for r in rows} < {r["trial"] for r in again}


@pytest.mark.slow(torch=120)
def test_a_search_over_other_settings_of_the_preset(
    tmp_path, vec_fits, mnist_reference
):
    # Phase-2 settings (the pixel term, weight averaging) share phase 1; a
    # phase-1 setting (the KL weight) makes every trial train both phases.
    out = str(tmp_path / "phase_2")
    space = {"pixel_weight": [0.0, 1.0], "ema": [True, False]}
    search_savae(
        out=out,
        space=space,
        max_trials=2,
        epochs=1,
        objective="within_class_spread",  # the variety of generations
        **SMALL,
    )
    rows = read_csv(os.path.join(out, "results.csv"))
    assert len(vec_fits) == 1 and len(rows) == 2
    spreads = [float(row["within_class_spread"]) for row in rows]
    assert spreads == sorted(spreads, reverse=True)  # maximised: best first
    table = open(os.path.join(out, "results.md")).read()
    assert "`within_class_spread` (maximise)" in table
    assert {"pixel_weight", "ema"} <= set(rows[0])
    assert not os.path.exists(os.path.join(out, "objective_vs_beta.png"))
    best = SAVAE.from_preset(os.path.join(out, "best"))
    assert best.adversarial_decoder.pixel_weight == float(rows[0]["pixel_weight"])
    assert best.adversarial_decoder.decoder_optimizer.use_ema == (
        rows[0]["ema"] == "True"
    )
    out = str(tmp_path / "phase_1")
    space = {"kl_weight": ("log", 0.01, 1.0)}
    search_savae(out=out, space=space, max_trials=2, epochs=1, **SMALL)
    assert len(vec_fits) == 1 + 2  # one phase 1 per trial
    assert not os.path.exists(os.path.join(out, "phase_1"))


@pytest.mark.long
def test_hyperband_honours_epochs_and_initial_epoch(
    tmp_path, vec_fits, monkeypatch, mnist_reference
):
    fits = []
    original = SAVAEHyperModel.fit

    def recorded(self, hp, model, *args, **kwargs):
        phase_2 = model.adversarial_decoder
        before = int(to_numpy(phase_2.optimizer.iterations))
        result = original(self, hp, model, *args, **kwargs)
        after = int(to_numpy(phase_2.optimizer.iterations))
        fits.append((kwargs["initial_epoch"], kwargs["epochs"], before, after))
        return result

    monkeypatch.setattr(SAVAEHyperModel, "fit", recorded)
    search_savae(out=str(tmp_path / "hb"), tuner="hyperband", epochs=3, **SMALL)
    assert len(vec_fits) == 1
    steps = SMALL["train_size"] // SMALL["overrides"]["batch_size"]
    resumed = [f for f in fits if f[0] > 0]
    assert resumed, fits  # Hyperband trained a survivor on
    for initial_epoch, epochs, before, after in fits:
        # a resumed trial starts from its checkpoint, then trains the rest
        assert before == initial_epoch * steps
        assert after - before == (epochs - initial_epoch) * steps


def test_bad_search_arguments_get_clear_errors(tmp_path):
    for space, message in [
        ({"beta": ("log", 0.0, 0.1)}, "`space\\['beta'\\]` must be a list of choices"),
        ({"beta": ("float", 0.1, 0.1)}, "low < high"),
        ({"gamma": []}, "`space\\['gamma'\\]` has no choices"),
        ({"seconds": [1, 2]}, "'seconds', which is not a SAVAE setting"),
        ({}, "`space` must be a non-empty dict"),
    ]:
        with pytest.raises(ValueError, match=message):
            check_space(space)
        with pytest.raises(ValueError, match=message):
            search_savae(out=str(tmp_path), space=space)
    with pytest.raises(ValueError, match="Unknown `objective` 'fid'; expected one"):
        search_savae(out=str(tmp_path), objective="fid")
    with pytest.raises(ValueError, match="Unknown `tuner` 'grid'; expected one of"):
        search_savae(out=str(tmp_path), tuner="grid")
    with pytest.raises(ValueError, match="Unknown preset 'nope' for SAVAE"):
        search_savae(out=str(tmp_path), preset="nope")
