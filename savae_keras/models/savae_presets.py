"""The presets of `SAVAE` (`SAVAE.from_preset(name)`; `savae_keras.presets`).

Each names what it measured in the docs (`results`). Options beyond the
paper are named as such in the constructors' docstrings; the `paper` preset
has none of them.
"""

# The networks of the test suite: a few channels per layer.
TINY_NETWORKS = {
    "encoder_options": {
        "conv_filters": (4, 4, 4, 4, 8, 8),
        "dense_units": (16, 16, 16),
    },
    "classifier_options": {"units": (8, 8, 8)},
    "decoder_options": {"dense_units": (8, 16), "conv_filters": (8, 8, 4, 4, 4, 4)},
    "critic_options": {"conv_filters": (4, 4, 4), "dense_units": (8, 8, 8, 8)},
}

# Phase 1 with the pixel likelihood and the KL at a hundredth of the
# cross-entropy's weight (M2's weighting), phase 2 starting from its decoder
# with one critic round per decoder step (beyond the paper).
_PIXEL_LIGHT = {
    "reconstruction_weight": 0.01,
    "kl_weight": 0.01,
    "warm_start": True,
    "n_critic": 1,
}
_SPECTRAL_CRITIC = {"critic_options": {"spectral_normalization": True}}
_SECONDS = {"vec_share": 1 / 3, "batch_size": 64}

SAVAE_PRESETS = {
    "paper": {
        "description": "Algorithms 1 and 2 as printed: latent 2, β 0.005, γ 0.1, "
        "five critic rounds per decoder step, Adam 1e-3; 150 s.",
        "results": "docs/results/savae-vs-vae.md",
        "config": {},
        "optimizer": {},
        "fit": {"seconds": 150.0, **_SECONDS},
    },
    "quick": {
        "description": "make main: the paper's losses with one critic round, a "
        "spectrally normalised critic, weight averaging, the pixel term in "
        "phase 1 and the mode-seeking term within each class in phase 2; "
        "latent 2, 150 s, 70 % on phase 1.",
        "results": "docs/results/savae-vs-vae.md#presets",
        "config": {
            **_PIXEL_LIGHT,
            **_SPECTRAL_CRITIC,
            "diversity_weight": 0.005,
            "diversity_pairs": "class",
        },
        "optimizer": {"ema": True},
        "fit": {"seconds": 150.0, "vec_share": 0.7, "batch_size": 64},
    },
    "latent100": {
        "description": "The best at latent 100: pixel term in phase 1, warm "
        "start, normalised critic, pixel and prior-sample terms and the "
        "mode-seeking term within each class in phase 2, weight averaging; "
        "600 s, half on phase 1.",
        "results": "docs/results/options.md",
        "config": {
            "latent_dim": 100,
            **_PIXEL_LIGHT,
            **_SPECTRAL_CRITIC,
            "pixel_weight": 1.0,
            "prior_weight": 1.0,
            "diversity_weight": 0.015,
            "diversity_pairs": "class",
        },
        "optimizer": {"ema": True},
        "fit": {"seconds": 600.0, "vec_share": 0.5, "batch_size": 64},
    },
    "few_labels": {
        "description": "Few labels (e.g. 10 per class): latent 100, the pixel "
        "term in phase 1, strong augmentation, a mean teacher, a quarter of "
        "each batch labeled; 1,200 s, three quarters on phase 1.",
        "results": "docs/results/few-labels.md#mean-teacher",
        "config": {
            "latent_dim": 100,
            **_PIXEL_LIGHT,
            "augmentation": "strong",
            "teacher_weight": 10.0,
            "teacher_rampup_steps": 2000,
        },
        "optimizer": {},
        "fit": {
            "seconds": 1200.0,
            "vec_share": 0.75,
            "labeled_share": 0.25,
            "batch_size": 64,
        },
    },
    "signals": {
        "description": "1-D signals (pass input_shape and num_classes): latent "
        "16, the paper's losses, 40 + 10 epochs of batch 32.",
        "results": "docs/results/signals.md",
        "config": {"latent_dim": 16},
        "optimizer": {},
        "fit": {"encoder_epochs": 40, "decoder_epochs": 10, "batch_size": 32},
    },
    "tiny": {
        "description": "Networks of a few channels and one critic round, one "
        "epoch per phase: for tests and trying the API.",
        "results": "",
        "config": {"n_critic": 1, **TINY_NETWORKS},
        "optimizer": {},
        "fit": {"encoder_epochs": 1, "decoder_epochs": 1, "batch_size": 64},
    },
}
