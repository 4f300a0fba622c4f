"""The paper's SAVAE experiments on one dataset, shared by the examples.

    python examples/mnist.py --preset quick                  # make main
    python examples/mnist.py --preset latent100 --set seconds=300
    python examples/mnist.py --preset paper --sweep          # the paper's sweep
    python examples/mnist.py --preset runs/mnist/metrics.json  # again

Every SAVAE is a preset (`savae_keras.presets`, `SAVAE.from_preset`) with
overrides, trained by `SAVAE.fit` on the preset's budget. `run` makes one
model per latent size and (β, γ) of the sweep: the first of each latent
size trains both phases, the others copy its phase 1 (β and γ act only in
phase 2) and train phase 2 for the rest of the budget. A `VAE` baseline of
the same networks trains for as long as the main (β, γ) SAVAE took, both
phases together (the same wall-clock, not the same epochs: a phase-2 step
costs several network updates). Every model is scored by
`evaluate_generative` on test images. It writes to `out`:

* `metrics.json`: the preset as resolved (so `--preset metrics.json` runs it
  again), the sweep, the data, seed and backend, and one record per model;
* `results.md`: the same as a table;
* `z<d>/savae/`: figures of the main (β, γ) model — inputs and
  reconstructions (Figure 10), prior samples, class-conditional
  generations, the latent space (Figure 7) and, for d = 2, the decoded
  latent grid (Figure 8); `z<d>/savae.keras`, the model;
* `z<d>/vae/`: the same figures for the VAE;
* `z<d>/side_by_side.png`: inputs, SAVAE's and the VAE's reconstructions,
  then their class-conditional generations, class by class;
* `z<d>/beta_gamma_grid.png`: reconstructions per (β, γ) (Figure 9).

`run` is three steps: `plan` checks every setting and builds nothing that
trains, `sweep` trains and scores, `report` writes the files.
"""

import os

import keras
import numpy as np

from savae_keras.callbacks import TimeLimit
from savae_keras.cli import add_device_arguments
from savae_keras.cli import add_preset_arguments
from savae_keras.cli import device_scope
from savae_keras.cli import fraction
from savae_keras.cli import nonnegative_float
from savae_keras.cli import nonnegative_int
from savae_keras.cli import positive_int
from savae_keras.cli import preset_overrides
from savae_keras.cli import quiet_per_model_retracing
from savae_keras.data import get_spec
from savae_keras.data import load_class_names
from savae_keras.data import load_dataset
from savae_keras.data import mask_labels
from savae_keras.data.checks import check_number
from savae_keras.data.checks import check_split_size
from savae_keras.distribution import device_count
from savae_keras.distribution import is_chief
from savae_keras.distribution import process_count
from savae_keras.files import write_json_atomically
from savae_keras.files import write_text_atomically
from savae_keras.metrics import check_num_samples
from savae_keras.metrics import evaluate_generative
from savae_keras.metrics import reference_classifier
from savae_keras.models import SAVAE
from savae_keras.models import VAE
from savae_keras.models.savae import MAX_EPOCHS
from savae_keras.models.savae import optimizer_steps
from savae_keras.models.savae import whole_batches
from savae_keras.plots import plot_beta_gamma_grid
from savae_keras.plots import plot_side_by_side
from savae_keras.plots import write_figures
from savae_keras.presets import resolve_preset

PAPER_BETAS = (0.0, 0.001, 0.003, 0.005, 0.01, 0.1)
PAPER_GAMMAS = (0.0, 0.1)

