"""Loss functions of the papers, in `keras.ops` (shared by all backends)."""

from savae_keras.losses.recursive import logit_crossentropy
from savae_keras.losses.recursive import reconstruction_error
from savae_keras.losses.recursive import weighted_step_mean
from savae_keras.losses.recursive import weighted_step_sum
from savae_keras.losses.savae import adversarial_loss
from savae_keras.losses.savae import categorical_crossentropy
from savae_keras.losses.savae import categorical_kl
from savae_keras.losses.savae import classification_loss
from savae_keras.losses.savae import consistency_loss
from savae_keras.losses.savae import critic_loss
from savae_keras.losses.savae import diversity_loss
from savae_keras.losses.savae import entropy_loss
from savae_keras.losses.savae import feature_consistency_loss
from savae_keras.losses.savae import feature_consistency_map
from savae_keras.losses.savae import kl_divergence
from savae_keras.losses.savae import labeled_mask
from savae_keras.losses.savae import latent_loss
from savae_keras.losses.savae import pixel_reconstruction_loss
from savae_keras.losses.savae import pseudo_label_mask
from savae_keras.losses.savae import squared_error_map
from savae_keras.losses.savae import teacher_decay
from savae_keras.losses.savae import teacher_loss
from savae_keras.losses.savae import unit_directions
from savae_keras.losses.savae import virtual_adversarial_perturbation

__all__ = [
    "logit_crossentropy",
    "reconstruction_error",
    "weighted_step_mean",
    "weighted_step_sum",
    "adversarial_loss",
    "categorical_crossentropy",
    "categorical_kl",
    "classification_loss",
    "consistency_loss",
    "critic_loss",
    "diversity_loss",
    "entropy_loss",
    "feature_consistency_loss",
    "feature_consistency_map",
    "kl_divergence",
    "labeled_mask",
    "latent_loss",
    "pixel_reconstruction_loss",
    "pseudo_label_mask",
    "squared_error_map",
    "teacher_decay",
    "teacher_loss",
    "unit_directions",
    "virtual_adversarial_perturbation",
]
