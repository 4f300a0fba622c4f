"""A plain eager PyTorch loop of the package's default networks: the yardstick.

    python benchmarks/torch_reference.py --models vec decoder --batch-sizes 128

What a user would write by hand instead of this package: the four default
networks of `savae_keras.networks` (`build_encoder`, `build_classifier`,
`build_decoder`, `build_critic`) layer for layer in `torch.nn` (same widths,
kernels, residual blocks, BatchNorm placement, LeakyReLU slope, log-variance
clip), Adam with Keras's defaults, and the two training steps:

* `vec`: one step on `λ·L_kl + L_cat` (Algorithm 1, λ = 0.1);
* `decoder`: `n_critic = 5` rounds of two least-squares critic steps on the
  decoded images `Dec(Z)`, then one decoder step on
  `L_rec + β·L_adv + γ·L_latent` with β = 0.005, γ = 0.1 (Algorithm 2,
  as `AdversarialDecoder._train_step` orders it), the encoder and classifier
  frozen in inference mode.

It prints one `ROW {json}` per (model, batch size) in the format of
`benchmarks/throughput.py`, which runs it beside each backend
(`--reference`) and prints the package's speed as a ratio of this one.
Keep it in step with the network builders' defaults when they change.
"""

import argparse
import json
import resource
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

SLOPE = 0.2  # savae_keras.networks.savae.NEGATIVE_SLOPE
LOG_VARIANCE_RANGE = (-20.0, 10.0)  # savae_keras.layers.sampling
FEATURE_WEIGHTS = (1.0, 0.1, 0.01)
KL_WEIGHT, BETA, GAMMA, N_CRITIC, TARGET = 0.1, 0.005, 0.1, 5, 1.0


def adam(parameters):
    """Keras's Adam defaults (PyTorch's epsilon is 1e-8, Keras's 1e-7)."""
    return torch.optim.Adam(parameters, lr=1e-3, betas=(0.9, 0.999), eps=1e-7)


class Residual(nn.Module):
    """`ResidualBlock`: `x + W2·σ(BN(W1·x))` (BN after W2 too when asked)."""

    def __init__(self, width, conv, batch_norm, zero_init):
        super().__init__()
        make = (
            (lambda: nn.Conv2d(width, width, 3, padding=1, bias=not batch_norm))
            if conv
            else (lambda: nn.Linear(width, width, bias=not batch_norm))
        )
        norm = nn.BatchNorm2d if conv else nn.BatchNorm1d
        self.first, self.second = make(), make()
        self.norms = (
            nn.ModuleList([norm(width, eps=1e-3), norm(width, eps=1e-3)])
            if batch_norm
            else None
        )
        if zero_init and batch_norm:
            nn.init.zeros_(self.norms[1].weight)
        elif zero_init:
            nn.init.zeros_(self.second.weight)

    def forward(self, x):
        h = self.first(x)
        if self.norms is not None:
            h = self.norms[0](h)
        h = self.second(F.leaky_relu(h, SLOPE))
        if self.norms is not None:
            h = self.norms[1](h)
        return x + h


class Encoder(nn.Module):
    def __init__(self, channels=1, latent_dim=2, filters=(8, 8, 16, 16, 32, 32)):
        super().__init__()
        self.convs, self.blocks = nn.ModuleList(), nn.ModuleList()
        width = channels
        for f in filters:
            self.convs.append(nn.Conv2d(width, f, 3, padding=1))
            self.blocks.append(Residual(f, True, False, True))
            width = f
        self.dense = nn.ModuleList(
            [nn.Linear(7 * 7 * width, 128), nn.Linear(128, 64), nn.Linear(64, 32)]
        )
        self.z_mean, self.z_log_var = (
            nn.Linear(32, latent_dim),
            nn.Linear(32, latent_dim),
        )

    def forward(self, x):
        """`(z_mean, z_log_var, [F_1, F_2, F_3])`."""
        features = []
        for i, (conv, block) in enumerate(zip(self.convs, self.blocks), start=1):
            x = F.leaky_relu(block(conv(x)), SLOPE)
            if i <= 3:
                features.append(x)
            if i in (2, 4):
                x = F.max_pool2d(x, 2)
        x = x.permute(0, 2, 3, 1).flatten(1)  # Keras flattens channels last
        for dense in self.dense:
            x = F.leaky_relu(dense(x), SLOPE)
        log_var = self.z_log_var(x).clamp(*LOG_VARIANCE_RANGE)
        return self.z_mean(x), log_var, features


class Classifier(nn.Module):
    def __init__(self, latent_dim=2, classes=10, units=(32, 32, 32)):
        super().__init__()
        layers, width = [], latent_dim
        for u in units:
            layers += [
                nn.Linear(width, u, bias=False),
                nn.BatchNorm1d(u, eps=1e-3),
                nn.LeakyReLU(SLOPE),
                Residual(u, False, True, True),
            ]
            width = u
        self.body, self.out = nn.Sequential(*layers), nn.Linear(width, classes)

    def forward(self, z):
        return F.softmax(self.out(self.body(z)), dim=-1)


