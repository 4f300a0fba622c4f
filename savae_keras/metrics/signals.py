"""Quality of reconstructed or generated 1-D signals `(N, length, channels)`."""

import numpy as np


def _pair(signals, reconstructions):
    signals = np.asarray(signals, dtype="float64")
    reconstructions = np.asarray(reconstructions, dtype="float64")
    if signals.shape != reconstructions.shape or signals.ndim != 3:
        raise ValueError(
            "`signals` and `reconstructions` must both have shape (N, length, "
            f"channels); received {signals.shape} and {reconstructions.shape}."
        )
    return signals, reconstructions


def log_spectral_distance(signals, reconstructions, eps=1e-10):
    """Mean log-spectral distance in dB, per series and channel.

    `sqrt(mean_f (10 · log10(P(f) / P̂(f)))²)` with `P` the power spectrum
    (`|rfft|²` without the mean, the zero frequency) of a series and `P̂`
    that of its reconstruction, over the frequencies `f > 0`; averaged over
    channels and series. 0 for identical spectra; `eps` keeps silent
    frequencies finite.
    """
    signals, reconstructions = _pair(signals, reconstructions)

    def power(x):
        return np.abs(np.fft.rfft(x, axis=1)[:, 1:]) ** 2 + eps

    ratio = 10.0 * np.log10(power(signals) / power(reconstructions))
    return float(np.mean(np.sqrt(np.mean(ratio**2, axis=1))))


def signal_metrics(signals, reconstructions):
    """`mse` (per sample, averaged) and `log_spectral_distance` (dB)."""
    signals, reconstructions = _pair(signals, reconstructions)
    return {
        "mse": float(np.mean((signals - reconstructions) ** 2)),
        "log_spectral_distance": log_spectral_distance(signals, reconstructions),
    }
