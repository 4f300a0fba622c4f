"""Variety of generations: does a model draw many images, or one per class?

FCD compares two Gaussians fitted to features, so a model that draws one
sharp image per class can score well on it. These metrics look at the
samples themselves, in the reference classifier's feature space:

- **precision and recall** (Kynkäänniemi et al., 2019): the share of
  generated samples that fall inside the real samples' k-nearest-neighbour
  balls (fidelity), and the share of real samples inside the generated
  samples' balls (variety);
- **density and coverage** (Naeem et al., 2020): how many real balls each
  generated sample falls into, over `k` (about 1 for a model that matches
  the data, above 1 for samples crowded where real ones are dense), and the
  share of real balls that hold at least one generated sample (robust to
  outliers, unlike recall);
- **within-class spread ratio**: the mean pairwise distance among the
  generations of one class over the same among real images of that class,
  averaged over classes: 1 for real variety, 0 for one image per class.

All take `(N, D)` feature arrays (e.g. `ReferenceClassifier.features`).
"""

import functools

import numpy as np

__all__ = [
    "density_coverage",
    "precision_recall",
    "variety_metrics",
    "within_class_spread",
]


PRECISION_K = 3  # the papers' neighbours: Kynkäänniemi et al.
DENSITY_K = 5  # and Naeem et al.


def _features(features, name):
    array = np.asarray(features, dtype="float64")
    if array.ndim != 2 or len(array) < 2:
        raise ValueError(
            f"`{name}` must be an (N, D) array of features with N ≥ 2; "
            f"received shape {array.shape}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"`{name}` holds NaN or infinite features.")
    return array


def _pair(real, fake):
    real, fake = _features(real, "real"), _features(fake, "fake")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            "`real` and `fake` must have the same feature size; received "
            f"{real.shape[1]} and {fake.shape[1]}."
        )
    return real, fake


def _check_k(k, n, name):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < n:
        raise ValueError(
            f"`k` must be an integer in [1, {n - 1}] (fewer than the {n} {name} "
            f"samples); received {k!r}."
        )
    return int(k)


def _distances(a, b, rows=64):
    """Euclidean distances between the rows of `a` and of `b`, `(len(a), len(b))`.

    Differences, not `a² + b² − 2ab`: equal rows are exactly 0 apart, which
    the balls of radius 0 around repeated samples need.
    """
    out = np.empty((len(a), len(b)))
    for start in range(0, len(a), rows):
        chunk = a[start : start + rows, None, :] - b[None, :, :]
        out[start : start + rows] = np.sqrt(np.einsum("ijk,ijk->ij", chunk, chunk))
    return out


class _Distances:
    """The distances the metrics share, each computed once when first
    needed: generated to real, and within each set (for the k-NN radii)."""

    def __init__(self, real, fake):
        self.real, self.fake = _pair(real, fake)

    @functools.cached_property
    def between(self):
        """`(len(fake), len(real))` distances."""
        return _distances(self.fake, self.real)

    @functools.cached_property
    def _within(self):
        within = {}
        for name, points in (("real", self.real), ("fake", self.fake)):
            distances = _distances(points, points)
            np.fill_diagonal(distances, np.inf)  # a point is not its neighbour
            within[name] = distances
        return within

    def radii(self, name, k):
        """Each `name` point's distance to its k-th nearest neighbour among
        the others."""
        return np.partition(self._within[name], k - 1, axis=1)[:, k - 1]


def precision_recall(real, fake, k=PRECISION_K):
    """Improved precision and recall (Kynkäänniemi et al., 2019).

    Precision is the share of `fake` samples within the k-NN ball of at
    least one `real` sample (a ball's radius: the distance from its centre
    to its k-th nearest neighbour in its own set); recall is the same with
    the roles swapped.

    Args:
        real: `(N, D)` features of real images.
        fake: `(M, D)` features of generated images.
        k: the neighbour that sets each ball's radius (3 in the paper).

    Returns:
        `{"precision": float, "recall": float}`, each in [0, 1].
    """
    return _precision_recall(_Distances(real, fake), k)


def _precision_recall(d, k):
    k = _check_k(k, min(len(d.real), len(d.fake)), "real or fake")
    precision = np.mean((d.between <= d.radii("real", k)[None, :]).any(axis=1))
    recall = np.mean((d.between <= d.radii("fake", k)[:, None]).any(axis=0))
    return {"precision": float(precision), "recall": float(recall)}


def density_coverage(real, fake, k=DENSITY_K):
    """Density and coverage (Naeem et al., 2020), on the real k-NN balls.

    Density is `(1 / (k·M)) Σ_j #{real balls holding fake_j}`; coverage the
    share of real balls that hold at least one fake sample.

    Args:
        real: `(N, D)` features of real images.
        fake: `(M, D)` features of generated images.
        k: the neighbour that sets each real ball's radius (5 in the paper).

    Returns:
        `{"density": float, "coverage": float}`; coverage in [0, 1],
        density ≥ 0 (1 in expectation when both sets share a distribution).
    """
    return _density_coverage(_Distances(real, fake), k)


def _density_coverage(d, k):
    k = _check_k(k, len(d.real), "real")
    inside = d.between <= d.radii("real", k)[None, :]
    density = inside.sum() / (k * len(d.fake))
    coverage = inside.any(axis=0).mean()
    return {"density": float(density), "coverage": float(coverage)}


def _mean_pairwise_distance(points):
    distances = _distances(points, points)
    n = len(points)
    return distances.sum() / (n * (n - 1))


def within_class_spread(real, real_labels, fake, fake_labels):
    """Mean over classes of (mean pairwise distance among the fake samples
    of the class) / (the same among the real samples of the class).

    1 when generations vary as much as real images within a class, 0 when
    every generation of a class is the same image.

    Args:
        real: `(N, D)` features of real images; `real_labels` their classes.
        fake: `(M, D)` features of generations; `fake_labels` the classes
            they were asked for.

    Returns:
        The ratio, a float; classes with fewer than two samples in either
        set are left out (an error if none is left).
    """
    real, fake = _pair(real, fake)
    real_labels = np.asarray(real_labels).reshape(-1)
    fake_labels = np.asarray(fake_labels).reshape(-1)
    for labels, points, name in (
        (real_labels, real, "real_labels"),
        (fake_labels, fake, "fake_labels"),
    ):
        if len(labels) != len(points):
            raise ValueError(
                f"`{name}` has {len(labels)} labels for {len(points)} samples."
            )
    ratios = []
    for label in np.unique(fake_labels):
        real_class = real[real_labels == label]
        fake_class = fake[fake_labels == label]
        if len(real_class) < 2 or len(fake_class) < 2:
            continue
        real_spread = _mean_pairwise_distance(real_class)
        if real_spread > 0:
            ratios.append(_mean_pairwise_distance(fake_class) / real_spread)
    if not ratios:
        raise ValueError(
            "No class has two or more samples in both `real` and `fake` "
            "(with distinct real samples): the spread is undefined."
        )
    return float(np.mean(ratios))


def variety_metrics(real, fake, real_labels=None, fake_labels=None):
    """Precision, recall, density, coverage and, given both sets' labels,
    the within-class spread ratio, as one dict of floats."""
    d = _Distances(real, fake)  # shared by the four metrics
    results = {
        **_precision_recall(d, PRECISION_K),
        **_density_coverage(d, DENSITY_K),
    }
    if real_labels is not None and fake_labels is not None:
        results["within_class_spread"] = within_class_spread(
            real, real_labels, fake, fake_labels
        )
    return results
