"""SAVAE on CIFAR-10, from a preset, against the VAE.

    python examples/cifar10.py --preset quick
    python examples/cifar10.py --preset latent100 --set seconds=300
    python examples/cifar10.py --preset paper --sweep

One SAVAE of the preset (`--preset`, default `paper`; `--set key=value`
changes a setting) and the VAE baseline for as long; `--sweep` runs the
paper's sweep instead, phase 1 once per latent size:
latent 100, β = 0.001, γ = 0, α_i = 1 (section 4.5). Writes
`metrics.json` (with the resolved preset: `--preset metrics.json` runs it
again), `results.md` and the paper's figures to `--out` (default
`runs/cifar10`). See `savae_keras.experiments.savae`.
"""

from savae_keras.experiments.savae import example_main

if __name__ == "__main__":
    example_main("cifar10")
