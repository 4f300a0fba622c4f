"""Issue 14's ablation: SAVAE variants against a VAE at the same wall-clock.

    KERAS_BACKEND=tensorflow python benchmarks/savae_ablation.py --latent-dim 2 100

With `--seconds S` every model trains for the same S seconds of wall-clock
(`TimeLimit` callbacks; epochs are whatever fits; `--clock cpu` counts this
process's CPU seconds instead, fair when other work shares the machine): a
SAVAE variant spends `--vec-share` of them on phase 1 and the rest of S on
phase 2, the VAE of the same networks all S. Without `--seconds`, each
variant trains a fixed `--vec-epochs` / `--decoder-epochs` and the VAE gets
the slowest variant's seconds. Every model is scored by `evaluate_generative`
on `--num-samples` test images. One JSON line per model is printed; `--out`
also writes them to a file.

Variants (rows of docs/results.md's ablation table):

* `paper`: the paper's recipe with Keras's default initialisation;
* `zero_init`: residual blocks start as the identity (the package default);
* `pixel`: `zero_init`, plus the pixel term in phase 1 (`reconstruction_weight`
  1, `kl_weight` 1: phase 1 is a semi-supervised VAE) and phase 2's decoder
  warm-started from phase 1's (`warm_start=True`). Beyond the paper.
* `pixel_light`: `pixel` with `reconstruction_weight` 0.01 and `kl_weight`
  0.01: the pixel likelihood at a hundredth of the cross-entropy's weight, so
  the code stays organised by class (phase 1 is `0.01·ELBO + L_cat`, the
  weighting of Kingma et al.'s M2) while the auxiliary decoder learns to draw
  digits from it; phase 2 starts from that decoder. Beyond the paper.
* `n_critic_1`, `pixel_n_critic_1`, `pixel_light_n_critic_1`: the same with
  one critic round per decoder step instead of five (a fifth of the
  critic's work: more decoder steps in the same time). Beyond the paper,
  whose Algorithm 2 has `n_dis`. `pixel_light_n_critic_1` is the examples'
  `--recipe pixel_light`.
* `pixel_light_sn`, `n_critic_1_sn`: `pixel_light_n_critic_1` and
  `n_critic_1` with a spectrally normalised critic (`critic_options=
  {"spectral_normalization": True}`, Miyato et al., 2018; the examples'
  `--critic-spectral-norm`): a stabiliser of the adversarial game. Beyond
  the paper.
* `pixel_light_sn_beta4`, `pixel_light_sn_n_critic_5`: `pixel_light_sn`
  with four times the adversarial weight (β = 0.02) or with Algorithm 2's
  five critic rounds per decoder step: the normalised critic's `L_adv` is
  small (0.15 against 0.4 unnormalised), so its pull on the decoder may be
  too weak at the default β. Beyond the paper.
* `pixel_light_sn_pixel_1`, `pixel_light_sn_pixel_10`: `pixel_light_sn` with
  the image itself as a feature layer of equation (9) (`pixel_weight` α₀ =
  1 or 10; the examples' `--pixel-weight`). Beyond the paper.
* `pixel_light_sn_pixel_1_prior_1`: `pixel_light_sn_pixel_1` whose critic
  also judges images decoded from N(0, I) (`prior_weight` ρ = 1, VAE/GAN
  style; the examples' `--prior-weight`), and `pixel_light_sn_prior_1` the
  same without the pixel term. Beyond the paper.
* `pixel_light_kl_sn_pixel_1`: `pixel_light_sn_pixel_1` with phase 1's KL
  weight at the package's λ = 0.1 instead of 0.01 (codes nearer N(0, I)).

`--ema` compiles every model (the VEC, phase 2's decoder, the VAE) with
Keras's `Adam(use_ema=True)`: each ends on the moving average of its
weights (the examples' `--ema`; beyond the paper).
"""

import argparse

from common import add_run_arguments
from common import row_writer

from savae_keras.cli import quiet_per_model_retracing
from savae_keras.experiments.savae import RECIPES
from savae_keras.experiments.savae import adam
from savae_keras.experiments.savae import fit_for
from savae_keras.experiments.savae import optimizer_steps
from savae_keras.experiments.savae import spectral_critic

