"""Encoding, the class prior, decoding and generation, shared by the models.

Three mixins for `Trainer` subclasses, each for models made a certain way:

* `PosteriorMixin`: a variational `self.encoder` (`x -> [z_mean, z_log_var,
  z]`) gives `posterior(x)` and `encode(x)` (the posterior mean);
* `ClassPriorMixin`: `self.class_prior`, one latent Gaussian per class, is
  fitted by `fit_class_prior` on encoded images;
* `DecoderMixin`: `self.decoder` gives `decode`, `reconstruct` and
  `generate` (from N(0, I), or from the class prior given labels).
"""

import keras
import numpy as np

from savae_keras.data.checks import check_number
from savae_keras.models.inputs import _is_py_dataset
from savae_keras.models.inputs import _is_tf_dataset
from savae_keras.models.inputs import _split
from savae_keras.models.inputs import check_inputs


def iterate_batches(model, data, batch_size=256, name="x"):
    """Yield `(images, labels or None)` numpy batches from arrays or datasets."""
    if _is_tf_dataset(data) or _is_py_dataset(data):
        check_inputs(model, data, None, name)
        batches = data if _is_py_dataset(data) else data.as_numpy_iterator()
        for index, batch in enumerate(batches):
            if _is_py_dataset(data) and index >= len(data):
                break
            images, labels = _split(batch, name)
            yield np.asarray(images), None if labels is None else np.asarray(labels)
        return
    images, _ = check_inputs(model, data, None, name)
    for start in range(0, len(images), batch_size):
        yield images[start : start + batch_size], None


class PosteriorMixin:
    """`posterior` and `encode` for a variational `self.encoder`."""

    def posterior(self, x, batch_size=256):
        """The posterior `(z_mean, z_log_var)` of images `x` (numpy arrays).

        `x`: images (uint8 or floats in [0, 1]) or a dataset of batches.
        """
        x, _ = check_inputs(self, x, None)
        z_mean, z_log_var, _ = self.encoder.predict(x, batch_size=batch_size, verbose=0)
        return z_mean, z_log_var

    def encode(self, x, batch_size=256):
        """Latent codes of images `x`: the posterior mean `μ(x)` (numpy)."""
        return self.posterior(x, batch_size)[0]


class ClassPriorMixin:
    """`fit_class_prior` and `has_class_prior` for `self.class_prior`.

    The prior describes a latent space, so it lives with the model that
    owns that space (the VEC for SAVAE, the VAE itself); `class_prior` is
    None where the model has no classes.
    """

    def fit_class_prior(self, x, labels=None, batch_size=256):
        """Fit one latent Gaussian per class on the encodings of `x`.

        Args:
            x: images, or a dataset of `(images, labels)` batches.
            labels: class indices for array `x` (-1 = unlabeled, skipped).
                When no label is available, `_default_labels` decides
                (the VEC uses its classifier's predictions).
        """
        prior = self._class_prior()
        means, log_vars, classes = [], [], []
        # Arrays go to `predict` whole (a dataset batch by batch): one call
        # instead of one per batch, which costs 2.5x on TensorFlow. Not
        # `predict_on_batch`: under a TensorFlow strategy of N replicas, it
        # gives every replica the whole batch and returns N times its rows.
        dataset = _is_tf_dataset(x) or _is_py_dataset(x)
        chunk = batch_size if dataset else max(len(x), 1)
        for images, batch_labels in iterate_batches(self, x, chunk):
            z_mean, z_log_var, _ = self.encoder.predict(
                images, batch_size=batch_size, verbose=0
            )
            means.append(keras.ops.convert_to_numpy(z_mean))
            log_vars.append(keras.ops.convert_to_numpy(z_log_var))
            classes.append(batch_labels)
        z_mean, z_log_var = np.concatenate(means), np.concatenate(log_vars)
        if labels is not None:
            classes = np.asarray(labels)
        elif all(c is not None for c in classes):
            classes = np.concatenate(classes)
        else:
            classes = self._default_labels(z_mean)
        if len(classes) != len(z_mean):
            raise ValueError(
                f"`labels` has {len(classes)} entries for {len(z_mean)} images."
            )
        prior.fit(z_mean, z_log_var, classes)
        return self

    def has_class_prior(self):
        """Whether every class has a fitted latent Gaussian for `generate`."""
        if self.class_prior is None:
            return False
        counts = keras.ops.convert_to_numpy(self.class_prior.counts)
        return bool(np.all(counts > 0))

    def _class_prior(self):
        if self.class_prior is None:
            raise ValueError(
                f"This {type(self).__name__} has no class prior: build it with "
                "`num_classes` to fit one and generate given labels."
            )
        return self.class_prior

    def _default_labels(self, z_mean):
        raise ValueError(
            f"{type(self).__name__}.fit_class_prior needs labels: pass "
            "`labels`, or a dataset of (images, labels)."
        )


class DecoderMixin:
    """`decode`, `reconstruct` and `generate` for `self.decoder`.

    For models whose `call` returns reconstructions `Dec(μ(x))`. Each method
    returns numpy arrays.
    """

    def decode(self, z, batch_size=256):
        """Images `Dec(z)` of latent codes `z` of shape `(N, latent_dim)`."""
        z = np.asarray(z)
        if not np.issubdtype(z.dtype, np.number):
            raise ValueError(f"`z` must hold numbers; received dtype {z.dtype}.")
        z = z.astype("float32")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"`z` must have shape (N, {self.latent_dim}); received {z.shape}."
            )
        if not np.all(np.isfinite(z)):
            raise ValueError("`z` contains NaN or infinite values.")
        return self.decoder.predict(z, batch_size=batch_size, verbose=0)

    def reconstruct(self, x, batch_size=256):
        """Reconstructions `Dec(μ(x))`: deterministic, from the posterior mean."""
        return self.predict(x, batch_size=batch_size, verbose=0)

    def generate(self, n, labels=None, seed=None, batch_size=256):
        """Generate `n` images.

        Without `labels`, `z ~ N(0, I)`, the prior. With `labels` (one class
        index, or `n` of them), `z` is drawn from the Gaussian of each class
        fitted by `fit_class_prior`. `seed` seeds a numpy generator, so the
        same seed draws the same codes on every backend.
        """
        n = check_number(n, "n", minimum=1, integer=True)
        rng = np.random.default_rng(seed)
        if labels is None:
            z = rng.standard_normal((n, self.latent_dim)).astype("float32")
        else:
            labels = np.asarray(labels)
            if labels.ndim == 0:
                labels = np.full(n, labels)
            if labels.shape != (n,):
                raise ValueError(
                    f"`labels` must be one class index or {n} of them; "
                    f"received shape {labels.shape}."
                )
            z = self._class_prior().sample(labels, rng)
        return self.decode(z, batch_size=batch_size)
