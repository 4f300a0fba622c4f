"""The paper's networks: shapes, parameter counts, features and errors."""

import numpy as np
import pytest

from savae_keras.networks import FEATURE_LAYERS
from savae_keras.networks import build_classifier
from savae_keras.networks import build_critic
from savae_keras.networks import build_decoder
from savae_keras.networks import build_encoder
from tests.conftest import to_numpy

SHAPES = [(28, 28, 1), (32, 32, 3)]


def conv(k, c_in, c_out):
    return k * k * c_in * c_out + c_out


def dense(n_in, n_out):
    return n_in * n_out + n_out


@pytest.mark.parametrize("shape", SHAPES)
def test_encoder_shapes_parameters_and_features(shape):
    filters, units, latent = (4, 4, 8, 8, 12, 12), (32, 16, 8), 3
    encoder = build_encoder(shape, latent, conv_filters=filters, dense_units=units)
    x = np.random.RandomState(0).rand(2, *shape).astype("float32")
    z_mean, z_log_var, z = encoder(x)
    assert [tuple(t.shape) for t in (z_mean, z_log_var, z)] == [(2, latent)] * 3
    h, w, c = shape
    expected = 0
    for f_in, f in zip((c, *filters), filters):
        expected += conv(3, f_in, f) + 2 * conv(3, f, f)  # conv + residual block
    flat = (h // 4) * (w // 4) * filters[-1]
    for n_in, n_out in zip((flat, *units), units):
        expected += dense(n_in, n_out)
    expected += 2 * dense(units[-1], latent)
    assert encoder.count_params() == expected
    feature_shapes = [encoder.get_layer(n).output.shape for n in FEATURE_LAYERS]
    assert feature_shapes == [
        (None, h, w, 4),
        (None, h, w, 4),
        (None, h // 2, w // 2, 8),
    ]


@pytest.mark.parametrize("shape", SHAPES)
def test_decoder_shapes_parameters_and_range(shape):
    filters, latent = (12, 12, 8, 8, 4, 4), 3
    decoder = build_decoder(shape, latent, dense_units=(16, 32), conv_filters=filters)
    z = np.random.RandomState(0).randn(2, latent).astype("float32") * 5
    x_hat = to_numpy(decoder(z))
    assert x_hat.shape == (2, *shape)
    assert 0.0 <= x_hat.min() and x_hat.max() <= 1.0
    h, w, c = shape
    seed_size = (h // 4) * (w // 4) * filters[0]
    bn = lambda n: 4 * n  # gamma, beta, moving mean, moving variance
    # Layers followed by BatchNorm have no bias: count weights and BN only.
    expected = sum(a * b + bn(b) for a, b in zip((latent, 16, 32), (16, 32, seed_size)))
    for f_in, f in zip((filters[0], *filters[:-1]), filters):
        expected += 9 * f_in * f + bn(f) + 2 * (9 * f * f + bn(f))
    expected += conv(3, filters[-1], c)  # the sigmoid output keeps its bias
    assert decoder.count_params() == expected


@pytest.mark.parametrize("shape", SHAPES)
def test_critic_is_linear_with_one_output(shape):
    critic = build_critic(shape, conv_filters=(4, 8, 8), dense_units=(16, 8, 8, 4))
    x = np.random.RandomState(0).rand(3, *shape).astype("float32")
    assert tuple(critic(x).shape) == (3, 1)
    assert critic.get_layer("score").activation.__name__ == "linear"
    h, w, c = shape
    expected = conv(3, c, 4) + conv(3, 4, 8) + conv(3, 8, 8)
    units = (16, 8, 8, 4)
    for n_in, n_out in zip(((h // 4) * (w // 4) * 8, *units), (*units, 1)):
        expected += dense(n_in, n_out)
    assert critic.count_params() == expected


def test_classifier_outputs_probabilities():
    classifier = build_classifier(latent_dim=2, num_classes=7, units=(8, 8, 8))
    p = to_numpy(classifier(np.random.RandomState(0).randn(5, 2).astype("float32")))
    assert p.shape == (5, 7)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    # dense (no bias) + BN, then a residual block of two such layers
    per_stage = 8 * 8 + 4 * 8 + 2 * (8 * 8 + 4 * 8)
    expected = per_stage * 3 - 8 * 8 + 2 * 8 + dense(8, 7)
    assert classifier.count_params() == expected


def test_default_networks_build_for_both_image_sizes():
    for shape in SHAPES:
        encoder = build_encoder(shape, latent_dim=2)
        decoder = build_decoder(shape, latent_dim=2)
        assert decoder.output_shape == (None, *shape)
        assert build_critic(shape).output_shape == (None, 1)
        assert encoder.output_shape[0] == (None, 2)
    assert build_classifier(2, 10).output_shape == (None, 10)


@pytest.mark.parametrize(
    "build, kwargs, message",
    [
        (
            build_encoder,
            {"input_shape": (30, 30, 1)},
            "`input_shape` must be an image shape",
        ),
        (  # (28, 28) is a signal shape since issue 18; 30 is no multiple of 4
            build_encoder,
            {"input_shape": (30, 1)},
            "`input_shape` must be an image shape",
        ),
        (build_encoder, {"input_shape": (28,)}, "`input_shape` must be an image shape"),
        (
            build_decoder,
            {"output_shape": (28, 26, 3)},
            "`output_shape` must be an image shape",
        ),
        (
            build_critic,
            {"input_shape": "mnist"},
            "`input_shape` must be an image shape",
        ),
        (
            build_encoder,
            {"conv_filters": (8, 8)},
            "`conv_filters` must hold 6 positive widths",
        ),
        (build_encoder, {"latent_dim": 0}, "`latent_dim` must be a positive integer"),
        (build_critic, {"dense_units": (8, 8, 8)}, "`dense_units` must hold 4"),
        (build_classifier, {"num_classes": 1}, "`num_classes` must be an integer >= 2"),
    ],
)
def test_bad_network_arguments_get_clear_errors(build, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build(**kwargs)


def test_encoder_rejects_images_of_another_shape():
    encoder = build_encoder((28, 28, 1), 2)
    with pytest.raises(ValueError, match="expected shape=\\(None, 28, 28, 1\\)"):
        encoder(np.zeros((1, 32, 32, 3), "float32"))


def test_the_plain_pytorch_reference_keeps_the_default_networks():
    # benchmarks/torch_reference.py is the speed yardstick of
    # benchmarks/throughput.py: it must build the same networks, layer for
    # layer, so a change of a builder's defaults fails here until it follows.
    import importlib.util
    import os

    path = os.path.join(os.path.dirname(__file__), "..", "benchmarks")
    spec = importlib.util.spec_from_file_location(
        "torch_reference", os.path.join(path, "torch_reference.py")
    )
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    pairs = [
        (build_encoder(), reference.Encoder()),
        (build_classifier(), reference.Classifier()),
        (build_decoder(), reference.Decoder()),
        (build_critic(), reference.Critic()),
    ]
    for keras_network, torch_network in pairs:
        # the size of every weight tensor, as a sorted list
        keras_sizes = sorted(
            int(np.prod(w.shape)) for w in keras_network.trainable_weights
        )
        torch_sizes = sorted(p.numel() for p in torch_network.parameters())
        assert keras_sizes == torch_sizes, keras_network.name
