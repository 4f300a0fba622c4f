"""Datasets as numpy arrays, and input pipelines for `fit`."""

from savae_keras.data.checks import UNLABELED
from savae_keras.data.checks import check_images
from savae_keras.data.checks import check_labels
from savae_keras.data.checks import mask_labels
from savae_keras.data.loading import DATA_DIR_ENV
from savae_keras.data.loading import DATASETS
from savae_keras.data.loading import SIGNALS
from savae_keras.data.loading import DatasetNotFoundError
from savae_keras.data.loading import DatasetSpec
from savae_keras.data.loading import get_spec
from savae_keras.data.loading import load_class_names
from savae_keras.data.loading import load_dataset
from savae_keras.data.loading import load_ucr_series
from savae_keras.data.loading import resample_series
from savae_keras.data.loading import scale_series
from savae_keras.data.loading import sliding_windows
from savae_keras.data.pipelines import ImageBatches
from savae_keras.data.pipelines import make_dataset
from savae_keras.data.windows import AMPLITUDE_RANGES
from savae_keras.data.windows import classify_series
from savae_keras.data.windows import load_series
from savae_keras.data.windows import series_components
from savae_keras.data.windows import series_windows
from savae_keras.data.windows import window_dataset
from savae_keras.data.windows import window_features

__all__ = [
    "UNLABELED",
    "check_images",
    "check_labels",
    "mask_labels",
    "DATA_DIR_ENV",
    "DATASETS",
    "SIGNALS",
    "DatasetNotFoundError",
    "DatasetSpec",
    "get_spec",
    "load_class_names",
    "load_dataset",
    "load_ucr_series",
    "resample_series",
    "scale_series",
    "sliding_windows",
    "ImageBatches",
    "make_dataset",
    "AMPLITUDE_RANGES",
    "classify_series",
    "load_series",
    "series_components",
    "series_windows",
    "window_dataset",
    "window_features",
]
