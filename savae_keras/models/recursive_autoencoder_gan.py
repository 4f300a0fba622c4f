"""The recursive autoencoder with GAN of Radpour (2021).

An autoencoder `AE = Dec ∘ Enc` whose output is fed back as its input:

    x'(0) = AE(x),   x'(j) = AE(x'(j − 1))   for j = 1 .. k

and a discriminator `D` that competes with the whole autoencoder. One
training step on a batch `X` (one `fit` step):

    1. D  <- one step on  E[BCE(D(X), real)] + E_j[BCE(D(x'(j)), fake)]
    2. AE <- one step on  L_rec + λ · L_gen, with the updated D:
           L_rec = E[Σ_j w_j · rec(X, x'(j))]       rec: BCE or MSE per image
           L_gen = E[Σ_j w_j · BCE(D(x'(j)), real)]  fool D on every output

The step schedule sets the weights `w_j` per sample: `"all"` weighs every step
0..k by 1 (the report's result, "the sum of losses with 0, 1 and 2 steps
with the same weights"); `"cycle"` gives sample `i` the single step
`(offset + i) mod (k + 1)` with a random offset per batch (the report's
procedure). `k = 0` is a plain autoencoder with a GAN, and `λ = 0` drops the
adversarial term: the report's plain and recursive autoencoders are special
cases of this one class.

The game schedule sets who trains when. `"alternate"` (the default, used for
docs/results/recursive-gan.md) is the step above, as in most GANs. `"report"` is the
report's own order, used for its Table 1 (CIFAR-10): "first I train [the]
autoencoder just like before, then train the discriminator and autoencoder
with making them compete", and "if the discriminator can recognize fake
data with more than 50% probability, the discriminator's parameters will be
fixed". Per batch:

    0. AE <- one step on L_rec alone
    1. D  <- one step as above, only if its accuracy on this batch ≤ 50 %
    2. AE <- one step on L_rec + λ · L_gen

The report orders these per epoch (a reconstruction pass, then a game
pass); here they run per batch, so one Keras epoch stays one pass over the
data.
"""

import keras
import numpy as np
from keras import ops

from savae_keras.data.checks import check_bool
from savae_keras.data.checks import check_choice
from savae_keras.data.checks import check_number
from savae_keras.losses import recursive as losses
from savae_keras.losses.savae import squared_error_map
from savae_keras.models.anomaly import AnomalyMixin
from savae_keras.models.inputs import check_inputs
from savae_keras.models.recursive_autoencoder_gan_presets import (
    RECURSIVE_AUTOENCODER_GAN_PRESETS,
)
from savae_keras.models.trainer import Trainer
from savae_keras.networks import check_image_shape
from savae_keras.networks.recursive import build_cifar_autoencoder
from savae_keras.networks.recursive import build_discriminator
from savae_keras.networks.recursive import build_mnist_autoencoder
from savae_keras.presets import PresetMixin

SCHEDULES = ("all", "cycle")
GAME_SCHEDULES = ("alternate", "report")


def default_networks(input_shape, latent_dim, batch_norm=False):
    """The report's networks for `input_shape`: MNIST-style or CIFAR-style;
    with `batch_norm`, their autoencoders normalise every hidden layer.

    Signals `(length, C)` get the CIFAR-style (strided) autoencoder built
    with 1-D layers; their length must be divisible by 8.
    """
    *sizes, _ = input_shape
    if tuple(sizes) == (28, 28):
        encoder, decoder = build_mnist_autoencoder(
            input_shape, latent_dim or 16, batch_norm=batch_norm
        )
    elif all(d % 8 == 0 for d in sizes):
        if latent_dim is not None:
            raise ValueError(
                "`latent_dim` applies to the MNIST (28x28) autoencoder; the "
                "CIFAR autoencoder's code is its (H/8, W/8, 64) feature map. "
                "Leave latent_dim=None or pass your own networks."
            )
        encoder, decoder = build_cifar_autoencoder(input_shape, batch_norm=batch_norm)
    else:
        raise ValueError(
            f"No default networks for input_shape {input_shape}: the report's "
            "networks take 28x28 images or sizes divisible by 8 (images or "
            "signals). Pass "
            "`encoder`, `decoder` and `discriminator`."
        )
    return encoder, decoder, build_discriminator(input_shape)


def _has_batch_norm(network):
    return any(
        isinstance(layer, keras.layers.BatchNormalization)
        for layer in network._flatten_layers(include_self=False)
    )


