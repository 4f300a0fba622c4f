"""The recursive autoencoder GAN: recursion, updates, losses, errors."""

import keras
import numpy as np
import pytest

from savae_keras import RecursiveAutoencoderGAN
from savae_keras.losses import reconstruction_error
from savae_keras.networks import build_critic
from savae_keras.networks import build_decoder
from savae_keras.networks import build_discriminator
from savae_keras.networks import build_encoder
from savae_keras.networks import build_mnist_autoencoder
from tests.conftest import to_numpy
from tests.helpers import deterministic_weights
from tests.helpers import same
from tests.helpers import snapshot


def small_networks(shape=(28, 28, 1)):
    encoder, decoder = build_mnist_autoencoder(shape, latent_dim=8, filters=(4, 8, 8))
    return {
        "encoder": encoder,
        "decoder": decoder,
        "discriminator": build_discriminator(shape, units=(16, 8, 8)),
    }


def images(n=32, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, 28, 28, 1)).astype("float32")


@pytest.mark.every_backend  # counted while each backend traces its step
@pytest.mark.parametrize("game_schedule", ["alternate", "report"])
def test_a_training_step_runs_the_recursion_once_per_update(game_schedule):
    """The discriminator's step and the autoencoder's loss share one pass;
    the report's schedule adds the autoencoder's own step before them."""
    model = RecursiveAutoencoderGAN(
        recursion_steps=2, game_schedule=game_schedule, seed=0, **small_networks()
    )
    model.compile()
    calls, original = [], model.decoder.call
    model.decoder.call = lambda *a, **k: calls.append(1) or original(*a, **k)
    model.train_on_batch(images(8))
    passes = 2 if game_schedule == "report" else 1
    assert len(calls) == 3 * passes  # k + 1 decoder calls a pass


def test_recursion_feeds_the_output_back():
    model = RecursiveAutoencoderGAN(recursion_steps=3, seed=0, **small_networks())
    calls = []
    original = model.decoder.call
    model.decoder.call = lambda *a, **k: calls.append(1) or original(*a, **k)
    x = images(4)
    outputs = model.recursive_outputs(x)
    assert len(outputs) == 4 and len(calls) == 4  # k + 1 decoder calls
    model.decoder.call = original
    current = x
    for j in range(3):
        current = to_numpy(model.decoder(model.encoder(current)))
        np.testing.assert_allclose(to_numpy(outputs[j]), current, atol=1e-5)
        np.testing.assert_allclose(model.reconstruct(x, steps=j), current, atol=1e-5)
    np.testing.assert_allclose(model.reconstruct(x), model.reconstruct(x, steps=0))


