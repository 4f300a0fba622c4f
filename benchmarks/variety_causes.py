"""Why a trained SAVAE's class-conditional samples vary little, measured.

    KERAS_BACKEND=tensorflow python benchmarks/variety_causes.py runs/x/z2/savae.keras

Scores, in the reference classifier's features against `--num-samples` real
test images (`savae_keras.metrics.variety`), what each stage of generation
keeps of a class's variety:

* `codes`: in the latent space, each class's mean distance between codes
  `μ(x)` of real images over the mean distance between class means (how much
  of the code is style, how much class);
* `reconstructions`: `Dec(μ(x))` of the real images, labeled with their true
  class: the variety the encoder and decoder keep when the code comes from
  a real image (the prior plays no part);
* `conditional xS`: class-conditional samples with the prior's spread scaled
  by S (1 is what `generate` draws): does a wider draw give more variety, or
  does the decoder map the class's region to one image?

One JSON line per row: recall, coverage, precision, within-class spread and
label consistency (the reference's accuracy on the class asked for).
"""

import argparse
import json

import keras
import numpy as np

from savae_keras.cli import positive_int
from savae_keras.data import load_dataset
from savae_keras.metrics import balanced_labels
from savae_keras.metrics import reference_classifier
from savae_keras.metrics import variety_metrics
from savae_keras.saving import load_model


def code_spread(codes, labels):
    """Mean within-class pairwise code distance over the mean distance
    between class means."""
    classes = np.unique(labels)
    within = []
    for c in classes:
        z = codes[labels == c]
        d = np.linalg.norm(z[:, None] - z[None], axis=-1)
        within.append(d.sum() / (len(z) * (len(z) - 1)))
    means = np.stack([codes[labels == c].mean(0) for c in classes])
    between = np.linalg.norm(means[:, None] - means[None], axis=-1)
    return float(
        np.mean(within) / (between.sum() / (len(classes) * (len(classes) - 1)))
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--num-samples", type=positive_int, default=2000)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 2.0, 4.0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    model = load_model(args.model)
    reference = reference_classifier(args.dataset)
    images, labels = load_dataset(args.dataset, "test")
    rng = np.random.default_rng(args.seed)
    chosen = rng.choice(len(images), args.num_samples, replace=False)
    x, y = images[chosen].astype("float32") / 255.0, labels[chosen]
    real = reference.features(x)

    def row(name, generated, asked, **extra):
        scores = variety_metrics(real, reference.features(generated), y, asked)
        scores["label_consistency"] = reference.accuracy(generated, asked)
        line = {"model": args.model, "row": name, **extra}
        line.update({k: round(float(v), 3) for k, v in scores.items()})
        print(json.dumps(line), flush=True)

    codes = model.encode(x)
    print(
        json.dumps(
            {
                "model": args.model,
                "row": "codes",
                "within_over_between": round(code_spread(codes, y), 3),
            }
        )
    )
    row("reconstructions", model.reconstruct(x), y)
    prior = model.vec.class_prior
    means = keras.ops.convert_to_numpy(prior.means)
    tril = keras.ops.convert_to_numpy(prior.scale_tril)
    asked = balanced_labels(args.num_samples, model.num_classes)
    noise = rng.standard_normal((args.num_samples, model.latent_dim))
    for scale in args.scales:
        z = means[asked] + scale * np.einsum("nij,nj->ni", tril[asked], noise)
        row(
            f"conditional x{scale:g}",
            model.decode(z.astype("float32")),
            asked,
            scale=scale,
        )


if __name__ == "__main__":
    main()
