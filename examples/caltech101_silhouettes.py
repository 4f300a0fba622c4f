"""SAVAE on Caltech-101 Silhouettes, with the paper's settings.

Settings: latent 2 and 100, β swept over 0…0.1, γ ∈ {0, 0.1}.

    python examples/caltech101_silhouettes.py --quick
    python examples/caltech101_silhouettes.py --epochs 10

Trains phase 1 once per latent size, one phase-2 decoder per (β, γ), and the
VAE baseline; writes `metrics.json`, `results.md` and the paper's figures to
`--out` (default `runs/caltech101_silhouettes`). See `savae_keras.experiments.savae`.
"""

from savae_keras.experiments.savae import example_main

if __name__ == "__main__":
    example_main("caltech101_silhouettes")
