"""Each loss of the paper against a value computed by hand."""

import math

import numpy as np
import pytest
from keras import ops

from savae_keras import losses
from tests.conftest import to_numpy

# Backend mechanics: this file runs on every backend (see the Makefile).
pytestmark = pytest.mark.every_backend


def f32(x):
    return np.asarray(x, "float32")


def value(x):
    return float(to_numpy(x))


def test_kl_divergence_equation_4():
    # Sample 1: mu = (1, 0), log var = (0, ln 4):
    #   -1/2 [(1 + 0 - 1 - 1) + (1 + ln 4 - 0 - 4)] = 2 - ln 2.
    # Sample 2: mu = 0, var = 1: KL = 0. Mean over the batch: (2 - ln 2) / 2.
    z_mean = f32([[1.0, 0.0], [0.0, 0.0]])
    z_log_var = f32([[0.0, math.log(4.0)], [0.0, 0.0]])
    expected = (2.0 - math.log(2.0)) / 2.0
    assert value(losses.kl_divergence(z_mean, z_log_var)) == pytest.approx(
        expected, rel=1e-6
    )


def test_classification_loss_equation_7_over_labeled_samples_only():
    probabilities = f32([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [0.9, 0.05, 0.05]])
    labels = np.array([0, 1, -1], "int32")  # the third is unlabeled
    expected = (-math.log(0.5) - math.log(0.8)) / 2.0
    assert value(losses.classification_loss(labels, probabilities)) == pytest.approx(
        expected, rel=1e-6
    )
    per_sample = to_numpy(losses.categorical_crossentropy(labels, probabilities))
    np.testing.assert_allclose(
        per_sample, [-math.log(0.5), -math.log(0.8), 0.0], rtol=1e-6
    )


def test_classification_loss_of_an_unlabeled_batch_is_zero_not_nan():
    probabilities = f32([[0.5, 0.5], [0.2, 0.8]])
    loss = value(losses.classification_loss(np.array([-1, -1], "int32"), probabilities))
    assert loss == 0.0


def test_feature_consistency_loss_equation_9():
    """A batch of two: sample 0 differs by 1, 2, 3 in the three layers,
    sample 1 not at all. Per sample, per-element MSEs 1, 4, 9 weighted 1,
    0.1, 0.01 give 1.49 and 0: the batch mean is 0.745 (a sum would be
    1.49, a per-element mean over the batch the same 0.745 only because
    both samples have the same size: the per-layer means pin that)."""
    zeros = [np.zeros((2, 2, 2, 1)), np.zeros((2, 2, 2, 2)), np.zeros((2, 3))]
    features = [f32(z) for z in zeros]
    reconstructed = [f32(z) for z in zeros]
    for layer, difference in enumerate((1.0, 2.0, 3.0)):
        reconstructed[layer] = f32(
            np.concatenate(
                [np.full_like(zeros[layer][:1], difference), zeros[layer][1:]]
            )
        )
    loss = losses.feature_consistency_loss(features, reconstructed, (1.0, 0.1, 0.01))
    assert value(loss) == pytest.approx((1.0 + 0.4 + 0.09) / 2, rel=1e-6)
    # one layer alone: the batch mean of the per-sample, per-element means
    loss = losses.feature_consistency_loss(features[:1], reconstructed[:1], (2.0,))
    assert value(loss) == pytest.approx(2.0 * 1.0 / 2, rel=1e-6)
    with pytest.raises(ValueError, match="counts must match"):
        losses.feature_consistency_loss(features, reconstructed, (1.0, 0.1))


def test_feature_consistency_map_per_position():
    # Layer 1 at the input's 2x2 resolution: squared errors 1 and 9 in its
    # two channels at (0, 0), 0 elsewhere -> channel mean 5 there. Layer 2 at
    # 1x1 (after a pooling), error 4 in its one channel, repeated to 2x2.
    f1 = np.zeros((1, 2, 2, 2))
    f1[0, 0, 0] = (1.0, 3.0)
    features = [f32(f1), f32(np.full((1, 1, 1, 1), 2.0))]
    reconstructed = [f32(np.zeros((1, 2, 2, 2))), f32(np.zeros((1, 1, 1, 1)))]
    error_map = losses.feature_consistency_map(
        features, reconstructed, (1.0, 0.1), (2, 2)
    )
    np.testing.assert_allclose(
        to_numpy(error_map), [[[5.4, 0.4], [0.4, 0.4]]], rtol=1e-6
    )
    # Its mean over positions is equation (9) when every layer keeps the
    # input's resolution.
    same = [f32(f1), f32(f1)]
    zeros = [f32(np.zeros_like(f1))] * 2
    np.testing.assert_allclose(
        value(
            ops.mean(losses.feature_consistency_map(same, zeros, (1.0, 0.1), (2, 2)))
        ),
        value(losses.feature_consistency_loss(same, zeros, (1.0, 0.1))),
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match="does not tile"):
        losses.feature_consistency_map(
            [f32(np.zeros((1, 3, 3, 1)))], [f32(np.ones((1, 3, 3, 1)))], (1.0,), (4, 4)
        )
    with pytest.raises(ValueError, match="spatial axes"):  # a dense feature layer
        losses.feature_consistency_map(
            [f32(np.zeros((1, 3)))], [f32(np.ones((1, 3)))], (1.0,), (4, 4)
        )
    # The autoencoders' map: channel-mean squared error, 0 where x̂ = x.
    x = f32([[[0.0, 1.0], [0.5, 0.5]]])  # one signal, 2 steps, 2 channels
    np.testing.assert_allclose(
        to_numpy(losses.squared_error_map(x, f32([[[1.0, 1.0], [0.5, 0.5]]]))),
        [[0.5, 0.0]],
    )


