"""TensorFlow's start-up lines, kept off the console of our own tools.

Importing TensorFlow prints info lines from C++ before its logging is set
up (`oneDNN custom operations are on`, `cpu_feature_guard`), which no
environment variable of TensorFlow's silences. The package's command lines
(`python -m savae_keras.<tool>`, the scripts in `examples/`, `tuning/` and
`benchmarks/`) import Keras with those lines filtered from the standard
error stream; everything else written there passes through. A user's own
`import savae_keras` filters nothing and sets nothing.

Importing this module imports neither Keras nor TensorFlow: the
package's `__init__` uses it before importing them (and `quiet_start`
imports TensorFlow itself, for our command lines only).
"""

import contextlib
import importlib
import importlib.util
import os
import sys
import tempfile
import warnings
from pathlib import Path

__all__ = [
    "STARTUP_LINES",
    "filtered_stderr",
    "quiet_start",
    "started_by_our_command_line",
]

# Substrings of the lines dropped; each is a line TensorFlow prints as it
# loads, before absl's logging is initialised.
STARTUP_LINES = (
    "All log messages before absl::InitializeLog() is called",
    "oneDNN custom operations are on",
    "cpu_feature_guard.cc",
    "rebuild TensorFlow with the appropriate compiler flags",
)
SCRIPT_FOLDERS = ("examples", "tuning", "benchmarks")
_ROOT = Path(__file__).resolve().parent.parent


def started_by_our_command_line(argv=None, main_file=None):
    """Whether this process is one of the package's command-line tools.

    Args:
        argv: the interpreter's command line (default `sys.orig_argv`).
        main_file: the `__main__` module's file (default: read from
            `sys.modules["__main__"]`).

    Returns:
        True for `python -m savae_keras.<tool>` and for a script in the
        repository's `examples/`, `tuning/` or `benchmarks/` folder.
    """
    argv = list(getattr(sys, "orig_argv", []) if argv is None else argv)
    if "-m" in argv[:-1] and argv[argv.index("-m") + 1].startswith("savae_keras"):
        return True
    if main_file is None:
        main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if not main_file:
        return False
    path = Path(main_file).resolve()
    return path.parent.name in SCRIPT_FOLDERS and path.parent.parent == _ROOT


@contextlib.contextmanager
def filtered_stderr(drop=STARTUP_LINES, enabled=True):
    """Runs the block with the lines of standard error that contain one of
    `drop` removed (at the file-descriptor level, so C++ output too).

    The rest is written back, in order, when the block ends.

    Example:

    ```python
    from savae_keras.console import filtered_stderr

    with filtered_stderr():
        import tensorflow
    ```
    """
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read().decode(errors="replace")
            kept = [
                line
                for line in text.splitlines(keepends=True)
                if not any(part in line for part in drop)
            ]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


@contextlib.contextmanager
def quiet_start():
    """The package's import, quiet when one of our command lines runs it.

    For our own tools only (`started_by_our_command_line`): TensorFlow's
    start-up lines are dropped, and so is runpy's warning that
    `python -m savae_keras.<tool>` finds its module already imported by
    the package. Otherwise it changes nothing.
    """
    ours = started_by_our_command_line()
    if ours:
        warnings.filterwarnings(
            "ignore",
            message=r"'savae_keras\..*' found in sys.modules",
            category=RuntimeWarning,
        )
    with filtered_stderr(enabled=ours):
        # Keras imports TensorFlow where it is installed, on every backend,
        # at moments of its own (serialising a config, say): our tools
        # import it here, where its lines are dropped.
        if ours and importlib.util.find_spec("tensorflow") is not None:
            importlib.import_module("tensorflow")
        yield
