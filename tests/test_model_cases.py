"""Every model case, for images and for 1-D signals, passes the shared checks
of `tests/harness.py` after a short training."""

import keras
import pytest

from savae_keras.presets import PresetMixin
from tests.harness import check_keras_saving
from tests.harness import check_preset_round_trip
from tests.harness import check_serialization
from tests.harness import optimizer_states
from tests.harness import train
from tests.model_cases import IMAGE_SHAPE
from tests.model_cases import MODEL_NAMES
from tests.model_cases import SIGNAL_SHAPE
from tests.model_cases import build
from tests.model_cases import random_images

# Images on the backend that runs the whole suite; signals (whose layers are
# the 1-D ones) on every backend.
CASES = [(name, "images") for name in MODEL_NAMES] + [
    pytest.param(name, "signals", marks=pytest.mark.every_backend)
    for name in MODEL_NAMES
]
SHAPES = {"images": IMAGE_SHAPE, "signals": SIGNAL_SHAPE}


@pytest.mark.parametrize("name,kind", CASES)
def test_every_model_case_passes_the_shared_checks(name, kind, tmp_path):
    shape = SHAPES[kind]
    keras.utils.set_random_seed(0)
    model = build(name, shape, num_classes=3)
    model.compile()
    if isinstance(model, PresetMixin):
        model.fit_defaults = {"batch_size": 16}  # as `from_preset` sets them
    x, y = random_images(32, shape=shape, num_classes=3)
    train(model, x, y, batch_size=16)
    assert optimizer_states(model)[0] > 0  # the optimizers really stepped

    check_serialization(model)
    check_keras_saving(model, x[:8], tmp_path)
    preset = check_preset_round_trip(model, x[:8], tmp_path)
    assert (preset is None) == (not isinstance(model, PresetMixin))
