"""Network builders: Zemouri's SAVAE networks and Radpour's autoencoders."""

from savae_keras.networks.recursive import build_cifar_autoencoder
from savae_keras.networks.recursive import build_discriminator
from savae_keras.networks.recursive import build_mnist_autoencoder
from savae_keras.networks.savae import FEATURE_LAYERS
from savae_keras.networks.savae import build_classifier
from savae_keras.networks.savae import build_critic
from savae_keras.networks.savae import build_decoder
from savae_keras.networks.savae import build_encoder
from savae_keras.networks.savae import check_image_shape
from savae_keras.networks.savae import check_options

__all__ = [
    "build_cifar_autoencoder",
    "build_discriminator",
    "build_mnist_autoencoder",
    "FEATURE_LAYERS",
    "build_classifier",
    "build_critic",
    "build_decoder",
    "build_encoder",
    "check_image_shape",
    "check_options",
]
