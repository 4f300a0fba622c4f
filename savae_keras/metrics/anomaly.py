"""Scoring anomaly detectors: ROC-AUC from scores and labels."""

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
