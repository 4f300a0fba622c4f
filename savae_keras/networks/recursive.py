"""The networks of Radpour (2021), Recursive Autoencoder with GAN, section 4.

* `build_mnist_autoencoder`: three convolutions with a 2x2 max-pool after
  each (28 -> 14 -> 7 -> 3, ending at 3x3x64), then three dense layers to a
  16-unit code (the report's "4x4 images"); the decoder mirrors it: three
  dense layers back to 3x3x64 and three (transposed) convolutions to 28x28.
* `build_cifar_autoencoder`: seven convolutions on each side, 3x3 stride-1
  layers that keep the size and 4x4 stride-2 layers that halve it, with 8
  channels after the first layer, doubling as the size halves (32x32x8 down
  to a 4x4x64 code); the decoder mirrors it with transposed convolutions.
* `build_discriminator`: four dense layers from the flattened image to one
  logit (real vs reconstructed).

The report gives layer counts and sizes, not activations: hidden layers use
LeakyReLU(0.2) and the decoders end with a sigmoid, so outputs lie in [0, 1]
as the BCE loss needs. Nor does it name a normalisation: with `batch_norm`
the autoencoders put batch normalisation before every hidden activation
(at the report's learning rate of 0.005 they diverge here without it,
docs/results/recursive-gan.md).
"""

import keras
from keras import layers

from savae_keras.layers import Conv2D
from savae_keras.layers import MaxPooling2D
from savae_keras.networks.savae import float32_output
from savae_keras.networks.savae import spatial_layers

NEGATIVE_SLOPE = 0.2


def _act(name):
    return layers.LeakyReLU(NEGATIVE_SLOPE, name=name)


# PyTorch's `BatchNorm2d` defaults (the report's framework): its moving
# statistics follow each batch's at 0.1 (Keras' momentum 0.9, not 0.99),
# so a short run's inference mode is not left with its initial statistics.
BATCH_NORM_MOMENTUM = 0.9
BATCH_NORM_EPSILON = 1e-5


def _norm_act(x, name, batch_norm):
    """`LeakyReLU(x)`, after batch normalisation with `batch_norm`."""
    if batch_norm:
        x = layers.BatchNormalization(
            momentum=BATCH_NORM_MOMENTUM,
            epsilon=BATCH_NORM_EPSILON,
            name=name.replace("_act", "_bn"),
        )(x)
    return _act(name)(x)


def build_mnist_autoencoder(
    input_shape=(28, 28, 1), latent_dim=16, filters=(16, 32, 64), batch_norm=False
):
    """The report's MNIST autoencoder, as `(encoder, decoder)` functional models.

    Args:
        input_shape: `(28, 28, C)` images.
        latent_dim: size of the code (16 in the report, "4x4 images").
        filters: channels of the three convolutions (the last is the
            report's 64 channels at 3x3).
        batch_norm: batch normalisation before every hidden activation
            (beyond the report, which names none).
    """
    if tuple(input_shape)[:2] != (28, 28) or len(input_shape) != 3:
        raise ValueError(
            "`input_shape` of the MNIST autoencoder must be (28, 28, C); "
            f"received {input_shape!r}."
        )
    channels = input_shape[-1]
    flat = 3 * 3 * filters[-1]

    x = inputs = keras.Input(tuple(input_shape), name="image")
    for i, f in enumerate(filters, start=1):
        x = Conv2D(f, 3, padding="same", name=f"conv_{i}")(x)
        x = _norm_act(x, f"conv_{i}_act", batch_norm)
        x = MaxPooling2D(2, name=f"pool_{i}")(x)  # 28 -> 14 -> 7 -> 3
    x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate((256, 64), start=1):
        x = layers.Dense(units, name=f"dense_{i}")(x)
        x = _norm_act(x, f"dense_{i}_act", batch_norm)
    code = layers.Dense(latent_dim, name="code")(x)
    encoder = keras.Model(inputs, code, name="encoder")

    x = inputs = keras.Input((latent_dim,), name="code")
    for i, units in enumerate((64, 256, flat), start=1):
        x = layers.Dense(units, name=f"dense_{i}")(x)
        x = _norm_act(x, f"dense_{i}_act", batch_norm)
    x = layers.Reshape((3, 3, filters[-1]), name="reshape")(x)
    x = layers.Conv2DTranspose(filters[1], 3, strides=2, name="deconv_1")(x)  # 3 -> 7
    x = _norm_act(x, "deconv_1_act", batch_norm)
    x = layers.Conv2DTranspose(
        filters[0], 3, strides=2, padding="same", name="deconv_2"
    )(x)
    x = _norm_act(x, "deconv_2_act", batch_norm)  # 7 -> 14
    x = layers.Conv2DTranspose(channels, 3, strides=2, padding="same", name="deconv_3")(
        x
    )  # 14 -> 28
    outputs = float32_output("sigmoid", "x_hat")(x)
    decoder = keras.Model(inputs, outputs, name="decoder")
    return encoder, decoder


