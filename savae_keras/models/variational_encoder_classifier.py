"""Phase 1 of SAVAE: the Variational Encoder Classifier (Algorithm 1).

    repeat
        X <- mini-batch;  Y <- its labels (-1 = unlabeled)
        Z = μ(X) + σ(X)·ε,  ε ~ N(0, I)           the encoder's sampling layer
        Ŷ = Class(Z)
        L_kl  = D_kl(q(Z|X) ‖ N(0, I))            equation (4), all samples
        L_cat = −E[Y · log Ŷ]                     equation (7), labeled samples
        W_VEC <- one optimizer step on λ·L_kl + L_cat   (equation 6: λ = 1)

`kl_weight` (λ) defaults to 0.1, not the printed 1: with λ = 1 the collapsed
encoder is optimal (E[KL] ≥ I(Y; Z)); docs/results/options.md has the argument and
the measurements.

Beyond the paper, `reconstruction_weight` (ω > 0) adds a pixel term of an
auxiliary decoder `Dec₀`, trained with the encoder (a semi-supervised VAE):

        L_pix = −E[log p(X | Dec₀(Z))]            the VAE's equation (3)
        W_VEC <- one optimizer step on λ·L_kl + L_cat + ω·L_pix

Without it `Z` is rewarded for its class only and a phase-2 decoder can
draw little more than class averages (docs/results/options.md measures this);
phase 2 may start its decoder from `Dec₀` (`AdversarialDecoder(warm_start=True)`).
ω = 0, the default, is the paper's recipe and builds no decoder.

Also beyond the paper, `consistency_weight` (μ > 0) lets the unlabeled
images teach the classifier (FixMatch, Sohn et al. 2020): each unlabeled
image is augmented twice, weakly (`weak`) and strongly (`strong`), and

        p_w = Class(μ(weak(X)))                   no gradient
        L_u = E_U[[max p_w ≥ τ] · −log Class(Z(strong(X)))_{argmax p_w}]
        W_VEC <- one optimizer step on λ·L_kl + L_cat + μ_t·L_u

with μ_t ramped up over `consistency_rampup_steps`. Labeled images enter
`L_cat` as before, not augmented by this term. μ = 0, the default, is
Algorithm 1 and builds no augmentation.

Also beyond the paper, `vat_weight` (η > 0) adds virtual adversarial
training (VAT, Miyato et al. 2018) on every image, labeled or not, and
`entropy_weight` (κ > 0) entropy minimisation:

        p     = Class(μ(X))                       no gradient as a target
        r_adv = ε·g/‖g‖,  g = ∇_r D_kl(p ‖ Class(μ(X + r))) at r = ξ·d/‖d‖,
                d ~ N(0, I)                      one power iteration
        L_vat = E[D_kl(p ‖ Class(μ(X + r_adv)))]
        L_ent = E[−Σ_k p_k log p_k]               with gradient
        W_VEC <- one optimizer step on λ·L_kl + L_cat + η·L_vat + κ·L_ent

The perturbed passes leave BatchNorm's statistics to the step's own pass.
η = κ = 0, the defaults, is Algorithm 1.

Also beyond the paper, `teacher_weight` (ν > 0) adds a mean teacher
(Tarvainen & Valpola 2017): a copy `θ'` of the encoder's and classifier's
weights that follows the student's as an exponential moving average, and
whose predictions are the student's targets on every image:

        p'    = Class_θ'(μ_θ'(X'))                no gradient; inference mode
        L_t   = E[Σ_k (Class(Z)_k − p'_k)²]        Z the step's own sample
        W_VEC <- one optimizer step on λ·L_kl + L_cat + ν_t·L_t
        θ'    <- α_t·θ' + (1 − α_t)·θ,   α_t = min(1 − 1/(t + 1), α)

`X'` is a second draw of `augmentation` when there is one (else `X`), and
ν_t is ramped up over `teacher_rampup_steps`. `fit` ends with `θ <- θ'`
(`adopt_teacher`): the VEC it leaves is the teacher. ν = 0, the default, is
Algorithm 1 and keeps no teacher.

Also beyond the paper, `augmentation` ("weak", "strong" or a Keras layer)
augments every training batch before the step, for all of its terms (the
consistency term then augments the augmented batch): with 100 labels each
labeled image is otherwise seen unchanged over a thousand times, and the
classifier learns those images rather than their classes (docs/results/few-labels.md,
"With every batch augmented"). None, the default, is Algorithm 1.
"""

