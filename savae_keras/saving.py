"""Loading saved models with clear errors, and TensorFlow SavedModel export.

`.keras` files are written by Keras itself (`model.save("m.keras")`): every
model of the package is registered serializable with a complete
`get_config`, and its compile config restores both optimizers' state, so
`fit` continues where it stopped. `load_model` adds the checks a user needs
before trusting a file: it exists, it is a whole `.keras` archive, it holds
a model of this package, and (optionally) its input shape is the expected
one. Loading only reads the file.

`export_savedmodel(model, path)` writes a SavedModel whose endpoints are
what users serve, all on float32 images in [0, 1] of shape `(N, H, W, C)`
or latent codes `(N, latent_dim)`:

==================  ========================================================
`encode`            `{"z_mean", "z_log_var"}` (recursive model: `{"code"}`)
`classify`          class probabilities `Class(μ(x))` (models with a VEC)
`reconstruct`       `Dec(μ(x))` (recursive model: one pass, `x'(0)`)
`decode`            `Dec(z)` (models with a decoder)
`serve`             `reconstruct`, or `classify` for a VEC alone
==================  ========================================================
"""

import json
import os
import zipfile

import keras

__all__ = [
    "ModelFileError",
    "load_model",
    "serving_endpoints",
    "export_savedmodel",
]

EXPORT_BACKENDS = ("tensorflow", "jax")
PACKAGE = "savae_keras"  # the package name models are registered under


class ModelFileError(ValueError):
    """A file that is not a usable saved model of this package."""


def _read_config(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No model file at `filepath` {path!r}.")
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
            names = set(archive.namelist())
            if damaged is not None or "config.json" not in names:
                raise zipfile.BadZipFile(damaged or "config.json missing")
            return json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, EOFError, OSError, json.JSONDecodeError) as error:
        raise ModelFileError(
            f"`filepath` {path!r} is not a complete `.keras` model file "
            f"(truncated, damaged or another format: {error}). Save models "
            "with `model.save('name.keras')`."
        ) from None


def _saved_setting(config, key):
    """`key` of a model config, or of the VEC inside a decoder's config."""
    config = config.get("config", {})
    if key in config:
        return config[key]
    return config.get("vec", {}).get("config", {}).get(key)


def load_model(
    filepath, expected_input_shape=None, expected_latent_dim=None, compile=True
):
    """Load a model of this package from a `.keras` file, with clear errors.

    Args:
        filepath: the `.keras` file.
        expected_input_shape: image shape `(H, W, C)` the caller needs; a
            file saved for another shape is refused before it is loaded.
        expected_latent_dim: latent size the caller needs, likewise.
        compile: restore the optimizers (needed to continue training).

    Raises:
        FileNotFoundError: no such file.
        ModelFileError: a truncated, damaged or foreign file, or a model of
            another input shape.
    """
    filepath = os.fspath(filepath)
    config = _read_config(filepath)
    class_name = config.get("class_name")
    if not str(config.get("registered_name")).startswith(PACKAGE + ">"):
        raise ModelFileError(
            f"`filepath` {filepath!r} holds a {class_name!r}, not a savae_keras "
            "model; load it with `keras.saving.load_model`."
        )
    saved_shape = _saved_setting(config, "input_shape")
    if expected_input_shape is not None and saved_shape is not None:
        if tuple(saved_shape) != tuple(expected_input_shape):
            raise ModelFileError(
                f"`filepath` {filepath!r} holds a {class_name} for images of shape "
                f"{tuple(saved_shape)}, not the expected {tuple(expected_input_shape)}."
            )
    saved_latent = _saved_setting(config, "latent_dim")
    if expected_latent_dim is not None and saved_latent != expected_latent_dim:
        raise ModelFileError(
            f"`filepath` {filepath!r} holds a {class_name} with latent size "
            f"{saved_latent}, not the expected {expected_latent_dim}. Use another "
            "output folder, or remove the file to train it again."
        )
    return keras.saving.load_model(filepath, compile=compile)


# -- SavedModel export -------------------------------------------------------
def _image_spec(model):
    return keras.InputSpec(shape=(None, *model.image_shape), dtype="float32")


def serving_endpoints(model):
    """`{name: (function, input_spec)}` of what `model` can serve."""
    image = _image_spec(model)
    offers = model.capabilities
    endpoints = {}
    if "posterior" in offers:

        def encode(x):
            z_mean, z_log_var = model.encoder(x, training=False)[:2]
            return {"z_mean": z_mean, "z_log_var": z_log_var}

        endpoints["encode"] = (encode, image)
    else:
        endpoints["encode"] = (lambda x: {"code": model.code(x)}, image)
    if "classify" in offers:
        endpoints["classify"] = (
            lambda x: model.classifier(
                model.encoder(x, training=False)[0], training=False
            ),
            image,
        )
    if "reconstruct" in offers:
        endpoints["reconstruct"] = (lambda x: model(x, training=False), image)
    if "decode" in offers:
        endpoints["decode"] = (
            lambda z: model.decoder(z, training=False),
            keras.InputSpec(shape=tuple(model.decoder.input_shape), dtype="float32"),
        )
    serve = "reconstruct" if "reconstruct" in offers else "classify"
    endpoints["serve"] = endpoints[serve]
    return endpoints


def export_savedmodel(model, filepath, verbose=False):
    """Write `model` as a TensorFlow SavedModel with named endpoints.

    The endpoints are listed in the module docstring; load them with
    `tf.saved_model.load(filepath).reconstruct(images)`, without Keras or
    this package. Works from the TensorFlow and JAX backends (JAX through
    jax2tf). PyTorch models cannot be exported by Keras to a SavedModel
    here: save the model (`model.save("m.keras")`), then run
    `KERAS_BACKEND=tensorflow python -m savae_keras.saving m.keras out/`.
    """
    backend = keras.backend.backend()
    if backend not in EXPORT_BACKENDS:
        raise RuntimeError(
            f"SavedModel export needs the TensorFlow or JAX backend; this process "
            f"runs {backend!r}. Save the model with `model.save('m.keras')` and "
            "export it from TensorFlow: `KERAS_BACKEND=tensorflow python -m "
            "savae_keras.saving m.keras OUTPUT_DIR`."
        )
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, (function, spec) in serving_endpoints(model).items():
        archive.add_endpoint(name, function, input_signature=[spec])
    archive.write_out(os.fspath(filepath), verbose=verbose)
    return filepath


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(
        description="Export a savae_keras .keras model as a TensorFlow SavedModel."
    )
    parser.add_argument("model", help="the .keras file")
    parser.add_argument("output", help="folder of the SavedModel")
    args = parser.parse_args(argv)
    model = load_model(args.model, compile=False)
    export_savedmodel(model, args.output)
    names = ", ".join(serving_endpoints(model))
    print(f"Wrote SavedModel {args.output} with endpoints {names}.")


if __name__ == "__main__":
    main()
