"""SAVAE's two phases and the VAE baseline, trained with plain `fit`."""

import keras
import numpy as np
import pytest

from savae_keras import SAVAE
from savae_keras import VAE
from savae_keras import AdversarialDecoder
from savae_keras import VariationalEncoderClassifier
from savae_keras.data import ImageBatches
from savae_keras.data import make_dataset
from tests.conftest import to_numpy
from tests.helpers import DECODER_OPTIONS
from tests.helpers import TINY
from tests.helpers import VEC_OPTIONS
from tests.helpers import constant_decoder
from tests.helpers import deterministic_weights
from tests.helpers import on_every_backend
from tests.helpers import same
from tests.helpers import snapshot

BACKEND = keras.backend.backend()
# Each backend's default ("auto": XLA on JAX, graph on TensorFlow, eager on
# PyTorch), plus XLA on TensorFlow.
JIT_MODES = ["auto"] + (["xla"] if BACKEND == "tensorflow" else [])
# TensorFlow's XLA mode runs with `make test SUITE=full` (its compilation is
# minutes on a 2-core CPU); `make test` checks each backend's default mode.
EVERY_BACKEND_JIT_MODES = on_every_backend(JIT_MODES, {"auto"})


def trained_vec(x, y, **kwargs):
    vec = VariationalEncoderClassifier(latent_dim=2, seed=0, **VEC_OPTIONS, **kwargs)
    vec.compile(optimizer=keras.optimizers.Adam(1e-3))
    vec.fit(x, y, batch_size=64, epochs=1, verbose=0)
    vec.trainable = False  # phase 2 trains on a frozen VEC
    return vec


# -- phase 1 ---------------------------------------------------------------
@pytest.mark.long
def test_vec_learns_within_one_short_epoch(mnist_slice, data_dir):
    from savae_keras.data import load_dataset

    x, y = load_dataset("mnist", "train")
    x_test, y_test = load_dataset("mnist", "test")
    vec = VariationalEncoderClassifier(latent_dim=2, seed=0)  # the paper's networks
    vec.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = vec.fit(x[:8192], y[:8192], batch_size=64, epochs=1, verbose=0)
    for values in history.history.values():
        assert np.all(np.isfinite(values))
    accuracy = np.mean(vec.classify(x_test[:1000]).argmax(axis=1) == y_test[:1000])
    assert accuracy > 0.3, f"test accuracy {accuracy:.3f} after one epoch (chance 0.1)"
    assert (
        int(to_numpy(vec.trained_steps))
        == 128
        == int(to_numpy(vec.optimizer.iterations))
    )


def test_vec_semi_supervised_labels_and_unlabeled_batches(mnist_slice):
    (x, y), _ = mnist_slice
    y = y.copy()
    y[::2] = -1  # half unlabeled
    y[:64] = -1  # the first batch has no label at all
    vec = VariationalEncoderClassifier(latent_dim=2, seed=0, **VEC_OPTIONS)
    vec.compile()
    history = vec.fit(x, y, batch_size=64, epochs=2, shuffle=False, verbose=0)
    assert set(history.history) == {
        "loss",
        "kl_loss",
        "classification_loss",
        "accuracy",
    }
    for values in history.history.values():
        assert np.all(np.isfinite(values))
    # A batch without labels: the classification term is 0, the KL still trains.
    terms = vec.compute_losses(x[:64], np.full(64, -1), training=False)
    loss, kl = float(terms["loss"]), float(terms["kl_loss"])
    assert float(terms["classification_loss"]) == 0.0
    assert np.isfinite(loss) and loss == pytest.approx(0.1 * kl)
    # A whole set without labels is refused (it would report 0 % accuracy).
    with pytest.raises(ValueError, match="every label is -1"):
        vec.evaluate(x[:64], np.full(64, -1), verbose=0)


