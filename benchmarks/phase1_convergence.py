"""How fast phase 1 (the VEC) learns: test accuracy after a fixed number of steps.

    KERAS_BACKEND=torch python benchmarks/phase1_convergence.py --steps 100

Issue 14's yardstick: the VEC at latent 16, batches of 64 MNIST training
images, `--steps` optimizer steps, then the accuracy of `Class(μ(x))` on the
first `--test-size` test images. Each variant starts from the same seed; the
wall-clock of its training is printed beside it (compare rows of one run).
"""

import argparse
import json
import time

from savae_keras.cli import quiet_per_model_retracing

# (network options, VEC options) of each variant
VARIANTS = {
    # the paper's networks with Keras's default initialisation
    "keras_init": ({"zero_init_residual": False}, {}),
    # each residual block starts as the identity (the package default)
    "zero_init": ({"zero_init_residual": True}, {}),
    # zero_init, and the KL weight ramped up over the first 50 / 100 steps
    "kl_warmup_50": ({"zero_init_residual": True}, {"kl_warmup_steps": 50}),
    "kl_warmup_100": ({"zero_init_residual": True}, {"kl_warmup_steps": 100}),
    # kl_warmup_100, and a posterior that starts with little noise: the
    # log-variance head's bias starts at LOG_VAR_BIAS (σ ≈ 0.14) instead of 0
    "kl_warmup_100_low_noise": (
        {"zero_init_residual": True},
        {"kl_warmup_steps": 100},
    ),
    # zero_init with the encoder's stage convolutions and Dense layers drawn
    # He-normal for LeakyReLU(0.2) instead of Glorot-uniform (the residual
    # blocks and the two heads keep theirs): an encoder without normalisation
    # whose signal no longer shrinks layer by layer at initialisation
    "he_init": ({"zero_init_residual": True}, {}),
    "he_init_kl_warmup_100_low_noise": (
        {"zero_init_residual": True},
        {"kl_warmup_steps": 100},
    ),
    # zero_init and kl_warmup_100_low_noise with networks twice as wide
    # (the defaults were halved for speed): each step slower
    "wide": ({"zero_init_residual": True}, {}),
    "wide_kl_warmup_100_low_noise": (
        {"zero_init_residual": True},
        {"kl_warmup_steps": 100},
    ),
}
LOG_VAR_BIAS = {
    "kl_warmup_100_low_noise": -4.0,
    "he_init_kl_warmup_100_low_noise": -4.0,
    "wide_kl_warmup_100_low_noise": -4.0,
}
# twice the default widths of build_encoder and build_classifier
_WIDTHS = (
    {"conv_filters": (16, 16, 32, 32, 64, 64), "dense_units": (256, 128, 64)},
    {"units": (64, 64, 64)},
)
WIDE = {"wide": _WIDTHS, "wide_kl_warmup_100_low_noise": _WIDTHS}
HE_INIT = {"he_init", "he_init_kl_warmup_100_low_noise"}


def he_initialise(encoder, seed):
    """Redraw the encoder's stage kernels from N(0, 2 / ((1 + 0.2²) fan_in))."""
    import keras
    import numpy as np

    rng = np.random.default_rng(seed)
    for layer in encoder.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)) and (
            layer.name not in ("z_mean", "z_log_var")
        ):
            kernel, *rest = layer.get_weights()
            std = np.sqrt(2 / (1 + 0.2**2) / np.prod(kernel.shape[:-1]))
            kernel = rng.normal(0, std, kernel.shape).astype("float32")
            layer.set_weights([kernel, *rest])


def run(variant, steps, latent_dim, batch_size, learning_rate, test_size, seed):
    import keras
    import numpy as np

    import savae_keras as sk

    keras.utils.set_random_seed(seed)
    x, y = sk.data.load_dataset("mnist", "train")
    x_test, y_test = sk.data.load_dataset("mnist", "test")
    n = steps * batch_size
    x, y = x[:n], y[:n]
    options, vec_options = VARIANTS[variant]
    encoder_widths, classifier_widths = WIDE.get(variant, ({}, {}))
    vec = sk.VariationalEncoderClassifier(
        (28, 28, 1),
        10,
        latent_dim=latent_dim,
        encoder_options={**options, **encoder_widths},
        classifier_options={**options, **classifier_widths},
        seed=seed,
        **vec_options,
    )
    if variant in HE_INIT:
        he_initialise(vec.encoder, seed)
    if variant in LOG_VAR_BIAS:
        head = vec.encoder.get_layer("z_log_var")
        kernel, bias = head.get_weights()
        head.set_weights([kernel, np.full_like(bias, LOG_VAR_BIAS[variant])])
    vec.compile(optimizer=keras.optimizers.Adam(learning_rate))
    start = time.perf_counter()
    vec.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
    seconds = time.perf_counter() - start
    probabilities = vec.classify(x_test[:test_size])
    accuracy = float((probabilities.argmax(-1) == y_test[:test_size]).mean())
    return {"variant": variant, "accuracy": accuracy, "train_seconds": seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS)
    )
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--test-size", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args(argv)
    quiet_per_model_retracing()
    for seed in args.seeds:
        for variant in args.variants:
            row = run(
                variant,
                args.steps,
                args.latent_dim,
                args.batch_size,
                args.learning_rate,
                args.test_size,
                seed,
            )
            print(json.dumps({**row, "seed": seed, "steps": args.steps}), flush=True)


if __name__ == "__main__":
    main()