def test_decode_inverts_encode_as_one_pass_does():
    model = RecursiveAutoencoderGAN(seed=0, **small_networks())
    x = images(4)
    np.testing.assert_allclose(
        model.decode(model.encode(x)), model.reconstruct(x), atol=1e-5
    )
    with pytest.raises(ValueError, match="`code` must hold numbers of shape"):
        model.decode(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.decode(np.full(model.encode(x).shape, np.nan))


def test_each_update_touches_only_its_own_network():
    x = images(64)

    def trained(ae_rate, d_rate):
        keras.utils.set_random_seed(0)
        model = RecursiveAutoencoderGAN(recursion_steps=1, seed=0, **small_networks())
        model.compile(
            autoencoder_optimizer=keras.optimizers.Adam(ae_rate),
            discriminator_optimizer=keras.optimizers.Adam(d_rate),
        )
        before = {
            "ae": snapshot(model.encoder) + snapshot(model.decoder),
            "d": snapshot(model.discriminator),
        }
        model.fit(x, batch_size=16, epochs=1, verbose=0)
        after = {
            "ae": snapshot(model.encoder) + snapshot(model.decoder),
            "d": snapshot(model.discriminator),
        }
        return model, before, after

    model, before, after = trained(0.0, 1e-3)  # only the discriminator learns
    assert same(before["ae"], after["ae"]) and not same(before["d"], after["d"])
    model, before, after = trained(1e-3, 0.0)  # only the autoencoder learns
    assert not same(before["ae"], after["ae"]) and same(before["d"], after["d"])
    for optimizer in (model.autoencoder_optimizer, model.discriminator_optimizer):
        assert int(to_numpy(optimizer.iterations)) == 4  # once per batch
    assert int(to_numpy(model.optimizer.iterations)) == 4


def _constant_model(k, schedule="all", adversarial_weight=0.5, **kwargs):
    """Encoder -> constant code, decoder -> constant sigmoid(c), D = mean + b."""
    inputs = keras.Input((4, 4, 1))
    code = keras.layers.Dense(2)(keras.layers.Flatten()(inputs))
    encoder = keras.Model(inputs, code)
    z = keras.Input((2,))
    pixels = keras.layers.Dense(16, activation="sigmoid")(z)
    decoder = keras.Model(z, keras.layers.Reshape((4, 4, 1))(pixels))
    d_in = keras.Input((4, 4, 1))
    discriminator = keras.Model(
        d_in, keras.layers.Dense(1)(keras.layers.Flatten()(d_in))
    )
    model = RecursiveAutoencoderGAN(
        (4, 4, 1),
        recursion_steps=k,
        step_schedule=schedule,
        adversarial_weight=adversarial_weight,
        encoder=encoder,
        decoder=decoder,
        discriminator=discriminator,
        **kwargs,
    )
    encoder.set_weights([np.zeros((16, 2), "float32"), np.ones(2, "float32")])
    decoder.set_weights([np.zeros((2, 16), "float32"), np.full(16, 0.3, "float32")])
    discriminator.set_weights(
        [np.full((16, 1), 1 / 16, "float32"), np.array([-0.2], "float32")]
    )
    return model


@pytest.mark.every_backend
def test_losses_equal_hand_computed_values():
    x = np.stack([np.full((4, 4, 1), 0.9), np.full((4, 4, 1), 0.1)]).astype("float32")
    sigmoid = lambda t: 1 / (1 + np.exp(-t))
    out = sigmoid(0.3)  # every recursive output, every pixel
    rec = -(x * np.log(out) + (1 - x) * np.log(1 - out)).reshape(2, -1).mean(axis=1)
    real_logit, fake_logit = x.reshape(2, -1).mean(axis=1) - 0.2, out - 0.2
    k = 2
    model = _constant_model(k, adversarial_weight=0.5)
    terms = model.autoencoder_terms(x, model.schedule_weights(2), training=False)
    gen = -np.log(sigmoid(fake_logit))
    assert float(to_numpy(terms["reconstruction_loss"])) == pytest.approx(
        (k + 1) * rec.mean(), rel=1e-5
    )
    assert float(to_numpy(terms["adversarial_loss"])) == pytest.approx(
        (k + 1) * gen, rel=1e-5
    )
    assert float(to_numpy(terms["loss"])) == pytest.approx(
        (k + 1) * (rec.mean() + 0.5 * gen), rel=1e-5
    )
    outputs = model.recursive_outputs(x)
    d_loss, d_accuracy = model.discriminator_terms(
        x, outputs, model.schedule_weights(2), training=False
    )
    expected = np.mean(-np.log(sigmoid(real_logit))) - np.log(1 - sigmoid(fake_logit))
    assert float(to_numpy(d_loss)) == pytest.approx(expected, rel=1e-5)
    # real logits 0.7 (right) and -0.1 (wrong); fake logit 0.374 (wrong)
    assert float(to_numpy(d_accuracy)) == pytest.approx(0.5 * (0.5 + 0.0))


def test_cycle_schedule_gives_each_sample_one_step():
    model = _constant_model(2, schedule="cycle")
    weights = to_numpy(model.schedule_weights(5, offset=1))
    np.testing.assert_array_equal(weights.argmax(axis=1), [1, 2, 0, 1, 2])
    assert weights.sum() == 5
    x = images(8)[:, :4, :4]
    terms = model.autoencoder_terms(
        x, model.schedule_weights(8, offset=0), training=False
    )
    rec = to_numpy(reconstruction_error(x, model.recursive_outputs(x)[0]))
    assert float(to_numpy(terms["reconstruction_loss"])) == pytest.approx(
        rec.mean(), rel=1e-5
    )


def test_without_recursion_or_gan_it_is_a_plain_autoencoder():
    networks = small_networks()
    model = RecursiveAutoencoderGAN(
        recursion_steps=0, adversarial_weight=0.0, **networks
    )
    x = images(32)
    with pytest.raises(ValueError, match="must call `compile\\(\\)` before `evaluate"):
        model.evaluate(x, verbose=0)
    model.compile()
    logs = model.evaluate(x, batch_size=32, verbose=0, return_dict=True)
    plain = keras.Sequential([networks["encoder"], networks["decoder"]])
    plain.compile(loss="binary_crossentropy")
    assert logs["loss"] == pytest.approx(
        plain.evaluate(x, x, batch_size=32, verbose=0), rel=1e-4
    )
    assert logs["loss"] == pytest.approx(logs["reconstruction_loss"])


def test_stop_gradient_between_steps_cuts_the_recursive_path():
    x = images(8)
    model = RecursiveAutoencoderGAN(
        recursion_steps=1,
        adversarial_weight=0.0,
        stop_gradient_between_steps=True,
        **small_networks(),
    )
    variables = model.encoder.trainable_variables + model.decoder.trainable_variables
    only_last = np.array([[0.0, 1.0]] * 8, "float32")  # train on x'(1) only

    def loss_fn():
        return model.autoencoder_terms(x, only_last)["loss"], None

    _, _, grads = model.compute_gradients(loss_fn, variables)
    first_pass = to_numpy(model.autoencode(x))

    def detached():  # the same loss with x'(0) given as a constant input
        return ops_mean_error(x, model.autoencode(first_pass, training=True)), None

    _, _, expected = model.compute_gradients(detached, variables)
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(to_numpy(g), to_numpy(e), rtol=1e-4, atol=1e-7)


def ops_mean_error(x, x_hat):
    return keras.ops.mean(reconstruction_error(x, x_hat))


def test_fit_logs_and_accepts_the_savae_networks():
    shape = (28, 28, 1)
    model = RecursiveAutoencoderGAN(
        recursion_steps=1,
        encoder=build_encoder(shape, 4, conv_filters=(4,) * 6, dense_units=(8, 8, 8)),
        decoder=build_decoder(shape, 4, dense_units=(8, 8), conv_filters=(4,) * 6),
        discriminator=build_critic(shape, conv_filters=(4, 4, 4), dense_units=(8,) * 4),
    )
    model.compile()
    history = model.fit(
        images(32), batch_size=16, epochs=1, verbose=0, validation_data=(images(16),)
    )
    assert set(history.history) >= {
        "loss",
        "reconstruction_loss",
        "adversarial_loss",
        "discriminator_loss",
        "discriminator_accuracy",
        "val_loss",
    }
    assert all(np.isfinite(v[0]) for v in history.history.values())
    assert model.encode(images(3)).shape == (3, 4)


def test_report_defaults_for_both_image_sizes():
    mnist = RecursiveAutoencoderGAN((28, 28, 1))
    assert mnist.encoder.output_shape == (None, 16)
    cifar = RecursiveAutoencoderGAN((32, 32, 3))
    assert cifar.encoder.output_shape == (None, 4, 4, 64)

    def count(model, kind):
        return sum(isinstance(layer, kind) for layer in model.layers)

    convolutions = (keras.layers.Conv2D, keras.layers.Conv2DTranspose)
    assert count(cifar.encoder, convolutions) == count(cifar.decoder, convolutions) == 7
    assert count(cifar.discriminator, keras.layers.Dense) == 4
    mnist.compile()
    assert float(to_numpy(mnist.autoencoder_optimizer.learning_rate)) == pytest.approx(
        0.005
    )
    assert float(
        to_numpy(mnist.discriminator_optimizer.learning_rate)
    ) == pytest.approx(0.001)


def test_the_report_presets_normalise_and_train_at_the_reports_rates():
    for name in RecursiveAutoencoderGAN.presets:
        if name.startswith("report_"):
            model = RecursiveAutoencoderGAN.from_preset(name)
            assert model.batch_norm, name
            rate = model.autoencoder_optimizer.learning_rate
            assert float(to_numpy(rate)) == pytest.approx(0.005), name
    plain = RecursiveAutoencoderGAN.from_preset("report_autoencoder", batch_norm=False)
    assert not plain.batch_norm
    assert not any(
        isinstance(layer, keras.layers.BatchNormalization)
        for layer in plain.encoder.layers
    )


@pytest.mark.every_backend
@pytest.mark.parametrize("bias, updated", [(-0.7, False), (-0.2, True)])
def test_report_schedule_freezes_a_discriminator_that_is_right(bias, updated):
    """D(x) = mean(x) + bias on images of 0.9 and outputs of about
    sigmoid(0.3) = 0.574: bias -0.7 judges both right (accuracy 1, frozen),
    bias -0.2 calls the outputs real (accuracy 0.5, it steps)."""
    model = _constant_model(0, game_schedule="report")
    model.discriminator.set_weights(
        [np.full((16, 1), 1 / 16, "float32"), np.array([bias], "float32")]
    )
    model.compile(
        autoencoder_optimizer=keras.optimizers.Adam(1e-3),
        discriminator_optimizer=keras.optimizers.Adam(1e-3),
    )
    before = snapshot(model.discriminator)
    x = np.full((8, 4, 4, 1), 0.9, "float32")
    logs = model.fit(x, batch_size=8, epochs=1, verbose=0).history
    assert logs["discriminator_updated"] == [float(updated)]
    assert logs["discriminator_accuracy"][0] == (0.5 if updated else 1.0)
    assert same(before, snapshot(model.discriminator)) is not updated
    assert int(to_numpy(model.discriminator_optimizer.iterations)) == int(updated)
    assert int(to_numpy(model.autoencoder_optimizer.iterations)) == 2  # rec, game
    assert int(to_numpy(model.optimizer.iterations)) == 1
    evaluated = model.evaluate(x, batch_size=8, verbose=0, return_dict=True)
    assert "discriminator_updated" in evaluated
    again = RecursiveAutoencoderGAN.from_config(model.get_config())
    assert again.game_schedule == "report"


@pytest.mark.every_backend  # the moving statistics inside each backend's step
def test_batch_norm_normalises_every_hidden_layer_and_trains_its_statistics():
    """`batch_norm=True`: a BatchNormalization before every hidden
    activation of the default autoencoder (none before the sigmoid, none in
    the discriminator), rebuilt from the config, and its moving statistics
    move under `fit`."""

    def normalised(network):
        layers = network.layers
        acts = [
            i
            for i, layer in enumerate(layers)
            if isinstance(layer, keras.layers.LeakyReLU)
        ]
        norms = [x for x in layers if isinstance(x, keras.layers.BatchNormalization)]
        before = [
            isinstance(layers[i - 1], keras.layers.BatchNormalization) for i in acts
        ]
        return len(norms), all(before)

    cifar = RecursiveAutoencoderGAN((32, 32, 3), batch_norm=True)
    assert normalised(cifar.encoder) == (7, True)
    assert normalised(cifar.decoder) == (6, True)
    assert normalised(cifar.discriminator) == (0, False)
    assert normalised(RecursiveAutoencoderGAN((32, 32, 3)).encoder)[0] == 0

    model = RecursiveAutoencoderGAN((28, 28, 1), batch_norm=True, seed=0)
    assert normalised(model.encoder) == (5, True)  # 3 convolutions, 2 dense
    assert normalised(model.decoder) == (5, True)  # 3 dense, 2 transposed
    again = RecursiveAutoencoderGAN.from_config(model.get_config())
    assert again.batch_norm and normalised(again.decoder) == (5, True)
    model.compile()
    norm = model.encoder.get_layer("conv_1_bn")
    assert not np.any(to_numpy(norm.moving_mean))
    model.fit(images(16), batch_size=8, epochs=1, verbose=0)
    assert np.any(to_numpy(norm.moving_mean))


def test_batch_norm_statistics_move_at_pytorchs_rate():
    """One training step moves the moving mean from 0 to 0.1 x the batch's
    mean, as PyTorch's BatchNorm2d does (Keras' default would move it 0.01)."""
    model = RecursiveAutoencoderGAN(
        (28, 28, 1), batch_norm=True, recursion_steps=0, adversarial_weight=0.0, seed=0
    )
    norm = model.encoder.get_layer("conv_1_bn")
    feed = keras.Model(model.encoder.inputs, norm.input)
    x = images(8)
    expected = 0.1 * to_numpy(feed(x)).mean(axis=(0, 1, 2))
    model.compile()
    model.fit(x, batch_size=8, epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(
        to_numpy(norm.moving_mean), expected, rtol=1e-3, atol=1e-6
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_norm": "yes"}, "`batch_norm` must be True or False"),
        (
            {"batch_norm": True, "encoder": build_mnist_autoencoder()[0]},
            "`batch_norm=True` builds the default autoencoder",
        ),
        ({"recursion_steps": -1}, "`recursion_steps` must be an integer >= 0"),
        ({"reconstruction_loss": "l1"}, "`reconstruction_loss` must be one of"),
        ({"step_schedule": "random"}, "`step_schedule` must be one of"),
        ({"game_schedule": "epoch"}, "`game_schedule` must be one of"),
        ({"adversarial_weight": -0.1}, "`adversarial_weight` must be a number >= 0"),
        (
            {"input_shape": (32, 32, 3), "latent_dim": 8},
            "`latent_dim` applies to the MNIST",
        ),
        ({"input_shape": (20, 20, 1)}, "No default networks"),
        (
            {"discriminator": build_discriminator((32, 32, 3))},
            "`discriminator` must map",
        ),
        (
            {"decoder": build_mnist_autoencoder(latent_dim=4)[1]},
            "`decoder` must map the encoder's code",
        ),
    ],
)
def test_bad_arguments_get_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RecursiveAutoencoderGAN(**kwargs)


def test_bad_images_and_steps_get_clear_errors():
    model = RecursiveAutoencoderGAN(**small_networks())
    model.compile()
    with pytest.raises(ValueError, match="`x` must have image shape \\(28, 28, 1\\)"):
        model.fit(np.zeros((4, 32, 32, 3), "float32"), verbose=0)
    with pytest.raises(ValueError, match="`steps` must be an integer >= 0"):
        model.reconstruct(images(2), steps=-1)


@pytest.mark.every_backend
def test_cross_backend_reference():
    """Same weights, batch and schedule: the same losses on every backend."""
    x = images(48, seed=5)
    model = RecursiveAutoencoderGAN(
        recursion_steps=2, step_schedule="cycle", **small_networks()
    )
    deterministic_weights(model, seed=7)
    # Outputs far from 0.5 (BCE of a 0.5 output is ln 2 for any image): the
    # decoder's output bias drawn from N(0, 2).
    bias = model.decoder.weights[-1]
    bias.assign(np.random.default_rng(3).normal(0, 2, bias.shape).astype("float32"))
    model.cycle_offset = lambda: 1
    model.compile()
    fit = model.fit(x, batch_size=16, shuffle=False, verbose=0).history
    logs = model.evaluate(x, batch_size=16, verbose=0, return_dict=True)
    measured = {f"fit_{k}": v[-1] for k, v in fit.items()}
    measured.update({f"eval_{k}": v for k, v in logs.items()})
    for name, expected in REFERENCE.items():
        assert measured[name] == pytest.approx(expected, rel=1e-4, abs=1e-7), name
    # not the loss of a constant 0.5 output
    assert abs(measured["eval_reconstruction_loss"] - np.log(2)) > 0.05


# Computed on TensorFlow; JAX and PyTorch agree within the 1e-4 tolerance.
REFERENCE = {
    "eval_adversarial_loss": 1.3503537,
    "eval_discriminator_accuracy": 0.5,
    "eval_discriminator_loss": 1.2664376,
    "eval_loss": 1.9814879,
    "eval_reconstruction_loss": 1.9801375,
    "fit_adversarial_loss": 1.1080794,
    "fit_discriminator_accuracy": 0.5,
    "fit_discriminator_loss": 1.3526472,
    "fit_loss": 2.0525172,
    "fit_reconstruction_loss": 2.0514090,
}
