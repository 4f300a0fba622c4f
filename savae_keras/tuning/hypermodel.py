"""A KerasTuner `HyperModel` of SAVAE's phase 2: β, γ and friends.

β and γ act only in phase 2 (equation 8), so every trial starts from the
same trained and frozen VEC and trains a decoder and critic only. After
training, `fit` scores the decoder on held-out images with the evaluation
module and returns the scores as a dict; KerasTuner minimises `OBJECTIVE`.
"""

import time

import keras
import keras_tuner
import numpy as np

from savae_keras.metrics import evaluate_generative
from savae_keras.models import AdversarialDecoder

OBJECTIVE = keras_tuner.Objective("fcd_reconstructions", direction="min")
"""Fréchet classifier distance between held-out images and their
reconstructions (lower is better)."""

DEFAULT_GAMMAS = (0.0, 0.01, 0.1, 0.3, 1.0)


def check_beta_range(beta_range):
    """`(low, high)` with `0 < low < high`: β is sampled on a log scale."""
    low, high = (float(v) for v in beta_range)
    if not 0 < low < high:
        raise ValueError(
            "`beta_range` must be (low, high) with 0 < low < high, because β is "
            f"sampled on a log scale; received {tuple(beta_range)}."
        )
    return low, high


def check_gammas(gammas):
    gammas = [float(g) for g in gammas]
    if not gammas or any(not 0 <= g <= 1 for g in gammas):
        raise ValueError(f"`gammas` must be values in [0, 1]; received {gammas}.")
    return sorted(set(gammas))


class DecoderHyperModel(keras_tuner.HyperModel):
    """Phase 2 of SAVAE with β, γ (and optionally `n_critic`, the decoder's
    learning rate) drawn by KerasTuner.

    Search space:

    * `beta`: log-uniform in `beta_range` (default 1e-4 to 1e-1);
    * `gamma`: one of `gammas` (default 0, 0.01, 0.1, 0.3, 1 — 0 included,
      which a continuous draw would never hit);
    * `n_critic`: integer in `n_critic_range`, when given (else fixed);
    * `decoder_learning_rate`: log-uniform in `learning_rate_range`, when
      given (else Adam's default 1e-3).

    `fit(hp, model, x, ...)` is `AdversarialDecoder.fit` (it honours
    `epochs`, `initial_epoch` and callbacks, as Hyperband needs), then
    `evaluate_generative` on `validation_data = (images, labels)`; it returns
    `fcd_reconstructions` (the objective, `OBJECTIVE`, minimised),
    `label_consistency_error` (1 − the reference classifier's accuracy on
    the reconstructions), `mse`, `ssim`, `fcd_prior_samples` and the trial's
    training `seconds`.

    Args:
        vec: the trained, frozen (`vec.trainable = False`)
            `VariationalEncoderClassifier`, shared by all trials.
        reference: the dataset's `ReferenceClassifier` (the judge).
        dataset: the dataset name, for the reports.
        num_samples: held-out images scored per trial (≥ 256).
        decoder_options, critic_options: network options of every trial.
        n_critic: the fixed `n_critic` when it is not searched.
    """

    def __init__(
        self,
        vec,
        reference,
        dataset="mnist",
        beta_range=(1e-4, 1e-1),
        gammas=DEFAULT_GAMMAS,
        n_critic_range=None,
        learning_rate_range=None,
        n_critic=5,
        num_samples=500,
        decoder_options=None,
        critic_options=None,
        seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if vec.trainable:
            raise ValueError(
                "`vec` is trainable: every trial trains a decoder on the same "
                "frozen VEC. Freeze it first with `vec.trainable = False`."
            )
        self.vec = vec
        self.reference = reference
        self.dataset = dataset
        self.beta_range = check_beta_range(beta_range)
        self.gammas = check_gammas(gammas)
        self.n_critic_range = n_critic_range
        self.learning_rate_range = (
            None
            if learning_rate_range is None
            else check_beta_range(learning_rate_range)
        )
        self.n_critic = n_critic
        self.num_samples = num_samples
        self.decoder_options = decoder_options
        self.critic_options = critic_options
        self.seed = seed

    def build(self, hp):
        beta = hp.Float("beta", *self.beta_range, sampling="log")
        gamma = hp.Choice("gamma", self.gammas)
        n_critic = self.n_critic
        if self.n_critic_range is not None:
            n_critic = hp.Int("n_critic", *self.n_critic_range)
        learning_rate = 1e-3
        if self.learning_rate_range is not None:
            learning_rate = hp.Float(
                "decoder_learning_rate", *self.learning_rate_range, sampling="log"
            )
        model = AdversarialDecoder(
            self.vec,
            beta=beta,
            gamma=gamma,
            n_critic=n_critic,
            decoder_options=self.decoder_options,
            critic_options=self.critic_options,
            seed=self.seed,
        )
        model.compile(
            decoder_optimizer=keras.optimizers.Adam(learning_rate),
            critic_optimizer=keras.optimizers.Adam(1e-3),
        )
        return model

    def fit(self, hp, model, x, *args, validation_data=None, **kwargs):
        """Train the trial's decoder, then score it on `validation_data`."""
        if validation_data is None:
            raise ValueError(
                "DecoderHyperModel.fit needs `validation_data=(images, labels)`: "
                "the held-out images the objective is computed on."
            )
        start = time.perf_counter()
        model.fit(x, *args, **kwargs)
        seconds = time.perf_counter() - start
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
            "seconds": seconds,
        }


def trial_rows(tuner):
    """One dict per finished trial: its hyperparameters and scores."""
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
    rows.sort(key=lambda row: row[OBJECTIVE.name])
    return rows
