"""The networks of Zemouri (2020), section 4.2 and Figure 6.

Four functional models, each built by one function:

* `build_encoder`: the variational encoder, `x -> [z_mean, z_log_var, z]`;
* `build_decoder`: `z -> x_hat` in [0, 1];
* `build_critic`: `x -> Dis(x)`, one linear unit;
* `build_classifier`: `z -> Class(z)`, softmax probabilities.

Layers followed by BatchNorm have no bias (BatchNorm cancels it). Widths
are arguments; the defaults (8 to 32 filters) were chosen for speed on a
CPU (docs/results/options.md), and wider data such as CIFAR-10 may want wider
networks. Inputs are `(H, W, C)` images with `H` and `W` divisible by 4 (two
2x poolings), such as 28x28x1 and 32x32x3, or `(length, channels)` signals
with the length divisible by 4: the same structures are then built with 1-D
layers (`Conv1D`, `MaxPooling1D`, `UpSampling1D`, 1-D residual blocks), the
paper's "applications other than image processing".
"""

import inspect
import math
import operator

import keras
from keras import layers

from savae_keras.data.checks import check_bool
from savae_keras.layers import BatchNormalization
from savae_keras.layers import Conv2D
from savae_keras.layers import LogVarianceBound
from savae_keras.layers import MaxPooling2D
from savae_keras.layers import ResidualBlock
from savae_keras.layers import Sampling
from savae_keras.layers import SpectralNormalization

FEATURE_LAYERS = ("feature_1", "feature_2", "feature_3")
"""Names of the encoder's first three hidden layers, `O_1..O_3` of Algorithm 2."""

NEGATIVE_SLOPE = 0.2


def check_image_shape(image_shape, name="input_shape"):
    """Return an `(H, W, C)` image or `(length, C)` signal shape, or raise."""
    try:  # whole numbers only: 64.7 is not a size
        shape = tuple(operator.index(d) for d in image_shape)
    except TypeError:
        shape = None
    if (
        shape is None
        or len(shape) not in (2, 3)
        or min(shape) < 1
        or any(d % 4 for d in shape[:-1])
    ):
        raise ValueError(
            f"`{name}` must be an image shape (H, W, C) or a signal shape "
            "(length, C), the sizes positive multiples of 4 (the networks pool "
            "twice by 2), such as (28, 28, 1), (32, 32, 3) or (256, 1); "
            f"received {image_shape!r}."
        )
    return shape


# The builders' arguments that the models set themselves.
_SET_BY_THE_MODEL = (
    "input_shape",
    "output_shape",
    "latent_dim",
    "num_classes",
    "seed",
    "name",
)


def check_options(options, builder, name):
    """`options` (None: none) as a dict of `builder`'s keyword arguments.

    A model passes its `*_options` to a builder; a value that is not a dict,
    or a key the builder does not take, is an error naming `name`.
    """
    if options is None:
        return {}
    allowed = [
        key
        for key in inspect.signature(builder).parameters
        if key not in _SET_BY_THE_MODEL
    ]
    if not isinstance(options, dict):
        raise ValueError(
            f"`{name}` must be a dict of `{builder.__name__}`'s arguments "
            f"{allowed}; received {options!r} ({type(options).__name__})."
        )
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"`{name}` has unknown keys {unknown}; `{builder.__name__}` takes "
            f"{allowed}."
        )
    return dict(options)


def spatial_layers(shape):
    """`(Conv, MaxPooling, UpSampling)` classes for an image or signal shape."""
    if len(shape) == 2:
        return layers.Conv1D, layers.MaxPooling1D, layers.UpSampling1D
    return Conv2D, MaxPooling2D, layers.UpSampling2D


def _check_widths(widths, count, name):
    widths = tuple(int(w) for w in widths)
    if len(widths) != count or min(widths) < 1:
        raise ValueError(
            f"`{name}` must hold {count} positive widths; received {widths!r}."
        )
    return widths


def _check_positive(value, name):
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer; received {value!r}.")
    return value


def float32_output(activation, name):
    """The output activation, computed in float32 under mixed precision.

    Keras's mixed-precision guide: the last layer (logits to probabilities)
    in float32. A float16 probability near 0 or 1 is rounded to it, and the
    loss's gradient through it (`1/p` for the cross-entropy) overflows
    float16 under the loss scale, so the step is skipped.
    """
    return layers.Activation(activation, dtype="float32", name=name)


