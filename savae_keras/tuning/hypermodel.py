"""A KerasTuner `HyperModel` of SAVAE from a preset: any of its options.

Each trial is `SAVAE.from_preset(preset, **overrides, **drawn)`, with the
drawn values of the search space (`space`: setting -> range or choices;
default `DEFAULT_SPACE`, β and γ). When the space holds phase-2 settings
only (β and γ act only in phase 2, equation 8), every trial copies one
trained phase 1 (`SAVAE.copy_phase_1`) and trains phase 2 alone; a
phase-1 setting in the space makes each trial train both phases. After
training, `fit` scores the model on held-out images with the evaluation
module and returns the scores as a dict; KerasTuner minimises `OBJECTIVE`.
"""

import time

import keras_tuner
import numpy as np

from savae_keras.data import get_spec
from savae_keras.metrics import evaluate_generative
from savae_keras.models import SAVAE
from savae_keras.models.savae import PHASE_1_OPTIONS
from savae_keras.models.savae import PHASE_2_OPTIONS
from savae_keras.presets import resolve_preset

OBJECTIVE = keras_tuner.Objective("fcd_reconstructions", direction="min")
"""Fréchet classifier distance between held-out images and their
reconstructions (lower is better): the default objective."""

OBJECTIVES = {
    objective.name: objective
    for objective in (
        OBJECTIVE,
        keras_tuner.Objective("fcd_conditional_samples", direction="min"),
        keras_tuner.Objective("recall_conditional", direction="max"),
        keras_tuner.Objective("within_class_spread", direction="max"),
    )
}
"""The scores a search can optimise: reconstructions' FCD, class-conditional
samples' FCD, and their variety (recall, within-class spread)."""


def check_objective(name):
    """`OBJECTIVES[name]`, or an error that lists the objectives."""
    if isinstance(name, keras_tuner.Objective):
        name = name.name
    if name not in OBJECTIVES:
        raise ValueError(
            f"Unknown `objective` {name!r}; expected one of {list(OBJECTIVES)}."
        )
    return OBJECTIVES[name]


DEFAULT_SPACE = {
    # log-uniform: a range of decades
    "beta": ("log", 1e-4, 1e-1),
    # choices: 0 included, which a continuous draw would never hit
    "gamma": [0.0, 0.01, 0.1, 0.3, 1.0],
}
"""The search space of β and γ (the design's KerasTuner search)."""

# The settings that change phase 1: a space with any of them trains phase 1
# in every trial. (The optimizer's settings act on phase 2 alone when the
# trials share phase 1.)
PHASE_1_SETTINGS = frozenset(
    {"latent_dim", *(set(PHASE_1_OPTIONS) - set(PHASE_2_OPTIONS))}
)
_KINDS = ("log", "float", "int")


def check_space(space):
    """The search space as `{setting: ("log"|"float"|"int", low, high) or
    [choices]}`, each checked; a setting must be a SAVAE preset option or
    optimizer setting (`savae_keras.presets`), not the budget."""
    if not isinstance(space, dict) or not space:
        raise ValueError(
            "`space` must be a non-empty dict {setting: range or choices}; "
            f"received {space!r}."
        )
    known = [*SAVAE.preset_config_keys(), *SAVAE.preset_optimizer]
    checked = {}
    for name, spec in space.items():
        if name not in known:
            raise ValueError(
                f"`space` names {name!r}, which is not a SAVAE setting a trial "
                f"can vary; the settings are {known}."
            )
        if isinstance(spec, list):
            if not spec:
                raise ValueError(f"`space[{name!r}]` has no choices.")
            checked[name] = list(spec)
            continue
        kind, low, high = _range(name, spec)
        checked[name] = (kind, low, high)
    return checked


def _range(name, spec):
    wanted = (
        f"`space[{name!r}]` must be a list of choices or (kind, low, high) "
        f"with kind one of {_KINDS} and low < high (low > 0 for 'log')"
    )
    if not (isinstance(spec, tuple) and len(spec) == 3 and spec[0] in _KINDS):
        raise ValueError(f"{wanted}; received {spec!r}.")
    kind, low, high = spec
    try:
        low, high = (
            (int if kind == "int" else float)(low),
            (int if kind == "int" else float)(high),
        )
    except (TypeError, ValueError):
        raise ValueError(f"{wanted}; received {spec!r}.") from None
    if not low < high or (kind == "log" and low <= 0):
        raise ValueError(f"{wanted}; received {spec!r}.")
    return kind, low, high


def draw(hp, space):
    """The trial's values of `space` from KerasTuner's `hp`."""
    values = {}
    for name, spec in space.items():
        if isinstance(spec, list) and all(isinstance(v, bool) for v in spec):
            # KerasTuner's Choice hands bools back as ints
            values[name] = (
                hp.Boolean(name) if len(set(spec)) == 2 else hp.Fixed(name, spec[0])
            )
        elif isinstance(spec, list):
            values[name] = hp.Choice(name, spec)
        elif spec[0] == "int":
            values[name] = hp.Int(name, spec[1], spec[2])
        else:
            sampling = "log" if spec[0] == "log" else "linear"
            values[name] = hp.Float(name, spec[1], spec[2], sampling=sampling)
    return values


