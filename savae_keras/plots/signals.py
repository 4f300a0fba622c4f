"""Figures of 1-D signals `(N, length, channels)`: inputs against
reconstructions, and generated series per class."""

import numpy as np

from savae_keras.plots.images import _pyplot
from savae_keras.plots.images import _save


def plot_series_reconstructions(signals, reconstructions, path, n=6, titles=None):
    """One panel per series: the input (black) and each model's reconstruction.

    Args:
        signals: `(N, length, C)` inputs; the first `n` are drawn (channel 0
            solid, further channels fainter).
        reconstructions: `{model name: (N, length, C) array}`.
        titles: optional panel titles (such as class names).
    """
    plt = _pyplot()
    signals = np.asarray(signals)[:n]
    fig, axes = plt.subplots(1, len(signals), figsize=(3 * len(signals), 2.4))
    axes = np.atleast_1d(axes)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, ax in enumerate(axes):
        for c in range(signals.shape[-1]):
            alpha = 1.0 if c == 0 else 0.35
            ax.plot(
                signals[i, :, c],
                color="black",
                lw=1.2,
                alpha=alpha,
                label="input" if c == 0 else None,
            )
            for (name, values), colour in zip(reconstructions.items(), colours):
                ax.plot(
                    np.asarray(values)[i, :, c],
                    color=colour,
                    lw=1.0,
                    alpha=alpha,
                    label=name if c == 0 else None,
                )
        ax.set_ylim(-0.05, 1.05)
        ax.set_xticks([])
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
    axes[0].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return _save(fig, path)


def plot_generated_series(series_by_class, path, class_names, per_class=4):
    """A row of panels per model, one panel per class, `per_class` series each.

    Args:
        series_by_class: `{model name: (num_classes * per_class, length, C)}`,
            class-major (the first `per_class` are class 0, and so on).
    """
    plt = _pyplot()
    rows = len(series_by_class)
    cols = len(class_names)
    fig, axes = plt.subplots(
        rows, cols, figsize=(1.8 * cols, 1.6 * rows), squeeze=False
    )
    for r, (name, series) in enumerate(series_by_class.items()):
        series = np.asarray(series)
        for k in range(cols):
            ax = axes[r, k]
            for s in series[k * per_class : (k + 1) * per_class]:
                ax.plot(s[:, 0], lw=0.8)
            ax.set_ylim(-0.05, 1.05)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(str(class_names[k]), fontsize=8)
        axes[r, 0].set_ylabel(name, fontsize=8)
    fig.tight_layout()
    return _save(fig, path)
