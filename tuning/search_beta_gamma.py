"""Search SAVAE's β and γ with KerasTuner; phase 1 is trained once.

    python tuning/search_beta_gamma.py --dataset mnist --tuner random --trials 10
    python tuning/search_beta_gamma.py --tuner hyperband --epochs 9 --out runs/hb

The objective is the Fréchet classifier distance of reconstructions of
held-out training images (minimised). Writes to `--out`: `results.csv`,
`results.md`, `objective_vs_beta.png`, `best_decoder.keras`, `vec.keras`
(phase 1) and KerasTuner's `tuner/` folder. Running the same command again
resumes an interrupted search.
"""

import argparse

from savae_keras.cli import add_device_arguments
from savae_keras.cli import device_scope
from savae_keras.cli import nonnegative_float
from savae_keras.cli import nonnegative_int
from savae_keras.cli import positive_float
from savae_keras.cli import positive_int
from savae_keras.cli import quiet_per_model_retracing
from savae_keras.metrics import check_num_samples
from savae_keras.tuning import TUNERS
from savae_keras.tuning import search_beta_gamma

QUICK_NETWORKS = {
    "encoder_options": {
        "conv_filters": (4, 4, 8, 8, 16, 16),
        "dense_units": (64, 32, 16),
    },
    "classifier_options": {"units": (16, 16, 16)},
    "decoder_options": {"dense_units": (16, 64), "conv_filters": (16, 16, 8, 8, 4, 4)},
    "critic_options": {"conv_filters": (4, 8, 16), "dense_units": (64, 32, 16, 8)},
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--latent-dim", type=positive_int, default=2)
    parser.add_argument("--tuner", default="random", choices=TUNERS)
    parser.add_argument(
        "--trials", type=positive_int, default=10, help="random / bayesian"
    )
    parser.add_argument(
        "--epochs", type=positive_int, default=2, help="decoder epochs per trial"
    )
    parser.add_argument("--vec-epochs", type=positive_int, default=3)
    parser.add_argument("--train-size", type=positive_int, default=10000)
    parser.add_argument("--validation-size", type=positive_int, default=1000)
    parser.add_argument("--num-samples", type=positive_int, default=500)
    parser.add_argument("--batch-size", type=positive_int, default=128)
    parser.add_argument("--beta-min", type=positive_float, default=1e-4)
    parser.add_argument("--beta-max", type=positive_float, default=1e-1)
    parser.add_argument(
        "--gammas",
        type=nonnegative_float,
        nargs="+",
        default=[0.0, 0.01, 0.1, 0.3, 1.0],
    )
    parser.add_argument("--n-critic", type=positive_int, default=5)
    parser.add_argument(
        "--quick", action="store_true", help="small networks, minutes on a CPU"
    )
    parser.add_argument("--out", default="runs/search_beta_gamma")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    parser.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2])
    add_device_arguments(parser)
    args = parser.parse_args(argv)
    quiet_per_model_retracing()
    try:  # before any training: a too-small value would fail only at scoring
        check_num_samples(args.num_samples, name="--num-samples")
    except ValueError as error:
        parser.error(str(error))
    with device_scope(args, parser):
        result = search_beta_gamma(
            dataset=args.dataset,
            out=args.out,
            tuner=args.tuner,
            max_trials=args.trials,
            epochs=args.epochs,
            vec_epochs=args.vec_epochs,
            latent_dim=args.latent_dim,
            train_size=args.train_size,
            validation_size=args.validation_size,
            batch_size=args.batch_size,
            beta_range=(args.beta_min, args.beta_max),
            gammas=args.gammas,
            n_critic=args.n_critic,
            num_samples=args.num_samples,
            data_dir=args.data_dir,
            seed=args.seed,
            network_options=QUICK_NETWORKS if args.quick else None,
            verbose=args.verbose,
        )
    best = result["best"]
    print(
        f"Best of {len(result['rows'])} trials: beta={best['beta']:.4g} "
        f"gamma={best['gamma']:g} fcd_reconstructions={best['fcd_reconstructions']:.4g}"
    )
    vec, trial = result["vec_seconds"], result["trial_seconds"]
    if vec:
        # Measured: the one phase-1 training and the mean trial (decoder only).
        print(
            f"Phase 1 took {vec:.1f} s, a trial {trial:.1f} s on average: 10 trials "
            f"take {vec + 10 * trial:.0f} s here against {10 * (vec + trial):.0f} s "
            f"when each trial retrains phase 1 "
            f"({10 * (vec + trial) / (vec + 10 * trial):.2f}x)."
        )
    print(
        f"Results in {result['out']}: results.md, results.csv, objective_vs_beta.png, "
        "best_decoder.keras"
    )


if __name__ == "__main__":
    main()
