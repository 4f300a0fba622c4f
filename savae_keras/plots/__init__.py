"""Figures of the papers, written with matplotlib."""

from savae_keras.plots.images import save_image_grid
