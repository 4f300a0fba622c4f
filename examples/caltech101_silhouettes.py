"""SAVAE on Caltech-101 Silhouettes from a preset, against the VAE (`--help`).

    python examples/caltech101_silhouettes.py --preset quick --set seconds=300

`savae_keras.experiments.savae` says what it trains and writes.
"""

from savae_keras.experiments.savae import example_main

if __name__ == "__main__":
    example_main("caltech101_silhouettes")
