"""Small models and deterministic weights for the model tests."""

import keras
import numpy as np
import pytest

from savae_keras.models.savae_presets import TINY_NETWORKS

# The tiny preset's networks (`SAVAE.from_preset("tiny")`).
TINY = TINY_NETWORKS
VEC_OPTIONS = {k: TINY[k] for k in ("encoder_options", "classifier_options")}
DECODER_OPTIONS = {k: TINY[k] for k in ("decoder_options", "critic_options")}


def deterministic_weights(model, seed=0):
    """Set every weight from a numpy generator: the same on every backend.

    Kernels ~ N(0, 1/fan_in); BatchNorm scales and variances 1, shifts and
    means 0; biases small; integer counters 1.
    """
    rng = np.random.default_rng(seed)
    values = []
    for weight in model.weights:
        shape, name = tuple(weight.shape), weight.path
        if "int" in str(weight.dtype):
            values.append(np.ones(shape, weight.dtype))
        elif "class_conditional_prior" in name and not name.endswith("scale_tril"):
            values.append(np.zeros(shape, "float32"))  # unfitted; draws nothing
        elif name.endswith(("gamma", "moving_variance")):
            values.append(np.ones(shape, "float32"))
        elif name.endswith(("beta", "moving_mean")):
            values.append(np.zeros(shape, "float32"))
        elif name.endswith("scale_tril"):
            values.append(
                np.broadcast_to(np.eye(shape[-1], dtype="float32"), shape).copy()
            )
        elif len(shape) >= 2:
            fan_in = int(np.prod(shape[:-1]))
            values.append(rng.normal(0, 1 / np.sqrt(fan_in), shape).astype("float32"))
        else:
            values.append(rng.normal(0, 0.05, shape).astype("float32"))
    model.set_weights(values)


class Interrupt(keras.callbacks.Callback):
    """Stops the process's training after epoch `after` (a crash, say)."""

    def __init__(self, after):
        super().__init__()
        self.after = after

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.after:
            raise KeyboardInterrupt(f"interrupted after epoch {epoch}")


def steady_adam():
    """Adam with ε = 1e-3 for checks that compare two ways of training.

    At Keras' ε = 1e-7, Adam turns a round-off-sized gradient (a zero-init
    residual branch's) into a full step of the sign of the round-off, so two
    runs that differ only in summation order drift apart by the learning
    rate per step (measured: docs/results/tolerances.md).
    """
    return keras.optimizers.Adam(epsilon=1e-3)


def constant_decoder(decoder, bias=0.3):
    """Zero a tiny decoder's last convolution to a bias: every image it
    decodes, of any code, is then `sigmoid(bias)` in every pixel.

    Returns that pixel value, so a test knows the decoded images without
    running the decoder.
    """
    last = decoder.get_layer("conv_7")
    last.kernel.assign(np.zeros(last.kernel.shape, "float32"))
    last.bias.assign(np.full(last.bias.shape, bias, "float32"))
    return float(1 / (1 + np.exp(-bias)))


def fixed_noise(model, seed=0):
    """Replace the model's sampling noise by a fixed array (same on all backends)."""
    table = {}

    def standard_normal(shape):
        shape = tuple(int(d) for d in shape)
        if shape not in table:
            table[shape] = (
                np.random.default_rng(seed).standard_normal(shape).astype("float32")
            )
        return keras.ops.convert_to_tensor(table[shape])

    model.standard_normal = standard_normal


def snapshot(network):
    return [np.array(w) for w in network.get_weights()]


def same(first, second):
    return len(first) == len(second) and all(
        np.array_equal(a, b) for a, b in zip(first, second)
    )


def on_every_backend(values, chosen):
    """Parameters `values`, those in `chosen` marked every_backend (Makefile)."""
    every = pytest.mark.every_backend
    return [pytest.param(v, marks=every) if v in chosen else v for v in values]
