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
