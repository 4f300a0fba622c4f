"""savae_keras: adversarial variational autoencoders for Keras 3.

Runs on TensorFlow, JAX and PyTorch (set `KERAS_BACKEND`). Importing the
package never imports TensorFlow unless it is the active backend; the
`tf.data` and TensorFlow Datasets helpers import it when called.
"""

__version__ = "0.1.0"

from savae_keras.console import quiet_start

# Our own command lines import Keras without TensorFlow's start-up lines
# (savae_keras.console); a user's `import savae_keras` filters nothing.
with quiet_start():
    from savae_keras import callbacks
    from savae_keras import data
    from savae_keras import distribution
    from savae_keras import layers
    from savae_keras import losses
    from savae_keras import metrics
    from savae_keras import models
    from savae_keras import networks
    from savae_keras import plots
    from savae_keras import presets
    from savae_keras import saving
    from savae_keras.data import load_dataset
    from savae_keras.data import make_dataset
    from savae_keras.distribution import data_parallel
    from savae_keras.models import SAVAE
    from savae_keras.models import VAE
    from savae_keras.models import AdversarialDecoder
    from savae_keras.models import RecursiveAutoencoderGAN
    from savae_keras.models import VariationalEncoderClassifier
    from savae_keras.presets import list_presets

__all__ = [
    "SAVAE",
    "VAE",
    "AdversarialDecoder",
    "RecursiveAutoencoderGAN",
    "VariationalEncoderClassifier",
    "data_parallel",
    "list_presets",
    "load_dataset",
    "make_dataset",
    # the public submodules, each with its own __all__
    "callbacks",
    "data",
    "distribution",
    "layers",
    "losses",
    "metrics",
    "models",
    "networks",
    "plots",
    "presets",
    "saving",
]
# savae_keras.tuning needs KerasTuner (the `tuning` extra): import it by name.
