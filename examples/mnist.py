"""SAVAE on MNIST: the README's main job (`make main`).

This first version checks the data path end to end and writes a grid of
training images; SAVAE training is added with the models.
"""

import argparse
import os

from savae_keras.data import load_dataset
from savae_keras.data import make_dataset
from savae_keras.plots import save_image_grid


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="runs/mnist")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    images, labels = load_dataset("mnist", "train", data_dir=args.data_dir)
    first = next(iter(make_dataset(images, labels, batch_size=40, seed=0)))
    path = save_image_grid(first[0].numpy(), os.path.join(args.out, "inputs.png"))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