class SAVAEHyperModel(keras_tuner.HyperModel):
    """SAVAE from a preset, with the settings of `space` drawn by KerasTuner.

    `fit(hp, model, x, y, ...)` is `SAVAE.fit` (it honours `epochs` as
    phase 2's epochs, `initial_epoch` and callbacks, as Hyperband needs),
    then `evaluate_generative` on `validation_data = (images, labels)`; it
    returns `fcd_reconstructions` (the objective, `OBJECTIVE`, minimised),
    `label_consistency_error` (1 − the reference classifier's accuracy on
    the reconstructions), `mse`, `ssim`, `fcd_prior_samples` and the trial's
    training `seconds`.

    Args:
        preset: the SAVAE preset the trials start from (a name, a preset
            dict or a JSON file); `overrides` change it for every trial.
        reference: the dataset's `ReferenceClassifier` (the judge).
        dataset: the dataset name (the networks' shapes, the reports).
        space: `{setting: ("log"|"float"|"int", low, high) or [choices]}`
            (default `DEFAULT_SPACE`: β and γ).
        phase_1: a SAVAE with phase 1 trained, shared by every trial; needed
            when the space holds phase-2 settings only.
        encoder_epochs: phase 1's epochs in each trial when the space holds
            a phase-1 setting.
        num_samples: held-out images scored per trial (≥ 256).
    """

    def __init__(
        self,
        preset,
        reference,
        dataset="mnist",
        space=None,
        overrides=None,
        phase_1=None,
        encoder_epochs=1,
        num_samples=500,
        seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.resolved = resolve_preset(SAVAE, preset, overrides)
        self.space = check_space(DEFAULT_SPACE if space is None else space)
        self.trains_phase_1 = bool(set(self.space) & PHASE_1_SETTINGS)
        if not self.trains_phase_1 and phase_1 is None:
            raise ValueError(
                "Every trial shares phase 1 (the space holds phase-2 settings "
                "only): pass `phase_1`, a SAVAE whose phase 1 is trained."
            )
        self.phase_1 = None if self.trains_phase_1 else phase_1
        self.encoder_epochs = encoder_epochs
        self.reference = reference
        self.dataset = dataset
        self.num_samples = num_samples
        self.seed = seed

    def build(self, hp):
        """The trial's SAVAE: the preset with the trial's values of the search space."""
        spec = get_spec(self.dataset)
        model = SAVAE.from_preset(
            self.resolved,
            **draw(hp, self.space),
            input_shape=spec.image_shape,
            num_classes=spec.num_classes,
            seed=self.seed,
        )
        if self.phase_1 is not None:
            model.copy_phase_1(self.phase_1)
        return model

    def fit(self, hp, model, x, y=None, *args, validation_data=None, **kwargs):
        """Train the trial's SAVAE, then score it on `validation_data`."""
        if validation_data is None:
            raise ValueError(
                "SAVAEHyperModel.fit needs `validation_data=(images, labels)`: "
                "the held-out images the objective is computed on."
            )
        epochs = kwargs.pop("epochs", 1)
        if self.trains_phase_1:
            if kwargs.get("initial_epoch"):
                raise ValueError(
                    "A space with phase-1 settings trains both phases in each "
                    "trial, which Hyperband cannot resume; use the random or "
                    "Bayesian tuner."
                )
            budget = {"encoder_epochs": self.encoder_epochs, "decoder_epochs": epochs}
        else:
            budget = {"encoder_epochs": 0, "decoder_epochs": epochs}
        # KerasTuner's checkpoint callback would see one phase's network:
        # the whole SAVAE is saved to its file once the trial has trained.
        callbacks = list(kwargs.pop("callbacks", None) or [])
        checkpoints = [c for c in callbacks if type(c).__name__ == "SaveBestEpoch"]
        callbacks = [c for c in callbacks if c not in checkpoints]
        start = time.perf_counter()
        model.fit(
            x,
            y,
            *args,
            **budget,
            callbacks=callbacks,
            fit_class_prior=self.trains_phase_1,
            **kwargs,
        )
        seconds = time.perf_counter() - start
        for checkpoint in checkpoints:
            model.save_weights(checkpoint.filepath)
        scores = evaluate_generative(
            model,
            self.dataset,
            split="held-out",
            num_samples=min(self.num_samples, len(validation_data[0])),
            seed=self.seed,
            reference=self.reference,
            data=validation_data,
        )
        return {
            "fcd_reconstructions": scores["fcd_reconstructions"],
            "label_consistency_error": 1.0
            - scores["label_consistency_reconstructions"],
            "mse": scores["mse"],
            "ssim": scores["ssim"],
            "fcd_prior_samples": scores["fcd_prior_samples"],
            # the class-conditional generations, their FCD and variety
            **{
                name: scores[name]
                for name in OBJECTIVES
                if name != OBJECTIVE.name and scores[name] is not None
            },
            "seconds": seconds,
        }


def trial_rows(tuner, objective=OBJECTIVE):
    """One dict per finished trial: its hyperparameters and scores, best
    first by `objective`."""
    rows = []
    for trial in tuner.oracle.trials.values():
        if trial.status != "COMPLETED":
            continue
        values = {
            k: v
            for k, v in trial.hyperparameters.values.items()
            if not k.startswith("tuner/")
        }
        metrics = {
            name: float(np.asarray(trial.metrics.get_last_value(name)))
            for name in trial.metrics.metrics
        }
        rows.append({"trial": trial.trial_id, **values, **metrics})
    sign = 1.0 if objective.direction == "min" else -1.0
    rows.sort(key=lambda row: sign * row[objective.name])
    return rows
