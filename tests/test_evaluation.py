"""evaluate_generative on every model, the figures, callbacks and the report."""

import json
import os

import keras
import matplotlib.image
import numpy as np
import pytest

from savae_keras import SAVAE
from savae_keras import VAE
from savae_keras import RecursiveAutoencoderGAN
from savae_keras import VariationalEncoderClassifier
from savae_keras import report as report_module
from savae_keras.callbacks import CosineDecayOverTime
from savae_keras.callbacks import ImageGridCallback
from savae_keras.callbacks import LatentSpaceCallback
from savae_keras.callbacks import TimeLimit
from savae_keras.data import load_dataset
from savae_keras.metrics import evaluate_generative
from savae_keras.metrics import frechet_distance
from savae_keras.metrics import precision_recall
from savae_keras.metrics import within_class_spread
from savae_keras.plots import plot_beta_gamma_grid
from savae_keras.plots import plot_generations
from savae_keras.plots import plot_history
from savae_keras.plots import plot_latent_grid
from savae_keras.plots import plot_latent_space
from savae_keras.plots import plot_reconstruction_pairs
from savae_keras.plots import plot_side_by_side
from savae_keras.plots import save_image_grid
from tests.conftest import to_numpy
from tests.helpers import TINY
from tests.helpers import VEC_OPTIONS


@pytest.fixture(scope="module")
def savae(data_dir):
    """A tiny SAVAE trained once; the tests read it and never train it."""
    x, y = load_dataset("mnist", "train")
    model = SAVAE(latent_dim=2, n_critic=1, seed=0, **TINY)
    model.compile()
    model.fit(
        x[:512], y[:512], batch_size=64, encoder_epochs=1, decoder_epochs=1, verbose=0
    )
    return model


def png_size(path):
    """(width, height) in pixels of a PNG file."""
    assert os.path.getsize(path) > 1000
    height, width = matplotlib.image.imread(path).shape[:2]
    return width, height


KEYS = {
    "dataset",
    "split",
    "num_samples",
    "seed",
    "reference_test_accuracy",
    "reference_accuracy_on_samples",
    "mse",
    "bce",
    "psnr",
    "ssim",
    "fcd_reconstructions",
    "label_consistency_reconstructions",
    "fcd_prior_samples",
    "fcd_conditional_samples",
    "label_consistency_generations",
    "vec_accuracy",
    *(
        f"{name}_{kind}"
        for name in ("precision", "recall", "density", "coverage")
        for kind in ("prior", "conditional")
    ),
    "within_class_spread",
}


@pytest.mark.slow(torch=50)
def test_evaluate_savae_against_its_networks(savae, mnist_reference):
    results = evaluate_generative(
        savae, "mnist", num_samples=300, seed=1, reference=mnist_reference
    )
    assert (
        set(results) == KEYS and results["num_samples"] == 300 and results["seed"] == 1
    )
    for key in KEYS - {"dataset", "split"}:
        assert np.isfinite(results[key]), key
    assert 0 <= results["label_consistency_generations"] <= 1
    # The same numbers computed here, through the networks, not the model's
    # reconstruct / classify methods that evaluate_generative calls.
    images, labels = load_dataset("mnist", "test")
    chosen = np.sort(np.random.default_rng(1).choice(len(images), 300, replace=False))
    x, y = images[chosen].astype("float32") / 255.0, labels[chosen]
    z_mean = savae.encoder.predict(x, verbose=0)[0]
    reconstructions = savae.decoder.predict(z_mean, verbose=0)
    real = mnist_reference.features(x)
    assert results["fcd_reconstructions"] == pytest.approx(
        frechet_distance(real, mnist_reference.features(reconstructions)), rel=1e-4
    )
    assert results["mse"] == pytest.approx(np.mean((x - reconstructions) ** 2), 1e-4)
    predictions = savae.classifier.predict(z_mean, verbose=0).argmax(-1)
    assert results["vec_accuracy"] == pytest.approx(np.mean(predictions == y))
    wanted = np.arange(300) % 10
    generated = mnist_reference.features(savae.generate(300, labels=wanted, seed=1))
    assert results["within_class_spread"] == pytest.approx(
        within_class_spread(real, y, generated, wanted)
    )
    assert results["recall_conditional"] == pytest.approx(
        precision_recall(real, generated)["recall"]
    )


