"""One registry of the package's models for the tests, built from the tiny preset.

Every file that checks "every model" (saving, mixed precision, distribution,
bad inputs, signals) builds it here, so a new model or a new network option
reaches all of them at once. `build(name, ...)` returns an uncompiled model
with the tiny preset's networks, for images `(28, 28, 1)` or any other
input shape (1-D signals included); keyword arguments override the case's
defaults.
The checks every case passes are in `tests/harness.py`.
"""

import keras
import numpy as np

from savae_keras import SAVAE
from savae_keras import VAE
from savae_keras import AdversarialDecoder
from savae_keras import RecursiveAutoencoderGAN
from savae_keras import VariationalEncoderClassifier
from tests.helpers import DECODER_OPTIONS
from tests.helpers import TINY
from tests.helpers import VEC_OPTIONS

MODEL_NAMES = ("vec", "decoder", "savae", "vae", "recursive_gan")
IMAGE_SHAPE = (28, 28, 1)
SIGNAL_SHAPE = (32, 2)  # (length, channels)


def random_images(n=64, seed=0, shape=IMAGE_SHAPE, num_classes=10):
    """`n` seeded images in [0, 1] and labels `0, 1, 2, ...` cycling."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, *shape)).astype("float32")
    return x, (np.arange(n) % num_classes).astype("int32")


def frozen_vec(x, y, input_shape=IMAGE_SHAPE, num_classes=10, seed=0, **options):
    """A VEC trained one epoch (batch 32, in order) on `x, y`, then frozen:
    what phase 2 is built on."""
    vec = build("vec", input_shape, num_classes, seed=seed, **options)
    vec.compile()
    vec.fit(x, y, batch_size=32, epochs=1, verbose=0, shuffle=False)
    vec.trainable = False
    return vec


def build(
    name, input_shape=IMAGE_SHAPE, num_classes=10, latent_dim=None, seed=0, **options
):
    """A tiny, uncompiled model of kind `name` (one of `MODEL_NAMES`).

    `latent_dim` defaults to 2, and to the recursive GAN's own default for it.

    `"decoder"` is an `AdversarialDecoder` on `options.pop("vec")`, or on a
    VEC trained by `frozen_vec` on seeded random images when none is given;
    its seed is `seed + 1`, as `SAVAE` seeds its phase 2.
    """
    latent = 2 if latent_dim is None else latent_dim
    if name == "vec":
        options = {**VEC_OPTIONS, **options}
        return VariationalEncoderClassifier(
            input_shape, num_classes, latent, seed=seed, **options
        )
    if name == "decoder":
        vec = options.pop("vec", None)
        if vec is None:
            keras.utils.set_random_seed(seed)
            x, y = random_images(shape=input_shape, num_classes=num_classes)
            vec = frozen_vec(x, y, input_shape, num_classes, seed, latent_dim=latent)
        options = {"n_critic": 1, **DECODER_OPTIONS, **options}
        return AdversarialDecoder(vec, seed=seed + 1, **options)
    if name == "savae":
        options = {"n_critic": 1, **TINY, **options}
        return SAVAE(input_shape, num_classes, latent, seed=seed, **options)
    if name == "vae":
        networks = {k: TINY[k] for k in ("encoder_options", "decoder_options")}
        return VAE(
            input_shape,
            num_classes=num_classes,
            latent_dim=latent,
            seed=seed,
            **{**networks, **options},
        )
    if name == "recursive_gan":
        options = {"recursion_steps": 1, **options}
        if latent_dim is not None:
            options["latent_dim"] = latent_dim
        return RecursiveAutoencoderGAN(input_shape, seed=seed, **options)
    raise ValueError(f"Unknown model case {name!r}; the cases are {MODEL_NAMES}.")
