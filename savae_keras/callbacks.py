"""Keras callbacks: figures while a model trains, and a wall-clock budget.

`TimeLimit` stops `fit` once a number of seconds has passed (for comparing
models at the same training time, not the same number of steps);
`CosineDecayOverTime` lowers the learning rate along a cosine over those
seconds.


Both run at the end of an epoch, where every backend has synchronised the
model's weights (JAX keeps them in `fit`'s state between epochs), and work
with the model `fit` is called on: `ImageGridCallback` needs one that
reconstructs (phase 2, `VAE`, `RecursiveAutoencoderGAN`), `LatentSpaceCallback`
one that encodes (both SAVAE phases, `VAE`). With `SAVAE.fit`, pass them as
`decoder_callbacks` or `encoder_callbacks`.
"""

import os
import time

import keras
import numpy as np

from savae_keras.data.checks import check_choice
from savae_keras.data.checks import check_number
from savae_keras.data.checks import to_float_images
from savae_keras.distribution import agree
from savae_keras.plots import plot_latent_space
from savae_keras.plots import save_image_grid

__all__ = [
    "CosineDecayOverTime",
    "ImageGridCallback",
    "LatentSpaceCallback",
    "TimeLimit",
]


class _EveryEpochs(keras.callbacks.Callback):
    def __init__(self, out_dir, every, needs):
        super().__init__()
        if not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"`every` must be a positive integer; received {every!r}.")
        self.out_dir = out_dir
        self.every = every
        self.needs = needs
        self.written = []

    def on_train_begin(self, logs=None):
        if self.needs not in getattr(self.model, "capabilities", ()):
            raise TypeError(
                f"{type(self).__name__} needs a model with `{self.needs}()`; "
                f"{type(self.model).__name__} has none. With SAVAE.fit, pass it "
                "in the phase's own callbacks (encoder_ or decoder_callbacks)."
            )

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            path = os.path.join(self.out_dir, f"epoch_{epoch + 1:03d}.png")
            self.written.append(self.draw(path, epoch + 1))

    def draw(self, path, epoch):
        """Writes the figure of `epoch` to `path`; each subclass draws its own."""
        raise NotImplementedError


class ImageGridCallback(_EveryEpochs):
    """Every `every` epochs, writes `out_dir/epoch_NNN.png`.

    The grid shows `images` above their reconstructions and, when the model
    can generate, a row of samples from the prior (a fixed `seed`, so the
    same codes are decoded at every epoch).
    """

    def __init__(self, images, out_dir, every=1, num_generated=10, seed=0):
        super().__init__(out_dir, every, needs="reconstruct")
        self.images = np.asarray(images)
        self.num_generated = num_generated
        self.seed = seed

    def draw(self, path, epoch):
        """Writes inputs beside their reconstructions, and generations where
        the model generates."""
        rows = [self.images, self.model.reconstruct(self.images)]
        titles = ["input", "output"]
        if "generate" in self.model.capabilities and self.num_generated:
            rows.append(self.model.generate(self.num_generated, seed=self.seed))
            titles.append("prior")
        rows = [to_float_images(r) for r in rows]
        width = max(len(self.images), self.num_generated)
        padded = [
            np.concatenate([r, np.zeros((width - len(r), *r.shape[1:]), r.dtype)])
            for r in rows
        ]
        return save_image_grid(
            np.concatenate(padded),
            path,
            ncols=width,
            row_titles=titles,
            title=f"epoch {epoch}",
        )


class LatentSpaceCallback(_EveryEpochs):
    """Every `every` epochs, writes the latent space of `images` (Figure 7)."""

    def __init__(self, images, labels, out_dir, every=1, class_names=None):
        super().__init__(out_dir, every, needs="encode")
        self.images = np.asarray(images)
        self.labels = np.asarray(labels)
        self.class_names = class_names

    def draw(self, path, epoch):
        """Writes the codes of the held images, coloured by class."""
        codes = self.model.encode(self.images)
        return plot_latent_space(
            codes.reshape(len(codes), -1),
            self.labels,
            path,
            self.class_names,
            title=f"latent space, epoch {epoch}",
        )


