"""KerasTuner search over SAVAE's β and γ (needs the `tuning` extra).

Phase 1 is trained once; each trial trains a decoder only (see
`search_beta_gamma`). The command-line script is `tuning/search_beta_gamma.py`.
"""

from savae_keras.tuning.hypermodel import OBJECTIVE
from savae_keras.tuning.hypermodel import DecoderHyperModel
from savae_keras.tuning.search import TUNERS
from savae_keras.tuning.search import make_tuner
from savae_keras.tuning.search import search_beta_gamma
