"""SAVAE in one object: phase 1 (the VEC), then phase 2 (the decoder)."""

import inspect
import os

import keras
import numpy as np

from savae_keras.callbacks import CosineDecayOverTime
from savae_keras.callbacks import TimeLimit
from savae_keras.data.checks import check_bool
from savae_keras.data.checks import check_choice
from savae_keras.data.checks import check_number
from savae_keras.data.pipelines import backend_batches
from savae_keras.files import CrashSafeBackup
from savae_keras.files import save_atomically
from savae_keras.models.adversarial_decoder import AdversarialDecoder
from savae_keras.models.savae_presets import SAVAE_PRESETS
from savae_keras.models.trainer import FiniteSaving
from savae_keras.models.trainer import serialize_optimizer
from savae_keras.models.variational_encoder_classifier import (
    VariationalEncoderClassifier,
)
from savae_keras.networks import FEATURE_LAYERS
from savae_keras.presets import PresetMixin

_PHASE_OPTIMIZERS = {
    "vec_optimizer": ("vec", "optimizer"),
    "decoder_optimizer": ("adversarial_decoder", "decoder_optimizer"),
    "critic_optimizer": ("adversarial_decoder", "critic_optimizer"),
}


def _options_of(cls, skip):
    names = inspect.signature(cls.__init__).parameters
    return tuple(name for name in names if name not in {"self", "kwargs", *skip})


# The options `SAVAE` passes to each phase: every constructor argument but
# the networks, the shape, the seed (and the VEC's feature layers, which
# are SAVAE's). Their defaults live in the phases' constructors only.
PHASE_1_OPTIONS = _options_of(
    VariationalEncoderClassifier,
    (
        "input_shape",
        "num_classes",
        "latent_dim",
        "feature_layers",
        "seed",
        # its networks; `augmentation` may be a name ("weak", "strong")
        *(n for n in VariationalEncoderClassifier.network_names if n != "augmentation"),
    ),
)
PHASE_2_OPTIONS = _options_of(
    AdversarialDecoder, ("vec", "seed", *AdversarialDecoder.network_names)
)
# Each option's default, read once (the one shared option, `decoder_options`,
# defaults to None in both phases).
_PHASE_DEFAULTS = {
    name: parameter.default
    for cls in (AdversarialDecoder, VariationalEncoderClassifier)
    for name, parameter in inspect.signature(cls.__init__).parameters.items()
}
_KERAS_ARGUMENTS = ("name", "dtype", "trainable")
# The epoch cap of a phase trained for a number of seconds: its `TimeLimit`
# ends it first.
MAX_EPOCHS = 100_000


class SAVAEHistory(keras.callbacks.History):
    """What `SAVAE.fit` returns: a Keras `History` of both phases.

    Attributes:
        history: each phase's logs, one value per epoch of that phase,
            under `phase_1_<name>` (`phase_1_loss`, `phase_1_accuracy`, ...)
            and `phase_2_<name>` (`phase_2_loss`, `phase_2_critic_loss`, ...).
        epoch: the epochs of phase 1, then those of phase 2.
        phase_1, phase_2: each phase's own `History` (None for a phase that
            did not train).
        seconds: `{"phase_1": s, "phase_2": s}`, each phase's training time
            on the `fit`'s clock (0 for a phase that did not train).
        steps: `{"phase_1": n, "phase_2": n}`, each phase's optimizer steps
            so far (every `fit` of the model counted).
    """

    def __init__(self, phase_1, phase_2, seconds, steps):
        super().__init__()
        self.phase_1, self.phase_2 = phase_1, phase_2
        self.seconds, self.steps = seconds, steps
        self.history = {}
        self.epoch = []
        for name, phase in (("phase_1", phase_1), ("phase_2", phase_2)):
            if phase is None:
                continue
            self.epoch += list(phase.epoch)
            for key, values in phase.history.items():
                self.history[f"{name}_{key}"] = list(values)


