"""Random windows of variable-length series (`savae_keras.data.windows`)."""

import numpy as np
import pytest

import savae_keras as sk
from savae_keras.data.windows import classify_series
from savae_keras.data.windows import load_series
from savae_keras.data.windows import series_components
from savae_keras.data.windows import series_windows
from savae_keras.data.windows import window_dataset
from savae_keras.data.windows import window_features
from tests.helpers import VEC_OPTIONS


def test_window_features_by_hand():
    # min-max per window, and log10(peak |x|) = log10(4) mapped from [-1, 1].
    features = window_features(np.array([[[0.0], [2.0], [-4.0]]]), (-1.0, 1.0))
    expected_level = (np.log10(4.0) + 1.0) / 2.0
    np.testing.assert_allclose(
        features.numpy()[0],
        [[2 / 3, expected_level], [1.0, expected_level], [0.0, expected_level]],
        rtol=1e-5,
    )
    # A constant window is 0, not NaN; the level is clipped into [0, 1].
    flat = window_features(np.full((1, 4, 1), 1e4), (-1.0, 1.0)).numpy()
    np.testing.assert_array_equal(flat[0], [[0.0, 1.0]] * 4)


def _ramps(n=8, length=300):
    """`n` ramps 1, 2, ..., length: a window's peak tells where it starts."""
    return [np.arange(1, length + 1, dtype="float32")[:, None] for _ in range(n)]


def _starts(batch, window):
    """The start of each ramp window, read back from its amplitude channel."""
    peak = 10 ** (batch[:, 0, 1] * 4.0)  # the level over (0, 4) in log10
    return np.round(peak).astype(int) - window


def test_window_dataset_draws_new_true_crops_every_epoch():
    window = 100
    data = window_dataset(
        _ramps(), np.arange(8), window, 8, amplitude_range=(0.0, 4.0), seed=3
    )
    assert int(data.cardinality()) == 1
    epochs = [next(iter(data)) for _ in range(2)]
    starts = []
    for x, y in epochs:
        x = x.numpy()
        assert x.shape == (8, window, 2) and sorted(y.numpy()) == list(range(8))
        # each window is a contiguous crop: a ramp min-max scaled to [0, 1]
        np.testing.assert_allclose(
            x[..., 0], np.tile(np.linspace(0, 1, window), (8, 1)), atol=1e-5
        )
        start = _starts(x, window)
        assert np.all((start >= 0) & (start <= 300 - window))
        starts.append(start[np.argsort(y.numpy())])
    assert not np.array_equal(*starts)  # re-drawn, not the same crops again


def test_short_series_are_repeated_and_unlabeled_windows_come_alone():
    series = [np.array([[1.0], [2.0], [3.0]], "float32")]
    (x,) = list(window_dataset(series, None, 7, 4, seed=0))
    np.testing.assert_allclose(x.numpy()[0, :, 0], [0, 0.5, 1, 0, 0.5, 1, 0])
    windows, index = series_windows(series + _ramps(1, 10), 7, 2)
    assert windows.shape == (3, 7, 1) and list(index) == [0, 1, 1]


class _FixedClassifier:
    """`classify` gives each window its own probabilities (a fake VEC)."""

    def __init__(self, probabilities):
        self.probabilities = np.asarray(probabilities, "float32")

    def classify(self, windows, batch_size=256):
        assert len(windows) == len(self.probabilities)
        return self.probabilities


def test_classify_series_is_a_geometric_mean_over_windows():
    # Series 0 has windows at 0 and 2, series 1 one window.
    series = [np.arange(6.0)[:, None], np.arange(4.0)[:, None]]
    windows = [[0.9, 0.1], [0.4, 0.6], [0.2, 0.8]]
    probabilities = classify_series(_FixedClassifier(windows), series, 4, stride=2)
    geometric = np.sqrt([0.9 * 0.4, 0.1 * 0.6])
    np.testing.assert_allclose(
        probabilities, [geometric / geometric.sum(), [0.2, 0.8]], rtol=1e-5
    )


@pytest.mark.every_backend
def test_windows_train_a_vec_with_fit():
    series = [
        np.sin(np.linspace(0, (k % 2 + 1) * 12, 64 + 8 * k))[:, None] for k in range(8)
    ]
    labels = np.arange(8) % 2
    data = window_dataset(series, labels, 32, 4, amplitude_range=(-2.0, 1.0), seed=0)
    vec = sk.VariationalEncoderClassifier(
        (32, 2), 2, latent_dim=2, seed=0, **VEC_OPTIONS
    )
    vec.compile()
    history = vec.fit(data, epochs=2, verbose=0, shuffle=False)  # it shuffles
    assert np.isfinite(history.history["loss"]).all()
    probabilities = classify_series(vec, series, 32, amplitude_range=(-2.0, 1.0))
    assert probabilities.shape == (8, 2)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)


def test_load_series_keeps_true_lengths(data_dir):
    series, labels = load_series("plaid", "test")
    with np.load(f"{data_dir}/plaid.npz") as raw:
        lengths, padded = raw["length_test"], raw["x_test"]
    assert [len(s) for s in series] == list(lengths)
    assert len(labels) == len(series) == 537 and labels.dtype == np.int32
    np.testing.assert_array_equal(series[0], padded[0, : lengths[0]])


def test_bad_windows_and_series_are_named(data_dir):
    with pytest.raises(ValueError, match="`window` must be a positive integer"):
        window_dataset(_ramps(1), None, 0)
    with pytest.raises(ValueError, match=r"`series\[1\]` holds NaN"):
        series_windows([np.ones((9, 1)), np.full((9, 1), np.nan)], 4, 1)
    with pytest.raises(ValueError, match="same channels"):
        series_windows([np.ones((9, 1)), np.ones((9, 2))], 4, 1)
    with pytest.raises(ValueError, match="`amplitude_range` must be"):
        window_features(np.ones((1, 4, 1)), (1.0, 1.0))
    with pytest.raises(ValueError, match="labelled signal dataset"):
        load_series("mnist")
    with pytest.raises(ValueError, match="no split 'validation'"):
        load_series("plaid", "validation")


class _MeanModel:
    """A stand-in for a trained model: a window's components are its mean
    and its maximum."""

    primary_anomaly_component = "mean"

    def anomaly_components(self, windows):
        return {"mean": windows.mean(axis=(1, 2)), "max": windows.max(axis=(1, 2))}


def test_series_components_are_the_means_over_each_series_windows():
    series = [np.arange(12, dtype="float32")[:, None], np.ones((5, 1), "float32")]
    components = series_components(_MeanModel(), series, window=4, stride=4)
    # Unscaled windows would be [0..3], [4..7], [8..11]; each is min-max
    # scaled into [0, 1] (mean 0.5, max 1), the constant one to 0.
    np.testing.assert_allclose(components["mean"], [0.5, 0.0])
    np.testing.assert_allclose(components["max"], [1.0, 0.0])
    # A series of 12 samples has windows at 0, 2, ..., 8 with stride 2: five.
    ramp = [np.concatenate([np.zeros(8), np.arange(4)]).astype("float32")[:, None]]
    (mean,) = series_components(_MeanModel(), ramp, window=4, stride=2)["mean"]
    # Windows: [0,0,0,0] -> 0; [0,0,0,0] -> 0; [0,0,0,0] -> 0 (starts 0, 2, 4);
    # start 6: [0,0,0,1] -> 0.25; start 8: [0,1,2,3] -> 0.5.
    np.testing.assert_allclose(mean, (0.25 + 0.5) / 5)
