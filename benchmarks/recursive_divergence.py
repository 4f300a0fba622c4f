"""Why the recursive autoencoder diverges at the report's learning rate.

    KERAS_BACKEND=jax python benchmarks/recursive_divergence.py \\
        --variants recursive stop_gradient cycle plain --epochs 3

Issue 44's probe: the report's recursive autoencoder (k = 2, CIFAR-10, BCE,
Adam at 0.005, batch 64) trained on `--train-size` images for `--epochs`,
once per variant of one suspected cause:

* `recursive`: the package's reading, the gradient flowing back through
  every pass of the recursion (the report's Table 1 row);
* `stop_gradient`: each pass trained on the previous output as a constant
  (`stop_gradient_between_steps`), so the recursion is three plain
  autoencoder losses;
* `cycle`: one recursion step per image, cycled (the report's section 4.3);
* `plain`: no recursion (k = 0), the Table 1 autoencoder;
* `mean_over_steps`: the step losses averaged, not summed (Adam is
  invariant to a constant factor of the loss, up to its ε: the control);
* `lr_0.001`: the recursive reading at the learning rate that trains;
* `warmup`: the recursive reading after one epoch (157 steps of 64) of
  the first pass alone (`recursion_warmup_steps`);
* `pytorch_init`: the recursive reading from PyTorch's initialisation
  (the report's framework, section 4.1), see `pytorch_initialization`;
* `pytorch_init_adam`: the same with PyTorch's Adam ε (1e-8; Keras 1e-7);
* `relu`: the recursive reading with ReLU where our networks use
  LeakyReLU(0.2) (the report names no activation; ReLU is PyTorch's usual);
* `own_input_target`: each recursion step reconstructs its own input, the
  previous output as a constant, instead of the image `x` (another reading
  of "feed its output to the network again as the input");
* `clipnorm`: the recursive reading with Adam's update clipped to gradient
  norm 1 (a stabiliser, not in the report);
* `batch_norm`: the recursive reading with batch normalisation before
  every hidden activation (`RecursiveAutoencoderGAN(batch_norm=True)`; the
  report names none; common in PyTorch's convolutional autoencoders);
* `plain_batch_norm`: the plain autoencoder with it.

After each epoch it scores 1,000 test images: the BCE of one pass and of
the last recursion step, their floor (the images' own entropy), and the
spread of the one-pass outputs over the test images (0: a constant image,
whatever the input). One JSON line per variant.
"""

import argparse
import json
import time

VARIANTS = {
    "recursive": {},
    "stop_gradient": {"stop_gradient_between_steps": True},
    "cycle": {"step_schedule": "cycle"},
    "plain": {"recursion_steps": 0},
    "mean_over_steps": {"mean_over_steps": True},
    "lr_0.001": {"learning_rate": 0.001},
    "warmup": {"recursion_warmup_steps": 157},
    "pytorch_init": {"pytorch_initialization": True},
    "pytorch_init_adam": {"pytorch_initialization": True, "epsilon": 1e-8},
    "relu": {"relu": True},
    "own_input_target": {"own_input_target": True},
    "clipnorm": {"clipnorm": 1.0},
    "batch_norm": {"batch_norm": True},
    "plain_batch_norm": {"batch_norm": True, "recursion_steps": 0},
}