@pytest.mark.parametrize("jit_mode", JIT_MODES)
def test_vec_trains_on_datasets_with_callbacks_and_validation(mnist_slice, jit_mode):
    (x, y), (x_test, y_test) = mnist_slice
    vec = VariationalEncoderClassifier(latent_dim=2, seed=0, **VEC_OPTIONS)
    vec.compile(jit_compile=True if jit_mode == "xla" else "auto")
    seen = []
    callbacks = [
        keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda b, logs: seen.append(b)
        ),
        keras.callbacks.EarlyStopping(monitor="val_loss", mode="min", patience=5),
    ]
    history = vec.fit(
        make_dataset(x, y, batch_size=128, seed=0),
        validation_data=ImageBatches(x_test, y_test, batch_size=128),
        epochs=2,
        callbacks=callbacks,
        verbose=0,
    )
    assert len(seen) == 8
    assert {"val_loss", "val_accuracy", "val_kl_loss"} <= set(history.history)
    probabilities = vec.predict(x_test[:10].astype("float32") / 255, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    z_mean, z_log_var = vec.posterior(x_test[:10])
    assert z_mean.shape == z_log_var.shape == (10, 2)
    np.testing.assert_array_equal(vec.encode(x_test[:10]), z_mean)
    assert [layer.name for layer in vec.feature_layers] == [
        "feature_1",
        "feature_2",
        "feature_3",
    ]


# -- phase 2 ---------------------------------------------------------------
@pytest.mark.slow(torch=30, tensorflow=185, jax=110)
@pytest.mark.parametrize("jit_mode", EVERY_BACKEND_JIT_MODES)
def test_decoder_phase_freezes_the_vec_and_steps_each_optimizer(mnist_slice, jit_mode):
    (x, y), _ = mnist_slice
    vec = trained_vec(x[:128], y[:128])
    decoder = AdversarialDecoder(vec, n_critic=3, seed=0, **DECODER_OPTIONS)
    decoder.compile(
        decoder_optimizer=keras.optimizers.Adam(1e-3),
        critic_optimizer=keras.optimizers.Adam(1e-3),
        jit_compile=True if jit_mode == "xla" else "auto",
    )
    encoder_before, classifier_before = snapshot(vec.encoder), snapshot(vec.classifier)
    decoder_before, critic_before = snapshot(decoder.decoder), snapshot(decoder.critic)
    history = decoder.fit(x[:256], batch_size=64, epochs=2, verbose=0)  # no labels

    assert same(encoder_before, snapshot(vec.encoder))
    assert same(classifier_before, snapshot(vec.classifier))
    assert not same(decoder_before, snapshot(decoder.decoder))
    assert not same(critic_before, snapshot(decoder.critic))
    steps = 2 * 256 // 64
    assert int(to_numpy(decoder.decoder_optimizer.iterations)) == steps
    assert int(to_numpy(decoder.critic_optimizer.iterations)) == 2 * 3 * steps
    assert int(to_numpy(decoder.optimizer.iterations)) == steps
    # Adam's moments were carried from step to step, not restarted.
    for optimizer in (decoder.decoder_optimizer, decoder.critic_optimizer):
        assert any(np.abs(to_numpy(m)).max() > 0 for m in optimizer._momentums)
    assert set(history.history) == {
        "loss",
        "reconstruction_loss",
        "adversarial_loss",
        "latent_loss",
        "critic_loss",
    }
    for values in history.history.values():
        assert np.all(np.isfinite(values))


def test_decoder_losses_combine_as_equation_8(mnist_slice):
    (x, y), _ = mnist_slice
    vec = trained_vec(x[:64], y[:64])
    decoder = AdversarialDecoder(vec, beta=0.3, gamma=0.7, seed=0, **DECODER_OPTIONS)
    images = x[:16].astype("float32") / 255
    z_mean, _, features = decoder.encode_features(images)
    terms = decoder.compute_decoder_losses(
        z_mean, features, decoder.critic(images), training=False
    )
    total = (
        to_numpy(terms["reconstruction_loss"])
        + 0.3 * to_numpy(terms["adversarial_loss"])
        + 0.7 * to_numpy(terms["latent_loss"])
    )
    np.testing.assert_allclose(to_numpy(terms["loss"]), total, rtol=1e-6)
    vec_terms = vec.compute_losses(images, y[:16], training=False)
    np.testing.assert_allclose(
        to_numpy(vec_terms["loss"]),
        0.1 * to_numpy(vec_terms["kl_loss"])
        + to_numpy(vec_terms["classification_loss"]),
        rtol=1e-6,
    )


def test_pixel_weight_adds_the_images_squared_error_to_equation_9(mnist_slice):
    """`pixel_weight=α₀` makes the image itself a feature layer: L_rec gains
    α₀·mean((X − X̂)²), in training and in the anomaly score alike."""
    (x, y), _ = mnist_slice
    vec = trained_vec(x[:64], y[:64])
    plain = AdversarialDecoder(vec, seed=0, **DECODER_OPTIONS)
    pixel = AdversarialDecoder(
        vec, decoder=plain.decoder, critic=plain.critic, pixel_weight=2.0, seed=0
    )
    assert pixel.reconstruction_weights == (2.0, 1.0, 0.1, 0.01)
    assert plain.reconstruction_weights == plain.feature_weights
    images = x[:16].astype("float32") / 255
    x_hat = to_numpy(plain.decoder(plain.encode_features(images)[0]))
    pixel_term = 2.0 * np.mean((images - x_hat) ** 2)
    per_sample = 2.0 * np.mean((images - x_hat) ** 2, axis=(1, 2, 3))

    def reconstruction_loss(model):
        z_mean, _, features = model.reconstruction_features(images)
        terms = model.compute_decoder_losses(
            z_mean, features, model.critic(images), training=False
        )
        return to_numpy(terms["reconstruction_loss"])

    np.testing.assert_allclose(
        reconstruction_loss(pixel), reconstruction_loss(plain) + pixel_term, rtol=1e-5
    )
    np.testing.assert_allclose(
        pixel.anomaly_components(images)["feature_error"],
        plain.anomaly_components(images)["feature_error"] + per_sample,
        rtol=1e-5,
    )
    assert AdversarialDecoder.from_config(pixel.get_config()).pixel_weight == 2.0


def _numpy_diversity(z, x_hat, groups=None, epsilon=1e-5):
    """The mode-seeking term over neighbouring pairs, in numpy; with
    `groups`, neighbours after a stable sort by group."""
    if groups is not None:
        order = np.argsort(groups, kind="stable")
        z, x_hat = z[order], x_hat[order]
    n = len(z)
    d_x = np.abs(x_hat - np.roll(x_hat, 1, 0)).reshape(n, -1).mean(1)
    d_z = np.abs(z - np.roll(z, 1, 0)).reshape(n, -1).mean(1)
    return np.mean(1 / (d_x / (d_z + epsilon) + epsilon))


def test_diversity_weight_adds_the_mode_seeking_term_to_equation_8(mnist_slice):
    """`diversity_weight=δ`: equation (8) gains δ·L_div of the decoded batch,
    logged as `diversity_loss`; and the term acts, training a decoder whose
    outputs move more with its codes than the same steps without it."""
    (x, y), _ = mnist_slice
    vec = trained_vec(x[:64], y[:64])
    plain = AdversarialDecoder(vec, seed=0, **DECODER_OPTIONS)
    diverse = AdversarialDecoder(
        vec, decoder=plain.decoder, critic=plain.critic, diversity_weight=0.5, seed=0
    )
    images = x[:16].astype("float32") / 255
    z_mean, _, features = plain.reconstruction_features(images)
    scores = plain.critic(images)
    x_hat = to_numpy(plain.decoder(z_mean))
    expected = _numpy_diversity(to_numpy(z_mean), x_hat)
    terms = {
        name: model.compute_decoder_losses(z_mean, features, scores, training=False)
        for name, model in (("plain", plain), ("diverse", diverse))
    }
    assert "diversity_loss" not in terms["plain"]
    np.testing.assert_allclose(
        to_numpy(terms["diverse"]["diversity_loss"]), expected, rtol=1e-4
    )
    np.testing.assert_allclose(
        to_numpy(terms["diverse"]["loss"]),
        to_numpy(terms["plain"]["loss"]) + 0.5 * expected,
        rtol=1e-4,
    )
    assert AdversarialDecoder.from_config(diverse.get_config()).diversity_weight == 0.5

    # `diversity_pairs="class"`: the pairs are neighbours among the codes
    # the frozen classifier puts in one class.
    by_class = AdversarialDecoder(
        vec,
        decoder=plain.decoder,
        critic=plain.critic,
        diversity_weight=0.5,
        diversity_pairs="class",
        seed=0,
    )
    classes = to_numpy(vec.classifier(z_mean)).argmax(-1)
    assert len(set(classes)) > 1
    expected_by_class = _numpy_diversity(to_numpy(z_mean), x_hat, classes)
    assert abs(expected_by_class - expected) > 1e-3 * expected  # pairs differ
    by_class_terms = by_class.compute_decoder_losses(
        z_mean, features, scores, training=False
    )
    np.testing.assert_allclose(
        to_numpy(by_class_terms["diversity_loss"]), expected_by_class, rtol=1e-4
    )
    config = AdversarialDecoder.from_config(by_class.get_config()).get_config()
    assert config["diversity_pairs"] == "class"

    # The same steps from the same weights, with and without a strong term.
    after = {}
    for weight, pairs in ((0.0, "batch"), (1.0, "batch"), (1.0, "class")):
        model = AdversarialDecoder(
            vec,
            diversity_weight=weight,
            diversity_pairs=pairs,
            n_critic=1,
            seed=0,
            **DECODER_OPTIONS,
        )
        deterministic_weights(model.decoder)
        deterministic_weights(model.critic, seed=1)
        model.compile()
        history = model.fit(x[:256] / 255, batch_size=32, epochs=1, verbose=0)
        assert ("diversity_loss" in history.history) == bool(weight)
        after[weight, pairs] = _numpy_diversity(
            to_numpy(z_mean), to_numpy(model.decoder(z_mean))
        )
    # Without the term in the loss the decoders would end identical.
    assert after[1.0, "batch"] < 0.75 * after[0.0, "batch"]
    assert after[1.0, "class"] < 0.75 * after[0.0, "batch"]


@pytest.mark.every_backend  # the per-backend staged gradients
@pytest.mark.parametrize("prior_weight", [0.0, 2.0])
def test_prior_weight_adds_the_prior_samples_adversarial_term(
    mnist_slice, prior_weight
):
    """With `prior_weight=ρ` the step's loss is equation (8) plus
    β·ρ·E[(Dis(X) − Dis(Dec(Z_p)))²]; without it, equation (8) alone.

    The decoder's last convolution is zeroed to a bias, so every decoded
    image, of a prior code too, is one known constant image; the critic
    the term uses is the one after the step's critic round, which the
    step leaves as it is.
    """
    (x, y), _ = mnist_slice
    vec = trained_vec(x[:64], y[:64])
    model = AdversarialDecoder(
        vec, beta=5.0, n_critic=1, prior_weight=prior_weight, seed=0, **DECODER_OPTIONS
    )
    pixel = constant_decoder(model.decoder)
    model.compile()
    images = x[:32].astype("float32") / 255
    logs = model.fit(images, batch_size=32, epochs=1, verbose=0).history
    logs = {name: values[0] for name, values in logs.items()}
    assert int(to_numpy(model.critic_optimizer.iterations)) == 2
    equation_8 = (
        logs["reconstruction_loss"]
        + 5.0 * logs["adversarial_loss"]
        + 0.1 * logs["latent_loss"]
    )
    extra = logs["loss"] - equation_8
    if prior_weight:
        decoded = np.full(images.shape, pixel, "float32")
        gap = to_numpy(model.critic(images)) - to_numpy(model.critic(decoded))
        expected = 5.0 * prior_weight * np.mean(gap**2)
        np.testing.assert_allclose(extra, expected, rtol=1e-3)
        assert expected > 1e-3 * abs(logs["loss"])  # the check can see it
    else:
        np.testing.assert_allclose(logs["loss"], equation_8, rtol=1e-5)
    assert AdversarialDecoder.from_config(model.get_config()).prior_weight == (
        prior_weight
    )


@pytest.mark.every_backend  # the per-backend staged gradients
def test_one_decoder_pass_gives_the_gradients_of_two(mnist_slice):
    """Phase 2 decodes once; its gradients are those of decoding again after
    the critic's update, as Algorithm 2 writes it."""
    (x, y), _ = mnist_slice
    vec = trained_vec(x[:64], y[:64])
    model = AdversarialDecoder(vec, seed=0, **DECODER_OPTIONS)
    images = keras.ops.convert_to_tensor(x[:16].astype("float32") / 255)
    z_mean, _, features = model.encode_features(images)
    epsilon_hat = keras.random.normal(keras.ops.shape(z_mean), seed=1)
    start, variables = model.get_weights(), model.decoder.trainable_variables

    def interlude(x_gen):  # one critic step, then Dis(X) for L_adv
        model._critic_update(x_gen, -1.0)
        return keras.ops.stop_gradient(model.critic(images, training=True))

    def loss_fn(x_hat, real_scores):
        terms = model._losses_of_decoded(
            x_hat, z_mean, features, real_scores, epsilon_hat
        )
        return terms["loss"], None

    def gradients(staged):
        model.set_weights(start)
        model.compile(critic_optimizer=keras.optimizers.SGD(0.5))
        if staged:
            forward = lambda: model.decoder(z_mean, training=True)
            return model.compute_staged_gradients(
                forward, interlude, loss_fn, variables
            )[2]
        real_scores = interlude(
            keras.ops.stop_gradient(model.decoder(z_mean, training=True))
        )
        return model.compute_gradients(
            lambda: loss_fn(model.decoder(z_mean, training=True), real_scores),
            variables,
        )[2]

    critic_before = snapshot(model.critic)
    staged = gradients(staged=True)
    assert not same(critic_before, snapshot(model.critic))  # the loss saw it move
    for g, e in zip(staged, gradients(staged=False)):
        np.testing.assert_allclose(to_numpy(g), to_numpy(e), rtol=1e-4, atol=1e-7)


@pytest.mark.every_backend  # counted while each backend traces its step
def test_decoder_step_decodes_once(mnist_slice):
    (x, y), _ = mnist_slice
    vec = trained_vec(x[:64], y[:64])
    model = AdversarialDecoder(vec, n_critic=2, seed=0, **DECODER_OPTIONS)
    model.compile()
    calls, call = [], model.decoder.call
    model.decoder.call = lambda *args, **kwargs: (
        calls.append(1) or call(*args, **kwargs)
    )
    model.train_on_batch(x[:16])
    assert len(calls) == 1


@pytest.mark.slow(torch=80)
def test_decoder_evaluate_and_generation(mnist_slice):
    (x, y), (x_test, y_test) = mnist_slice
    vec = trained_vec(x, y)
    decoder = AdversarialDecoder(
        vec, n_critic=1, critic_target=10.0, seed=0, **DECODER_OPTIONS
    )
    decoder.compile()
    decoder.fit(
        make_dataset(x, y, batch_size=128),
        epochs=1,
        verbose=0,
        validation_data=(x_test[:128],),
    )
    logs = decoder.evaluate(x_test, verbose=0, return_dict=True)
    assert np.isfinite(logs["loss"])
    reconstructions = decoder.reconstruct(x_test[:5])
    assert reconstructions.shape == (5, 28, 28, 1)
    assert 0.0 <= reconstructions.min() and reconstructions.max() <= 1.0
    np.testing.assert_allclose(decoder.generate(4, seed=3), decoder.generate(4, seed=3))
    assert decoder.decode(np.zeros((2, 2), "float32")).shape == (2, 28, 28, 1)
    with pytest.raises(ValueError, match="has not been fitted"):
        decoder.generate(3, labels=1)
    decoder.fit_class_prior(x, y)
    assert decoder.generate(3, labels=[0, 1, 2], seed=0).shape == (3, 28, 28, 1)
    means = to_numpy(decoder.class_prior.means)
    z_mean = decoder.encode(x[y == 1])
    np.testing.assert_allclose(means[1], z_mean.mean(axis=0), atol=1e-4)
    decoder.fit_class_prior(x)  # no labels: the classifier's predictions
    assert to_numpy(decoder.class_prior.counts).sum() == len(x)


def test_vec_fit_with_a_labeled_share_sees_labels_at_every_step(mnist_slice):
    """1 % of the labels: without a share most steps would be pure KL."""
    (x, y), _ = mnist_slice
    labels = np.full(96, -1)
    labels[:3] = y[:3]
    vec = VariationalEncoderClassifier(latent_dim=2, seed=0, **VEC_OPTIONS)
    vec.compile()
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(logs["classification_loss"])

    vec.fit(
        x[:96],
        labels,
        batch_size=16,
        labeled_share=0.25,
        epochs=1,
        verbose=0,
        callbacks=[Record()],
    )
    # 93 unlabeled // 12 a batch whole steps, each with 4 labeled images.
    assert int(to_numpy(vec.trained_steps.value)) == 7 == len(seen)
    assert np.all(np.isfinite(seen)) and seen[0] > 0
    with pytest.raises(ValueError, match="`labeled_share` batches numpy"):
        vec.fit(ImageBatches(x[:96], labels), labeled_share=0.25, verbose=0)


# -- beyond the paper: KL warm-up, a pixel term in phase 1, a warm start -------
@pytest.mark.every_backend  # the step reads trained_steps inside JAX's scope
def test_vec_kl_warmup_ramps_the_kl_weight_linearly(mnist_slice):
    (x, y), _ = mnist_slice
    images = x[:8].astype("float32") / 255
    vec = VariationalEncoderClassifier(
        latent_dim=2, kl_weight=0.2, kl_warmup_steps=4, seed=0, **VEC_OPTIONS
    )
    # λ_t = 0.2·min(1, t/4) at t = trained_steps: 0, 0.1, 0.2, 0.2.
    for step, weight in ((0, 0.0), (2, 0.1), (4, 0.2), (9, 0.2)):
        vec.trained_steps.assign(step)
        terms = vec.compute_losses(images, y[:8], training=False)
        np.testing.assert_allclose(
            to_numpy(terms["loss"]),
            weight * to_numpy(terms["kl_loss"])
            + to_numpy(terms["classification_loss"]),
            rtol=1e-5,
        )
    # Inside fit, each step reads its own t: after 3 steps t = 3.
    vec.trained_steps.assign(0)
    vec.compile()
    vec.fit(x[:48], y[:48], batch_size=16, epochs=1, verbose=0)
    assert int(to_numpy(vec.trained_steps.value)) == 3
    np.testing.assert_allclose(to_numpy(vec.current_kl_weight()), 0.15, rtol=1e-6)
    clone = VariationalEncoderClassifier.from_config(vec.get_config())
    assert clone.kl_warmup_steps == 4
    assert SAVAE(kl_warmup_steps=4, **TINY).vec.kl_warmup_steps == 4


@pytest.mark.every_backend  # augmentation layers and the ramp inside fit
def test_vec_consistency_term_lets_unlabeled_images_teach_the_classifier(
    mnist_slice, tmp_path
):
    (x, y), _ = mnist_slice
    images = x[:8].astype("float32") / 255
    # With SGD a step without gradient leaves a weight exactly as it was.
    # Batch 1 holds labels, batch 2 none: off, the unlabeled batch gives the
    # classifier's weights no gradient (L_cat is 0 there, L_kl does not
    # reach them); on, its pseudo-labels do (τ = 0 keeps them all).
    labels = np.concatenate([y[:8], np.full(8, -1, "int32")])

    def classifier_steps(consistency_weight):
        vec = VariationalEncoderClassifier(
            latent_dim=2,
            consistency_weight=consistency_weight,
            confidence_threshold=0.0,
            seed=0,
            **VEC_OPTIONS,
        )
        vec.compile(optimizer=keras.optimizers.SGD(0.1))
        snapshots = []

        def snapshot(batch, logs):
            if hasattr(vec, "jax_state_sync"):  # JAX keeps the state in fit
                vec.jax_state_sync()
            snapshots.append([w.copy() for w in vec.classifier.get_weights()])

        record = keras.callbacks.LambdaCallback(on_train_batch_end=snapshot)
        history = vec.fit(
            x[:16], labels, batch_size=8, shuffle=False, verbose=0, callbacks=[record]
        )
        return vec, history.history, snapshots

    off, logs, (after_labeled, after_unlabeled) = classifier_steps(0.0)
    trainable = [w.path for w in off.classifier.weights]
    for path, a, b in zip(trainable, after_labeled, after_unlabeled):
        if "moving" not in path:  # BatchNorm statistics follow every batch
            np.testing.assert_array_equal(a, b, err_msg=path)
    assert "consistency_loss" not in logs
    trained, logs, (after_labeled, after_unlabeled) = classifier_steps(1.0)
    moved = [
        float(np.abs(a - b).max())
        for path, a, b in zip(trainable, after_labeled, after_unlabeled)
        if "moving" not in path
    ]
    assert max(moved) > 1e-4
    # The share counts unlabeled images only (batch 1 has none).
    assert logs["consistency_loss"][0] > 0 and logs["confident_share"][0] == 1.0

    # The term by hand: the loss adds μ_t·L_u, with μ_t ramped up.
    vec = VariationalEncoderClassifier(
        latent_dim=2,
        consistency_weight=2.0,
        consistency_rampup_steps=4,
        seed=0,
        **VEC_OPTIONS,
    )
    vec.trained_steps.assign(1)
    terms = vec.compute_losses(images, labels[8:], training=False)
    np.testing.assert_allclose(
        to_numpy(terms["loss"]),
        0.1 * to_numpy(terms["kl_loss"]) + 0.5 * to_numpy(terms["consistency_loss"]),
        rtol=1e-5,
    )
    assert set(np.unique(to_numpy(terms["confident"]))) <= {0.0, 1.0}

    # Saved and loaded with its augmentations and their random states.
    vec = trained
    path = str(tmp_path / "vec.keras")
    vec.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.consistency_weight == 1.0 and loaded.confidence_threshold == 0.0
    assert [layer.name for layer in loaded.strong_augmentation.layers] == [
        layer.name for layer in vec.strong_augmentation.layers
    ]
    generators = vec._saved_seed_generators()
    assert len(generators) == len(loaded._saved_seed_generators()) > 1
    for a, b in zip(generators, loaded._saved_seed_generators()):
        np.testing.assert_array_equal(to_numpy(a.state.value), to_numpy(b.state.value))
    assert SAVAE(consistency_weight=1.0, **TINY).vec.strong_augmentation is not None
    # Algorithm 1 (μ = 0) builds no augmentation.
    paper = VariationalEncoderClassifier(latent_dim=2, **VEC_OPTIONS)
    assert paper.weak_augmentation is None and "consistency_loss" not in paper.trackers


@pytest.mark.every_backend  # a Keras layer inside each backend's train step
def test_vec_augmentation_transforms_every_training_batch(mnist_slice, tmp_path):
    """`augmentation` maps each training batch before all terms of the step.

    A deterministic layer (halving the images) makes the check exact: the
    VEC that halves its batches steps as a plain VEC fitted on halved
    images, with the same weights and the same sampling noise. Inference
    and `evaluate` see the images as given.
    """
    (x, y), _ = mnist_slice
    images = x[:16].astype("float32") / 255

    def fitted(augmentation, inputs):
        vec = VariationalEncoderClassifier(
            latent_dim=2,
            augmentation=augmentation,
            reconstruction_weight=0.5,  # the pixel term sees the batch too
            seed=0,
            **VEC_OPTIONS,
        )
        deterministic_weights(vec)
        vec.compile(optimizer=keras.optimizers.SGD(0.1))
        vec.fit(inputs, y[:16], batch_size=8, shuffle=False, verbose=0)
        return vec

    halving = fitted(keras.layers.Rescaling(0.5), images)
    plain = fitted(None, 0.5 * images)
    unaugmented = fitted(None, images)
    for a, b in zip(halving.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    moved = [
        np.abs(a - c).max()
        for a, c in zip(plain.get_weights(), unaugmented.get_weights())
    ]
    assert max(moved) > 1e-3  # halving the images does change the step
    np.testing.assert_allclose(
        halving.evaluate(images, y[:16], verbose=0),
        plain.evaluate(images, y[:16], verbose=0),
        rtol=1e-5,
    )
    path = str(tmp_path / "vec.keras")
    halving.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.augmentation.get_config()["scale"] == 0.5

    weak = VariationalEncoderClassifier(
        latent_dim=2, augmentation="weak", **VEC_OPTIONS
    )
    assert [type(layer).__name__ for layer in weak.augmentation.layers] == [
        "RandomTranslation"
    ]
    assert (
        VariationalEncoderClassifier(latent_dim=2, **VEC_OPTIONS).augmentation is None
    )
    savae = SAVAE(augmentation=keras.layers.Rescaling(0.5), **TINY)
    clone = SAVAE.from_config(savae.get_config())
    assert clone.vec.augmentation.get_config()["scale"] == 0.5
    assert SAVAE(augmentation="weak", **TINY).get_config()["augmentation"] == "weak"
    with pytest.raises(ValueError, match="`augmentation` must be one of"):
        VariationalEncoderClassifier(latent_dim=2, augmentation="medium")
    with pytest.raises(ValueError, match="transforms images"):
        VariationalEncoderClassifier((32, 2), 3, augmentation="weak")
    with pytest.raises(TypeError, match="`augmentation` must be a Keras layer"):
        VariationalEncoderClassifier(latent_dim=2, augmentation=lambda x: x)


def test_vec_reconstruction_weight_adds_the_pixel_likelihood(mnist_slice):
    (x, y), _ = mnist_slice
    images = x[:8].astype("float32") / 255
    vec = VariationalEncoderClassifier(
        latent_dim=2,
        reconstruction_weight=0.5,
        decoder_options=TINY["decoder_options"],
        seed=0,
        **VEC_OPTIONS,
    )
    terms = vec.compute_losses(images, y[:8], training=False)
    # L_pix by hand: Bernoulli negative log-likelihood summed over pixels.
    x_hat = np.clip(to_numpy(vec.decoder(vec.encode(images))), 1e-7, 1 - 1e-7)
    nll = -(images * np.log(x_hat) + (1 - images) * np.log(1 - x_hat))
    pix = nll.reshape(8, -1).sum(axis=1).mean()
    np.testing.assert_allclose(to_numpy(terms["reconstruction_loss"]), pix, rtol=1e-4)
    np.testing.assert_allclose(
        to_numpy(terms["loss"]),
        0.1 * to_numpy(terms["kl_loss"])
        + to_numpy(terms["classification_loss"])
        + 0.5 * pix,
        rtol=1e-4,
    )
    vec.compile()
    logs = vec.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0).history
    assert set(logs) == {
        "loss",
        "kl_loss",
        "classification_loss",
        "reconstruction_loss",
        "accuracy",
    }
    clone = VariationalEncoderClassifier.from_config(vec.get_config())
    assert clone.reconstruction_weight == 0.5 and len(clone.decoder.weights) == len(
        vec.decoder.weights
    )
    # The paper's recipe (ω = 0) has no decoder and logs no pixel term.
    assert VariationalEncoderClassifier(latent_dim=2, **VEC_OPTIONS).decoder is None
    with pytest.raises(ValueError, match="`reconstruction_weight` is 0"):
        VariationalEncoderClassifier(latent_dim=2, decoder=vec.decoder)
    with pytest.raises(ValueError, match="`reconstruction_weight`"):
        VariationalEncoderClassifier(latent_dim=2, reconstruction_weight=-1)


# On TensorFlow the copy once had no trainable weights (its layers stayed
# frozen) and phase 2 trained only the critic: run it on every backend.
@pytest.mark.every_backend
def test_warm_start_copies_the_vec_decoder_on_the_first_fit_only(mnist_slice):
    (x, y), _ = mnist_slice
    vec = trained_vec(
        x[:64],
        y[:64],
        reconstruction_weight=1.0,
        decoder_options=TINY["decoder_options"],
    )
    decoder = AdversarialDecoder(
        vec, warm_start=True, n_critic=1, seed=0, **DECODER_OPTIONS
    )
    assert not same(snapshot(decoder.decoder), snapshot(vec.decoder))
    trainable = decoder.decoder.trainable_weights
    assert [w.shape for w in trainable] == [
        w.shape
        for w in AdversarialDecoder(vec, **DECODER_OPTIONS).decoder.trainable_weights
    ]
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: seen.append(snapshot(decoder.decoder))
    )
    decoder.compile()
    decoder.fit(x[:64], batch_size=32, epochs=1, verbose=0, callbacks=[record])
    assert same(seen[0], snapshot(vec.decoder))
    decoder.fit(x[:64], batch_size=32, epochs=1, verbose=0, callbacks=[record])
    assert not same(seen[1], snapshot(vec.decoder))  # trained on, not copied
    with pytest.raises(ValueError, match="this VEC has none"):
        AdversarialDecoder(trained_vec(x[:64], y[:64]), warm_start=True)