class _PhaseBackup:
    """The files of `SAVAE.fit(backup_dir=...)`, inside `folder`.

    `vec/` and `decoder/` are the backup folders of the two phases
    (`savae_keras.files.CrashSafeBackup`: the previous epoch's backup stays
    valid until the new one is complete); `phase_1.weights.h5` is the VEC
    (with its optimizer) once phase 1 has finished, written under a
    temporary name and moved into place. A kill at any moment therefore
    loses at most the epoch in progress. Only these files are ever written
    or removed.
    """

    PHASE_1 = "phase_1.weights.h5"

    def __init__(self, folder):
        self.folder = os.fspath(folder)
        self.phase_1 = os.path.join(self.folder, self.PHASE_1)

    def callback(self, phase):
        return CrashSafeBackup(os.path.join(self.folder, phase))

    def restore_phase_1(self, vec):
        """Load a finished phase 1; whether there was one."""
        if not os.path.isfile(self.phase_1):
            return False
        vec.load_weights(self.phase_1)
        return True

    def save_phase_1(self, vec):
        os.makedirs(self.folder, exist_ok=True)
        save_atomically(vec.save_weights, self.phase_1)

    def finish(self):
        if os.path.isfile(self.phase_1):
            os.remove(self.phase_1)
        for name in ("vec", "decoder", ""):  # the backups left them empty
            folder = os.path.join(self.folder, name)
            if os.path.isdir(folder) and not os.listdir(folder):
                os.rmdir(folder)


