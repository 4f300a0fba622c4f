"""Figures of the papers, written with matplotlib."""

from savae_keras.plots.images import plot_beta_gamma_grid
from savae_keras.plots.images import plot_generations
from savae_keras.plots.images import plot_history
from savae_keras.plots.images import plot_latent_grid
from savae_keras.plots.images import plot_latent_space
from savae_keras.plots.images import plot_objective_over_beta
from savae_keras.plots.images import plot_reconstruction_pairs
from savae_keras.plots.images import plot_side_by_side
from savae_keras.plots.images import plot_test_curves
from savae_keras.plots.images import save_image_grid
from savae_keras.plots.model_figures import write_figures
from savae_keras.plots.signals import plot_generated_series
from savae_keras.plots.signals import plot_series_reconstructions

__all__ = [
    "plot_beta_gamma_grid",
    "plot_generations",
    "plot_history",
    "plot_latent_grid",
    "plot_latent_space",
    "plot_objective_over_beta",
    "plot_reconstruction_pairs",
    "plot_side_by_side",
    "plot_test_curves",
    "save_image_grid",
    "write_figures",
    "plot_generated_series",
    "plot_series_reconstructions",
]
