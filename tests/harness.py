"""The checks every model case passes, written once (keras-hub's `TestCase`
as the model).

`tests/model_cases.py` says which models exist; this module says what each
of them must do: its config rebuilds it (`check_serialization`), a `.keras`
file reloads it with the same outputs and optimizer state
(`check_keras_saving`), and a preset folder does the same for the classes with
presets (`check_preset_round_trip`). `tests/test_model_cases.py` runs them on
every case, for images and 1-D signals; other files call them on models they
have trained further.
"""

import inspect
import json

import keras
import numpy as np

from savae_keras import SAVAE
from savae_keras import VariationalEncoderClassifier
from savae_keras.presets import PresetMixin
from tests.conftest import to_numpy


def as_json(config):
    """A config as it is stored (tuples become lists)."""
    return json.loads(json.dumps(config))


def weights(model):
    return [to_numpy(w) for w in model.weights]


def optimizer_states(model):
    """Every optimizer variable of a model (both phases for SAVAE), as numpy."""
    owners = (
        [model.vec, model.adversarial_decoder] if isinstance(model, SAVAE) else [model]
    )
    return [to_numpy(v) for owner in owners for v in owner.optimizer.variables]


def outputs(model, x):
    """Every deterministic output a user reads from the model."""
    results = [model.predict(x, verbose=0)]
    results.append(model.encode(x))
    if "posterior" in model.capabilities:
        results += list(model.posterior(x))
    if "generate" in model.capabilities:
        results.append(model.generate(4, seed=3))
    return results


def assert_identical(a, b):
    assert len(a) == len(b)
    for left, right in zip(a, b):
        np.testing.assert_array_equal(left, right)


def train(model, x, y, epochs=1, **kwargs):
    """`fit` as each kind of model takes it: both phases for SAVAE, labels
    for the VEC only; batch 32 in order unless told."""
    common = {"batch_size": 32, "verbose": 0, "shuffle": False, **kwargs}
    if isinstance(model, SAVAE):
        return model.fit(x, y, encoder_epochs=epochs, decoder_epochs=epochs, **common)
    labels = y if isinstance(model, VariationalEncoderClassifier) else None
    return model.fit(x, labels, epochs=epochs, **common)


def check_serialization(model):
    """`from_config(get_config())` and Keras's serialization rebuild the same
    model: the same class and the same config, through JSON; and the config
    holds every argument of the constructor, so none is lost on reloading."""
    config = as_json(model.get_config())
    arguments = inspect.signature(type(model).__init__).parameters
    missing = set(arguments) - {"self", "args", "kwargs"} - set(config)
    assert not missing, f"{type(model).__name__}.get_config lacks {sorted(missing)}"
    clone = type(model).from_config(model.get_config())
    assert type(clone) is type(model)
    assert as_json(clone.get_config()) == config
    revived = keras.saving.deserialize_keras_object(
        json.loads(json.dumps(keras.saving.serialize_keras_object(model)))
    )
    assert type(revived) is type(model)
    assert as_json(revived.get_config()) == config
    return clone


def _assert_same_model(loaded, model, x):
    assert type(loaded) is type(model)
    assert as_json(loaded.get_config()) == as_json(model.get_config())
    assert_identical(outputs(loaded, x), outputs(model, x))
    assert_identical(optimizer_states(loaded), optimizer_states(model))


def check_keras_saving(model, x, folder):
    """`model.save` then `keras.saving.load_model` (safe mode, Keras's
    default) gives the same class, config, outputs on `x` and optimizer
    state. Returns the loaded model."""
    path = folder / f"{type(model).__name__}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    _assert_same_model(loaded, model, x)
    return loaded


def check_preset_round_trip(model, x, folder):
    """`save_to_preset` then `from_preset` gives the same model, with its
    `fit` defaults; None for a class without presets."""
    if not isinstance(model, PresetMixin):
        return None
    folder = folder / f"{type(model).__name__}_preset"
    model.save_to_preset(folder)
    loaded = type(model).from_preset(folder)
    _assert_same_model(loaded, model, x)
    assert loaded.fit_defaults == model.fit_defaults
    return loaded
