"""Presets: every one builds and trains, overrides, errors, trained presets."""

import json
import time

import keras
import numpy as np
import pytest

import savae_keras as sk
from savae_keras import SAVAE
from savae_keras import RecursiveAutoencoderGAN
from savae_keras.models.savae_presets import TINY_NETWORKS
from savae_keras.presets import parse_setting
from savae_keras.presets import resolve_preset
from tests.conftest import to_numpy

# Each preset's networks and budget cut down to a few steps: the tiny
# networks at the preset's own latent size, one epoch per phase.
TINY_BUDGET = {"encoder_epochs": 1, "decoder_epochs": 1, "batch_size": 32}
SIGNAL_SHAPE = (32, 2)


def _images(n, shape=(28, 28, 1), seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, *shape)).astype("uint8")


@pytest.mark.parametrize("name", sorted(SAVAE.presets))
def test_every_savae_preset_builds_and_trains_a_few_steps(name, mnist_slice):
    (x, y), (x_test, _) = mnist_slice
    x, y = x[:64], y[:64].copy()
    y[16:] = -1  # unlabeled images too (the few-labels preset needs them)
    shape = {}
    if name == "signals":  # a 1-D preset: series of (length, channels)
        x = np.random.default_rng(0).uniform(0, 1, (64, *SIGNAL_SHAPE))
        x, x_test = x.astype("float32"), x[:3].astype("float32")
        shape = {"input_shape": SIGNAL_SHAPE, "num_classes": 10}
    model = SAVAE.from_preset(name, **TINY_NETWORKS, **TINY_BUDGET, **shape, seed=0)
    settings = SAVAE.presets[name]
    config = model.get_config()
    for key, value in settings["config"].items():
        if key not in TINY_NETWORKS:  # the preset's own settings, kept
            expected = list(value) if isinstance(value, tuple) else value
            assert config[key] == expected, key
    ema = settings["optimizer"].get("ema", False)
    assert model.vec.optimizer.use_ema == ema
    assert model.adversarial_decoder.decoder_optimizer.use_ema == ema
    assert not model.adversarial_decoder.critic_optimizer.use_ema
    history = model.fit(x, y, verbose=0)
    assert isinstance(history, keras.callbacks.History)
    assert history.steps == {"phase_1": 2, "phase_2": 2}
    assert np.isfinite(history.history["phase_2_loss"][-1])
    assert model.reconstruct(x_test[:3]).shape == (3, *model.image_shape)


@pytest.mark.parametrize("name", sorted(RecursiveAutoencoderGAN.presets))
def test_every_recursive_gan_preset_builds_and_trains_a_step(name):
    settings = RecursiveAutoencoderGAN.presets[name]
    model = RecursiveAutoencoderGAN.from_preset(name, epochs=1, seed=0)
    assert model.recursion_steps == settings["config"]["recursion_steps"]
    rates = {
        "autoencoder_optimizer": 0.005,  # the report's
        "discriminator_optimizer": 0.001,
    }
    for optimizer, rate in rates.items():
        value = to_numpy(getattr(model, optimizer).learning_rate)
        assert value == pytest.approx(rate)
    x = _images(64, model.image_shape)
    history = model.fit(x, verbose=0)
    assert len(history.epoch) == 1  # the override of the preset's epochs
    assert int(to_numpy(model.optimizer.iterations)) == 1  # the preset's batch 64


def test_overrides_merge_dicts_set_dotted_keys_and_replace_the_budget():
    settings = resolve_preset(
        SAVAE,
        "quick",
        {
            "critic_options.conv_filters": [4, 4, 4],
            "encoder_options": {"dense_units": [8, 8, 8]},
            "seconds": 20.0,
        },
    )
    # the preset's normalised critic is kept, one entry added
    assert settings["config"]["critic_options"] == {
        "spectral_normalization": True,
        "conv_filters": [4, 4, 4],
    }
    assert settings["config"]["encoder_options"] == {"dense_units": [8, 8, 8]}
    assert settings["fit"]["seconds"] == 20.0 and settings["fit"]["vec_share"] == 0.7
    # a budget override replaces the preset's whole budget
    tiny = resolve_preset(SAVAE, "tiny", {"seconds": 5.0})
    assert tiny["fit"]["encoder_epochs"] is None and tiny["fit"]["seconds"] == 5.0
    assert SAVAE.presets["tiny"]["fit"]["encoder_epochs"] == 1  # not changed
    assert parse_setting("beta=0.01") == ("beta", 0.01)
    assert parse_setting("warm_start=true") == ("warm_start", True)
    assert parse_setting("augmentation=weak") == ("augmentation", "weak")
    assert parse_setting("feature_weights=[1, 1, 1]") == ("feature_weights", [1, 1, 1])


