"""A KerasTuner search from a SAVAE preset (β and γ by default).

`search_savae(...)` is what `tuning/search_beta_gamma.py` runs:

1. when the space holds phase-2 settings only, phase 1 is trained once
   (`SAVAE.fit` with no phase-2 epochs) and saved as the preset folder
   `out/phase_1/`; a later or resumed search loads it instead of training
   again;
2. KerasTuner (`random`, `bayesian` or `hyperband`, its own oracles) runs
   trials of `SAVAEHyperModel` in `out/tuner/` with `overwrite=False`, so
   running the same command again resumes an interrupted search;
3. the finished trials are written as `results.csv` and `results.md`, the
   objective over β per γ as `objective_vs_beta.png` (when β is searched),
   and the best model as the preset folder `out/best/`
   (`SAVAE.from_preset("out/best")`).
"""

import csv
import os

import keras
import keras_tuner
import numpy as np

from savae_keras.data import get_spec
from savae_keras.data import load_dataset
from savae_keras.data.checks import check_number
from savae_keras.metrics import check_num_samples
from savae_keras.metrics import reference_classifier
from savae_keras.models import SAVAE
from savae_keras.plots import plot_objective_over_beta
from savae_keras.presets import resolve_preset
from savae_keras.tuning.hypermodel import DEFAULT_SPACE
from savae_keras.tuning.hypermodel import OBJECTIVE
from savae_keras.tuning.hypermodel import PHASE_1_SETTINGS
from savae_keras.tuning.hypermodel import SAVAEHyperModel
from savae_keras.tuning.hypermodel import check_objective
from savae_keras.tuning.hypermodel import check_space
from savae_keras.tuning.hypermodel import trial_rows

TUNERS = ("random", "bayesian", "hyperband")


def make_tuner(
    name, hypermodel, directory, max_trials, epochs, seed, objective=OBJECTIVE
):
    """KerasTuner's tuner `name` over `hypermodel`, resuming from `directory`.

    Hyperband decides its number of trials from `epochs` (its `max_epochs`)
    and trains each bracket's survivors on from their checkpoints, passing
    `epochs` and `initial_epoch` to `fit`; `max_trials` applies to the
    others.
    """
    common = {
        "objective": objective,
        "directory": os.fspath(directory),
        "project_name": "tuner",
        "overwrite": False,
        "seed": seed,
    }
    if name == "random":
        return keras_tuner.RandomSearch(hypermodel, max_trials=max_trials, **common)
    if name == "bayesian":
        return keras_tuner.BayesianOptimization(
            hypermodel, max_trials=max_trials, **common
        )
    if name == "hyperband":
        return keras_tuner.Hyperband(hypermodel, max_epochs=epochs, factor=3, **common)
    raise ValueError(f"Unknown `tuner` {name!r}; expected one of {list(TUNERS)}.")


def trained_phase_1(folder, x, y, resolved, spec, epochs, seed, verbose=1):
    """Load the shared phase 1 from `folder`, or train it once and save it.

    Returns `(savae, seconds)`, `seconds` = 0.0 when it was loaded. A folder
    of another input shape or latent size is refused.
    """
    if os.path.isdir(folder):
        model = SAVAE.from_preset(folder)
        wanted = SAVAE.from_preset(
            resolved, input_shape=spec.image_shape, num_classes=spec.num_classes
        )
        for name in ("image_shape", "latent_dim", "num_classes"):
            if getattr(model, name) != getattr(wanted, name):
                raise ValueError(
                    f"{folder} holds a phase 1 of {name} "
                    f"{getattr(model, name)}, but this search's is "
                    f"{getattr(wanted, name)}: give another `out`."
                )
        return model, 0.0
    keras.utils.set_random_seed(seed)
    model = SAVAE.from_preset(
        resolved,
        input_shape=spec.image_shape,
        num_classes=spec.num_classes,
        seed=seed,
    )
    history = model.fit(x, y, encoder_epochs=epochs, decoder_epochs=0, verbose=verbose)
    model.save_to_preset(folder, metadata={"phase": "phase 1 of a search"})
    return model, history.seconds["phase_1"]


