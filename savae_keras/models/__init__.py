"""The trainable models: SAVAE's two phases, the VAE baseline, the recursive GAN."""

from savae_keras.models.adversarial_decoder import AdversarialDecoder
from savae_keras.models.recursive_autoencoder_gan import RecursiveAutoencoderGAN
from savae_keras.models.savae import SAVAE
from savae_keras.models.savae import SAVAEHistory
from savae_keras.models.trainer import Trainer
from savae_keras.models.vae import VAE
from savae_keras.models.variational_encoder_classifier import (
    VariationalEncoderClassifier,
)

__all__ = [
    "AdversarialDecoder",
    "RecursiveAutoencoderGAN",
    "SAVAE",
    "SAVAEHistory",
    "Trainer",
    "VAE",
    "VariationalEncoderClassifier",
]
