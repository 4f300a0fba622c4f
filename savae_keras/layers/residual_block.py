"""The residual block of the paper's networks (Zemouri 2020, section 4.2)."""

import keras
from keras import layers
from keras import ops

from savae_keras.layers.batch_normalization import BatchNormalization
from savae_keras.layers.convolution import Conv2D


@keras.saving.register_keras_serializable(package="savae_keras")
class ResidualBlock(layers.Layer):
    """Two-layer residual block: `y = x + W2 · σ(BN(W1 · x))`, BN after W2 too.

    The paper uses "the same residual block as Hou et al." (two 3x3
    convolutions around a LeakyReLU, added to the input). `W1` and `W2` keep
    the input width, so the skip is the identity. They are 3×3 `Conv2D`
    ("same" padding) on image tensors `(N, H, W, C)`, width-3 `Conv1D` on
    signals `(N, length, C)`, and `Dense` layers on vectors `(N, C)` (the
    classifier's blocks).

    Args:
        kernel_size: convolution kernel size (image tensors only).
        batch_norm: add `BatchNormalization` after each of the two layers.
        negative_slope: slope of the LeakyReLU between them.
        zero_init: start as the identity, `y = x`: `W2` (or, with
            `batch_norm`, the second BatchNorm's scale) starts at zero, as in
            Goyal et al. (2017). Not in the paper (which does not say how it
            initialises); an option beyond it, measured in docs/results/speed.md.
    """

    def __init__(
        self,
        kernel_size=3,
        batch_norm=False,
        negative_slope=0.2,
        zero_init=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.kernel_size = kernel_size
        self.batch_norm = batch_norm
        self.negative_slope = negative_slope
        self.zero_init = bool(zero_init)

    def build(self, input_shape):
        width = input_shape[-1]
        # A bias before BatchNorm is cancelled by it: leave it out.
        bias = not self.batch_norm
        if len(input_shape) in (3, 4):
            conv = Conv2D if len(input_shape) == 4 else layers.Conv1D
            make = lambda init: conv(
                width,
                self.kernel_size,
                padding="same",
                use_bias=bias,
                kernel_initializer=init,
            )
        elif len(input_shape) == 2:
            make = lambda init: layers.Dense(
                width, use_bias=bias, kernel_initializer=init
            )
        else:
            raise ValueError(
                f"{self.name}: ResidualBlock takes (N, H, W, C) images, "
                f"(N, length, C) signals or (N, C) vectors; received input "
                f"shape {input_shape}."
            )
        # Zero the branch's last scale: its second layer, or the BatchNorm
        # that follows it.
        zero_kernel = self.zero_init and not self.batch_norm
        self.first = make("glorot_uniform")
        self.second = make("zeros" if zero_kernel else "glorot_uniform")
        self.first.build(input_shape)
        self.second.build(input_shape)
        self.norms = []
        if self.batch_norm:
            last_scale = "zeros" if self.zero_init else "ones"
            self.norms = [
                BatchNormalization(),
                BatchNormalization(gamma_initializer=last_scale),
            ]
            for norm in self.norms:
                norm.build(input_shape)
        # A block frozen before it is built (as a loaded, frozen encoder's
        # can be) freezes the layers it creates here too.
        for layer in (self.first, self.second, *self.norms):
            layer.trainable = self.trainable

    def call(self, inputs, training=None):
        h = self.first(inputs)
        if self.batch_norm:
            h = self.norms[0](h, training=training)
        h = ops.leaky_relu(h, self.negative_slope)
        h = self.second(h)
        if self.batch_norm:
            h = self.norms[1](h, training=training)
        return inputs + h

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_size": self.kernel_size,
            "batch_norm": self.batch_norm,
            "negative_slope": self.negative_slope,
            "zero_init": self.zero_init,
        }
