"""What the latent code carries: the best decoder of a frozen encoder's `μ(x)`.

    KERAS_BACKEND=tensorflow python benchmarks/latent_probe.py --latent-dim 2 100

Issue 14's hypothesis 2: phase 1 rewards only class information and KL, so
`z` may carry little of an image's style, and no phase-2 decoder could draw
more than class averages. The probe measures it. Each encoder below trains for
`--encoder-steps` batches of the whole training split; it is then frozen and
a fresh `build_decoder` (the package's default decoder) is trained on
`(μ(x), x)` with the pixel binary cross-entropy for `--probe-steps`, with
plain `keras.Model.fit`. Steps, not seconds: the question is what the code
holds, not how fast each model gets there. Scored on `--num-samples` test
images: pixel MSE, SSIM, and the label consistency of the probe's
reconstructions (judged by the reference classifier).

Encoders:

* `vec_paper`: phase 1 of the paper (KL + cross-entropy; the package defaults);
* `vec_pixel`: phase 1 with the pixel term (`reconstruction_weight` 1; beyond
  the paper, the "pixel" recipe);
* `vae`: the VAE baseline's encoder (ELBO).

Two anchors that need no training are printed too: `class_mean` (every test
image replaced by the mean training image of its true class: what a code
holding the class alone allows at best, in MSE) and `dataset_mean`.
"""

import argparse
import time

from common import add_run_arguments
from common import row_writer
from common import stop_after

from savae_keras.cli import quiet_per_model_retracing

ENCODERS = ("vec_paper", "vec_pixel", "vae")


def epochs_for(steps, n, batch_size):
    return -(-steps * batch_size // n)  # ceil: the callback ends the last one


def train_encoder(name, spec, latent_dim, x, y, args):
    """The trained model whose `encode` is probed, and its steps."""
    import keras

    import savae_keras as sk
    from savae_keras.experiments.savae import optimizer_steps

    keras.utils.set_random_seed(args.seed)
    if name == "vae":
        model = sk.VAE(spec.image_shape, latent_dim, seed=args.seed)
        labels = None
    else:
        # the paper's phase 1, or with the pixel term (a semi-supervised VAE)
        pixel = {"reconstruction_weight": 1.0, "kl_weight": 1.0}
        options = {} if name == "vec_paper" else pixel
        model = sk.VariationalEncoderClassifier(
            spec.image_shape, spec.num_classes, latent_dim, seed=args.seed, **options
        )
        labels = y
    model.compile()
    model.fit(
        x,
        labels,
        batch_size=args.batch_size,
        epochs=epochs_for(args.encoder_steps, len(x), args.batch_size),
        verbose=0,
        callbacks=[stop_after(args.encoder_steps)],
    )
    return model, optimizer_steps(model)


def probe(codes, x, test_codes, args):
    """A fresh default decoder fitted to `codes -> x`; its test reconstructions."""
    import keras

    import savae_keras as sk
    from savae_keras.experiments.savae import optimizer_steps

    keras.utils.set_random_seed(args.seed)
    decoder = sk.networks.build_decoder(x.shape[1:], codes.shape[1])
    decoder.compile(optimizer="adam", loss="binary_crossentropy")
    start = time.perf_counter()
    history = decoder.fit(
        codes,
        x,
        batch_size=args.batch_size,
        epochs=epochs_for(args.probe_steps, len(x), args.batch_size),
        verbose=0,
        callbacks=[stop_after(args.probe_steps)],
    )
    seconds = time.perf_counter() - start
    steps = optimizer_steps(decoder)
    reconstructions = decoder.predict(test_codes, batch_size=256, verbose=0)
    return reconstructions, {
        "probe_steps": steps,
        "probe_epochs": len(history.epoch),
        "probe_seconds": round(seconds, 1),
    }


def scores(reference, images, labels, reconstructions):
    from savae_keras.metrics import label_consistency
    from savae_keras.metrics import reconstruction_metrics

    metrics = reconstruction_metrics(images, reconstructions)
    return {
        "mse": round(float(metrics["mse"]), 5),
        "ssim": round(float(metrics["ssim"]), 4),
        "label_consistency": round(
            float(label_consistency(reference, reconstructions, labels)), 4
        ),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(parser)
    parser.add_argument("--encoders", nargs="+", choices=ENCODERS, default=ENCODERS)
    parser.add_argument("--latent-dim", type=int, nargs="+", default=[2, 100])
    parser.add_argument("--train-size", type=int, default=60000)
    parser.add_argument("--encoder-steps", type=int, default=800)
    parser.add_argument("--probe-steps", type=int, default=300)
    args = parser.parse_args(argv)
    quiet_per_model_retracing()

    import numpy as np

    from savae_keras.data import get_spec
    from savae_keras.data import load_dataset
    from savae_keras.metrics import reference_classifier

    spec = get_spec(args.dataset)
    x, y = load_dataset(args.dataset, "train")
    x, y = x[: args.train_size], y[: args.train_size]
    x_test, y_test = load_dataset(args.dataset, "test")
    chosen = np.random.default_rng(args.seed).choice(
        len(x_test), size=args.num_samples, replace=False
    )
    x_test, y_test = x_test[np.sort(chosen)], y_test[np.sort(chosen)]
    images = x.astype("float32") / 255.0  # the probe's targets, in [0, 1]
    test_images = x_test.astype("float32") / 255.0
    reference = reference_classifier(args.dataset)
    emit = row_writer(args, len(x), reference)

    class_means = np.stack([images[y == c].mean(0) for c in range(spec.num_classes)])
    anchors = {
        "class_mean": class_means[y_test],
        "dataset_mean": np.broadcast_to(images.mean(0), test_images.shape),
    }
    for name, reconstructions in anchors.items():
        emit(
            {
                "encoder": name,
                **scores(reference, test_images, y_test, reconstructions),
            }
        )

    for latent_dim in args.latent_dim:
        for name in args.encoders:
            start = time.perf_counter()
            model, steps = train_encoder(name, spec, latent_dim, x, y, args)
            encoder_seconds = time.perf_counter() - start
            reconstructions, done = probe(
                model.encode(x), images, model.encode(x_test), args
            )
            row = {
                "encoder": name,
                "latent_dim": latent_dim,
                "encoder_steps": steps,
                "encoder_seconds": round(encoder_seconds, 1),
                **done,
                **scores(reference, test_images, y_test, reconstructions),
            }
            if "classify" in model.capabilities:
                probabilities = model.classify(x_test)
                row["vec_accuracy"] = round(
                    float((probabilities.argmax(-1) == y_test).mean()), 4
                )
            emit(row)


if __name__ == "__main__":
    main()
