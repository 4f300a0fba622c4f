"""The paper's SAVAE experiments on one dataset, shared by the examples.

For each latent size, `run` trains phase 1 (the VEC) once, then one phase-2
decoder per (β, γ) of the sweep on that frozen VEC (β and γ act only in
phase 2), and a `VAE` baseline of the same networks that trains for as long as
the main (β, γ) SAVAE took, both phases together (the same wall-clock, not the
same epochs: a phase-2 step costs ~11 network updates). Every model is scored
by `evaluate_generative` on test images. It writes to `out`:

* `metrics.json`: the budget, seed, backend and one record per model;
* `results.md`: the same as a table;
* `z<d>/savae/`: figures of the main (β, γ) model — inputs and
  reconstructions (Figure 10), prior samples, class-conditional
  generations, the latent space (Figure 7) and, for d = 2, the decoded
  latent grid (Figure 8);
* `z<d>/vae/`: the same figures for the VAE;
* `z<d>/side_by_side.png`: inputs, SAVAE's and the VAE's reconstructions,
  then their class-conditional generations, class by class;
* `z<d>/beta_gamma_grid.png`: reconstructions per (β, γ) (Figure 9).
"""

import json
import os

import keras
import numpy as np

from savae_keras.callbacks import TimeLimit
from savae_keras.cli import add_device_arguments
from savae_keras.cli import device_scope
from savae_keras.cli import fraction
from savae_keras.cli import nonnegative_float
from savae_keras.cli import nonnegative_int
from savae_keras.cli import open_fraction
from savae_keras.cli import positive_float
from savae_keras.cli import positive_int
from savae_keras.cli import quiet_per_model_retracing
from savae_keras.data import get_spec
from savae_keras.data import load_class_names
from savae_keras.data import load_dataset
from savae_keras.data import make_dataset
from savae_keras.data import mask_labels
from savae_keras.data.checks import check_choice
from savae_keras.data.checks import check_number
from savae_keras.distribution import device_count
from savae_keras.layers.augmentation import STRENGTHS
from savae_keras.metrics import check_num_samples
from savae_keras.metrics import evaluate_generative
from savae_keras.metrics import reference_classifier
from savae_keras.models import VAE
from savae_keras.models import AdversarialDecoder
from savae_keras.models import VariationalEncoderClassifier
from savae_keras.plots import plot_beta_gamma_grid
from savae_keras.plots import plot_side_by_side
from savae_keras.plots import write_figures

PAPER_BETAS = (0.0, 0.001, 0.003, 0.005, 0.01, 0.1)
PAPER_GAMMAS = (0.0, 0.1)
MAIN = (0.005, 0.1)  # the models' default β and γ

# The paper's settings per dataset: latent sizes, the β and γ swept, the
# (β, γ) whose figures are drawn, and the feature weights α_i.
SETTINGS = {
    name: {
        "latent_dims": (2, 100),
        "betas": PAPER_BETAS,
        "gammas": PAPER_GAMMAS,
        "main": MAIN,
        "feature_weights": (1.0, 0.1, 0.01),
    }
    for name in ("mnist", "fashion_mnist", "omniglot", "caltech101_silhouettes")
}
# Section 4.5: CIFAR-10 at latent 100 with α_i = 1 for every feature layer,
# β = 0.001 and γ = 0.
SETTINGS["cifar10"] = {
    "latent_dims": (100,),
    "betas": (0.001,),
    "gammas": (0.0,),
    "main": (0.001, 0.0),
    "feature_weights": (1.0, 1.0, 1.0),
}

# A few minutes on a 2-core CPU (`make main`): latent 2, the whole training
# split, one SAVAE at the paper's (β, γ) trained for `seconds` (a third on
# phase 1, the rest on phase 2) and the VAE for as long; the β × γ sweep is
# the full mode's.
QUICK = {
    "seconds": 150.0,
    "num_samples": 2000,
    "betas": (0.005,),
    "gammas": (0.1,),
}


def _row(model_name, latent_dim, beta, gamma, seconds, metrics):
    return {
        "model": model_name,
        "latent_dim": latent_dim,
        "beta": beta,
        "gamma": gamma,
        "train_seconds": round(seconds, 1),
        **metrics,
    }


