"""Phase 2 of SAVAE: the decoder, trained against a critic (Algorithm 2).

The encoder `Enc` and the classifier `Class` of a trained VEC are frozen. One
training step on a batch `X` (one `fit` step) runs:

    Z = μ(X) + σ(X)·ε                           Enc(X), the sampling layer
    X̂ = Dec(Z)                                  once; constants in the loop
    repeat n_critic times                       one round = 2 critic steps
        W_dis <- step on E[(+c − Dis(X))²]         real images, target +c
        W_dis <- step on E[(−c − Dis(X̂))²]         decoded images, target −c
    Ẑ = Enc(X̂)                                  Ẑ sampled as Z is
    L_rec    = Σ_i α_i E[‖F_i(X) − F_i(X̂)‖²]     equation (9), F_i = O_i(·)
               (+ α_0 E[‖X − X̂‖²] with `pixel_weight` α_0 > 0, beyond it)
    L_adv    = E[(Dis(X) − Dis(X̂))²]             equation (10), updated Dis
    L_latent = E[‖Class(Z) − Class(Ẑ)‖²]         equation (11)
    W_dec <- step on L_rec + β·L_adv + γ·L_latent   equation (8)

With `prior_weight` ρ > 0 (beyond the paper; VAE/GAN, Larsen et al., 2016)
the decoder also draws `X̃ = Dec(Z_p)` from codes `Z_p ~ N(0, I)` in the
same pass: the critic's decoded-image step sees `[X̂, X̃]`, and equation (8)
gains `β·ρ·E[(Dis(X) − Dis(X̃))²]`, so images drawn from the prior are
judged too, not only reconstructions.

With `diversity_weight` δ > 0 (beyond the paper; the mode-seeking term of
Mao et al., 2019) equation (8) gains `δ·L_div`, `L_div =
E_i[1 / (d(X̂_i, X̂_j) / d(Z_i, Z_j))]` over neighbouring pairs of the batch
(`losses.diversity_loss`): two codes that decode to nearly one image cost
most. It needs no second decoder pass.

So per step the critic optimizer steps `2 · n_critic` times and the decoder
optimizer once. Algorithm 2 draws a fresh mini-batch for each critic update;
in a Keras `fit` step all of them reuse the step's batch, as keras-io's
WGAN-GP does. The critic's updates do not change `Dec`, so the images the
critic sees and those the decoder's loss needs are the same `X̂`: the
decoder runs forward once per step (`compute_staged_gradients` keeps its
graph across the critic loop), and its BatchNorm statistics move once.
"""

import keras
from keras import ops

from savae_keras.data.checks import check_bool
from savae_keras.data.checks import check_choice
from savae_keras.data.checks import check_number
from savae_keras.layers import reparameterize
from savae_keras.losses import savae as losses
from savae_keras.models.anomaly import AnomalyMixin
from savae_keras.models.generative import ClassPriorMixin
from savae_keras.models.generative import DecoderMixin
from savae_keras.models.generative import PosteriorMixin
from savae_keras.models.trainer import Trainer
from savae_keras.models.variational_encoder_classifier import (
    VariationalEncoderClassifier,
)
from savae_keras.networks import build_critic
from savae_keras.networks import build_decoder
from savae_keras.networks import check_options

# `diversity_pairs`: the mode-seeking term's pairs, batch neighbours or
# neighbours within one class.
DIVERSITY_PAIRS = ("batch", "class")


def _check_frozen(vec):
    """Phase 2 builds and trains on a frozen VEC only."""
    if vec.trainable:
        raise ValueError(
            "`vec` is trainable: phase 2 trains on a frozen VEC. Freeze it "
            "first with `vec.trainable = False` (set it back to True to "
            "train phase 1 again; `SAVAE.fit` does both)."
        )


