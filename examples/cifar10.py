"""SAVAE on CIFAR-10 from a preset, against the VAE; `--help` for the flags.

    python examples/cifar10.py --preset quick --set seconds=300

`savae_keras.experiments.savae` says what it trains and writes.
"""

from savae_keras.experiments.savae import example_main

if __name__ == "__main__":
    example_main("cifar10")
