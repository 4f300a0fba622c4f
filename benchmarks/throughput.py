"""Training throughput of each model on the active Keras backend.

    KERAS_BACKEND=jax python benchmarks/throughput.py [--models vec decoder]

For each model and batch size, a fresh subprocess builds the model with its
default (paper) networks, runs `warmup` training steps with `fit` (the first
compiles), then times `steps` more in one `fit` call on MNIST-shaped random
data. It reports images per second, the warm-up time (mostly compilation)
and the peak resident memory of that subprocess. Numbers are
wall-clock on whatever machine runs it: compare rows from one run only.

With `--reference`, each `vec` and `decoder` row is preceded by the same
step in plain eager PyTorch (`benchmarks/torch_reference.py`, the same
networks layer for layer) on the same batch size, and the package's speed
is printed as a ratio of it (`× torch`), measured back to back.

For the `vec` rows it also prints phase 1's achieved arithmetic rate
(`GFLOP/s`) and its share of this machine's float32 matrix-multiply peak
(`% peak`), measured at the start with numpy's BLAS on all cores. A
training step's FLOPs are counted as 3× the forward pass's (the backward
pass computes a gradient for the activations and one for the weights),
and the forward pass's as 2 × kernel weights × output positions for every
convolution and dense layer: the multiply-adds, not the activations,
pooling or optimizer update, so the rate is a slight under-count.

`--dtype-policy` trains under a Keras mixed-precision policy, and
`--distribute` data-parallel over all visible devices (the `devices` column;
on a CPU, `XLA_FLAGS=--xla_force_host_platform_device_count=N` gives JAX N
virtual devices, which share the same cores).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from savae_keras.cli import add_device_arguments

MODELS = ("vec", "decoder", "vae", "recursive_k0", "recursive_k1", "recursive_k2")


def build(name, image_shape, jit_compile):
    """A compiled model, and whether it trains on labels."""
    import savae_keras as sk

    if name == "vec":
        model = sk.VariationalEncoderClassifier(image_shape, 10, latent_dim=2, seed=0)
        model.compile(jit_compile=jit_compile)
        return model, True
    if name == "decoder":
        vec = sk.VariationalEncoderClassifier(image_shape, 10, latent_dim=2, seed=0)
        vec.trained_steps.assign(1)  # the throughput does not depend on training
        vec.trainable = False  # phase 2 trains on a frozen VEC
        model = sk.AdversarialDecoder(vec, n_critic=5, seed=0)
        model.compile(jit_compile=jit_compile)
        return model, False
    if name == "vae":
        model = sk.VAE(image_shape, latent_dim=2, seed=0)
        model.compile(jit_compile=jit_compile)
        return model, False
    if name.startswith("recursive_k"):
        model = sk.RecursiveAutoencoderGAN(
            image_shape, recursion_steps=int(name[-1]), seed=0
        )
        model.compile(jit_compile=jit_compile)
        return model, False
    raise ValueError(f"unknown model {name!r}; choose from {MODELS}")


def forward_flops(network):
    """Multiply-add FLOPs of one image through a functional network.

    `2 × kernel weights × output positions` for every layer with a kernel
    (convolutions and dense layers, including those nested in a
    `ResidualBlock`, whose "same" stride-1 convolutions keep their block's
    output positions).
    """
    import math

    total = 0
    for layer in network.layers:
        output = layer.output[0] if isinstance(layer.output, list) else layer.output
        positions = math.prod(output.shape[1:-1])
        for weight in layer.weights:
            if weight.path.endswith("kernel"):
                total += 2 * math.prod(weight.shape) * positions
    return total


def matmul_peak_gflops(size=2048, repeats=5):
    """This machine's float32 matrix-multiply rate, numpy's BLAS, best of a few."""
    import numpy as np

    a = np.random.default_rng(0).standard_normal((size, size)).astype("float32")
    best = float("inf")
    for _ in range(repeats + 1):  # the first warms the BLAS up
        start = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def measure(name, batch_size, warmup, steps, jit_compile, args):
    """Run in the subprocess: train and time one model at one batch size."""
    import keras
    import numpy as np

    from savae_keras.cli import device_scope
    from savae_keras.distribution import device_count

    image_shape = (28, 28, 1)
    with device_scope(args):
        model, labeled = build(name, image_shape, jit_compile)
        devices = device_count()
    rng = np.random.default_rng(0)
    n = batch_size * steps
    x = rng.uniform(0, 1, (n, *image_shape)).astype("float32")
    y = rng.integers(0, 10, n) if labeled else None
    start = time.perf_counter()
    model.fit(
        x[: batch_size * warmup],
        None if y is None else y[: batch_size * warmup],
        batch_size=batch_size,
        epochs=1,
        verbose=0,
        shuffle=False,
    )
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    flops = None
    if name == "vec":  # phase 1: encoder and classifier, forward and backward
        flops = 3 * (forward_flops(model.encoder) + forward_flops(model.classifier))
    return {
        "backend": keras.backend.backend(),
        "model": name,
        "batch_size": batch_size,
        "jit_compile": str(jit_compile),
        "dtype_policy": args.dtype_policy,
        "devices": devices,
        "images_per_second": n / seconds,
        "first_steps_seconds": compile_seconds,
        "peak_rss_mib": peak_mib,
        "training_flops_per_image": flops,
        "gflops_per_second": flops and flops * n / seconds / 1e9,
    }


REFERENCE_MODELS = ("vec", "decoder")


def _reference_row(name, batch_size, args):
    """The plain PyTorch loop's row for one model, in its own process."""
    script = os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "torch_reference.py"
    )
    command = [
        sys.executable,
        script,
        "--models",
        name,
        "--batch-sizes",
        str(batch_size),
        "--warmup",
        str(args.warmup),
        "--steps",
        str(args.steps),
    ]
    return _child_row(command)