def test_critic_loss_of_algorithm_2():
    scores = f32([[0.5], [1.5]])
    assert value(losses.critic_loss(scores, 1.0)) == pytest.approx(0.25)
    assert value(losses.critic_loss(scores, -1.0)) == pytest.approx((2.25 + 6.25) / 2)
    assert value(losses.critic_loss(scores, 10.0)) == pytest.approx(
        (9.5**2 + 8.5**2) / 2
    )


def test_adversarial_loss_equation_10():
    real, fake = f32([[1.0], [-1.0]]), f32([[0.0], [1.0]])
    assert value(losses.adversarial_loss(real, fake)) == pytest.approx((1.0 + 4.0) / 2)


def test_latent_loss_equation_11():
    class_z = f32([[1.0, 0.0], [0.0, 1.0]])
    class_z_hat = f32([[0.5, 0.5], [0.0, 1.0]])
    # squared differences 0.25, 0.25, 0, 0: per-element mean 0.125
    assert value(losses.latent_loss(class_z, class_z_hat)) == pytest.approx(0.125)


def test_diversity_loss_mode_seeking_over_neighbouring_pairs():
    # Sample i is paired with i - 1 (the first with the last). Codes: every
    # pair differs by 1 per element (d_z = 1). Images (2 pixels): pairs
    # (0, 2), (1, 0), (2, 1) differ by d_x = 1, 0.5, 0.5. The ratios
    # 1, 0.5, 0.5 give 1/ratio = 1, 2, 2: the mean 5/3 (a sum would be 5).
    z = f32([[0.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    x_hat = f32([[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]]).reshape(3, 2, 1)
    assert value(losses.diversity_loss(z, x_hat)) == pytest.approx(5 / 3, rel=1e-4)
    # Codes twice as far apart for the same images: the ratio halves, the
    # term doubles; outputs that move with the codes cost less.
    assert value(losses.diversity_loss(2 * z, x_hat)) == pytest.approx(10 / 3, rel=1e-4)
    assert value(losses.diversity_loss(z, 2 * x_hat)) == pytest.approx(5 / 6, rel=1e-4)
    # Every code decoded to one image: the ratio is 0, the term 1/ε.
    same = np.zeros((3, 2, 1), "float32")
    assert value(losses.diversity_loss(z, same)) == pytest.approx(1e5, rel=1e-4)


def test_diversity_loss_pairs_within_groups():
    # Four codes of two groups, interleaved a, c, b, d: a, b of group 0 and
    # c, d of group 1 sit 1000 apart on the first element. Within a group
    # the codes differ by 1 and the images by 0.5 on the second element
    # (ratio 0.5, 1/ratio 2); across groups images move as codes do (1/ratio
    # 1 to within 10⁻³). In batch order every neighbour is of the other
    # group: about 1. Sorted by group, the ring pairs a-b and c-d and two
    # pairs across: (2 + 2 + 1 + 1) / 4 = 1.5, whichever order each group
    # keeps.
    z = f32([[0.0, 0.0], [1000.0, 0.0], [0.0, 1.0], [1000.0, 1.0]])
    x_hat = f32([[0.0, 0.0], [1000.0, 0.0], [0.0, 0.5], [1000.0, 0.5]])
    groups = np.array([0, 1, 0, 1], "int32")
    assert value(losses.diversity_loss(z, x_hat)) == pytest.approx(1.0, rel=1e-3)
    assert value(losses.diversity_loss(z, x_hat, groups)) == pytest.approx(
        1.5, rel=1e-3
    )


def test_pixel_reconstruction_loss_equation_3():
    """A batch of two images of two pixels: the sum over pixels, the mean
    over the batch."""
    x = f32([[[[1.0], [0.0]]], [[[1.0], [1.0]]]])
    x_hat = f32([[[[0.5], [0.5]]], [[[0.25], [1.0]]]])
    # Bernoulli: image 0: -ln 0.5 twice; image 1: -ln 0.25 (the second
    # pixel is exact); their batch mean
    bce = (2 * math.log(2.0) + math.log(4.0)) / 2
    assert value(losses.pixel_reconstruction_loss(x, x_hat, "bce")) == pytest.approx(
        bce, rel=1e-5
    )
    # squared errors: 0.25 + 0.25 and 0.5625 + 0, summed per image, averaged
    assert value(losses.pixel_reconstruction_loss(x, x_hat, "mse")) == pytest.approx(
        (0.5 + 0.5625) / 2
    )
    with pytest.raises(
        ValueError, match="`reconstruction_loss` must be one of \\('bce', 'mse'\\)"
    ):
        losses.pixel_reconstruction_loss(x, x_hat, "l1")


def test_consistency_loss_fixmatch_over_unlabeled_samples():
    # Rows 0, 1, 3 are unlabeled; row 2 is labeled (ignored though confident).
    # τ = 0.95: row 0 (0.96 → class 0) and row 3 (0.97 → class 1) pass, row 1
    # (0.5) does not. L_u = (−log p_s(0)_0 − log p_s(3)_1) / |U| with |U| = 3.
    labels = np.array([-1, -1, 2, -1], "int32")
    weak = f32(
        [[0.96, 0.02, 0.02], [0.5, 0.3, 0.2], [0.01, 0.01, 0.98], [0.01, 0.97, 0.02]]
    )
    strong = f32(
        [[0.5, 0.25, 0.25], [0.1, 0.1, 0.8], [0.9, 0.05, 0.05], [0.2, 0.4, 0.4]]
    )
    expected = (-math.log(0.5) - math.log(0.4)) / 3.0
    assert value(losses.consistency_loss(labels, weak, strong, 0.95)) == pytest.approx(
        expected, rel=1e-6
    )
    # τ = 0: every unlabeled row counts, row 1 with its weak argmax 0.
    expected = (-math.log(0.5) - math.log(0.1) - math.log(0.4)) / 3.0
    assert value(losses.consistency_loss(labels, weak, strong, 0.0)) == pytest.approx(
        expected, rel=1e-6
    )
    # A batch without an unlabeled sample gives 0, not NaN.
    all_labeled = np.array([0, 1, 2, 1])
    assert value(losses.consistency_loss(all_labeled, weak, strong, 0.0)) == 0
    np.testing.assert_array_equal(
        to_numpy(losses.pseudo_label_mask(labels, weak, 0.95)), [1.0, 0.0, 0.0, 1.0]
    )


# -- the recursive autoencoder GAN's losses, per step ------------------------
def test_reconstruction_error_is_a_per_image_mean_over_pixels():
    """Two images of two pixels: BCE −ln 0.5 twice, then −ln 0.25 and 0."""
    x = f32([[[[1.0], [0.0]]], [[[1.0], [1.0]]]])
    x_hat = f32([[[[0.5], [0.5]]], [[[0.25], [1.0]]]])
    np.testing.assert_allclose(
        to_numpy(losses.reconstruction_error(x, x_hat)),
        [math.log(2.0), math.log(4.0) / 2],
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        to_numpy(losses.reconstruction_error(x, x_hat, "mse")),
        [0.25, 0.5625 / 2],
        rtol=1e-6,
    )


def test_logit_crossentropy_against_each_target():
    logits = f32([[0.0], [math.log(3.0)]])  # sigmoid: 0.5 and 0.75
    np.testing.assert_allclose(
        to_numpy(losses.logit_crossentropy(logits, 1.0)),
        [math.log(2.0), -math.log(0.75)],
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        to_numpy(losses.logit_crossentropy(logits, 0.0)),
        [math.log(2.0), -math.log(0.25)],
        rtol=1e-5,
    )


def test_step_weights_go_to_their_own_steps():
    """Two images, three recursion steps whose losses differ (1, 2, 4 and
    8, 16, 32); image 0 weighs steps (1, 0, 1), image 1 only step 2. The
    mean over scheduled steps: (1 + 4) / 2 = 2.5 and 32; the report's sum:
    5 and 32. Batch means 17.25 and 18.5. A swapped column, or a mean over
    all steps, gives another number."""
    values = f32([[1.0, 2.0, 4.0], [8.0, 16.0, 32.0]])
    weights = f32([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    assert value(losses.weighted_step_mean(values, weights)) == pytest.approx(17.25)
    assert value(losses.weighted_step_sum(values, weights)) == pytest.approx(18.5)
    reversed_weights = weights[:, ::-1]
    assert value(losses.weighted_step_sum(values, reversed_weights)) == (
        pytest.approx((1.0 + 4.0 + 8.0) / 2)
    )