@pytest.mark.every_backend  # the critic's non-trainable state inside each step
def test_spectrally_normalised_critic_trains_and_saves(mnist_slice, tmp_path):
    from savae_keras.layers import SpectralNormalization

    (x, y), _ = mnist_slice
    critic_options = {**TINY["critic_options"], "spectral_normalization": True}
    decoder = AdversarialDecoder(
        trained_vec(x[:64], y[:64]),
        n_critic=2,
        seed=0,
        decoder_options=TINY["decoder_options"],
        critic_options=critic_options,
    )
    wrapped = [
        layer
        for layer in decoder.critic.layers
        if isinstance(layer, SpectralNormalization)
    ]
    assert len(wrapped) == 8  # three convolutions, four Dense layers, the score
    before = [to_numpy(layer.vector_u) for layer in wrapped]
    decoder.compile()
    history = decoder.fit(x[:64], batch_size=32, epochs=1, verbose=0)
    for values in history.history.values():
        assert np.all(np.isfinite(values))
    for layer, start in zip(wrapped, before):
        u = to_numpy(layer.vector_u)
        assert not np.allclose(u, start)  # the power method ran in the steps
        np.testing.assert_allclose(np.linalg.norm(u), 1.0, rtol=1e-5)
    path = tmp_path / "decoder.keras"
    decoder.save(path)
    loaded = keras.saving.load_model(path)
    images = x[:8].astype("float32") / 255
    np.testing.assert_array_equal(
        to_numpy(loaded.critic(images)), to_numpy(decoder.critic(images))
    )


