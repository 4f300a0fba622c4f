"""The report's comparison: autoencoder, recursive autoencoder, AE with GAN.

Radpour (2021), Table 1 (CIFAR-10, 10,000 training images, test BCE):
autoencoder 0.553, recursive autoencoder 0.559, autoencoder with GAN 0.593.
On MNIST the report gives a plain autoencoder test MSE of 0.014 (3,000
training images, 100 epochs). `run` trains the three rows' presets of
`RecursiveAutoencoderGAN` (`VARIANTS`) on a stated budget (epochs, images,
the autoencoder's learning rate override the presets'; `epochs=None` keeps
each preset's own, the report's) and writes a table of test BCE, MSE, PSNR
and SSIM of one pass beside those numbers, and a figure of inputs and
reconstructions. With `curve_every`, it also scores the test BCE during
training and draws it against epochs (`curve.png`), so a run shorter than
the report's shows its trend. With `backup_dir`, an interrupted run resumes
where it stopped when the same `run` is called again (the report's 150
epochs of the recursive row take hours on a CPU).
"""

import json
import os
import time

import keras
import numpy as np

from savae_keras.data import load_dataset
from savae_keras.data.checks import check_choice
from savae_keras.data.checks import check_number
from savae_keras.data.checks import to_float_images
from savae_keras.distribution import device_count
from savae_keras.files import CrashSafeBackup
from savae_keras.files import write_json_atomically
from savae_keras.files import write_text_atomically
from savae_keras.metrics import binary_crossentropy
from savae_keras.metrics import binary_crossentropy_floor
from savae_keras.metrics import mean_squared_error
from savae_keras.metrics import reconstruction_metrics
from savae_keras.models import RecursiveAutoencoderGAN
from savae_keras.plots import plot_test_curves
from savae_keras.plots import save_image_grid

# Each row of Table 1 and its preset (`RecursiveAutoencoderGAN.presets`).
VARIANTS = {
    "autoencoder": "report_autoencoder",
    "recursive autoencoder": "report_recursive_autoencoder",
    "autoencoder with GAN": "report_autoencoder_gan",
}

REPORT = {
    "cifar10": {
        "metric": "bce",
        "values": {
            "autoencoder": 0.553,
            "recursive autoencoder": 0.559,
            "autoencoder with GAN": 0.593,
        },
        "budget": "10,000 training images, 200 (AE) / 150 (RAE) / 20 (GAN) epochs",
    },
    "mnist": {
        "metric": "mse",
        "values": {"autoencoder": 0.014},
        "budget": "3,000 training images, 100 epochs",
    },
}

LOSSES = {"cifar10": "bce", "mnist": "mse"}  # the report's choice per dataset


class _TestCurve(keras.callbacks.Callback):
    """Every `every` epochs, the one-pass test BCE and MSE of the model in
    training, appended to `points` and written to `path` (so a long run
    keeps its curve if it stops); `seconds` is the time this scoring took.
    With `resume`, the points already in `path` are kept, and a point of an
    epoch trained again replaces the old one."""

    def __init__(self, x_test, every, path, resume=False):
        super().__init__()
        self.x_test, self.every, self.path = x_test, every, path
        self.points, self.seconds = [], 0.0
        if resume and os.path.isfile(path):
            with open(path) as handle:
                self.points = json.load(handle)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        start = time.time()
        x_hat = self.model.reconstruct(self.x_test)
        self.points = [p for p in self.points if p["epoch"] < epoch + 1]
        self.points.append(
            {
                "epoch": epoch + 1,
                "test_bce": _mean(binary_crossentropy(self.x_test, x_hat)),
                "test_mse": _mean(mean_squared_error(self.x_test, x_hat)),
            }
        )
        write_json_atomically(self.points, self.path)
        self.seconds += time.time() - start