# Phase-1 and phase-2 options of each recipe (docs/results.md, "Ablation"):
# * paper: Algorithms 1 and 2, five critic rounds per decoder step (the
#   paper leaves n_dis open and asks for more critic than decoder updates,
#   as in WGAN);
# * one_critic: the same losses with one critic round per decoder step
#   (beyond the paper): at the same seconds its critic does not saturate and
#   every FCD halves (MNIST, latent 2);
# * pixel: phase 1 also reconstructs pixels, phase 2 starts from its
#   decoder (beyond the paper);
# * pixel_light: `pixel` with the pixel likelihood and the KL at a hundredth
#   of the cross-entropy's weight (phase 1 is `0.01·(−ELBO) + L_cat`, M2's
#   weighting: the code stays organised by class while the auxiliary
#   decoder learns to draw from it), and one critic round per decoder step.
#   At latent 100 and 150 s per model it beats the VAE on every FCD on
#   three MNIST and two Fashion-MNIST seeds of three and two (beyond the
#   paper; docs/results.md, "Latent 100 with the pixel term").
RECIPES = {
    "paper": ({}, {}),
    "one_critic": ({}, {"n_critic": 1}),
    "pixel": ({"reconstruction_weight": 1.0, "kl_weight": 1.0}, {"warm_start": True}),
    "pixel_light": (
        {"reconstruction_weight": 0.01, "kl_weight": 0.01},
        {"warm_start": True, "n_critic": 1},
    ),
}


def spectral_critic(decoder_options):
    """`decoder_options` with a spectrally normalised critic (beyond the
    paper; `--critic-spectral-norm`), its other critic options kept."""
    critic_options = decoder_options.get("critic_options", {})
    critic_options = {**critic_options, "spectral_normalization": True}
    return {**decoder_options, "critic_options": critic_options}


def adam(ema=False):
    """The models' optimizer, Keras's Adam (learning rate 1e-3). With `ema`,
    it also keeps an exponential moving average of the weights it updates
    (`use_ema=True`, Keras's momentum 0.99: Polyak averaging, beyond the
    paper), and `fit` ends with the model on that average."""
    return keras.optimizers.Adam(use_ema=bool(ema))


# The epoch cap of a model trained for a number of seconds: its `TimeLimit`
# ends it first.
MAX_EPOCHS = 10_000
# The share of a SAVAE's seconds spent on phase 1 (`run(seconds=...)`).
VEC_SHARE = 1 / 3


def fit_for(model, x, y, epochs, seconds, batch_size, verbose=0, clock="wall", **kw):
    """`model.fit` for `epochs`, or for `seconds` (a `TimeLimit`) when given.

    With both, `epochs` caps the budget. `clock` is `TimeLimit`'s: wall-clock
    or this process's CPU seconds. Unlabeled images (`y` None: phase 2, the
    VAE) train on whole batches only, through `make_dataset(...,
    drop_remainder=True)` shuffled with the model's seed: a last, smaller
    batch would give TensorFlow's step a dynamic batch dimension, under which
    oneDNN logs an `E0000 ... DT_INT32` error line at phase 2's start (an
    epoch then skips at most `batch_size - 1` images, a different few each
    epoch). Returns `(seconds, epochs)`: what `fit` took on that clock, and
    the epochs it began.
    """
    now = TimeLimit.CLOCKS[clock]
    callbacks = [] if seconds is None else [TimeLimit(seconds, clock=clock)]
    if y is None and isinstance(x, np.ndarray) and len(x) >= batch_size:
        seed = getattr(model, "seed", None)
        x = make_dataset(x, batch_size=batch_size, seed=seed, drop_remainder=True)
        batch_size, kw = None, {**kw, "shuffle": False}  # the dataset shuffles
    start = now()
    history = model.fit(
        x,
        y,
        batch_size=batch_size,
        epochs=MAX_EPOCHS if seconds is not None and epochs is None else epochs,
        verbose=verbose,
        callbacks=callbacks,
        **kw,
    )
    return now() - start, len(history.epoch)


