"""Figures of the papers, written with matplotlib."""

from savae_keras.plots.images import plot_beta_gamma_grid
from savae_keras.plots.images import plot_generations
from savae_keras.plots.images import plot_history
from savae_keras.plots.images import plot_latent_grid
from savae_keras.plots.images import plot_latent_space
from savae_keras.plots.images import plot_objective_over_beta
from savae_keras.plots.images import plot_reconstruction_pairs
from savae_keras.plots.images import plot_side_by_side
from savae_keras.plots.images import save_image_grid
from savae_keras.plots.model_figures import write_figures
from savae_keras.plots.signals import plot_generated_series
from savae_keras.plots.signals import plot_series_reconstructions
