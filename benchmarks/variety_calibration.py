"""What the variety metrics read on sets whose variety is known.

    KERAS_BACKEND=tensorflow python benchmarks/variety_calibration.py --dataset mnist

Compares `--num-samples` real test images against, each in the reference
classifier's features (`savae_keras.metrics.variety`):

* `real`: as many other real test images (what a perfect model scores);
* `five_per_class`: five real images per class, each repeated (a model that
  draws a handful of images per class);
* `one_per_class`: one real image per class, repeated (one image per class);
* `blurred`: other real test images blurred by a Gaussian of `--blur` pixels
  (a model whose samples are right but blurred, as a VAE's).

Prints one JSON line per set: precision, recall, density, coverage and the
within-class spread ratio. The reference classifier is the dataset's
(trained on `SAVAE_REFERENCE_TRAIN_SIZE` images when set, else the whole
split), named in each line.
"""

import argparse
import json

import numpy as np

from savae_keras.cli import positive_int
from savae_keras.data import load_dataset
from savae_keras.metrics import reference_classifier
from savae_keras.metrics import variety_metrics


def blur(images, sigma):
    """Each image convolved with a Gaussian of `sigma` pixels (both axes)."""
    radius = int(np.ceil(3 * sigma))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-(offsets**2) / (2 * sigma**2))
    kernel /= kernel.sum()
    padded = np.pad(images, ((0, 0), (radius, radius), (radius, radius), (0, 0)))
    rows = sum(w * padded[:, i : i + images.shape[1]] for i, w in enumerate(kernel))
    return sum(w * rows[:, :, i : i + images.shape[2]] for i, w in enumerate(kernel))


def repeated(images, labels, per_class, total, rng):
    """`per_class` real images of each class, repeated to `total` samples."""
    chosen = []
    for label in np.unique(labels):
        chosen += list(rng.choice(np.flatnonzero(labels == label), per_class, False))
    chosen = np.array(chosen)
    picks = chosen[np.arange(total) % len(chosen)]
    return images[picks], labels[picks]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--num-samples", type=positive_int, default=2000)
    parser.add_argument("--blur", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    reference = reference_classifier(args.dataset)
    images, labels = load_dataset(args.dataset, "test")
    images = images.astype("float32") / 255.0
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(images))
    n = args.num_samples
    real, real_labels = images[order[:n]], labels[order[:n]]
    other, other_labels = images[order[n : 2 * n]], labels[order[n : 2 * n]]
    blurred = blur(other, args.blur)
    sets = {
        "real": (other, other_labels),
        "five_per_class": repeated(other, other_labels, 5, n, rng),
        "one_per_class": repeated(other, other_labels, 1, n, rng),
        "blurred": (blurred, other_labels),
    }
    real_features = reference.features(real)
    for name, (fake, fake_labels) in sets.items():
        scores = variety_metrics(
            real_features, reference.features(fake), real_labels, fake_labels
        )
        row = {
            "set": name,
            "dataset": args.dataset,
            "num_samples": n,
            "reference_test_accuracy": reference.test_accuracy,
            "reference_train_size": reference.info.get("train_size"),
            **{k: round(v, 3) for k, v in scores.items()},
        }
        print(json.dumps(row))


if __name__ == "__main__":
    main()