def _ema(trajectory, momentum):
    """Keras's weight average by hand: the first step's weights, then
    `a ← m·a + (1 − m)·w` after every later step."""
    average = trajectory[0]
    for weights in trajectory[1:]:
        average = [momentum * a + (1 - momentum) * w for a, w in zip(average, weights)]
    return average


def _trainable(network):
    return [to_numpy(w) for w in network.trainable_weights]


@pytest.mark.every_backend  # the optimizers' state inside each backend's step
def test_weight_averaging_ends_both_phases_on_the_averaged_weights(
    mnist_slice, tmp_path
):
    """`Adam(use_ema=True)` in either phase: every step moves the average
    (the JAX step carries it as optimizer state), and `fit` ends on it. In
    phase 2 only the decoder's optimizer averages; the critic keeps its
    last weights."""
    (x, y), _ = mnist_slice
    x, y = x[:96], y[:96]
    adam = lambda ema: keras.optimizers.Adam(1e-3, use_ema=ema, ema_momentum=0.5)  # noqa: E731

    def vec(ema):
        keras.utils.set_random_seed(0)
        model = VariationalEncoderClassifier(latent_dim=2, seed=0, **VEC_OPTIONS)
        model.compile(optimizer=adam(ema))
        return model

    plain, trajectory = vec(False), []
    for start in range(0, 96, 32):  # the same three steps, one per fit
        plain.fit(
            x[start : start + 32], y[start : start + 32], shuffle=False, verbose=0
        )
        trajectory.append(_trainable(plain))
    averaged = vec(True)
    averaged.fit(x, y, batch_size=32, shuffle=False, verbose=0)
    expected = _ema(trajectory, 0.5)  # ¼·w₁ + ¼·w₂ + ½·w₃
    assert not same(expected, trajectory[-1])
    for got, want in zip(_trainable(averaged), expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)

    plain.trainable = False

    def decoder(ema):
        keras.utils.set_random_seed(0)
        model = AdversarialDecoder(plain, n_critic=1, seed=0, **DECODER_OPTIONS)
        model.compile(decoder_optimizer=adam(ema), critic_optimizer=adam(False))
        return model

    raw, decoders = decoder(False), []
    for start in range(0, 96, 32):
        raw.fit(x[start : start + 32], shuffle=False, verbose=0)
        decoders.append(_trainable(raw.decoder))
    averaged = decoder(True)
    averaged.fit(x, batch_size=32, shuffle=False, verbose=0)
    for got, want in zip(_trainable(averaged.decoder), _ema(decoders, 0.5)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    for got, want in zip(_trainable(averaged.critic), _trainable(raw.critic)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    path = tmp_path / "averaged.keras"  # the average is saved with the optimizer
    averaged.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.decoder_optimizer.use_ema and not loaded.critic_optimizer.use_ema
    for got, want in zip(
        loaded.decoder_optimizer.variables, averaged.decoder_optimizer.variables
    ):
        np.testing.assert_array_equal(to_numpy(got), to_numpy(want))


def test_savae_passes_the_pixel_term_and_warm_start_to_its_phases(mnist_slice):
    (x, y), _ = mnist_slice
    model = SAVAE(
        latent_dim=2, n_critic=1, reconstruction_weight=1.0, warm_start=True, **TINY
    )
    model.compile()
    history = model.fit(
        x[:128], y[:128], batch_size=64, encoder_epochs=1, decoder_epochs=1, verbose=0
    )
    assert "reconstruction_loss" in history.phase_1.history
    assert model.adversarial_decoder.warm_start
    clone = SAVAE.from_config(model.get_config())
    assert clone.vec.reconstruction_weight == 1.0 and clone.vec.decoder is not None


# -- both phases -------------------------------------------------------------
@pytest.mark.slow(torch=70)
def test_savae_fit_runs_both_phases(mnist_slice):
    (x, y), (x_test, _) = mnist_slice
    model = SAVAE(latent_dim=2, n_critic=1, seed=0, **TINY)
    model.compile()
    history = model.fit(
        x, y, batch_size=128, encoder_epochs=2, decoder_epochs=1, verbose=0
    )
    assert len(history.phase_1.history["loss"]) == 2
    assert len(history.phase_2.history["critic_loss"]) == 1
    assert int(to_numpy(model.vec.trained_steps)) == 8
    assert to_numpy(model.vec.class_prior.counts).sum() == len(x)
    assert model.generate(10, labels=np.arange(10), seed=0).shape == (10, 28, 28, 1)
    assert model.reconstruct(x_test[:3]).shape == (3, 28, 28, 1)
    assert model.classify(x_test[:3]).shape == (3, 10)
    assert model.predict(x_test[:3].astype("float32") / 255, verbose=0).shape == (
        3,
        28,
        28,
        1,
    )


# -- the baseline ------------------------------------------------------------
@pytest.mark.slow(torch=60)
@pytest.mark.parametrize("reconstruction_loss", ["bce", "mse"])
def test_vae_baseline_trains(mnist_slice, reconstruction_loss):
    (x, y), (x_test, _) = mnist_slice
    vae = VAE(
        latent_dim=2,
        num_classes=10,
        reconstruction_loss=reconstruction_loss,
        seed=0,
        encoder_options=TINY["encoder_options"],
        decoder_options=TINY["decoder_options"],
    )
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = vae.fit(x, batch_size=64, epochs=2, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[1] < losses[0]
    assert set(history.history) == {"loss", "reconstruction_loss", "kl_loss"}
    assert vae.reconstruct(x_test[:4]).shape == (4, 28, 28, 1)
    vae.fit_class_prior(x, y)
    assert vae.generate(2, labels=7, seed=1).shape == (2, 28, 28, 1)
    with pytest.raises(ValueError, match="needs labels"):
        vae.fit_class_prior(x)


# -- errors ------------------------------------------------------------------
def test_bad_inputs_get_clear_errors(mnist_slice):
    (x, y), _ = mnist_slice
    vec = VariationalEncoderClassifier(latent_dim=2, **VEC_OPTIONS)
    with pytest.raises(ValueError, match="must call `compile\\(\\)`"):
        vec.fit(x, y, verbose=0)
    vec.compile()
    with pytest.raises(ValueError, match="`x` must have image shape \\(28, 28, 1\\)"):
        vec.fit(np.zeros((4, 32, 32, 3), "float32"), np.zeros(4, int), verbose=0)
    with pytest.raises(ValueError, match="`y`: values must lie in \\[0, 10\\)"):
        vec.fit(x[:4], np.array([0, 1, 2, 11]), verbose=0)
    with pytest.raises(ValueError, match="NaN"):
        vec.fit(np.full((4, 28, 28, 1), np.nan, "float32"), np.zeros(4, int), verbose=0)
    with pytest.raises(ValueError, match="needs labels"):
        vec.fit(x[:4], verbose=0)
    with pytest.raises(
        ValueError, match="images must have shape \\(batch, 28, 28, 1\\)"
    ):
        vec.fit(
            make_dataset(np.zeros((8, 32, 32, 3), np.uint8), np.zeros(8, int)),
            verbose=0,
        )
    with pytest.raises(TypeError, match="computes its own losses"):
        vec.compile(loss="mse")

    with pytest.raises(
        TypeError, match="`vec` must be a trained VariationalEncoderClassifier"
    ):
        AdversarialDecoder(keras.Sequential())
    with pytest.raises(ValueError, match="`vec` is trainable.*vec.trainable = False"):
        AdversarialDecoder(vec, **DECODER_OPTIONS)
    assert vec.trainable  # refused, not changed behind the user's back
    vec.trainable = False
    untrained = AdversarialDecoder(vec, **DECODER_OPTIONS)
    untrained.compile()
    with pytest.raises(ValueError, match="has not been trained"):
        untrained.fit(x[:8], verbose=0)
    from savae_keras.networks import build_decoder

    with pytest.raises(ValueError, match="`decoder` must map \\(None, 2\\)"):
        AdversarialDecoder(vec, decoder=build_decoder((28, 28, 1), latent_dim=5))
    for kwargs, message in [
        ({"beta": -1.0}, "`beta` must be a number >= 0"),
        ({"n_critic": 0}, "`n_critic` must be an integer >= 1"),
        ({"critic_target": 0.0}, "`critic_target` must be > 0"),
        ({"feature_weights": (1.0, 0.1)}, "2 weights for the VEC's 3 feature layers"),
    ]:
        with pytest.raises(ValueError, match=message):
            AdversarialDecoder(vec, **kwargs)
    with pytest.raises(ValueError, match="must name layers of the encoder"):
        VariationalEncoderClassifier(feature_layers=("conv_1", "nope"), **VEC_OPTIONS)
