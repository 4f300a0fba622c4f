"""Phase 1 with few labels: VEC test accuracy at a fixed budget.

    KERAS_BACKEND=tensorflow python benchmarks/semi_supervised.py \\
        --labeled-fraction 0.01 --shares none 0.25 --steps 512
    KERAS_BACKEND=tensorflow python benchmarks/semi_supervised.py \\
        --train-size 60000 --labels-per-class 10 --shares 0.25 \\
        --consistency-weights 0 1 --latent-dim 100 --seconds 600 --clock cpu

Issue 15's yardstick for phase 1: a VEC trained on `--train-size` MNIST
training images of which a seeded, class-balanced `--labeled-fraction` (or
exactly `--labels-per-class`) keep their labels (the rest are -1), with the
labels batched as they come (`none`) or with a `labeled_share` of every
batch, with and without the FixMatch term (`--consistency-weights`) and the
pixel term (`--reconstruction-weight`, with `--kl-weight`), with every
batch augmented (`--augmentation`; `flip`, `shift` and `flip-shift` are
Keras layers of the user's own) and with virtual adversarial training and
entropy minimisation (`--vat-weight`, `--entropy-weight`), with a mean
teacher (`--teacher-weight`, `--teacher-decay`), with the encoder's widths
(`--conv-filters`, `--dense-units`), with the learning rate falling to 0
along a cosine over the time budget (`--cosine-decay`), for exactly
`--steps` optimizer steps of `--batch-size` or for `--seconds` (the same
time for every variant: a FixMatch step costs more). `vec_accuracy` is the
VEC that `fit` leaves, as `classify` scores it (with a teacher, the
teacher's weights: `fit` ends with `adopt_teacher`). Scored on
the whole test split (or its first `--test-size` images: on MNIST the
first 2,000 are harder than the rest, so a VEC scores about 3 points lower
on them than on all 10,000). One JSON line per (share, weight, seed).

`--curve-every S` also scores the VEC every S seconds of the budget
(`curve`: `[seconds, steps, accuracy]` rows, the VEC as it trains, and the
mean teacher's accuracy with a teacher): the scoring's own time is
left out of the budget, so the last row is the run's.
"""

import argparse
import json
import math
import time

from common import stop_after

from savae_keras.cli import quiet_per_model_retracing
from savae_keras.layers.augmentation import STRENGTHS


def teacher_accuracy(vec, x_test, y_test, batch_size=500):
    """The mean teacher's test accuracy (None without a teacher)."""
    import numpy as np

    if not vec.teacher_variables:
        return None
    predicted = np.concatenate(
        [
            np.asarray(
                vec.teacher_probabilities(
                    x_test[i : i + batch_size].astype("float32") / 255
                )
            )
            for i in range(0, len(x_test), batch_size)
        ]
    ).argmax(-1)
    return round(float(np.mean(predicted == y_test)), 4)


