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
import os

import keras

import savae_keras  # noqa: F401  (registers the package's classes for loading)
from savae_keras.data import get_spec
from savae_keras.files import write_json_atomically
from savae_keras.files import write_text_atomically
from savae_keras.metrics import check_num_samples
from savae_keras.metrics import evaluate_generative
from savae_keras.plots import write_figures
from savae_keras.saving import ModelFileError
from savae_keras.saving import load_model

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
    ("precision_prior", "precision of prior samples", "{:.3f}"),
    ("recall_prior", "recall of prior samples", "{:.3f}"),
    ("precision_conditional", "precision of class-conditional samples", "{:.3f}"),
    ("recall_conditional", "recall of class-conditional samples", "{:.3f}"),
    ("density_conditional", "density of class-conditional samples", "{:.3f}"),
    ("coverage_conditional", "coverage of class-conditional samples", "{:.3f}"),
    ("within_class_spread", "within-class spread of generations / real", "{:.3f}"),
]


def metrics_table(metrics):
    """The metrics as a two-column Markdown table ("–" where not applicable)."""
    lines = ["| metric | value |", "| --- | --- |"]
    for key, name, form in ROWS:
        value = metrics.get(key)
        lines.append(f"| {name} | {'–' if value is None else form.format(value)} |")
    return "\n".join(lines)


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
    write_json_atomically(metrics, os.path.join(out, "metrics.json"))
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
    return write_text_atomically("\n".join(lines), os.path.join(out, "report.md"))


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
    spec = get_spec(args.dataset)  # an unknown name fails before any work
    check_num_samples(args.num_samples, name="--num-samples")
    try:
        model = load_model(args.model, expected_input_shape=spec.image_shape)
    except (FileNotFoundError, ModelFileError) as error:
        parser.error(f"--model: {error}")
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