def _child_row(command):
    """Run a measuring process; its last `ROW {json}` line, or an error text."""
    result = subprocess.run(command, capture_output=True, text=True)
    lines = [r for r in result.stdout.splitlines() if r.startswith("ROW ")]
    if result.returncode or not lines:
        return result.stderr.strip()[-300:]
    return json.loads(lines[-1][4:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[64, 128])
    parser.add_argument("--warmup", type=int, default=3, help="steps before timing")
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument(
        "--jit-compile",
        default="auto",
        choices=["auto", "true", "false"],
        help="compile mode of the models (XLA with true on TensorFlow)",
    )
    parser.add_argument(
        "--reference",
        action="store_true",
        help="time the plain PyTorch loop before each vec/decoder row",
    )
    add_device_arguments(parser)
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        jit_compile = {"auto": "auto", "true": True, "false": False}[args.jit_compile]
        row = measure(
            args.child[0],
            int(args.child[1]),
            args.warmup,
            args.steps,
            jit_compile,
            args,
        )
        print("ROW " + json.dumps(row))
        return

    rows = []
    failed = []
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    peak = matmul_peak_gflops()
    print(f"float32 matmul peak of this machine (numpy BLAS): {peak:.0f} GFLOP/s")
    print(
        f"backend {backend}, jit_compile={args.jit_compile}, dtype policy "
        f"{args.dtype_policy}{', data-parallel' if args.distribute else ''}; "
        f"{args.steps} timed "
        f"steps after {args.warmup} warm-up steps"
    )
    print(
        f"{'model':<14}{'batch':>6}{'devices':>8}{'images/s':>11}{'warm-up s':>15}"
        f"{'peak MiB':>10}{'× torch':>9}{'GFLOP/s':>9}{'% peak':>8}"
    )
    for name in args.models:
        for batch_size in args.batch_sizes:
            reference = None
            if args.reference and name in REFERENCE_MODELS:
                reference = _reference_row(name, batch_size, args)
                if isinstance(reference, str):  # the package's row still runs
                    print(f"{'  plain torch':<14}{batch_size:>6}  failed: {reference}")
                    reference = None
                else:
                    rows.append(reference)
                    print(
                        f"{'  plain torch':<14}{batch_size:>6}{1:>8}"
                        f"{reference['images_per_second']:>11.0f}"
                        f"{reference['first_steps_seconds']:>15.1f}"
                        f"{reference['peak_rss_mib']:>10.0f}",
                        flush=True,
                    )
            command = [
                sys.executable,
                __file__,
                "--child",
                name,
                str(batch_size),
                "--warmup",
                str(args.warmup),
                "--steps",
                str(args.steps),
                "--jit-compile",
                args.jit_compile,
                "--dtype-policy",
                args.dtype_policy,
                *(["--distribute"] if args.distribute else []),
            ]
            row = _child_row(command)
            if isinstance(row, str):
                print(f"{name:<14}{batch_size:>6}  failed: {row}")
                failed.append(f"{name} (batch {batch_size})")
                continue
            if reference:
                row["vs_plain_torch"] = (
                    row["images_per_second"] / reference["images_per_second"]
                )
            rows.append(row)
            ratio = f"{row['vs_plain_torch']:>8.2f}×" if reference else " " * 9
            rate = ""
            if row["gflops_per_second"]:
                row["share_of_peak"] = row["gflops_per_second"] / peak
                share = 100 * row["share_of_peak"]
                rate = f"{row['gflops_per_second']:>9.1f}{share:>7.1f}%"
            print(
                f"{name:<14}{batch_size:>6}{row['devices']:>8}"
                f"{row['images_per_second']:>11.0f}"
                f"{row['first_steps_seconds']:>15.1f}{row['peak_rss_mib']:>10.0f}"
                f"{ratio}{rate}",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