# The paper's sweep per dataset (`sweep=True`): latent sizes, the β and γ
# swept, the (β, γ) whose figures are drawn, and the feature weights α_i
# (which every model of the dataset uses unless overridden).
SETTINGS = {
    name: {
        "latent_dims": (2, 100),
        "betas": PAPER_BETAS,
        "gammas": PAPER_GAMMAS,
        "main": (0.005, 0.1),
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


def fit_for(model, x, y, epochs, seconds, batch_size, verbose=0, clock="wall", **kw):
    """`model.fit` of one model for `epochs`, or for `seconds` when given.

    With both, `epochs` caps the budget. `clock` is `TimeLimit`'s:
    wall-clock or this process's CPU seconds; a seconds budget shows its
    progress in seconds. Unlabeled numpy images (`y` None: the VAE) train
    on whole batches (`whole_batches`). Returns `(seconds, epochs)`: what
    `fit` took on that clock, and the epochs it began. (`SAVAE.fit` budgets
    its two phases itself.)
    """
    now = TimeLimit.CLOCKS[clock]
    callbacks = list(kw.pop("callbacks", None) or [])
    if seconds is not None:
        callbacks.append(TimeLimit(seconds, clock=clock, verbose=verbose))
        verbose = 0  # the limit shows seconds, not epochs
    if y is None:
        x, batching = whole_batches(x, batch_size, model, kw.pop("shuffle", True))
        kw = {**kw, **batching}
    else:
        kw = {**kw, "batch_size": batch_size}
    start = now()
    history = model.fit(
        x,
        y,
        epochs=MAX_EPOCHS if seconds is not None and epochs is None else epochs,
        verbose=verbose,
        callbacks=callbacks,
        **kw,
    )
    return now() - start, len(history.epoch)


def _side_by_side(models, inputs, class_names, labels, path, seed, per_class=5):
    """`plot_side_by_side` of the models' reconstructions and generations of
    the first ten classes with a labeled sample in `labels` (-1: none)."""
    classes = np.unique(labels[labels >= 0])[:10]
    drawn = np.repeat(classes, per_class)
    plot_side_by_side(
        inputs,
        {name: model.reconstruct(inputs) for name, model in models.items()},
        {
            name: model.generate(len(drawn), labels=drawn, seed=seed)
            for name, model in models.items()
        },
        path,
        [class_names[c] for c in classes],
    )


def plan(
    dataset="mnist",
    preset="paper",
    overrides=None,
    out=None,
    sweep=False,
    latent_dims=None,
    betas=None,
    gammas=None,
    main=None,
    train_size=None,
    num_samples=2000,
    labeled_fraction=1.0,
    labels_per_class=None,
    compare_vae=True,
    reference_epochs=None,
    data_dir=None,
    seed=0,
    verbose="auto",
):
    """Check every setting of `run`; return them as one dict (the plan).

    The preset with its overrides is resolved and one model of it is built
    (and dropped), so a bad setting fails here, before any data loads or
    anything trains.
    """
    spec = get_spec(dataset)
    settings = SETTINGS[dataset]
    seed = check_number(seed, "seed", minimum=0, integer=True)
    overrides = dict(overrides or {})
    overrides.setdefault("feature_weights", settings["feature_weights"])
    reserved = {"input_shape", "num_classes", "seed"} & set(overrides)
    if reserved:
        raise ValueError(
            f"{sorted(reserved)} follow from `dataset` and `seed`; set those instead."
        )
    resolved = resolve_preset(SAVAE, preset, overrides)
    config = resolved["config"]
    if sweep:
        latent_dims = latent_dims or settings["latent_dims"]
        betas = settings["betas"] if betas is None else betas
        gammas = settings["gammas"] if gammas is None else gammas
    default = SAVAE(spec.image_shape, spec.num_classes, **config).get_config()
    latent_dims = tuple(latent_dims or (default["latent_dim"],))
    betas = tuple((default["beta"],) if betas is None else betas)
    gammas = tuple((default["gamma"],) if gammas is None else gammas)
    if main is None:  # the paper's (β, γ) when it is swept, else a swept one
        paper = settings["main"]
        main = paper if paper[0] in betas and paper[1] in gammas else None
        main = main or (betas[0], gammas[-1])
    main = tuple(main)
    if main[0] not in betas or main[1] not in gammas:
        raise ValueError(
            f"`main` {main} must be one of the swept (β, γ): {betas} × {gammas}."
        )
    betas = tuple(check_number(b, "betas", minimum=0.0) for b in betas)
    gammas = tuple(check_number(g, "gammas", minimum=0.0) for g in gammas)
    for latent_dim in latent_dims:  # one model per latent size builds
        SAVAE.from_preset(
            resolved,
            input_shape=spec.image_shape,
            num_classes=spec.num_classes,
            latent_dim=latent_dim,
            beta=main[0],
            gamma=main[1],
        ).fit_settings()
    if train_size is not None:
        train_size = check_number(train_size, "train_size", minimum=1, integer=True)
    return {
        "dataset": dataset,
        "preset": resolved,
        "overrides": overrides,
        "latent_dims": latent_dims,
        "betas": betas,
        "gammas": gammas,
        "main": main,
        "out": out or os.path.join("runs", dataset),
        "train_size": train_size,
        "num_samples": check_num_samples(num_samples),
        "labeled_fraction": labeled_fraction,
        "labels_per_class": labels_per_class,
        "compare_vae": bool(compare_vae),
        "reference_epochs": reference_epochs,
        "data_dir": data_dir,
        "seed": seed,
        "verbose": verbose,
    }


def _build(plan, latent_dim, beta, gamma):
    spec = get_spec(plan["dataset"])
    keras.utils.set_random_seed(plan["seed"])
    return SAVAE.from_preset(
        plan["preset"],
        input_shape=spec.image_shape,
        num_classes=spec.num_classes,
        latent_dim=latent_dim,
        beta=beta,
        gamma=gamma,
        seed=plan["seed"],
    )


def _load(plan):
    """Training images, phase-1 labels (-1 = unlabeled) and 16 test images."""
    dataset, data_dir = plan["dataset"], plan["data_dir"]
    x, y = load_dataset(dataset, "train", data_dir=data_dir)
    if plan["train_size"]:
        check_split_size(plan["train_size"], "train_size", "train", dataset, len(x))
        x, y = x[: plan["train_size"]], y[: plan["train_size"]]
    y_phase_1 = mask_labels(
        y,
        plan["labeled_fraction"],
        seed=plan["seed"],
        labels_per_class=plan["labels_per_class"],
    )
    x_test, _ = load_dataset(dataset, "test", data_dir=data_dir)
    check_split_size(plan["num_samples"], "num_samples", "test", dataset, len(x_test))
    return x, y_phase_1, x_test[:16]


def _vae(plan, latent_dim, x, y, seconds):
    """The VAE baseline of the same networks, trained for `seconds`."""
    spec = get_spec(plan["dataset"])
    config, optimizer = plan["preset"]["config"], plan["preset"]["optimizer"]
    fit = plan["preset"]["fit"]
    keras.utils.set_random_seed(plan["seed"])
    vae = VAE(
        spec.image_shape,
        latent_dim,
        num_classes=spec.num_classes,
        encoder_options=config.get("encoder_options"),
        decoder_options=config.get("decoder_options"),
        seed=plan["seed"],
    )
    vae.compile(
        optimizer=keras.optimizers.Adam(
            optimizer["learning_rate"], use_ema=optimizer["ema"]
        )
    )
    vae_seconds, _ = fit_for(
        vae,
        x,
        None,
        None,
        seconds,
        fit["batch_size"],
        plan["verbose"],
        clock=fit["clock"],
    )
    vae.fit_class_prior(x, labels=y)
    return vae, vae_seconds


def sweep(plan):
    """Train and score every model of `plan`; write the figures.

    Returns the result rows, one per model.
    """
    dataset, data_dir, seed = plan["dataset"], plan["data_dir"], plan["seed"]
    x, y, x_test = _load(plan)
    reference = reference_classifier(
        dataset, data_dir=data_dir, epochs=plan["reference_epochs"], verbose=1
    )
    print(
        f"{dataset}: {len(x)} training images ({int(np.sum(y >= 0))} labeled), "
        f"backend {keras.backend.backend()}, preset {plan['preset']['name']}, "
        f"reference classifier test accuracy {reference.test_accuracy:.4f}"
    )
    evaluate = lambda model: evaluate_generative(  # noqa: E731
        model,
        dataset,
        num_samples=plan["num_samples"],
        seed=seed,
        reference=reference,
        data_dir=data_dir,
    )
    rows = []
    for latent_dim in plan["latent_dims"]:
        folder = os.path.join(plan["out"], f"z{latent_dim}")
        first = None
        reconstructions = {}
        for beta in plan["betas"]:
            for gamma in plan["gammas"]:
                print(f"-- latent {latent_dim}: SAVAE with β={beta:g}, γ={gamma:g}")
                model = _build(plan, latent_dim, beta, gamma)
                if first is None:  # both phases
                    history = model.fit(x, y, verbose=plan["verbose"])
                    first, vec_seconds = model, history.seconds["phase_1"]
                    vec_steps = history.steps["phase_1"]
                else:  # phase 1 is the first model's
                    model.copy_phase_1(first)
                    history = model.fit(
                        x,
                        y,
                        verbose=plan["verbose"],
                        **_phase_2_budget(model, vec_seconds),
                    )
                seconds = vec_seconds + history.seconds["phase_2"]
                if (beta, gamma) == plan["main"]:
                    main_model, main_seconds = model, seconds
                rows.append(
                    {
                        "model": "SAVAE",
                        "latent_dim": latent_dim,
                        "beta": beta,
                        "gamma": gamma,
                        "train_seconds": round(seconds, 1),
                        **evaluate(model),
                        "vec_steps": vec_steps,  # the shared phase 1's
                        "decoder_steps": history.steps["phase_2"],
                    }
                )
                reconstructions[(beta, gamma)] = model.reconstruct(x_test[:8])
                if (beta, gamma) == plan["main"]:
                    write_figures(
                        model,
                        dataset,
                        os.path.join(folder, "savae"),
                        seed=seed,
                        data_dir=data_dir,
                    )
                    model.save(os.path.join(folder, "savae.keras"))
        plot_beta_gamma_grid(
            x_test[:8],
            reconstructions,
            os.path.join(folder, "beta_gamma_grid.png"),
            title=f"{dataset}, latent {latent_dim}: reconstructions per (β, γ)",
        )
        if plan["compare_vae"]:
            beta, gamma = plan["main"]
            print(
                f"-- latent {latent_dim}: VAE baseline, trained for the "
                f"{main_seconds:.0f} s SAVAE (β={beta:g}, γ={gamma:g}) took"
            )
            vae, vae_seconds = _vae(plan, latent_dim, x, y, main_seconds)
            rows.append(
                {
                    "model": "VAE",
                    "latent_dim": latent_dim,
                    "beta": None,
                    "gamma": None,
                    "train_seconds": round(vae_seconds, 1),
                    **evaluate(vae),
                    "steps": optimizer_steps(vae),
                }
            )
            write_figures(
                vae, dataset, os.path.join(folder, "vae"), seed=seed, data_dir=data_dir
            )
            _side_by_side(
                {"SAVAE": main_model, "VAE": vae},
                x_test[:10],
                load_class_names(dataset, data_dir),
                y,
                os.path.join(folder, "side_by_side.png"),
                seed,
            )
    return rows, {
        "train_size": int(len(x)),
        "labeled_images": int(np.sum(y >= 0)),
        "reference_test_accuracy": reference.test_accuracy,
    }


def _phase_2_budget(model, vec_seconds):
    """`fit` arguments that train phase 2 alone, for the rest of the budget
    after the shared phase 1's `vec_seconds` (or its epochs)."""
    settings = model.fit_settings()
    seconds = settings["seconds"]
    return {
        "encoder_epochs": 0,
        "decoder_epochs": settings["decoder_epochs"],
        "seconds": None if seconds is None else max(seconds - vec_seconds, 1.0),
    }


def report(plan, rows, data):
    """Write `metrics.json` and `results.md` of a sweep; return the record."""
    out = plan["out"]
    results = {
        "dataset": plan["dataset"],
        "backend": keras.backend.backend(),
        "dtype_policy": keras.config.dtype_policy().name,
        "devices": device_count(),
        "processes": process_count(),
        "seed": plan["seed"],
        "preset": plan["preset"],
        "overrides": plan["overrides"],
        "sweep": {
            "latent_dims": list(plan["latent_dims"]),
            "betas": list(plan["betas"]),
            "gammas": list(plan["gammas"]),
            "main": list(plan["main"]),
        },
        "data": {
            "train_size": data["train_size"],
            "labeled_fraction": plan["labeled_fraction"],
            "labels_per_class": plan["labels_per_class"],
            "labeled_images": data["labeled_images"],
            "num_samples": plan["num_samples"],
        },
        "vae_budget": "the main SAVAE's training seconds",
        "reference_test_accuracy": data["reference_test_accuracy"],
        "runs": rows,
    }
    os.makedirs(out, exist_ok=True)
    metrics = os.path.join(out, "metrics.json")
    write_json_atomically(results, metrics, default=_json_default)
    write_text_atomically(
        results_table(results) + "\n", os.path.join(out, "results.md")
    )
    if is_chief():  # the one that wrote them
        print(results_table(results))
        print(f"Wrote {out}/metrics.json, results.md and the figures in {out}/z*/")
    return results


def _json_default(value):
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def run(dataset="mnist", preset="paper", overrides=None, **options):
    """Train and evaluate SAVAE (and the VAE baseline) on `dataset`.

    Args:
        dataset: a dataset name of `savae_keras.data`.
        preset: a SAVAE preset (`SAVAE.presets`), a preset dict, or a JSON
            file of one (a run's metrics.json).
        overrides: `{setting: value}` of the preset (`savae_keras.presets`):
            the models' options, optimizer and `fit` budget.
        **options: `plan`'s: `out` (default `runs/<dataset>`); `sweep`
            (the paper's latent sizes and β × γ, `SETTINGS`) or
            `latent_dims`, `betas`, `gammas` and `main` (default: the
            preset's one model); `train_size`; `num_samples` (test images
            scored, and images generated, per model); `labeled_fraction`
            or `labels_per_class` (phase 1's labels; phase 2 uses all
            images); `compare_vae`; `reference_epochs`; `data_dir`; `seed`;
            `verbose`.

    Returns:
        The `metrics.json` content as a dict.
    """
    checked = plan(dataset, preset, overrides, **options)
    rows, data = sweep(checked)
    return report(checked, rows, data)


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
    ("recall_conditional", "recall cond.", "{:.3f}"),
    ("within_class_spread", "class spread", "{:.2f}"),
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
        description=f"SAVAE on {dataset} from a preset, against the VAE: "
        "metrics.json, results.md and the paper's figures."
    )
    add_preset_arguments(
        parser,
        "paper",
        "beta=0.01, critic_options.spectral_normalization=true, ema=true, "
        "seconds=600, encoder_epochs=2, decoder_epochs=2, labeled_share=0.25",
    )
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="the paper's sweep: latent 2 and 100, β × γ (else one model)",
    )
    parser.add_argument("--latent-dim", type=positive_int, nargs="+", default=None)
    parser.add_argument("--betas", type=nonnegative_float, nargs="+", default=None)
    parser.add_argument("--gammas", type=nonnegative_float, nargs="+", default=None)
    parser.add_argument("--train-size", type=positive_int, default=None)
    parser.add_argument("--num-samples", type=positive_int, default=2000)
    parser.add_argument("--labeled-fraction", type=fraction, default=1.0)
    parser.add_argument(
        "--labels-per-class",
        type=positive_int,
        default=None,
        help="phase 1 keeps exactly N labels per class (10: MNIST's 100 labels)",
    )
    parser.add_argument("--no-vae", action="store_true", help="skip the VAE baseline")
    parser.add_argument("--reference-epochs", type=positive_int, default=None)
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
    overrides = preset_overrides(args, parser)
    try:
        check_num_samples(args.num_samples, name="--num-samples")
    except ValueError as error:
        parser.error(str(error))
    quiet_per_model_retracing()
    with device_scope(args, parser):
        try:  # every setting is checked before anything loads or trains
            checked = plan(
                dataset,
                args.preset,
                overrides,
                out=args.out,
                sweep=args.sweep,
                latent_dims=args.latent_dim,
                betas=args.betas,
                gammas=args.gammas,
                train_size=args.train_size,
                num_samples=args.num_samples,
                labeled_fraction=args.labeled_fraction,
                labels_per_class=args.labels_per_class,
                compare_vae=not args.no_vae,
                reference_epochs=args.reference_epochs,
                data_dir=args.data_dir,
                seed=args.seed,
                verbose=args.verbose if args.verbose == "auto" else int(args.verbose),
            )
        except (ValueError, TypeError) as error:
            parser.error(str(error))
        rows, data = sweep(checked)
        return report(checked, rows, data)
