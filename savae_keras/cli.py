"""Argument types of the package's command-line tools.

Each checks a flag when it is parsed, before any data is loaded or any
model trained, and reports the flag by name (argparse adds it):
`error: argument --epochs: must be an integer >= 1; received '0'`.
"""

import argparse
import contextlib
import logging
import math


def _number(kind, minimum, exclusive=False, maximum=None, exclusive_maximum=False):
    wanted = "an integer" if kind is int else "a number"
    bound = f"> {minimum}" if exclusive else f">= {minimum}"
    if maximum is not None:
        bound += f" and < {maximum}" if exclusive_maximum else f" and <= {maximum}"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if (
            value is None
            or (kind is float and not math.isfinite(value))
            or (value <= minimum if exclusive else value < minimum)
            or (maximum is not None and value > maximum)
            or (exclusive_maximum and value == maximum)
        ):
            raise argparse.ArgumentTypeError(
                f"must be {wanted} {bound}; received {text!r}"
            )
        return value

    parse.__name__ = f"{wanted} {bound}"
    return parse


positive_int = _number(int, 1)
nonnegative_int = _number(int, 0)
nonnegative_float = _number(float, 0.0)
positive_float = _number(float, 0.0, exclusive=True)
fraction = _number(float, 0.0, exclusive=True, maximum=1.0)
open_fraction = _number(float, 0.0, exclusive=True, maximum=1.0, exclusive_maximum=True)


def add_preset_arguments(parser, default, examples):
    """`--preset NAME` (default `default`) and `--set KEY=VALUE` (repeatable),
    the flags of every tool that trains a SAVAE preset; `examples` names a
    few settings in the help."""
    parser.add_argument(
        "--preset",
        default=default,
        help=f"a SAVAE preset, or a run's metrics.json to run it again "
        f"(default: {default}; `python -m savae_keras.presets` lists them)",
    )
    parser.add_argument(
        "--set",
        dest="settings",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help=f"change one setting of the preset (repeatable), e.g. {examples}",
    )


def preset_overrides(args, parser):
    """`--set`'s settings as a dict; a malformed one stops the parser."""
    from savae_keras.presets import parse_setting

    try:
        return dict(parse_setting(text) for text in args.settings)
    except ValueError as error:
        parser.error(str(error))


class _NotPerModelRetracing(logging.Filter):
    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


def quiet_per_model_retracing():
    """Drop TensorFlow's retracing warning, which a script of many models trips.

    TensorFlow counts traces per Python code object, and the predict
    functions of all Keras models share one
    (`TensorFlowTrainer.make_predict_function`): a script that predicts with
    six models (the reference classifier, each phase, the VAE) is warned
    "5 out of the last 22 calls ... triggered tf.function retracing" though
    each model traced its function once. The command-line tools call this;
    the library leaves the `tensorflow` logger as it is.
    """
    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _NotPerModelRetracing) for f in logger.filters):
        logger.addFilter(_NotPerModelRetracing())


DTYPE_POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")


def add_device_arguments(parser):
    """`--distribute` and `--dtype-policy`, the flags every training tool takes."""
    parser.add_argument(
        "--distribute",
        action="store_true",
        help="train data-parallel over all visible devices (JAX: "
        "keras.distribution.DataParallel; TensorFlow: MirroredStrategy)",
    )
    parser.add_argument(
        "--dtype-policy",
        choices=DTYPE_POLICIES,
        default="float32",
        help="Keras dtype policy of the networks (losses stay float32)",
    )


def device_scope(args, parser=None):
    """Apply `--dtype-policy` and `--distribute`; the context to build and train in.

    The policy is set for the process (`keras.config.set_dtype_policy`)
    before any model is built. With `--distribute`, `data_parallel()` sets
    JAX's distribution, or gives TensorFlow's strategy, whose `scope()` is
    returned; on PyTorch the parser (if given) exits with the error that
    names the two supported backends.
    """
    import keras

    from savae_keras.distribution import data_parallel

    keras.config.set_dtype_policy(args.dtype_policy)
    if not args.distribute:
        return contextlib.nullcontext()
    try:
        distribution = data_parallel()
    except NotImplementedError as error:
        if parser is None:
            raise
        parser.error(f"--distribute: {error}")
    if keras.backend.backend() == "tensorflow":
        return distribution.scope()
    return contextlib.nullcontext()