class Decoder(nn.Module):
    def __init__(self, channels=1, latent_dim=2, filters=(32, 32, 16, 16, 8, 8)):
        super().__init__()
        dense, width = [], latent_dim
        for u in (32, 128, 7 * 7 * filters[0]):
            dense += [
                nn.Linear(width, u, bias=False),
                nn.BatchNorm1d(u, eps=1e-3),
                nn.LeakyReLU(SLOPE),
            ]
            width = u
        self.dense, self.first = nn.Sequential(*dense), filters[0]
        self.stages, width = nn.ModuleList(), filters[0]
        for f in filters:
            self.stages.append(
                nn.Sequential(
                    nn.Conv2d(width, f, 3, padding=1, bias=False),
                    nn.BatchNorm2d(f, eps=1e-3),
                    nn.LeakyReLU(SLOPE),
                    Residual(f, True, True, False),
                )
            )
            width = f
        self.out = nn.Conv2d(width, channels, 3, padding=1)

    def forward(self, z):
        x = self.dense(z).view(-1, 7, 7, self.first).permute(0, 3, 1, 2)
        for i, stage in enumerate(self.stages, start=1):
            x = stage(x)
            if i in (2, 4):
                x = F.interpolate(x, scale_factor=2, mode="nearest")
        return torch.sigmoid(self.out(x))


class Critic(nn.Module):
    def __init__(self, channels=1, filters=(8, 16, 32), units=(128, 64, 32, 16)):
        super().__init__()
        convs, width = [], channels
        for i, f in enumerate(filters, start=1):
            convs += [nn.Conv2d(width, f, 3, padding=1), nn.LeakyReLU(SLOPE)]
            if i < 3:
                convs.append(nn.MaxPool2d(2))
            width = f
        dense, width = [], 7 * 7 * width
        for u in units:
            dense += [nn.Linear(width, u), nn.LeakyReLU(SLOPE)]
            width = u
        self.convs, self.dense = nn.Sequential(*convs), nn.Sequential(*dense)
        self.score = nn.Linear(width, 1)

    def forward(self, x):
        x = self.convs(x).permute(0, 2, 3, 1).flatten(1)
        return self.score(self.dense(x))


def sample(z_mean, z_log_var):
    return z_mean + torch.exp(0.5 * z_log_var) * torch.randn_like(z_mean)


def vec_step(encoder, classifier, optimizer, x, y):
    """Algorithm 1: one step on `λ·L_kl + L_cat`."""
    z_mean, z_log_var, _ = encoder(x)
    probabilities = classifier(sample(z_mean, z_log_var))
    kl = -0.5 * (1 + z_log_var - z_mean**2 - z_log_var.exp()).sum(-1).mean()
    cat = F.nll_loss(torch.log(probabilities.clamp_min(1e-7)), y)
    optimizer.zero_grad(set_to_none=True)
    (KL_WEIGHT * kl + cat).backward()
    optimizer.step()


def decoder_step(nets, optimizers, x):
    """Algorithm 2: `n_critic` rounds of two critic steps, one decoder step."""
    encoder, classifier, decoder, critic = nets
    decoder_optimizer, critic_optimizer = optimizers
    with torch.no_grad():
        z_mean, z_log_var, features = encoder(x)
        z = sample(z_mean, z_log_var)
        x_gen = decoder(z)
    for _ in range(N_CRITIC):
        for images, target in ((x, TARGET), (x_gen, -TARGET)):
            critic_optimizer.zero_grad(set_to_none=True)
            ((target - critic(images)) ** 2).mean().backward()
            critic_optimizer.step()
    with torch.no_grad():
        real_scores = critic(x)
        class_z = classifier(z)
    x_hat = decoder(z)
    z_hat_mean, z_hat_log_var, features_hat = encoder(x_hat)
    rec = sum(
        a * ((f - g) ** 2).mean()
        for a, f, g in zip(FEATURE_WEIGHTS, features, features_hat)
    )
    adv = ((real_scores - critic(x_hat)) ** 2).mean()
    lat = ((class_z - classifier(sample(z_hat_mean, z_hat_log_var))) ** 2).mean()
    decoder_optimizer.zero_grad(set_to_none=True)
    (rec + BETA * adv + GAMMA * lat).backward()
    decoder_optimizer.step()


def measure(name, batch_size, warmup, steps):
    """Images per second of `steps` timed steps after `warmup` untimed ones."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.uniform(0, 1, (batch_size, 1, 28, 28)).astype("float32"))
    y = torch.from_numpy(rng.integers(0, 10, batch_size))
    encoder, classifier = Encoder(), Classifier()
    if name == "vec":
        optimizer = adam([*encoder.parameters(), *classifier.parameters()])
        step = lambda: vec_step(encoder, classifier, optimizer, x, y)  # noqa: E731
    elif name == "decoder":
        encoder.eval(), classifier.eval()  # frozen, inference mode
        for p in [*encoder.parameters(), *classifier.parameters()]:
            p.requires_grad_(False)
        decoder, critic = Decoder(), Critic()
        nets = (encoder, classifier, decoder, critic)
        optimizers = (adam(decoder.parameters()), adam(critic.parameters()))
        step = lambda: decoder_step(nets, optimizers, x)  # noqa: E731
    else:
        raise ValueError(f"unknown model {name!r}; choose vec or decoder")
    start = time.perf_counter()
    for _ in range(warmup):
        step()
    warmup_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - start
    return {
        "backend": "plain torch",
        "model": name,
        "batch_size": batch_size,
        "images_per_second": batch_size * steps / seconds,
        "first_steps_seconds": warmup_seconds,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads": torch.get_num_threads(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["vec", "decoder"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[128])
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args(argv)
    for name in args.models:
        for batch_size in args.batch_sizes:
            row = measure(name, batch_size, args.warmup, args.steps)
            print("ROW " + json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
