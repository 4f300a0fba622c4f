"""One convolution at each of the default encoder's shapes: JAX against PyTorch.

    python benchmarks/conv_kernels.py [--batch-size 128] [--steps 20]

Why the JAX backend trains slower than a hand-written PyTorch loop on a CPU
(README, "Speed"): its steps are mostly the encoder's 3×3 convolutions,
and XLA:CPU runs each of them slower than PyTorch's oneDNN kernels. For
every convolution of `build_encoder`'s default widths (the stage
convolution and the residual block's two, at 28×28, 14×14 and 7×7) this
times, on the same NHWC float32 batch, the forward pass and the forward
plus both gradients: `jax.lax.conv_general_dilated` under `jax.jit`, and
`torch.nn.functional.conv2d` on `channels_last` memory (what Keras's
PyTorch backend hands it, `sk.layers.Conv2D`). It needs neither Keras nor
the package's models, only both libraries, and prints milliseconds per
call, the ratio, and the sum over the encoder's eighteen convolutions.
"""

import argparse
import time

import jax
import numpy as np
import torch
from jax import lax

from savae_keras.networks import build_encoder


def encoder_convolutions():
    """`(size, in, out)` of each convolution of the default encoder, in order.

    Read off the built network (its 3×3 kernels, nested ones in the
    residual blocks included, and their "same" outputs' size), so the list
    follows the defaults when they change.
    """
    shapes = []
    for layer in build_encoder().layers:
        for weight in layer.weights:
            if weight.path.endswith("kernel") and len(weight.shape) == 4:
                _, _, cin, cout = weight.shape
                shapes.append((layer.output.shape[1], cin, cout))
    return shapes


def per_call_ms(run, steps):
    run()  # compiles (JAX) or warms the caches
    start = time.perf_counter()
    for _ in range(steps):
        run()
    return (time.perf_counter() - start) / steps * 1e3


def jax_times(x, w, steps):
    def conv(x, w):
        return lax.conv_general_dilated(
            x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
        )

    forward = jax.jit(conv)
    both = jax.jit(lambda x, w, g: jax.vjp(conv, x, w)[1](g))
    x, w = jax.numpy.asarray(x), jax.numpy.asarray(w)
    g = jax.numpy.ones_like(forward(x, w))
    return (
        per_call_ms(lambda: forward(x, w).block_until_ready(), steps),
        per_call_ms(lambda: jax.block_until_ready(both(x, w, g)), steps),
    )


def torch_times(x, w, steps):
    x = torch.from_numpy(x).permute(0, 3, 1, 2)  # NHWC memory, an NCHW view
    x.requires_grad_(True)
    w = torch.from_numpy(w).permute(3, 2, 0, 1).contiguous().requires_grad_(True)
    g = torch.ones_like(torch.nn.functional.conv2d(x, w, padding=1))

    def forward():
        with torch.no_grad():
            torch.nn.functional.conv2d(x, w, padding=1)

    def both():
        y = torch.nn.functional.conv2d(x, w, padding=1)
        torch.autograd.grad(y, (x, w), g)

    return per_call_ms(forward, steps), per_call_ms(both, steps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"batch {args.batch_size}; ms per call; ratio = JAX / PyTorch")
    print(
        f"{'size':>4} {'in':>3} {'out':>3}  {'JAX fwd':>8} {'torch fwd':>9} "
        f"{'ratio':>5}  {'JAX f+b':>8} {'torch f+b':>9} {'ratio':>5}"
    )
    totals = np.zeros(4)
    for size, cin, cout in encoder_convolutions():
        x = rng.random((args.batch_size, size, size, cin), dtype=np.float32)
        w = rng.standard_normal((3, 3, cin, cout), dtype=np.float32)
        jf, jb = jax_times(x, w, args.steps)
        tf, tb = torch_times(x, w, args.steps)
        totals += (jf, tf, jb, tb)
        print(
            f"{size:>4} {cin:>3} {cout:>3}  {jf:>8.2f} {tf:>9.2f} {jf / tf:>5.2f}"
            f"  {jb:>8.2f} {tb:>9.2f} {jb / tb:>5.2f}"
        )
    jf, tf, jb, tb = totals
    print(
        f"{'all':>12}  {jf:>8.1f} {tf:>9.1f} {jf / tf:>5.2f}"
        f"  {jb:>8.1f} {tb:>9.1f} {jb / tb:>5.2f}"
    )


if __name__ == "__main__":
    main()
