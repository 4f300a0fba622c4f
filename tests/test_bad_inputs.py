"""Bad inputs get clear errors that name the argument, on every path.

One table: each row is a call a user could make, the exception it must
raise and a pattern its message must match (the argument's name, and what
was expected). The tiny models the rows use are built once per process.
"""

import functools
import os

import keras
import numpy as np
import pytest

import savae_keras as sk
from savae_keras import SAVAE
from savae_keras import VAE
from savae_keras import AdversarialDecoder
from savae_keras import RecursiveAutoencoderGAN
from savae_keras import VariationalEncoderClassifier
from savae_keras.data import ImageBatches
from savae_keras.data import load_dataset
from savae_keras.data import make_dataset
from savae_keras.data import mask_labels
from savae_keras.experiments.savae import run as run_experiment
from savae_keras.experiments.signals import run_anomaly
from savae_keras.metrics import evaluate_generative
from savae_keras.metrics import reference_classifier
from savae_keras.saving import ModelFileError
from savae_keras.saving import load_model
from tests.helpers import DECODER_OPTIONS
from tests.helpers import TINY
from tests.helpers import VEC_OPTIONS
from tests.model_cases import build
from tests.model_cases import frozen_vec

NAN, INF = float("nan"), float("inf")
RNG = np.random.default_rng(0)
X = RNG.integers(0, 256, (32, 28, 28, 1)).astype("uint8")
Y = np.arange(32) % 10
X_FLOAT_255 = X.astype("float32")  # floats not scaled to [0, 1]
X_NAN = np.full((4, 28, 28, 1), np.nan, "float32")
X_RGB = np.zeros((4, 32, 32, 3), "uint8")


@functools.lru_cache(maxsize=None)
def models():
    """Tiny compiled models, trained one step where a method needs it."""
    vec = build("vec")
    vec.compile()
    frozen = frozen_vec(X, Y)
    decoder = build("decoder", vec=frozen)
    decoder.compile()
    vae = build("vae", num_classes=None)  # no class prior
    vae.compile()
    gan = build("recursive_gan", latent_dim=4)
    gan.compile()
    return {
        "vec": vec,
        "frozen": frozen,
        "decoder": decoder,
        "vae": vae,
        "gan": gan,
    }


def m(name):
    return models()[name]


class FloatBatches(keras.utils.PyDataset):
    """A PyDataset of the given batches (for bad-value cases)."""

    def __init__(self, *batches):
        super().__init__()
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        return self.batches[index]


def tf_dataset(*elements):
    import tensorflow as tf

    elements = elements if len(elements) > 1 else elements[0]
    return tf.data.Dataset.from_tensor_slices(elements).batch(8)


def tf_dict_dataset():
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices(
        {"image": X.astype("float32") / 255, "label": Y}
    ).batch(8)


def without_data_dir(call):
    """Run `call` with SAVAE_DATA_DIR unset (a missing data folder)."""
    saved = os.environ.pop("SAVAE_DATA_DIR", None)
    try:
        return call()
    finally:
        if saved is not None:
            os.environ["SAVAE_DATA_DIR"] = saved


def weights_of_another_latent_size():
    """`load_weights` of a latent-2 VEC's file into a latent-3 VEC."""
    import tempfile

    options = {"encoder_options": TINY["encoder_options"]}
    path = os.path.join(tempfile.mkdtemp(), "vec.weights.h5")
    sk.VariationalEncoderClassifier(latent_dim=2, **options).save_weights(path)
    sk.VariationalEncoderClassifier(latent_dim=3, **options).load_weights(path)


def truncated_file(tmp):
    path = os.path.join(tmp, "truncated.keras")
    with open(path, "wb") as handle:
        handle.write(b"PK\x03\x04 half a file")
    return path


