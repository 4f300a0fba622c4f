"""The same weights, batches and noise give the same losses on every backend.

A test process runs one backend, so the reference numbers are stored here.
They were computed on TensorFlow and agree with JAX and PyTorch within 3e-6
(recomputed when the encoder gained its log-variance bound, which changed
the order of its weights and so which draws `deterministic_weights` gives
to which layer, and when phase 2's decoder ran forward once per step instead
of twice: its losses in `decoder_fit` stayed bit-identical, and only
`decoder_evaluate` moved, because BatchNorm's moving statistics now move once
per step; with the decoder's momentum ρ set to ρ², the one-pass code gives
the old `decoder_evaluate` within 2e-7)
(`python -m tests.test_cross_backend` prints them for the active backend).
Each run trains three steps, so a backend that lost Adam's state between
steps, or a step that differed, would move the numbers.
"""

import keras
import numpy as np
import pytest

from savae_keras import AdversarialDecoder
from savae_keras import VariationalEncoderClassifier
from tests.helpers import DECODER_OPTIONS
from tests.helpers import VEC_OPTIONS
from tests.helpers import deterministic_weights
from tests.helpers import fixed_noise

# Backend mechanics: this file runs on every backend (see the Makefile).
pytestmark = pytest.mark.every_backend

RELATIVE, ABSOLUTE = 1e-4, 1e-8  # measured: docs/results/tolerances.md

REFERENCE = {
    "decoder_evaluate": {
        "adversarial_loss": 0.0002057008,
        "critic_loss": 1.9769459,
        "latent_loss": 4.992891e-05,
        "loss": 0.10077377,
        "reconstruction_loss": 0.10076672,
    },
    "decoder_fit": {
        "adversarial_loss": 6.119538e-05,
        "critic_loss": 1.9995222,
        "latent_loss": 3.0178191e-05,
        "loss": 0.12655284,
        "reconstruction_loss": 0.1265492,
    },
    "vec_evaluate": {
        "accuracy": 0.071428575,
        "classification_loss": 2.2962856,
        "kl_loss": 0.02579659,
        "loss": 2.2996681,
    },
    "vec_fit": {
        "accuracy": 0.071428575,
        "classification_loss": 3.0095005,
        "kl_loss": 0.08579091,
        "loss": 3.0190601,
    },
}


def images_and_labels():
    rng = np.random.default_rng(42)
    images = rng.uniform(0, 1, (48, 28, 28, 1)).astype("float32")
    labels = rng.integers(-1, 10, 48)  # some -1: semi-supervised
    return images, labels


def run():
    """Train both phases for three steps each; return their logs."""
    x, y = images_and_labels()
    vec = VariationalEncoderClassifier(latent_dim=2, **VEC_OPTIONS)
    deterministic_weights(vec, seed=1)
    fixed_noise(vec, seed=2)
    vec.compile(optimizer=keras.optimizers.Adam(1e-3))
    vec_fit = vec.fit(x, y, batch_size=16, shuffle=False, verbose=0).history
    vec_eval = vec.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)

    vec.trainable = False
    decoder = AdversarialDecoder(
        vec, n_critic=2, beta=0.01, gamma=0.1, **DECODER_OPTIONS
    )
    deterministic_weights(decoder, seed=3)
    fixed_noise(decoder, seed=4)
    decoder.compile(
        decoder_optimizer=keras.optimizers.Adam(1e-3),
        critic_optimizer=keras.optimizers.Adam(1e-3),
    )
    decoder_fit = decoder.fit(x, batch_size=16, shuffle=False, verbose=0).history
    decoder_eval = decoder.evaluate(x, batch_size=16, verbose=0, return_dict=True)
    flat = lambda logs: {k: float(np.ravel(v)[-1]) for k, v in sorted(logs.items())}
    return {
        "vec_fit": flat(vec_fit),
        "vec_evaluate": flat(vec_eval),
        "decoder_fit": flat(decoder_fit),
        "decoder_evaluate": flat(decoder_eval),
    }


@pytest.mark.slow(tensorflow=105, jax=125)
def test_losses_match_the_reference_on_this_backend():
    measured = run()
    for phase, logs in REFERENCE.items():
        assert set(measured[phase]) == set(logs), phase
        for name, expected in logs.items():
            assert measured[phase][name] == pytest.approx(
                expected, rel=RELATIVE, abs=ABSOLUTE
            ), (
                f"{keras.backend.backend()}: {phase} {name} = "
                f"{measured[phase][name]!r}, reference {expected!r}"
            )


if __name__ == "__main__":
    import pprint

    pprint.pprint(run(), width=100)
