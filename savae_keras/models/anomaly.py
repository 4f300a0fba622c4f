"""Anomaly scores from a trained model's own signals (Zemouri 2020, section 1).

Every model offers `anomaly_components(x)`, per-sample signals where a
higher value means "less like the training data", and `anomaly_score(x,
calibration=None)`:

* without `calibration`, the model's primary component
  (`primary_anomaly_component`): SAVAE's feature-consistency error, the
  VAE's negative ELBO, the recursive GAN's reconstruction error;
* with `calibration` (samples of the normal data, such as held-out training
  samples), the sum of all components, each standardised by its mean and
  standard deviation on `calibration`, so none dominates by its units.

`anomaly_map(x)` says *where* in a sample the model disagrees with it: one
error per position (pixel, or time step of a signal), SAVAE's
feature-consistency error or the autoencoders' squared reconstruction
error. `savae_keras.metrics.series_scores` stitches the maps of a long
series' overlapping windows into one score per time step, which locates an
anomaly shorter than a window (`examples/anomaly.py` on the UCR series).

Train on normal data only, then score; `savae_keras.metrics.roc_auc` turns
scores and labels into a ROC-AUC.
"""

import keras
import numpy as np

from savae_keras.metrics.anomaly import calibrated_score
from savae_keras.models.generative import iterate_batches


class AnomalyMixin:
    """`anomaly_components` and `anomaly_score` for a `Trainer` subclass.

    A subclass names its components and computes them on one batch in
    `_anomaly_terms(x) -> {name: (N,) tensor}`, and its map in
    `_anomaly_map(x) -> (N, *spatial) tensor` (inference mode).
    """

    anomaly_component_names = ()
    primary_anomaly_component = None

    def anomaly_components(self, x, batch_size=256):
        """Per-sample anomaly signals of `x`: `{name: (N,) numpy array}`."""
        parts = {name: [] for name in self.anomaly_component_names}
        for images, _ in iterate_batches(self, x, batch_size):
            terms = self._anomaly_terms(keras.ops.convert_to_tensor(images))
            for name in parts:
                parts[name].append(keras.ops.convert_to_numpy(terms[name]))
        return {
            name: np.concatenate(values).astype("float64")
            for name, values in parts.items()
        }

    def anomaly_map(self, x, batch_size=256):
        """Per-position anomaly signal of `x`: numpy `(N, *spatial)`.

        An image's map is `(N, H, W)`, a signal's `(N, T)`: the model's
        primary reconstruction error at each position (channels averaged),
        so a defect shows where it is.
        """
        maps = [
            keras.ops.convert_to_numpy(
                self._anomaly_map(keras.ops.convert_to_tensor(images))
            )
            for images, _ in iterate_batches(self, x, batch_size)
        ]
        return np.concatenate(maps).astype("float64")

    def anomaly_score(self, x, calibration=None, batch_size=256):
        """One anomaly score per sample of `x` (higher: more anomalous).

        Args:
            x: samples (images or signals), or a dataset of batches.
            calibration: normal samples; when given, the score is the sum
                of the standardised components (module docstring), else the
                primary component alone.
        """
        components = self.anomaly_components(x, batch_size)
        if calibration is None:
            return components[self.primary_anomaly_component]
        if hasattr(calibration, "__len__") and len(calibration) < 2:
            raise ValueError(
                "`calibration` must hold at least two normal samples (their "
                f"spread scales each component); received {len(calibration)}."
            )
        return calibrated_score(
            components, self.anomaly_components(calibration, batch_size)
        )