# (phase-1 options, phase-2 options) of each variant, from the examples' recipes.
VARIANTS = {
    "paper": (
        {**RECIPES["paper"][0], "zero_init_residual": False},
        RECIPES["paper"][1],
    ),
    "zero_init": RECIPES["paper"],
    "pixel": RECIPES["pixel"],
    "pixel_light": (RECIPES["pixel_light"][0], RECIPES["pixel"][1]),
    "n_critic_1": RECIPES["one_critic"],
    "pixel_n_critic_1": (RECIPES["pixel"][0], {**RECIPES["pixel"][1], "n_critic": 1}),
    "pixel_light_n_critic_1": RECIPES["pixel_light"],
    "n_critic_1_sn": (
        RECIPES["one_critic"][0],
        spectral_critic(RECIPES["one_critic"][1]),
    ),
    "pixel_light_sn": (
        RECIPES["pixel_light"][0],
        spectral_critic(RECIPES["pixel_light"][1]),
    ),
    "pixel_light_sn_beta4": (
        RECIPES["pixel_light"][0],
        spectral_critic({**RECIPES["pixel_light"][1], "beta": 0.02}),
    ),
    "pixel_light_sn_n_critic_5": (
        RECIPES["pixel_light"][0],
        spectral_critic({**RECIPES["pixel_light"][1], "n_critic": 5}),
    ),
    "pixel_light_sn_pixel_1": (
        RECIPES["pixel_light"][0],
        spectral_critic({**RECIPES["pixel_light"][1], "pixel_weight": 1.0}),
    ),
    # the critic also judges images decoded from N(0, I) (VAE/GAN style)
    "pixel_light_sn_pixel_1_prior_1": (
        RECIPES["pixel_light"][0],
        spectral_critic(
            {**RECIPES["pixel_light"][1], "pixel_weight": 1.0, "prior_weight": 1.0}
        ),
    ),
    "pixel_light_sn_prior_1": (
        RECIPES["pixel_light"][0],
        spectral_critic({**RECIPES["pixel_light"][1], "prior_weight": 1.0}),
    ),
    # phase 1 with the paper's KL weight λ = 0.1 (codes nearer N(0, I))
    "pixel_light_kl_sn_pixel_1": (
        {**RECIPES["pixel_light"][0], "kl_weight": 0.1},
        spectral_critic({**RECIPES["pixel_light"][1], "pixel_weight": 1.0}),
    ),
    "pixel_light_sn_pixel_10": (
        RECIPES["pixel_light"][0],
        spectral_critic({**RECIPES["pixel_light"][1], "pixel_weight": 10.0}),
    ),
}


def fit(model, x, y, epochs, seconds, args):
    """`fit_for` on `--clock`; under `--seconds` the epoch flags do not cap it."""
    epochs = None if seconds is not None else epochs
    return fit_for(model, x, y, epochs, seconds, args.batch_size, clock=args.clock)


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
    vec.compile(optimizer=adam(args.ema))
    vec_budget = None if args.seconds is None else args.seconds * args.vec_share
    vec_seconds, vec_epochs = fit(vec, x, y, args.vec_epochs, vec_budget, args)
    vec.trainable = False
    vec.fit_class_prior(x, labels=y)
    decoder = AdversarialDecoder(vec, seed=args.seed + 1, **decoder_options)
    decoder.compile(decoder_optimizer=adam(args.ema))
    budget = None if args.seconds is None else max(args.seconds - vec_seconds, 1.0)
    dec_seconds, dec_epochs = fit(decoder, x, None, args.decoder_epochs, budget, args)
    steps = {
        "vec_steps": optimizer_steps(vec),
        "decoder_steps": optimizer_steps(decoder),
    }
    return (
        decoder,
        vec_seconds,
        dec_seconds,
        {
            "vec_epochs": vec_epochs,
            "decoder_epochs": dec_epochs,
            **steps,
        },
    )


def train_vae(spec, latent_dim, x, y, seconds, args):
    import keras

    from savae_keras import VAE

    keras.utils.set_random_seed(args.seed)
    vae = VAE(
        spec.image_shape, latent_dim, num_classes=spec.num_classes, seed=args.seed
    )
    vae.compile(optimizer=adam(args.ema))
    elapsed, epochs = fit(vae, x, None, None, seconds, args)
    vae.fit_class_prior(x, labels=y)
    return vae, elapsed, epochs, optimizer_steps(vae)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(parser)
    parser.add_argument(
        "--variants",
        nargs="*",
        choices=list(VARIANTS),
        default=list(VARIANTS),
        help="SAVAE variants to train (none: the VAE alone, for --seconds)",
    )
    parser.add_argument("--latent-dim", type=int, nargs="+", default=[2, 100])
    parser.add_argument("--train-size", type=int, default=8192)
    parser.add_argument("--vec-epochs", type=int, default=2)
    parser.add_argument("--decoder-epochs", type=int, default=1)
    parser.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="wall-clock of every model (phase 1 + phase 2 for SAVAE)",
    )
    parser.add_argument("--vec-share", type=float, default=0.5)
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="what --seconds counts: wall-clock, or this process's CPU time "
        "(fair on a machine shared with other work)",
    )
    parser.add_argument(
        "--ema",
        action="store_true",
        help="every model ends on the moving average of its weights (the "
        "VEC, the decoder, the VAE: the examples' --ema)",
    )
    parser.add_argument("--no-vae", action="store_true")
    args = parser.parse_args(argv)
    if not args.variants and (args.no_vae or args.seconds is None):
        parser.error("without --variants, give the VAE's --seconds (and no --no-vae)")
    quiet_per_model_retracing()

    from savae_keras.data import get_spec
    from savae_keras.data import load_dataset
    from savae_keras.metrics import evaluate_generative
    from savae_keras.metrics import reference_classifier

    spec = get_spec(args.dataset)
    x, y = load_dataset(args.dataset, "train")
    x, y = x[: args.train_size], y[: args.train_size]
    reference = reference_classifier(args.dataset)
    write = row_writer(args, len(x), reference)

    def emit(row):
        write({**row, "ema": args.ema})

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
            model, vec_s, dec_s, done = train_savae(
                variant, spec, latent_dim, x, y, args
            )
            slowest = max(slowest, vec_s + dec_s)
            emit(
                {
                    "model": f"SAVAE {variant}",
                    "latent_dim": latent_dim,
                    **done,
                    "vec_seconds": round(vec_s, 1),
                    "decoder_seconds": round(dec_s, 1),
                    "train_seconds": round(vec_s + dec_s, 1),
                    **scores(model),
                }
            )
        if not args.no_vae:
            vae, seconds, epochs, batches = train_vae(
                spec, latent_dim, x, y, args.seconds or slowest, args
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
