"""Figures of the papers, written as PNG files with matplotlib (no screen).

Every function writes one figure to `path` (folders are created), closes
it, and returns `path`. Figures have a fixed size in pixels: `figsize` in
inches times `DPI`.
"""

import os

import numpy as np

from savae_keras.data.checks import to_float_images
from savae_keras.distribution import is_chief

DPI = 100


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path):
    """Write the figure (in the chief process only, across several)."""
    plt = _pyplot()
    if is_chief():
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _float_images(images):
    """uint8 (0..255) or float images -> float32 (N, H, W, C) in [0, 1]."""
    images = to_float_images(images)
    images = np.clip(images.astype("float32"), 0.0, 1.0)
    return images if images.ndim == 4 else images[..., None]


def _as_display(images):
    """Images as arrays `imshow` takes: grey ones without a channel axis."""
    images = _float_images(images)
    return images[..., 0] if images.shape[-1] == 1 else images


def save_image_grid(images, path, ncols=10, row_titles=None, title=None, scale=1.0):
    """Write `images` (N, H, W, C) in [0, 1] as a grid, row-major.

    Args:
        images: the images; the last row may be partial.
        path: output PNG path.
        ncols: images per row.
        row_titles: optional label left of each row.
        title: optional figure title.
        scale: inches per image.
    """
    plt = _pyplot()
    images = _as_display(images)
    nrows = int(np.ceil(len(images) / ncols))
    # Room for the longest row title: 1.2 inches, or 0.1 inch per character
    # and one to spare where a title is longer than 11 characters.
    lines = [line for t in row_titles or [] for line in str(t).splitlines()]
    longest = max(map(len, lines), default=0)
    left = max(12, longest + 1) / 10 if row_titles is not None else 0.0
    top = 0.5 if title else 0.0
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(ncols * scale + left, nrows * scale + top),
        squeeze=False,
    )
    width, height = fig.get_size_inches()
    fig.subplots_adjust(
        left=left / width,
        right=1,
        bottom=0,
        top=1 - top / height,
        wspace=0.05,
        hspace=0.05,
    )
    for index, axis in enumerate(axes.flat):
        axis.set_xticks([])
        axis.set_yticks([])
        for spine in axis.spines.values():
            spine.set_visible(False)
        if index < len(images):
            axis.imshow(images[index], cmap="gray", vmin=0.0, vmax=1.0)
    for row, text in enumerate((row_titles or [])[:nrows]):
        axes[row, 0].set_ylabel(str(text), rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_reconstruction_pairs(images, reconstructions, path, n=10, title=None):
    """Figure 10: inputs (top row) above their reconstructions (bottom row)."""
    n = min(n, len(images))
    grid = np.concatenate(
        [_float_images(images[:n]), _float_images(reconstructions[:n])]
    )
    return save_image_grid(
        grid,
        path,
        ncols=n,
        row_titles=["input", "output"],
        title=title or "inputs and reconstructions",
    )


def plot_generations(images, path, class_names, per_class=10, title=None):
    """Class-conditional generations: one row of `per_class` images per class.

    `images` are ordered class by class (`per_class` images of class 0, then
    of class 1, ...), as `generate(labels=np.repeat(classes, per_class))`
    returns them.
    """
    return save_image_grid(
        images,
        path,
        ncols=per_class,
        row_titles=list(class_names),
        title=title or "class-conditional generations",
    )


def plot_side_by_side(inputs, reconstructions, generations, path, class_names):
    """Models side by side: their reconstructions, then their generations.

    Args:
        inputs: the input images (the top row).
        reconstructions: `{model name: reconstructions of inputs}`, one row
            each under the inputs.
        generations: `{model name: images}` ordered class by class, the
            same number per class for every model; each class gets one row
            with the models' images one after the other.
        class_names: the name of each class of `generations`.
    """
    n = len(inputs)
    rows = [_float_images(inputs)]
    names = ["input"]
    for name, images in reconstructions.items():
        rows.append(_float_images(images)[:n])
        names.append(f"{name} rec.")
    per_class = n // max(len(generations), 1)
    by_class = {
        name: _float_images(images).reshape(
            len(class_names), -1, *np.shape(images)[1:]
        )[:, :per_class]
        for name, images in generations.items()
    }
    for c, class_name in enumerate(class_names):
        row = np.concatenate([images[c] for images in by_class.values()])
        blank = np.zeros((n - len(row), *row.shape[1:]), row.dtype)
        rows.append(np.concatenate([row, blank]))  # aligned to the n columns
        names.append(str(class_name))
    return save_image_grid(
        np.concatenate(rows),
        path,
        ncols=n,
        row_titles=names,
        title="reconstructions, then class-conditional generations: "
        + " | ".join(f"{name}" for name in generations),
    )


def _two_dimensions(z):
    """The first two latent dimensions, or the top two principal components."""
    z = np.asarray(z, dtype="float64")
    if z.shape[1] <= 2:
        return z, ("z[0]", "z[1]")
    centred = z - z.mean(axis=0)
    _, _, directions = np.linalg.svd(centred, full_matrices=False)
    return centred @ directions[:2].T, ("PC 1", "PC 2")


def plot_latent_space(z, labels, path, class_names=None, title=None):
    """Figure 7: latent codes coloured by class.

    A 2-D latent space is drawn as it is; a larger one is projected on its
    top two principal components (the axis labels say which).
    """
    plt = _pyplot()
    points, axis_names = _two_dimensions(z)
    labels = np.asarray(labels)
    classes = np.unique(labels[labels >= 0])
    fig, axis = plt.subplots(figsize=(7, 6))
    colours = plt.get_cmap("tab10" if len(classes) <= 10 else "nipy_spectral")
    for index, c in enumerate(classes):
        members = labels == c
        name = class_names[c] if class_names is not None else str(c)
        colour = colours(
            index if len(classes) <= 10 else index / max(len(classes) - 1, 1)
        )
        axis.scatter(*points[members].T, s=4, color=colour, label=name, alpha=0.7)
    if len(classes) <= 20:
        axis.legend(markerscale=3, fontsize=8, loc="upper right")
    axis.set_xlabel(axis_names[0])
    axis.set_ylabel(axis_names[1])
    axis.set_title(title or "latent space")
    fig.tight_layout()
    return _save(fig, path)


def plot_latent_grid(decode, path, n=15, span=3.0, title=None):
    """Figure 8: images decoded over an `n`x`n` grid of a 2-D latent space.

    `decode` maps `(n², 2)` codes to images; the grid spans `[-span, span]`
    on both axes (the prior's ±3σ by default).
    """
    values = np.linspace(-span, span, n, dtype="float32")
    codes = np.array([[x, y] for y in values[::-1] for x in values], dtype="float32")
    return save_image_grid(
        decode(codes),
        path,
        ncols=n,
        scale=0.6,
        title=title or f"decoded latent grid, z in [-{span:g}, {span:g}]²",
    )


def plot_beta_gamma_grid(inputs, reconstructions, path, title=None):
    """Figure 9: reconstructions of the same inputs for each (β, γ).

    Args:
        inputs: the input images (the top row).
        reconstructions: a dict `{(beta, gamma): images}`, one row each,
            drawn in the dict's order.
    """
    rows = [_float_images(inputs)]
    names = ["input"]
    for (beta, gamma), images in reconstructions.items():
        rows.append(_float_images(images)[: len(inputs)])
        names.append(f"β={beta:g} γ={gamma:g}")
    return save_image_grid(
        np.concatenate(rows),
        path,
        ncols=len(inputs),
        row_titles=names,
        title=title or "reconstructions for each β and γ",
    )


def plot_history(history, path, title=None):
    """Training curves of a `keras.callbacks.History` (or its dict).

    One panel per metric, with its `val_` curve when there is one.
    """
    plt = _pyplot()
    logs = getattr(history, "history", history)
    names = [k for k in logs if not k.startswith("val_")]
    if not names:
        raise ValueError("`history` holds no metric to plot.")
    columns = min(3, len(names))
    rows = int(np.ceil(len(names) / columns))
    fig, axes = plt.subplots(
        rows, columns, figsize=(4 * columns, 3 * rows), squeeze=False
    )
    for axis, name in zip(axes.flat, names):
        epochs = np.arange(1, len(logs[name]) + 1)
        axis.plot(epochs, logs[name], marker="o", label="train")
        if f"val_{name}" in logs:
            axis.plot(epochs, logs[f"val_{name}"], marker="o", label="validation")
            axis.legend(fontsize=8)
        axis.set_title(name)
        axis.set_xlabel("epoch")
    for axis in list(axes.flat)[len(names) :]:
        axis.set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_test_curves(rows, floor, path):
    """Test BCE against epochs: one line per row of the recursive-GAN
    comparison (dicts with `model`, `curve` = [{`epoch`, `test_bce`}] and
    `report`), the report's value dashed beside it, the images' floor dotted."""
    plt = _pyplot()
    fig, axis = plt.subplots(figsize=(6, 4))
    for row in rows:
        epochs = [p["epoch"] for p in row["curve"]]
        (line,) = axis.plot(
            epochs,
            [p["test_bce"] for p in row["curve"]],
            marker=".",
            label=row["model"],
        )
        if row["report"] is not None:
            axis.axhline(row["report"], color=line.get_color(), linestyle="--", lw=1)
    axis.axhline(floor, color="black", linestyle=":", lw=1, label="floor (own entropy)")
    axis.set_xlabel("epoch")
    axis.set_ylabel("test BCE, one pass")
    axis.legend(fontsize=8)
    axis.set_title("test BCE against epochs (dashed: the report's)")
    fig.tight_layout()
    return _save(fig, path)


def plot_objective_over_beta(rows, objective, path, title=None):
    """A search's objective over β (log axis), one line per γ.

    `rows`: dicts with `beta`, `gamma` and `objective` (one per trial).
    """
    if not rows:
        raise ValueError("`rows` is empty: no finished trial to plot.")
    plt = _pyplot()
    fig, axis = plt.subplots(figsize=(6, 4))
    for gamma in sorted({row["gamma"] for row in rows}):
        chosen = sorted((r["beta"], r[objective]) for r in rows if r["gamma"] == gamma)
        betas, values = zip(*chosen)
        axis.plot(betas, values, marker="o", label=f"γ = {gamma:g}")
    axis.set_xscale("log")
    axis.set_xlabel("β")
    axis.set_ylabel(objective)
    axis.legend(fontsize=8)
    axis.set_title(title or f"{objective} over β")
    fig.tight_layout()
    return _save(fig, path)
