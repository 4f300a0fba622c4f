"""SAVAE on Caltech-101 Silhouettes, from a preset, against the VAE.

    python examples/caltech101_silhouettes.py --preset quick
    python examples/caltech101_silhouettes.py --preset latent100 --set seconds=300
    python examples/caltech101_silhouettes.py --preset paper --sweep

One SAVAE of the preset (`--preset`, default `paper`; `--set key=value`
changes a setting) and the VAE baseline for as long; `--sweep` runs the
paper's sweep instead, phase 1 once per latent size:
latent 2 and 100, β swept over 0…0.1, γ ∈ {0, 0.1}. Writes
`metrics.json` (with the resolved preset: `--preset metrics.json` runs it
again), `results.md` and the paper's figures to `--out` (default
`runs/caltech101_silhouettes`). See `savae_keras.experiments.savae`.
"""

from savae_keras.experiments.savae import example_main

if __name__ == "__main__":
    example_main("caltech101_silhouettes")
