"""Evaluation metrics: reconstruction and generation quality, signals, anomalies."""

from savae_keras.metrics.anomaly import calibrated_score
from savae_keras.metrics.anomaly import locate_anomaly
from savae_keras.metrics.anomaly import roc_auc
from savae_keras.metrics.anomaly import series_scores
from savae_keras.metrics.generation import balanced_labels
from savae_keras.metrics.generation import check_num_samples
from savae_keras.metrics.generation import evaluate_generative
from savae_keras.metrics.generation import frechet_classifier_distance
from savae_keras.metrics.generation import frechet_distance
from savae_keras.metrics.generation import label_consistency
from savae_keras.metrics.reconstruction import binary_crossentropy
from savae_keras.metrics.reconstruction import binary_crossentropy_floor
from savae_keras.metrics.reconstruction import mean_squared_error
from savae_keras.metrics.reconstruction import psnr
from savae_keras.metrics.reconstruction import reconstruction_metrics
from savae_keras.metrics.reconstruction import ssim
from savae_keras.metrics.reference import ReferenceClassifier
from savae_keras.metrics.reference import reference_classifier
from savae_keras.metrics.signals import log_spectral_distance
from savae_keras.metrics.signals import signal_metrics
from savae_keras.metrics.variety import density_coverage
from savae_keras.metrics.variety import precision_recall
from savae_keras.metrics.variety import variety_metrics
from savae_keras.metrics.variety import within_class_spread

__all__ = [
    "calibrated_score",
    "locate_anomaly",
    "roc_auc",
    "series_scores",
    "balanced_labels",
    "check_num_samples",
    "evaluate_generative",
    "frechet_classifier_distance",
    "frechet_distance",
    "label_consistency",
    "binary_crossentropy",
    "binary_crossentropy_floor",
    "mean_squared_error",
    "psnr",
    "reconstruction_metrics",
    "ssim",
    "ReferenceClassifier",
    "reference_classifier",
    "log_spectral_distance",
    "signal_metrics",
    "density_coverage",
    "precision_recall",
    "variety_metrics",
    "within_class_spread",
]
