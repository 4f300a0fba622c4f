"""The figures of one trained model, as the examples and the report draw them."""

import os

import numpy as np

from savae_keras.data import load_class_names
from savae_keras.data import load_dataset
from savae_keras.data.checks import to_float_images
from savae_keras.plots.images import plot_generations
from savae_keras.plots.images import plot_latent_grid
from savae_keras.plots.images import plot_latent_space
from savae_keras.plots.images import plot_reconstruction_pairs
from savae_keras.plots.images import save_image_grid


def write_figures(model, dataset, out, seed=0, data_dir=None, num_latent=2000):
    """Write the figures the model allows; return `{caption: file name}`."""
    images, labels = load_dataset(dataset, "test", data_dir=data_dir)
    class_names = load_class_names(dataset, data_dir)
    inputs = to_float_images(images[:10])
    figures = {}

    def add(caption, path):
        figures[caption] = os.path.relpath(path, out)

    add(
        "Inputs and reconstructions",
        plot_reconstruction_pairs(
            inputs, model.reconstruct(inputs), os.path.join(out, "reconstructions.png")
        ),
    )
    if "generate" in model.capabilities:
        add(
            "Samples from the prior N(0, I)",
            save_image_grid(
                model.generate(40, seed=seed), os.path.join(out, "prior_samples.png")
            ),
        )
        if model.has_class_prior():
            classes = np.arange(min(len(class_names), 10))
            generated = model.generate(
                len(classes) * 10, labels=np.repeat(classes, 10), seed=seed
            )
            add(
                "Class-conditional generations",
                plot_generations(
                    generated,
                    os.path.join(out, "generations.png"),
                    [class_names[c] for c in classes],
                ),
            )
    if "posterior" in model.capabilities:
        z_mean = model.encode(images[:num_latent])
        add(
            "Latent space of test images",
            plot_latent_space(
                z_mean,
                labels[:num_latent],
                os.path.join(out, "latent_space.png"),
                class_names if len(class_names) <= 20 else None,
            ),
        )
        if z_mean.shape[1] == 2 and "decode" in model.capabilities:
            add(
                "Decoded latent grid",
                plot_latent_grid(model.decode, os.path.join(out, "latent_grid.png")),
            )
    return figures
