"""Phase 1 with few labels: VEC test accuracy after a fixed number of steps.

    KERAS_BACKEND=tensorflow python benchmarks/semi_supervised.py \\
        --labeled-fraction 0.01 --shares none 0.25 --steps 512

Issue 15's yardstick for phase 1: a VEC trained on `--train-size` MNIST
training images of which a seeded, class-balanced `--labeled-fraction` keep
their labels (the rest are -1), for exactly `--steps` optimizer steps of
`--batch-size`, with the labels batched as they come (`none`) or with a
`labeled_share` of every batch. Scored on `--test-size` test images. One
JSON line per (share, seed).
"""

import argparse
import json
import math
import time

from common import stop_after

from savae_keras.cli import quiet_per_model_retracing


def run(share, args, seed):
    import keras
    import numpy as np

    import savae_keras as sk

    x, y = sk.data.load_dataset(args.dataset, "train")
    x, y = x[: args.train_size], y[: args.train_size]
    labels = sk.data.mask_labels(y, args.labeled_fraction, seed=seed)
    x_test, y_test = sk.data.load_dataset(args.dataset, "test")
    x_test, y_test = x_test[: args.test_size], y_test[: args.test_size]
    spec = sk.data.get_spec(args.dataset)
    keras.utils.set_random_seed(seed)
    vec = sk.VariationalEncoderClassifier(
        spec.image_shape, spec.num_classes, args.latent_dim, seed=seed
    )
    vec.compile()
    batches = sk.data.ImageBatches(
        x,
        labels,
        batch_size=args.batch_size,
        seed=seed,
        labeled_share=None if share == "none" else float(share),
    )

    start = time.perf_counter()
    vec.fit(
        batches,
        epochs=math.ceil(args.steps / len(batches)),
        verbose=0,
        callbacks=[stop_after(args.steps)],
    )
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(vec.classify(x_test).argmax(-1) == y_test))
    history = vec.evaluate(x_test, y_test, verbose=0, return_dict=True)
    return {
        "labeled_share": share,
        "labeled_images": int(np.sum(labels >= 0)),
        "steps": int(keras.ops.convert_to_numpy(vec.trained_steps.value)),
        "vec_accuracy": round(accuracy, 4),
        "test_kl": round(float(history["kl_loss"]), 4),
        "train_seconds": round(seconds, 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--train-size", type=int, default=4096)
    parser.add_argument("--labeled-fraction", type=float, default=0.01)
    parser.add_argument("--shares", nargs="+", default=["none", "0.25"])
    parser.add_argument("--latent-dim", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=512)
    parser.add_argument("--test-size", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args(argv)
    quiet_per_model_retracing()
    for seed in args.seeds:
        for share in args.shares:
            row = run(share, args, seed)
            print(
                json.dumps(
                    {
                        "dataset": args.dataset,
                        "train_size": args.train_size,
                        "labeled_fraction": args.labeled_fraction,
                        "latent_dim": args.latent_dim,
                        "batch_size": args.batch_size,
                        "seed": seed,
                        **row,
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
