"""The documentation's promises: docstrings on the public API, and the
README's and guides' code running as written (on tiny settings)."""

import importlib
import inspect

import savae_keras

PUBLIC_MODULES = [
    "savae_keras",
    *(
        f"savae_keras.{name}"
        for name in savae_keras.__all__
        if name.islower() and inspect.ismodule(getattr(savae_keras, name))
    ),
    "savae_keras.tuning",
]


def _public_objects():
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        assert hasattr(module, "__all__"), f"{module_name} has no __all__"
        for name in module.__all__:
            yield f"{module_name}.{name}", getattr(module, name)


def _undocumented(qualified, obj):
    if inspect.ismodule(obj):
        return [] if inspect.getdoc(obj) else [qualified]
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        return []  # constants are documented where they are defined
    missing = [] if obj.__doc__ and obj.__doc__.strip() else [qualified]
    if inspect.isclass(obj):
        for name, member in vars(obj).items():
            if name.startswith("_"):
                continue
            function = member.fget if isinstance(member, property) else member
            function = getattr(function, "__func__", function)
            if not inspect.isfunction(function):
                continue
            own = function.__doc__ and function.__doc__.strip()
            # A layer's `call`, `build`, ... keep the meaning Keras documents.
            keras_protocol = any(
                name in vars(base)
                for base in obj.__mro__[1:]
                if base.__module__.startswith("keras.")
            )
            if not own and not keras_protocol:
                missing.append(f"{qualified}.{name}")
    return missing


def test_every_public_name_has_a_docstring():
    missing = []
    for qualified, obj in _public_objects():
        missing += _undocumented(qualified, obj)
    assert not missing, "no docstring: " + ", ".join(sorted(set(missing)))
