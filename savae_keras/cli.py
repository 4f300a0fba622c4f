"""Argument types of the package's command-line tools.

Each checks a flag when it is parsed, before any data is loaded or any
model trained, and reports the flag by name (argparse adds it):
`error: argument --epochs: must be an integer >= 1; received '0'`.
"""

import argparse
import math


def _number(kind, minimum, exclusive=False, maximum=None):
    wanted = "an integer" if kind is int else "a number"
    bound = f"> {minimum}" if exclusive else f">= {minimum}"
    if maximum is not None:
        bound += f" and <= {maximum}"

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
