"""The standard VAE of section 2.1, the baseline SAVAE is compared against.

    Z = μ(X) + σ(X)·ε
    X̂ = Dec(Z)
    L = L_rec + L_kl                 equation (2)
    L_rec = −E[log p(X | Z)]         equation (3), a sum over pixels
    L_kl = D_kl(q(Z|X) ‖ N(0, I))    equation (4), a sum over latent dims

It uses the same encoder and decoder networks as SAVAE, trained together on
the pixel likelihood instead of SAVAE's two phases.
"""

import keras
from keras import ops

from savae_keras.data.checks import check_choice
from savae_keras.data.checks import check_number
from savae_keras.layers import ClassConditionalPrior
from savae_keras.layers import reparameterize
from savae_keras.losses import savae as losses
from savae_keras.models.anomaly import AnomalyMixin
from savae_keras.models.generative import ClassPriorMixin
from savae_keras.models.generative import DecoderMixin
from savae_keras.models.generative import PosteriorMixin
from savae_keras.models.trainer import Trainer
from savae_keras.networks import build_decoder
from savae_keras.networks import build_encoder
from savae_keras.networks import check_image_shape
from savae_keras.networks import check_options


@keras.saving.register_keras_serializable(package="savae_keras")
class VAE(AnomalyMixin, PosteriorMixin, ClassPriorMixin, DecoderMixin, Trainer):
    """A variational autoencoder trained on `L_rec + L_kl` (equations 2-4).

    `fit(x)` needs no labels and logs `loss`, `reconstruction_loss` and
    `kl_loss`. `evaluate` and `predict` use `z = μ(x)`.

    Example:

    ```python
    import savae_keras as sk

    x, _ = sk.load_dataset("mnist", "train")
    vae = sk.VAE(latent_dim=2)
    vae.compile()
    vae.fit(x, batch_size=64, epochs=1)
    samples = vae.generate(10)
    ```

    Args:
        input_shape: image shape `(H, W, C)`.
        latent_dim: size of the latent space.
        num_classes: if given, `fit_class_prior(x, labels)` fits a latent
            Gaussian per class, and `generate(n, labels=...)` can draw from
            it (for comparisons with SAVAE's class-conditional generation).
        encoder: an optional functional encoder, as for SAVAE.
        decoder: an optional functional decoder, as for SAVAE.
        encoder_options: keyword arguments of `build_encoder`.
        decoder_options: keyword arguments of `build_decoder`.
        reconstruction_loss: `"bce"` (Bernoulli) or `"mse"` (Gaussian).
        seed: seed of the sampling noise.
    """

    loss_names = ("loss", "reconstruction_loss", "kl_loss")
    network_names = ("encoder", "decoder")
    capabilities = frozenset(
        {"encode", "posterior", "decode", "reconstruct", "generate"}
    )

    def __init__(
        self,
        input_shape=(28, 28, 1),
        latent_dim=2,
        num_classes=None,
        encoder=None,
        decoder=None,
        encoder_options=None,
        decoder_options=None,
        reconstruction_loss="bce",
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        check_choice(
            reconstruction_loss, "reconstruction_loss", losses.RECONSTRUCTION_LOSSES
        )
        self.image_shape = check_image_shape(input_shape)
        self.latent_dim = check_number(latent_dim, "latent_dim", 1, integer=True)
        if num_classes is not None:
            num_classes = check_number(num_classes, "num_classes", 2, integer=True)
        self.num_classes = num_classes
        self.encoder_options = check_options(
            encoder_options, build_encoder, "encoder_options"
        )
        self.decoder_options = check_options(
            decoder_options, build_decoder, "decoder_options"
        )
        self.reconstruction_loss = reconstruction_loss
        self.encoder = encoder or build_encoder(
            self.image_shape, self.latent_dim, seed=seed, **self.encoder_options
        )
        self.decoder = decoder or build_decoder(
            self.image_shape, self.latent_dim, **self.decoder_options
        )
        image = (None, *self.image_shape)
        if (
            tuple(self.encoder.input_shape) != image
            or tuple(self.decoder.output_shape) != image
        ):
            raise ValueError(
                f"`encoder` must take and `decoder` must return images of shape "
                f"{image}; they take {self.encoder.input_shape} and return "
                f"{self.decoder.output_shape}."
            )
        self.class_prior = (
            ClassConditionalPrior(num_classes, self.latent_dim) if num_classes else None
        )
        self.built = True

    def call(self, inputs, training=False):
        """Reconstructions `Dec(μ(x))`."""
        return self.decoder(self.encoder(inputs, training=False)[0], training=training)

    def compute_losses(self, x, epsilon=None, training=True):
        """`loss`, `reconstruction_loss` and `kl_loss` on a batch.

        `epsilon` is the reparameterization noise (drawn when `None`);
        without `training`, `z = μ(x)`.
        """
        z_mean, z_log_var, _ = self.encoder(x, training=training)
        z = z_mean
        if training:
            if epsilon is None:
                epsilon = self.standard_normal(ops.shape(z_mean))
            z = reparameterize(z_mean, z_log_var, epsilon)
        x_hat = self.decoder(z, training=training)
        rec = losses.pixel_reconstruction_loss(x, x_hat, self.reconstruction_loss)
        kl = losses.kl_divergence(z_mean, z_log_var)
        return {"loss": rec + kl, "reconstruction_loss": rec, "kl_loss": kl}

    anomaly_component_names = ("negative_elbo", "reconstruction_error", "kl")
    primary_anomaly_component = "negative_elbo"

    def _anomaly_terms(self, x):
        """`−ELBO = −log p(x|μ(x)) + KL(q(z|x) ‖ N(0, I))` per sample, and its parts.

        The likelihood is that of the posterior mean's reconstruction, so
        the score is deterministic.
        """
        z_mean, z_log_var, _ = self.encoder(x, training=False)
        x_hat = self.decoder(z_mean, training=False)
        rec = losses.pixel_error_per_sample(x, x_hat, self.reconstruction_loss)
        kl = losses.kl_per_sample(z_mean, z_log_var)
        return {"negative_elbo": rec + kl, "reconstruction_error": rec, "kl": kl}

    def _anomaly_map(self, x):
        """The squared error of `Dec(μ(x))` at each position (channels averaged)."""
        z_mean, _, _ = self.encoder(x, training=False)
        return losses.squared_error_map(x, self.decoder(z_mean, training=False))

    def _train_step(self, data):
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        variables = self.trainable_variables

        def loss_fn():
            terms = self.compute_losses(x, training=True)
            return terms["loss"], terms

        _, terms, grads = self.compute_gradients(loss_fn, variables, self.optimizer)
        self.apply_gradients(self.optimizer, grads, variables)
        return terms

    def _test_step(self, data):
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        return self.compute_losses(x, training=False)

    def get_config(self):
        return {
            **super().get_config(),
            "input_shape": self.image_shape,
            "latent_dim": self.latent_dim,
            "num_classes": self.num_classes,
            "encoder_options": self.encoder_options,
            "decoder_options": self.decoder_options,
            "reconstruction_loss": self.reconstruction_loss,
        }