def test_unknown_names_and_bad_overrides_get_clear_errors(tmp_path):
    with pytest.raises(
        ValueError, match="Unknown preset 'best' for SAVAE. Its presets"
    ):
        SAVAE.from_preset("best")
    with pytest.raises(ValueError, match="Unknown setting 'betta'.*'beta'"):
        SAVAE.from_preset("tiny", betta=0.1)
    with pytest.raises(ValueError, match="`beta` must be a number >= 0"):
        SAVAE.from_preset("tiny", beta=-1.0)
    with pytest.raises(ValueError, match="`ema` must be True or False; received 'no'"):
        SAVAE.from_preset("tiny", ema="no")
    with pytest.raises(ValueError, match="`learning_rate` must be > 0"):
        SAVAE.from_preset("tiny", learning_rate=0.0)
    with pytest.raises(ValueError, match="`beta` is not a dict of options"):
        SAVAE.from_preset("tiny", **{"beta.x": 1})
    with pytest.raises(ValueError, match="`model` must be one of"):
        sk.list_presets("VAE")
    with pytest.raises(ValueError, match="a setting must read `key=value`"):
        parse_setting("beta")
    model = SAVAE.from_preset("tiny", vec_share=1.0)  # checked when fit uses it
    with pytest.raises(ValueError, match="`vec_share` must be > 0 and < 1"):
        model.fit(_images(8), np.arange(8) % 10, verbose=0)
    SAVAE.from_preset("tiny").save_to_preset(tmp_path / "trained")
    with pytest.raises(ValueError, match="is a trained model: it loads as saved"):
        SAVAE.from_preset(tmp_path / "trained", beta=0.1)
    with pytest.raises(
        ValueError, match="holds a SAVAE, not a RecursiveAutoencoderGAN"
    ):
        RecursiveAutoencoderGAN.from_preset(tmp_path / "trained")
    with pytest.raises(TypeError, match="SAVAE got unexpected arguments \\['betta'\\]"):
        SAVAE(betta=0.1)


def test_list_presets_names_every_preset_with_its_description():
    listed = sk.list_presets()
    assert set(listed) == {"SAVAE", "RecursiveAutoencoderGAN"}
    assert listed["SAVAE"] == {
        name: preset["description"] for name, preset in SAVAE.presets.items()
    }
    assert {"paper", "quick", "latent100", "few_labels", "signals", "tiny"} <= set(
        listed["SAVAE"]
    )
    assert all(len(text) > 20 for text in listed["SAVAE"].values())


def test_the_paper_preset_is_algorithms_1_and_2():
    model = SAVAE.from_preset("paper")
    config = model.get_config()
    defaults = SAVAE().get_config()
    config.pop("name"), defaults.pop("name")
    assert config == defaults  # no option beyond the paper
    assert model.adversarial_decoder.n_critic == 5 and model.latent_dim == 2
    assert not model.vec.optimizer.use_ema


@pytest.mark.every_backend
def test_a_trained_preset_loads_back_with_the_same_outputs(tmp_path, mnist_slice):
    (x, y), (x_test, _) = mnist_slice
    model = SAVAE.from_preset("tiny", seed=0)
    model.fit(x[:128], y[:128], verbose=0)
    folder = tmp_path / "my_savae"
    model.save_to_preset(folder, metadata={"dataset": "mnist", "fcd": 1.5})
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json",
        "metadata.json",
        "model.weights.h5",
    ]
    metadata = sk.presets.load_metadata(folder)
    assert metadata["dataset"] == "mnist" and metadata["fcd"] == 1.5
    assert metadata["backend"] == keras.backend.backend()
    loaded = SAVAE.from_preset(folder)
    np.testing.assert_array_equal(
        loaded.reconstruct(x_test[:8]), model.reconstruct(x_test[:8])
    )
    np.testing.assert_array_equal(
        loaded.classify(x_test[:8]), model.classify(x_test[:8])
    )
    labels = np.arange(10)
    np.testing.assert_array_equal(
        loaded.generate(10, labels=labels, seed=3),
        model.generate(10, labels=labels, seed=3),
    )
    for got, want in zip(
        loaded.adversarial_decoder.critic_optimizer.variables,
        model.adversarial_decoder.critic_optimizer.variables,
    ):
        np.testing.assert_array_equal(to_numpy(got), to_numpy(want))
    assert loaded.fit_defaults == model.fit_defaults
    assert loaded.preset_settings["name"] == "tiny"


