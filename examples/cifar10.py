"""SAVAE on CIFAR-10, with the paper's settings.

Settings: latent 100, β = 0.001, γ = 0.

    python examples/cifar10.py --quick
    python examples/cifar10.py --epochs 10

Trains phase 1 once per latent size, one phase-2 decoder per (β, γ), and the
VAE baseline; writes `metrics.json`, `results.md` and the paper's figures to
`--out` (default `runs/cifar10`). See `savae_keras.experiments.savae`.
"""

from savae_keras.experiments.savae import example_main

if __name__ == "__main__":
    example_main("cifar10")