V = VariationalEncoderClassifier
CASES = {
    # -- hyperparameters: numbers checked, NaN and inf refused
    "vec latent_dim 0": (lambda: V(latent_dim=0), ValueError, "`latent_dim`"),
    "vec latent_dim float": (lambda: V(latent_dim=2.5), ValueError, "`latent_dim`"),
    "vec num_classes 1": (lambda: V(num_classes=1), ValueError, "`num_classes`"),
    "vec kl_weight nan": (lambda: V(kl_weight=NAN), ValueError, "`kl_weight`.*finite"),
    "vec kl_weight inf": (lambda: V(kl_weight=INF), ValueError, "`kl_weight`.*finite"),
    "vec kl_weight negative": (lambda: V(kl_weight=-1), ValueError, "`kl_weight`"),
    "vec kl_weight string": (lambda: V(kl_weight="1"), ValueError, "`kl_weight`"),
    "vec kl_warmup_steps negative": (
        lambda: V(kl_warmup_steps=-1),
        ValueError,
        "`kl_warmup_steps`",
    ),
    "vec kl_warmup_steps fraction": (
        lambda: V(kl_warmup_steps=2.5),
        ValueError,
        "`kl_warmup_steps`.*integer",
    ),
    "vec consistency_weight negative": (
        lambda: V(consistency_weight=-0.5),
        ValueError,
        "`consistency_weight`",
    ),
    "vec confidence_threshold above 1": (
        lambda: V(consistency_weight=1.0, confidence_threshold=1.5),
        ValueError,
        "`confidence_threshold`.*<= 1",
    ),
    "vec consistency_rampup_steps fraction": (
        lambda: V(consistency_weight=1.0, consistency_rampup_steps=0.5),
        ValueError,
        "`consistency_rampup_steps`.*integer",
    ),
    "vec augmentation without the term": (
        lambda: V(strong_augmentation=keras.layers.Identity(), **VEC_OPTIONS),
        ValueError,
        "`consistency_weight`",
    ),
    "vec augmentation not a layer": (
        lambda: V(consistency_weight=1.0, weak_augmentation="flip", **VEC_OPTIONS),
        TypeError,
        "`weak_augmentation` must be a Keras layer",
    ),
    "vec augmentation changes the shape": (
        lambda: V(
            consistency_weight=1.0,
            strong_augmentation=keras.layers.Cropping2D(2),
            **VEC_OPTIONS,
        ),
        ValueError,
        "`strong_augmentation` must keep the image shape",
    ),
    # A 2-D shape is a signal shape (length, channels) since issue 18.
    "vec input_shape 1-D": (
        lambda: V(input_shape=(28,)),
        ValueError,
        "`input_shape`",
    ),
    "vec input_shape 4-D": (
        lambda: V(input_shape=(28, 28, 1, 1)),
        ValueError,
        "`input_shape`",
    ),
    "vec input_shape odd": (
        lambda: V(input_shape=(30, 30, 1)),
        ValueError,
        "`input_shape`.*multiples of 4",
    ),
    "vec feature_layers unknown": (
        lambda: V(feature_layers=("nope",), **VEC_OPTIONS),
        ValueError,
        "`feature_layers`",
    ),
    "vec seed negative": (lambda: V(seed=-1), ValueError, "`seed`"),
    "decoder beta nan": (
        lambda: AdversarialDecoder(m("frozen"), beta=NAN),
        ValueError,
        "`beta`.*finite",
    ),
    "decoder beta inf": (
        lambda: AdversarialDecoder(m("frozen"), beta=INF),
        ValueError,
        "`beta`.*finite",
    ),
    "decoder gamma inf": (
        lambda: AdversarialDecoder(m("frozen"), gamma=INF),
        ValueError,
        "`gamma`.*finite",
    ),
    "decoder gamma negative": (
        lambda: AdversarialDecoder(m("frozen"), gamma=-0.1),
        ValueError,
        "`gamma` must be a number >= 0",
    ),
    "decoder n_critic 0": (
        lambda: AdversarialDecoder(m("frozen"), n_critic=0),
        ValueError,
        "`n_critic` must be an integer >= 1",
    ),
    "decoder n_critic float": (
        lambda: AdversarialDecoder(m("frozen"), n_critic=2.5),
        ValueError,
        "`n_critic`",
    ),
    "decoder critic_target nan": (
        lambda: AdversarialDecoder(m("frozen"), critic_target=NAN),
        ValueError,
        "`critic_target`",
    ),
    "decoder feature_weights nan": (
        lambda: AdversarialDecoder(m("frozen"), feature_weights=(1, NAN, 0.01)),
        ValueError,
        "`feature_weights`",
    ),
    "decoder pixel_weight negative": (
        lambda: AdversarialDecoder(m("frozen"), pixel_weight=-1.0),
        ValueError,
        "`pixel_weight`",
    ),
    "decoder diversity_weight negative": (
        lambda: AdversarialDecoder(m("frozen"), diversity_weight=-0.1),
        ValueError,
        "`diversity_weight`",
    ),
    "decoder diversity_pairs unknown": (
        lambda: AdversarialDecoder(m("frozen"), diversity_pairs="pairs"),
        ValueError,
        "`diversity_pairs`",
    ),
    "decoder prior_weight nan": (
        lambda: AdversarialDecoder(m("frozen"), prior_weight=NAN),
        ValueError,
        "`prior_weight`",
    ),
    "decoder vec trainable": (
        lambda: AdversarialDecoder(m("vec")),
        ValueError,
        "`vec` is trainable",
    ),
    "decoder vec of another kind": (
        lambda: AdversarialDecoder(m("vae")),
        TypeError,
        "`vec` must be",
    ),
    "vae reconstruction_loss": (
        lambda: VAE(reconstruction_loss="l1"),
        ValueError,
        "`reconstruction_loss`",
    ),
    "vae latent_dim negative": (lambda: VAE(latent_dim=-1), ValueError, "`latent_dim`"),
    "vae num_classes 0": (lambda: VAE(num_classes=0), ValueError, "`num_classes`"),
    "gan recursion_steps negative": (
        lambda: RecursiveAutoencoderGAN(recursion_steps=-1),
        ValueError,
        "`recursion_steps`",
    ),
    "gan adversarial_weight nan": (
        lambda: RecursiveAutoencoderGAN(adversarial_weight=NAN),
        ValueError,
        "`adversarial_weight`.*finite",
    ),
    "gan step_schedule": (
        lambda: RecursiveAutoencoderGAN(step_schedule="sometimes"),
        ValueError,
        "`step_schedule`",
    ),
    "gan input_shape": (
        lambda: RecursiveAutoencoderGAN(input_shape=(30, 30, 1)),
        ValueError,
        "`input_shape`",
    ),
    "savae beta nan": (lambda: SAVAE(beta=NAN, **TINY), ValueError, "`beta`"),
    # strings are not booleans, fractions are not sizes
    "critic spectral_normalization 'no'": (
        lambda: SAVAE(critic_options={"spectral_normalization": "no"}),
        ValueError,
        "`critic_options\\['spectral_normalization'\\]` must be True or False; "
        "received 'no'",
    ),
    "decoder warm_start 'no'": (
        lambda: AdversarialDecoder(m("frozen"), warm_start="no"),
        ValueError,
        "`warm_start` must be True or False; received 'no'",
    ),
    "savae ema 'no'": (
        lambda: SAVAE.from_preset("tiny", ema="no"),
        ValueError,
        "`ema` must be True or False; received 'no'",
    ),
    "vec input_shape 64.7": (
        lambda: VariationalEncoderClassifier(input_shape=(64.7, 1)),
        ValueError,
        "`input_shape` must be an image shape .* received \\(64.7, 1\\)",
    ),
    "fit batch_size 0": (
        lambda: m("vec").fit(X[:4], Y[:4], batch_size=0, verbose=0),
        ValueError,
        "`batch_size` must be an integer >= 1; received 0",
    ),
    "savae fit batch_size 0": (
        lambda: SAVAE.from_preset("tiny").fit(X[:4], Y[:4], batch_size=0),
        ValueError,
        "`batch_size` must be an integer >= 1; received 0",
    ),
    # with $SAVAE_DATA_DIR set too: it is not read instead
    "load_dataset data_dir missing": (
        lambda: sk.load_dataset("mnist", data_dir="/no/such/folder"),
        FileNotFoundError,
        "`data_dir` must be a folder of `<name>.npz` files; '/no/such/folder'",
    ),
    "savae kl_weight inf": (
        lambda: SAVAE(kl_weight=INF, **TINY),
        ValueError,
        "`kl_weight`",
    ),
    # -- numpy inputs of fit / evaluate / predict / *_on_batch / __call__
    "fit floats in 0..255": (
        lambda: m("vec").fit(X_FLOAT_255, Y, verbose=0),
        ValueError,
        "`x`: floating images must lie in \\[0, 1\\]",
    ),
    "fit NaN images": (
        lambda: m("vec").fit(X_NAN, Y[:4], verbose=0),
        ValueError,
        "`x` contains NaN",
    ),
    "fit wrong image shape": (
        lambda: m("vec").fit(X_RGB, Y[:4], verbose=0),
        ValueError,
        "`x` must have image shape \\(28, 28, 1\\)",
    ),
    "fit 2-D array": (
        lambda: m("vec").fit(np.zeros((4, 784), "uint8"), Y[:4], verbose=0),
        ValueError,
        "`x` must have shape",
    ),
    "fit string images": (
        lambda: m("vec").fit(np.full((4, 28, 28), "a"), Y[:4], verbose=0),
        TypeError,
        "`x` must be uint8",
    ),
    "fit empty images": (
        lambda: m("vec").fit(X[:0], Y[:0], verbose=0),
        ValueError,
        "`x` is empty",
    ),
    "fit label 10 of 10 classes": (
        lambda: m("vec").fit(X[:4], [0, 1, 2, 10], verbose=0),
        ValueError,
        "`y`: values must lie in \\[0, 10\\)",
    ),
    "fit label -2": (
        lambda: m("vec").fit(X[:4], [0, 1, 2, -2], verbose=0),
        ValueError,
        "`y`: values must lie",
    ),
    "fit labels of another length": (
        lambda: m("vec").fit(X[:4], Y[:3], verbose=0),
        ValueError,
        "`y` has 3 entries but there are 4 images",
    ),
    "fit fractional labels": (
        lambda: m("vec").fit(X[:4], [0.5, 1, 2, 3], verbose=0),
        TypeError,
        "`y` must hold integer class indices",
    ),
    "fit one-hot labels": (
        lambda: m("vec").fit(X[:4], np.eye(10)[:4], verbose=0),
        ValueError,
        "`y` must be a vector of class indices",
    ),
    "fit every label -1": (
        lambda: m("vec").fit(X[:4], [-1] * 4, verbose=0),
        ValueError,
        "`y`: every label is -1",
    ),
    "fit without labels": (
        lambda: m("vec").fit(X[:4], verbose=0),
        ValueError,
        "needs labels: pass `y`",
    ),
    "fit sample_weight": (
        lambda: m("vec").fit(X[:4], Y[:4], sample_weight=np.ones(4), verbose=0),
        ValueError,
        "`sample_weight` is not supported",
    ),
    "fit class_weight": (
        lambda: m("vec").fit(X[:4], Y[:4], class_weight={0: 2.0}, verbose=0),
        ValueError,
        "`class_weight` is not supported",
    ),
    "fit NaN validation_data": (
        lambda: m("vec").fit(X[:4], Y[:4], validation_data=(X_NAN, Y[:4]), verbose=0),
        ValueError,
        "`validation_data` contains NaN",
    ),
    "evaluate floats in 0..255": (
        lambda: m("vec").evaluate(X_FLOAT_255, Y, verbose=0),
        ValueError,
        "`x`: floating images must lie in \\[0, 1\\]",
    ),
    "evaluate sample_weight": (
        lambda: m("vec").evaluate(X[:4], Y[:4], sample_weight=np.ones(4), verbose=0),
        ValueError,
        "`sample_weight` is not supported",
    ),
    "predict floats in 0..255": (
        lambda: m("vec").predict(X_FLOAT_255, verbose=0),
        ValueError,
        "`x`: floating images must lie in \\[0, 1\\]",
    ),
    "predict wrong shape": (
        lambda: m("decoder").predict(X_RGB, verbose=0),
        ValueError,
        "`x` must have image shape",
    ),
    "train_on_batch NaN": (
        lambda: m("vec").train_on_batch(X_NAN, Y[:4]),
        ValueError,
        "`x` contains NaN",
    ),
    "train_on_batch sample_weight": (
        lambda: m("vec").train_on_batch(X[:4], Y[:4], sample_weight=np.ones(4)),
        ValueError,
        "`sample_weight` is not supported",
    ),
    "test_on_batch label out of range": (
        lambda: m("vec").test_on_batch(X[:4], [0, 1, 2, 12]),
        ValueError,
        "`y`: values must lie",
    ),
    "call on floats in 0..255": (
        lambda: m("vec")(X_FLOAT_255[:2]),
        ValueError,
        "`inputs`: floating images must lie in \\[0, 1\\]",
    ),
    # -- datasets: structure, dtype, values and labels of the first batch
    "tf.data floats in 0..255": (
        lambda: m("vec").fit(tf_dataset(X_FLOAT_255, Y), verbose=0),
        ValueError,
        "`x \\(first batch\\)`: floating images must lie in \\[0, 1\\]",
    ),
    "tf.data uint8": (
        lambda: m("vec").fit(tf_dataset(X, Y), verbose=0),
        ValueError,
        "`x`: images in a dataset must be floats",
    ),
    "tf.data dict elements": (
        lambda: m("vec").fit(tf_dict_dataset(), verbose=0),
        ValueError,
        "`x`: dataset elements must be images or \\(images, labels\\).*dict",
    ),
    "tf.data label out of range": (
        lambda: m("vec").fit(tf_dataset(X / 255.0, Y + 5), verbose=0),
        ValueError,
        "`labels of x`: values must lie",
    ),
    "tf.data sample weights": (
        lambda: m("vec").fit(tf_dataset(X / 255.0, Y, np.ones(32)), verbose=0),
        ValueError,
        "`x`: dataset elements .* 3 parts",
    ),
    "tf.data without labels": (
        lambda: m("vec").fit(tf_dataset(X / 255.0), verbose=0),
        ValueError,
        "needs labels",
    ),
    "PyDataset NaN": (
        lambda: m("vec").fit(FloatBatches((X_NAN, Y[:4])), verbose=0),
        ValueError,
        "`x \\(first batch\\)` contains NaN",
    ),
    "PyDataset wrong shape": (
        lambda: m("vae").fit(FloatBatches(X_RGB.astype("float32")), verbose=0),
        ValueError,
        "`x`: images must have shape \\(batch, 28, 28, 1\\)",
    ),
    "decoder fit floats in 0..255": (
        lambda: m("decoder").fit(X_FLOAT_255, verbose=0),
        ValueError,
        "`x`: floating images",
    ),
    "gan fit NaN": (
        lambda: m("gan").fit(X_NAN, verbose=0),
        ValueError,
        "`x` contains NaN",
    ),
    "vae fit class_weight": (
        lambda: m("vae").fit(X, class_weight={0: 1.0}, verbose=0),
        ValueError,
        "`class_weight` is not supported",
    ),
    # -- the models' own methods
    "decode wrong shape": (
        lambda: m("decoder").decode(np.zeros((3, 5))),
        ValueError,
        "`z` must have shape \\(N, 2\\)",
    ),
    "decode NaN": (
        lambda: m("decoder").decode(np.full((3, 2), np.nan)),
        ValueError,
        "`z` contains NaN",
    ),
    "decode strings": (
        lambda: m("decoder").decode(np.full((3, 2), "a")),
        ValueError,
        "`z` must hold numbers",
    ),
    "generate n 0": (
        lambda: m("decoder").generate(0),
        ValueError,
        "`n` must be an integer >= 1",
    ),
    "generate n float": (lambda: m("decoder").generate(2.5), ValueError, "`n`"),
    "generate labels of another count": (
        lambda: m("decoder").generate(3, labels=[0, 1]),
        ValueError,
        "`labels` must be one class index or 3",
    ),
    "generate label out of range": (
        lambda: m("decoder").generate(3, labels=11),
        ValueError,
        "`labels` must lie in \\[0, 10\\)",
    ),
    "generate given labels without classes": (
        lambda: m("vae").generate(3, labels=0),
        ValueError,
        "`num_classes`",
    ),
    "reconstruct wrong shape": (
        lambda: m("vae").reconstruct(X_RGB),
        ValueError,
        "`x` must have image shape",
    ),
    "gan reconstruct steps negative": (
        lambda: m("gan").reconstruct(X[:2], steps=-1),
        ValueError,
        "`steps` must be an integer >= 0",
    ),
    "vec cannot decode": (
        lambda: m("vec").decode(np.zeros((2, 2))),
        NotImplementedError,
        "VariationalEncoderClassifier cannot decode",
    ),
    "compile unknown argument": (
        lambda: m("vec").compile(loss="mse"),
        TypeError,
        "unexpected arguments \\['loss'\\]",
    ),
    "compile unknown optimizer name": (
        lambda: m("decoder").compile(generator_optimizer="adam"),
        TypeError,
        "\\['generator_optimizer'\\]",
    ),
    # -- data helpers, evaluation and files
    "make_dataset batch_size 0": (
        lambda: make_dataset(X, Y, batch_size=0),
        ValueError,
        "`batch_size` must be a positive integer",
    ),
    "make_dataset labeled_fraction 1.5": (
        lambda: make_dataset(X, Y, labeled_fraction=1.5),
        ValueError,
        "`labeled_fraction`",
    ),
    "mask_labels fraction nan": (
        lambda: mask_labels(Y, NAN),
        ValueError,
        "`labeled_fraction` must lie in \\(0, 1\\]",
    ),
    "mask_labels labels_per_class 0": (
        lambda: mask_labels(Y, labels_per_class=0),
        ValueError,
        "`labels_per_class` must be an integer >= 1",
    ),
    "mask_labels labels_per_class above a class": (
        lambda: mask_labels(Y, labels_per_class=4),
        ValueError,
        "`labels_per_class` is 4 but class 2 has only 3",
    ),
    "mask_labels fraction and per class": (
        lambda: mask_labels(Y, 0.5, labels_per_class=1),
        ValueError,
        "`labeled_fraction` or `labels_per_class`, not both",
    ),
    "ImageBatches label out of range in a later batch": (
        lambda: m("vec").fit(
            ImageBatches(
                X, np.where(np.arange(32) == 30, 12, Y), batch_size=8, shuffle=False
            ),
            epochs=1,
            verbose=0,
        ),
        ValueError,
        "`labels of x`: values must lie in \\[0, 10\\).*received \\[12\\]",
    ),
    "ImageBatches batch_size negative": (
        lambda: ImageBatches(X, batch_size=-1),
        ValueError,
        "`batch_size`",
    ),
    "load_dataset unknown name": (
        lambda: load_dataset("mnist2"),
        ValueError,
        "mnist2",
    ),
    "load_dataset unknown split": (
        lambda: load_dataset("mnist", "holdout"),
        ValueError,
        "holdout",
    ),
    "mse of NaN images": (
        lambda: sk.metrics.reconstruction.mean_squared_error(
            np.full((2, 28, 28, 1), np.nan, "float32"), np.zeros((2, 28, 28, 1))
        ),
        ValueError,
        "`images` contains NaN or infinite values",
    ),
    "mse of NaN reconstructions": (
        lambda: sk.metrics.reconstruction_metrics(
            np.zeros((2, 28, 28, 1)), np.full((2, 28, 28, 1), np.inf, "float32")
        ),
        ValueError,
        "`reconstructions` contains NaN or infinite values",
    ),
    "anomaly_score calibration of one sample": (
        lambda: m("decoder").anomaly_score(X[:4], calibration=X[:1]),
        ValueError,
        "`calibration` must hold at least two normal samples .*; received 1",
    ),
    "calibrated_score missing component": (
        lambda: sk.metrics.calibrated_score(
            {"a": np.zeros(3), "b": np.zeros(3)}, {"a": np.arange(3.0)}
        ),
        ValueError,
        "`reference` lacks the components \\['b'\\]",
    ),
    "calibrated_score NaN reference": (
        lambda: sk.metrics.calibrated_score(
            {"a": np.zeros(3)}, {"a": np.array([0.0, np.nan])}
        ),
        ValueError,
        "`reference\\['a'\\]` must hold at least two finite values",
    ),
    "sliding_windows window 0": (
        lambda: sk.data.loading.sliding_windows(np.zeros(50), 0, 1),
        ValueError,
        "`window` must be an integer >= 1; received 0",
    ),
    "sliding_windows stride 0": (
        lambda: sk.data.loading.sliding_windows(np.zeros(50), 10, 0),
        ValueError,
        "`stride` must be an integer >= 1; received 0",
    ),
    "sliding_windows window longer than the series": (
        lambda: sk.data.loading.sliding_windows(np.zeros(50), 60, 1),
        ValueError,
        "`window` \\(60\\) must not exceed the series' length \\(50\\)",
    ),
    "run_anomaly train_size -5": (
        lambda: run_anomaly("trace", train_size=-5),
        ValueError,
        "`train_size` must be an integer >= 1; received -5",
    ),
    "critic_options unknown key": (
        lambda: AdversarialDecoder(m("frozen"), critic_options={"filters": (4,)}),
        ValueError,
        "`critic_options` has unknown keys \\['filters'\\]; `build_critic` takes "
        "\\['conv_filters'",
    ),
    "encoder_options not a dict": (
        lambda: VAE(encoder_options=[8, 8]),
        ValueError,
        "`encoder_options` must be a dict of `build_encoder`'s arguments",
    ),
    "compile an optimizer of an unknown name": (
        lambda: SAVAE.from_preset("tiny").adversarial_decoder.compile(
            decoder_optimizer="adamx"
        ),
        ValueError,
        "`decoder_optimizer` must be a Keras optimizer, its name .* received 'adamx'",
    ),
    "load_dataset missing data folder": (
        lambda: without_data_dir(
            lambda: load_dataset("omniglot", data_dir="/no/such/folder")
        ),
        FileNotFoundError,
        "`data_dir` must be a folder of `<name>.npz` files; '/no/such/folder'",
    ),
    "evaluate_generative too few samples": (
        lambda: evaluate_generative(m("decoder"), "mnist", num_samples=100),
        ValueError,
        "`num_samples` must be at least 256",
    ),
    "reference_classifier unknown dataset": (
        lambda: reference_classifier("cifar100"),
        ValueError,
        "cifar100",
    ),
    "run vec_share 1": (
        lambda: run_experiment("mnist", overrides={"seconds": 10, "vec_share": 1.0}),
        ValueError,
        "`vec_share` must be > 0 and < 1 \\(a number\\); received 1.0",
    ),
    "run train_size past the split": (  # MNIST here holds 60,000 training images
        lambda: run_experiment("mnist", train_size=60001),
        ValueError,
        "`train_size` is 60001 but the train split of mnist has 60000 images",
    ),
    "load_ucr_series not a UCR series": (
        lambda: sk.data.load_ucr_series("trace"),
        ValueError,
        "`name` must be a UCR anomaly series",
    ),
    "locate_anomaly no anomaly marked": (
        lambda: sk.metrics.locate_anomaly(np.zeros(5), np.zeros(5)),
        ValueError,
        "`anomalous` must mark at least one",
    ),
    "mse of no image": (
        lambda: sk.metrics.reconstruction.mean_squared_error(
            np.zeros((0, 28, 28, 1)), np.zeros((0, 28, 28, 1))
        ),
        ValueError,
        "are empty \\(N = 0\\)",
    ),
    "load_weights of another latent size": (
        weights_of_another_latent_size,
        ValueError,
        "do not fit this VariationalEncoderClassifier .*'latent_dim': 3",
    ),
    "vat_epsilon zero": (
        lambda: sk.VariationalEncoderClassifier(vat_epsilon=0.0),
        ValueError,
        "`vat_epsilon`",
    ),
    "load_model missing file": (
        lambda: load_model("/no/such/model.keras"),
        FileNotFoundError,
        "`filepath`",
    ),
}