def test_a_run_file_repeats_its_preset(tmp_path):
    settings = resolve_preset(SAVAE, "quick", {"beta": 0.02, "seconds": 30.0})
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"dataset": "mnist", "preset": settings, "runs": []}))
    again = SAVAE.from_preset(str(path))
    assert again.adversarial_decoder.beta == 0.02
    assert again.fit_defaults["seconds"] == 30.0
    config = again.get_config()
    expected = SAVAE.from_preset("quick", beta=0.02).get_config()
    config.pop("name"), expected.pop("name")
    assert config == expected
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"runs": []}))
    with pytest.raises(ValueError, match="holds no preset"):
        SAVAE.from_preset(str(bad))


@pytest.mark.every_backend
def test_fit_with_seconds_stops_within_its_budget_and_returns_a_history(
    capsys, monkeypatch
):
    # A clock that ticks one second each time it is read: `fit` reads it when
    # a phase starts and ends, its `TimeLimit` at the start and after each
    # batch. Phase 1 gets half of 6 s: it stops after the batch that ends 3 s
    # in (the third), ends at 5 s; phase 2 gets the 1 s left: one batch.
    ticks = iter(range(10_000))
    monkeypatch.setitem(sk.callbacks.TimeLimit.CLOCKS, "wall", lambda: next(ticks))
    x, y = _images(512), np.arange(512) % 10
    model = SAVAE.from_preset("tiny", seed=0)
    history = model.fit(x, y, seconds=6.0, vec_share=0.5, verbose=1)
    assert isinstance(history, keras.callbacks.History)
    assert history.steps == {"phase_1": 3, "phase_2": 1}
    assert history.seconds == {"phase_1": 5, "phase_2": 3}
    assert history.history["phase_1_loss"] and history.history["phase_2_loss"]
    assert len(history.epoch) == len(history.phase_1.epoch) + len(history.phase_2.epoch)
    out = capsys.readouterr().out
    assert "phase 1: 3.0 s (wall clock)" in out and "phase 2: 1.0 s" in out
    assert "Epoch 1/" not in out  # progress in seconds, not epochs
    # epochs cap a seconds budget
    capped = SAVAE.from_preset("tiny", seed=0)
    history = capped.fit(
        x[:256], y[:256], seconds=1e6, encoder_epochs=1, decoder_epochs=1, verbose=0
    )
    assert history.steps == {"phase_1": 4, "phase_2": 4}  # batch 64 (tiny's)


def test_fit_with_seconds_on_the_real_clock_spends_its_budget():
    x, y = _images(256), np.arange(256) % 10
    model = SAVAE.from_preset("tiny", seed=0)
    start = time.perf_counter()
    history = model.fit(x, y, seconds=4.0, verbose=0)
    assert history.seconds["phase_1"] >= 4.0 / 3
    assert history.seconds["phase_1"] + history.seconds["phase_2"] >= 4.0
    assert time.perf_counter() - start >= 4.0


def test_fit_takes_the_presets_budget_unless_given_one():
    x, y = _images(64), np.arange(64) % 10
    model = SAVAE.from_preset("tiny", encoder_epochs=2, decoder_epochs=1, seed=0)
    history = model.fit(x, y, verbose=0)
    assert len(history.phase_1.epoch) == 2 and len(history.phase_2.epoch) == 1
    assert history.steps == {"phase_1": 2, "phase_2": 1}  # batch 64 (tiny's)
    history = model.fit(x, y, decoder_epochs=2, verbose=0)  # a budget of its own
    assert len(history.phase_1.epoch) == 1  # the other phase: one epoch
    assert len(history.phase_2.epoch) == 2
    history = model.fit(x, y, encoder_epochs=0, decoder_epochs=1, verbose=0)
    assert history.phase_1 is None and history.seconds["phase_1"] == 0.0
    history = model.fit(x, y, encoder_epochs=1, decoder_epochs=0, verbose=0)
    assert history.phase_2 is None and "phase_2_loss" not in history.history


