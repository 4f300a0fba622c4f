"""The custom layers: ResidualBlock, Sampling, Conv2D, SpectralNormalization."""

import keras
import numpy as np
import pytest
from keras import ops

from savae_keras.layers import ResidualBlock
from savae_keras.layers import Sampling
from savae_keras.layers import reparameterize
from tests.conftest import to_numpy

# Backend mechanics: this file runs on every backend (see the Makefile).
pytestmark = pytest.mark.every_backend


@pytest.mark.parametrize("shape", [(2, 8, 8, 3), (2, 5)])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_residual_block_keeps_shape_and_adds_the_input(shape, batch_norm):
    block = ResidualBlock(batch_norm=batch_norm)
    x = np.random.RandomState(0).randn(*shape).astype("float32")
    assert tuple(block(x).shape) == shape
    # With the second layer zeroed, y = x + BN(0): the identity when BN is
    # in inference mode with fresh statistics (mean 0, variance 1).
    for weight in block.second.weights:
        weight.assign(ops.zeros(weight.shape))
    np.testing.assert_allclose(to_numpy(block(x, training=False)), x, atol=1e-6)


def test_residual_block_hand_computed_dense_case():
    block = ResidualBlock(negative_slope=0.5)
    x = np.array([[1.0, -2.0]], "float32")
    block.build(x.shape)
    block.first.set_weights([np.eye(2, dtype="float32"), np.zeros(2, "float32")])
    block.second.set_weights([2 * np.eye(2, dtype="float32"), np.ones(2, "float32")])
    # h1 = x = [1, -2]; leaky(0.5) -> [1, -1]; h2 = 2*[1, -1] + 1 = [3, -1]
    np.testing.assert_allclose(to_numpy(block(x)), [[4.0, -3.0]], atol=1e-6)


def test_residual_block_rejects_other_ranks():
    # (N, length, C) signals are a rank the block takes (1-D convolutions).
    with pytest.raises(
        ValueError, match="takes \\(N, H, W, C\\) images, \\(N, length, C\\) signals"
    ):
        ResidualBlock()(np.zeros((2, 3, 4, 5, 6), "float32"))


def test_residual_block_config_round_trip():
    block = ResidualBlock(kernel_size=5, batch_norm=True, negative_slope=0.1, name="r")
    clone = ResidualBlock.from_config(block.get_config())
    assert (clone.kernel_size, clone.batch_norm, clone.negative_slope) == (5, True, 0.1)
    assert not clone.zero_init
    zero = ResidualBlock(zero_init=True).get_config()
    assert ResidualBlock.from_config(zero).zero_init


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("shape", [(2, 8, 8, 3), (4, 5)])
def test_zero_init_residual_block_starts_as_the_identity(shape, batch_norm):
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    block = ResidualBlock(batch_norm=batch_norm, zero_init=True)
    np.testing.assert_array_equal(to_numpy(block(x, training=True)), x)
    # ...but it is not a dead branch: its first layer keeps a random kernel.
    assert np.abs(to_numpy(block.first.kernel)).max() > 0
    # The default (the paper's) does not start as the identity.
    plain = ResidualBlock(batch_norm=batch_norm)
    assert np.abs(to_numpy(plain(x, training=True)) - x).max() > 1e-3


def test_reparameterize_hand_computed():
    z = reparameterize(
        np.array([[1.0, -1.0]], "float32"),
        np.array([[0.0, 2 * np.log(3.0)]], "float32"),
        np.array([[0.5, 2.0]], "float32"),
    )
    # sigma = exp(0.5 * log_var) = [1, 3]; z = mu + sigma * eps = [1.5, 5]
    np.testing.assert_allclose(to_numpy(z), [[1.5, 5.0]], rtol=1e-6)


def test_sampling_is_seeded_and_has_the_right_moments():
    mean = np.full((4000, 2), 3.0, "float32")
    log_var = np.full((4000, 2), np.log(4.0), "float32")
    first = to_numpy(Sampling(seed=5)([mean, log_var]))
    second = to_numpy(Sampling(seed=5)([mean, log_var]))
    np.testing.assert_array_equal(first, second)
    assert abs(first.mean() - 3.0) < 0.1 and abs(first.std() - 2.0) < 0.1
    layer = Sampling(seed=5)
    assert not np.array_equal(
        to_numpy(layer([mean, log_var])), to_numpy(layer([mean, log_var]))
    )
    assert Sampling.from_config(layer.get_config()).seed == 5


def test_layers_are_registered_serializable():
    for layer in (ResidualBlock(), Sampling(seed=1)):
        config = keras.saving.serialize_keras_object(layer)
        assert type(keras.saving.deserialize_keras_object(config)) is type(layer)


