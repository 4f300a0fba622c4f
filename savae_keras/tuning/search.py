"""A KerasTuner search over β and γ, with phase 1 trained once.

`search_beta_gamma(...)` is what `tuning/search_beta_gamma.py` runs:

1. phase 1 (the VEC) is trained once and saved as `out/vec.keras`; a later
   or resumed search loads it instead of training again;
2. KerasTuner (`random`, `bayesian` or `hyperband`, its own oracles) runs
   trials of `DecoderHyperModel` in `out/tuner/` with `overwrite=False`, so
   running the same command again resumes an interrupted search;
3. the finished trials are written as `results.csv` and `results.md`, the
   objective over β per γ as `objective_vs_beta.png`, and the best decoder
   as `best_decoder.keras`.
"""

import csv
import os
import time

import keras
import keras_tuner
import numpy as np

from savae_keras.data import get_spec
from savae_keras.data import load_dataset
from savae_keras.data.checks import check_number
from savae_keras.files import save_atomically
from savae_keras.metrics import check_num_samples
from savae_keras.metrics import reference_classifier
from savae_keras.models import VariationalEncoderClassifier
from savae_keras.plots import plot_objective_over_beta
from savae_keras.saving import load_model
from savae_keras.tuning.hypermodel import DEFAULT_GAMMAS
from savae_keras.tuning.hypermodel import OBJECTIVE
from savae_keras.tuning.hypermodel import DecoderHyperModel
from savae_keras.tuning.hypermodel import check_beta_range
from savae_keras.tuning.hypermodel import check_gammas
from savae_keras.tuning.hypermodel import trial_rows

TUNERS = ("random", "bayesian", "hyperband")


def make_tuner(name, hypermodel, directory, max_trials, epochs, seed):
    """KerasTuner's tuner `name` over `hypermodel`, resuming from `directory`.

    Hyperband decides its number of trials from `epochs` (its `max_epochs`)
    and trains each bracket's survivors on from their checkpoints, passing
    `epochs` and `initial_epoch` to `fit`; `max_trials` applies to the
    others.
    """
    common = {
        "objective": OBJECTIVE,
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


def trained_vec(
    path,
    images,
    labels,
    spec,
    latent_dim,
    epochs,
    batch_size,
    seed,
    encoder_options=None,
    classifier_options=None,
    verbose=1,
):
    """Load phase 1 from `path`, or train it once and save it there.

    Returns `(vec, seconds)`, `seconds` = 0.0 when it was loaded.
    """
    if os.path.isfile(path):  # a search of another latent size is refused
        vec = load_model(
            path, expected_input_shape=spec.image_shape, expected_latent_dim=latent_dim
        )
        return vec, 0.0
    keras.utils.set_random_seed(seed)
    vec = VariationalEncoderClassifier(
        spec.image_shape,
        spec.num_classes,
        latent_dim,
        seed=seed,
        encoder_options=encoder_options,
        classifier_options=classifier_options,
    )
    vec.compile()
    start = time.perf_counter()
    vec.fit(images, labels, batch_size=batch_size, epochs=epochs, verbose=verbose)
    seconds = time.perf_counter() - start
    save_atomically(vec.save, path)  # a search never sees a half-written VEC
    return vec, seconds


def write_table(rows, out):
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
            f"Objective: `{OBJECTIVE.name}` ({OBJECTIVE.direction}imise), "
            "best first.\n\n" + "\n".join(lines) + "\n"
        )


def search_beta_gamma(
    dataset="mnist",
    out="runs/search",
    tuner="random",
    max_trials=10,
    epochs=2,
    vec_epochs=3,
    latent_dim=2,
    train_size=10000,
    validation_size=1000,
    batch_size=128,
    beta_range=(1e-4, 1e-1),
    gammas=DEFAULT_GAMMAS,
    n_critic=5,
    num_samples=500,
    data_dir=None,
    seed=0,
    network_options=None,
    verbose=1,
):
    """Run (or resume) the search; return a dict of what it measured.

    Args:
        dataset: dataset name; its train split is cut into `train_size`
            training images and `validation_size` held-out images.
        out: output folder (created; reused to resume).
        tuner: `random`, `bayesian` or `hyperband`.
        max_trials: trials of the random and Bayesian tuners.
        epochs: decoder epochs per trial (Hyperband's `max_epochs`).
        vec_epochs: epochs of the one phase-1 training.
        network_options: `encoder_options`, `classifier_options`,
            `decoder_options`, `critic_options` of the networks.

    Returns:
        `{"rows", "best", "vec_seconds", "trial_seconds", "out"}`.
    """
    if tuner not in TUNERS:
        raise ValueError(f"Unknown `tuner` {tuner!r}; expected one of {list(TUNERS)}.")
    check_beta_range(beta_range)
    check_gammas(gammas)
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
    options = dict(network_options or {})
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

    vec, vec_seconds = trained_vec(
        os.path.join(out, "vec.keras"),
        x,
        y,
        spec,
        latent_dim,
        vec_epochs,
        batch_size,
        seed,
        options.get("encoder_options"),
        options.get("classifier_options"),
        verbose,
    )
    vec.trainable = False  # every trial trains a decoder on this frozen VEC
    hypermodel = DecoderHyperModel(
        vec,
        reference_classifier(dataset, data_dir=data_dir),
        dataset=dataset,
        beta_range=beta_range,
        gammas=gammas,
        n_critic=n_critic,
        num_samples=num_samples,
        decoder_options=options.get("decoder_options"),
        critic_options=options.get("critic_options"),
        seed=seed,
    )
    search = make_tuner(tuner, hypermodel, out, max_trials, epochs, seed)
    search.search(
        x,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=held_out,
        verbose=verbose,
    )

    rows = trial_rows(search)
    if not rows:
        raise RuntimeError(
            f"No trial of the search in {out} finished; KerasTuner's log above "
            "says why each failed."
        )
    write_table(rows, out)
    plot_objective_over_beta(
        rows, OBJECTIVE.name, os.path.join(out, "objective_vs_beta.png")
    )
    best = search.get_best_models(1)[0]
    best.save(os.path.join(out, "best_decoder.keras"))
    trial_seconds = float(np.mean([row["seconds"] for row in rows]))
    return {
        "rows": rows,
        "best": rows[0],
        "vec_seconds": vec_seconds,
        "trial_seconds": trial_seconds,
        "out": out,
    }