import keras
import numpy as np
from keras import ops

from savae_keras.data.checks import check_choice
from savae_keras.data.checks import check_number
from savae_keras.data.pipelines import backend_batches
from savae_keras.layers import ClassConditionalPrior
from savae_keras.layers import build_augmentation
from savae_keras.layers import reparameterize
from savae_keras.layers.augmentation import STRENGTHS
from savae_keras.losses import savae as losses
from savae_keras.models.generative import ClassPriorMixin
from savae_keras.models.generative import PosteriorMixin
from savae_keras.models.trainer import Trainer
from savae_keras.models.trainer import input_gradient
from savae_keras.models.trainer import updates_discarded
from savae_keras.networks import FEATURE_LAYERS
from savae_keras.networks import build_classifier
from savae_keras.networks import build_decoder
from savae_keras.networks import build_encoder
from savae_keras.networks import check_image_shape
from savae_keras.networks import check_options


def _copy_into(target, source):
    """`target <- source` through a copy: on JAX the same buffer in two
    variables breaks `fit`'s donation of the state."""
    target.assign(ops.convert_to_numpy(source))


@keras.saving.register_keras_serializable(package="savae_keras")
class VariationalEncoderClassifier(PosteriorMixin, ClassPriorMixin, Trainer):
    """The encoder `Enc(x)` and the latent classifier `Class(z)`, trained together.

    `fit` minimises `L_VEC = λ·L_kl + L_cat` (equation 6) with one
    optimizer step per batch. A label of -1 marks an unlabeled sample: it adds to
    `L_kl` only, and `classification_loss` and `accuracy` are averaged over
    labeled samples. `fit` logs `loss`, `kl_loss`, `classification_loss`
    and `accuracy`.

    Training samples `z` with the reparameterization trick; inference
    (`call`, `predict`, `evaluate`, `classify`) uses the posterior mean
    `z = μ(x)`, as Keras turns noise layers off outside training.

    The model also holds the class-conditional prior of its latent space
    (`class_prior`, fitted by `fit_class_prior` after training), from which
    phase 2 generates images of a given class.

    Example:

    ```python
    import savae_keras as sk

    x, y = sk.load_dataset("mnist", "train")
    vec = sk.VariationalEncoderClassifier(latent_dim=2)
    vec.compile()
    vec.fit(x, y, batch_size=64, epochs=1)
    probabilities = vec.classify(x[:10])
    ```

    Args:
        input_shape: image shape `(H, W, C)`, H and W multiples of 4.
        num_classes: number of classes.
        latent_dim: size of the latent space `K_z`.
        encoder: optional functional encoder `x -> [z_mean, z_log_var, z]`;
            built by `build_encoder(input_shape, latent_dim, **encoder_options)`
            when omitted.
        classifier: optional functional classifier `z -> probabilities`.
        encoder_options: keyword arguments of `build_encoder` (widths).
        classifier_options: keyword arguments of `build_classifier`.
        feature_layers: names of the encoder's layers whose outputs are the
            features `F_i` of phase 2's feature-consistency loss.
        kl_weight: λ in `L_VEC = λ·L_kl + L_cat` (the module docstring says
            why the default is 0.1; 1 is equation (6) as printed).
        kl_warmup_steps: N > 0 ramps the KL weight up linearly, `λ_t =
            λ·min(1, t / N)` at training step `t` (`trained_steps`), so the
            first steps can shrink the posterior's noise before the KL term
            pulls it back (beyond the paper; docs/results/speed.md measures it).
            0, the default, is the paper's constant λ.
        consistency_weight: μ of the semi-supervised term `μ·L_u` on the
            unlabeled images (beyond the paper, see the module docstring);
            0, the default, is Algorithm 1. `fit` then also logs
            `consistency_loss` and `confident_share` (the share of
            unlabeled images whose pseudo-label passed the threshold).
            `evaluate` computes the term too, on fresh augmentations, so
            its `loss` is the objective `fit` minimises.
        confidence_threshold: τ, the class probability a weak
            augmentation's prediction needs to become a pseudo-label.
        consistency_rampup_steps: N > 0 ramps μ up linearly, `μ_t =
            μ·min(1, t / N)`, so pseudo-labels count once the classifier
            has learned from the labels.
        weak_augmentation: an optional Keras layer (images to images,
            applied with `training=True`) for that term's weak view;
            `build_augmentation("weak", input_shape)` when omitted and
            `consistency_weight > 0`.
        strong_augmentation: the same for the strong view
            (`build_augmentation("strong", input_shape)` when omitted).
        augmentation: augments every training batch before the step (all
            terms see the augmented images; beyond the paper, see the
            module docstring): `"weak"` or `"strong"`
            (`build_augmentation`, images only) or a Keras layer mapping
            inputs to inputs of the same shape, called with
            `training=True`. `evaluate` and inference never augment. None,
            the default, is Algorithm 1.
        reconstruction_weight: ω of the pixel term `ω·L_pix` of an auxiliary
            decoder (beyond the paper, see the module docstring); 0 (the
            paper) trains no decoder. `fit` then also logs
            `reconstruction_loss`.
        decoder: optional functional decoder `z -> x_hat` for that term;
            built by `build_decoder` (with `decoder_options`) when omitted
            and `reconstruction_weight > 0`.
        reconstruction_loss: `"bce"` (Bernoulli) or `"mse"` pixel likelihood.
        vat_weight: η of virtual adversarial training's `η·L_vat` on every
            image (beyond the paper, see the module docstring); 0, the
            default, is Algorithm 1. `fit` then also logs `vat_loss`.
        vat_epsilon: ε, the L2 norm of the adversarial perturbation of one
            input (pixels in [0, 1]: a 28×28 image has norm about 9).
        vat_xi: ξ, the norm of the probe of the power iteration (the VAT
            paper's 1e-6 is blurred by float32 round-off; the docs' few-labels
            results measure it).
        entropy_weight: κ of entropy minimisation's `κ·L_ent` on every
            image's class probabilities (beyond the paper); 0, the default,
            is Algorithm 1. `fit` then also logs `entropy_loss`.
        teacher_weight: ν of the mean teacher's `ν·L_t` on every image
            (beyond the paper, see the module docstring); 0, the default,
            is Algorithm 1. `fit` then also logs `teacher_loss`.
        teacher_decay: α, the teacher's averaging rate (it averages over
            about `1/(1 − α)` steps), in [0, 1).
        teacher_rampup_steps: N > 0 ramps ν up linearly over the first N
            steps, as `consistency_rampup_steps` does μ.
        seed: seed of the sampling noise.
    """

    loss_names = ("loss", "kl_loss", "classification_loss")
    network_names = (
        "encoder",
        "classifier",
        "decoder",
        "weak_augmentation",
        "strong_augmentation",
        "augmentation",
    )
    capabilities = frozenset({"encode", "posterior", "classify"})
    requires_labels = True

    def __init__(
        self,
        input_shape=(28, 28, 1),
        num_classes=10,
        latent_dim=2,
        encoder=None,
        classifier=None,
        encoder_options=None,
        classifier_options=None,
        feature_layers=FEATURE_LAYERS,
        kl_weight=0.1,
        kl_warmup_steps=0,
        consistency_weight=0.0,
        confidence_threshold=0.95,
        consistency_rampup_steps=0,
        weak_augmentation=None,
        strong_augmentation=None,
        augmentation=None,
        reconstruction_weight=0.0,
        decoder=None,
        decoder_options=None,
        reconstruction_loss="bce",
        vat_weight=0.0,
        vat_epsilon=2.0,
        vat_xi=1e-2,
        entropy_weight=0.0,
        teacher_weight=0.0,
        teacher_decay=0.99,
        teacher_rampup_steps=0,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        self.vat_weight = check_number(vat_weight, "vat_weight", minimum=0.0)
        self.vat_epsilon = check_number(
            vat_epsilon, "vat_epsilon", minimum=0.0, exclusive_minimum=True
        )
        self.vat_xi = check_number(
            vat_xi, "vat_xi", minimum=0.0, exclusive_minimum=True
        )
        self.entropy_weight = check_number(
            entropy_weight, "entropy_weight", minimum=0.0
        )
        self.teacher_weight = check_number(
            teacher_weight, "teacher_weight", minimum=0.0
        )
        self.teacher_decay = check_number(
            teacher_decay, "teacher_decay", minimum=0.0, maximum=1.0
        )
        if self.teacher_decay == 1.0:
            raise ValueError(
                "`teacher_decay` must be in [0, 1): at 1 the teacher never "
                "follows the student; received 1.0."
            )
        self.teacher_rampup_steps = check_number(
            teacher_rampup_steps, "teacher_rampup_steps", 0, integer=True
        )
        self.kl_weight = check_number(kl_weight, "kl_weight", minimum=0.0)
        self.kl_warmup_steps = check_number(
            kl_warmup_steps, "kl_warmup_steps", minimum=0, integer=True
        )
        self.reconstruction_weight = check_number(
            reconstruction_weight, "reconstruction_weight", minimum=0.0
        )
        self.consistency_weight = check_number(
            consistency_weight, "consistency_weight", minimum=0.0
        )
        self.confidence_threshold = check_number(
            confidence_threshold, "confidence_threshold", minimum=0.0, maximum=1.0
        )
        self.consistency_rampup_steps = check_number(
            consistency_rampup_steps, "consistency_rampup_steps", 0, integer=True
        )
        check_choice(
            reconstruction_loss, "reconstruction_loss", losses.RECONSTRUCTION_LOSSES
        )
        self.reconstruction_loss = reconstruction_loss
        self.decoder_options = check_options(
            decoder_options, build_decoder, "decoder_options"
        )
        self.image_shape = check_image_shape(input_shape)
        self.num_classes = check_number(num_classes, "num_classes", 2, integer=True)
        self.latent_dim = check_number(latent_dim, "latent_dim", 1, integer=True)
        self.encoder_options = check_options(
            encoder_options, build_encoder, "encoder_options"
        )
        self.classifier_options = check_options(
            classifier_options, build_classifier, "classifier_options"
        )
        self.feature_layer_names = tuple(feature_layers)
        if encoder is None:
            encoder = build_encoder(
                self.image_shape, self.latent_dim, seed=seed, **self.encoder_options
            )
        if classifier is None:
            classifier = build_classifier(
                self.latent_dim, self.num_classes, **self.classifier_options
            )
        if decoder is not None and self.reconstruction_weight == 0:
            raise ValueError(
                "`decoder` is given but `reconstruction_weight` is 0: the VEC "
                "trains a decoder only for its pixel term; set "
                "`reconstruction_weight > 0` or leave `decoder` out."
            )
        if decoder is None and self.reconstruction_weight > 0:
            decoder = build_decoder(
                self.image_shape, self.latent_dim, **self.decoder_options
            )
        augmentations = self._augmentations(
            weak_augmentation, strong_augmentation, seed
        )
        if isinstance(augmentation, str):
            check_choice(augmentation, "augmentation", STRENGTHS)
            if len(self.image_shape) != 3:
                raise ValueError(
                    f"`augmentation={augmentation!r}` transforms images (H, W, C); "
                    f"`input_shape` is {self.image_shape}. Pass a Keras layer "
                    "for other inputs, or None."
                )
            augmentation = build_augmentation(
                augmentation, self.image_shape, None if seed is None else seed + 20
            )
        self._check_networks(
            encoder, classifier, decoder, (*augmentations, augmentation)
        )
        self.encoder = encoder
        self.classifier = classifier
        self.decoder = decoder
        self.weak_augmentation, self.strong_augmentation = augmentations
        self.augmentation = augmentation
        if self.consistency_weight > 0:
            for name in ("consistency_loss", "confident_share"):
                self.trackers[name] = keras.metrics.Mean(name=name)
        for name, weight in (
            ("vat_loss", self.vat_weight),
            ("entropy_loss", self.entropy_weight),
            ("teacher_loss", self.teacher_weight),
        ):
            if weight > 0:
                self.trackers[name] = keras.metrics.Mean(name=name)
        if decoder is not None:
            self.trackers["reconstruction_loss"] = keras.metrics.Mean(
                name="reconstruction_loss"
            )
        # One forward pass gives the posterior and the phase-2 features,
        # read by name.
        z_mean, z_log_var = encoder.outputs[:2]
        self.feature_extractor = keras.Model(
            encoder.input,
            {
                "z_mean": z_mean,
                "z_log_var": z_log_var,
                **{layer.name: layer.output for layer in self.feature_layers},
            },
            name="feature_extractor",
        )
        self.class_prior = ClassConditionalPrior(self.num_classes, self.latent_dim)
        self.trained_steps = self.add_weight(
            shape=(),
            dtype="int32",
            initializer="zeros",
            trainable=False,
            name="trained_steps",
        )
        # The mean teacher's weights, starting as the student's.
        self.teacher_variables = []
        if self.teacher_weight > 0:
            for variable in self._teacher_sources():
                teacher = self.add_weight(
                    shape=variable.shape,
                    dtype=variable.dtype,
                    initializer="zeros",
                    trainable=False,
                    name=f"teacher_{variable.name}",
                )
                _copy_into(teacher, variable)
                self.teacher_variables.append(teacher)
        self.accuracy_metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.built = True

    def _augmentations(self, weak, strong, seed):
        """The two augmentations of the consistency term (None without it)."""
        if self.consistency_weight == 0:
            if weak is not None or strong is not None:
                raise ValueError(
                    "`weak_augmentation`/`strong_augmentation` are given but "
                    "`consistency_weight` is 0: they serve only the consistency "
                    "term; set `consistency_weight > 0` or leave them out."
                )
            return None, None
        if weak is None:
            weak = build_augmentation("weak", self.image_shape, seed)
        if strong is None:
            strong = build_augmentation(
                "strong", self.image_shape, None if seed is None else seed + 10
            )
        return weak, strong

    def _check_networks(self, encoder, classifier, decoder, augmentations):
        expected = [(None, *self.image_shape)]
        if [tuple(s) for s in [encoder.input_shape]] != expected:
            raise ValueError(
                f"`encoder` takes inputs of shape {encoder.input_shape}; "
                f"`input_shape` is {self.image_shape}."
            )
        if len(encoder.outputs) != 3 or any(
            tuple(o.shape) != (None, self.latent_dim) for o in encoder.outputs
        ):
            raise ValueError(
                "`encoder` must output [z_mean, z_log_var, z], each of shape "
                f"(None, {self.latent_dim}); it outputs "
                f"{[tuple(o.shape) for o in encoder.outputs]}."
            )
        if tuple(classifier.input_shape) != (None, self.latent_dim) or tuple(
            classifier.output_shape
        ) != (None, self.num_classes):
            raise ValueError(
                f"`classifier` must map (None, {self.latent_dim}) to (None, "
                f"{self.num_classes}); it maps {classifier.input_shape} to "
                f"{classifier.output_shape}."
            )
        if decoder is not None and (
            tuple(decoder.input_shape) != (None, self.latent_dim)
            or tuple(decoder.output_shape) != (None, *self.image_shape)
        ):
            raise ValueError(
                f"`decoder` must map (None, {self.latent_dim}) to "
                f"{(None, *self.image_shape)}; it maps {decoder.input_shape} to "
                f"{decoder.output_shape}."
            )
        names = ("weak_augmentation", "strong_augmentation", "augmentation")
        for name, augmentation in zip(names, augmentations):
            if augmentation is None:
                continue
            if not isinstance(augmentation, keras.layers.Layer):
                raise TypeError(
                    f"`{name}` must be a Keras layer mapping images "
                    f"to images; received {type(augmentation).__name__}."
                )
            shape = augmentation.compute_output_shape((None, *self.image_shape))
            if tuple(shape) != (None, *self.image_shape):
                raise ValueError(
                    f"`{name}` must keep the image shape "
                    f"{(None, *self.image_shape)}; it gives {tuple(shape)}."
                )
        names = [layer.name for layer in encoder.layers]
        unknown = [n for n in self.feature_layer_names if n not in names]
        if unknown or not self.feature_layer_names:
            raise ValueError(
                f"`feature_layers` {list(self.feature_layer_names)} must name "
                f"layers of the encoder; not found: {unknown}."
            )

    @property
    def feature_layers(self):
        """The encoder layers whose outputs are the features `F_i`."""
        return [self.encoder.get_layer(name) for name in self.feature_layer_names]

    def _saved_seed_generators(self):
        """The model's generator and its augmentations' (restored on load)."""
        generators = super()._saved_seed_generators()
        for augmentation in (
            self.weak_augmentation,
            self.strong_augmentation,
            self.augmentation,
        ):
            if augmentation is not None:
                for layer in augmentation._flatten_layers():
                    generators += layer._seed_generators
        return generators

    @property
    def metrics(self):
        return [*super().metrics, self.accuracy_metric]

    # -- the model --------------------------------------------------------
    def features(self, x, training=False):
        """`{"z_mean", "z_log_var", <feature layer name>: F_i}` of images `x`."""
        return self.feature_extractor(x, training=training)

    def latent(self, x, training=False, epsilon=None):
        """`(z_mean, z_log_var, z)`: `z` is sampled in training, else `μ(x)`.

        `epsilon` is the reparameterization noise, drawn when `None`.
        """
        outputs = self.features(x, training)
        z_mean, z_log_var = outputs["z_mean"], outputs["z_log_var"]
        if not training:
            return z_mean, z_log_var, z_mean
        if epsilon is None:
            epsilon = self.standard_normal(ops.shape(z_mean))
        return z_mean, z_log_var, reparameterize(z_mean, z_log_var, epsilon)

    def call(self, inputs, training=False):
        """Class probabilities `Class(z)`, `z` sampled in training else `μ(x)`."""
        return self.classifier(self.latent(inputs, training)[2], training=training)

    def compute_losses(self, x, labels, epsilon=None, training=True, teacher_x=None):
        """The terms of `L_VEC` on one batch.

        `epsilon` is the reparameterization noise (drawn when `None`);
        without `training` the posterior mean is used and no noise drawn.
        `teacher_x` is the mean teacher's view of the batch (`x` if None).

        Returns:
            A dict with `loss`, `kl_loss`, `classification_loss`, the class
            `probabilities` and, with a decoder, `reconstruction_loss`.
        """
        z_mean, z_log_var, z = self.latent(x, training, epsilon)
        probabilities = self.classifier(z, training=training)
        kl = losses.kl_divergence(z_mean, z_log_var)
        cat = losses.classification_loss(labels, probabilities)
        terms = {
            "loss": self.current_kl_weight() * kl + cat,
            "kl_loss": kl,
            "classification_loss": cat,
            "labels": labels,
            "probabilities": probabilities,
        }
        if self.decoder is not None:
            x_hat = self.decoder(z, training=training)
            pix = losses.pixel_reconstruction_loss(x, x_hat, self.reconstruction_loss)
            terms["loss"] = terms["loss"] + self.reconstruction_weight * pix
            terms["reconstruction_loss"] = pix
        if self.vat_weight > 0 or self.entropy_weight > 0:
            extra = self.virtual_adversarial_terms(x, training)
            weights = {"vat_loss": self.vat_weight, "entropy_loss": self.entropy_weight}
            for name, value in extra.items():
                terms["loss"] = terms["loss"] + weights[name] * value
            terms.update(extra)
        if self.teacher_weight > 0:
            teacher = self.teacher_probabilities(x if teacher_x is None else teacher_x)
            terms["teacher_loss"] = losses.teacher_loss(probabilities, teacher)
            terms["loss"] = (
                terms["loss"]
                + self._ramped(self.teacher_weight, self.teacher_rampup_steps)
                * terms["teacher_loss"]
            )
        if self.consistency_weight > 0:
            terms.update(self.consistency_terms(x, labels))
            terms["loss"] = (
                terms["loss"]
                + self.current_consistency_weight() * terms["consistency_loss"]
            )
        return terms

    def mean_probabilities(self, x, training=True):
        """`Class(μ(x))`, the classifier on the posterior mean (no noise)."""
        z_mean = self.features(x, training=training)["z_mean"]
        return self.classifier(z_mean, training=training)

    def _teacher_sources(self):
        """The student's weights the teacher averages, in the teacher's order."""
        return self.encoder.trainable_variables + self.classifier.trainable_variables

    def teacher_probabilities(self, x):
        """`Class_θ'(μ_θ'(x))`: the mean teacher's class probabilities, in
        inference mode, as constants (the student's BatchNorm statistics)."""
        count = len(self.encoder.trainable_variables)
        values = [v.value for v in self.teacher_variables]

        def run(network, trainable, inputs):
            state = [v.value for v in network.non_trainable_variables]
            outputs, _ = network.stateless_call(trainable, state, inputs)
            return outputs

        z_mean = run(self.encoder, values[:count], x)[0]
        return ops.stop_gradient(run(self.classifier, values[count:], z_mean))

    def adopt_teacher(self):
        """`θ <- θ'`: the VEC takes its mean teacher's weights.

        `fit` ends with it, as Keras' `use_ema` optimizers end `fit` with
        their averages: the teacher is the steadier, more accurate model,
        and `classify`, phase 2 and saved files then use it.
        """
        for teacher, student in zip(self.teacher_variables, self._teacher_sources()):
            _copy_into(student, teacher)

    def update_teacher(self):
        """`θ' <- α_t·θ' + (1 − α_t)·θ` after training step `t`."""
        alpha = losses.teacher_decay(self.trained_steps, self.teacher_decay)
        for teacher, student in zip(self.teacher_variables, self._teacher_sources()):
            teacher.assign(alpha * teacher + (1.0 - alpha) * student)

    def virtual_adversarial_terms(self, x, training=True):
        """`vat_loss` (L_vat) and `entropy_loss` (L_ent), each where its
        weight is positive.

        Every pass here runs in the step's mode (batch statistics in
        training) but keeps no state: BatchNorm's moving statistics are
        the step's own pass's.
        """
        with updates_discarded(self):
            probabilities = self.mean_probabilities(x, training)
        terms = {}
        if self.entropy_weight > 0:
            terms["entropy_loss"] = losses.entropy_loss(probabilities)
        if self.vat_weight == 0:
            return terms

        def perturbed(images):
            with updates_discarded(self):
                return self.mean_probabilities(images, training)

        target = ops.stop_gradient(probabilities)
        r_adv = losses.virtual_adversarial_perturbation(
            perturbed,
            x,
            target,
            self.standard_normal(ops.shape(x)),
            self.vat_xi,
            self.vat_epsilon,
            input_gradient,
        )
        terms["vat_loss"] = losses.categorical_kl(target, perturbed(x + r_adv))
        return terms

    def consistency_terms(self, x, labels):
        """`consistency_loss` (L_u) of a batch, and which images count.

        The pseudo-labels come from the posterior mean of the weak
        augmentation, the predictions from a sampled `z` of the strong one
        (as `L_cat` uses a sampled `z`). `confident` is 1 for unlabeled
        images whose pseudo-label passed τ, `unlabeled` 1 for unlabeled ones.
        """
        weak = self.weak_augmentation(x, training=True)
        strong = self.strong_augmentation(x, training=True)
        weak_probabilities = self.classifier(self.latent(weak)[0], training=False)
        z_strong = self.latent(strong, training=True)[2]
        strong_probabilities = self.classifier(z_strong, training=True)
        threshold = self.confidence_threshold
        return {
            "confident": losses.pseudo_label_mask(
                labels, weak_probabilities, threshold
            ),
            "unlabeled": 1.0 - losses.labeled_mask(labels),
            "consistency_loss": losses.consistency_loss(
                labels,
                weak_probabilities,
                strong_probabilities,
                threshold,
            ),
        }

    def _ramped(self, weight, steps):
        """`weight·min(1, t / steps)` at step `t = trained_steps`; `weight` if 0."""
        if steps == 0:
            return weight
        t = ops.cast(self.trained_steps, "float32")
        return weight * ops.minimum(1.0, t / steps)

    def current_kl_weight(self):
        """`λ_t = λ·min(1, t / N)` at step `t = trained_steps`; λ without warm-up."""
        return self._ramped(self.kl_weight, self.kl_warmup_steps)

    def current_consistency_weight(self):
        """`μ_t = μ·min(1, t / N)` at step `t`; μ without a ramp-up."""
        return self._ramped(self.consistency_weight, self.consistency_rampup_steps)

    # -- training ---------------------------------------------------------
    def _train_step(self, data):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        variables = self.trainable_variables
        if not variables:
            raise RuntimeError(
                "This VariationalEncoderClassifier is frozen (trainable=False), "
                "for example because an AdversarialDecoder trains on it. Set "
                "`vec.trainable = True` and compile again to train phase 1."
            )

        teacher_x = None
        if self.augmentation is not None:
            if self.teacher_weight > 0:  # the teacher's own draw
                teacher_x = self.augmentation(x, training=True)
            x = self.augmentation(x, training=True)

        def loss_fn():
            terms = self.compute_losses(x, labels, training=True, teacher_x=teacher_x)
            return terms["loss"], terms

        _, terms, grads = self.compute_gradients(loss_fn, variables, self.optimizer)
        self.apply_gradients(self.optimizer, grads, variables)
        if self.teacher_variables:
            self.update_teacher()
        self.trained_steps.assign_add(1)
        return terms

    def _test_step(self, data):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self.compute_losses(x, labels, training=False)

    def update_metrics(self, terms):
        """Cross-entropy and accuracy are averaged over labeled samples only."""
        labels, probabilities = terms["labels"], terms["probabilities"]
        mask = losses.labeled_mask(labels)
        per_sample = losses.categorical_crossentropy(labels, probabilities)
        self.trackers["loss"].update_state(terms["loss"])
        self.trackers["kl_loss"].update_state(terms["kl_loss"])
        for name in (
            "reconstruction_loss",
            "consistency_loss",
            "vat_loss",
            "entropy_loss",
            "teacher_loss",
        ):
            if name in self.trackers:
                self.trackers[name].update_state(terms[name])
        if "confident_share" in self.trackers:  # a share of the unlabeled images
            self.trackers["confident_share"].update_state(
                terms["confident"], sample_weight=terms["unlabeled"]
            )
        self.trackers["classification_loss"].update_state(
            per_sample, sample_weight=mask
        )
        self.accuracy_metric.update_state(
            ops.maximum(labels, 0), probabilities, sample_weight=mask
        )
        return self._logs()

    def fit(self, x=None, y=None, *args, labeled_share=None, **kwargs):
        """`keras.Model.fit`; `labeled_share` puts labels in every batch.

        With a mean teacher (`teacher_weight` > 0) `fit` ends with the
        teacher's weights in the VEC (`adopt_teacher`).

        Args:
            labeled_share: with numpy `x` and `y` (-1 = unlabeled), every
                batch holds exactly `round(labeled_share · batch_size)`
                labeled images, so no step is pure KL; an epoch is one pass
                over the unlabeled images, in whole batches (the last few
                unlabeled images, a different few each epoch, wait for the
                next). The batches are `make_dataset(labeled_share=...)`'s
                on TensorFlow (a `PyDataset` reaches its step with a dynamic
                batch dimension, under which oneDNN logs an `E0000 ...
                DT_INT32` error line) and `ImageBatches`' elsewhere, both
                seeded by the model's seed. A dataset brings its own
                batches: build it with `labeled_share` instead.
        """
        if labeled_share is not None:
            if not isinstance(x, np.ndarray) or y is None:
                raise ValueError(
                    "`labeled_share` batches numpy `x` and `y`; a dataset "
                    "brings its own batches: build it with `make_dataset(..., "
                    "labeled_share=...)` or `ImageBatches(..., labeled_share=...)`."
                )
            if args:
                raise TypeError("Pass `batch_size` and what follows by keyword.")
            x = backend_batches()(
                x,
                y,
                batch_size=kwargs.pop("batch_size", None) or 32,
                shuffle=kwargs.pop("shuffle", True),
                seed=self.seed,
                num_classes=self.num_classes,
                labeled_share=labeled_share,
                drop_remainder=True,
            )
            y, kwargs["shuffle"] = None, False  # the batches shuffle
        history = super().fit(x, y, *args, **kwargs)
        if self.teacher_variables:
            self.adopt_teacher()
        return history

    # -- inference --------------------------------------------------------
    def classify(self, x, batch_size=256):
        """Class probabilities `Class(μ(x))` of images `x` (numpy)."""
        return self.predict(x, batch_size=batch_size, verbose=0)

    def _default_labels(self, z_mean):
        """Without labels, the class prior uses the classifier's predictions."""
        probabilities = self.classifier.predict(z_mean, verbose=0, batch_size=1024)
        return probabilities.argmax(axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "input_shape": self.image_shape,
            "num_classes": self.num_classes,
            "latent_dim": self.latent_dim,
            "encoder_options": self.encoder_options,
            "classifier_options": self.classifier_options,
            "feature_layers": list(self.feature_layer_names),
            "kl_weight": self.kl_weight,
            "kl_warmup_steps": self.kl_warmup_steps,
            "consistency_weight": self.consistency_weight,
            "confidence_threshold": self.confidence_threshold,
            "consistency_rampup_steps": self.consistency_rampup_steps,
            "reconstruction_weight": self.reconstruction_weight,
            "decoder_options": self.decoder_options,
            "reconstruction_loss": self.reconstruction_loss,
            "vat_weight": self.vat_weight,
            "vat_epsilon": self.vat_epsilon,
            "vat_xi": self.vat_xi,
            "entropy_weight": self.entropy_weight,
            "teacher_weight": self.teacher_weight,
            "teacher_decay": self.teacher_decay,
            "teacher_rampup_steps": self.teacher_rampup_steps,
        }
