"""The presets of `RecursiveAutoencoderGAN`: the rows of Radpour's Table 1.

Each row trains at the report's settings: Adam at 0.005 for the
autoencoder and 0.001 for the discriminator, CIFAR-10 images, and the
report's epochs (200, 150 and 20). The report states no batch size, no
adversarial weight and no normalisation; these use 64, the package's
λ = 0.001, and batch normalisation in the autoencoder, without which our
networks diverge at the report's rate (docs/results/recursive-gan.md).
"""

_CIFAR10 = {
    "input_shape": (32, 32, 3),
    "reconstruction_loss": "bce",
    "batch_norm": True,
}

RECURSIVE_AUTOENCODER_GAN_PRESETS = {
    "report_autoencoder": {
        "description": "Table 1, autoencoder: CIFAR-10, BCE, Adam 0.005, 200 "
        "epochs (the report trains on 10,000 images), batch normalisation.",
        "results": "docs/results/recursive-gan.md",
        "config": {**_CIFAR10, "recursion_steps": 0, "adversarial_weight": 0.0},
        "optimizer": {},
        "fit": {"epochs": 200},
    },
    "report_recursive_autoencoder": {
        "description": "Table 1, recursive autoencoder: k = 2 recursion steps, "
        "CIFAR-10, BCE, Adam 0.005, 150 epochs, batch normalisation.",
        "results": "docs/results/recursive-gan.md",
        "config": {**_CIFAR10, "recursion_steps": 2, "adversarial_weight": 0.0},
        "optimizer": {},
        "fit": {"epochs": 150},
    },
    "report_autoencoder_gan": {
        "description": "Table 1, autoencoder with GAN: the report's game "
        "schedule, CIFAR-10, BCE, Adam 0.005 / 0.001, 20 epochs (on 20,000 "
        "images in the report), batch normalisation.",
        "results": "docs/results/recursive-gan.md",
        "config": {**_CIFAR10, "recursion_steps": 0, "game_schedule": "report"},
        "optimizer": {},
        "fit": {"epochs": 20},
    },
    "report_mnist_autoencoder": {
        "description": "The report's MNIST autoencoder: MSE, Adam 0.005, 100 "
        "epochs (on 3,000 images in the report), batch normalisation.",
        "results": "docs/results/recursive-gan.md",
        "config": {
            "input_shape": (28, 28, 1),
            "reconstruction_loss": "mse",
            "recursion_steps": 0,
            "adversarial_weight": 0.0,
            "batch_norm": True,
        },
        "optimizer": {},
        "fit": {"epochs": 100},
    },
    "tiny": {
        "description": "MNIST-sized, one recursion step and the adversarial "
        "term, one epoch: for tests and trying the API.",
        "results": "",
        "config": {"input_shape": (28, 28, 1), "latent_dim": 4, "recursion_steps": 1},
        "optimizer": {},
        "fit": {"epochs": 1},
    },
}