def build_encoder(
    input_shape=(28, 28, 1),
    latent_dim=2,
    conv_filters=(8, 8, 16, 16, 32, 32),
    dense_units=(128, 64, 32),
    seed=None,
    zero_init_residual=True,
    name="encoder",
):
    """The variational encoder `Enc(x)`.

    Six stages `Conv2D 3x3 stride 1 -> ResidualBlock -> LeakyReLU` with a
    2x2 max-pool after stages 2 and 4, then three `Dense -> LeakyReLU`
    layers, two linear heads for the mean and the log-variance (clipped to
    `LOG_VARIANCE_RANGE`), and a `Sampling` layer. The LeakyReLU outputs of
    the first three stages are named `feature_1..3`: the features `F_i` of
    the feature-consistency loss. `zero_init_residual` (default) starts each
    residual block as the identity (`ResidualBlock(zero_init=True)`): the
    paper does not say how it initialises, and with Keras's default
    initialisation (`zero_init_residual=False`) phase 1 learns several times
    slower (docs/results/speed.md, "Phase 1 learning speed").

    Returns:
        A functional model `x -> [z_mean, z_log_var, z]`.
    """
    input_shape = check_image_shape(input_shape)
    _check_positive(latent_dim, "latent_dim")
    conv_filters = _check_widths(conv_filters, 6, "conv_filters")
    dense_units = _check_widths(dense_units, 3, "dense_units")
    conv, pool, _ = spatial_layers(input_shape)

    x = inputs = keras.Input(input_shape, name="image")
    for i, filters in enumerate(conv_filters, start=1):
        x = conv(filters, 3, padding="same", name=f"conv_{i}")(x)
        x = ResidualBlock(zero_init=zero_init_residual, name=f"residual_{i}")(x)
        stage = FEATURE_LAYERS[i - 1] if i <= 3 else f"stage_{i}"
        x = layers.LeakyReLU(NEGATIVE_SLOPE, name=stage)(x)
        if i in (2, 4):
            x = pool(2, name=f"pool_{i // 2}")(x)
    x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate(dense_units, start=1):
        x = layers.Dense(units, name=f"dense_{i}")(x)
        x = layers.LeakyReLU(NEGATIVE_SLOPE, name=f"dense_{i}_act")(x)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    z_log_var = LogVarianceBound(name="z_log_var_bounded")(z_log_var)
    z = Sampling(seed=seed, name="z")([z_mean, z_log_var])
    return keras.Model(inputs, [z_mean, z_log_var, z], name=name)


