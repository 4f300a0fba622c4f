"""What each optimizer is asked to do in one `train_step`, against a hand computation.

A loss pinned alone does not show that the step feeds it the right inputs.
Here each model's step runs under plain SGD (which, unlike Adam, moves a
weight by exactly `−lr·∂L/∂w`), and the update of the layer that closes a
network is compared with its derivative written out by hand from that
network's own forward pass: which samples count, with which targets, and
which optimizer moves which network.
"""

import keras
import numpy as np
import pytest

from savae_keras import AdversarialDecoder
from savae_keras import VariationalEncoderClassifier
from tests.conftest import to_numpy
from tests.helpers import DECODER_OPTIONS
from tests.helpers import VEC_OPTIONS
from tests.helpers import constant_decoder
from tests.helpers import deterministic_weights
from tests.helpers import fixed_noise
from tests.helpers import same
from tests.helpers import snapshot


def _inputs_of(network, layer_name):
    """A model giving the input of `layer_name` (what that layer multiplies)."""
    return keras.Model(network.input, network.get_layer(layer_name).input)


def _kernel_and_bias(layer):
    return to_numpy(layer.kernel).copy(), to_numpy(layer.bias).copy()


@pytest.mark.every_backend
def test_vec_step_moves_the_classifier_by_the_labeled_mean_of_p_minus_y(mnist_slice):
    """`L_cat` averages `−log p_y` over the labeled samples only.

    Its gradient at the logits layer is `Σ_labeled (p − onehot(y)) / N_l`
    (bias) and `hᵀ(p − onehot(y)) / N_l` (kernel, `h` the layer's input);
    the KL term does not reach the classifier. A step averaging over the
    whole batch, using unlabeled rows, or another sample's label fails.
    """
    (x, _), _ = mnist_slice
    x = x[:6].astype("float32") / 255
    labels = np.array([3, -1, 0, 7, -1, 3], "int32")
    vec = VariationalEncoderClassifier(latent_dim=2, seed=0, **VEC_OPTIONS)
    deterministic_weights(vec)
    fixed_noise(vec)
    lr = 0.1
    vec.compile(optimizer=keras.optimizers.SGD(lr))

    # The step's forward pass, by hand: z = μ + σ·ε with the step's noise.
    outputs = vec.features(x, training=True)
    z_mean, z_log_var = to_numpy(outputs["z_mean"]), to_numpy(outputs["z_log_var"])
    epsilon = to_numpy(vec.standard_normal((6, 2)))
    z = z_mean + np.exp(0.5 * z_log_var) * epsilon
    p = to_numpy(vec.classifier(z, training=True))
    h = to_numpy(_inputs_of(vec.classifier, "logits")(z, training=True))
    labeled = labels >= 0
    residual = (p - np.eye(10)[np.maximum(labels, 0)])[labeled] / labeled.sum()
    expected_bias = -lr * residual.sum(axis=0)
    expected_kernel = -lr * h[labeled].T @ residual

    logits = vec.classifier.get_layer("logits")
    kernel, bias = _kernel_and_bias(logits)
    vec.fit(x, labels, batch_size=6, epochs=1, shuffle=False, verbose=0)
    new_kernel, new_bias = _kernel_and_bias(logits)
    np.testing.assert_allclose(new_bias - bias, expected_bias, rtol=1e-3, atol=1e-7)
    np.testing.assert_allclose(
        new_kernel - kernel, expected_kernel, rtol=1e-3, atol=1e-7
    )