def test_copy_phase_1_shares_a_trained_phase_1():
    x, y = _images(64), np.arange(64) % 10
    first = SAVAE.from_preset("tiny", seed=0)
    first.fit(x, y, verbose=0)
    other = SAVAE.from_preset("tiny", beta=0.1, seed=0).copy_phase_1(first)
    for got, want in zip(other.vec.get_weights(), first.vec.get_weights()):
        np.testing.assert_array_equal(got, want)
    history = other.fit(x, y, encoder_epochs=0, decoder_epochs=1, verbose=0)
    assert history.phase_1 is None
    for got, want in zip(other.vec.get_weights(), first.vec.get_weights()):
        np.testing.assert_array_equal(got, want)  # frozen in phase 2


def test_cosine_decay_takes_phase_1_to_zero():
    x, y = _images(64), np.arange(64) % 10
    model = SAVAE.from_preset("tiny", seed=0)
    model.fit(x, y, encoder_epochs=2, decoder_epochs=1, cosine_decay=True, verbose=0)
    optimizer = model.vec.optimizer
    assert isinstance(optimizer._learning_rate, keras.optimizers.schedules.CosineDecay)
    assert optimizer._learning_rate.decay_steps == 2  # 2 epochs of 1 batch
    assert float(to_numpy(optimizer.learning_rate)) == pytest.approx(0.0, abs=1e-9)


def test_cosine_decay_with_seconds_alone_decays_over_phase_1s_seconds(monkeypatch):
    ticks = iter(range(10_000))  # one second each time a clock is read
    monkeypatch.setitem(sk.callbacks.TimeLimit.CLOCKS, "wall", lambda: next(ticks))
    x, y = _images(512), np.arange(512) % 10
    model = SAVAE.from_preset("tiny", seed=0)
    rates = []

    class Rate(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            rates.append(float(to_numpy(self.model.optimizer.learning_rate)))

    def fit():  # phase 1 gets half of 40 s
        model.fit(
            x,
            y,
            seconds=40.0,
            vec_share=0.5,
            cosine_decay=True,
            verbose=0,
            encoder_callbacks=[Rate()],
        )

    fit()
    optimizer = model.vec.optimizer
    assert not isinstance(
        optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule
    )
    # Phase 1's 20 s: the decay reads the clock after each batch, the
    # `TimeLimit` after it, so batch k ends at 2k - 1 s of the phase and sets
    # the rate of batch k + 1 for t = 2k - 1, until the budget is spent at
    # batch 10. `Rate` runs before the decay: it sees each batch's own rate.
    lr0 = 0.001
    points = [min(int(100 * (2 * k - 1) / 20), 100) for k in range(1, 11)]
    set_after = [lr0 * 0.5 * (1 + np.cos(np.pi * p / 100)) for p in points]
    np.testing.assert_allclose(rates, [lr0, *set_after[:-1]], rtol=1e-5)
    assert set_after[-1] < 0.01 * lr0  # at t = 19 s, the last batch's end
    # `fit` ends with the compiled rate back: a second call trains again
    assert float(to_numpy(optimizer.learning_rate)) == pytest.approx(lr0)
    kernels = [w for w in model.vec.weights if w.path.endswith("kernel")]
    before = [to_numpy(w).copy() for w in kernels]
    fit()
    assert rates[10] == pytest.approx(lr0)  # its first batch's rate
    moved = max(float(np.max(np.abs(to_numpy(w) - b))) for w, b in zip(kernels, before))
    assert moved > 1e-4


def test_the_examples_check_every_setting_before_any_training(monkeypatch, capsys):
    from savae_keras.experiments import savae as experiment

    plans = []
    monkeypatch.setattr(
        experiment, "sweep", lambda plan: plans.append(plan) or ([], {})
    )
    monkeypatch.setattr(experiment, "report", lambda plan, rows, data: plan)
    argv = ["--preset", "latent100", "--set", "beta=0.02", "--set", "seconds=60"]
    experiment.example_main("mnist", argv)
    (plan,) = plans
    assert plan["preset"]["name"] == "latent100"
    assert plan["preset"]["config"]["beta"] == 0.02
    assert plan["preset"]["fit"]["seconds"] == 60 and plan["latent_dims"] == (100,)
    assert (plan["betas"], plan["gammas"]) == ((0.02,), (0.1,))
    for bad in (["--set", "bogus=1"], ["--set", "beta=-1"], ["--preset", "best"]):
        with pytest.raises(SystemExit):
            experiment.example_main("mnist", bad)
    assert len(plans) == 1  # none of the bad ones reached training
    assert "Unknown setting 'bogus'" in capsys.readouterr().err
