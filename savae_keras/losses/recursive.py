"""Losses of the recursive autoencoder GAN (Radpour 2021), in `keras.ops`."""

from keras import ops

from savae_keras.losses.savae import RECONSTRUCTION_LOSSES  # noqa: F401
from savae_keras.losses.savae import loss_tensors
from savae_keras.losses.savae import per_pixel_error


def reconstruction_error(x, x_hat, kind="bce"):
    """Per-image reconstruction error, the mean over pixels, shape `(N,)`.

    `"bce"`: `−[x log x̂ + (1 − x) log(1 − x̂)]`, the report's CIFAR-10 loss;
    `"mse"`: `(x − x̂)²`, its MNIST loss.
    """
    per_pixel = per_pixel_error(x, x_hat, kind)
    return ops.mean(ops.reshape(per_pixel, (ops.shape(per_pixel)[0], -1)), axis=-1)


def logit_crossentropy(logits, target):
    """Per-sample binary cross-entropy of `sigmoid(logits)` against `target`.

    `target` is 1 for "real" and 0 for "reconstructed"; shape `(N,)`.
    """
    (logits,) = loss_tensors(logits)
    logits = ops.reshape(logits, (-1,))
    targets = ops.full_like(logits, float(target))
    return ops.binary_crossentropy(targets, logits, from_logits=True)


def weighted_step_mean(values, weights):
    """`mean_i Σ_j w_ij v_ij / Σ_j w_ij`: an average over the scheduled steps.

    `values` and `weights` have shape `(N, k + 1)`, one column per recursion
    step. Used for the discriminator, which weighs real and reconstructed
    images equally whatever the number of recursive outputs.
    """
    values, weights = loss_tensors(values, weights)
    return ops.mean(ops.sum(values * weights, axis=1) / ops.sum(weights, axis=1))


def weighted_step_sum(values, weights):
    """`mean_i Σ_j w_ij v_ij`: the report's sum of losses over the steps."""
    values, weights = loss_tensors(values, weights)
    return ops.mean(ops.sum(values * weights, axis=1))
