"""A Gaussian per class in the latent space, for class-conditional generation."""

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="savae_keras")
class ClassConditionalPrior(keras.layers.Layer):
    """One Gaussian `N(m_c, S_c)` per class, fitted on an encoded dataset.

    `fit` moment-matches each class's aggregate posterior, the mixture of the
    encoder's `N(μ_i, diag σ_i²)` over the class's samples:
    `m_c = mean_i μ_i` and `S_c = Cov_i(μ_i) + mean_i diag(σ_i²)`.
    The means, the Cholesky factors of `S_c` and the class counts are
    non-trainable weights, so they are saved with the model.
    """

    def __init__(self, num_classes, latent_dim, **kwargs):
        kwargs.pop("trainable", None)
        super().__init__(trainable=False, **kwargs)
        self.num_classes = int(num_classes)
        self.latent_dim = int(latent_dim)
        self.means = self.add_weight(
            shape=(self.num_classes, self.latent_dim),
            initializer="zeros",
            trainable=False,
            name="means",
        )
        identity = np.broadcast_to(
            np.eye(self.latent_dim, dtype="float32"),
            (self.num_classes, self.latent_dim, self.latent_dim),
        )
        self.scale_tril = self.add_weight(
            shape=identity.shape,
            initializer=lambda shape, dtype=None: identity.copy(),
            trainable=False,
            name="scale_tril",
        )
        self.counts = self.add_weight(
            shape=(self.num_classes,),
            initializer="zeros",
            trainable=False,
            name="counts",
        )
        self.built = True

    def fit(self, z_mean, z_log_var, labels):
        """Fit the Gaussians on encodings `(z_mean, z_log_var)` (numpy).

        Samples labeled -1 are skipped; classes without samples keep count
        0 and cannot be sampled.
        """
        z_mean = np.asarray(z_mean, "float64")
        variance = np.exp(np.asarray(z_log_var, "float64"))
        labels = np.asarray(labels)
        means = np.zeros((self.num_classes, self.latent_dim))
        scales = np.tile(np.eye(self.latent_dim), (self.num_classes, 1, 1))
        counts = np.zeros(self.num_classes)
        for c in range(self.num_classes):
            members = labels == c
            counts[c] = members.sum()
            if counts[c] == 0:
                continue
            mu = z_mean[members]
            means[c] = mu.mean(axis=0)
            spread = np.cov(mu, rowvar=False, bias=True).reshape(
                self.latent_dim, self.latent_dim
            )
            covariance = spread + np.diag(variance[members].mean(axis=0))
            covariance += 1e-6 * np.eye(self.latent_dim)
            scales[c] = np.linalg.cholesky(covariance)
        self.means.assign(means.astype("float32"))
        self.scale_tril.assign(scales.astype("float32"))
        self.counts.assign(counts.astype("float32"))

    def sample(self, labels, rng):
        """Latent codes `z = m_y + L_y ε`, one per label, drawn with `rng`."""
        labels = np.asarray(labels, "int64").reshape(-1)
        counts = keras.ops.convert_to_numpy(self.counts)
        if np.any((labels < 0) | (labels >= self.num_classes)):
            raise ValueError(
                f"`labels` must lie in [0, {self.num_classes}); received "
                f"{np.unique(labels)[:10].tolist()}."
            )
        if np.any(counts[labels] == 0):
            if not counts.any():
                raise ValueError(
                    "The class-conditional prior has not been fitted: call "
                    "`fit_class_prior(x, labels)` (SAVAE.fit does it after "
                    "phase 1) before generating given labels."
                )
            missing = np.unique(labels[counts[labels] == 0]).tolist()
            raise ValueError(
                f"Classes {missing} had no labeled sample when the class "
                "prior was fitted; they cannot be generated."
            )
        means = keras.ops.convert_to_numpy(self.means)[labels]
        scales = keras.ops.convert_to_numpy(self.scale_tril)[labels]
        epsilon = rng.standard_normal((len(labels), self.latent_dim))
        return (means + np.einsum("nij,nj->ni", scales, epsilon)).astype("float32")

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "latent_dim": self.latent_dim,
        }
