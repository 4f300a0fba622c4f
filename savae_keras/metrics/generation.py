"""Generation quality: Fréchet classifier distance and label consistency.

Both use a `ReferenceClassifier` of the dataset (see `reference.py`). Values
are comparable only between runs that use the same reference classifier:
reports name it (dataset, version and its test accuracy).
"""

import numpy as np

from savae_keras.data import get_spec
from savae_keras.data import load_dataset
from savae_keras.data.checks import check_images
from savae_keras.data.checks import check_number
from savae_keras.data.checks import check_split_size
from savae_keras.metrics.reconstruction import reconstruction_metrics
from savae_keras.metrics.reference import reference_classifier
from savae_keras.metrics.variety import variety_metrics

RECOMMENDED_SAMPLES = 2000
VARIETY = ("precision", "recall", "density", "coverage")
VARIETY_KINDS = ("prior", "conditional")


def _symmetric_sqrt(matrix):
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def check_num_samples(num_samples, feature_dim=128, name="num_samples"):
    """`num_samples` as an int, at least twice the feature dimension (FCD).

    Call it before training: a too-small value otherwise fails only when the
    trained model is scored.
    """
    num_samples = check_number(num_samples, name, minimum=1, integer=True)
    if num_samples < 2 * feature_dim:
        raise ValueError(
            "Too few samples for a stable Fréchet distance: "
            f"`{name}` must be at least {2 * feature_dim} (twice the reference "
            f"classifier's {feature_dim} features; {RECOMMENDED_SAMPLES} "
            f"recommended); received {num_samples}."
        )
    return num_samples


def frechet_distance(features_a, features_b):
    """Fréchet distance between Gaussians fitted to two feature sets.

    `‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a^½ Σ_b Σ_a^½)^½)`, with the matrix
    square roots taken by eigen-decomposition of symmetric matrices.

    Each set needs at least twice as many samples as feature dimensions (256
    for the reference classifier's 128 features), or the covariance is too
    poorly estimated to mean anything; 2,000 or more give a stable value.
    """
    a = np.asarray(features_a, dtype="float64")
    b = np.asarray(features_b, dtype="float64")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            "Feature sets must be (N, D) arrays with the same D; received "
            f"{a.shape} and {b.shape}."
        )
    needed = 2 * a.shape[1]
    if min(len(a), len(b)) < needed:
        raise ValueError(
            f"Too few samples for a stable Fréchet distance: {len(a)} and {len(b)} "
            f"for {a.shape[1]}-dimensional features. Use at least {needed} per set "
            f"(twice the feature dimension); {RECOMMENDED_SAMPLES} or more are "
            "recommended."
        )
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root_a = _symmetric_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    trace_root = np.sqrt(
        np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)
    ).sum()
    distance = (
        np.sum((mean_a - mean_b) ** 2)
        + np.trace(cov_a)
        + np.trace(cov_b)
        - 2 * trace_root
    )
    return float(max(distance, 0.0))


def frechet_classifier_distance(reference, real_images, other_images):
    """FCD: the Fréchet distance of the reference classifier's features."""
    return frechet_distance(
        reference.features(real_images), reference.features(other_images)
    )


def label_consistency(reference, images, labels):
    """Fraction of `images` the reference classifier assigns to `labels`."""
    return reference.accuracy(images, labels)


def balanced_labels(num_samples, num_classes):
    """`num_samples` class indices cycling through every class."""
    return np.arange(num_samples) % num_classes


def evaluate_generative(
    model,
    dataset="mnist",
    split="test",
    num_samples=RECOMMENDED_SAMPLES,
    seed=0,
    reference=None,
    data_dir=None,
    cache_dir=None,
    batch_size=256,
    data=None,
):
    """Every quality measure of a trained model on one split of a dataset.

    Works for `SAVAE`, `AdversarialDecoder`, `VAE` and
    `RecursiveAutoencoderGAN`: what a model cannot do (generate, classify,
    generate given labels before `fit_class_prior`) is reported as `None`.

    Args:
        model: the trained model.
        dataset: dataset name (its reference classifier judges the images).
        split: the split whose images are reconstructed and compared.
        num_samples: images drawn (seeded) from the split, and images
            generated; at least 256 (FCD), 2,000 recommended.
        seed: seed of the subset and of the generations.
        reference: a `ReferenceClassifier` (trained or loaded when omitted).
        data: `(images, labels)` arrays to draw from instead of `split`
            (for example a held-out part of the training split); `split`
            then only names them in the results.

    Returns:
        A dict: `num_samples`, `seed`, the reference classifier's test
        accuracy and accuracy on the subset, reconstruction `mse`, `bce`,
        `psnr`, `ssim`, `fcd_reconstructions`,
        `label_consistency_reconstructions`, `fcd_prior_samples`,
        `fcd_conditional_samples`, `label_consistency_generations`,
        `vec_accuracy`, and the variety of the generations
        (`savae_keras.metrics.variety`): `precision_*`, `recall_*`,
        `density_*`, `coverage_*` for prior (`_prior`) and class-conditional
        (`_conditional`) samples, and `within_class_spread`.
    """
    spec = get_spec(dataset)
    num_samples = check_num_samples(num_samples)
    reference = reference or reference_classifier(dataset, cache_dir, data_dir)
    images, labels = (
        data if data is not None else load_dataset(dataset, split, data_dir=data_dir)
    )
    check_split_size(num_samples, "num_samples", split, dataset, len(images))
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(images), size=num_samples, replace=False))
    images = check_images(images[chosen], name="data", image_shape=spec.image_shape)
    labels = np.asarray(labels)[chosen]
    real_features = reference.features(images)

    reconstructions = model.reconstruct(images, batch_size=batch_size)
    results = {
        "dataset": dataset,
        "split": split,
        "num_samples": int(num_samples),
        "seed": seed,
        "reference_test_accuracy": reference.test_accuracy,
        "reference_accuracy_on_samples": reference.accuracy(images, labels),
        **reconstruction_metrics(images, reconstructions),
        "fcd_reconstructions": frechet_distance(
            real_features, reference.features(reconstructions)
        ),
        "label_consistency_reconstructions": label_consistency(
            reference, reconstructions, labels
        ),
        "fcd_prior_samples": None,
        "fcd_conditional_samples": None,
        "label_consistency_generations": None,
        "vec_accuracy": None,
        **{f"{name}_{kind}": None for kind in VARIETY_KINDS for name in VARIETY},
        "within_class_spread": None,
    }
    if "generate" in model.capabilities:
        prior = model.generate(num_samples, seed=seed, batch_size=batch_size)
        prior_features = reference.features(prior)
        results["fcd_prior_samples"] = frechet_distance(real_features, prior_features)
        for name, value in variety_metrics(real_features, prior_features).items():
            results[f"{name}_prior"] = value
        if model.has_class_prior():
            wanted = balanced_labels(num_samples, spec.num_classes)
            conditional = model.generate(
                num_samples, labels=wanted, seed=seed, batch_size=batch_size
            )
            conditional_features = reference.features(conditional)
            results["fcd_conditional_samples"] = frechet_distance(
                real_features, conditional_features
            )
            results["label_consistency_generations"] = label_consistency(
                reference, conditional, wanted
            )
            variety = variety_metrics(
                real_features, conditional_features, labels, wanted
            )
            results["within_class_spread"] = variety.pop("within_class_spread")
            for name, value in variety.items():
                results[f"{name}_conditional"] = value
    if "classify" in model.capabilities:
        predictions = model.classify(images, batch_size=batch_size).argmax(axis=1)
        results["vec_accuracy"] = float(np.mean(predictions == labels))
    return results
