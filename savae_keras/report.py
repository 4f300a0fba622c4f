"""A Markdown report of a saved model: its metrics table and its figures.

    python -m savae_keras.report --model runs/mnist/savae.keras --dataset mnist \\
        --out runs/mnist/report

Loads the `.keras` file, runs `evaluate_generative` on the test split, and
writes `report.md`, `metrics.json` and the figures the model allows:
input/reconstruction pairs, samples from the prior, class-conditional
generations, the latent space and, for a 2-D latent space, the decoded
latent grid.
"""

import argparse
import json
import os

import keras
import numpy as np

import savae_keras  # noqa: F401  (registers the package's classes for loading)
from savae_keras.data import load_class_names
from savae_keras.data import load_dataset
from savae_keras.metrics import evaluate_generative
from savae_keras.plots import plot_generations
from savae_keras.plots import plot_latent_grid
from savae_keras.plots import plot_latent_space
from savae_keras.plots import plot_reconstruction_pairs
from savae_keras.plots import save_image_grid

ROWS = [
    ("vec_accuracy", "VEC test accuracy", "{:.4f}"),
    ("mse", "reconstruction MSE", "{:.4f}"),
    ("bce", "reconstruction BCE", "{:.4f}"),
    ("psnr", "reconstruction PSNR (dB)", "{:.2f}"),
    ("ssim", "reconstruction SSIM", "{:.3f}"),
    ("fcd_reconstructions", "FCD of reconstructions", "{:.3f}"),
    (
        "label_consistency_reconstructions",
        "label consistency of reconstructions",
        "{:.4f}",
    ),
    ("fcd_prior_samples", "FCD of prior samples", "{:.3f}"),
    ("fcd_conditional_samples", "FCD of class-conditional samples", "{:.3f}"),
    (
        "label_consistency_generations",
        "label consistency of class-conditional samples",
        "{:.4f}",
    ),
]


def metrics_table(metrics):
    """The metrics as a two-column Markdown table ("–" where not applicable)."""
    lines = ["| metric | value |", "| --- | --- |"]
    for key, name, form in ROWS:
        value = metrics.get(key)
        lines.append(f"| {name} | {'–' if value is None else form.format(value)} |")
    return "\n".join(lines)


def write_figures(model, dataset, out, seed=0, data_dir=None, num_latent=2000):
    """Write the figures the model allows; return `{caption: file name}`."""
    images, labels = load_dataset(dataset, "test", data_dir=data_dir)
    class_names = load_class_names(dataset, data_dir)
    inputs = images[:10].astype("float32") / 255.0
    figures = {}

    def add(caption, path):
        figures[caption] = os.path.relpath(path, out)

    add(
        "Inputs and reconstructions",
        plot_reconstruction_pairs(
            inputs, model.reconstruct(inputs), os.path.join(out, "reconstructions.png")
        ),
    )
    if hasattr(model, "generate"):
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
    codes = model.encode(images[:num_latent]) if hasattr(model, "encode") else None
    if isinstance(codes, tuple):
        z_mean = codes[0]
        add(
            "Latent space of test images",
            plot_latent_space(
                z_mean,
                labels[:num_latent],
                os.path.join(out, "latent_space.png"),
                class_names if len(class_names) <= 20 else None,
            ),
        )
        if z_mean.shape[1] == 2 and hasattr(model, "decode"):
            add(
                "Decoded latent grid",
                plot_latent_grid(model.decode, os.path.join(out, "latent_grid.png")),
            )
    return figures


def write_report(
    model, dataset, out, num_samples=2000, seed=0, data_dir=None, cache_dir=None
):
    """Evaluate `model` on `dataset` and write the report to `out`."""
    os.makedirs(out, exist_ok=True)
    metrics = evaluate_generative(
        model,
        dataset,
        num_samples=num_samples,
        seed=seed,
        data_dir=data_dir,
        cache_dir=cache_dir,
    )
    figures = write_figures(model, dataset, out, seed=seed, data_dir=data_dir)
    with open(os.path.join(out, "metrics.json"), "w") as handle:
        json.dump(metrics, handle, indent=2)
    lines = [
        f"# {type(model).__name__} on {dataset}",
        "",
        f"Backend {keras.backend.backend()}; {metrics['num_samples']} test images "
        f"(seed {seed}). Reference classifier: test accuracy "
        f"{metrics['reference_test_accuracy']:.4f}, "
        f"{metrics['reference_accuracy_on_samples']:.4f} on these images.",
        "",
        metrics_table(metrics),
        "",
    ]
    for caption, name in figures.items():
        lines += [f"## {caption}", "", f"![{caption}]({name})", ""]
    path = os.path.join(out, "report.md")
    with open(path, "w") as handle:
        handle.write("\n".join(lines))
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", required=True, help="a .keras file saved by this package"
    )
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args(argv)
    if not os.path.isfile(args.model):
        parser.error(f"--model: no file at {args.model!r}")
    model = keras.saving.load_model(args.model)
    path = write_report(
        model,
        args.dataset,
        args.out,
        args.num_samples,
        args.seed,
        args.data_dir,
        args.cache_dir,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
