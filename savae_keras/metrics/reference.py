"""A reference classifier per dataset: the judge of generated images.

Inception weights are not available offline, and on MNIST-like data they are
a poor feature space anyway; the standard substitute is a classifier of the
domain itself. `reference_classifier(name)` trains a small CNN on the train
split once, saves it in a cache folder (`cache_dir`, else `SAVAE_CACHE_DIR`,
else `~/.cache/savae_keras`) with its test accuracy, and loads it on later
calls, from any backend. Its 128-unit penultimate layer gives the features of
the Fréchet classifier distance; its predictions give label consistency.

A quicker judge for tests and CI: `train_size` (or the environment variable
`SAVAE_REFERENCE_TRAIN_SIZE`) trains it on the first images of the train
split only. It is cached apart from the full one, its `info` says so, and
scores measured with it are comparable only with each other.
"""

import dataclasses
import json
import os
import warnings

import keras
import numpy as np

from savae_keras.cli import fraction
from savae_keras.cli import positive_int
from savae_keras.data import get_spec
from savae_keras.data import load_dataset
from savae_keras.data.checks import check_images
from savae_keras.data.checks import check_number
from savae_keras.files import save_atomically
from savae_keras.files import write_json_atomically

CACHE_DIR_ENV = "SAVAE_CACHE_DIR"
TRAIN_SIZE_ENV = "SAVAE_REFERENCE_TRAIN_SIZE"
VERSION = 1  # bump when the architecture or its training changes
FEATURE_LAYER = "features"
# The accuracy on the first HEAD test images is kept too: a loaded model
# (on any backend) can be checked against it without the whole split.
HEAD = 1000
EPOCHS = {
    "mnist": 3,
    "fashion_mnist": 6,
    "omniglot": 6,
    "caltech101_silhouettes": 20,
    "cifar10": 10,
}


