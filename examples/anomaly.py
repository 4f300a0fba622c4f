"""Anomaly detection with SAVAE and the VAE: held-out classes, or the UCR series.

    python examples/anomaly.py --dataset ucr_internal_bleeding16 --quick
    python examples/anomaly.py --dataset ucr_internal_bleeding16 \
        --epochs 100 --decoder-epochs 40 --recipe pixel
    python examples/anomaly.py --dataset plaid
    python examples/anomaly.py --dataset mnist --held-out 0 1 --train-size 10000

Each held-out class in turn is removed from the training data; the models,
trained on the other classes only, score every test sample with
`anomaly_score`, and the ROC-AUC of finding the held-out class is written
per class and model to `--out`/metrics.json (see
`savae_keras.experiments.signals.run_anomaly`). On the UCR series, whose
training windows are all normal, it also prints where each model's
highest-scoring step fell and whether that locates the anomaly (within 100
steps of it, the UCR archive's rule).
"""

import argparse
import json

from savae_keras.cli import device_scope
from savae_keras.cli import nonnegative_int
from savae_keras.cli import positive_int
from savae_keras.cli import quiet_per_model_retracing
from savae_keras.data import DATASETS
from savae_keras.experiments.signals import add_training_arguments
from savae_keras.experiments.signals import run_anomaly


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="plaid", choices=sorted(DATASETS))
    parser.add_argument(
        "--held-out",
        type=nonnegative_int,
        nargs="+",
        default=None,
        help="classes held out in turn (default: all)",
    )
    add_training_arguments(parser)
    parser.add_argument("--train-size", type=positive_int, default=None)
    parser.add_argument("--test-size", type=positive_int, default=None)
    args = parser.parse_args(argv)
    quiet_per_model_retracing()
    with device_scope(args, parser):
        results = run_anomaly(
            dataset=args.dataset,
            held_out=args.held_out,
            out=args.out,
            latent_dim=args.latent_dim,
            epochs=args.epochs or (5 if args.quick else 30),
            decoder_epochs=args.decoder_epochs or (1 if args.quick else 10),
            batch_size=args.batch_size,
            train_size=args.train_size,
            test_size=args.test_size,
            seed=args.seed,
            data_dir=args.data_dir,
            recipe=args.recipe,
        )
    print(json.dumps(results["mean"]))
    for model in ("SAVAE", "VAE"):  # the UCR series: where the top step fell
        for row in results["rows"]:
            if f"{model}_top_step" in row:
                print(f"{model}: {json.dumps(row[f'{model}_top_step'])}")
    return results


if __name__ == "__main__":
    main()