def run(
    dataset="cifar10",
    train_size=10000,
    test_size=1000,
    epochs=5,
    batch_size=64,
    adversarial_weight=0.001,
    autoencoder_learning_rate=None,
    game_schedule=None,
    out="runs/recursive_gan",
    data_dir=None,
    seed=0,
    verbose="auto",
    models=None,
    batch_norm=None,
    curve_every=None,
    backup_dir=None,
):
    """Train the three variants and write `results.md`, `results.json` and a figure.

    Args:
        epochs: epochs of every model; None keeps each preset's (the report's
            200, 150 and 20).
        models: the rows to train (keys of `VARIANTS`); None trains all three.
        game_schedule: who trains when (`RecursiveAutoencoderGAN`); None
            keeps the presets' (the report's order in the GAN row).
        autoencoder_learning_rate: Adam's rate for the autoencoders; None
            keeps the presets' (the report's 0.005).
        batch_norm: batch normalisation in every autoencoder (beyond the
            report; see `RecursiveAutoencoderGAN`); None keeps the presets'
            (on).
        curve_every: score the test BCE every this many epochs and draw
            `curve.png`; None scores only at the end.
        backup_dir: a folder that makes the run resumable: each model
            trains with a `savae_keras.files.CrashSafeBackup` in a subfolder
            named after it, so calling `run` again with the same arguments
            after an interruption resumes the interrupted model at its last
            finished epoch, keeping the curve scored so far. A model's
            backup is removed when it finishes, the folder when all have (a
            finished model is trained again by a later call).
            `train_seconds` is then this call's training time, and
            `first_epoch` says where it started. The weights, both
            optimizers and the random state resume exactly; the order of
            the images in later epochs does not (Keras draws each epoch's
            shuffle from a state no backup holds), so a resumed run is
            another draw of the same training, not the same numbers.

    Returns:
        A list of result rows (dicts), one per variant.
    """
    check_choice(dataset, "dataset", sorted(REPORT))
    models = list(VARIANTS) if models is None else list(models)
    for name in models:
        check_choice(name, "models", list(VARIANTS))
    if not models:
        raise ValueError(f"`models` must name at least one of {list(VARIANTS)}.")
    if curve_every is not None:
        check_number(curve_every, "curve_every", 1, integer=True)
    x_train, _ = load_dataset(dataset, "train", data_dir=data_dir)
    x_test, _ = load_dataset(dataset, "test", data_dir=data_dir)
    for name, size, split, images in (
        ("train_size", train_size, "train", x_train),
        ("test_size", test_size, "test", x_test),
    ):  # a slice past the end would silently give fewer images
        check_number(size, name, 1, integer=True)
        if size > len(images):
            raise ValueError(
                f"`{name}` is {size}, but the {dataset} {split} split here holds "
                f"{len(images)} images; ask for at most {len(images)}."
            )
    x_train = to_float_images(x_train[:train_size])
    x_test = to_float_images(x_test[:test_size])
    os.makedirs(out, exist_ok=True)

    rows, pictures = [], [x_test[:10]]
    for name in models:
        keras.utils.set_random_seed(seed)
        overrides = {
            "input_shape": x_train.shape[1:],
            "reconstruction_loss": LOSSES[dataset],
            "batch_size": batch_size,
            "seed": seed,
        }
        if autoencoder_learning_rate is not None:
            overrides["autoencoder_learning_rate"] = autoencoder_learning_rate
        if batch_norm is not None:
            overrides["batch_norm"] = batch_norm
        if game_schedule is not None:
            overrides["game_schedule"] = game_schedule
        if epochs is not None:
            overrides["epochs"] = epochs
        if name == "autoencoder with GAN":
            overrides["adversarial_weight"] = adversarial_weight
        model = RecursiveAutoencoderGAN.from_preset(VARIANTS[name], **overrides)
        steps = model.recursion_steps
        print(f"== {name} (k={steps}, lambda={model.adversarial_weight})")
        slug = name.replace(" ", "_")
        curve = None
        if curve_every is not None:
            path = os.path.join(out, f"curve_{slug}.json")
            curve = _TestCurve(x_test, curve_every, path, resume=backup_dir is not None)
        callbacks = [curve] if curve else []
        if backup_dir is not None:  # restores before the curve's first epoch
            callbacks.insert(0, CrashSafeBackup(os.path.join(backup_dir, slug)))
        start = time.time()
        history = model.fit(x_train, verbose=verbose, callbacks=callbacks)
        train_seconds = time.time() - start - (curve.seconds if curve else 0.0)
        reconstructions = model.reconstruct(x_test)
        metrics = reconstruction_metrics(x_test, reconstructions)
        logs = history.history
        rows.append(
            {
                "model": name,
                "recursion_steps": steps,
                "adversarial_weight": model.adversarial_weight,
                **{f"test_{k}": v for k, v in metrics.items()},
                "final_discriminator_accuracy": float(
                    logs["discriminator_accuracy"][-1]
                ),
                "epochs": history.params["epochs"],
                "first_epoch": history.epoch[0] + 1 if history.epoch else None,
                "game_schedule": model.game_schedule,
                "batch_norm": model.batch_norm,
                "autoencoder_learning_rate": round(
                    float(
                        keras.ops.convert_to_numpy(
                            model.autoencoder_optimizer.learning_rate
                        )
                    ),
                    8,  # the float32 variable's 0.004999999888 is 0.005
                ),
                "train_seconds": train_seconds,
                "report": REPORT[dataset]["values"].get(name),
                "curve": curve.points if curve else [],
            }
        )
        pictures.append(reconstructions[:10])
    if backup_dir is not None and os.path.isdir(backup_dir):
        if not os.listdir(backup_dir):  # every model's backup removed
            os.rmdir(backup_dir)

    budget = {
        "dataset": dataset,
        "train_size": len(x_train),
        "test_size": len(x_test),
        "epochs": "each preset's" if epochs is None else epochs,
        "batch_size": batch_size,
        "batch_norm": rows[0]["batch_norm"],
        "autoencoder_learning_rate": rows[0]["autoencoder_learning_rate"],
        "game_schedule": game_schedule or "each preset's",
        "seed": seed,
        "backend": keras.backend.backend(),
        "dtype_policy": keras.config.dtype_policy().name,
        "devices": device_count(),
        # What a perfect reconstruction and the mean image score: the range
        # a test BCE lies in (grey-level images cannot reach 0).
        "test_bce_floor": _mean(binary_crossentropy_floor(x_test)),
        "test_bce_mean_image": _mean(
            binary_crossentropy(x_test, np.broadcast_to(x_test.mean(0), x_test.shape))
        ),
    }
    _write_table(rows, budget, dataset, out)
    save_image_grid(
        np.concatenate(pictures),
        os.path.join(out, "reconstructions.png"),
        row_titles=["input", *models],
        title=f"{dataset}: test inputs and one-pass reconstructions",
    )
    if curve_every is not None:
        plot_test_curves(rows, budget["test_bce_floor"], os.path.join(out, "curve.png"))
    return rows


