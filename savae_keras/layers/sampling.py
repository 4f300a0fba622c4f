"""The sampling layer of a variational encoder (reparameterization trick)."""

import keras
from keras import layers
from keras import ops

from savae_keras.layers.seed_state import SavesSeedState


def reparameterize(z_mean, z_log_var, epsilon):
    """Equation (1): `z = μ + σ · ε` with `σ = exp(½ · log σ²)`."""
    return ops.add(z_mean, ops.multiply(ops.exp(0.5 * z_log_var), epsilon))


@keras.saving.register_keras_serializable(package="savae_keras")
class Sampling(SavesSeedState, layers.Layer):
    """Draws `z ~ N(μ, σ²)` from `[z_mean, z_log_var]`.

    The noise `ε ~ N(0, I)` comes from the layer's own
    `keras.random.SeedGenerator`, never from a global generator, so a seeded
    layer draws the same sequence on every run (on a given backend). Its
    state is saved with the weights.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return reparameterize(z_mean, z_log_var, epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


LOG_VARIANCE_RANGE = (-20.0, 10.0)
"""Bounds of the posterior log-variance `log σ²`: σ from 4.5e-5 to 148."""


@keras.saving.register_keras_serializable(package="savae_keras")
class LogVarianceBound(layers.Layer):
    """Clips the encoder's `log σ²` to `LOG_VARIANCE_RANGE`.

    Unbounded, the log-variance can grow without limit where nothing pulls
    it back (with `kl_weight=0` the KL reached 6·10¹⁵ and the sampled codes
    overflowed); inside the range the layer is the identity.
    """

    def __init__(
        self, minimum=LOG_VARIANCE_RANGE[0], maximum=LOG_VARIANCE_RANGE[1], **kwargs
    ):
        super().__init__(**kwargs)
        self.minimum = float(minimum)
        self.maximum = float(maximum)

    def call(self, inputs):
        return ops.clip(inputs, self.minimum, self.maximum)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "minimum": self.minimum,
            "maximum": self.maximum,
        }