@keras.saving.register_keras_serializable(package="savae_keras")
class SAVAE(PresetMixin, FiniteSaving, keras.Model):
    """The semi-supervised adversarial VAE of Zemouri (2020), both phases.

    Holds a `VariationalEncoderClassifier` (`self.vec`, phase 1) and an
    `AdversarialDecoder` built on it (`self.adversarial_decoder`, phase 2).
    `fit` trains phase 1, fits the class-conditional latent prior on the
    labeled training data, then trains phase 2, on a budget of epochs or of
    seconds. `predict(x)` returns reconstructions.

    The quickest start is a preset (`savae_keras.presets`).

    Example:

    ```python
    import savae_keras as sk

    x, y = sk.load_dataset("mnist", "train")
    model = sk.SAVAE.from_preset("quick")
    history = model.fit(x, y)                       # its 150-s budget
    images = model.generate(10, labels=range(10))   # one of each class
    ```

    Args:
        input_shape: the shape of one image or signal, as for the VEC.
        num_classes: the number of classes, as for the VEC.
        latent_dim: the size of the latent code, as for the VEC.
        seed: seed of the sampling noise (phase 2's is `seed + 1`).
        **kwargs: the options of each phase, by name, each defaulting to
            its phase's default: phase 1's (`PHASE_1_OPTIONS`:
            `VariationalEncoderClassifier`'s `kl_weight`, `kl_warmup_steps`,
            `consistency_weight`, `confidence_threshold`,
            `consistency_rampup_steps`, `augmentation`,
            `reconstruction_weight`, `reconstruction_loss`,
            `encoder_options`, `classifier_options`, `decoder_options`) and
            phase 2's (`PHASE_2_OPTIONS`: `AdversarialDecoder`'s `beta`,
            `gamma`, `n_critic`, `critic_target`, `feature_weights`,
            `pixel_weight`, `prior_weight`, `diversity_weight`,
            `diversity_pairs`, `warm_start`, `decoder_options`,
            `critic_options`). `decoder_options` serves both phases' decoders.
    """

    presets = SAVAE_PRESETS
    # `compile_preset`'s settings: Adam's learning rate for every optimizer,
    # and whether the VEC and the decoder end on the moving average of
    # their weights (`Adam(use_ema=True)`; the critic never averages).
    preset_optimizer = {"learning_rate": 0.001, "ema": False}
    # `fit`'s settings a preset may hold, with `fit`'s defaults.
    preset_fit = {
        "encoder_epochs": None,
        "decoder_epochs": None,
        "seconds": None,
        "vec_share": 1 / 3,
        "clock": "wall",
        "batch_size": None,
        "labeled_share": None,
        "cosine_decay": False,
    }
    preset_budget = ("encoder_epochs", "decoder_epochs", "seconds")

    def __init__(
        self, input_shape=(28, 28, 1), num_classes=10, latent_dim=2, seed=None, **kwargs
    ):
        options = {k: kwargs.pop(k) for k in list(kwargs) if k in self.option_names()}
        unknown = sorted(set(kwargs) - set(_KERAS_ARGUMENTS))
        if unknown:
            raise TypeError(
                f"SAVAE got unexpected arguments {unknown}. Its options are "
                f"{list(self.option_names())} (besides input_shape, num_classes, "
                "latent_dim and seed)."
            )
        super().__init__(**kwargs)
        augmentation = options.get("augmentation")
        if isinstance(augmentation, dict):  # a layer, from `get_config`
            options["augmentation"] = keras.saving.deserialize_keras_object(
                augmentation
            )
        self.vec = VariationalEncoderClassifier(
            input_shape,
            num_classes,
            latent_dim,
            feature_layers=FEATURE_LAYERS,
            seed=seed,
            name="vec",
            **{k: options[k] for k in PHASE_1_OPTIONS if k in options},
        )
        # Phase 2 is built on the frozen VEC; phase 1 trains it first.
        self.vec.trainable = False
        self.adversarial_decoder = AdversarialDecoder(
            self.vec,
            seed=None if seed is None else seed + 1,
            name="adversarial_decoder",
            **{k: options[k] for k in PHASE_2_OPTIONS if k in options},
        )
        self.vec.trainable = True
        self._options = {
            "input_shape": self.vec.image_shape,
            "num_classes": num_classes,
            "latent_dim": latent_dim,
            "seed": seed,
            **self._resolved(options),
        }
        self.built = True

    @classmethod
    def option_names(cls):
        """The phases' options `SAVAE` takes, phase 1's first."""
        return tuple(dict.fromkeys((*PHASE_1_OPTIONS, *PHASE_2_OPTIONS)))

    @classmethod
    def preset_config_keys(cls):
        """The config keys a preset may set: the shapes, the seed and every
        option of both phases."""
        return ["input_shape", "num_classes", "latent_dim", "seed", *cls.option_names()]

    @staticmethod
    def _resolved(options):
        """Every option's value: as given, or its phase's default."""
        resolved = {}
        for name in SAVAE.option_names():
            value = options.get(name, _PHASE_DEFAULTS[name])
            if isinstance(value, tuple):
                value = list(value)
            if name == "augmentation" and not (value is None or isinstance(value, str)):
                value = keras.saving.serialize_keras_object(value)
            resolved[name] = value
        return resolved

    def compile(
        self,
        vec_optimizer="adam",
        decoder_optimizer="adam",
        critic_optimizer="adam",
        jit_compile="auto",
        steps_per_execution=1,
    ):
        """Compile both phases: phase 1's optimizer and phase 2's two."""
        common = {
            "jit_compile": jit_compile,
            "steps_per_execution": steps_per_execution,
        }
        self.vec.trainable = True
        self.vec.compile(optimizer=vec_optimizer, **common)
        self.vec.trainable = False  # phase 2's optimizers see the decoder only
        self.adversarial_decoder.compile(
            decoder_optimizer=decoder_optimizer,
            critic_optimizer=critic_optimizer,
            **common,
        )
        self.vec.trainable = True
        self._compile_arguments = common
        self.compiled = True

    def compile_preset(self, learning_rate=0.001, ema=False):
        """`compile` with Adam at `learning_rate` for the three optimizers;
        with `ema`, the VEC's and the decoder's keep a moving average of
        their weights, which each phase ends on (beyond the paper)."""
        learning_rate = check_number(
            learning_rate, "learning_rate", minimum=0.0, exclusive_minimum=True
        )
        ema = check_bool(ema, "ema")
        adam = lambda average: keras.optimizers.Adam(learning_rate, use_ema=average)
        self.compile(
            vec_optimizer=adam(ema),
            decoder_optimizer=adam(ema),
            critic_optimizer=adam(False),
        )

    def get_compile_config(self):
        if not self.compiled:
            return None
        config = {
            name: serialize_optimizer(self._phase_optimizer(name))
            for name in _PHASE_OPTIMIZERS
        }
        return {**config, **self._compile_arguments}

    def compile_from_config(self, config):
        config = dict(config)
        for name in _PHASE_OPTIMIZERS:
            config[name] = keras.optimizers.deserialize(config[name])
        self.compile(**config)

    def _phase_optimizer(self, name):
        model, attribute = _PHASE_OPTIMIZERS[name]
        return getattr(getattr(self, model), attribute)

    def copy_phase_1(self, source):
        """Take `source`'s trained phase 1 (a SAVAE of the same phase-1
        networks): its encoder, classifier and class prior. A sweep over
        phase-2 options then trains phase 1 once and each model's phase 2
        with `fit(..., encoder_epochs=0)`. Returns `self`."""
        self.vec.set_weights(source.vec.get_weights())
        return self

    def fit_settings(self, **given):
        """The settings `fit(**given)` trains with, checked: those given,
        else the preset's (`fit_defaults`), else `preset_fit`'s defaults.

        The budget (`encoder_epochs`, `decoder_epochs`, `seconds`) is taken
        whole: from the call when it names any of the three, else from the
        preset; without seconds, a phase with no epochs trains one.
        """
        budget = self.preset_budget
        source = given if any(given.get(k) is not None for k in budget) else {}
        settings = {**self.preset_fit, **self.fit_defaults}
        for key in budget:
            settings[key] = source.get(key, self.fit_defaults.get(key))
        for key, value in given.items():
            if key not in budget and value is not None:
                settings[key] = value
        if settings["seconds"] is None:
            for key in ("encoder_epochs", "decoder_epochs"):
                if settings[key] is None:
                    settings[key] = 1
        return _checked_fit_settings(settings)

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        encoder_epochs=None,
        decoder_epochs=None,
        seconds=None,
        vec_share=None,
        clock=None,
        labeled_share=None,
        cosine_decay=None,
        validation_data=None,
        callbacks=None,
        encoder_callbacks=None,
        decoder_callbacks=None,
        verbose="auto",
        fit_class_prior=True,
        backup_dir=None,
        **kwargs,
    ):
        """Train phase 1, fit the class prior, then train phase 2.

        The budget is `encoder_epochs` and `decoder_epochs`, or `seconds`
        for both phases (the epochs then cap each phase). When the call
        names none of the three, the preset's budget applies
        (`fit_defaults`, set by `from_preset`); without a preset, one epoch
        per phase. Every other setting left None is the preset's, else the
        default.

        Args:
            x: images, or a dataset of `(images, labels)`. Phase 2 uses the
                same images.
            y: labels (-1 = unlabeled); phase 2 ignores them.
            batch_size: as in `keras.Model.fit`.
            encoder_epochs: epochs of phase 1; 0 skips it (the VEC must then
                be trained already, e.g. by `copy_phase_1`).
            decoder_epochs: epochs of phase 2; 0 skips it.
            seconds: train both phases for this many seconds: phase 1 for
                `vec_share` of them, phase 2 for the rest of `seconds` after
                what phase 1 took (at least one second). Progress shows as
                seconds of each phase's budget.
            vec_share: phase 1's share of `seconds` (default a third).
            clock: `"wall"` (default) or `"cpu"` (this process's CPU
                seconds, fair when other work shares the machine).
            labeled_share: phase 1 puts exactly `round(labeled_share ·
                batch_size)` labeled images in every batch (see
                `VariationalEncoderClassifier.fit`).
            cosine_decay: phase 1's learning rate falls from its initial
                value to 0 along a cosine over phase 1's steps
                (`encoder_epochs`) or, with `seconds` alone, over phase 1's
                seconds (`CosineDecayOverTime`); beyond the paper.
            callbacks: callbacks for both phases; `encoder_callbacks` and
                `decoder_callbacks` are added to one phase only.
            fit_class_prior: fit the per-class latent Gaussians after phase
                1, for `generate(n, labels=...)`.
            backup_dir: a folder that makes the whole run resumable: each
                phase trains with a `savae_keras.files.CrashSafeBackup` in a
                subfolder, and a finished phase 1 is kept there, so running
                the same `fit` again after an interruption skips phase 1 if
                it had finished and resumes the interrupted epoch. What it
                wrote is removed when both phases finish.
            **kwargs: further arguments of `keras.Model.fit` for both phases.

        Returns:
            A `SAVAEHistory`: a Keras `History` with both phases' logs.
        """
        if not self.compiled:
            raise ValueError(
                "You must call `compile()` before `fit()`: SAVAE.compile sets "
                "the optimizers of both phases (`SAVAE.from_preset` compiles)."
            )
        given = dict(
            batch_size=batch_size,
            encoder_epochs=encoder_epochs,
            decoder_epochs=decoder_epochs,
            seconds=seconds,
            vec_share=vec_share,
            clock=clock,
            labeled_share=labeled_share,
            cosine_decay=cosine_decay,
        )
        settings = self.fit_settings(**given)
        callbacks = list(callbacks or [])
        encoder_callbacks = callbacks + list(encoder_callbacks or [])
        decoder_callbacks = callbacks + list(decoder_callbacks or [])
        backup = _PhaseBackup(backup_dir) if backup_dir else None
        if backup:  # first, so an epoch is backed up before other callbacks run
            encoder_callbacks.insert(0, backup.callback("vec"))
            decoder_callbacks.insert(0, backup.callback("decoder"))
        common = {"validation_data": validation_data, "verbose": verbose, **kwargs}
        batch_size = settings["batch_size"]
        now = TimeLimit.CLOCKS[settings["clock"]]
        seconds = settings["seconds"]
        phase_1 = None
        phase_1_seconds = 0.0
        if backup and backup.restore_phase_1(self.vec):
            settings["encoder_epochs"] = 0  # finished before the interruption
        if settings["encoder_epochs"] != 0:
            budget = None if seconds is None else seconds * settings["vec_share"]
            self.vec.trainable = True
            decay_over_time = settings["cosine_decay"] and (
                settings["encoder_epochs"] is None
            )
            if settings["cosine_decay"] and not decay_over_time:
                self._decay_phase_1(x, settings)
            start = now()
            phase_1 = self.vec.fit(
                x,
                y,
                batch_size=batch_size,
                labeled_share=settings["labeled_share"],
                **_budgeted(
                    settings["encoder_epochs"],
                    budget,
                    settings["clock"],
                    "phase 1",
                    encoder_callbacks,
                    common,
                    cosine_decay=decay_over_time,
                ),
            )
            phase_1_seconds = now() - start
            if backup:
                backup.save_phase_1(self.vec)
        self.vec.trainable = False
        if fit_class_prior:
            self.vec.fit_class_prior(x, labels=y, batch_size=batch_size or 256)
        phase_2 = None
        phase_2_seconds = 0.0
        if settings["decoder_epochs"] != 0:
            budget = None if seconds is None else max(seconds - phase_1_seconds, 1.0)
            images, batching = whole_batches(
                x, batch_size, self.adversarial_decoder, kwargs.get("shuffle", True)
            )
            arguments = _budgeted(
                settings["decoder_epochs"],
                budget,
                settings["clock"],
                "phase 2",
                decoder_callbacks,
                common,
            )
            start = now()
            phase_2 = self.adversarial_decoder.fit(images, **{**arguments, **batching})
            phase_2_seconds = now() - start
        if backup:
            backup.finish()
        self.history = SAVAEHistory(
            phase_1,
            phase_2,
            seconds={"phase_1": phase_1_seconds, "phase_2": phase_2_seconds},
            steps={
                "phase_1": optimizer_steps(self.vec),
                "phase_2": optimizer_steps(self.adversarial_decoder),
            },
        )
        return self.history

    def _decay_phase_1(self, x, settings):
        """Recompile the VEC's optimizer with a cosine decay over phase 1's
        `encoder_epochs`."""
        steps = settings["encoder_epochs"] * batches_per_epoch(
            x, settings["batch_size"]
        )
        optimizer = self.vec.optimizer
        config = optimizer.get_config()
        config["learning_rate"] = keras.optimizers.schedules.CosineDecay(
            float(keras.ops.convert_to_numpy(optimizer.learning_rate)), steps
        )
        self.vec.compile(
            optimizer=type(optimizer).from_config(config), **self._compile_arguments
        )

    def call(self, inputs, training=False):
        """Reconstructions `Dec(μ(x))`."""
        return self.adversarial_decoder(inputs, training=training)

    def predict(self, x, *args, **kwargs):
        """Reconstructions `Dec(μ(x))` of checked images `x`."""
        return self.adversarial_decoder.predict(x, *args, **kwargs)

    # -- the two phases' methods -----------------------------------------
    capabilities = AdversarialDecoder.capabilities
    anomaly_component_names = AdversarialDecoder.anomaly_component_names
    primary_anomaly_component = AdversarialDecoder.primary_anomaly_component

    @property
    def image_shape(self):
        """The shape of one input, without the batch axis."""
        return self.vec.image_shape

    @property
    def encoder(self):
        """The VEC's encoder: images to `[z_mean, z_log_var]`."""
        return self.vec.encoder

    @property
    def classifier(self):
        """The VEC's classifier: latent codes to class probabilities."""
        return self.vec.classifier

    @property
    def decoder(self):
        """Phase 2's decoder: latent codes to images."""
        return self.adversarial_decoder.decoder

    @property
    def latent_dim(self):
        """The size of the latent code."""
        return self.vec.latent_dim

    @property
    def num_classes(self):
        """The number of classes the classifier tells apart."""
        return self.vec.num_classes

    def encode(self, x, batch_size=256):
        """Latent codes of images `x`: the posterior mean `μ(x)`."""
        return self.vec.encode(x, batch_size)

    def posterior(self, x, batch_size=256):
        """The posterior `(z_mean, z_log_var)` of images `x`."""
        return self.vec.posterior(x, batch_size)

    def classify(self, x, batch_size=256):
        """Class probabilities `Class(μ(x))` of images `x`."""
        return self.vec.classify(x, batch_size)

    def reconstruct(self, x, batch_size=256):
        """Reconstructions `Dec(μ(x))` of images `x`."""
        return self.adversarial_decoder.reconstruct(x, batch_size)

    def decode(self, z, batch_size=256):
        """Images `Dec(z)` of latent codes `z`."""
        return self.adversarial_decoder.decode(z, batch_size)

    def generate(self, n, labels=None, seed=None, batch_size=256):
        """`n` images from the prior, or from the Gaussians of `labels`."""
        return self.adversarial_decoder.generate(n, labels, seed, batch_size)

    def anomaly_components(self, x, batch_size=256):
        """Per-sample anomaly signals (`AdversarialDecoder._anomaly_terms`)."""
        return self.adversarial_decoder.anomaly_components(x, batch_size)

    def anomaly_map(self, x, batch_size=256):
        """Per-position anomaly signal (`AdversarialDecoder._anomaly_map`)."""
        return self.adversarial_decoder.anomaly_map(x, batch_size)

    def anomaly_score(self, x, calibration=None, batch_size=256):
        """Anomaly scores of `x` (`savae_keras.models.anomaly`)."""
        return self.adversarial_decoder.anomaly_score(x, calibration, batch_size)

    def fit_class_prior(self, x, labels=None, batch_size=256):
        """Fit the per-class latent Gaussians used by `generate(labels=...)`."""
        self.vec.fit_class_prior(x, labels, batch_size)
        return self

    def has_class_prior(self):
        """Whether every class has a fitted latent Gaussian for `generate`."""
        return self.vec.has_class_prior()

    def get_config(self):
        return {**super().get_config(), **self._options}