def build_decoder(
    output_shape=(28, 28, 1),
    latent_dim=2,
    dense_units=(32, 128),
    conv_filters=(32, 32, 16, 16, 8, 8),
    name="decoder",
):
    """The decoder `Dec(z)`, almost the inverse of the encoder.

    Three `Dense -> BatchNorm -> LeakyReLU` layers (`dense_units` are the
    first two widths; the third has `H/4 * W/4 * conv_filters[0]` units and
    is reshaped to the first feature map), then seven 3x3 stride-1
    convolutions: six stages `Conv2D -> BatchNorm -> LeakyReLU ->
    ResidualBlock` with a 2x upsampling after stages 2 and 4, and an output
    convolution with a sigmoid, so that `x_hat` lies in [0, 1].

    Returns:
        A functional model `z -> x_hat`.
    """
    output_shape = check_image_shape(output_shape, "output_shape")
    _check_positive(latent_dim, "latent_dim")
    dense_units = _check_widths(dense_units, 2, "dense_units")
    conv_filters = _check_widths(conv_filters, 6, "conv_filters")
    conv, _, upsample = spatial_layers(output_shape)
    *sizes, channels = output_shape
    first_map = (*(d // 4 for d in sizes), conv_filters[0])

    x = inputs = keras.Input((latent_dim,), name="z")
    seed_size = math.prod(first_map)
    for i, units in enumerate((*dense_units, seed_size), start=1):
        x = layers.Dense(units, use_bias=False, name=f"dense_{i}")(x)
        x = BatchNormalization(name=f"dense_{i}_bn")(x)
        x = layers.LeakyReLU(NEGATIVE_SLOPE, name=f"dense_{i}_act")(x)
    x = layers.Reshape(first_map, name="reshape")(x)
    for i, filters in enumerate(conv_filters, start=1):
        x = conv(filters, 3, padding="same", use_bias=False, name=f"conv_{i}")(x)
        x = BatchNormalization(name=f"conv_{i}_bn")(x)
        x = layers.LeakyReLU(NEGATIVE_SLOPE, name=f"conv_{i}_act")(x)
        x = ResidualBlock(batch_norm=True, name=f"residual_{i}")(x)
        if i in (2, 4):
            x = upsample(2, name=f"upsample_{i // 2}")(x)
    x = conv(channels, 3, padding="same", name="conv_7")(x)
    outputs = float32_output("sigmoid", "x_hat")(x)
    return keras.Model(inputs, outputs, name=name)


def build_critic(
    input_shape=(28, 28, 1),
    conv_filters=(8, 16, 32),
    dense_units=(128, 64, 32, 16),
    spectral_normalization=False,
    name="critic",
):
    """The discriminator `Dis(x)` of the adversarial loss, with a linear output.

    Three `Conv2D 3x3 stride 1 -> LeakyReLU` layers with a 2x2 max-pool after
    the first two, four `Dense -> LeakyReLU` layers, and one linear unit
    (least-squares targets +1 for real and -1 for decoded images).

    Args:
        spectral_normalization: wrap every convolution and `Dense` layer in
            `SpectralNormalization`, so that the critic is 1-Lipschitz
            (Miyato et al., 2018): a stabiliser of the adversarial game
            beyond the paper, measured in docs/results/options.md.

    Returns:
        A functional model `x -> Dis(x)` of shape `(N, 1)`.
    """
    input_shape = check_image_shape(input_shape)
    conv_filters = _check_widths(conv_filters, 3, "conv_filters")
    dense_units = _check_widths(dense_units, 4, "dense_units")
    conv, pool, _ = spatial_layers(input_shape)

    spectral_normalization = check_bool(
        spectral_normalization, "critic_options['spectral_normalization']"
    )

    def weighted(layer):
        if not spectral_normalization:
            return layer
        return SpectralNormalization(layer, name=f"{layer.name}_sn")

    x = inputs = keras.Input(input_shape, name="image")
    for i, filters in enumerate(conv_filters, start=1):
        x = weighted(conv(filters, 3, padding="same", name=f"conv_{i}"))(x)
        x = layers.LeakyReLU(NEGATIVE_SLOPE, name=f"conv_{i}_act")(x)
        if i < 3:
            x = pool(2, name=f"pool_{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate(dense_units, start=1):
        x = weighted(layers.Dense(units, name=f"dense_{i}"))(x)
        x = layers.LeakyReLU(NEGATIVE_SLOPE, name=f"dense_{i}_act")(x)
    outputs = weighted(layers.Dense(1, name="score"))(x)
    return keras.Model(inputs, outputs, name=name)


def build_classifier(
    latent_dim=2,
    num_classes=10,
    units=(32, 32, 32),
    zero_init_residual=True,
    name="classifier",
):
    """The latent classifier `Class(z)`.

    Three `Dense -> BatchNorm -> LeakyReLU` layers, each followed by a
    residual block (started as the identity unless `zero_init_residual` is
    False, as in `build_encoder`), and a softmax output layer.

    Returns:
        A functional model `z -> class probabilities` of shape
        `(N, num_classes)`.
    """
    _check_positive(latent_dim, "latent_dim")
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            f"`num_classes` must be an integer >= 2; received {num_classes!r}."
        )
    units = _check_widths(units, 3, "units")

    x = inputs = keras.Input((latent_dim,), name="z")
    for i, width in enumerate(units, start=1):
        x = layers.Dense(width, use_bias=False, name=f"dense_{i}")(x)
        x = BatchNormalization(name=f"dense_{i}_bn")(x)
        x = layers.LeakyReLU(NEGATIVE_SLOPE, name=f"dense_{i}_act")(x)
        x = ResidualBlock(
            batch_norm=True, zero_init=zero_init_residual, name=f"residual_{i}"
        )(x)
    x = layers.Dense(num_classes, name="logits")(x)
    outputs = float32_output("softmax", "probabilities")(x)
    return keras.Model(inputs, outputs, name=name)