@pytest.mark.slow(torch=75)
def test_evaluate_vae_and_recursive_gan(mnist_reference, mnist_slice):
    (x, y), _ = mnist_slice
    vae = VAE(
        latent_dim=2,
        num_classes=10,
        encoder_options=TINY["encoder_options"],
        decoder_options=TINY["decoder_options"],
    )
    vae.compile()
    vae.fit(x, epochs=1, verbose=0)
    results = evaluate_generative(
        vae, "mnist", num_samples=300, reference=mnist_reference
    )
    assert results["fcd_prior_samples"] > 0 and results["vec_accuracy"] is None
    assert results["label_consistency_generations"] is None  # no class prior fitted yet
    vae.fit_class_prior(x, y)
    results = evaluate_generative(
        vae, "mnist", num_samples=300, reference=mnist_reference
    )
    assert 0 <= results["label_consistency_generations"] <= 1

    gan = RecursiveAutoencoderGAN(recursion_steps=1)
    gan.compile()
    gan.fit(x, epochs=1, verbose=0)
    results = evaluate_generative(
        gan, "mnist", num_samples=300, reference=mnist_reference
    )
    assert (
        results["fcd_prior_samples"] is None
        and results["label_consistency_generations"] is None
    )
    assert np.isfinite(results["fcd_reconstructions"]) and 0 <= results["ssim"] <= 1


def test_evaluate_rejects_too_few_or_too_many_samples(savae, mnist_reference):
    with pytest.raises(ValueError, match="Too few samples.*at least 256"):
        evaluate_generative(savae, "mnist", num_samples=100, reference=mnist_reference)
    with pytest.raises(ValueError, match="`num_samples` is 20000 but the test split"):
        evaluate_generative(
            savae, "mnist", num_samples=20000, reference=mnist_reference
        )


def test_long_row_titles_widen_the_grid_to_fit(tmp_path):
    images = np.zeros((4, 8, 8, 1), "float32")
    short = save_image_grid(images, tmp_path / "a.png", ncols=2, row_titles=["AE", "b"])
    long = save_image_grid(
        images, tmp_path / "b.png", ncols=2, row_titles=["recursive autoencoder", "b"]
    )
    assert png_size(short) == (320, 200)  # 1.2 inches of titles, two images
    assert png_size(long) == (420, 200)  # 21 characters: 2.2 inches


def test_figures_are_pngs_of_the_expected_size(savae, mnist_slice, tmp_path):
    (x, y), _ = mnist_slice
    images = x[:10].astype("float32") / 255.0
    z_mean = savae.encode(x)
    assert png_size(save_image_grid(images, tmp_path / "grid.png", ncols=5)) == (
        500,
        200,
    )
    assert png_size(
        plot_reconstruction_pairs(
            images, savae.reconstruct(images), tmp_path / "pairs.png"
        )
    ) == (1120, 250)
    generations = savae.generate(30, labels=np.repeat([0, 1, 2], 10), seed=0)
    assert png_size(
        plot_generations(generations, tmp_path / "gen.png", ["0", "1", "2"])
    ) == (1120, 350)
    assert png_size(plot_latent_space(z_mean, y, tmp_path / "latent.png")) == (700, 600)
    assert png_size(
        plot_latent_space(np.random.normal(size=(50, 5)), y[:50], tmp_path / "pca.png")
    ) == (700, 600)
    assert png_size(
        plot_latent_grid(savae.decode, tmp_path / "latent_grid.png", n=5)
    ) == (300, 350)
    rows = {(0.001, 0.0): images[:4], (0.1, 0.1): images[:4]}
    assert png_size(plot_beta_gamma_grid(images[:4], rows, tmp_path / "bg.png")) == (
        520,
        350,
    )
    # 1 input row, 2 reconstruction rows, 3 class rows of 5 + 5 generations
    side = plot_side_by_side(
        images,
        {"SAVAE": images, "VAE": images},
        {"SAVAE": generations[:15], "VAE": generations[15:]},
        tmp_path / "side.png",
        ["0", "1", "2"],
    )
    assert png_size(side) == (1120, 650)
    history = {"loss": [3.0, 2.0], "val_loss": [3.5, 2.5], "kl_loss": [1.0, 0.5]}
    assert png_size(plot_history(history, tmp_path / "history.png")) == (800, 300)