def _checked_fit_settings(settings):
    """`SAVAE.fit`'s settings, each checked where it enters."""
    for key in ("encoder_epochs", "decoder_epochs"):
        if settings[key] is not None:
            settings[key] = check_number(settings[key], key, minimum=0, integer=True)
    if settings["seconds"] is not None:
        settings["seconds"] = check_number(
            settings["seconds"], "seconds", minimum=0.0, exclusive_minimum=True
        )
    # phase 2 needs some seconds; a batch needs some unlabeled images
    for key in ("vec_share", "labeled_share"):
        if settings[key] is not None:
            settings[key] = check_number(
                settings[key],
                key,
                minimum=0.0,
                maximum=1.0,
                exclusive_minimum=True,
                exclusive_maximum=True,
            )
    check_choice(settings["clock"], "clock", tuple(TimeLimit.CLOCKS))
    if settings["batch_size"] is not None:
        settings["batch_size"] = check_number(
            settings["batch_size"], "batch_size", minimum=1, integer=True
        )
    settings["cosine_decay"] = check_bool(settings["cosine_decay"], "cosine_decay")
    return settings


def _budgeted(epochs, seconds, clock, label, callbacks, common, cosine_decay=False):
    """A phase's `fit` arguments for `epochs`, or `seconds` of `clock`.

    With seconds, a `TimeLimit` stops the phase (the epochs, when given,
    cap it) and shows its progress in seconds instead of Keras's epoch bars;
    with `cosine_decay`, the learning rate falls along a cosine over them.
    """
    if seconds is None:
        return {**common, "epochs": epochs, "callbacks": callbacks}
    verbose = common.get("verbose", "auto")
    limit = TimeLimit(seconds, clock=clock, verbose=verbose, label=label)
    decay = [CosineDecayOverTime(limit)] if cosine_decay else []
    return {
        **common,
        "epochs": MAX_EPOCHS if epochs is None else epochs,
        "callbacks": [*callbacks, *decay, limit],
        "verbose": 0,
    }