def _phase_2(mnist_slice, critic_target=1.0, critic_layers=None, **optimizers):
    """A tiny decoder phase whose decoded images are one known constant.

    The decoder's last convolution is zeroed to a bias `b`, so every
    decoded image (of any code) is `sigmoid(b)` in every pixel: the images
    the critic sees as decoded are known without running the decoder.
    `critic_layers` names the only critic layers that train (all if None).
    """
    (x, y), _ = mnist_slice
    vec = VariationalEncoderClassifier(latent_dim=2, seed=0, **VEC_OPTIONS)
    vec.compile()
    vec.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)
    vec.trainable = False
    decoder = AdversarialDecoder(
        vec, n_critic=1, critic_target=critic_target, seed=0, **DECODER_OPTIONS
    )
    deterministic_weights(decoder.decoder, seed=1)
    deterministic_weights(decoder.critic, seed=2)
    pixel = constant_decoder(decoder.decoder)
    if critic_layers is not None:
        for layer in decoder.critic.layers:
            layer.trainable = layer.name in critic_layers
    decoder.compile(**optimizers)
    batch = x[:8].astype("float32") / 255
    decoded = np.full(batch.shape, pixel, "float32")
    return decoder, batch, decoded


@pytest.mark.every_backend
def test_decoder_step_gives_the_critic_plus_c_for_real_and_minus_c_for_decoded(
    mnist_slice,
):
    """One critic round: a step on `E[(c − Dis(X))²]`, then on `E[(−c − Dis(X̂))²]`.

    Only the critic's closing `score` layer trains here (its other layers
    frozen), so its input `h` stays fixed and the two SGD steps are exact:
    `∂/∂W E[(t − s)²] = −2·E[(t − s)·h]` and `∂/∂b = −2·E[t − s]`, the
    second step's scores `s` taken after the first step.
    """
    lr, c = 0.05, 2.0
    decoder, batch, decoded = _phase_2(
        mnist_slice,
        critic_target=c,
        critic_layers=("score",),
        decoder_optimizer=keras.optimizers.SGD(0.0),
        critic_optimizer=keras.optimizers.SGD(lr),
    )
    critic = decoder.critic
    features = _inputs_of(critic, "score")
    h_real, h_dec = to_numpy(features(batch)), to_numpy(features(decoded))
    score = critic.get_layer("score")
    kernel, bias = _kernel_and_bias(score)

    def round_of(real_target, decoded_target):
        w, b = kernel.astype("float64"), bias.astype("float64")
        for h, target in ((h_real, real_target), (h_dec, decoded_target)):
            residual = target - (h @ w + b)  # (N, 1): t − s
            w = w + 2 * lr * (h * residual).mean(axis=0)[:, None]
            b = b + 2 * lr * residual.mean(axis=0)
        return w, b

    (expected_kernel, expected_bias), (swapped_kernel, _) = (
        round_of(c, -c),
        round_of(-c, c),
    )
    # The check tells the two apart: they differ by far more than its tolerance.
    gap = np.linalg.norm(expected_kernel - swapped_kernel)
    assert gap > 0.1 * np.linalg.norm(expected_kernel - kernel)
    decoder.fit(batch, batch_size=8, epochs=1, shuffle=False, verbose=0)
    new_kernel, new_bias = _kernel_and_bias(score)
    np.testing.assert_allclose(new_kernel, expected_kernel, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(new_bias, expected_bias, rtol=1e-4, atol=1e-6)


@pytest.mark.every_backend
@pytest.mark.parametrize("still", ["decoder", "critic"])
def test_each_phase_2_optimizer_moves_only_its_own_network(mnist_slice, still):
    """With one optimizer's learning rate 0, its network stays bit-identical
    while the other's moves: neither optimizer touches the other's weights,
    and the frozen VEC is touched by none."""
    rates = {"decoder": 1e-3, "critic": 1e-3, still: 0.0}
    decoder, batch, _ = _phase_2(
        mnist_slice,
        decoder_optimizer=keras.optimizers.SGD(rates["decoder"]),
        critic_optimizer=keras.optimizers.SGD(rates["critic"]),
    )
    networks = {"decoder": decoder.decoder, "critic": decoder.critic}
    moving = "critic" if still == "decoder" else "decoder"

    def trainable(network):
        return [to_numpy(w).copy() for w in network.trainable_weights]

    before = {name: trainable(n) for name, n in networks.items()}
    vec_before = snapshot(decoder.vec)
    decoder.fit(batch, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert same(before[still], trainable(networks[still]))
    assert not same(before[moving], trainable(networks[moving]))
    assert same(vec_before, snapshot(decoder.vec))