class TimeLimit(keras.callbacks.Callback):
    """Stop `fit` after the first batch that ends `seconds` after it began.

    The clock starts at `on_train_begin`, so it counts the first step's
    compilation as training time. `batches` counts the batches that ran.
    With `verbose`, it shows the run's progress as seconds of its budget
    (fit it with `verbose=0`: Keras's own bar counts epochs, and a
    time-budgeted run has no number of epochs to count).

    Args:
        seconds: the budget, > 0.
        clock: `"wall"` (the default) counts wall-clock seconds; `"cpu"`
            counts the CPU seconds of this process (all its threads), which
            other work on the machine does not eat: models compared on a
            shared machine get the same compute. With one thread and an
            idle machine the two agree.
        verbose: 0 shows nothing; 1 or `"auto"` a progress bar of seconds
            with the logs; 2 one line when the budget is spent.
        label: the run's name in the progress lines (e.g. `"phase 1"`).
    """

    CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}

    def __init__(self, seconds, clock="wall", verbose=0, label="training"):
        super().__init__()
        self.seconds = check_number(
            seconds, "seconds", minimum=0.0, exclusive_minimum=True
        )
        self.clock = check_choice(clock, "clock", tuple(self.CLOCKS))
        self.verbose = 1 if verbose == "auto" else verbose
        check_choice(str(self.verbose), "verbose", ("0", "1", "2"))
        self.label = label
        self._now = self.CLOCKS[clock]
        self.batches = 0
        self._bar = None

    def on_train_begin(self, logs=None):
        self.start = self._now()
        self.batches = 0
        if self.verbose:
            print(f"{self.label}: {self.seconds:.1f} s ({self.clock} clock)")
            # the logs are running means already: shown as they come
            self._bar = keras.utils.Progbar(
                max(round(self.seconds), 1),
                verbose=self.verbose,
                unit_name="s",
                stateful_metrics=["steps"],
            )

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        elapsed = self._now() - self.start
        # Across several processes they stop together, when the chief does.
        done = agree(elapsed >= self.seconds)
        if self._bar is not None:
            values = [("steps", self.batches)]
            values += [(k, v) for k, v in (logs or {}).items()]
            current = (
                round(self.seconds)
                if done
                else min(int(elapsed), round(self.seconds) - 1)
            )
            self._bar.update(current, values=values, finalize=done)
        if done:
            self.model.stop_training = True


class CosineDecayOverTime(keras.callbacks.Callback):
    """Lower the learning rate to 0 along a cosine over a `TimeLimit`'s budget.

    Keras's `CosineDecay` decays over a number of steps, which a run
    budgeted in seconds does not know in advance. This sets the optimizer's
    rate at `points` even fractions `t / T` of the budget `T`:

        lr(t) = lr₀ · ½ (1 + cos(π t / T)),

    from the rate it has when `fit` begins (`lr₀`) to 0 when the budget is
    spent; when `fit` ends the optimizer gets `lr₀` back, so a later `fit`
    trains (and decays) from it again. Pass it with its `TimeLimit` in the
    same `fit`.

    Args:
        time_limit: the `TimeLimit` whose clock and budget it follows.
        points: how many times the rate is set over the budget (the JAX
            backend synchronises the model's state each time).
    """

    def __init__(self, time_limit, points=100):
        super().__init__()
        if not isinstance(time_limit, TimeLimit):
            raise TypeError(
                "`time_limit` must be a savae_keras.callbacks.TimeLimit, got "
                f"{type(time_limit).__name__}."
            )
        self.time_limit = time_limit
        self.points = check_number(points, "points", minimum=1, integer=True)
        self.initial = None

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        if isinstance(
            getattr(optimizer, "_learning_rate", None),
            keras.optimizers.schedules.LearningRateSchedule,
        ):
            raise ValueError(
                "CosineDecayOverTime sets the optimizer's learning rate, which "
                "is a schedule here: compile with a number as `learning_rate`."
            )
        self.initial = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        self._point = 0

    def on_train_batch_end(self, batch, logs=None):
        limit = self.time_limit
        elapsed = limit._now() - limit.start
        point = min(int(self.points * elapsed / limit.seconds), self.points)
        if point <= self._point:
            return
        self._point = point
        # On JAX, Keras' `Callback.model` first writes fit's state back into
        # the variables, so the next step reads the new rate.
        fraction = point / self.points
        self.model.optimizer.learning_rate = float(
            self.initial * 0.5 * (1.0 + np.cos(np.pi * fraction))
        )

    def on_train_end(self, logs=None):
        self.model.optimizer.learning_rate = self.initial
