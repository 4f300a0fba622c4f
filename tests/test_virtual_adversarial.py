"""Phase 1's terms on unlabeled images: virtual adversarial training,
entropy minimisation and the mean teacher."""

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


def _recorder(vec, seen, weights_of):
    """A callback that appends `weights_of(vec)` to `seen` after each step."""

    def record(batch, logs):
        if hasattr(vec, "jax_state_sync"):  # JAX keeps the state in fit
            vec.jax_state_sync()
        seen.append(weights_of(vec))

    return keras.callbacks.LambdaCallback(on_train_batch_end=record)


def _classifier_weights(vec):
    return [to_numpy(w).copy() for w in vec.classifier.trainable_weights]


def _classifier_steps(mnist_slice, **options):
    """Two SGD steps of a VEC, a labeled batch then an unlabeled one; the
    classifier's trainable weights after each."""
    (x, y), _ = mnist_slice
    labels = np.concatenate([y[:8], np.full(8, -1, "int32")])
    vec = VariationalEncoderClassifier(latent_dim=2, seed=0, **VEC_OPTIONS, **options)
    vec.compile(optimizer=keras.optimizers.SGD(0.1))
    snapshots = []
    history = vec.fit(
        x[:16],
        labels,
        batch_size=8,
        shuffle=False,
        verbose=0,
        callbacks=[_recorder(vec, snapshots, _classifier_weights)],
    )
    moved = max(float(np.abs(a - b).max()) for a, b in zip(*snapshots))
    return vec, history.history, moved


@pytest.mark.every_backend
@pytest.mark.parametrize(
    "options, logged",
    [
        ({"vat_weight": 1.0}, {"vat_loss"}),
        ({"entropy_weight": 1.0}, {"entropy_loss"}),
        ({"teacher_weight": 1.0}, {"teacher_loss"}),
    ],
)
def test_unlabeled_images_teach_the_classifier_only_with_the_term_on(
    mnist_slice, options, logged
):
    """Off, an unlabeled batch gives the classifier no gradient (`L_cat` is
    0 there, `L_kl` does not reach it): SGD leaves it exactly as it was."""
    _, logs, moved = _classifier_steps(mnist_slice)
    assert moved == 0.0
    assert not {"vat_loss", "entropy_loss", "teacher_loss"} & set(logs)
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


# -- the mean teacher ---------------------------------------------------------
def test_teacher_loss_and_decay_on_a_hand_case():
    """Squares summed over the classes, averaged over a batch of two."""
    p = np.array([[0.5, 0.5], [0.9, 0.1]], "float32")
    q = np.array([[0.25, 0.75], [0.6, 0.4]], "float32")
    expected = ((0.25**2 + 0.25**2) + (0.3**2 + 0.3**2)) / 2
    assert float(losses.teacher_loss(p, q)) == pytest.approx(expected, rel=1e-5)
    # α_t = min(1 − 1/(t + 1), α): the student itself after step 0.
    decays = [float(losses.teacher_decay(t, 0.9)) for t in (0, 1, 3, 100)]
    assert decays == pytest.approx([0.0, 0.5, 0.75, 0.9])


def _teacher_weights(vec):
    return [to_numpy(w).copy() for w in vec.teacher_variables]


def _student_weights(vec):
    return [to_numpy(w).copy() for w in vec._teacher_sources()]


def _student_and_teacher(vec):
    return _student_weights(vec), _teacher_weights(vec)


def _teacher_fit(mnist_slice, count):
    """A VEC with a mean teacher (α = 0.9) after SGD steps on `count`
    images in batches of 8: its (student, teacher) weights before the
    first step and after each."""
    (x, y), _ = mnist_slice
    vec = VariationalEncoderClassifier(
        latent_dim=2, seed=0, teacher_weight=1.0, teacher_decay=0.9, **VEC_OPTIONS
    )
    before = _student_and_teacher(vec)
    vec.compile(optimizer=keras.optimizers.SGD(0.1))
    seen = []
    vec.fit(
        x[:count],
        y[:count],
        batch_size=8,
        shuffle=False,
        verbose=0,
        callbacks=[_recorder(vec, seen, _student_and_teacher)],
    )
    return vec, before, seen


