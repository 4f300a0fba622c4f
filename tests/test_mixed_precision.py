"""Mixed precision: every model trains under `mixed_bfloat16` and `mixed_float16`.

The networks compute in half precision, the losses in float32 (the loss
module casts), and under `mixed_float16` each optimizer scales its loss:
a `LossScaleOptimizer` for one optimizer, the static `loss_scale_factor`
for several (Keras's `MultiOptimizer` cannot hold a `LossScaleOptimizer`).
"""

import keras
import numpy as np
import pytest

import savae_keras as sk
from savae_keras.models.trainer import FLOAT16_LOSS_SCALE
from tests.helpers import TINY
from tests.helpers import VEC_OPTIONS
from tests.helpers import deterministic_weights


@pytest.fixture
def policy():
    """Set a global dtype policy for one test; float32 again afterwards."""
    yield keras.config.set_dtype_policy
    keras.config.set_dtype_policy("float32")


def _train(name, x, y):
    keras.utils.set_random_seed(0)
    fit = dict(batch_size=8, verbose=0, shuffle=False)
    if name == "vec":
        model = sk.VariationalEncoderClassifier(latent_dim=2, seed=0, **VEC_OPTIONS)
    elif name == "savae":
        model = sk.SAVAE(latent_dim=2, n_critic=1, seed=0, **TINY)
    elif name == "vae":
        model = sk.VAE(
            latent_dim=2,
            seed=0,
            encoder_options=TINY["encoder_options"],
            decoder_options=TINY["decoder_options"],
        )
    else:
        model = sk.RecursiveAutoencoderGAN((28, 28, 1), recursion_steps=1, seed=0)
    deterministic_weights(model)
    model.compile()
    if name == "savae":
        history = model.fit(x, y, encoder_epochs=1, decoder_epochs=1, **fit)
        return model, {**history.vec.history, **history.decoder.history}
    return model, model.fit(x, y if name == "vec" else None, epochs=1, **fit).history


# The losses and steps are the backends' shared code: the whole model set
# runs on the full tier; the per-backend scaling mechanics on every backend.
# PyTorch's CPU half-precision convolution (`slow_conv2d`) refuses, on this
# project's machine since 2026-11-24, the weight gradient of the VAE and of
# SAVAE's phase 2 when they are the second or third model a process trains
# (the same steps pass in a fresh process). Known, not fixed: only that
# exact error is tolerated (xfail); any other failure fails the test.
TORCH_HALF_CONV = "slow_conv2d: grad_weight must be contiguous"


@pytest.mark.parametrize("dtype_policy", ["mixed_bfloat16", "mixed_float16"])
@pytest.mark.parametrize("name", ["vec", "savae", "vae", "recursive_gan"])
def test_models_train_in_mixed_precision_close_to_float32(name, dtype_policy, policy):
    rng = np.random.default_rng(0)
    x = rng.random((16, 28, 28, 1)).astype("float32")
    y = (np.arange(16) % 10).astype("int32")
    _, reference = _train(name, x, y)
    policy(dtype_policy)
    try:
        model, logs = _train(name, x, y)
    except RuntimeError as error:
        if TORCH_HALF_CONV in str(error):
            pytest.xfail(f"PyTorch CPU half-precision convolution: {error}")
        raise
    assert model.encoder.dtype_policy.name == dtype_policy
    assert all(w.dtype == "float32" for w in model.trainable_weights)
    for term, values in logs.items():
        if "accuracy" in term:  # a count of right answers, not a loss
            continue
        value, expected = values[-1], reference[term][-1]
        assert np.isfinite(value), (dtype_policy, term, value)
        # Two steps in 8 (bfloat16) or 11 (float16) bits of mantissa:
        # every logged term within 10 % of float32's, or 0.02 when small.
        assert abs(value - expected) <= 0.02 + 0.1 * abs(expected), (
            dtype_policy,
            term,
            value,
            expected,
        )
    policy("float32")


def _sgd_step_update(x, y):
    """How one SGD step of a VEC moves its weights (the active policy)."""
    vec = sk.VariationalEncoderClassifier(latent_dim=2, seed=0, **VEC_OPTIONS)
    deterministic_weights(vec)
    vec.compile(optimizer=keras.optimizers.SGD(0.05))
    if isinstance(vec.optimizer, keras.optimizers.LossScaleOptimizer):
        # A scale the float16 gradients hold without overflow, so the
        # first step is taken rather than skipped (and the scale halved).
        vec.optimizer.dynamic_scale.assign(64.0)
    before = [np.array(w) for w in vec.trainable_weights]
    vec.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
    return vec, np.concatenate(
        [(np.array(w) - b).ravel() for w, b in zip(vec.trainable_weights, before)]
    )


@pytest.mark.every_backend
def test_float16_scales_each_optimizers_loss(policy):
    rng = np.random.default_rng(1)
    x = rng.random((8, 28, 28, 1)).astype("float32")
    y = (np.arange(8) % 10).astype("int32")
    _, update_32 = _sgd_step_update(x, y)
    policy("mixed_float16")
    vec, update_16 = _sgd_step_update(x, y)
    assert isinstance(vec.optimizer, keras.optimizers.LossScaleOptimizer)
    # The gradients were those of the loss times 64 and were divided by 64
    # again: SGD (unlike Adam, blind to a constant factor) moves the weights
    # as float32's step does, up to float16's round-off.
    gap = np.linalg.norm(update_16 - update_32) / np.linalg.norm(update_32)
    assert np.linalg.norm(update_32) > 0 and gap < 0.05, gap
    vec.trainable = False
    decoder = sk.AdversarialDecoder(vec, n_critic=1, **TINY_DECODER)
    decoder.compile()
    for optimizer in (decoder.decoder_optimizer, decoder.critic_optimizer):
        assert optimizer.loss_scale_factor == FLOAT16_LOSS_SCALE


TINY_DECODER = {k: TINY[k] for k in ("decoder_options", "critic_options")}
