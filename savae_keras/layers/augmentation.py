"""Weak and strong image augmentations for the semi-supervised term.

FixMatch (Sohn et al. 2020) labels an unlabeled image by the classifier's
confident prediction on a *weak* augmentation and trains the classifier to
give that label to a *strong* augmentation of the same image. Both are built
here from Keras's own preprocessing layers, which run inside a training
step on every backend:

* weak: a random shift of up to 12.5 % of the height and width (and a
  horizontal flip for colour images, as in FixMatch's CIFAR-10 setting);
* strong: the weak shift, a rotation of up to ±30°, a zoom of ±20 % and a
  random erasing of 2–25 % of the image (FixMatch's Cutout).

No flip for one-channel images: a mirrored digit or letter is another
character. Pixels moved in from outside take the nearest edge value, which
is the background on every dataset of the package.
"""

import keras

STRENGTHS = ("weak", "strong")


def build_augmentation(strength, input_shape, seed=None):
    """A `keras.Sequential` of random image transforms, `"weak"` or `"strong"`.

    Args:
        strength: `"weak"` or `"strong"` (see the module docstring).
        input_shape: image shape `(H, W, C)`; `C = 3` adds a horizontal flip.
        seed: seed of the transforms (each layer gets its own offset).

    The layers transform only when called with `training=True`.
    """
    if strength not in STRENGTHS:
        raise ValueError(
            f"`strength` must be one of {list(STRENGTHS)}; received {strength!r}."
        )
    offset = (lambda i: None) if seed is None else (lambda i: seed + i)
    steps = []
    if input_shape[-1] == 3:
        steps.append(keras.layers.RandomFlip("horizontal", seed=offset(0)))
    shift = keras.layers.RandomTranslation(
        0.125, 0.125, fill_mode="nearest", seed=offset(1)
    )
    steps.append(shift)
    if strength == "strong":
        steps += [
            keras.layers.RandomRotation(30 / 360, fill_mode="nearest", seed=offset(2)),
            keras.layers.RandomZoom(0.2, fill_mode="nearest", seed=offset(3)),
            keras.layers.RandomErasing(
                scale=(0.02, 0.25), value_range=(0.0, 1.0), seed=offset(4)
            ),
        ]
    return keras.Sequential(
        [keras.Input(input_shape), *steps], name=f"{strength}_augmentation"
    )