def optimizer_steps(model):
    """Optimizer steps `model` has taken (`fit` steps)."""
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def _side_by_side(models, inputs, class_names, path, seed, per_class=5):
    """`plot_side_by_side` of the models' reconstructions and generations."""
    classes = np.arange(min(len(class_names), 10))
    labels = np.repeat(classes, per_class)
    plot_side_by_side(
        inputs,
        {name: model.reconstruct(inputs) for name, model in models.items()},
        {
            name: model.generate(len(labels), labels=labels, seed=seed)
            for name, model in models.items()
        },
        path,
        [class_names[c] for c in classes],
    )


def _train_vec(
    spec,
    latent_dim,
    x,
    y,
    epochs,
    seconds,
    batch_size,
    seed,
    verbose,
    options,
    labeled_share,
    ema,
):
    keras.utils.set_random_seed(seed)
    vec = VariationalEncoderClassifier(
        spec.image_shape, spec.num_classes, latent_dim, seed=seed, **options
    )
    vec.compile(optimizer=adam(ema))
    seconds, _ = fit_for(
        vec, x, y, epochs, seconds, batch_size, verbose, labeled_share=labeled_share
    )
    return vec, seconds


def run(
    dataset="mnist",
    out=None,
    latent_dims=None,
    betas=None,
    gammas=None,
    main=None,
    epochs=None,
    decoder_epochs=None,
    seconds=None,
    vec_share=None,
    train_size=None,
    num_samples=2000,
    batch_size=64,
    labeled_fraction=1.0,
    labels_per_class=None,
    labeled_share=None,
    consistency_weight=0.0,
    confidence_threshold=0.95,
    augmentation=None,
    critic_spectral_norm=False,
    pixel_weight=0.0,
    prior_weight=0.0,
    ema=False,
    compare_vae=True,
    reference_epochs=None,
    data_dir=None,
    recipe="paper",
    seed=0,
    verbose="auto",
):
    """Train and evaluate SAVAE (and the VAE baseline) on `dataset`.

    Args:
        dataset: a dataset name of `savae_keras.data`.
        out: output folder (default `runs/<dataset>`).
        latent_dims, betas, gammas, main: the sweep (default: `SETTINGS`).
        epochs: phase-1 epochs (default 5, or as many as `seconds` allows);
            `decoder_epochs` (default `epochs`) of each phase-2 decoder.
        seconds: when given, each SAVAE trains for this many seconds of
            wall-clock: phase 1 for `vec_share` of them, each phase-2
            decoder for the rest (a `TimeLimit`; `epochs` and
            `decoder_epochs`, when given, cap them). The VAE always trains
            for the main SAVAE's seconds.
        vec_share: the share of `seconds` spent on phase 1 (default
            `VEC_SHARE`, a third).
        train_size: training images used (default all).
        num_samples: test images scored (and images generated) per model.
        labeled_fraction: share of training labels kept for phase 1 (the
            rest are -1, unlabeled); phase 2 uses all images.
        labels_per_class: instead, keep exactly this many labels per class
            (the standard semi-supervised protocol).
        labeled_share: phase 1 puts exactly `round(labeled_share ·
            batch_size)` labeled images in every batch (an epoch is then one
            pass over the unlabeled images); None batches them as they come.
        consistency_weight, confidence_threshold: the VEC's semi-supervised
            term on unlabeled images (FixMatch, beyond the paper; 0 is
            Algorithm 1).
        augmentation: `"weak"` or `"strong"` augments every phase-1 batch
            (`VariationalEncoderClassifier(augmentation=...)`, beyond the
            paper); None is Algorithm 1.
        critic_spectral_norm: spectrally normalise every layer of phase 2's
            critic (`build_critic(spectral_normalization=True)`, Miyato et
            al., 2018; beyond the paper): a 1-Lipschitz critic, which steadies
            the adversarial game (docs/results.md, "A spectrally normalised
            critic").
        pixel_weight: `α_0` of phase 2's pixel term, the image itself as
            a feature layer of equation (9) (`AdversarialDecoder(
            pixel_weight=...)`; beyond the paper; 0, the default, is
            equation 9).
        prior_weight: `ρ` of phase 2's adversarial term on images decoded
            from `N(0, I)` (`AdversarialDecoder(prior_weight=...)`; beyond
            the paper; 0, the default, is Algorithm 2).
        ema: every model ends its training on the exponential moving
            average of its weights (`adam(ema=True)`): the VEC in phase 1,
            the decoder in phase 2 (not its critic) and the VAE. Beyond the
            paper.
        compare_vae: train the VAE baseline too.
        reference_epochs: epochs of the reference classifier when it must be
            trained (its default otherwise).
        recipe: `"paper"` (Algorithms 1 and 2), `"one_critic"` (one critic
            round per decoder step), `"pixel"` (phase 1 also learns to
            reconstruct pixels, phase 2 starts from its decoder) or
            `"pixel_light"` (the same at a hundredth of the weight, one
            critic round); see `RECIPES`.

    Returns:
        The `metrics.json` content as a dict.
    """
    spec = get_spec(dataset)
    settings = SETTINGS[dataset]
    check_choice(recipe, "recipe", sorted(RECIPES))
    vec_options, decoder_options = RECIPES[recipe]
    if consistency_weight:
        vec_options = {
            **vec_options,
            "consistency_weight": consistency_weight,
            "confidence_threshold": confidence_threshold,
        }
    if augmentation is not None:
        vec_options = {**vec_options, "augmentation": augmentation}
    if critic_spectral_norm:
        decoder_options = spectral_critic(decoder_options)
    # checked here too, so a bad value fails before phase 1 trains
    pixel_weight = check_number(pixel_weight, "pixel_weight", minimum=0.0)
    prior_weight = check_number(prior_weight, "prior_weight", minimum=0.0)
    decoder_options = {
        **decoder_options,
        "pixel_weight": pixel_weight,
        "prior_weight": prior_weight,
    }
    num_samples = check_num_samples(num_samples)
    if seconds is not None:
        seconds = check_number(seconds, "seconds", minimum=0.0, exclusive_minimum=True)
        vec_share = check_number(
            VEC_SHARE if vec_share is None else vec_share,
            "vec_share",
            minimum=0.0,
            exclusive_minimum=True,
            maximum=1.0,
            exclusive_maximum=True,  # phase 2 needs some seconds
        )
    elif epochs is None:
        epochs = 5
    if epochs is not None:
        epochs = check_number(epochs, "epochs", minimum=1, integer=True)
    if decoder_epochs is not None:
        decoder_epochs = check_number(
            decoder_epochs, "decoder_epochs", minimum=1, integer=True
        )
    if train_size is not None:
        train_size = check_number(train_size, "train_size", minimum=1, integer=True)
    batch_size = check_number(batch_size, "batch_size", minimum=1, integer=True)
    latent_dims = tuple(latent_dims or settings["latent_dims"])
    betas = tuple(settings["betas"] if betas is None else betas)
    gammas = tuple(settings["gammas"] if gammas is None else gammas)
    if main is None:  # the paper's (β, γ) when it is swept, else a swept one
        paper_beta, paper_gamma = settings["main"]
        swept = paper_beta in betas and paper_gamma in gammas
        main = settings["main"] if swept else (betas[0], gammas[-1])
    main = tuple(main)
    if main[0] not in betas or main[1] not in gammas:
        raise ValueError(
            f"`main` {main} must be one of the swept (β, γ): {betas} × {gammas}."
        )
    decoder_epochs = decoder_epochs or epochs
    vec_seconds_budget = None if seconds is None else seconds * vec_share
    out = out or os.path.join("runs", dataset)
    os.makedirs(out, exist_ok=True)

    x, y = load_dataset(dataset, "train", data_dir=data_dir)
    if train_size:
        x, y = x[:train_size], y[:train_size]
    y_phase_1 = mask_labels(
        y, labeled_fraction, seed=seed, labels_per_class=labels_per_class
    )
    labeled_images = int(np.sum(y_phase_1 >= 0))
    x_test, _ = load_dataset(dataset, "test", data_dir=data_dir)
    if num_samples > len(x_test):
        raise ValueError(
            f"`num_samples` is {num_samples} but the test split of {dataset} has "
            f"{len(x_test)} images."
        )
    x_test = x_test[:16]
    reference = reference_classifier(
        dataset, data_dir=data_dir, epochs=reference_epochs, verbose=1
    )
    print(
        f"{dataset}: {len(x)} training images ({labeled_images} labeled), "
        f"backend "
        f"{keras.backend.backend()}, reference classifier test accuracy "
        f"{reference.test_accuracy:.4f}"
    )
    evaluate = lambda model: evaluate_generative(  # noqa: E731
        model,
        dataset,
        num_samples=num_samples,
        seed=seed,
        reference=reference,
        data_dir=data_dir,
    )

    rows = []
    for latent_dim in latent_dims:
        folder = os.path.join(out, f"z{latent_dim}")
        budget = f"{vec_seconds_budget:.0f} s" if seconds else f"{epochs} epochs"
        print(f"-- latent {latent_dim}: phase 1 ({budget})")
        vec, vec_seconds = _train_vec(
            spec,
            latent_dim,
            x,
            y_phase_1,
            epochs,
            vec_seconds_budget,
            batch_size,
            seed,
            verbose,
            vec_options,
            labeled_share,
            ema,
        )
        vec.trainable = False  # phase 2 trains on the frozen VEC
        vec.fit_class_prior(x, labels=y_phase_1)  # shared by every decoder
        reconstructions = {}
        for beta in betas:
            for gamma in gammas:
                print(f"-- latent {latent_dim}: phase 2 with β={beta:g}, γ={gamma:g}")
                keras.utils.set_random_seed(seed)
                decoder = AdversarialDecoder(
                    vec,
                    beta=beta,
                    gamma=gamma,
                    feature_weights=settings["feature_weights"],
                    seed=seed + 1,
                    **decoder_options,
                )
                decoder.compile(decoder_optimizer=adam(ema))
                decoder_seconds, _ = fit_for(
                    decoder,
                    x,
                    None,
                    decoder_epochs,
                    None if seconds is None else max(seconds - vec_seconds, 1.0),
                    batch_size,
                    verbose,
                )
                savae_seconds = vec_seconds + decoder_seconds
                if (beta, gamma) == main:
                    main_decoder, main_seconds = decoder, savae_seconds
                rows.append(
                    {
                        **_row(
                            "SAVAE",
                            latent_dim,
                            beta,
                            gamma,
                            savae_seconds,
                            evaluate(decoder),
                        ),
                        "vec_steps": optimizer_steps(vec),
                        "decoder_steps": optimizer_steps(decoder),
                    }
                )
                reconstructions[(beta, gamma)] = decoder.reconstruct(x_test[:8])
                if (beta, gamma) == main:
                    write_figures(
                        decoder,
                        dataset,
                        os.path.join(folder, "savae"),
                        seed=seed,
                        data_dir=data_dir,
                    )
                    decoder.save(os.path.join(folder, "savae.keras"))
        plot_beta_gamma_grid(
            x_test[:8],
            reconstructions,
            os.path.join(folder, "beta_gamma_grid.png"),
            title=f"{dataset}, latent {latent_dim}: reconstructions per (β, γ)",
        )
        if compare_vae:
            print(
                f"-- latent {latent_dim}: VAE baseline, trained for the "
                f"{main_seconds:.0f} s SAVAE (β={main[0]:g}, γ={main[1]:g}) took"
            )
            keras.utils.set_random_seed(seed)
            vae = VAE(
                spec.image_shape, latent_dim, num_classes=spec.num_classes, seed=seed
            )
            vae.compile(optimizer=adam(ema))
            vae_seconds, _ = fit_for(
                vae, x, None, None, main_seconds, batch_size, verbose
            )
            vae.fit_class_prior(x, labels=y_phase_1)
            rows.append(
                {
                    **_row("VAE", latent_dim, None, None, vae_seconds, evaluate(vae)),
                    "steps": optimizer_steps(vae),
                }
            )
            write_figures(
                vae, dataset, os.path.join(folder, "vae"), seed=seed, data_dir=data_dir
            )
            _side_by_side(
                {"SAVAE": main_decoder, "VAE": vae},
                x_test[:10],
                load_class_names(dataset, data_dir),
                os.path.join(folder, "side_by_side.png"),
                seed,
            )

    results = {
        "dataset": dataset,
        "backend": keras.backend.backend(),
        "dtype_policy": keras.config.dtype_policy().name,
        "devices": device_count(),
        "seed": seed,
        "recipe": recipe,
        "critic_spectral_norm": bool(critic_spectral_norm),
        "pixel_weight": pixel_weight,
        "prior_weight": prior_weight,
        "ema": bool(ema),
        "budget": {
            "train_size": int(len(x)),
            "labeled_fraction": labeled_fraction,
            "labels_per_class": labels_per_class,
            "labeled_images": labeled_images,
            "labeled_share": labeled_share,
            "consistency_weight": consistency_weight,
            "confidence_threshold": confidence_threshold,
            "augmentation": augmentation,
            "vec_epochs": epochs,
            "decoder_epochs": decoder_epochs,
            "savae_seconds": seconds,
            "vec_share": None if seconds is None else vec_share,
            "vae_budget": "the main SAVAE's training seconds",
            "batch_size": batch_size,
            "num_samples": num_samples,
        },
        "main": list(main),
        "feature_weights": list(settings["feature_weights"]),
        "reference_test_accuracy": reference.test_accuracy,
        "runs": rows,
    }
    with open(os.path.join(out, "metrics.json"), "w") as handle:
        json.dump(results, handle, indent=2)
    with open(os.path.join(out, "results.md"), "w") as handle:
        handle.write(results_table(results) + "\n")
    print(results_table(results))
    print(f"Wrote {out}/metrics.json, results.md and the figures in {out}/z*/")
    return results


