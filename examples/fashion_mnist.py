"""SAVAE on Fashion-MNIST, with the paper's settings.

Settings: latent 2 and 100, β swept over 0…0.1, γ ∈ {0, 0.1}.

    python examples/fashion_mnist.py --quick
    python examples/fashion_mnist.py --epochs 10

Trains phase 1 once per latent size, one phase-2 decoder per (β, γ), and the
VAE baseline; writes `metrics.json`, `results.md` and the paper's figures to
`--out` (default `runs/fashion_mnist`). See `savae_keras.experiments.savae`.
"""

from savae_keras.experiments.savae import example_main

if __name__ == "__main__":
    example_main("fashion_mnist")
