"""KerasTuner search from a SAVAE preset (needs the `tuning` extra).

β and γ by default, any preset setting on request; when only phase-2
settings are searched, phase 1 is trained once and every trial trains
phase 2 alone (see `search_savae`). The command-line script is
`tuning/search_beta_gamma.py`.
"""

from savae_keras.tuning.hypermodel import DEFAULT_SPACE
from savae_keras.tuning.hypermodel import OBJECTIVE
from savae_keras.tuning.hypermodel import OBJECTIVES
from savae_keras.tuning.hypermodel import SAVAEHyperModel
from savae_keras.tuning.hypermodel import check_space
from savae_keras.tuning.search import TUNERS
from savae_keras.tuning.search import make_tuner
from savae_keras.tuning.search import search_savae

__all__ = [
    "DEFAULT_SPACE",
    "OBJECTIVE",
    "OBJECTIVES",
    "SAVAEHyperModel",
    "check_space",
    "TUNERS",
    "make_tuner",
    "search_savae",
]
