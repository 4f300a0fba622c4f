"""Spectral normalisation of a critic's layers (Miyato et al., 2018)."""

import keras
from keras import ops

from savae_keras.data.checks import check_number

_LAYERS = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D)


@keras.saving.register_keras_serializable(package="savae_keras")
class SpectralNormalization(keras.layers.Wrapper):
    """A `Dense` or convolution that computes with its kernel over its spectral norm.

    With the kernel `W` reshaped to `(fan_in, units)` and `u` a unit row
    vector of `units` values, the layer computes `activation(x ∗ W/σ + b)`,

        σ(W) = ‖u Wᵀ‖₂ ≈ the largest singular value of W,

    `u` held constant in the gradient. `u` is non-trainable state: each
    training call first moves it `power_iterations` steps of the power
    method, `u ← normalize(normalize(u Wᵀ) W)`, and keeps it, as BatchNorm
    keeps its statistics. Each such layer is then at most 1-Lipschitz, the
    stabiliser of GAN critics in Miyato et al.; not in Zemouri (2020).

    Unlike `keras.layers.SpectralNormalization`, it does not write `W/σ` back
    into the trainable kernel during the call: the kernel changes only by
    its optimizer, and the step is the same stateful code on every backend
    (the package's JAX gradients carry back non-trainable state, not
    assignments to the variables they differentiate).

    Args:
        layer: a `Dense`, `Conv1D` or `Conv2D` (channels last).
        power_iterations: power-method steps per training call.
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        if not isinstance(layer, _LAYERS):
            raise TypeError(
                "`layer` must be a Dense, Conv1D or Conv2D layer; received "
                f"{type(layer).__name__}."
            )
        if getattr(layer, "data_format", "channels_last") != "channels_last":
            raise ValueError(
                "`layer` must use data_format='channels_last'; received "
                f"{layer.data_format!r}."
            )
        super().__init__(layer, **kwargs)
        self.power_iterations = check_number(
            power_iterations, "power_iterations", minimum=1, integer=True
        )

    def build(self, input_shape):
        super().build(input_shape)
        self.vector_u = self.add_weight(
            shape=(1, self.layer.kernel.shape[-1]),
            initializer=keras.initializers.RandomNormal(),
            trainable=False,
            name="vector_u",
        )

    def spectral_norm(self, training=False):
        """`σ(W) = ‖u Wᵀ‖`, after moving `u` when `training`."""
        kernel = ops.cast(self.layer.kernel, "float32")
        w = ops.reshape(kernel, (-1, kernel.shape[-1]))
        u = ops.normalize(ops.cast(self.vector_u, "float32"), axis=-1)
        if training:
            for _ in range(self.power_iterations):
                v = ops.normalize(ops.matmul(u, ops.transpose(w)), axis=-1)
                u = ops.normalize(ops.matmul(v, w), axis=-1)
            u = ops.stop_gradient(u)
            self.vector_u.assign(u)
        return ops.norm(ops.matmul(u, ops.transpose(w)))

    def call(self, inputs, training=False):
        layer = self.layer
        sigma = self.spectral_norm(training)
        kernel = ops.cast(ops.cast(layer.kernel, "float32") / sigma, inputs.dtype)
        if isinstance(layer, keras.layers.Dense):
            outputs = ops.matmul(inputs, kernel)
        else:
            outputs = layer.convolution_op(inputs, kernel)
        if layer.use_bias:
            outputs = outputs + ops.cast(layer.bias, outputs.dtype)
        return layer.activation(outputs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}
