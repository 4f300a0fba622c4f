"""Issue 14's ablation: SAVAE variants against a VAE at the same wall-clock.

    KERAS_BACKEND=torch python benchmarks/savae_ablation.py --latent-dim 2 100

For each latent size, each variant trains both SAVAE phases on the same
images and budget (`--vec-epochs` of phase 1, `--decoder-epochs` of phase
2), then a VAE of the same networks trains for as many seconds as the
slowest variant took (a `TimeLimit` callback; its epochs are whatever fits).
Every model is scored by `evaluate_generative` on `--num-samples` test
images. One JSON line per model is printed; `--out` also writes them to a
file.

Variants (rows of docs/results.md's ablation table):

* `paper`: the paper's recipe with Keras's default initialisation;
* `zero_init`: residual blocks start as the identity (the package default);
* `pixel`: `zero_init`, plus the pixel term in phase 1 (`reconstruction_weight`
  1, `kl_weight` 1: phase 1 is a semi-supervised VAE) and phase 2's decoder
  warm-started from phase 1's (`warm_start=True`). Beyond the paper.
"""

import argparse
import json
import time

from savae_keras.experiments.savae import RECIPES

# (phase-1 options, phase-2 options) of each variant, from the examples' recipes.
VARIANTS = {
    "paper": (
        {**RECIPES["paper"][0], "zero_init_residual": False},
        RECIPES["paper"][1],
    ),
    "zero_init": RECIPES["paper"],
    "pixel": RECIPES["pixel"],
}


def train_savae(variant, spec, latent_dim, x, y, args):
    import keras

    from savae_keras import AdversarialDecoder
    from savae_keras import VariationalEncoderClassifier

    options, decoder_options = VARIANTS[variant]
    options = dict(options)
    zero_init = options.pop("zero_init_residual", True)
    keras.utils.set_random_seed(args.seed)
    vec = VariationalEncoderClassifier(
        spec.image_shape,
        spec.num_classes,
        latent_dim,
        encoder_options={"zero_init_residual": zero_init},
        classifier_options={"zero_init_residual": zero_init},
        seed=args.seed,
        **options,
    )
    vec.compile()
    start = time.perf_counter()
    vec.fit(x, y, batch_size=args.batch_size, epochs=args.vec_epochs, verbose=0)
    vec_seconds = time.perf_counter() - start
    vec.trainable = False
    vec.fit_class_prior(x, labels=y)
    decoder = AdversarialDecoder(vec, seed=args.seed + 1, **decoder_options)
    decoder.compile()
    start = time.perf_counter()
    decoder.fit(x, batch_size=args.batch_size, epochs=args.decoder_epochs, verbose=0)
    return decoder, vec_seconds, time.perf_counter() - start


def train_vae(spec, latent_dim, x, y, seconds, args):
    import keras

    from savae_keras import VAE
    from savae_keras.callbacks import TimeLimit

    keras.utils.set_random_seed(args.seed)
    vae = VAE(
        spec.image_shape, latent_dim, num_classes=spec.num_classes, seed=args.seed
    )
    vae.compile()
    limit = TimeLimit(seconds)
    start = time.perf_counter()
    history = vae.fit(
        x, batch_size=args.batch_size, epochs=10_000, verbose=0, callbacks=[limit]
    )
    elapsed = time.perf_counter() - start
    vae.fit_class_prior(x, labels=y)
    return vae, elapsed, len(history.epoch), limit.batches


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument(
        "--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS)
    )
    parser.add_argument("--latent-dim", type=int, nargs="+", default=[2, 100])
    parser.add_argument("--train-size", type=int, default=8192)
    parser.add_argument("--vec-epochs", type=int, default=2)
    parser.add_argument("--decoder-epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-vae", action="store_true")
    parser.add_argument("--out", default=None, help="also append the rows here")
    args = parser.parse_args(argv)

    import keras

    from savae_keras.data import get_spec
    from savae_keras.data import load_dataset
    from savae_keras.metrics import evaluate_generative
    from savae_keras.metrics import reference_classifier

    spec = get_spec(args.dataset)
    x, y = load_dataset(args.dataset, "train")
    x, y = x[: args.train_size], y[: args.train_size]
    reference = reference_classifier(args.dataset)
    budget = {
        "dataset": args.dataset,
        "backend": keras.backend.backend(),
        "seed": args.seed,
        "train_size": len(x),
        "batch_size": args.batch_size,
        "num_samples": args.num_samples,
        "reference_test_accuracy": reference.test_accuracy,
    }

    def emit(row):
        line = json.dumps({**budget, **row})
        print(line, flush=True)
        if args.out:
            with open(args.out, "a") as handle:
                handle.write(line + "\n")

    def scores(model):
        return evaluate_generative(
            model,
            args.dataset,
            num_samples=args.num_samples,
            seed=args.seed,
            reference=reference,
        )

    for latent_dim in args.latent_dim:
        slowest = 0.0
        for variant in args.variants:
            model, vec_s, dec_s = train_savae(variant, spec, latent_dim, x, y, args)
            slowest = max(slowest, vec_s + dec_s)
            emit(
                {
                    "model": f"SAVAE {variant}",
                    "latent_dim": latent_dim,
                    "vec_epochs": args.vec_epochs,
                    "decoder_epochs": args.decoder_epochs,
                    "vec_seconds": round(vec_s, 1),
                    "decoder_seconds": round(dec_s, 1),
                    "train_seconds": round(vec_s + dec_s, 1),
                    **scores(model),
                }
            )
        if not args.no_vae:
            vae, seconds, epochs, batches = train_vae(
                spec, latent_dim, x, y, slowest, args
            )
            emit(
                {
                    "model": "VAE",
                    "latent_dim": latent_dim,
                    "vae_epochs": epochs,
                    "vae_batches": batches,
                    "train_seconds": round(seconds, 1),
                    **scores(vae),
                }
            )


if __name__ == "__main__":
    main()