@pytest.mark.every_backend
def test_batch_normalization_is_kerass_on_one_device_and_loads_anywhere():
    # Keras's layer on one device (its synchronized flag is only decided
    # under a TensorFlow strategy; tests/test_distribution.py checks that),
    # and its config carries no `synchronized`, which only TensorFlow takes.
    from savae_keras.layers import BatchNormalization

    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    ours = BatchNormalization(momentum=0.9)
    theirs = keras.layers.BatchNormalization(momentum=0.9)
    for training in (True, False):
        np.testing.assert_allclose(
            to_numpy(ours(x, training=training)),
            to_numpy(theirs(x, training=training)),
            rtol=1e-6,
            atol=1e-6,
        )
    config = ours.get_config()
    assert "synchronized" not in config
    loaded = BatchNormalization.from_config({**config, "synchronized": True})
    assert loaded.momentum == 0.9 and not loaded.synchronized


@pytest.mark.parametrize(
    "options",
    [
        {"padding": "same"},
        {"padding": "valid"},
        {"padding": "same", "strides": 2},  # Keras's own op on every backend
        {"padding": "same", "kernel_size": 2},
    ],
)
def test_conv_and_pool_give_kerass_numbers_and_gradients(options):
    # The package's Conv2D and MaxPooling2D only skip Keras 3.15's extra
    # copies on PyTorch: outputs and gradients must be Keras's, bit for bit.
    from savae_keras.layers import Conv2D
    from savae_keras.layers import MaxPooling2D

    options = dict(options)
    kernel_size = options.pop("kernel_size", 3)
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    theirs = keras.layers.Conv2D(4, kernel_size, **options)
    ours = Conv2D(4, kernel_size, **options)
    theirs.build(x.shape)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    for a, b in ((theirs, ours), (keras.layers.MaxPooling2D(2), MaxPooling2D(2))):
        np.testing.assert_array_equal(to_numpy(a(x)), to_numpy(b(x)))
    if keras.backend.backend() == "torch":  # the one backend with its own path
        import torch

        grads = []
        for conv in (theirs, ours):
            inputs = torch.tensor(x, requires_grad=True)
            outputs = (
                MaxPooling2D(2)(conv(inputs))
                if conv is ours
                else (keras.layers.MaxPooling2D(2)(conv(inputs)))
            )
            loss = outputs.square().sum()
            grads.append(torch.autograd.grad(loss, [inputs, conv.kernel.value]))
        for a, b in zip(*grads):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    config = keras.saving.serialize_keras_object(ours)
    assert type(keras.saving.deserialize_keras_object(config)) is Conv2D


def test_spectral_normalization_hand_computed_dense_case():
    # W = diag(3, 1), u = (1, 1)/√2. One power step: v = n(u Wᵀ) = (3, 1)/√10,
    # u ← n(v W) = (9, 1)/√82; σ = ‖u Wᵀ‖ = √730/√82. Inference keeps u.
    from savae_keras.layers import SpectralNormalization

    layer = SpectralNormalization(keras.layers.Dense(2))
    layer.build((None, 2))
    w = np.diag([3.0, 1.0]).astype("float32")
    layer.layer.kernel.assign(w)
    layer.layer.bias.assign(np.array([0.5, -1.0], "float32"))
    layer.vector_u.assign(np.array([[1.0, 1.0]], "float32"))
    x = np.array([[1.0, 2.0], [-1.0, 0.5]], "float32")
    sigma = np.sqrt(730 / 82)
    expected = x @ (w / sigma) + np.array([0.5, -1.0])
    np.testing.assert_allclose(to_numpy(layer(x, training=True)), expected, rtol=1e-5)
    np.testing.assert_allclose(
        to_numpy(layer.vector_u), [[9 / np.sqrt(82), 1 / np.sqrt(82)]], rtol=1e-6
    )
    np.testing.assert_allclose(to_numpy(layer(x)), expected, rtol=1e-5)  # u kept
    np.testing.assert_allclose(to_numpy(layer.layer.kernel), w)  # never rewritten
    # The power method converges on the largest singular value: σ → 3.
    for _ in range(20):
        layer(x, training=True)
    np.testing.assert_allclose(float(to_numpy(layer.spectral_norm())), 3.0, rtol=1e-5)


def test_spectral_normalization_conv_matches_the_divided_kernel_and_round_trips():
    from savae_keras.layers import Conv2D
    from savae_keras.layers import SpectralNormalization

    x = np.random.default_rng(0).normal(size=(2, 6, 6, 3)).astype("float32")
    layer = SpectralNormalization(Conv2D(4, 3, padding="same"), power_iterations=3)
    layer(x, training=True)
    kernel = to_numpy(layer.layer.kernel)
    sigma = float(to_numpy(layer.spectral_norm()))
    plain = Conv2D(4, 3, padding="same")
    plain.build(x.shape)
    plain.set_weights([kernel / sigma, to_numpy(layer.layer.bias)])
    np.testing.assert_allclose(
        to_numpy(layer(x)), to_numpy(plain(x)), rtol=1e-5, atol=1e-6
    )
    clone = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer)
    )
    assert type(clone) is SpectralNormalization and clone.power_iterations == 3
    with pytest.raises(TypeError, match="`layer` must be a Dense, Conv1D or Conv2D"):
        SpectralNormalization(keras.layers.LeakyReLU())
    with pytest.raises(ValueError, match="`power_iterations`"):
        SpectralNormalization(keras.layers.Dense(2), power_iterations=0)