def with_relu(network):
    """`network` rebuilt (fresh weights, as a new network starts) with `ReLU`
    for every `LeakyReLU`."""
    import keras

    def clone(layer):
        if isinstance(layer, keras.layers.LeakyReLU):
            return keras.layers.ReLU(name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    return keras.models.clone_model(network, clone_function=clone)


def pytorch_initialization(model, seed):
    """Re-draw `model`'s kernels and biases as PyTorch's layers draw them.

    PyTorch's `Linear`, `Conv*d` and `ConvTranspose*d` start the kernel
    (`kaiming_uniform_(a=sqrt(5))`) and the bias from `U(-b, b)` with
    `b = 1/sqrt(fan_in)`; Keras starts kernels from Glorot-uniform and
    biases from zero. PyTorch's `fan_in` is the product of every kernel
    axis but the output one: in Keras's layouts every axis but the last,
    a transposed convolution's `(kh, kw, out, in)` kernel included (PyTorch
    counts `out·kh·kw` for its `(in, out, kh, kw)` kernel too).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    for layer in model._flatten_layers(include_self=False):
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        bound = 1.0 / np.sqrt(np.prod(kernel.shape[:-1]))
        kernel.assign(rng.uniform(-bound, bound, kernel.shape).astype("float32"))
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(
                rng.uniform(-bound, bound, layer.bias.shape).astype("float32")
            )


def run(name, args):
    import keras
    import numpy as np

    import savae_keras as sk
    from savae_keras.metrics import binary_crossentropy
    from savae_keras.metrics import binary_crossentropy_floor

    options = dict(VARIANTS[name])
    rate = options.pop("learning_rate", 0.005)
    mean_over_steps = options.pop("mean_over_steps", False)
    pytorch_init = options.pop("pytorch_initialization", False)
    epsilon = options.pop("epsilon", 1e-7)
    relu = options.pop("relu", False)
    own_input_target = options.pop("own_input_target", False)
    clipnorm = options.pop("clipnorm", None)
    x, _ = sk.data.load_dataset("cifar10", "train")
    x_test, _ = sk.data.load_dataset("cifar10", "test")
    x = x[: args.train_size].astype("float32") / 255
    x_test = x_test[: args.test_size].astype("float32") / 255
    keras.utils.set_random_seed(args.seed)
    config = {
        "input_shape": (32, 32, 3),
        "reconstruction_loss": "bce",
        "recursion_steps": 2,
        "adversarial_weight": 0.0,
        "seed": args.seed,
        **options,
    }
    if relu:
        from savae_keras.networks.recursive import build_cifar_autoencoder

        networks = build_cifar_autoencoder(config["input_shape"])
        encoder, decoder = (with_relu(n) for n in networks)
        config.update(encoder=encoder, decoder=decoder)
    model = sk.RecursiveAutoencoderGAN(**config)
    if own_input_target:  # step j reconstructs x'(j − 1), a constant
        from keras import ops

        from savae_keras.losses import recursive as rec_losses

        def own_input_term(x, outputs, weights):
            targets = [x, *(ops.stop_gradient(o) for o in outputs[:-1])]
            errors = [
                rec_losses.reconstruction_error(t, o, model.reconstruction_loss)
                for t, o in zip(targets, outputs)
            ]
            return rec_losses.weighted_step_sum(ops.stack(errors, 1), weights)

        model.reconstruction_term = own_input_term
    if mean_over_steps:  # the same loss over k + 1 steps
        steps = model.recursion_steps + 1
        term = model.reconstruction_term
        model.reconstruction_term = lambda *a: term(*a) / steps
    if pytorch_init:
        for i, network in enumerate(model.network_names):
            pytorch_initialization(getattr(model, network), seed=args.seed + i)
    model.compile(
        autoencoder_optimizer=keras.optimizers.Adam(
            rate, epsilon=epsilon, clipnorm=clipnorm
        ),
        discriminator_optimizer=keras.optimizers.Adam(0.001),
    )
    floor = float(np.mean(binary_crossentropy_floor(x_test)))
    epochs, started = [], time.perf_counter()
    for epoch in range(args.epochs):
        model.fit(x, batch_size=args.batch_size, epochs=1, verbose=0)
        one = model.reconstruct(x_test, steps=0)
        last = model.reconstruct(x_test, steps=model.recursion_steps)
        epochs.append(
            {
                "epoch": epoch + 1,
                "bce_one_pass": round(
                    float(np.mean(binary_crossentropy(x_test, one))), 4
                ),
                "bce_last_step": round(
                    float(np.mean(binary_crossentropy(x_test, last))), 4
                ),
                "output_spread": round(float(np.mean(np.std(one, axis=0))), 4),
            }
        )
    return {
        "variant": name,
        "learning_rate": rate,
        "train_size": len(x),
        "test_size": len(x_test),
        "batch_size": args.batch_size,
        "seed": args.seed,
        "bce_floor": round(floor, 4),
        "input_spread": round(float(np.mean(np.std(x_test, axis=0))), 4),
        "epochs": epochs,
        "seconds": round(time.perf_counter() - started, 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS)
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=10000)
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in args.variants:
        print(json.dumps(run(name, args)), flush=True)


if __name__ == "__main__":
    main()
