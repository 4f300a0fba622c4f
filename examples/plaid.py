"""SAVAE on 1-D signals: PLAID appliance currents (or Trace, BasicMotions).

    python examples/plaid.py --quick
    python examples/plaid.py --dataset trace --epochs 60

Trains SAVAE's two phases on the training series and the VAE for as many
seconds, then writes `metrics.json` (VEC test accuracy, test reconstruction
error and log-spectral distance of both models), `reconstructions.png` and
`generated_per_class.png` to `--out` (default `runs/<dataset>`). See
`savae_keras.experiments.signals`; the series are resampled to a fixed
length and scaled into [0, 1] as `savae_keras.data.SIGNALS` says.
"""

import argparse
import json

from savae_keras.cli import device_scope
from savae_keras.cli import quiet_per_model_retracing
from savae_keras.experiments.signals import add_training_arguments
from savae_keras.experiments.signals import run_signals


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", default="plaid", choices=["plaid", "trace", "basic_motions"]
    )
    add_training_arguments(parser)
    args = parser.parse_args(argv)
    quiet_per_model_retracing()
    with device_scope(args, parser):
        results = run_signals(
            dataset=args.dataset,
            out=args.out,
            latent_dim=args.latent_dim,
            epochs=args.epochs or (8 if args.quick else 40),
            decoder_epochs=args.decoder_epochs or (2 if args.quick else 10),
            batch_size=args.batch_size,
            seed=args.seed,
            data_dir=args.data_dir,
            recipe=args.recipe,
        )
    print(json.dumps({k: results[k] for k in ("vec_test_accuracy", "models")}))
    return results


if __name__ == "__main__":
    main()
