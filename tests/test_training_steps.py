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
from savae_keras import RecursiveAutoencoderGAN
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


# -- the recursive autoencoder GAN's game step ----------------------------------
def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _linear_recursive_gan(steps, **options):
    """A recursive GAN of single dense layers on 4×4 images, so its step can
    be written out by hand: `Enc(x) = x·We + be`, `Dec(z) = σ(z·Wd + bd)`,
    `D(x) = x·wD + bD` (a logit)."""
    pixels, latent = 16, 3

    def network(units, activation, shape_in, shape_out, name):
        inputs = keras.Input(shape_in)
        h = keras.layers.Flatten()(inputs)
        h = keras.layers.Dense(units, activation=activation, name=name)(h)
        return keras.Model(inputs, keras.layers.Reshape(shape_out)(h))

    model = RecursiveAutoencoderGAN(
        (4, 4, 1),
        recursion_steps=steps,
        encoder=network(latent, None, (4, 4, 1), (latent,), "enc"),
        decoder=network(pixels, "sigmoid", (latent,), (4, 4, 1), "dec"),
        discriminator=network(1, None, (4, 4, 1), (1,), "dis"),
        seed=0,
        **options,
    )
    rng = np.random.default_rng(3)
    for dense, scale in zip(_dense_layers(model), (0.5, 0.5, 0.3)):
        dense.kernel.assign(rng.normal(0, scale, dense.kernel.shape).astype("float32"))
        dense.bias.assign(rng.normal(0, 0.1, dense.bias.shape).astype("float32"))
    return model


def _dense_layers(model):
    return (
        model.encoder.get_layer("enc"),
        model.decoder.get_layer("dec"),
        model.discriminator.get_layer("dis"),
    )


def _linear_parameters(model):
    """`[(We, be), (Wd, bd), (wD, bD)]` in float64."""
    return [
        tuple(w.astype("float64") for w in _kernel_and_bias(dense))
        for dense in _dense_layers(model)
    ]


def _game_step_by_hand(x, params, weights, lam, rates, stop_gradient, report):
    """The recursive GAN's step in numpy, from the module docstring's equations:

    D  <- SGD on  mean_i BCE(D(x_i), 1) + mean_i Σ_j w_ij BCE(D(x'_ij), 0) / Σ_j w_ij
    AE <- SGD on  mean_i Σ_j w_ij [rec(x_i, x'_ij) + λ·BCE(D'(x'_ij), 1)]

    with `D'` the discriminator after its step, `rec` the pixel-mean BCE,
    and the gradient carried back through every earlier pass of the
    recursion (unless `stop_gradient`). `report` first takes a step on
    `L_rec` alone and steps `D` only while its accuracy is ≤ 1/2.
    """
    (we, be), (wd, bd), (wD, bD) = params
    n, k1 = weights.shape
    flat = x.reshape(n, -1)

    def forward(we, be, wd, bd):
        inputs, codes, outs = [], [], []
        current = flat
        for _ in range(k1):
            inputs.append(current)
            codes.append(current @ we + be)
            current = _sigmoid(codes[-1] @ wd + bd)
            outs.append(current)
        return inputs, codes, outs

    def ae_gradients(we, be, wd, bd, d_params, lam):
        inputs, codes, outs = forward(we, be, wd, bd)
        grads = [np.zeros_like(p) for p in (we, be, wd, bd)]
        carried = np.zeros_like(flat)  # ∂L/∂x'(j) through the later passes
        for j in reversed(range(k1)):
            o, w = outs[j], weights[:, j : j + 1] / n
            d_out = w * (o - flat) / (o * (1 - o)) / flat.shape[1]
            if lam:
                logit = o @ d_params[0] + d_params[1]
                d_out = d_out + lam * w * (_sigmoid(logit) - 1) @ d_params[0].T
            d_act = (d_out + carried) * o * (1 - o)
            grads[2] += codes[j].T @ d_act
            grads[3] += d_act.sum(0)
            d_code = d_act @ wd.T
            grads[0] += inputs[j].T @ d_code
            grads[1] += d_code.sum(0)
            carried = 0 * flat if stop_gradient else d_code @ we.T
        return grads

    ae = [we, be, wd, bd]
    if report:
        ae = [p - rates[0] * g for p, g in zip(ae, ae_gradients(*ae, None, 0.0))]
    outs = forward(*ae)[2]
    real = flat @ wD + bD
    fakes = [o @ wD + bD for o in outs]
    share = weights / weights.sum(1, keepdims=True) / n
    d_real = (_sigmoid(real) - 1) / n
    d_fakes = [_sigmoid(f) * share[:, j : j + 1] for j, f in enumerate(fakes)]
    grad_wD = flat.T @ d_real + sum(o.T @ d for o, d in zip(outs, d_fakes))
    grad_bD = d_real.sum(0) + sum(d.sum(0) for d in d_fakes)
    accuracy = 0.5 * (
        np.mean(real > 0)
        + np.mean(sum((f < 0) * share[:, j : j + 1] * n for j, f in enumerate(fakes)))
    )
    if not report or accuracy <= 0.5:
        wD, bD = wD - rates[1] * grad_wD, bD - rates[1] * grad_bD
    grads = ae_gradients(*ae, (wD, bD), lam)
    ae = [p - rates[0] * g for p, g in zip(ae, grads)]
    return [(ae[0], ae[1]), (ae[2], ae[3]), (wD, bD)]