COLUMNS = [
    ("model", "model", "{}"),
    ("latent_dim", "latent", "{}"),
    ("beta", "β", "{:g}"),
    ("gamma", "γ", "{:g}"),
    ("vec_accuracy", "VEC acc.", "{:.4f}"),
    ("mse", "rec. MSE", "{:.4f}"),
    ("ssim", "SSIM", "{:.3f}"),
    ("fcd_reconstructions", "FCD rec.", "{:.2f}"),
    ("fcd_prior_samples", "FCD prior", "{:.2f}"),
    ("fcd_conditional_samples", "FCD cond.", "{:.2f}"),
    ("label_consistency_reconstructions", "label cons. rec.", "{:.3f}"),
    ("label_consistency_generations", "label cons. gen.", "{:.3f}"),
    ("train_seconds", "train s", "{:.0f}"),
    ("steps", "steps (phase 1 + 2)", "{}"),
]


def results_table(results):
    """`metrics.json` runs as a Markdown table ("–" where not applicable)."""
    lines = [
        "| " + " | ".join(name for _, name, _ in COLUMNS) + " |",
        "|" + " --- |" * len(COLUMNS),
    ]
    for row in results["runs"]:
        if "vec_steps" in row:
            row = {**row, "steps": f"{row['vec_steps']} + {row['decoder_steps']}"}
        cells = [
            "–" if row.get(key) is None else form.format(row[key])
            for key, _, form in COLUMNS
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def example_main(dataset, argv=None):
    """The command line of `examples/<dataset>.py`."""
    import argparse

    parser = argparse.ArgumentParser(
        description=f"SAVAE on {dataset}: both phases, the β × γ sweep, the VAE "
        "baseline, the paper's figures and metrics.json."
    )
    parser.add_argument("--quick", action="store_true", help="a few minutes on a CPU")
    parser.add_argument("--epochs", type=positive_int, default=None, help="phase 1")
    parser.add_argument("--decoder-epochs", type=positive_int, default=None)
    parser.add_argument(
        "--seconds",
        type=positive_float,
        default=None,
        help="train each SAVAE for this many seconds (both phases; the VAE "
        "gets the same); epochs then cap it",
    )
    parser.add_argument(
        "--vec-share",
        type=open_fraction,
        default=None,
        help="with --seconds, the share spent on phase 1 (default a third)",
    )
    parser.add_argument("--train-size", type=positive_int, default=None)
    parser.add_argument("--latent-dim", type=positive_int, nargs="+", default=None)
    parser.add_argument("--betas", type=nonnegative_float, nargs="+", default=None)
    parser.add_argument("--gammas", type=nonnegative_float, nargs="+", default=None)
    parser.add_argument("--num-samples", type=positive_int, default=None)
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--labeled-fraction", type=fraction, default=1.0)
    parser.add_argument(
        "--labels-per-class",
        type=positive_int,
        default=None,
        help="phase 1 keeps exactly N labels per class (10: MNIST's 100 labels)",
    )
    parser.add_argument(
        "--labeled-share",
        type=open_fraction,
        default=None,
        help="phase 1: this share of every batch is labeled images",
    )
    parser.add_argument(
        "--consistency-weight",
        type=nonnegative_float,
        default=0.0,
        help="phase 1: weight of the FixMatch term on unlabeled images "
        "(beyond the paper; 0 is Algorithm 1)",
    )
    parser.add_argument(
        "--confidence-threshold",
        type=fraction,
        default=0.95,
        help="the FixMatch term's pseudo-label threshold",
    )
    parser.add_argument(
        "--augmentation",
        choices=STRENGTHS,
        default=None,
        help="phase 1: augment every batch (weak: random shifts; beyond the paper)",
    )
    parser.add_argument(
        "--critic-spectral-norm",
        action="store_true",
        help="phase 2: a spectrally normalised (1-Lipschitz) critic (beyond the paper)",
    )
    parser.add_argument(
        "--pixel-weight",
        type=nonnegative_float,
        default=0.0,
        help="phase 2: weight of a per-pixel squared error beside the feature "
        "terms of equation (9) (beyond the paper; 0 is equation 9)",
    )
    parser.add_argument(
        "--prior-weight",
        type=nonnegative_float,
        default=0.0,
        help="phase 2: the critic also judges images decoded from N(0, I), "
        "this weight times beta in the decoder's loss (beyond the paper)",
    )
    parser.add_argument(
        "--ema",
        action="store_true",
        help="every model ends on the moving average of its weights (Adam's "
        "use_ema: the VEC, the decoder, the VAE; beyond the paper)",
    )
    parser.add_argument("--no-vae", action="store_true", help="skip the VAE baseline")
    parser.add_argument("--reference-epochs", type=positive_int, default=None)
    parser.add_argument(
        "--recipe",
        choices=sorted(RECIPES),
        default="paper",
        help="paper: Algorithms 1-2 as printed (5 critic rounds per decoder "
        "step); one_critic: one critic round per decoder step; pixel: phase 1 "
        "also reconstructs pixels and phase 2 starts from its decoder; "
        "pixel_light: pixel with the pixel and KL terms at 0.01 of the "
        "cross-entropy's weight and one critic round (the last three beyond "
        "the paper; the best at latent 100, with --pixel-weight 1 "
        "--prior-weight 1)",
    )
    parser.add_argument("--out", default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    parser.add_argument(
        "--verbose",
        default="auto",
        choices=["auto", "0", "1", "2"],
        help="Keras verbosity",
    )
    add_device_arguments(parser)
    args = parser.parse_args(argv)
    if args.labels_per_class and args.labeled_fraction != 1.0:
        parser.error("give --labeled-fraction or --labels-per-class, not both")
    quiet_per_model_retracing()
    quick = QUICK if args.quick else {}
    num_samples = args.num_samples or quick.get("num_samples", 2000)
    try:
        check_num_samples(num_samples, name="--num-samples")
    except ValueError as error:
        parser.error(str(error))
    settings = SETTINGS[dataset]
    with device_scope(args, parser):
        return run(
            dataset=dataset,
            out=args.out,
            latent_dims=args.latent_dim
            or (settings["latent_dims"][:1] if args.quick else None),
            betas=args.betas or (quick.get("betas") if dataset != "cifar10" else None),
            gammas=args.gammas
            or (quick.get("gammas") if dataset != "cifar10" else None),
            epochs=args.epochs,
            decoder_epochs=args.decoder_epochs,
            seconds=args.seconds or quick.get("seconds"),
            vec_share=args.vec_share,
            train_size=args.train_size or quick.get("train_size"),
            num_samples=num_samples,
            batch_size=args.batch_size,
            labeled_fraction=args.labeled_fraction,
            labels_per_class=args.labels_per_class,
            labeled_share=args.labeled_share,
            consistency_weight=args.consistency_weight,
            confidence_threshold=args.confidence_threshold,
            augmentation=args.augmentation,
            critic_spectral_norm=args.critic_spectral_norm,
            pixel_weight=args.pixel_weight,
            prior_weight=args.prior_weight,
            ema=args.ema,
            compare_vae=not args.no_vae,
            reference_epochs=args.reference_epochs,
            recipe=args.recipe,
            data_dir=args.data_dir,
            seed=args.seed,
            verbose=args.verbose if args.verbose == "auto" else int(args.verbose),
        )
