"""Variety metrics on hand-made feature sets whose answers are known."""

import numpy as np
import pytest

from savae_keras.metrics import density_coverage
from savae_keras.metrics import precision_recall
from savae_keras.metrics import within_class_spread

RNG = np.random.default_rng(0)
REAL = RNG.normal(size=(400, 8))


def test_identical_sets_are_fully_precise_and_recalled():
    assert precision_recall(REAL, REAL.copy()) == {"precision": 1.0, "recall": 1.0}
    assert density_coverage(REAL, REAL.copy())["coverage"] == 1.0


def test_disjoint_sets_score_zero():
    far = REAL + 100.0
    assert precision_recall(REAL, far) == {"precision": 0.0, "recall": 0.0}
    assert density_coverage(REAL, far) == {"density": 0.0, "coverage": 0.0}


def test_a_subset_is_precise_but_recalls_only_part():
    subset = REAL[:40]
    scores = precision_recall(REAL, subset)
    assert scores["precision"] == 1.0
    # Each of the 40 balls (radius: the 3rd neighbour among the 40, wider
    # than among 400) holds its centre and some real neighbours: more than
    # 40 / 400 of the real samples, far from all of them.
    assert 0.1 < scores["recall"] < 0.9
    assert density_coverage(REAL, subset)["coverage"] < 0.5


def test_all_samples_one_point():
    """One image repeated: precise (it is a real sample) but recalls one
    real sample of 400 (a ball of radius 0 around it)."""
    one = np.repeat(REAL[:1], 100, axis=0)
    assert precision_recall(REAL, one) == {"precision": 1.0, "recall": 1 / 400}
    # Coverage: the real balls (radius: the 5th neighbour) holding REAL[0],
    # counted here by sorting each real sample's distances.
    distances = np.linalg.norm(REAL[:, None] - REAL[None], axis=-1)
    radii = np.sort(distances, axis=1)[:, 5]  # [:, 0] is the sample itself
    holding = np.sum(distances[:, 0] <= radii)
    assert holding > 1  # REAL[0]'s own ball and its neighbours'
    scores = density_coverage(REAL, one)
    assert scores["coverage"] == holding / 400
    assert scores["density"] == pytest.approx(holding * 100 / (5 * 100))


def test_density_counts_balls_over_k():
    """A hand case: real points 0, 1, 2, 3 on a line, k = 1 (each ball's
    radius 1); a fake point at 1.5 lies in the balls of 1 and 2 (distance
    0.5) only, one at 10 in none: density (2 + 0) / (1 · 2) = 1, coverage
    2 of 4 balls."""
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    fake = np.array([[1.5], [10.0]])
    assert density_coverage(real, fake, k=1) == {"density": 1.0, "coverage": 0.5}
    # Precision: 1.5 is in a real ball, 10 is not; recall: the fake balls
    # (radius 8.5 each, the distance between the two fakes) hold 0 to 3.
    assert precision_recall(real, fake, k=1) == {"precision": 0.5, "recall": 1.0}


def test_spread_ratio_is_one_for_halves_of_a_sample_and_zero_for_copies():
    labels = np.arange(len(REAL)) % 4
    half = len(REAL) // 2
    ratio = within_class_spread(REAL[:half], labels[:half], REAL[half:], labels[half:])
    assert 0.9 < ratio < 1.1
    copies = np.repeat(REAL[:4], 50, axis=0)  # each class one repeated point
    copy_labels = np.repeat(np.arange(4), 50)
    assert within_class_spread(REAL, labels, copies, copy_labels) == 0.0


def test_spread_ratio_by_hand():
    """Class 0: real at 0 and 2 (spread 2), fake at 0 and 1 (spread 1);
    class 1: real at 0 and 1, fake at 0 and 3: mean of 1/2 and 3/1 = 1.75."""
    real = np.array([[0.0], [2.0], [0.0], [1.0]])
    fake = np.array([[0.0], [1.0], [0.0], [3.0]])
    labels = np.array([0, 0, 1, 1])
    assert within_class_spread(real, labels, fake, labels) == pytest.approx(1.75)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: precision_recall(REAL, REAL[:, :4]), "same feature size"),
        (lambda: precision_recall(REAL, REAL[:3], k=3), "`k` must be an integer"),
        (lambda: precision_recall(REAL[0], REAL), "`real` must be an"),
        (lambda: density_coverage(REAL, np.full((5, 8), np.nan)), "NaN"),
        (
            lambda: within_class_spread(REAL, np.zeros(3), REAL, np.zeros(400)),
            "`real_labels` has 3 labels",
        ),
    ],
)
def test_bad_inputs_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
