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

Variants (rows of docs/results/options.md's ablation table):

Each variant is the `paper` preset with overrides (`VARIANTS`):

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
  whose Algorithm 2 has `n_dis`.
* `pixel_light_sn`, `n_critic_1_sn`: `pixel_light_n_critic_1` and
  `n_critic_1` with a spectrally normalised critic (`critic_options=
  {"spectral_normalization": True}`, Miyato et al., 2018): a stabiliser of
  the adversarial game. Beyond the paper.
* `pixel_light_sn_beta4`, `pixel_light_sn_n_critic_5`: `pixel_light_sn`
  with four times the adversarial weight (β = 0.02) or with Algorithm 2's
  five critic rounds per decoder step: the normalised critic's `L_adv` is
  small (0.15 against 0.4 unnormalised), so its pull on the decoder may be
  too weak at the default β. Beyond the paper.
* `pixel_light_sn_pixel_1`, `pixel_light_sn_pixel_10`: `pixel_light_sn` with
  the image itself as a feature layer of equation (9) (`pixel_weight` α₀ =
  1 or 10). Beyond the paper.
* `pixel_light_sn_pixel_1_prior_1`: `pixel_light_sn_pixel_1` whose critic
  also judges images decoded from N(0, I) (`prior_weight` ρ = 1, VAE/GAN
  style; the `latent100` preset), and `pixel_light_sn_prior_1` the
  same without the pixel term. Beyond the paper.
* `pixel_light_kl_sn_pixel_1`: `pixel_light_sn_pixel_1` with phase 1's KL
  weight at the package's λ = 0.1 instead of 0.01 (codes nearer N(0, I)).

`--ema` compiles every model (the VEC, phase 2's decoder, the VAE) with
Keras's `Adam(use_ema=True)`: each ends on the moving average of its
weights (the presets' `ema`; beyond the paper).
"""

import argparse

from common import add_run_arguments
from common import row_writer

from savae_keras.cli import quiet_per_model_retracing
from savae_keras.experiments.savae import fit_for
from savae_keras.experiments.savae import optimizer_steps

# Phase 1 with the pixel term (a semi-supervised VAE) or at a hundredth of
# the cross-entropy's weight, phase 2 warm-started from its decoder.
_PIXEL = {"reconstruction_weight": 1.0, "kl_weight": 1.0, "warm_start": True}
_LIGHT = {"reconstruction_weight": 0.01, "kl_weight": 0.01, "warm_start": True}
_SN = {"critic_options.spectral_normalization": True}
_LIGHT_SN = {**_LIGHT, "n_critic": 1, **_SN}
_IDENTITY_START_OFF = {
    "encoder_options.zero_init_residual": False,
    "classifier_options.zero_init_residual": False,
}
# Each variant: overrides of the `paper` preset (`SAVAE.from_preset`).
VARIANTS = {
    "paper": _IDENTITY_START_OFF,
    "zero_init": {},
    "pixel": _PIXEL,
    "pixel_light": _LIGHT,
    "n_critic_1": {"n_critic": 1},
    "pixel_n_critic_1": {**_PIXEL, "n_critic": 1},
    "pixel_light_n_critic_1": {**_LIGHT, "n_critic": 1},
    "n_critic_1_sn": {"n_critic": 1, **_SN},
    "pixel_light_sn": _LIGHT_SN,
    "pixel_light_sn_beta4": {**_LIGHT_SN, "beta": 0.02},
    "pixel_light_sn_n_critic_5": {**_LIGHT_SN, "n_critic": 5},
    "pixel_light_sn_pixel_1": {**_LIGHT_SN, "pixel_weight": 1.0},
    # the critic also judges images decoded from N(0, I) (VAE/GAN style)
    "pixel_light_sn_pixel_1_prior_1": {
        **_LIGHT_SN,
        "pixel_weight": 1.0,
        "prior_weight": 1.0,
    },
    "pixel_light_sn_prior_1": {**_LIGHT_SN, "prior_weight": 1.0},
    # phase 1 with the paper's KL weight λ = 0.1 (codes nearer N(0, I))
    "pixel_light_kl_sn_pixel_1": {**_LIGHT_SN, "kl_weight": 0.1, "pixel_weight": 1.0},
    "pixel_light_sn_pixel_10": {**_LIGHT_SN, "pixel_weight": 10.0},
}


def budget(args):
    """The run's budget and batching as preset settings (`SAVAE.fit`)."""
    if args.seconds is not None:  # the epoch flags do not cap it
        return {"seconds": args.seconds, "vec_share": args.vec_share}
    return {"encoder_epochs": args.vec_epochs, "decoder_epochs": args.decoder_epochs}


def train_savae(variant, spec, latent_dim, x, y, args):
    """`SAVAE.from_preset("paper", **VARIANTS[variant]).fit(x, y)` on the
    run's budget and clock."""
    import keras

    from savae_keras import SAVAE

    keras.utils.set_random_seed(args.seed)
    model = SAVAE.from_preset(
        "paper",
        **VARIANTS[variant],
        **budget(args),
        input_shape=spec.image_shape,
        num_classes=spec.num_classes,
        latent_dim=latent_dim,
        seed=args.seed,
        ema=args.ema,
        clock=args.clock,
        batch_size=args.batch_size,
    )
    history = model.fit(x, y, verbose=0)
    return (
        model,
        history.seconds["phase_1"],
        history.seconds["phase_2"],
        {
            "vec_epochs": len(history.phase_1.epoch),
            "decoder_epochs": len(history.phase_2.epoch),
            "vec_steps": history.steps["phase_1"],
            "decoder_steps": history.steps["phase_2"],
        },
    )


def train_vae(spec, latent_dim, x, y, seconds, args):
    import keras

    from savae_keras import VAE

    keras.utils.set_random_seed(args.seed)
    vae = VAE(
        spec.image_shape, latent_dim, num_classes=spec.num_classes, seed=args.seed
    )
    vae.compile(optimizer=keras.optimizers.Adam(use_ema=args.ema))
    elapsed, epochs = fit_for(
        vae, x, None, None, seconds, args.batch_size, clock=args.clock
    )
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
