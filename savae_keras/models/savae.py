"""SAVAE in one object: phase 1 (the VEC), then phase 2 (the decoder)."""

import collections
import os

import keras

from savae_keras.files import CrashSafeBackup
from savae_keras.files import save_atomically
from savae_keras.models.adversarial_decoder import AdversarialDecoder
from savae_keras.models.trainer import serialize_optimizer
from savae_keras.models.variational_encoder_classifier import (
    VariationalEncoderClassifier,
)
from savae_keras.networks import FEATURE_LAYERS

SAVAEHistory = collections.namedtuple("SAVAEHistory", ["vec", "decoder"])
SAVAEHistory.__doc__ = "The `History` of each phase of `SAVAE.fit`."

_PHASE_OPTIMIZERS = {
    "vec_optimizer": ("vec", "optimizer"),
    "decoder_optimizer": ("adversarial_decoder", "decoder_optimizer"),
    "critic_optimizer": ("adversarial_decoder", "critic_optimizer"),
}


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
class SAVAE(keras.Model):
    """The semi-supervised adversarial VAE of Zemouri (2020), both phases.

    Holds a `VariationalEncoderClassifier` (`self.vec`, phase 1) and an
    `AdversarialDecoder` built on it (`self.adversarial_decoder`, phase 2).
    `fit` trains phase 1 for `encoder_epochs`, fits the class-conditional
    latent prior on the labeled training data, then trains phase 2 for
    `decoder_epochs`. `predict(x)` returns reconstructions.

    Args:
        input_shape, num_classes, latent_dim: as for the VEC.
        beta, gamma, n_critic, critic_target, feature_weights, pixel_weight,
        prior_weight: as for the `AdversarialDecoder`.
        kl_weight: λ of the VEC's `λ·L_kl + L_cat`.
        kl_warmup_steps: the VEC's linear warm-up of λ (beyond the paper;
            0, the default, keeps λ constant).
        consistency_weight, confidence_threshold, consistency_rampup_steps:
            the VEC's semi-supervised term on unlabeled images (FixMatch,
            beyond the paper; `consistency_weight=0`, the default, is
            Algorithm 1).
        augmentation: the VEC's augmentation of every phase-1 batch
            (`"weak"`, `"strong"` or a Keras layer; beyond the paper; None,
            the default, is Algorithm 1). Phase 2 never augments.
        reconstruction_weight: ω of the VEC's pixel term (beyond the paper;
            0, the default, is the paper's recipe).
        warm_start: phase 2 starts its decoder from the VEC's (needs
            `reconstruction_weight > 0`; beyond the paper).
        encoder_options, classifier_options, decoder_options,
        critic_options: keyword arguments of the network builders.
        seed: seed of the sampling noise (and of the encoder's sampling).
    """

    def __init__(
        self,
        input_shape=(28, 28, 1),
        num_classes=10,
        latent_dim=2,
        beta=0.005,
        gamma=0.1,
        n_critic=5,
        critic_target=1.0,
        feature_weights=(1.0, 0.1, 0.01),
        pixel_weight=0.0,
        prior_weight=0.0,
        kl_weight=0.1,
        kl_warmup_steps=0,
        consistency_weight=0.0,
        confidence_threshold=0.95,
        consistency_rampup_steps=0,
        augmentation=None,
        reconstruction_weight=0.0,
        warm_start=False,
        encoder_options=None,
        classifier_options=None,
        decoder_options=None,
        critic_options=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(augmentation, dict):  # a layer, from `get_config`
            augmentation = keras.saving.deserialize_keras_object(augmentation)
        self.vec = VariationalEncoderClassifier(
            input_shape,
            num_classes,
            latent_dim,
            encoder_options=encoder_options,
            classifier_options=classifier_options,
            feature_layers=FEATURE_LAYERS,
            kl_weight=kl_weight,
            kl_warmup_steps=kl_warmup_steps,
            consistency_weight=consistency_weight,
            confidence_threshold=confidence_threshold,
            consistency_rampup_steps=consistency_rampup_steps,
            augmentation=augmentation,
            reconstruction_weight=reconstruction_weight,
            decoder_options=decoder_options,
            seed=seed,
            name="vec",
        )
        # Phase 2 is built on the frozen VEC; phase 1 trains it first.
        self.vec.trainable = False
        self.adversarial_decoder = AdversarialDecoder(
            self.vec,
            beta=beta,
            gamma=gamma,
            n_critic=n_critic,
            critic_target=critic_target,
            feature_weights=feature_weights,
            pixel_weight=pixel_weight,
            prior_weight=prior_weight,
            warm_start=warm_start,
            decoder_options=decoder_options,
            critic_options=critic_options,
            seed=None if seed is None else seed + 1,
            name="adversarial_decoder",
        )
        self.vec.trainable = True
        self._options = {
            "input_shape": self.vec.image_shape,
            "num_classes": num_classes,
            "latent_dim": latent_dim,
            "beta": beta,
            "gamma": gamma,
            "n_critic": n_critic,
            "critic_target": critic_target,
            "feature_weights": list(feature_weights),
            "pixel_weight": pixel_weight,
            "prior_weight": prior_weight,
            "kl_weight": kl_weight,
            "kl_warmup_steps": kl_warmup_steps,
            "consistency_weight": consistency_weight,
            "confidence_threshold": confidence_threshold,
            "consistency_rampup_steps": consistency_rampup_steps,
            "augmentation": augmentation
            if augmentation is None or isinstance(augmentation, str)
            else keras.saving.serialize_keras_object(augmentation),
            "reconstruction_weight": reconstruction_weight,
            "warm_start": warm_start,
            "encoder_options": encoder_options,
            "classifier_options": classifier_options,
            "decoder_options": decoder_options,
            "critic_options": critic_options,
            "seed": seed,
        }
        self.built = True

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

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        encoder_epochs=1,
        decoder_epochs=1,
        validation_data=None,
        callbacks=None,
        encoder_callbacks=None,
        decoder_callbacks=None,
        verbose="auto",
        fit_class_prior=True,
        backup_dir=None,
        labeled_share=None,
        **kwargs,
    ):
        """Train phase 1, fit the class prior, then train phase 2.

        Args:
            x, y: images and labels (-1 = unlabeled), or a dataset of
                `(images, labels)`. Phase 2 uses the same images and ignores
                the labels.
            encoder_epochs: epochs of phase 1 (0 skips it: the VEC must then
                be trained already).
            decoder_epochs: epochs of phase 2.
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
            labeled_share: phase 1 puts exactly `round(labeled_share ·
                batch_size)` labeled images in every batch (see
                `VariationalEncoderClassifier.fit`); phase 2 batches all
                images as usual.
            **kwargs: further arguments of `keras.Model.fit` for both phases.

        Returns:
            `SAVAEHistory(vec=History, decoder=History)`.
        """
        if not self.compiled:
            raise ValueError(
                "You must call `compile()` before `fit()`: SAVAE.compile sets "
                "the optimizers of both phases."
            )
        callbacks = list(callbacks or [])
        encoder_callbacks = callbacks + list(encoder_callbacks or [])
        decoder_callbacks = callbacks + list(decoder_callbacks or [])
        backup = _PhaseBackup(backup_dir) if backup_dir else None
        if backup:  # first, so an epoch is backed up before other callbacks run
            encoder_callbacks.insert(0, backup.callback("vec"))
            decoder_callbacks.insert(0, backup.callback("decoder"))
        common = {"batch_size": batch_size, "verbose": verbose, **kwargs}
        vec_history = None
        if backup and backup.restore_phase_1(self.vec):
            encoder_epochs = 0  # finished before the interruption
        if encoder_epochs:
            self.vec.trainable = True
            vec_history = self.vec.fit(
                x,
                y,
                epochs=encoder_epochs,
                validation_data=validation_data,
                callbacks=encoder_callbacks,
                labeled_share=labeled_share,
                **common,
            )
            if backup:
                backup.save_phase_1(self.vec)
        self.vec.trainable = False
        if fit_class_prior:
            self.vec.fit_class_prior(x, labels=y, batch_size=batch_size or 256)
        decoder_history = self.adversarial_decoder.fit(
            x,
            epochs=decoder_epochs,
            validation_data=validation_data,
            callbacks=decoder_callbacks,
            **common,
        )
        if backup:
            backup.finish()
        return SAVAEHistory(vec=vec_history, decoder=decoder_history)

    def call(self, inputs, training=False):
        """Reconstructions `Dec(μ(x))`."""
        return self.adversarial_decoder(inputs, training=training)

    def predict(self, x, *args, **kwargs):
        """Reconstructions `Dec(μ(x))` of checked images `x`."""
        return self.adversarial_decoder.predict(x, *args, **kwargs)

    # -- the two phases' methods -----------------------------------------
    capabilities = AdversarialDecoder.capabilities

    @property
    def image_shape(self):
        return self.vec.image_shape

    @property
    def encoder(self):
        return self.vec.encoder

    @property
    def classifier(self):
        return self.vec.classifier

    @property
    def decoder(self):
        return self.adversarial_decoder.decoder

    @property
    def latent_dim(self):
        return self.vec.latent_dim

    @property
    def num_classes(self):
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
