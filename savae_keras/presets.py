"""Presets: named, documented configurations of the package's models.

keras-hub's convention. Each model class that has presets keeps them in a
module of its own (`models/savae_presets.py`,
`models/recursive_autoencoder_gan_presets.py`) and offers

    model = SAVAE.from_preset("quick", latent_dim=100)   # build + compile
    history = model.fit(x, y)                            # the preset's budget
    model.save_to_preset("my_savae")                     # share it
    model = SAVAE.from_preset("my_savae")                # trained, ready to use

A preset is a dict of

* `description`: one line;
* `results`: where the docs report what it measured;
* `config`: constructor arguments (the rest are the constructor's defaults);
* `optimizer`: the optimizers' settings (each model's `preset_optimizer`
  names them and holds their defaults);
* `fit`: `fit`'s defaults, the budget among them (each model's
  `preset_fit` names them and holds their defaults).

`from_preset(name, **overrides)` takes one flat namespace: every key of the
three dicts. An override of the budget (`preset_budget`: for SAVAE
`encoder_epochs`, `decoder_epochs`, `seconds`) replaces the preset's whole
budget: `seconds=600` alone drops the preset's epochs. A dict-valued
option (`critic_options`, ...) merges into the preset's dict, and a
dotted key (`"critic_options.spectral_normalization"`) sets one entry of
it. An unknown key is an error that lists the known ones; values are
checked by the constructor, `compile` and `fit` as usual.

`list_presets()` lists them with their descriptions (also
`python -m savae_keras.presets`).
"""

import copy
import json
import os

import keras

from savae_keras.files import save_atomically
from savae_keras.files import write_json_atomically

__all__ = [
    "PresetMixin",
    "list_presets",
    "parse_setting",
    "resolve_preset",
    "load_metadata",
]

SECTIONS = ("config", "optimizer", "fit")
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"


def _model_classes():
    from savae_keras import models

    return [
        cls
        for cls in vars(models).values()
        if isinstance(cls, type) and issubclass(cls, PresetMixin) and cls.presets
    ]


def list_presets(model=None):
    """The presets and their descriptions.

    Args:
        model: a model class or its name (`"SAVAE"`); None lists every model's.

    Returns:
        `{preset name: description}` for one model, or `{model name:
        {preset name: description}}` for all.
    """
    classes = {cls.__name__: cls for cls in _model_classes()}
    if model is None:
        return {name: list_presets(cls) for name, cls in classes.items()}
    name = model if isinstance(model, str) else model.__name__
    if name not in classes:
        raise ValueError(
            f"`model` must be one of {sorted(classes)} (the models with presets); "
            f"received {model!r}."
        )
    return {key: value["description"] for key, value in classes[name].presets.items()}


def parse_setting(text):
    """`"key=value"` of a command line's `--set` as `(key, value)`.

    The value is read as JSON (`1`, `0.5`, `true`, `null`, `[1, 2]`,
    `{"a": 1}`), Python's `True`/`False`/`None` too; anything else is a
    string.
    """
    key, sep, raw = str(text).partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"a setting must read `key=value`; received {text!r}.")
    raw = raw.strip()
    words = {"True": True, "False": False, "None": None}
    if raw in words:
        return key, words[raw]
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def _read_preset_file(path):
    with open(path) as handle:
        data = json.load(handle)
    data = data.get("preset", data)  # a run's metrics.json records its preset
    if not isinstance(data, dict) or not set(SECTIONS) <= set(data):
        raise ValueError(
            f"{path} holds no preset: expected a JSON object with the keys "
            f"{list(SECTIONS)} (or a run's metrics.json, which records one)."
        )
    return data


def resolve_preset(cls, preset, overrides=None):
    """The settings of `cls`'s preset `preset` with `overrides` applied.

    Args:
        cls: a model class with presets.
        preset: a preset name of `cls.presets`, a preset dict (with the
            three sections), or the path of a JSON file holding one (a
            run's `metrics.json` records the one it ran).
        overrides: `{key: value}`; keys of the three sections, or dotted.

    Returns:
        `{"name", "description", "results", "config", "optimizer", "fit"}`,
        each section complete: the constructor's defaults are left to it,
        the optimizer's and fit's are filled in.
    """
    if isinstance(preset, str) and preset in cls.presets:
        settings = copy.deepcopy(cls.presets[preset])
        settings["name"] = preset
    elif isinstance(preset, dict) and set(SECTIONS) <= set(preset):
        settings = copy.deepcopy(preset)  # a preset as a dict (a resolved one)
        settings.setdefault("name", "custom")
    elif isinstance(preset, (str, os.PathLike)) and os.path.isfile(preset):
        settings = copy.deepcopy(_read_preset_file(preset))
        settings.setdefault("name", os.fspath(preset))
    else:
        raise ValueError(
            f"Unknown preset {preset!r} for {cls.__name__}. Its presets are "
            f"{sorted(cls.presets)}; a preset may also be a folder written by "
            "`save_to_preset` or a JSON file of one (a run's metrics.json)."
        )
    settings.setdefault("description", "")
    settings.setdefault("results", "")
    settings["optimizer"] = {**cls.preset_optimizer, **settings.get("optimizer", {})}
    settings["fit"] = {**cls.preset_fit, **settings.get("fit", {})}
    settings.setdefault("config", {})
    overrides = dict(overrides or {})
    if set(overrides) & set(cls.preset_budget):  # a new budget, whole
        for key in cls.preset_budget:
            settings["fit"][key] = cls.preset_fit[key]
    for key, value in overrides.items():
        _override(cls, settings, key, value)
    return settings


