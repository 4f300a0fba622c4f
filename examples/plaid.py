"""SAVAE on 1-D signals: PLAID appliance currents (or Trace, BasicMotions).

    python examples/plaid.py --quick
    python examples/plaid.py --dataset trace --set encoder_epochs=60

Trains SAVAE's two phases on the training series and the VAE for as many
seconds, then writes `metrics.json` (VEC test accuracy, test reconstruction
error and log-spectral distance of both models), `reconstructions.png` and
`generated_per_class.png` to `--out` (default `runs/<dataset>`). See
`savae_keras.experiments.signals`.

On PLAID the models train on random windows of 200 samples of each series
at its true length, with an amplitude channel (`savae_keras.data.windows`;
`--window N` for another length), phase 1 with a cosine learning-rate
decay, and the VEC votes over each test series' windows; with the pixel
term in phase 1 (`--set reconstruction_weight=0.01 --set kl_weight=0.01
--set warm_start=true --set n_critic=1`) its test accuracy is about 0.90
(docs/results/signals.md, "PLAID on random windows"). `--window 0`, and the other
datasets, use the series resampled to a fixed length and scaled into [0, 1] as
`savae_keras.data.SIGNALS` says.
"""

import argparse
import json

from savae_keras.cli import device_scope
from savae_keras.cli import nonnegative_int
from savae_keras.cli import quiet_per_model_retracing
from savae_keras.experiments.signals import add_training_arguments
from savae_keras.experiments.signals import resolve_training
from savae_keras.experiments.signals import run_signals
from savae_keras.experiments.signals import training_overrides


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", default="plaid", choices=["plaid", "trace", "basic_motions"]
    )
    parser.add_argument(
        "--window",
        type=nonnegative_int,
        default=None,
        help="train on random windows of this many samples (0: on the "
        "resampled series; default 200 on PLAID, 0 elsewhere)",
    )
    add_training_arguments(parser)
    args = parser.parse_args(argv)
    if args.window is None:
        args.window = 200 if args.dataset == "plaid" else 0
    # (quick, full) epochs of phase 1 and phase 2. A windowed epoch is
    # short (one window per series), so it runs more of them.
    epochs, decoder_epochs = ((30, 300), (3, 30)) if args.window else ((8, 40), (2, 10))
    overrides = training_overrides(args, parser, epochs, decoder_epochs)
    quiet_per_model_retracing()
    with device_scope(args, parser):
        try:  # every setting is checked before anything loads or trains
            resolve_training(args.dataset, args.preset, overrides, args.seed)
        except (ValueError, TypeError) as error:
            parser.error(str(error))
        results = run_signals(
            dataset=args.dataset,
            out=args.out,
            preset=args.preset,
            overrides=overrides,
            window=args.window or None,
            seed=args.seed,
            data_dir=args.data_dir,
        )
    print(json.dumps({k: results[k] for k in ("vec_test_accuracy", "models")}))
    return results


if __name__ == "__main__":
    main()