def write_table(rows, out, objective=OBJECTIVE):
    """`results.csv` and `results.md` of the finished trials, best first."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with open(os.path.join(out, "results.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)

    def cell(value):
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
        *(
            "| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |"
            for row in rows
        ),
    ]
    with open(os.path.join(out, "results.md"), "w") as handle:
        handle.write(
            f"Objective: `{objective.name}` ({objective.direction}imise), "
            "best first.\n\n" + "\n".join(lines) + "\n"
        )


def search_savae(
    dataset="mnist",
    preset="paper",
    overrides=None,
    space=None,
    out="runs/search",
    tuner="random",
    max_trials=10,
    epochs=2,
    vec_epochs=3,
    train_size=10000,
    validation_size=1000,
    num_samples=500,
    data_dir=None,
    seed=0,
    verbose=1,
    objective=OBJECTIVE.name,
):
    """Run (or resume) the search; return a dict of what it measured.

    Args:
        dataset: dataset name; its train split is cut into `train_size`
            training images and `validation_size` held-out images.
        preset: the preset every trial starts from (`SAVAE.from_preset`);
            its `batch_size` batches the trials.
        overrides: settings changed from the preset, for every trial.
        space: the settings searched (`SAVAEHyperModel`; default β and γ).
        out: output folder (created; reused to resume).
        tuner: `random`, `bayesian` or `hyperband`.
        max_trials: trials of the random and Bayesian tuners.
        epochs: phase-2 epochs per trial (Hyperband's `max_epochs`).
        vec_epochs: phase-1 epochs (once, or per trial when the space holds
            a phase-1 setting).
        objective: the score minimised or maximised, a name of
            `OBJECTIVES` (default: the FCD of held-out reconstructions;
            `recall_conditional` or `within_class_spread` favour varied
            generations).

    Returns:
        `{"rows", "best", "vec_seconds", "trial_seconds", "out"}`.
    """
    if tuner not in TUNERS:
        raise ValueError(f"Unknown `tuner` {tuner!r}; expected one of {list(TUNERS)}.")
    space = check_space(DEFAULT_SPACE if space is None else space)
    objective = check_objective(objective)
    resolved = resolve_preset(SAVAE, preset, overrides)
    max_trials = check_number(max_trials, "max_trials", minimum=1, integer=True)
    epochs = check_number(epochs, "epochs", minimum=1, integer=True)
    vec_epochs = check_number(vec_epochs, "vec_epochs", minimum=1, integer=True)
    train_size = check_number(train_size, "train_size", minimum=1, integer=True)
    validation_size = check_number(
        validation_size, "validation_size", minimum=1, integer=True
    )
    num_samples = check_num_samples(num_samples)
    if num_samples > validation_size:
        raise ValueError(
            f"`num_samples` ({num_samples}) must not exceed `validation_size` "
            f"({validation_size}): the objective is scored on held-out images."
        )
    spec = get_spec(dataset)
    images, labels = load_dataset(dataset, "train", data_dir=data_dir)
    if train_size + validation_size > len(images):
        raise ValueError(
            f"`train_size` + `validation_size` = {train_size + validation_size} "
            f"exceeds the {len(images)} training images of {dataset}."
        )
    x, y = images[:train_size], labels[:train_size]
    held_out = (images[-validation_size:], labels[-validation_size:])
    os.makedirs(out, exist_ok=True)

    phase_1, vec_seconds = None, 0.0
    if not set(space) & PHASE_1_SETTINGS:  # every trial shares one phase 1
        phase_1, vec_seconds = trained_phase_1(
            os.path.join(out, "phase_1"),
            x,
            y,
            resolved,
            spec,
            vec_epochs,
            seed,
            verbose,
        )
    hypermodel = SAVAEHyperModel(
        resolved,
        reference_classifier(dataset, data_dir=data_dir),
        dataset=dataset,
        space=space,
        phase_1=phase_1,
        encoder_epochs=vec_epochs,
        num_samples=num_samples,
        seed=seed,
    )
    search = make_tuner(tuner, hypermodel, out, max_trials, epochs, seed, objective)
    search.search(
        x,
        y,
        epochs=epochs,
        batch_size=resolved["fit"]["batch_size"],
        validation_data=held_out,
        verbose=verbose,
    )

    rows = trial_rows(search, objective)
    if not rows:
        raise RuntimeError(
            f"No trial of the search in {out} finished; KerasTuner's log above "
            "says why each failed."
        )
    write_table(rows, out, objective)
    if "beta" in space:
        plot_objective_over_beta(
            rows, objective.name, os.path.join(out, "objective_vs_beta.png")
        )
    best = search.get_best_models(1)[0]
    best.save_to_preset(os.path.join(out, "best"), metadata={"search": rows[0]})
    trial_seconds = float(np.mean([row["seconds"] for row in rows]))
    return {
        "rows": rows,
        "best": rows[0],
        "vec_seconds": vec_seconds,
        "trial_seconds": trial_seconds,
        "out": out,
    }
