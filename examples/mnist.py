"""SAVAE on MNIST: phase 1 (VEC), phase 2 (adversarial decoder), figures.

    python examples/mnist.py --quick --out runs/mnist_quick

Writes `reconstructions.png` (inputs above their reconstructions) and
`generations.png` (one row per digit, from the class-conditional prior).
"""

import argparse
import os
import time

import keras
import numpy as np

from savae_keras import SAVAE
from savae_keras.data import load_dataset
from savae_keras.data import make_dataset
from savae_keras.plots import save_image_grid


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few minutes on a CPU")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per phase")
    parser.add_argument("--train-size", type=int, default=None)
    parser.add_argument("--latent-dim", type=int, default=2)
    parser.add_argument("--out", default="runs/mnist")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    epochs = args.epochs or (2 if args.quick else 10)
    train_size = args.train_size or (16384 if args.quick else 60000)

    keras.utils.set_random_seed(args.seed)
    x_train, y_train = load_dataset("mnist", "train", data_dir=args.data_dir)
    x_test, _ = load_dataset("mnist", "test", data_dir=args.data_dir)
    x_train, y_train = x_train[:train_size], y_train[:train_size]
    print(f"backend {keras.backend.backend()}: {len(x_train)} training images")

    model = SAVAE(latent_dim=args.latent_dim, seed=args.seed)
    model.compile()
    start = time.time()
    model.fit(
        make_dataset(x_train, y_train, batch_size=64, seed=args.seed),
        encoder_epochs=epochs,
        decoder_epochs=epochs,
    )
    print(f"trained both phases in {time.time() - start:.0f} s")

    os.makedirs(args.out, exist_ok=True)
    inputs = x_test[:20].astype("float32") / 255.0
    pairs = np.concatenate(
        [
            inputs[:10],
            model.reconstruct(inputs[:10]),
            inputs[10:],
            model.reconstruct(inputs[10:]),
        ]
    )
    paths = [
        save_image_grid(
            pairs,
            os.path.join(args.out, "reconstructions.png"),
            title="inputs (rows 1, 3) and reconstructions (rows 2, 4)",
        ),
        save_image_grid(
            model.generate(100, labels=np.repeat(np.arange(10), 10), seed=args.seed),
            os.path.join(args.out, "generations.png"),
            row_titles=[str(d) for d in range(10)],
            title="class-conditional generations",
        ),
    ]
    for path in paths:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