@keras.saving.register_keras_serializable(package="savae_keras")
class AdversarialDecoder(
    AnomalyMixin, PosteriorMixin, ClassPriorMixin, DecoderMixin, Trainer
):
    """The decoder of SAVAE and its least-squares critic (Algorithm 2).

    Built on a trained, frozen `VariationalEncoderClassifier`: freeze it
    first with `vec.trainable = False` (an explicit step, so the VEC you
    hold is never changed behind your back); its encoder and classifier
    stay bit-identical while this model trains. Phase 2 needs no labels:
    `fit(x)` trains on images alone (labels in the data are ignored).
    `generate(n, labels=...)` draws from the VEC's class prior.

    `compile(decoder_optimizer=..., critic_optimizer=...)` sets the two
    optimizers, reachable afterwards as the attributes of the same names.
    One `fit` step makes `2 * n_critic` critic-optimizer steps (one round =
    a step on real images, then one on decoded images) and one
    decoder-optimizer step; `model.optimizer.iterations` counts `fit` steps.

    `fit` logs `loss` (equation 8), `reconstruction_loss`,
    `adversarial_loss`, `latent_loss` and `critic_loss` (the mean over the
    step's rounds of the real plus the decoded least-squares term, measured
    before each update). `evaluate` and `predict` are deterministic: they
    use `z = μ(x)` and update nothing.

    Example:

    ```python
    import savae_keras as sk

    x, y = sk.load_dataset("mnist", "train")
    vec = sk.VariationalEncoderClassifier(latent_dim=2)
    vec.compile()
    vec.fit(x, y, batch_size=64, epochs=1)
    vec.trainable = False
    vec.fit_class_prior(x, y)
    decoder = sk.AdversarialDecoder(vec, beta=0.005, gamma=0.1)
    decoder.compile()
    decoder.fit(x, batch_size=64, epochs=1)
    sevens = decoder.generate(5, labels=7)
    ```

    Args:
        vec: the trained, frozen `VariationalEncoderClassifier` of phase 1.
        decoder: optional functional decoder `z -> x_hat`; built by
            `build_decoder` (with `decoder_options`) when omitted.
        critic: optional functional critic `x -> score (N, 1)`; built by
            `build_critic` (with `critic_options`) when omitted.
        beta: weight β of the adversarial loss.
        gamma: weight γ of the latent loss.
        n_critic: critic rounds per decoder step (`n_dis` of Algorithm 2).
        critic_target: `c` in the critic targets ±c (1 in the paper, 10 in
            Hou et al.).
        feature_weights: the weights `α_i` of the feature terms, one per
            feature layer of the VEC.
        pixel_weight: `α_0`, the weight of the image itself as a feature
            layer `F_0(X) = X` in equation (9): a per-pixel squared error
            (beyond the paper, whose terms start at the first hidden layer;
            0, the default, is equation 9). At latent 100 the code holds
            enough of the input for the decoder to redraw it pixel by pixel
            (docs/results/options.md, "A pixel term in phase 2").
        prior_weight: `ρ`, the weight of the adversarial term on images
            decoded from prior codes `Z_p ~ N(0, I)` (beyond the paper; 0,
            the default, is Algorithm 2). Each step then decodes twice the
            batch; `fit` logs the term inside `loss`, and `evaluate`, which
            draws nothing at random, reports equation (8) without it.
        diversity_weight: `δ`, the weight of the mode-seeking term
            `L_div` (beyond the paper; 0, the default, is Algorithm 2): it
            pushes apart the images of codes that decode to nearly one
            image. `fit` and `evaluate` log it as `diversity_loss`.
        diversity_pairs: which codes the mode-seeking term pairs:
            `"batch"` (the default), each code with its neighbour in the
            batch, mostly of another class; `"class"`, each code with one
            the classifier puts in the same class (MSGAN's pairs, two codes
            of one condition), so the term acts within a class.
        warm_start: the first `fit` starts the decoder from the weights of
            the VEC's auxiliary decoder `Dec₀` (a VEC trained with
            `reconstruction_weight > 0`; beyond the paper, whose decoder
            starts from scratch). The decoder must have `Dec₀`'s
            architecture; when omitted it is built as a copy of it.
        seed: seed of the sampling noise.
    """

    optimizer_names = ("decoder_optimizer", "critic_optimizer")
    loss_names = (
        "loss",
        "reconstruction_loss",
        "adversarial_loss",
        "latent_loss",
        "critic_loss",
    )
    network_names = ("vec", "decoder", "critic")
    capabilities = frozenset(
        {"encode", "posterior", "decode", "reconstruct", "generate", "classify"}
    )

    def __init__(
        self,
        vec,
        decoder=None,
        critic=None,
        beta=0.005,
        gamma=0.1,
        n_critic=5,
        critic_target=1.0,
        feature_weights=(1.0, 0.1, 0.01),
        pixel_weight=0.0,
        prior_weight=0.0,
        diversity_weight=0.0,
        diversity_pairs="batch",
        warm_start=False,
        decoder_options=None,
        critic_options=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        if not isinstance(vec, VariationalEncoderClassifier):
            raise TypeError(
                "`vec` must be a trained VariationalEncoderClassifier; "
                f"received {type(vec).__name__}."
            )
        _check_frozen(vec)
        self.beta = check_number(beta, "beta", minimum=0.0)
        self.gamma = check_number(gamma, "gamma", minimum=0.0)
        self.n_critic = check_number(n_critic, "n_critic", minimum=1, integer=True)
        self.critic_target = check_number(
            critic_target, "critic_target", minimum=0.0, exclusive_minimum=True
        )
        self.feature_weights = tuple(
            check_number(a, "feature_weights", minimum=0.0) for a in feature_weights
        )
        if len(self.feature_weights) != len(vec.feature_layer_names):
            raise ValueError(
                f"`feature_weights` has {len(self.feature_weights)} weights for "
                f"the VEC's {len(vec.feature_layer_names)} feature layers "
                f"{list(vec.feature_layer_names)}."
            )
        self.pixel_weight = check_number(pixel_weight, "pixel_weight", minimum=0.0)
        self.prior_weight = check_number(prior_weight, "prior_weight", minimum=0.0)
        self.diversity_weight = check_number(
            diversity_weight, "diversity_weight", minimum=0.0
        )
        self.diversity_pairs = check_choice(
            diversity_pairs, "diversity_pairs", DIVERSITY_PAIRS
        )
        if self.diversity_weight:
            self.trackers["diversity_loss"] = keras.metrics.Mean(name="diversity_loss")
        self.decoder_options = check_options(
            decoder_options, build_decoder, "decoder_options"
        )
        self.critic_options = check_options(
            critic_options, build_critic, "critic_options"
        )
        self.warm_start = check_bool(warm_start, "warm_start")
        if self.warm_start and vec.decoder is None:
            raise ValueError(
                "`warm_start=True` copies the VEC's decoder, but this VEC has "
                "none: train it with `reconstruction_weight > 0`."
            )

        self.vec = vec
        self.image_shape = vec.image_shape
        self.latent_dim = vec.latent_dim
        self.num_classes = vec.num_classes
        if decoder is None and self.warm_start:
            # Dec₀'s architecture with new weights; its layers' configs say
            # trainable=False (the VEC is frozen), the copy must train. Each
            # layer is unfrozen: on TensorFlow the clone itself already says
            # trainable=True, so setting only its flag reached no layer and
            # the copy had no trainable weights.
            decoder = keras.models.clone_model(vec.decoder)
            for layer in decoder.layers:
                layer.trainable = True
        elif decoder is None:
            decoder = build_decoder(
                self.image_shape, self.latent_dim, **self.decoder_options
            )
        if critic is None:
            critic = build_critic(self.image_shape, **self.critic_options)
        self._check_networks(decoder, critic)
        if self.warm_start and [w.shape for w in decoder.weights] != [
            w.shape for w in vec.decoder.weights
        ]:
            raise ValueError(
                "`warm_start=True` copies the VEC's decoder into `decoder`, "
                "but their architectures differ; leave `decoder` out to build "
                "a copy of the VEC's."
            )
        self.decoder = decoder
        self.critic = critic
        self.built = True

    def _check_networks(self, decoder, critic):
        image = (None, *self.image_shape)
        if (
            tuple(decoder.input_shape) != (None, self.latent_dim)
            or tuple(decoder.output_shape) != image
        ):
            raise ValueError(
                f"`decoder` must map (None, {self.latent_dim}) to {image} to fit "
                f"the VEC; it maps {decoder.input_shape} to {decoder.output_shape}."
            )
        if tuple(critic.input_shape) != image or tuple(critic.output_shape) != (
            None,
            1,
        ):
            raise ValueError(
                f"`critic` must map {image} to (None, 1); it maps "
                f"{critic.input_shape} to {critic.output_shape}."
            )

    @property
    def encoder(self):
        """The frozen VEC's encoder (the feature-consistency and latent
        losses read it)."""
        return self.vec.encoder

    @property
    def classifier(self):
        """The frozen VEC's classifier (the latent loss reads it)."""
        return self.vec.classifier

    @property
    def class_prior(self):
        """The VEC's class-conditional prior: it describes the VEC's latent space."""
        return self.vec.class_prior

    def _default_labels(self, z_mean):
        return self.vec._default_labels(z_mean)

    def _optimizer_variables(self, name):
        network = self.decoder if name == "decoder_optimizer" else self.critic
        return network.trainable_variables

    # -- the model --------------------------------------------------------
    def encode_features(self, x):
        """`(z_mean, z_log_var, [F_1, F_2, F_3])` of the frozen encoder."""
        outputs = self.vec.features(x, training=False)
        features = [outputs[name] for name in self.vec.feature_layer_names]
        return outputs["z_mean"], outputs["z_log_var"], features

    @property
    def reconstruction_weights(self):
        """The weights of equation (9)'s terms: `(α_0, α_1, …)` with a pixel
        term, else `feature_weights`."""
        pixel = (self.pixel_weight,) if self.pixel_weight else ()
        return pixel + self.feature_weights

    def reconstruction_features(self, x):
        """`encode_features(x)` with `x` itself first among the features when
        `pixel_weight > 0`: the terms `reconstruction_weights` weigh."""
        z_mean, z_log_var, features = self.encode_features(x)
        if self.pixel_weight:
            features = [ops.cast(x, features[0].dtype), *features]
        return z_mean, z_log_var, features

    def call(self, inputs, training=False):
        """Reconstructions `Dec(μ(x))`."""
        z_mean = self.vec.features(inputs, training=False)["z_mean"]
        return self.decoder(z_mean, training=training)

    def classify(self, x, batch_size=256):
        """Class probabilities `Class(μ(x))` of the frozen VEC."""
        return self.vec.classify(x, batch_size)

    def critic_loss(self, images, target):
        """Least-squares critic loss of `images` against targets `target`."""
        return losses.critic_loss(self.critic(images, training=True), target)

    def compute_decoder_losses(
        self, z, features, real_scores, epsilon_hat=None, training=True
    ):
        """The terms of equation (8) for latent codes `z` of a batch `X`.

        Args:
            z: the codes `Z = Enc(X)` the decoder decodes.
            features: `[F_i(X)]` of the frozen encoder, with `X` first when
                `pixel_weight > 0` (`reconstruction_features(X)[2]`).
            real_scores: `Dis(X)`, from the critic after its update.
            epsilon_hat: noise of `Ẑ = Enc(X̂)` (drawn when `None`); without
                `training`, `Ẑ = μ(X̂)`.

        Returns:
            A dict with `loss`, `reconstruction_loss`, `adversarial_loss`,
            `latent_loss`, the `fake_scores` `Dis(X̂)` and, with
            `diversity_weight > 0`, `diversity_loss`.
        """
        x_hat = self.decoder(z, training=training)
        return self._losses_of_decoded(
            x_hat, z, features, real_scores, epsilon_hat, training
        )

    def _losses_of_decoded(
        self, x_hat, z, features, real_scores, epsilon_hat=None, training=True
    ):
        """`compute_decoder_losses` given the decoded images `X̂ = Dec(Z)`."""
        z_hat_mean, z_hat_log_var, features_hat = self.reconstruction_features(x_hat)
        z_hat = z_hat_mean
        if training:
            if epsilon_hat is None:
                epsilon_hat = self.standard_normal(ops.shape(z_hat_mean))
            z_hat = reparameterize(z_hat_mean, z_hat_log_var, epsilon_hat)
        fake_scores = self.critic(x_hat, training=training)
        rec = losses.feature_consistency_loss(
            features, features_hat, self.reconstruction_weights
        )
        adv = losses.adversarial_loss(real_scores, fake_scores)
        class_z = self.vec.classifier(z, training=False)
        lat = losses.latent_loss(class_z, self.vec.classifier(z_hat, training=False))
        terms = {
            "loss": rec + self.beta * adv + self.gamma * lat,
            "reconstruction_loss": rec,
            "adversarial_loss": adv,
            "latent_loss": lat,
            "fake_scores": fake_scores,
        }
        if self.diversity_weight:  # neighbouring pairs of X̂ = Dec(Z)
            groups = None
            if self.diversity_pairs == "class":  # pairs of one class
                groups = ops.argmax(class_z, axis=-1)
            terms["diversity_loss"] = losses.diversity_loss(z, x_hat, groups)
            terms["loss"] += self.diversity_weight * terms["diversity_loss"]
        return terms

    # -- anomaly scores -----------------------------------------------------
    anomaly_component_names = (
        "feature_error",
        "critic_unreality",
        "classifier_uncertainty",
    )
    primary_anomaly_component = "feature_error"

    def _anomaly_terms(self, x):
        """SAVAE's own anomaly signals, per sample (all in inference mode).

        * `feature_error`: equation (9) between `x` and `Dec(μ(x))`, the
          feature-consistency error the decoder was trained to make small
          on normal data;
        * `critic_unreality`: `−Dis(x)`; the critic scores real (normal)
          images near `+c`;
        * `classifier_uncertainty`: `1 − max_k Class(μ(x))_k`.
        """
        z_mean, _, features = self.reconstruction_features(x)
        x_hat = self.decoder(z_mean, training=False)
        _, _, features_hat = self.reconstruction_features(x_hat)
        probabilities = self.vec.classifier(z_mean, training=False)
        return {
            "feature_error": losses.feature_consistency_per_sample(
                features, features_hat, self.reconstruction_weights
            ),
            "critic_unreality": -ops.reshape(self.critic(x, training=False), (-1,)),
            "classifier_uncertainty": 1.0 - ops.max(probabilities, axis=-1),
        }

    def _anomaly_map(self, x):
        """`feature_error` per position: equation (9) between `x` and
        `Dec(μ(x))` at each pixel or time step (`feature_consistency_map`)."""
        z_mean, _, features = self.reconstruction_features(x)
        x_hat = self.decoder(z_mean, training=False)
        _, _, features_hat = self.reconstruction_features(x_hat)
        return losses.feature_consistency_map(
            features, features_hat, self.reconstruction_weights, self.image_shape[:-1]
        )

    # -- training ---------------------------------------------------------
    def _critic_update(self, images, target):
        """One critic-optimizer step on the least-squares loss."""
        variables = self.critic.trainable_variables

        def loss_fn():
            return self.critic_loss(images, target), None

        loss, _, grads = self.compute_gradients(
            loss_fn, variables, self.critic_optimizer
        )
        self.apply_gradients(self.critic_optimizer, grads, variables)
        return loss

    def _train_step(self, data):
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        z_mean, z_log_var, features = self.reconstruction_features(x)
        z = reparameterize(z_mean, z_log_var, self.standard_normal(ops.shape(z_mean)))
        epsilon_hat = self.standard_normal(ops.shape(z_mean))
        c = self.critic_target
        decoded = z
        if self.prior_weight:  # Z_p ~ N(0, I), decoded in the same pass
            decoded = ops.concatenate([z, self.standard_normal(ops.shape(z))])
        n = ops.shape(z)[0]

        def critic_loop(x_gen):
            """1. The embedded critic loop, on `X_gen = Dec(Z)` as constants."""
            critic_loss = 0.0
            for _ in range(self.n_critic):
                critic_loss = critic_loss + self._critic_update(x, c)
                critic_loss = critic_loss + self._critic_update(x_gen, -c)
            real_scores = ops.stop_gradient(self.critic(x, training=True))
            return critic_loss / self.n_critic, real_scores

        def loss_fn(x_gen, loop):
            """2. The decoder's loss against the updated critic; `X̂ = X_gen`."""
            critic_loss, real_scores = loop
            x_hat = x_gen[:n] if self.prior_weight else x_gen
            terms = self._losses_of_decoded(
                x_hat, z, features, real_scores, epsilon_hat
            )
            loss = terms["loss"]
            if self.prior_weight:  # X̃ = Dec(Z_p) judged as X̂ is
                prior_scores = self.critic(x_gen[n:], training=True)
                prior_adv = losses.adversarial_loss(real_scores, prior_scores)
                loss = loss + self.beta * self.prior_weight * prior_adv
            return loss, {**terms, "loss": loss, "critic_loss": critic_loss}

        # Dec(Z) runs once: the critic loop sees it as constants, the
        # decoder's gradients flow back through the same pass.
        variables = self.decoder.trainable_variables
        _, terms, grads = self.compute_staged_gradients(
            lambda: self.decoder(decoded, training=True),
            critic_loop,
            loss_fn,
            variables,
            self.decoder_optimizer,
        )
        self.apply_gradients(self.decoder_optimizer, grads, variables)
        self.optimizer.iterations.assign_add(1)
        return terms

    def _test_step(self, data):
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        z_mean, _, features = self.reconstruction_features(x)
        real_scores = self.critic(x, training=False)
        terms = self.compute_decoder_losses(
            z_mean, features, real_scores, training=False
        )
        c = self.critic_target
        critic_loss = losses.critic_loss(real_scores, c) + losses.critic_loss(
            terms["fake_scores"], -c
        )
        return {**terms, "critic_loss": critic_loss}

    def fit(self, *args, **kwargs):
        """`keras.Model.fit`; the VEC must have been trained (phase 1).

        With `warm_start`, the first `fit` (no step taken yet) copies the
        weights of the VEC's decoder into the decoder before training.
        """
        _check_frozen(self.vec)
        if int(ops.convert_to_numpy(self.vec.trained_steps)) == 0:
            raise ValueError(
                "The VEC has not been trained (vec.trained_steps is 0): phase 2 "
                "needs the encoder and classifier of phase 1. Train it with "
                "vec.fit(...) first, or load a trained one."
            )
        if (
            self.warm_start
            and self.optimizer is not None
            and int(ops.convert_to_numpy(self.optimizer.iterations)) == 0
        ):
            self.decoder.set_weights(self.vec.decoder.get_weights())
        return super().fit(*args, **kwargs)

    def get_config(self):
        return {
            **super().get_config(),
            "beta": self.beta,
            "gamma": self.gamma,
            "n_critic": self.n_critic,
            "critic_target": self.critic_target,
            "feature_weights": list(self.feature_weights),
            "pixel_weight": self.pixel_weight,
            "prior_weight": self.prior_weight,
            "diversity_weight": self.diversity_weight,
            "diversity_pairs": self.diversity_pairs,
            "warm_start": self.warm_start,
            "decoder_options": self.decoder_options,
            "critic_options": self.critic_options,
        }
