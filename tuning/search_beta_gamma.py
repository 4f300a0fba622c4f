"""Search a SAVAE preset's settings with KerasTuner (β and γ by default).

    python tuning/search_beta_gamma.py --dataset mnist --tuner random --trials 10
    python tuning/search_beta_gamma.py --preset quick --tuner hyperband --epochs 9
    python tuning/search_beta_gamma.py --preset latent100 \\
        --search pixel_weight=log:0.1:10 --search prior_weight=0,0.5,1 \\
        --search ema=true,false

The objective is the Fréchet classifier distance of reconstructions of
held-out training images (minimised). A `--search NAME=SPEC` names a setting
of the preset and its range: `log:LOW:HIGH`, `float:LOW:HIGH`,
`int:LOW:HIGH`, or choices `A,B,C`; without any, β (log 1e-4…0.1) and γ
(0, 0.01, 0.1, 0.3, 1). When only phase-2 settings are searched, phase 1 is
trained once. Writes to `--out`: `results.csv`, `results.md`,
`objective_vs_beta.png`, `best/` (the best SAVAE, `SAVAE.from_preset`),
`phase_1/` and KerasTuner's `tuner/` folder. Running the same command again
resumes an interrupted search.
"""

import argparse

from savae_keras.cli import add_device_arguments
from savae_keras.cli import add_preset_arguments
from savae_keras.cli import device_scope
from savae_keras.cli import nonnegative_int
from savae_keras.cli import positive_int
from savae_keras.cli import preset_overrides
from savae_keras.cli import quiet_per_model_retracing
from savae_keras.metrics import check_num_samples
from savae_keras.presets import parse_setting
from savae_keras.tuning import OBJECTIVE
from savae_keras.tuning import OBJECTIVES
from savae_keras.tuning import TUNERS
from savae_keras.tuning import check_space
from savae_keras.tuning import search_savae

QUICK_NETWORKS = {
    "encoder_options": {
        "conv_filters": (4, 4, 8, 8, 16, 16),
        "dense_units": (64, 32, 16),
    },
    "classifier_options": {"units": (16, 16, 16)},
    "decoder_options": {"dense_units": (16, 64), "conv_filters": (16, 16, 8, 8, 4, 4)},
    "critic_options": {"conv_filters": (4, 8, 16), "dense_units": (64, 32, 16, 8)},
}


def parse_search(text):
    """`NAME=SPEC` of `--search` as `(name, range or choices)`."""
    name, sep, spec = str(text).partition("=")
    if not sep or not name or not spec:
        raise ValueError(f"a search must read `name=spec`; received {text!r}.")
    kind, _, bounds = spec.partition(":")
    if kind in ("log", "float", "int"):
        low, _, high = bounds.partition(":")
        return name, (kind, low, high)
    return name, [parse_setting(f"x={value}")[1] for value in spec.split(",")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    add_preset_arguments(parser, "paper", "n_critic=1, batch_size=128")
    parser.add_argument(
        "--search",
        dest="searched",
        metavar="NAME=SPEC",
        action="append",
        default=[],
        help="a setting to search: log:LOW:HIGH, float:LOW:HIGH, int:LOW:HIGH "
        "or choices A,B,C (repeatable; default beta and gamma)",
    )
    parser.add_argument("--tuner", default="random", choices=TUNERS)
    parser.add_argument(
        "--objective",
        default=OBJECTIVE.name,
        choices=list(OBJECTIVES),
        help="the score to optimise (default: FCD of held-out reconstructions)",
    )
    parser.add_argument(
        "--trials", type=positive_int, default=10, help="random / bayesian"
    )
    parser.add_argument(
        "--epochs", type=positive_int, default=2, help="phase-2 epochs per trial"
    )
    parser.add_argument("--vec-epochs", type=positive_int, default=3)
    parser.add_argument("--train-size", type=positive_int, default=10000)
    parser.add_argument("--validation-size", type=positive_int, default=1000)
    parser.add_argument("--num-samples", type=positive_int, default=500)
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
    overrides = {**(QUICK_NETWORKS if args.quick else {})}
    overrides.update(preset_overrides(args, parser))
    try:  # before any training: a bad value would fail only later
        check_num_samples(args.num_samples, name="--num-samples")
        space = dict(parse_search(text) for text in args.searched) or None
        if space is not None:
            check_space(space)
    except ValueError as error:
        parser.error(str(error))
    with device_scope(args, parser):
        result = search_savae(
            dataset=args.dataset,
            preset=args.preset,
            overrides=overrides,
            space=space,
            out=args.out,
            tuner=args.tuner,
            max_trials=args.trials,
            epochs=args.epochs,
            vec_epochs=args.vec_epochs,
            train_size=args.train_size,
            validation_size=args.validation_size,
            num_samples=args.num_samples,
            data_dir=args.data_dir,
            seed=args.seed,
            verbose=args.verbose,
            objective=args.objective,
        )
    best = result["best"]
    values = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in best.items()
        if k not in ("trial", "seconds")
    )
    print(f"Best of {len(result['rows'])} trials: {values}")
    vec, trial = result["vec_seconds"], result["trial_seconds"]
    if vec:
        # Measured: the one phase-1 training and the mean trial (phase 2 only).
        print(
            f"Phase 1 took {vec:.1f} s, a trial {trial:.1f} s on average: 10 trials "
            f"take {vec + 10 * trial:.0f} s here against {10 * (vec + trial):.0f} s "
            f"when each trial retrains phase 1 "
            f"({10 * (vec + trial) / (vec + 10 * trial):.2f}x)."
        )
    print(
        f"Results in {result['out']}: results.md, results.csv, best/ "
        "(SAVAE.from_preset)"
    )


if __name__ == "__main__":
    main()