def _section_of(cls, key):
    for section, keys in (
        ("config", cls.preset_config_keys()),
        ("optimizer", cls.preset_optimizer),
        ("fit", cls.preset_fit),
    ):
        if key in keys:
            return section
    known = [*cls.preset_config_keys(), *cls.preset_optimizer, *cls.preset_fit]
    raise ValueError(
        f"Unknown setting {key!r} for {cls.__name__}'s presets. The settings are "
        f"{known}."
    )


def _override(cls, settings, key, value):
    top, _, inner = key.partition(".")
    section = settings[_section_of(cls, top)]
    current = section.get(top)
    if inner:  # one entry of a dict of options (`*_options`)
        if not top.endswith("_options") or (
            current is not None and not isinstance(current, dict)
        ):
            raise ValueError(
                f"`{top}` is not a dict of options, so `{key}` cannot be set."
            )
        section[top] = {**(current or {}), inner: value}
    elif isinstance(value, dict) and isinstance(current, dict):
        section[top] = {**current, **value}
    else:
        section[top] = value


class PresetMixin:
    """`from_preset` and `save_to_preset` for a model class.

    A class sets `presets` (name -> preset), `preset_optimizer` and
    `preset_fit` (the settings of those sections, with their defaults), and
    implements `compile_preset(**optimizer_settings)`. `preset_config_keys`
    are the constructor's arguments but its networks.
    """

    presets = {}
    preset_optimizer = {}
    preset_fit = {}
    preset_budget = ()  # the `fit` settings that together make the budget
    # Set by `from_preset`: the preset's `fit` section, defaults of `fit`.
    fit_defaults = {}
    preset_settings = None

    @classmethod
    def preset_config_keys(cls):
        """The config keys a preset may set: the constructor's arguments."""
        import inspect

        names = inspect.signature(cls.__init__).parameters
        skip = {"self", "kwargs", *getattr(cls, "network_names", ())}
        return [name for name in names if name not in skip]

    def compile_preset(self, **optimizer_settings):
        """Compiles the model with a preset's `optimizer` section (each model
        says which settings it takes)."""
        raise NotImplementedError

    @classmethod
    def from_preset(cls, preset, **overrides):
        """Build and compile a model from a preset, or load a trained one.

        Args:
            preset: a name of `cls.presets` (`list_presets(cls)`), a folder
                written by `save_to_preset` (the trained model, compiled,
                with its optimizers' state), a preset dict, or a JSON file
                of one.
            **overrides: settings of the preset to change (the module
                docstring); not with a trained folder.

        Returns:
            The compiled model; its `fit` trains on the preset's budget
            unless `fit` is given one (`fit_defaults`).
        """
        if isinstance(preset, (str, os.PathLike)) and os.path.isdir(preset):
            if overrides:
                raise ValueError(
                    f"{os.fspath(preset)} is a trained model: it loads as saved; "
                    f"received overrides {sorted(overrides)}. Build a new model "
                    "from a named preset to change its settings."
                )
            return _load_trained(cls, preset)
        settings = resolve_preset(cls, preset, overrides)
        model = cls(**settings["config"])
        model.compile_preset(**settings["optimizer"])
        model.fit_defaults = dict(settings["fit"])
        model.preset_settings = settings
        return model

    def save_to_preset(self, folder, metadata=None):
        """Write the model as a preset folder `from_preset` loads back.

        `folder/config.json` (the class, its config, its compile config and
        its fit defaults), `folder/model.weights.h5` (the weights with the
        optimizers' state) and `folder/metadata.json` (`metadata`, e.g. the
        dataset and measured metrics, with the versions and backend). Each
        file is written atomically.
        """
        os.makedirs(folder, exist_ok=True)
        config = {
            "class_name": type(self).__name__,
            "config": self.get_config(),
            "compile_config": self.get_compile_config(),
            "fit_defaults": dict(self.fit_defaults),
            "preset": self.preset_settings,
        }
        write_json_atomically(config, os.path.join(folder, CONFIG_FILE))
        save_atomically(self.save_weights, os.path.join(folder, WEIGHTS_FILE))
        from savae_keras import __version__

        info = {
            **(metadata or {}),
            "savae_keras_version": __version__,
            "keras_version": keras.__version__,
            "backend": keras.backend.backend(),
        }
        write_json_atomically(info, os.path.join(folder, METADATA_FILE))
        return folder


def _load_trained(cls, folder):
    path = os.path.join(folder, CONFIG_FILE)
    if not os.path.isfile(path):
        raise ValueError(
            f"{os.fspath(folder)} is not a preset folder: it has no {CONFIG_FILE} "
            "(`save_to_preset` writes one)."
        )
    with open(path) as handle:
        saved = json.load(handle)
    if saved.get("class_name") != cls.__name__:
        raise ValueError(
            f"{os.fspath(folder)} holds a {saved.get('class_name')}, not a "
            f"{cls.__name__}: load it with {saved.get('class_name')}.from_preset."
        )
    model = cls.from_config(saved["config"])
    if saved.get("compile_config"):
        model.compile_from_config(saved["compile_config"])
    model.load_weights(os.path.join(folder, WEIGHTS_FILE))
    model.fit_defaults = saved.get("fit_defaults") or {}
    model.preset_settings = saved.get("preset")
    return model


def load_metadata(folder):
    """The `metadata.json` of a preset folder."""
    with open(os.path.join(folder, METADATA_FILE)) as handle:
        return json.load(handle)


def _main():
    for model, presets in list_presets().items():
        print(model)
        width = max(len(name) for name in presets)
        for name, description in presets.items():
            print(f"  {name:<{width}}  {description}")


if __name__ == "__main__":
    # `python -m` runs a second copy of this module; the presets are
    # registered in the package's.
    from savae_keras import presets

    presets._main()