@pytest.mark.every_backend  # JAX: a callback's predict donates fit's state
@pytest.mark.parametrize("phase", ["decoder", "vae"])
def test_callbacks_write_figures_during_fit(phase, savae, mnist_slice, tmp_path):
    (x, y), _ = mnist_slice
    if phase == "decoder":
        # A copy: the module's model stays as trained for the other tests.
        savae.save(tmp_path / "copy.keras")
        copy = keras.models.load_model(tmp_path / "copy.keras")
        with pytest.raises(ValueError, match="`vec` is trainable"):
            copy.adversarial_decoder.fit(x[:64], verbose=0)  # a clear error
        copy.vec.trainable = False
        model = copy.adversarial_decoder
    else:
        model = VAE(
            latent_dim=2,
            encoder_options=TINY["encoder_options"],
            decoder_options=TINY["decoder_options"],
        )
        model.compile()
    grid = ImageGridCallback(x[:6], tmp_path / "grids", every=2, num_generated=8)
    latent = LatentSpaceCallback(x[:200], y[:200], tmp_path / "latent", every=1)
    model.fit(x[:128], batch_size=64, epochs=3, verbose=0, callbacks=[grid, latent])
    assert [os.path.basename(p) for p in grid.written] == ["epoch_002.png"]
    assert len(latent.written) == 3 and all(
        png_size(p) == (700, 600) for p in latent.written
    )
    assert png_size(grid.written[0])[0] == 920  # 8 columns and the row titles


def test_image_callback_needs_a_reconstructing_model(mnist_slice, tmp_path):
    (x, y), _ = mnist_slice
    vec = VariationalEncoderClassifier(latent_dim=2, **VEC_OPTIONS)
    vec.compile()
    with pytest.raises(TypeError, match="needs a model with `reconstruct\\(\\)`"):
        vec.fit(
            x[:64], y[:64], verbose=0, callbacks=[ImageGridCallback(x[:2], tmp_path)]
        )
    with pytest.raises(ValueError, match="`every` must be a positive integer"):
        ImageGridCallback(x[:2], tmp_path, every=0)


def test_time_limit_stops_fit_after_the_batch_that_spends_the_budget(mnist_slice):
    (x, _), _ = mnist_slice
    vae = VAE(latent_dim=2, seed=0, **{k: TINY[k] for k in ("encoder_options",)})
    vae.compile()
    limit = TimeLimit(1e-6)
    history = vae.fit(x, batch_size=32, epochs=5, verbose=0, callbacks=[limit])
    assert len(history.epoch) == 1 and limit.batches == 1
    limit = TimeLimit(3600)  # a budget that does not bind: every batch runs
    vae.fit(x[:64], batch_size=32, epochs=2, verbose=0, callbacks=[limit])
    assert limit.batches == 4
    with pytest.raises(ValueError, match="`seconds`"):
        TimeLimit(0)
    with pytest.raises(ValueError, match="`clock` must be one of \\('wall', 'cpu'\\)"):
        TimeLimit(1, clock="gpu")


def test_time_limit_on_the_cpu_clock_does_not_count_sleep(monkeypatch):
    """A process that waits (the machine busy elsewhere) spends no CPU budget."""
    import time

    import keras

    limit = TimeLimit(0.5, clock="cpu")
    limit.set_model(keras.Sequential())
    limit.model.stop_training = False  # as fit sets it
    limit.on_train_begin()
    time.sleep(0.6)  # wall-clock passes, this process's CPU time does not
    limit.on_train_batch_end(0)
    assert not limit.model.stop_training
    start = time.process_time()
    while time.process_time() - start < 0.6:
        pass  # CPU time passes
    limit.on_train_batch_end(1)
    assert limit.model.stop_training and limit.batches == 2


