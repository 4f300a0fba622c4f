"""Virtual adversarial training and entropy minimisation in phase 1."""

import keras
import numpy as np
import pytest

from savae_keras import SAVAE
from savae_keras import VariationalEncoderClassifier
from savae_keras import losses
from savae_keras.models.trainer import input_gradient
from tests.conftest import to_numpy
from tests.helpers import TINY
from tests.helpers import VEC_OPTIONS
from tests.helpers import deterministic_weights


def test_categorical_kl_and_entropy_on_a_hand_case():
    """Sums over the classes, means over a batch of two."""
    p = np.array([[0.5, 0.5], [0.9, 0.1]], "float32")
    q = np.array([[0.25, 0.75], [0.9, 0.1]], "float32")
    # KL row 1: ½ ln 2 + ½ ln(2/3); row 2: 0.
    kl = (0.5 * np.log(2) + 0.5 * np.log(2 / 3)) / 2
    assert float(losses.categorical_kl(p, q)) == pytest.approx(kl, rel=1e-5)
    # Entropy of q: row 1 −(¼ ln ¼ + ¾ ln ¾), row 2 −(0.9 ln 0.9 + 0.1 ln 0.1).
    h1 = -(0.25 * np.log(0.25) + 0.75 * np.log(0.75))
    h2 = -(0.9 * np.log(0.9) + 0.1 * np.log(0.1))
    assert float(losses.entropy_loss(q)) == pytest.approx((h1 + h2) / 2, rel=1e-5)
    assert float(losses.categorical_kl(q, q)) == pytest.approx(0.0, abs=1e-7)


def test_unit_directions_scale_each_sample_over_all_its_axes():
    d = np.array([[[[3.0]], [[4.0]]], [[[0.0]], [[0.0]]]], "float32")  # (2, 2, 1, 1)
    unit = to_numpy(losses.unit_directions(d))
    np.testing.assert_allclose(unit[0].ravel(), [0.6, 0.8], rtol=1e-6)
    np.testing.assert_array_equal(unit[1], 0.0)  # zeros stay zeros, no NaN


@pytest.mark.every_backend
def test_input_gradient_of_a_known_function():
    """`∂/∂x Σ (a·x)² = 2a²x`, a constant afterwards."""
    a = keras.ops.convert_to_tensor(np.array([[1.0, 2.0], [3.0, -1.0]], "float32"))
    x = keras.ops.convert_to_tensor(np.array([[0.5, 1.0], [-2.0, 4.0]], "float32"))
    grad = input_gradient(lambda v: keras.ops.sum(keras.ops.square(a * v)), x)
    np.testing.assert_allclose(
        to_numpy(grad), 2 * to_numpy(a) ** 2 * to_numpy(x), rtol=1e-6
    )