def build_cifar_autoencoder(input_shape=(32, 32, 3), base_filters=8, batch_norm=False):
    """The report's CIFAR-10 autoencoder, as `(encoder, decoder)` models.

    Encoder: a 3x3 stride-1 convolution to `base_filters` channels, then three
    times a 4x4 stride-2 convolution (halving the size, doubling the
    channels) and a 3x3 stride-1 convolution: seven layers, 32x32 to a
    4x4x(8·base) code. The decoder mirrors it with 4x4 stride-2 transposed
    convolutions and ends with a 3x3 convolution and a sigmoid. Signals
    `(length, C)` get the same structure with 1-D layers. `batch_norm` puts
    batch normalisation before every hidden activation (beyond the report).
    """
    *sizes, channels = tuple(input_shape)
    if len(sizes) not in (1, 2) or any(d % 8 for d in sizes):
        raise ValueError(
            "`input_shape` of the CIFAR autoencoder needs (H, W, C) or "
            "(length, C) with the sizes divisible by 8 (three halvings); "
            f"received {input_shape!r}."
        )
    conv, _, _ = spatial_layers(input_shape)
    deconv = layers.Conv2DTranspose if len(sizes) == 2 else layers.Conv1DTranspose
    widths = [base_filters * 2**i for i in range(4)]  # 8, 16, 32, 64

    x = inputs = keras.Input(tuple(input_shape), name="image")
    x = conv(widths[0], 3, padding="same", name="conv_1")(x)
    x = _norm_act(x, "conv_1_act", batch_norm)
    for i, f in enumerate(widths[1:], start=1):
        x = conv(f, 4, strides=2, padding="same", name=f"down_{i}")(x)
        x = _norm_act(x, f"down_{i}_act", batch_norm)
        x = conv(f, 3, padding="same", name=f"conv_{i + 1}")(x)
        x = _norm_act(x, f"conv_{i + 1}_act", batch_norm)
    encoder = keras.Model(inputs, x, name="encoder")

    code_shape = (*(d // 8 for d in sizes), widths[-1])
    x = inputs = keras.Input(code_shape, name="code")
    for i, f in enumerate(reversed(widths[:-1]), start=1):
        x = conv(widths[-i], 3, padding="same", name=f"conv_{i}")(x)
        x = _norm_act(x, f"conv_{i}_act", batch_norm)
        x = deconv(f, 4, strides=2, padding="same", name=f"up_{i}")(x)
        x = _norm_act(x, f"up_{i}_act", batch_norm)
    x = conv(channels, 3, padding="same", name="conv_out")(x)
    outputs = float32_output("sigmoid", "x_hat")(x)
    decoder = keras.Model(inputs, outputs, name="decoder")
    return encoder, decoder


def build_discriminator(input_shape=(28, 28, 1), units=(512, 256, 64)):
    """The report's discriminator: four dense layers from the image to a logit.

    Three `Dense -> LeakyReLU` layers (`units`) and one linear unit, the
    logit of "real"; the model's losses apply the sigmoid.
    """
    x = inputs = keras.Input(tuple(input_shape), name="image")
    x = layers.Flatten(name="flatten")(x)
    for i, width in enumerate(units, start=1):
        x = _act(f"dense_{i}_act")(layers.Dense(width, name=f"dense_{i}")(x))
    outputs = layers.Dense(1, name="logit")(x)
    return keras.Model(inputs, outputs, name="discriminator")