@pytest.mark.every_backend
@pytest.mark.parametrize(
    "options",
    [
        {"step_schedule": "all"},
        {"step_schedule": "cycle"},
        {"step_schedule": "all", "stop_gradient_between_steps": True},
        {"step_schedule": "cycle", "game_schedule": "report"},
        {"step_schedule": "all", "recursion_warmup_steps": 3},
    ],
    ids=["all", "cycle", "stop-gradient", "report", "warm-up"],
)
def test_recursive_gan_step_matches_its_equations_written_out_by_hand(options):
    """One `fit` step of the recursive GAN under SGD against a numpy step.

    Pins the game: the discriminator's targets (1 for real, 0 for every
    recursive output, the outputs weighted by their share of the schedule),
    the autoencoder's (1: fool the updated discriminator, weighted by λ), the
    per-step weights of `L_rec` (summed over the scheduled steps) and
    which recursion passes the gradient flows back through. Under "cycle"
    the batch's offset is fixed to 1, so samples train different steps;
    during a recursion warm-up every sample trains the first pass alone.
    """
    steps, lam, rates = 2, 0.7, (0.3, 0.5)
    model = _linear_recursive_gan(steps, adversarial_weight=lam, **options)
    model.cycle_offset = lambda: 1
    n = 6
    x = np.random.default_rng(4).uniform(0.05, 0.95, (n, 4, 4, 1)).astype("float32")
    if options.get("recursion_warmup_steps"):  # the first pass alone
        weights = np.eye(steps + 1)[np.zeros(n, int)]
    elif options["step_schedule"] == "all":
        weights = np.ones((n, steps + 1))
    else:
        weights = np.eye(steps + 1)[(np.arange(n) + 1) % (steps + 1)]
    params = _linear_parameters(model)
    expected = _game_step_by_hand(
        x.astype("float64"),
        params,
        weights,
        lam,
        rates,
        options.get("stop_gradient_between_steps", False),
        options.get("game_schedule") == "report",
    )
    model.compile(
        autoencoder_optimizer=keras.optimizers.SGD(rates[0]),
        discriminator_optimizer=keras.optimizers.SGD(rates[1]),
    )
    model.fit(x, batch_size=n, epochs=1, shuffle=False, verbose=0)
    for name, before, after, want in zip(
        ("encoder", "decoder", "discriminator"),
        params,
        _linear_parameters(model),
        expected,
    ):
        for b, a, w in zip(before, after, want):
            assert np.abs(w - b).max() > 1e-4, name  # the step moves it
            np.testing.assert_allclose(a - b, w - b, rtol=2e-3, atol=1e-6, err_msg=name)