@pytest.mark.every_backend  # JAX: the rate must reach the step inside `fit`
def test_cosine_decay_over_time_sets_the_rate_the_next_step_uses(
    mnist_slice, monkeypatch
):
    """lr(t) = lr₀ · ½ (1 + cos(π t / T)) at `points` fractions of T; the
    step after a near-zero rate barely moves the weights."""
    (x, y), _ = mnist_slice
    now = [0.0]
    monkeypatch.setitem(TimeLimit.CLOCKS, "wall", lambda: now[0])
    vec = VariationalEncoderClassifier(latent_dim=2, seed=0, **VEC_OPTIONS)
    vec.compile(optimizer=keras.optimizers.Adam(0.01))
    jumps = iter([1.0, 97.0, 2.0])  # the clock after batches 1, 2, 3: 1, 98, 100
    weights = [[to_numpy(w).copy() for w in vec.trainable_weights]]
    rates = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            now[0] += next(jumps)  # before the decay reads the clock

    class Watch(keras.callbacks.Callback):
        # After the decay: on JAX, reading the weights synchronises fit's
        # state into the variables, which would undo a rate the decay set
        # without synchronising first.
        def on_train_batch_end(self, batch, logs=None):
            if hasattr(vec, "jax_state_sync"):
                vec.jax_state_sync()
            weights.append([to_numpy(w).copy() for w in vec.trainable_weights])
            rates.append(float(to_numpy(vec.optimizer.learning_rate)))

    limit = TimeLimit(100.0)
    decay = CosineDecayOverTime(limit, points=50)
    vec.fit(
        x,
        y,
        batch_size=32,
        epochs=1,
        verbose=0,
        callbacks=[Clock(), decay, Watch(), limit],
    )
    # t / T = 0.01 → point 0 (the rate unchanged), 0.98 → point 49, 1 → 0
    expected = [0.01, 0.01 * 0.5 * (1 + np.cos(np.pi * 49 / 50)), 0.0]
    np.testing.assert_allclose(rates, expected, rtol=1e-6, atol=1e-12)
    assert len(weights) == 4  # the budget stops fit after the third batch
    # `fit` ends with the compiled rate back
    assert float(to_numpy(vec.optimizer.learning_rate)) == pytest.approx(0.01)

    def moved(step):
        return max(
            float(np.max(np.abs(u - v)))
            for u, v in zip(weights[step], weights[step - 1])
        )

    # Adam moves a weight by about lr per step: steps 1 and 2 at 0.01, step
    # 3 at 0.01 · 0.001 (a rate that did not reach the step moves it as far)
    assert 2e-3 < moved(1) <= 0.011
    assert 2e-3 < moved(2) <= 0.011
    assert moved(3) < 1e-4


def test_cosine_decay_over_time_checks_its_arguments():
    with pytest.raises(TypeError, match="`time_limit` must be a savae_keras"):
        CosineDecayOverTime(30.0)
    with pytest.raises(ValueError, match="`points`"):
        CosineDecayOverTime(TimeLimit(30.0), points=0)
    vec = VariationalEncoderClassifier(latent_dim=2, seed=0, **VEC_OPTIONS)
    schedule = keras.optimizers.schedules.CosineDecay(0.01, 10)
    vec.compile(optimizer=keras.optimizers.Adam(schedule))
    decay = CosineDecayOverTime(TimeLimit(30.0))
    decay.set_model(vec)
    with pytest.raises(ValueError, match="a schedule here"):
        decay.on_train_begin()


@pytest.mark.slow(torch=80)
def test_report_command_writes_markdown_and_figures(savae, mnist_reference, tmp_path):
    """`python -m savae_keras.report ...`, run in-process (the module's
    `__main__` calls `main()`: checked here)."""
    path = tmp_path / "savae.keras"
    savae.save(path)
    out = tmp_path / "report"
    source = open(report_module.__file__).read()
    assert source.rstrip().endswith('if __name__ == "__main__":\n    main()')
    report_module.main(
        [
            "--model",
            str(path),
            "--dataset",
            "mnist",
            "--out",
            str(out),
            "--num-samples",
            "300",
        ]
    )
    report = (out / "report.md").read_text()
    assert "| FCD of reconstructions |" in report and "| VEC test accuracy |" in report
    for name in (
        "reconstructions.png",
        "prior_samples.png",
        "generations.png",
        "latent_space.png",
        "latent_grid.png",
    ):
        assert f"]({name})" in report and (out / name).stat().st_size > 1000
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_samples"] == 300 and np.isfinite(metrics["fcd_prior_samples"])
