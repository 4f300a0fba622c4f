"""Image grids written as PNG files with matplotlib (no screen needed)."""

import os

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _as_display(images):
    """(N, H, W, C) floats in [0, 1] -> arrays imshow accepts (grey 2-D)."""
    images = np.clip(np.asarray(images, dtype="float32"), 0.0, 1.0)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    return images


def save_image_grid(images, path, ncols=10, row_titles=None, title=None, scale=1.0):
    """Write `images` (N, H, W, C) in [0, 1] as a grid PNG at `path`.

    Args:
        images: the images, row-major; the last row may be partial.
        path: output PNG path; folders are created.
        ncols: images per row.
        row_titles: optional label shown left of each row.
        title: optional figure title.
        scale: inches per image.

    Returns:
        `path`.
    """
    plt = _pyplot()
    images = _as_display(images)
    nrows = int(np.ceil(len(images) / ncols))
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(ncols * scale, nrows * scale + (0.4 if title else 0)),
        squeeze=False,
    )
    for index, axis in enumerate(axes.flat):
        axis.set_xticks([])
        axis.set_yticks([])
        for spine in axis.spines.values():
            spine.set_visible(False)
        if index < len(images):
            axis.imshow(images[index], cmap="gray", vmin=0.0, vmax=1.0)
    if row_titles is not None:
        for row, text in enumerate(row_titles[:nrows]):
            axes[row, 0].set_ylabel(str(text), rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