def build_reference_network(image_shape, num_classes, feature_dim=128):
    """Two conv blocks (32, 64 filters), a `features` layer and a softmax."""
    x = inputs = keras.Input(tuple(image_shape), name="image")
    for filters in (32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(feature_dim, activation="relu", name=FEATURE_LAYER)(x)
    x = keras.layers.Dropout(0.3)(x)
    outputs = keras.layers.Dense(
        num_classes, activation="softmax", name="probabilities"
    )(x)
    return keras.Model(inputs, outputs, name="reference_classifier")


@dataclasses.dataclass
class ReferenceClassifier:
    """A trained domain classifier and what is known about it."""

    dataset: str
    model: keras.Model
    test_accuracy: float
    info: dict

    def __post_init__(self):
        self.image_shape = tuple(self.model.input_shape[1:])
        self.feature_model = keras.Model(
            self.model.input, self.model.get_layer(FEATURE_LAYER).output
        )

    def _check(self, images):
        return check_images(images, name="images", image_shape=self.image_shape)

    def predict(self, images, batch_size=512):
        """Class probabilities of `images` (uint8 or floats in [0, 1])."""
        return self.model.predict(self._check(images), batch_size=batch_size, verbose=0)

    def features(self, images, batch_size=512):
        """Penultimate-layer features, shape `(N, 128)`, as float64."""
        features = self.feature_model.predict(
            self._check(images), batch_size=batch_size, verbose=0
        )
        return features.astype("float64")

    def accuracy(self, images, labels, batch_size=512):
        """Fraction of `images` classified as `labels`."""
        labels = np.asarray(labels)
        return float(np.mean(self.predict(images, batch_size).argmax(axis=1) == labels))


def default_cache_dir():
    return os.environ.get(CACHE_DIR_ENV) or os.path.join(
        os.path.expanduser("~"), ".cache", "savae_keras"
    )


def default_train_size():
    """`SAVAE_REFERENCE_TRAIN_SIZE` as an int, or None (the whole split)."""
    value = os.environ.get(TRAIN_SIZE_ENV)
    if not value:
        return None
    try:
        return check_number(int(value), TRAIN_SIZE_ENV, minimum=1, integer=True)
    except ValueError:
        raise ValueError(
            f"The environment variable {TRAIN_SIZE_ENV} must be a positive "
            f"integer (training images of reference classifiers); it is {value!r}."
        ) from None


def reference_classifier(
    dataset,
    cache_dir=None,
    data_dir=None,
    epochs=None,
    seed=0,
    retrain=False,
    verbose=0,
    train_size=None,
):
    """The reference classifier of `dataset`, trained once and cached.

    Args:
        dataset: a dataset name of `savae_keras.data`.
        cache_dir: folder of the cached model; see the module docstring.
        data_dir: where the dataset's `.npz` file is (see `load_dataset`).
        epochs: training epochs (a per-dataset default otherwise); models
            of different epochs are cached apart.
        seed: seed of the training run.
        retrain: train again even if a cached model exists.
        verbose: Keras verbosity of the training run.
        train_size: train on the first `train_size` training images only
            (default `SAVAE_REFERENCE_TRAIN_SIZE`, else all); cached apart.

    Returns:
        A `ReferenceClassifier`; its `test_accuracy` was measured on the full
        test split after training and is printed when it is trained.
    """
    spec = get_spec(dataset)
    epochs = check_number(epochs or EPOCHS[dataset], "epochs", 1, integer=True)
    train_size = train_size or default_train_size()
    if train_size is not None:
        train_size = check_number(train_size, "train_size", 1, integer=True)
    folder = cache_dir or default_cache_dir()
    sliced = "" if train_size is None else f"_n{train_size}"
    path = os.path.join(
        folder, f"reference_{dataset}_v{VERSION}_e{epochs}{sliced}.keras"
    )
    info_path = path[: -len(".keras")] + ".json"
    if not retrain and os.path.isfile(path) and os.path.isfile(info_path):
        try:
            with open(info_path) as handle:
                info = json.load(handle)
            model = keras.saving.load_model(path, compile=False)
            return ReferenceClassifier(dataset, model, info["test_accuracy"], info)
        except Exception as error:  # a damaged cache entry: train a new one
            warnings.warn(
                f"Cached reference classifier {path} is unreadable ({error}); "
                "training a new one in its place.",
                stacklevel=2,
            )

    x_train, y_train = load_dataset(dataset, "train", data_dir=data_dir)
    x_train, y_train = x_train[:train_size], y_train[:train_size]
    x_test, y_test = load_dataset(dataset, "test", data_dir=data_dir)
    keras.utils.set_random_seed(seed)
    model = build_reference_network(spec.image_shape, spec.num_classes)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        check_images(x_train),
        y_train,
        batch_size=128,
        epochs=epochs,
        verbose=verbose,
    )
    probabilities = model.predict(check_images(x_test), batch_size=512, verbose=0)
    right = probabilities.argmax(axis=1) == y_test
    accuracy = float(np.mean(right))
    info = {
        "dataset": dataset,
        "test_accuracy": accuracy,
        "test_size": int(len(x_test)),
        f"test_accuracy_first_{HEAD}": float(np.mean(right[:HEAD])),
        "train_size": int(len(x_train)),
        "epochs": epochs,
        "seed": seed,
        "trained_on_backend": keras.backend.backend(),
        "version": VERSION,
    }
    print(
        f"Reference classifier for {dataset}: test accuracy {accuracy:.4f} "
        f"({len(x_test)} images; trained on {len(x_train)} images for {epochs} "
        f"epochs); cached at {path}"
    )
    os.makedirs(folder, exist_ok=True)
    save_atomically(model.save, path)  # never a half-written cache entry
    write_json_atomically(info, info_path)
    return ReferenceClassifier(dataset, model, accuracy, info)


def main(argv=None):
    """`python -m savae_keras.metrics.reference mnist fashion_mnist ...`."""
    import argparse

    parser = argparse.ArgumentParser(
        description="Train (or load) and cache the reference classifiers."
    )
    parser.add_argument("datasets", nargs="+", choices=sorted(EPOCHS))
    parser.add_argument("--epochs", type=positive_int, default=None)
    parser.add_argument(
        "--train-size",
        type=positive_int,
        default=None,
        help=f"train on the first images only (default: ${TRAIN_SIZE_ENV}, else all)",
    )
    parser.add_argument(
        "--min-accuracy",
        type=fraction,
        default=None,
        help="exit with an error if a classifier's test accuracy is lower",
    )
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    failed = []
    for dataset in args.datasets:
        reference = reference_classifier(
            dataset,
            args.cache_dir,
            args.data_dir,
            epochs=args.epochs,
            train_size=args.train_size,
        )
        print(
            f"{dataset}: reference classifier test accuracy "
            f"{reference.test_accuracy:.4f} ({reference.info['epochs']} epochs, "
            f"{reference.info.get('train_size', 'all')} training images)"
        )
        if args.min_accuracy and reference.test_accuracy < args.min_accuracy:
            failed.append(dataset)
    if failed:
        parser.exit(1, f"below --min-accuracy {args.min_accuracy}: {failed}\n")


if __name__ == "__main__":
    main()