def test_the_table_is_large():
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_gets_a_clear_error(case):
    call, error, pattern = CASES[case]
    with pytest.raises(error, match=pattern):
        call()


def test_truncated_model_file(tmp_path):
    with pytest.raises(ModelFileError, match="`filepath` .* not a complete"):
        load_model(truncated_file(str(tmp_path)))


def test_numpy_scalars_are_accepted_as_hyperparameters():
    vec = VariationalEncoderClassifier(
        latent_dim=np.int64(2),
        num_classes=np.int32(10),
        kl_weight=np.float32(0.1),
        **VEC_OPTIONS,
    )
    assert vec.latent_dim == 2 and isinstance(vec.latent_dim, int)
    decoder = AdversarialDecoder(
        m("frozen"),
        beta=np.float64(0.01),
        gamma=np.float32(0.1),
        n_critic=np.int64(2),
        **DECODER_OPTIONS,
    )
    assert decoder.n_critic == 2 and decoder.get_config()["beta"] == 0.01
    assert m("decoder").generate(np.int64(2), seed=0).shape == (2, 28, 28, 1)


def test_predict_on_uint8_equals_predict_on_floats():
    vec = m("frozen")
    np.testing.assert_allclose(
        vec.predict(X[:8], verbose=0),
        vec.predict(X[:8].astype("float32") / 255.0, verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(vec(X[:4])),
        keras.ops.convert_to_numpy(vec(X[:4].astype("float32") / 255.0)),
        rtol=1e-5,
        atol=1e-6,
    )


def test_package_import_is_complete():
    assert sk.models.Trainer is not None