@keras.saving.register_keras_serializable(package="savae_keras")
class RecursiveAutoencoderGAN(PresetMixin, AnomalyMixin, Trainer):
    """An autoencoder fed back `recursion_steps` times, against a discriminator.

    `compile(autoencoder_optimizer=..., discriminator_optimizer=...)`; the
    defaults are the report's, Adam with learning rates 0.005 and 0.001. Each
    optimizer steps once per batch (under the `"report"` game schedule the
    autoencoder's steps twice and the discriminator's only while it is right
    at most half of the time). `fit(x)` needs no labels and logs `loss`
    (`L_rec + λ·L_gen`), `reconstruction_loss`, `adversarial_loss` (`L_gen`),
    `discriminator_loss` and `discriminator_accuracy` (the mean of its
    accuracy on real and on reconstructed images; the report aims at 50 %);
    under `"report"` also `discriminator_updated`, the share of batches in
    which the discriminator stepped.

    Example:

    ```python
    import savae_keras as sk

    x, _ = sk.load_dataset("cifar10", "train")
    model = sk.RecursiveAutoencoderGAN.from_preset("report_recursive_autoencoder")
    model.fit(x[:2000], epochs=1)
    reconstructions = model.reconstruct(x[:10])
    ```

    Args:
        input_shape: image shape `(H, W, C)`.
        latent_dim: code size of the default MNIST network (16).
        recursion_steps: `k`, the number of times the output is fed back
            (0: a plain autoencoder).
        adversarial_weight: `λ` (0: no adversarial term); λ ≥ 0.01
            collapses on MNIST, so the default is 0.001 (docs/results/options.md).
        reconstruction_loss: `"bce"` or `"mse"`, per pixel.
        step_schedule: `"all"` or `"cycle"` (see the module docstring).
        game_schedule: `"alternate"` or `"report"` (see the module
            docstring).
        stop_gradient_between_steps: cut the gradient between recursive
            passes, so memory stays flat in `k`.
        recursion_warmup_steps: N > 0 trains every sample on the first
            pass alone (a plain autoencoder, and a discriminator of `x'(0)`)
            for the first N training steps, then on the step schedule
            (beyond the report: a stabiliser; 0, the default, is the
            report's recursion from the first step).
        batch_norm: batch normalisation before every hidden activation of
            the default autoencoder (beyond the report, which names no
            normalisation; a stabiliser at the report's learning rate,
            docs/results/recursive-gan.md). Only for the default networks.
        encoder: an optional functional encoder; the report's for
            `input_shape` when omitted. A variational encoder (SAVAE's) fits
            too: its first output, the mean, is the code.
        decoder: an optional functional decoder; the report's when omitted.
        discriminator: an optional functional discriminator; the report's
            when omitted. A critic's linear output (SAVAE's) is read as a
            logit.
        seed: seed of the "cycle" schedule's offsets.
    """

    optimizer_names = ("autoencoder_optimizer", "discriminator_optimizer")
    loss_names = (
        "loss",
        "reconstruction_loss",
        "adversarial_loss",
        "discriminator_loss",
        "discriminator_accuracy",
    )
    network_names = ("encoder", "decoder", "discriminator")
    capabilities = frozenset({"encode", "decode", "reconstruct"})

    def __init__(
        self,
        input_shape=(28, 28, 1),
        latent_dim=None,
        recursion_steps=2,
        adversarial_weight=0.001,
        reconstruction_loss="bce",
        step_schedule="all",
        game_schedule="alternate",
        stop_gradient_between_steps=False,
        recursion_warmup_steps=0,
        batch_norm=False,
        encoder=None,
        decoder=None,
        discriminator=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        self.image_shape = check_image_shape(input_shape, "input_shape")
        recursion_steps = check_number(
            recursion_steps, "recursion_steps", minimum=0, integer=True
        )
        adversarial_weight = check_number(
            adversarial_weight, "adversarial_weight", minimum=0.0
        )
        if latent_dim is not None:
            latent_dim = check_number(latent_dim, "latent_dim", 1, integer=True)
        check_choice(
            reconstruction_loss, "reconstruction_loss", losses.RECONSTRUCTION_LOSSES
        )
        check_choice(step_schedule, "step_schedule", SCHEDULES)
        check_choice(game_schedule, "game_schedule", GAME_SCHEDULES)
        self.latent_dim = latent_dim
        self.recursion_steps = recursion_steps
        self.adversarial_weight = float(adversarial_weight)
        self.reconstruction_loss = reconstruction_loss
        self.step_schedule = step_schedule
        self.game_schedule = game_schedule
        if game_schedule == "report":
            self.trackers["discriminator_updated"] = keras.metrics.Mean(
                name="discriminator_updated"
            )
        self.stop_gradient_between_steps = bool(stop_gradient_between_steps)
        self.recursion_warmup_steps = check_number(
            recursion_warmup_steps, "recursion_warmup_steps", 0, integer=True
        )
        self.batch_norm = check_bool(batch_norm, "batch_norm")
        given = [n for n in (encoder, decoder) if n is not None]
        if self.batch_norm and not all(map(_has_batch_norm, given)):
            raise ValueError(
                "`batch_norm=True` builds the default autoencoder with batch "
                "normalisation; it does not change an `encoder` or `decoder` "
                "you pass, and yours has none. Leave them out, or add the "
                "layers to your own."
            )
        if encoder is None or decoder is None or discriminator is None:
            defaults = default_networks(self.image_shape, latent_dim, self.batch_norm)
            encoder = encoder or defaults[0]
            decoder = decoder or defaults[1]
            discriminator = discriminator or defaults[2]
        self._check_networks(encoder, decoder, discriminator)
        self.encoder = encoder
        self.decoder = decoder
        self.discriminator = discriminator
        self.built = True

    def _check_networks(self, encoder, decoder, discriminator):
        image = (None, *self.image_shape)
        code_shape = encoder.output_shape
        if isinstance(code_shape, list):  # a variational encoder: the mean
            code_shape = code_shape[0]
        if tuple(encoder.input_shape) != image:
            raise ValueError(
                f"`encoder` must take images of shape {image}; it takes "
                f"{encoder.input_shape}."
            )
        if (
            tuple(decoder.input_shape) != tuple(code_shape)
            or tuple(decoder.output_shape) != image
        ):
            raise ValueError(
                f"`decoder` must map the encoder's code {code_shape} to images "
                f"{image}; it maps {decoder.input_shape} to {decoder.output_shape}."
            )
        if tuple(discriminator.input_shape) != image or tuple(
            discriminator.output_shape
        ) != (None, 1):
            raise ValueError(
                f"`discriminator` must map {image} to one logit (None, 1); it "
                f"maps {discriminator.input_shape} to {discriminator.output_shape}."
            )

    presets = RECURSIVE_AUTOENCODER_GAN_PRESETS
    # The report's Adam learning rates; `default_optimizer` and
    # `compile_preset` read them here.
    preset_optimizer = {
        "autoencoder_learning_rate": 0.005,
        "discriminator_learning_rate": 0.001,
    }
    # `fit`'s settings a preset may hold (None: Keras's default).
    preset_fit = {"epochs": None, "batch_size": 64}
    preset_budget = ("epochs",)

    def default_optimizer(self, name):
        """The report's Adam learning rates: 0.005 (AE) and 0.001 (D)."""
        key = name.replace("optimizer", "learning_rate")
        return keras.optimizers.Adam(self.preset_optimizer[key])

    def compile_preset(self, autoencoder_learning_rate, discriminator_learning_rate):
        """`compile` with Adam at the two learning rates."""
        rates = {
            name: check_number(value, name, minimum=0.0, exclusive_minimum=True)
            for name, value in (
                ("autoencoder_learning_rate", autoencoder_learning_rate),
                ("discriminator_learning_rate", discriminator_learning_rate),
            )
        }
        self.compile(
            autoencoder_optimizer=keras.optimizers.Adam(
                rates["autoencoder_learning_rate"]
            ),
            discriminator_optimizer=keras.optimizers.Adam(
                rates["discriminator_learning_rate"]
            ),
        )

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`; `epochs` and `batch_size` left out are the
        preset's (`fit_defaults`, set by `from_preset`)."""
        if not args:
            for key in ("batch_size", "epochs"):
                if kwargs.get(key) is None and self.fit_defaults.get(key) is not None:
                    kwargs[key] = self.fit_defaults[key]
        return super().fit(x, y, *args, **kwargs)

    def _optimizer_variables(self, name):
        if name == "discriminator_optimizer":
            return self.discriminator.trainable_variables
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    # -- the model --------------------------------------------------------
    def code(self, x, training=False):
        """`Enc(x)`; a variational encoder gives its mean."""
        code = self.encoder(x, training=training)
        return code[0] if isinstance(code, (list, tuple)) else code

    def autoencode(self, x, training=False):
        """One pass `AE(x) = Dec(Enc(x))`."""
        return self.decoder(self.code(x, training), training=training)

    def recursive_outputs(self, x, steps=None, training=False):
        """`[x'(0), ..., x'(steps)]`: the decoder runs `steps + 1` times."""
        steps = self.recursion_steps if steps is None else steps
        outputs, current = [], x
        for step in range(steps + 1):
            if step and self.stop_gradient_between_steps:
                current = ops.stop_gradient(current)
            current = self.autoencode(current, training)
            outputs.append(current)
        return outputs

    anomaly_component_names = ("reconstruction_error", "discriminator_unreality")
    primary_anomaly_component = "reconstruction_error"

    def _anomaly_terms(self, x):
        """Per sample: the error of one autoencoder pass and `−logit D(x)`."""
        x_hat = self.autoencode(x, False)
        return {
            "reconstruction_error": losses.reconstruction_error(
                x, x_hat, self.reconstruction_loss
            ),
            "discriminator_unreality": -ops.reshape(
                self.discriminator(x, training=False), (-1,)
            ),
        }

    def _anomaly_map(self, x):
        """The squared error of one autoencoder pass at each position."""
        return squared_error_map(x, self.autoencode(x, False))

    def call(self, inputs, training=False):
        """One pass of the autoencoder, `x'(0)`."""
        return self.autoencode(inputs, training)

    def cycle_offset(self):
        """The random first step of a batch under the "cycle" schedule."""
        return keras.random.randint(
            (), 0, self.recursion_steps + 1, seed=self.seed_generator
        )

    def schedule_weights(self, batch_size, offset=None):
        """`w` of shape `(N, k + 1)`: which recursion steps each sample trains."""
        steps = self.recursion_steps + 1
        if self.step_schedule == "all":
            return ops.ones((batch_size, steps))
        offset = self.cycle_offset() if offset is None else offset
        chosen = ops.mod(ops.arange(batch_size) + ops.cast(offset, "int32"), steps)
        return ops.one_hot(chosen, steps)

    def training_weights(self, batch_size):
        """`schedule_weights` of a training step: the first pass alone for
        every sample during the first `recursion_warmup_steps` steps."""
        weights = self.schedule_weights(batch_size)
        if self.recursion_warmup_steps == 0:
            return weights
        first_pass = ops.one_hot(
            ops.zeros((batch_size,), "int32"), self.recursion_steps + 1
        )
        warming = self.optimizer.iterations < self.recursion_warmup_steps
        return ops.where(warming, first_pass, weights)

    def discriminator_terms(self, x, outputs, weights, training=True):
        """Discriminator loss and accuracy on real `x` and the `outputs`."""
        real = self.discriminator(x, training=training)
        fakes = [self.discriminator(o, training=training) for o in outputs]
        fake_losses = ops.stack([losses.logit_crossentropy(f, 0.0) for f in fakes], 1)
        loss = ops.mean(
            losses.logit_crossentropy(real, 1.0)
        ) + losses.weighted_step_mean(fake_losses, weights)
        real_right = ops.cast(ops.reshape(real, (-1,)) > 0, "float32")
        fake_right = ops.stack(
            [ops.cast(ops.reshape(f, (-1,)) < 0, "float32") for f in fakes], 1
        )
        accuracy = 0.5 * (
            ops.mean(real_right) + losses.weighted_step_mean(fake_right, weights)
        )
        return loss, accuracy

    def reconstruction_term(self, x, outputs, weights):
        """`L_rec`: the scheduled sum of the outputs' reconstruction errors."""
        errors = ops.stack(
            [
                losses.reconstruction_error(x, o, self.reconstruction_loss)
                for o in outputs
            ],
            1,
        )
        return losses.weighted_step_sum(errors, weights)

    def autoencoder_terms(self, x, weights, training=True):
        """`loss`, `reconstruction_loss` and `adversarial_loss` of the AE."""
        outputs = self.recursive_outputs(x, training=training)
        return self._autoencoder_terms_of(x, outputs, weights, training)

    def _autoencoder_terms_of(self, x, outputs, weights, training=True):
        """`autoencoder_terms` given the recursive `outputs` of `x`."""
        rec = self.reconstruction_term(x, outputs, weights)
        fooled = ops.stack(
            [
                losses.logit_crossentropy(self.discriminator(o, training=training), 1.0)
                for o in outputs
            ],
            1,
        )
        gen = losses.weighted_step_sum(fooled, weights)
        return {
            "loss": rec + self.adversarial_weight * gen,
            "reconstruction_loss": rec,
            "adversarial_loss": gen,
        }

    # -- training ---------------------------------------------------------
    def _train_step(self, data):
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        weights = self.training_weights(ops.shape(x)[0])
        ae_variables = self._optimizer_variables("autoencoder_optimizer")
        report = self.game_schedule == "report"

        # 0. ("report") The autoencoder alone, on its reconstructions.
        if report:

            def rec_loss_fn():  # no discriminator pass: L_gen is not used
                outputs = self.recursive_outputs(x, training=True)
                return self.reconstruction_term(x, outputs, weights), None

            _, _, grads = self.compute_gradients(
                rec_loss_fn, ae_variables, self.autoencoder_optimizer
            )
            self.apply_gradients(self.autoencoder_optimizer, grads, ae_variables)

        # 1. The discriminator, on the current autoencoder's outputs
        #    ("report": only while it is right at most half of the time).
        d_variables = self.discriminator.trainable_variables

        def discriminator_step(outputs):
            def d_loss_fn():
                return self.discriminator_terms(x, outputs, weights)

            d_loss, d_accuracy, grads = self.compute_gradients(
                d_loss_fn, d_variables, self.discriminator_optimizer
            )
            update = None
            if report:
                update = d_accuracy <= 0.5
                self.apply_gradients_if(
                    update, self.discriminator_optimizer, grads, d_variables
                )
            else:
                self.apply_gradients(self.discriminator_optimizer, grads, d_variables)
            return d_loss, d_accuracy, update

        # 2. The whole autoencoder, against the (updated) discriminator, on
        #    the same outputs: the recursion runs once, its graph kept
        #    across the discriminator's step.
        def ae_loss_fn(outputs, d_step):
            terms = self._autoencoder_terms_of(x, outputs, weights)
            return terms["loss"], (terms, d_step)

        _, (terms, (d_loss, d_accuracy, update)), grads = self.compute_staged_gradients(
            lambda: self.recursive_outputs(x, training=True),
            discriminator_step,
            ae_loss_fn,
            ae_variables,
            self.autoencoder_optimizer,
        )
        self.apply_gradients(self.autoencoder_optimizer, grads, ae_variables)
        self.optimizer.iterations.assign_add(1)
        terms = {
            **terms,
            "discriminator_loss": d_loss,
            "discriminator_accuracy": d_accuracy,
        }
        if report:
            terms["discriminator_updated"] = ops.cast(update, "float32")
        return terms

    def _test_step(self, data):
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        weights = self.schedule_weights(ops.shape(x)[0], offset=0)
        outputs = self.recursive_outputs(x, training=False)
        d_loss, d_accuracy = self.discriminator_terms(
            x, outputs, weights, training=False
        )
        terms = {
            **self.autoencoder_terms(x, weights, training=False),
            "discriminator_loss": d_loss,
            "discriminator_accuracy": d_accuracy,
        }
        if self.game_schedule == "report":  # would it step on this batch?
            terms["discriminator_updated"] = ops.cast(d_accuracy <= 0.5, "float32")
        return terms

    # -- inference --------------------------------------------------------
    def reconstruct(self, x, steps=None, batch_size=256):
        """`x'(steps)`: the autoencoder applied `steps + 1` times (numpy).

        `steps=None` means 0, one pass, as the report evaluates.
        """
        steps = 0 if steps is None else check_number(steps, "steps", 0, integer=True)
        for _ in range(steps + 1):
            x = self.predict(x, batch_size=batch_size, verbose=0)
        return x

    def encode(self, x, batch_size=256):
        """The codes `Enc(x)` (numpy): a variational encoder gives its mean."""
        x, _ = check_inputs(self, x, None)
        code = self.encoder.predict(x, batch_size=batch_size, verbose=0)
        return code[0] if isinstance(code, list) else code

    def decode(self, code, batch_size=256):
        """Images `Dec(c)` of codes `c` shaped like `encode`'s output (numpy)."""
        code = np.asarray(code)
        expected = tuple(self.decoder.input_shape[1:])
        if not np.issubdtype(code.dtype, np.number) or code.shape[1:] != expected:
            raise ValueError(
                f"`code` must hold numbers of shape (N, "
                f"{', '.join(map(str, expected))}); received dtype {code.dtype}, "
                f"shape {code.shape}."
            )
        if not np.all(np.isfinite(code)):
            raise ValueError("`code` contains NaN or infinite values.")
        return self.decoder.predict(
            code.astype("float32"), batch_size=batch_size, verbose=0
        )

    def get_config(self):
        return {
            **super().get_config(),
            "input_shape": self.image_shape,
            "latent_dim": self.latent_dim,
            "recursion_steps": self.recursion_steps,
            "adversarial_weight": self.adversarial_weight,
            "reconstruction_loss": self.reconstruction_loss,
            "step_schedule": self.step_schedule,
            "game_schedule": self.game_schedule,
            "stop_gradient_between_steps": self.stop_gradient_between_steps,
            "recursion_warmup_steps": self.recursion_warmup_steps,
            "batch_norm": self.batch_norm,
        }