@pytest.mark.every_backend
def test_the_teacher_is_the_students_moving_average(mnist_slice):
    """After step 0 the teacher is the student (α_0 = 0); after step 1 it is
    `α_1·θ'_0 + (1 − α_1)·θ_1` with α_1 = min(½, α) = ½."""
    _, (initial, initial_teacher), seen = _teacher_fit(mnist_slice, 16)
    assert same_arrays(initial_teacher, initial)  # it starts as the student
    (student_0, teacher_0), (student_1, teacher_1) = seen
    assert not same_arrays(student_0, initial)  # the step moved the student
    assert same_arrays(teacher_0, student_0)
    for t0, s1, t1 in zip(teacher_0, student_1, teacher_1):
        np.testing.assert_allclose(t1, 0.5 * t0 + 0.5 * s1, rtol=1e-6, atol=1e-7)
    assert not same_arrays(teacher_1, student_1)


@pytest.mark.every_backend
def test_fit_ends_with_the_teachers_weights_in_the_vec(mnist_slice):
    """As Keras' `use_ema` ends `fit` with the averages: after the last
    step the student differs from its teacher; when `fit` returns, the VEC
    holds the teacher's weights, bit for bit, and `classify` is the
    teacher's prediction."""
    vec, _, seen = _teacher_fit(mnist_slice, 24)
    last_student, last_teacher = seen[-1]
    assert not same_arrays(last_student, last_teacher)
    assert same_arrays(_student_weights(vec), last_teacher)
    assert same_arrays(_teacher_weights(vec), last_teacher)
    images = mnist_slice[0][0][:4].astype("float32") / 255
    np.testing.assert_allclose(
        vec.classify(images),
        to_numpy(vec.teacher_probabilities(images)),
        rtol=1e-5,
        atol=1e-6,
    )


def same_arrays(a, b):
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


@pytest.mark.every_backend
def test_the_teacher_predicts_with_its_own_weights(mnist_slice):
    """Equal to the student's inference-mode prediction while the weights
    are equal; uniform once the teacher's logits layer is zeroed, while the
    student's, given a large bias, is far from uniform."""
    (x, _), _ = mnist_slice
    images = x[:4].astype("float32") / 255
    vec = VariationalEncoderClassifier(
        latent_dim=2, seed=0, teacher_weight=1.0, **VEC_OPTIONS
    )
    np.testing.assert_allclose(
        to_numpy(vec.teacher_probabilities(images)),
        to_numpy(vec.mean_probabilities(images, training=False)),
        rtol=1e-5,
        atol=1e-6,
    )
    logits = vec.classifier.get_layer("logits")
    logits.bias.assign(np.eye(10, dtype="float32")[3] * 5)  # the student's alone
    for teacher, student in zip(vec.teacher_variables, vec._teacher_sources()):
        if student is logits.kernel or student is logits.bias:
            teacher.assign(np.zeros(teacher.shape, "float32"))
    np.testing.assert_allclose(to_numpy(vec.teacher_probabilities(images)), 0.1)
    assert np.abs(to_numpy(vec.mean_probabilities(images, False)) - 0.1).max() > 0.5


def test_teacher_options_reach_phase_1_its_config_and_its_file(tmp_path):
    model = SAVAE(teacher_weight=0.5, teacher_decay=0.95, **TINY)
    vec = model.vec
    assert (vec.teacher_weight, vec.teacher_decay) == (0.5, 0.95)
    assert len(vec.teacher_variables) == len(vec._teacher_sources())
    restored = VariationalEncoderClassifier.from_config(vec.get_config())
    assert restored.teacher_weight == 0.5 and restored.teacher_rampup_steps == 0
    for value, match in ((1.0, "teacher_decay"), (-0.1, "teacher_decay")):
        with pytest.raises(ValueError, match=match):
            VariationalEncoderClassifier(teacher_weight=1.0, teacher_decay=value)
    with pytest.raises(ValueError, match="teacher_weight"):
        VariationalEncoderClassifier(teacher_weight=-1.0)
    assert VariationalEncoderClassifier().teacher_variables == []  # off: no copy