def accuracy_curve(vec, x_test, y_test, every, limit):
    """A callback that scores `vec` each `every` seconds of `limit`'s clock
    and moves `limit`'s start on by the scoring's time (not the budget's)."""
    import keras
    import numpy as np

    class Curve(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rows = []

        def on_train_batch_end(self, batch, logs=None):
            elapsed = limit._now() - limit.start
            if elapsed < every * (len(self.rows) + 1):
                return
            began = limit._now()
            if hasattr(vec, "jax_state_sync"):
                vec.jax_state_sync()
            predicted = vec.classify(x_test).argmax(-1)
            steps = int(keras.ops.convert_to_numpy(vec.trained_steps.value))
            accuracy = float(np.mean(predicted == y_test))
            row = [round(elapsed, 1), steps, round(accuracy, 4)]
            if vec.teacher_variables:  # and the teacher's
                row.append(teacher_accuracy(vec, x_test, y_test))
            self.rows.append(row)
            limit.start += limit._now() - began

    return Curve()


def encoder_options(args):
    """`--conv-filters` and `--dense-units` as the VEC's `encoder_options`."""
    options = {}
    if args.conv_filters:
        options["conv_filters"] = tuple(args.conv_filters)
    if args.dense_units:
        options["dense_units"] = tuple(args.dense_units)
    return options


def augmentation_of(name, seed):
    """`--augmentation` as the VEC's `augmentation`: the package's `weak` or
    `strong`, or one of the user's own Keras layers.

    A mirrored garment is the same garment (Fashion-MNIST), a mirrored
    digit is not: the package's `weak` and `strong` never flip one-channel
    images, so `flip` is passed as the user's own layer. `shift` moves the
    image by up to 10 % with zeros coming in (the package's shifts repeat
    the edge pixels, `fill_mode="nearest"`, which smears a garment that
    fills the frame); `flip-shift` is both.
    """
    import keras

    flip = keras.layers.RandomFlip("horizontal", seed=seed + 20)
    shift = keras.layers.RandomTranslation(
        0.1, 0.1, fill_mode="constant", fill_value=0.0, seed=seed + 21
    )
    layers = {"flip": [flip], "shift": [shift], "flip-shift": [flip, shift]}
    if name not in layers:
        return name
    return layers[name][0] if len(layers[name]) == 1 else keras.Sequential(layers[name])


def run(share, consistency_weight, args, seed):
    import keras
    import numpy as np

    import savae_keras as sk
    from savae_keras.callbacks import CosineDecayOverTime
    from savae_keras.callbacks import TimeLimit

    x, y = sk.data.load_dataset(args.dataset, "train")
    x, y = x[: args.train_size], y[: args.train_size]
    labels = sk.data.mask_labels(
        y, args.labeled_fraction, seed=seed, labels_per_class=args.labels_per_class
    )
    x_test, y_test = sk.data.load_dataset(args.dataset, "test")
    x_test, y_test = x_test[: args.test_size], y_test[: args.test_size]
    spec = sk.data.get_spec(args.dataset)
    options = encoder_options(args)
    keras.utils.set_random_seed(seed)
    vec = sk.VariationalEncoderClassifier(
        spec.image_shape,
        spec.num_classes,
        args.latent_dim,
        consistency_weight=consistency_weight,
        confidence_threshold=args.confidence_threshold,
        reconstruction_weight=args.reconstruction_weight,
        kl_weight=args.kl_weight,
        augmentation=augmentation_of(args.augmentation, seed),
        vat_weight=args.vat_weight,
        vat_epsilon=args.vat_epsilon,
        vat_xi=args.vat_xi,
        entropy_weight=args.entropy_weight,
        teacher_weight=args.teacher_weight,
        teacher_decay=args.teacher_decay,
        teacher_rampup_steps=args.teacher_rampup_steps,
        encoder_options=options,
        seed=seed,
    )
    vec.compile()
    batches = sk.data.ImageBatches(
        x,
        labels,
        batch_size=args.batch_size,
        seed=seed,
        labeled_share=None if share == "none" else float(share),
    )

    if args.seconds:
        epochs, budget = 10_000, TimeLimit(args.seconds, args.clock)
    else:
        epochs, budget = math.ceil(args.steps / len(batches)), stop_after(args.steps)
    callbacks = [budget]
    if args.cosine_decay:
        if not args.seconds:
            raise SystemExit("--cosine-decay needs --seconds")
        callbacks = [CosineDecayOverTime(budget), budget]
    if args.curve_every:
        if not args.seconds:
            raise SystemExit("--curve-every needs --seconds")
        curve = accuracy_curve(vec, x_test, y_test, args.curve_every, budget)
        callbacks = [curve, *callbacks]  # the curve moves the budget's start first
    start = time.perf_counter()
    logs = vec.fit(batches, epochs=epochs, verbose=0, callbacks=callbacks).history
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(vec.classify(x_test).argmax(-1) == y_test))
    history = vec.evaluate(x_test, y_test, verbose=0, return_dict=True)
    return {
        "labeled_share": share,
        "consistency_weight": consistency_weight,
        "reconstruction_weight": args.reconstruction_weight,
        "kl_weight": args.kl_weight,
        "augmentation": args.augmentation,
        "vat_weight": args.vat_weight,
        "vat_epsilon": args.vat_epsilon,
        "vat_xi": args.vat_xi,
        "entropy_weight": args.entropy_weight,
        "teacher_weight": args.teacher_weight,
        "teacher_decay": args.teacher_decay,
        "teacher_rampup_steps": args.teacher_rampup_steps,
        "encoder_options": options,
        "cosine_decay": args.cosine_decay,
        "curve": curve.rows if args.curve_every else None,
        "teacher_accuracy": teacher_accuracy(vec, x_test, y_test),
        # the term's pseudo-labels passing τ in the last epoch (None without it)
        "confident_share": round(float(logs["confident_share"][-1]), 3)
        if "confident_share" in logs
        else None,
        "labeled_images": int(np.sum(labels >= 0)),
        "steps": int(keras.ops.convert_to_numpy(vec.trained_steps.value)),
        "vec_accuracy": round(accuracy, 4),
        "test_images": len(y_test),
        "test_kl": round(float(history["kl_loss"]), 4),
        "train_seconds": round(seconds, 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--train-size", type=int, default=4096)
    parser.add_argument("--labeled-fraction", type=float, default=0.01)
    parser.add_argument("--labels-per-class", type=int, default=None)
    parser.add_argument("--shares", nargs="+", default=["none", "0.25"])
    parser.add_argument("--consistency-weights", type=float, nargs="+", default=[0])
    parser.add_argument("--confidence-threshold", type=float, default=0.95)
    parser.add_argument(
        "--reconstruction-weight",
        type=float,
        default=0.0,
        help="the pixel term of phase 1 (beyond the paper: every image, "
        "labeled or not, then teaches the encoder)",
    )
    parser.add_argument("--kl-weight", type=float, default=0.1, help="λ")
    parser.add_argument(
        "--augmentation",
        choices=[*STRENGTHS, "flip", "shift", "flip-shift"],
        default=None,
        help="augment every training batch (beyond the paper); flip: a "
        "random horizontal flip only; shift: a shift of up to 10 %% with zeros "
        "coming in; flip-shift: both",
    )
    parser.add_argument(
        "--vat-weight",
        type=float,
        default=0.0,
        help="η of VAT (virtual adversarial training)",
    )
    parser.add_argument("--vat-epsilon", type=float, default=2.0, help="VAT's ε")
    parser.add_argument("--vat-xi", type=float, default=1e-2, help="VAT's ξ")
    parser.add_argument(
        "--entropy-weight", type=float, default=0.0, help="κ of entropy minimisation"
    )
    parser.add_argument(
        "--teacher-weight", type=float, default=0.0, help="ν of the mean teacher"
    )
    parser.add_argument("--teacher-decay", type=float, default=0.99, help="its α")
    parser.add_argument("--teacher-rampup-steps", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=None, help="not --steps")
    parser.add_argument(
        "--curve-every",
        type=float,
        default=None,
        help="score the VEC every this many seconds of the budget",
    )
    parser.add_argument(
        "--cosine-decay",
        action="store_true",
        help="the learning rate falls to 0 along a cosine over --seconds",
    )
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    parser.add_argument("--latent-dim", type=int, default=2)
    parser.add_argument(
        "--conv-filters",
        type=int,
        nargs=6,
        default=None,
        help="the encoder's six convolution widths (default: build_encoder's)",
    )
    parser.add_argument(
        "--dense-units",
        type=int,
        nargs=3,
        default=None,
        help="the encoder's three dense widths (default: build_encoder's)",
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=512)
    parser.add_argument(
        "--test-size",
        type=int,
        default=None,
        help="score on the first N test images (default: all of them)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args(argv)
    if args.labels_per_class:
        args.labeled_fraction = 1.0
    quiet_per_model_retracing()
    for seed in args.seeds:
        for share in args.shares:
            for weight in args.consistency_weights:
                row = run(share, weight, args, seed)
                print(
                    json.dumps(
                        {
                            "dataset": args.dataset,
                            "train_size": args.train_size,
                            "labeled_fraction": args.labeled_fraction,
                            "labels_per_class": args.labels_per_class,
                            "budget": f"{args.seconds} s ({args.clock})"
                            if args.seconds
                            else f"{args.steps} steps",
                            "latent_dim": args.latent_dim,
                            "batch_size": args.batch_size,
                            "seed": seed,
                            **row,
                        }
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