def _mean(values):
    return float(np.mean(keras.ops.convert_to_numpy(values)))


def _write_table(rows, budget, dataset, out):
    report = REPORT[dataset]
    metric = report["metric"].upper()
    lines = [
        f"# Recursive autoencoder GAN on {dataset}",
        "",
        "Budget: " + ", ".join(f"{k} {v}" for k, v in budget.items()) + ".",
        f"Report's budget: {report['budget']}; its loss: {metric}.",
        f"A perfect reconstruction scores test BCE {budget['test_bce_floor']:.3f} "
        "on these images (their own entropy), their mean image "
        f"{budget['test_bce_mean_image']:.3f}.",
        "",
        "| model | k | λ | test BCE | test MSE | test PSNR (dB) | test SSIM "
        f"| report ({metric}) | D accuracy | train s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        reported = "–" if row["report"] is None else f"{row['report']:.3f}"
        lines.append(
            f"| {row['model']} | {row['recursion_steps']} "
            f"| {row['adversarial_weight']:g} "
            f"| {row['test_bce']:.3f} | {row['test_mse']:.4f} | {row['test_psnr']:.2f} "
            f"| {row['test_ssim']:.3f} | {reported} "
            f"| {row['final_discriminator_accuracy']:.2f} "
            f"| {row['train_seconds']:.0f} |"
        )
    text = "\n".join(lines) + "\n"
    write_text_atomically(text, os.path.join(out, "results.md"))
    write_json_atomically(
        {"budget": budget, "rows": rows}, os.path.join(out, "results.json")
    )
    print(text)