def whole_batches(x, batch_size, model, shuffle=True):
    """Unlabeled numpy images as whole, shuffled batches (phase 2, the VAE).

    A last, smaller batch would give TensorFlow's step a dynamic batch
    dimension, under which oneDNN logs an `E0000 ... DT_INT32` error line at
    phase 2's start; every backend gets the same batches, so their step
    counts agree (an epoch then skips at most `batch_size - 1` images, a
    different few each epoch). `make_dataset`'s on TensorFlow, as the VEC's
    labeled-share batches, `ImageBatches`' elsewhere, seeded by the model's
    seed, shuffled each epoch when `shuffle`. Anything else (signals,
    datasets) passes through. Returns
    `(images, fit keywords)`.
    """
    batch_size = batch_size or 32
    images = isinstance(x, np.ndarray) and len(model.image_shape) == 3
    if not images or len(x) < batch_size:
        return x, {"batch_size": batch_size}
    images = backend_batches()(
        x, batch_size=batch_size, shuffle=shuffle, seed=model.seed, drop_remainder=True
    )
    return images, {"shuffle": False}  # the batches shuffle, if asked


def batches_per_epoch(x, batch_size):
    """Batches in one epoch of numpy `x` or of a finite dataset."""
    if isinstance(x, np.ndarray):
        return -(-len(x) // (batch_size or 32))
    try:
        return len(x)  # a PyDataset or a tf.data.Dataset of known size
    except TypeError as error:
        raise ValueError(
            "The number of batches per epoch of `x` is unknown: pass numpy "
            "images or a dataset of known length."
        ) from error


def optimizer_steps(model):
    """Optimizer steps `model` has taken (`fit` steps)."""
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))
