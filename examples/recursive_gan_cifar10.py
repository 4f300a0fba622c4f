"""Radpour's comparison on CIFAR-10 (or MNIST): AE, recursive AE, AE with GAN.

    python examples/recursive_gan_cifar10.py --quick
    python examples/recursive_gan_cifar10.py --dataset mnist --epochs 10
    python examples/recursive_gan_cifar10.py --report-epochs --models autoencoder \
        --curve-every 5

Writes `results.md` / `results.json` (test BCE, MSE, PSNR, SSIM next to the
report's Table 1) and `reconstructions.png` to `--out`; with `--curve-every`,
also the test BCE against epochs (`curve.png`, `curve_<model>.json`). With
`--backup-dir`, the same command after an interruption resumes the
interrupted model at its last finished epoch.
"""

import argparse

from savae_keras.cli import add_device_arguments
from savae_keras.cli import device_scope
from savae_keras.cli import nonnegative_float
from savae_keras.cli import nonnegative_int
from savae_keras.cli import positive_float
from savae_keras.cli import positive_int
from savae_keras.cli import quiet_per_model_retracing
from savae_keras.experiments import recursive_gan

# The rows of Table 1, as `--models` names them.
MODELS = {name.replace(" ", "_"): name for name in recursive_gan.VARIANTS}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", default="cifar10", choices=sorted(recursive_gan.REPORT)
    )
    parser.add_argument("--quick", action="store_true", help="a few minutes on a CPU")
    epochs = parser.add_mutually_exclusive_group()
    epochs.add_argument("--epochs", type=positive_int, default=None)
    epochs.add_argument(
        "--report-epochs",
        action="store_true",
        help="each model's epochs in the report: 200, 150 and 20",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=list(MODELS),
        choices=list(MODELS),
        help="the rows of Table 1 to train (default: all three)",
    )
    parser.add_argument(
        "--batch-norm",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="batch normalisation in every autoencoder (beyond the report; "
        "default: the presets', on)",
    )
    parser.add_argument(
        "--curve-every",
        type=positive_int,
        default=None,
        help="score the test BCE every this many epochs and draw curve.png",
    )
    parser.add_argument(
        "--backup-dir",
        default=None,
        help="back up each model every epoch here, so the same command "
        "resumes an interrupted run",
    )
    parser.add_argument("--train-size", type=positive_int, default=None)
    parser.add_argument("--test-size", type=positive_int, default=1000)
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--adversarial-weight", type=nonnegative_float, default=0.001)
    parser.add_argument(
        "--ae-learning-rate",
        type=positive_float,
        default=None,
        help="Adam rate of the autoencoder (default: the report's 0.005)",
    )
    parser.add_argument(
        "--game-schedule",
        default=None,
        choices=["alternate", "report"],
        help="who trains when: every batch D then AE, or the report's order "
        "(an AE step, D only while it is right at most half the time, then "
        "the game step); default: the presets', the report's in the GAN row",
    )
    parser.add_argument("--verbose", default="auto", choices=["auto", "0", "1", "2"])
    parser.add_argument("--out", default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    add_device_arguments(parser)
    args = parser.parse_args()
    quiet_per_model_retracing()
    with device_scope(args, parser):
        recursive_gan.run(
            dataset=args.dataset,
            train_size=args.train_size or (4000 if args.quick else 10000),
            test_size=args.test_size,
            epochs=None
            if args.report_epochs
            else args.epochs or (2 if args.quick else 20),
            models=[MODELS[name] for name in args.models],
            batch_norm=args.batch_norm,
            curve_every=args.curve_every,
            backup_dir=args.backup_dir,
            batch_size=args.batch_size,
            adversarial_weight=args.adversarial_weight,
            autoencoder_learning_rate=args.ae_learning_rate,
            game_schedule=args.game_schedule,
            verbose=args.verbose if args.verbose == "auto" else int(args.verbose),
            out=args.out or f"runs/recursive_gan_{args.dataset}",
            data_dir=args.data_dir,
            seed=args.seed,
        )


if __name__ == "__main__":
    main()
