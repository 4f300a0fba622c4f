"""Custom layers of the paper's networks, and the augmentations."""

from savae_keras.layers.augmentation import build_augmentation
from savae_keras.layers.batch_normalization import BatchNormalization
from savae_keras.layers.class_prior import ClassConditionalPrior
from savae_keras.layers.convolution import Conv2D
from savae_keras.layers.convolution import MaxPooling2D
from savae_keras.layers.residual_block import ResidualBlock
from savae_keras.layers.sampling import LogVarianceBound
from savae_keras.layers.sampling import Sampling
from savae_keras.layers.sampling import reparameterize
from savae_keras.layers.spectral_normalization import SpectralNormalization

__all__ = [
    "build_augmentation",
    "BatchNormalization",
    "ClassConditionalPrior",
    "Conv2D",
    "MaxPooling2D",
    "ResidualBlock",
    "LogVarianceBound",
    "Sampling",
    "reparameterize",
    "SpectralNormalization",
]
