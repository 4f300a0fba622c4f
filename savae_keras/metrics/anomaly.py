"""Scoring anomaly detectors: ROC-AUC, calibrated sums, scores per step."""

import numpy as np


def _average_ranks(values):
    """Ranks 1..N of `values`, ties sharing their average rank."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    ranks = np.empty(len(values), "float64")
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    for start, end in zip(starts, ends):
        ranks[order[start:end]] = 0.5 * (start + 1 + end)
    return ranks


def roc_auc(scores, labels):
    """Area under the ROC curve of `scores` for `labels` (1 = anomaly).

    The exact area, as the Mann–Whitney statistic: the probability that an
    anomalous sample scores higher than a normal one, ties counting half.
    0.5 is chance, 1.0 a perfect ranking.

    Args:
        scores: one finite number per sample, higher = more anomalous.
        labels: 0 (normal) or 1 (anomalous) per sample; both must occur.
    """
    scores = np.asarray(scores, dtype="float64").reshape(-1)
    labels = np.asarray(labels).reshape(-1)
    if len(scores) != len(labels):
        raise ValueError(
            f"`scores` has {len(scores)} entries but `labels` has {len(labels)}."
        )
    if not np.all(np.isfinite(scores)):
        raise ValueError("`scores` contains NaN or infinite values.")
    if not np.all(np.isin(labels, (0, 1))):
        raise ValueError(
            f"`labels` must be 0 (normal) or 1 (anomalous); received "
            f"{np.unique(labels)[:5].tolist()}."
        )
    positives = labels == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(
            f"`labels` must hold both classes; received {n_pos} anomalous and "
            f"{n_neg} normal samples."
        )
    ranks = _average_ranks(scores)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def series_scores(window_maps, starts, length):
    """One score per time step of a long series, from its windows' maps.

    Each step's score is the mean of the map values that the windows
    covering it give it (`anomaly_map` of windows cut every few steps), so
    an anomaly shorter than a window stands out where it is instead of
    being diluted over the window's mean. Steps no window covers get NaN.

    Args:
        window_maps: `(W, window)` per-position scores of `W` windows.
        starts: where each window starts in the series, `(W,)`.
        length: the series' length.
    """
    window_maps = np.asarray(window_maps, dtype="float64")
    starts = np.asarray(starts).reshape(-1)
    if window_maps.ndim != 2 or len(window_maps) != len(starts):
        raise ValueError(
            f"`window_maps` must be (windows, window_length) with one row per "
            f"entry of `starts` ({len(starts)}); received shape "
            f"{window_maps.shape}."
        )
    window = window_maps.shape[1]
    if len(starts) and (starts.min() < 0 or starts.max() + window > length):
        raise ValueError(
            f"every window must lie inside the series of length {length}; "
            f"`starts` span [{starts.min()}, {starts.max()}] for windows of "
            f"{window} steps."
        )
    total = np.zeros(length)
    count = np.zeros(length)
    offsets = starts[:, None] + np.arange(window)[None]
    np.add.at(total, offsets, window_maps)
    np.add.at(count, offsets, 1.0)
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1.0), np.nan)


def locate_anomaly(step_scores, anomalous, tolerance=100):
    """Whether a series' highest-scoring step falls on its labelled anomaly.

    The UCR anomaly archive's rule (Wu and Keogh 2021): a detector locates
    the anomaly when its one predicted step lies within `tolerance` steps
    of the labelled stretch.

    Args:
        step_scores: one score per step (NaN for steps never scored).
        anomalous: 0/1 per step, the labelled anomaly.

    Returns:
        A dict: `top_step`, `distance` (steps from the labelled stretch, 0
        inside it), `located`, and `rank_of_first_anomalous_step` (1 when an
        anomalous step scores highest of all).
    """
    step_scores = np.asarray(step_scores, dtype="float64").reshape(-1)
    anomalous = np.asarray(anomalous).reshape(-1).astype(bool)
    if len(step_scores) != len(anomalous) or not anomalous.any():
        raise ValueError(
            f"`anomalous` must mark at least one of the {len(step_scores)} "
            f"steps of `step_scores`; received {int(anomalous.sum())} of "
            f"{len(anomalous)}."
        )
    scores = np.where(np.isnan(step_scores), -np.inf, step_scores)
    top = int(np.argmax(scores))
    marked = np.flatnonzero(anomalous)
    distance = int(max(marked[0] - top, top - marked[-1], 0))
    return {
        "top_step": top,
        "distance": distance,
        "located": distance <= tolerance,
        "rank_of_first_anomalous_step": int(
            np.sum(scores > scores[anomalous].max()) + 1
        ),
    }


def calibrated_score(components, reference):
    """The sum of `components`, each standardised by its mean and standard
    deviation in `reference` (the components of normal samples, at least
    two: one sample has no spread to scale by)."""
    missing = sorted(set(components) - set(reference))
    if missing:
        raise ValueError(
            f"`reference` lacks the components {missing}; it must hold every "
            f"component of `components` ({sorted(components)})."
        )
    score = 0.0
    for name, values in components.items():
        count = len(np.asarray(reference[name]))
        if count < 2 or not np.all(np.isfinite(reference[name])):
            raise ValueError(
                f"`reference[{name!r}]` must hold at least two finite values (the "
                f"calibration samples' spread scales the component); received "
                f"{count} value(s){'' if count < 2 else ', not all finite'}."
            )
        scale = reference[name].std()
        score = score + (values - reference[name].mean()) / (
            scale if scale > 0 else 1.0
        )
    return score
