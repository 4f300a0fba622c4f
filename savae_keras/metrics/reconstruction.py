"""Reconstruction quality of images in [0, 1]: MSE, BCE, PSNR and SSIM.

Each function takes two batches `(N, H, W, C)` (numpy arrays, uint8 0..255
or floats, or tensors of the active backend) and returns one value per
image, shape `(N,)`; average them for a dataset score. They are written in
`keras.ops`, so the same code runs on every backend, inside or outside a
training step.
"""

import numpy as np
from keras import ops

from savae_keras.data.checks import to_float_images


def _checked(values, name):
    """Numpy images as floats in [0, 1] (uint8 0..255 scaled, as everywhere
    in the package), refused when not finite; tensors pass unchecked (a
    training step's)."""
    if not isinstance(values, np.ndarray):
        return values
    values = to_float_images(values)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"`{name}` contains NaN or infinite values.")
    return values


def _pair(images, reconstructions):
    images = _checked(images, "images")
    reconstructions = _checked(reconstructions, "reconstructions")
    images = ops.cast(ops.convert_to_tensor(images), "float32")
    reconstructions = ops.cast(ops.convert_to_tensor(reconstructions), "float32")
    if tuple(images.shape) != tuple(reconstructions.shape) or len(images.shape) != 4:
        raise ValueError(
            "`images` and `reconstructions` must be batches of the same shape "
            f"(N, H, W, C); received {tuple(images.shape)} and "
            f"{tuple(reconstructions.shape)}."
        )
    if images.shape[0] == 0:
        raise ValueError(
            "`images` and `reconstructions` are empty (N = 0): a mean over no "
            "image is undefined; pass at least one."
        )
    return images, reconstructions


def _per_image_mean(values):
    return ops.mean(ops.reshape(values, (ops.shape(values)[0], -1)), axis=-1)


def mean_squared_error(images, reconstructions):
    """Per-image mean over pixels of `(x − x̂)²`."""
    x, x_hat = _pair(images, reconstructions)
    return _per_image_mean(ops.square(x - x_hat))


def binary_crossentropy(images, reconstructions):
    """Per-image mean over pixels of `−[x log x̂ + (1 − x) log(1 − x̂)]`.

    With grey-level targets it cannot reach 0: its floor is the targets' own
    entropy, so compare it between models, and read MSE and PSNR beside it.
    """
    x, x_hat = _pair(images, reconstructions)
    return _per_image_mean(ops.binary_crossentropy(x, x_hat))


def binary_crossentropy_floor(images):
    """Per-image BCE of a perfect reconstruction: the images' own entropy,
    `−mean_pixels [x log x + (1 − x) log(1 − x)]`.

    The floor under `binary_crossentropy` for grey-level images: about 0.55
    on CIFAR-10, 0 for black-and-white ones. Report a BCE beside it.

    Example:

    ```python
    import numpy as np
    from savae_keras.metrics import binary_crossentropy_floor

    binary_crossentropy_floor(np.full((2, 4, 4, 1), 0.5))  # ln 2 for each
    ```
    """
    return binary_crossentropy(images, images)


def psnr(images, reconstructions, max_value=1.0):
    """Per-image peak signal-to-noise ratio, `10 log10(max² / MSE)`, in dB.

    A perfect reconstruction gives infinity; average per-image PSNRs over a
    dataset (the usual convention).
    """
    mse = mean_squared_error(images, reconstructions)
    return 10.0 * ops.log10(max_value**2 / mse)


def _gaussian_window(size=11, sigma=1.5):
    offsets = np.arange(size, dtype="float64") - (size - 1) / 2
    window = np.exp(-(offsets**2) / (2 * sigma**2))
    return (window / window.sum()).astype("float32")


def ssim(images, reconstructions, max_value=1.0, window_size=11, sigma=1.5):
    """Per-image structural similarity (Wang et al. 2004), mean over the map.

    An 11x11 Gaussian window (σ = 1.5) without padding, `K1 = 0.01`,
    `K2 = 0.03`, computed per channel and averaged, as `tf.image.ssim` does.
    Identical images give 1.
    """
    x, x_hat = _pair(images, reconstructions)
    if min(x.shape[1], x.shape[2]) < window_size:
        raise ValueError(
            f"SSIM needs images of at least {window_size}x{window_size} pixels; "
            f"received {tuple(x.shape[1:3])}."
        )
    channels = x.shape[-1]
    line = _gaussian_window(window_size, sigma)
    kernel = np.outer(line, line)[:, :, None, None] * np.ones(
        (1, 1, channels, 1), "float32"
    )
    kernel = ops.convert_to_tensor(kernel.astype("float32"))

    def blur(t):
        return ops.depthwise_conv(t, kernel, strides=1, padding="valid")

    c1, c2 = (0.01 * max_value) ** 2, (0.03 * max_value) ** 2
    mu_x, mu_y = blur(x), blur(x_hat)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(x_hat * x_hat) - mu_y**2
    covariance = blur(x * x_hat) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * covariance + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    return _per_image_mean(ssim_map)


def reconstruction_metrics(images, reconstructions):
    """Dataset means of MSE, BCE, PSNR (dB) and SSIM, as Python floats."""
    return {
        name: float(np.mean(ops.convert_to_numpy(fn(images, reconstructions))))
        for name, fn in (
            ("mse", mean_squared_error),
            ("bce", binary_crossentropy),
            ("psnr", psnr),
            ("ssim", ssim),
        )
    }