@pytest.mark.every_backend
def test_vat_perturbation_follows_the_kl_hessians_top_direction():
    """A linear softmax classifier `softmax(x·W)`: the KL's Hessian in `r` at
    0 is `W (diag p − p pᵀ) Wᵀ` per sample, so one power iteration from `d`
    gives `r_adv ∝ H d`; computed here in float64 without autodiff."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(5, 3)).astype("float32")
    x = rng.normal(size=(4, 5)).astype("float32")
    d = rng.normal(size=(4, 5)).astype("float32")
    logits = x.astype("float64") @ w
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    kernel = keras.ops.convert_to_tensor(w)

    def probabilities(inputs):
        return keras.ops.softmax(keras.ops.matmul(inputs, kernel), axis=-1)

    epsilon = 0.7
    r_adv = to_numpy(
        losses.virtual_adversarial_perturbation(
            probabilities, x, p.astype("float32"), d, 1e-3, epsilon, input_gradient
        )
    )
    for i in range(4):
        hessian = w @ (np.diag(p[i]) - np.outer(p[i], p[i])) @ w.T
        expected = hessian @ d[i]
        cosine = (
            r_adv[i] @ expected / np.linalg.norm(r_adv[i]) / np.linalg.norm(expected)
        )
        assert cosine > 0.999, (i, cosine)
        assert np.linalg.norm(r_adv[i]) == pytest.approx(epsilon, rel=1e-5)


def _classifier_steps(mnist_slice, **options):
    """Two SGD steps of a VEC, a labeled batch then an unlabeled one; the
    classifier's trainable weights after each."""
    (x, y), _ = mnist_slice
    labels = np.concatenate([y[:8], np.full(8, -1, "int32")])
    vec = VariationalEncoderClassifier(latent_dim=2, seed=0, **VEC_OPTIONS, **options)
    vec.compile(optimizer=keras.optimizers.SGD(0.1))
    snapshots = []

    def record(batch, logs):
        if hasattr(vec, "jax_state_sync"):  # JAX keeps the state in fit
            vec.jax_state_sync()
        snapshots.append([to_numpy(w).copy() for w in vec.classifier.trainable_weights])

    history = vec.fit(
        x[:16],
        labels,
        batch_size=8,
        shuffle=False,
        verbose=0,
        callbacks=[keras.callbacks.LambdaCallback(on_train_batch_end=record)],
    )
    moved = max(float(np.abs(a - b).max()) for a, b in zip(*snapshots))
    return vec, history.history, moved


@pytest.mark.every_backend
@pytest.mark.parametrize(
    "options, logged",
    [
        ({"vat_weight": 1.0}, {"vat_loss"}),
        ({"entropy_weight": 1.0}, {"entropy_loss"}),
    ],
)
def test_unlabeled_images_teach_the_classifier_only_with_the_term_on(
    mnist_slice, options, logged
):
    """Off, an unlabeled batch gives the classifier no gradient (`L_cat` is
    0 there, `L_kl` does not reach it): SGD leaves it exactly as it was."""
    _, logs, moved = _classifier_steps(mnist_slice)
    assert moved == 0.0
    assert not {"vat_loss", "entropy_loss"} & set(logs)
    vec, logs, moved = _classifier_steps(mnist_slice, **options)
    assert moved > 1e-5
    assert logged <= set(logs)
    for name in logged:
        assert np.all(np.isfinite(logs[name])) and logs[name][0] > 0


@pytest.mark.every_backend
def test_vat_leaves_batchnorm_statistics_to_the_steps_own_pass(mnist_slice):
    """The perturbed passes keep no state: with a learning rate of 0, the
    moving statistics after a step with the terms on are those of the step
    without them (the same batch, the same noise for the step's own pass)."""
    (x, y), _ = mnist_slice
    images = x[:8].astype("float32") / 255

    def statistics(**options):
        vec = VariationalEncoderClassifier(
            latent_dim=2, seed=0, **VEC_OPTIONS, **options
        )
        deterministic_weights(vec)
        vec.compile(optimizer=keras.optimizers.SGD(0.0))
        vec.fit(images, y[:8], batch_size=8, shuffle=False, verbose=0)
        return [to_numpy(w) for w in vec.classifier.non_trainable_weights]

    plain = statistics()
    with_vat = statistics(vat_weight=1.0, entropy_weight=1.0)
    for a, b in zip(plain, with_vat):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_vat_options_reach_phase_1_and_its_config(tmp_path):
    model = SAVAE(vat_weight=0.5, vat_epsilon=1.5, entropy_weight=0.2, **TINY)
    vec = model.vec
    assert (vec.vat_weight, vec.vat_epsilon, vec.entropy_weight) == (0.5, 1.5, 0.2)
    restored = VariationalEncoderClassifier.from_config(vec.get_config())
    assert restored.vat_weight == 0.5 and restored.vat_xi == vec.vat_xi
    with pytest.raises(ValueError, match="vat_epsilon"):
        VariationalEncoderClassifier(vat_epsilon=0.0)
    with pytest.raises(ValueError, match="entropy_weight"):
        VariationalEncoderClassifier(entropy_weight=-1.0)
