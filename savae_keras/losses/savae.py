"""The losses of SAVAE (Zemouri 2020) and of its VAE baseline, in `keras.ops`.

Reduction convention. The paper writes `E[‖a − b‖²]`. Like Keras's
`mean_squared_error`, the feature, latent and adversarial terms here average
the squared difference over the elements of each sample as well as over the
batch: each is a per-element mean squared error, whatever the layer or class
count. That is the scale on which the paper's `α = (1, 0.1, 0.01)` and its
β range (1e-3 to 1e-1, "β = 0.1: the generative effect dominates") make
sense; summing over elements instead would multiply the first feature term
alone by H·W·C (12,544 for the default 28×28×16 features) and shift every
useful β by that factor. The KL term and the VAE's pixel likelihood are sums
over their dimensions, as in a proper evidence lower bound.

Every loss is computed in float32, whatever the networks' dtype policy: under
`mixed_bfloat16` or `mixed_float16` the networks hand over half-precision
activations, and a sum over 784 pixels or a `log(1 − x̂)` of a sigmoid that
rounds to 1 is not safe in 8 or 11 bits of mantissa.
"""

import keras
from keras import ops

from savae_keras.data.checks import UNLABELED
from savae_keras.data.checks import check_choice


def loss_tensors(*values):
    """Backend tensors of the inputs (numpy arrays are accepted), floats as float32."""
    tensors = [ops.convert_to_tensor(v) for v in values]
    return [
        ops.cast(t, "float32") if keras.backend.is_float_dtype(t.dtype) else t
        for t in tensors
    ]


def kl_divergence(z_mean, z_log_var):
    """Equation (4): `D_kl(q(z|x) ‖ N(0, I))` of a diagonal Gaussian.

    `-½ Σ_j (1 + log σ_j² − μ_j² − σ_j²)`, summed over the latent
    dimensions and averaged over the batch.
    """
    return ops.mean(kl_per_sample(z_mean, z_log_var))


def kl_per_sample(z_mean, z_log_var):
    """Equation (4) for each sample, shape `(N,)`."""
    z_mean, z_log_var = loss_tensors(z_mean, z_log_var)
    return -0.5 * ops.sum(
        1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1
    )


def labeled_mask(labels):
    """1.0 for labeled samples, 0.0 for unlabeled ones (label -1)."""
    return ops.cast(ops.not_equal(labels, UNLABELED), "float32")


def categorical_crossentropy(labels, probabilities):
    """Per-sample `−log Class(z)_y` for integer labels (-1 gives 0)."""
    labels, probabilities = loss_tensors(labels, probabilities)
    safe_labels = ops.maximum(ops.cast(labels, "int32"), 0)
    per_sample = ops.sparse_categorical_crossentropy(safe_labels, probabilities)
    return per_sample * labeled_mask(labels)


def classification_loss(labels, probabilities):
    """Equation (7): `L_cat = −E[y · log Class(z)]` over labeled samples.

    The mean runs over the samples whose label is not -1; a batch with no
    label gives 0, not NaN, so unlabeled samples add only to `L_kl`.
    """
    labels, probabilities = loss_tensors(labels, probabilities)
    count = ops.sum(labeled_mask(labels))
    total = ops.sum(categorical_crossentropy(labels, probabilities))
    return total / ops.maximum(count, 1.0)


def consistency_loss(labels, weak_probabilities, strong_probabilities, threshold):
    """FixMatch's unlabeled term (Sohn et al. 2020; beyond the paper).

    On the unlabeled samples `U` of the batch (label -1), with `p_w` the
    class probabilities of a weak augmentation and `p_s` those of a strong
    one:

        ŷ_u = argmax p_w(u),   m_u = [max p_w(u) ≥ τ]
        L_u = (1 / |U|) · Σ_{u ∈ U} m_u · (−log p_s(u)_{ŷ_u})

    `p_w` gives targets only (no gradient flows through it). The mean runs
    over all unlabeled samples, confident or not, as in FixMatch, so the
    term grows as the classifier grows confident; a batch without an
    unlabeled sample gives 0.
    """
    labels, weak_probabilities, strong_probabilities = loss_tensors(
        labels, weak_probabilities, strong_probabilities
    )
    weak_probabilities = ops.stop_gradient(weak_probabilities)
    unlabeled = 1.0 - labeled_mask(labels)
    confident = pseudo_label_mask(labels, weak_probabilities, threshold)
    pseudo_labels = ops.argmax(weak_probabilities, axis=-1)
    per_sample = ops.sparse_categorical_crossentropy(
        pseudo_labels, strong_probabilities
    )
    return ops.sum(per_sample * confident) / ops.maximum(ops.sum(unlabeled), 1.0)


def pseudo_label_mask(labels, weak_probabilities, threshold):
    """`m_u`: 1.0 for unlabeled samples whose top probability is at least τ."""
    labels, weak_probabilities = loss_tensors(labels, weak_probabilities)
    confident = ops.cast(ops.max(weak_probabilities, axis=-1) >= threshold, "float32")
    return confident * (1.0 - labeled_mask(labels))


PROBABILITY_FLOOR = 1e-7
"""Probabilities are clipped to at least this before a logarithm (Keras's
epsilon), so a class given probability 0 costs a large finite amount."""


def categorical_kl(p, q):
    """`E[D_kl(p ‖ q)] = E[Σ_k p_k (log p_k − log q_k)]` of class distributions.

    Summed over the classes, averaged over the batch. `p` is a target: no
    gradient flows through it.
    """
    p, q = loss_tensors(p, q)
    p = ops.stop_gradient(p)
    log_p = ops.log(ops.maximum(p, PROBABILITY_FLOOR))
    log_q = ops.log(ops.maximum(q, PROBABILITY_FLOOR))
    return ops.mean(ops.sum(p * (log_p - log_q), axis=-1))


def entropy_loss(probabilities):
    """`E[−Σ_k p_k log p_k]`: entropy minimisation's term (Grandvalet and
    Bengio 2005), summed over the classes, averaged over the batch."""
    (p,) = loss_tensors(probabilities)
    return ops.mean(-ops.sum(p * ops.log(ops.maximum(p, PROBABILITY_FLOOR)), axis=-1))


def teacher_loss(student_probabilities, teacher_probabilities):
    """Mean teacher's consistency term (Tarvainen & Valpola 2017; beyond the paper).

        L_t = (1 / N) · Σ_i Σ_k (p_k(x_i) − p'_k(x_i))²

    `p` the student's class probabilities, `p'` the teacher's (targets
    only: no gradient flows through them), summed over the classes and
    averaged over every sample of the batch, labeled or not.
    """
    student_probabilities, teacher_probabilities = loss_tensors(
        student_probabilities, teacher_probabilities
    )
    target = ops.stop_gradient(teacher_probabilities)
    return ops.mean(ops.sum(ops.square(student_probabilities - target), axis=-1))


def teacher_decay(step, decay):
    """The teacher's averaging rate after training step `step` (0, 1, ...):
    `α_t = min(1 − 1/(t + 1), α)`, so the teacher is the student after the
    first step and an average over about `1/(1 − α)` steps later."""
    step = ops.cast(step, "float32")
    return ops.minimum(1.0 - 1.0 / (step + 1.0), decay)


def unit_directions(d):
    """Each sample of `d` scaled to unit L2 norm over all its other axes.

    A sample of zeros stays zeros (its norm is floored), so no NaN comes
    out of a vanishing gradient.
    """
    (d,) = loss_tensors(d)
    axes = tuple(range(1, len(d.shape)))
    norm = ops.sqrt(ops.sum(ops.square(d), axis=axes, keepdims=True))
    return d / ops.maximum(norm, 1e-12)


def virtual_adversarial_perturbation(
    probabilities_fn, x, p, d, xi, epsilon, gradient_fn
):
    """VAT's `r_adv` (Miyato et al. 2018), by one power iteration.

        g     = ∇_r D_kl(p ‖ probabilities_fn(x + r)) at r = ξ·d/‖d‖
        r_adv = ε · g / ‖g‖                      per sample

    `p` are the class probabilities of `x` (a target), `d` a random
    direction per sample (`N(0, I)`), `gradient_fn(fn, r)` the backend's
    `∂fn(r)/∂r` (`trainer.input_gradient`). `g` approximates the dominant
    eigenvector of the KL's Hessian at `r = 0`: the direction in which the
    classifier's output changes fastest.
    """
    (x,) = loss_tensors(x)

    def divergence(r):
        return categorical_kl(p, probabilities_fn(x + r))

    g = gradient_fn(divergence, xi * unit_directions(d))
    return epsilon * unit_directions(g)


def feature_consistency_loss(features, reconstructed_features, weights):
    """Equation (9): `L_rec = Σ_i α_i · E[‖F_i − F̂_i‖²]`.

    `features` are the activations `F_i = O_i(X)` of the encoder's first
    hidden layers, `reconstructed_features` the same layers on `X̂`; each
    term is a per-element mean squared error (see the module docstring): the
    batch mean of `feature_consistency_per_sample`.
    """
    return ops.mean(
        feature_consistency_per_sample(features, reconstructed_features, weights)
    )


def _weighted_feature_pairs(features, reconstructed_features, weights, caller):
    """`(α_i, F_i, F̂_i)` as float32 tensors, after checking the three counts."""
    if not len(features) == len(reconstructed_features) == len(weights):
        raise ValueError(
            f"{caller}: {len(features)} features, "
            f"{len(reconstructed_features)} reconstructed features and "
            f"{len(weights)} weights; the three counts must match."
        )
    return zip(weights, loss_tensors(*features), loss_tensors(*reconstructed_features))


def feature_consistency_per_sample(features, reconstructed_features, weights):
    """Equation (9) for each sample, shape `(N,)`: also an anomaly signal.

    `Σ_i α_i · mean_elements (F_i − F̂_i)²` per sample.
    """
    total = 0.0
    for alpha, f, f_hat in _weighted_feature_pairs(
        features, reconstructed_features, weights, "feature_consistency_loss"
    ):
        error = ops.reshape(ops.square(f - f_hat), (ops.shape(f)[0], -1))
        total = total + alpha * ops.mean(error, axis=-1)
    return total


def feature_consistency_map(features, reconstructed_features, weights, spatial_shape):
    """Equation (9) per position: where in a sample the features disagree.

    `Σ_i α_i · mean_channels (F_i − F̂_i)²` at each position, shape
    `(N, *spatial_shape)`. A feature map coarser than `spatial_shape` (after
    a pooling) is repeated up to it, so each input position gets the error
    of the feature position that covers it. Its mean over positions is
    `feature_consistency_per_sample` when every layer keeps the input's
    resolution.
    """
    total = 0.0
    for alpha, f, f_hat in _weighted_feature_pairs(
        features, reconstructed_features, weights, "feature_consistency_map"
    ):
        error = ops.mean(ops.square(f - f_hat), axis=-1)
        if len(error.shape) != len(spatial_shape) + 1:
            raise ValueError(
                f"feature_consistency_map: every feature layer must keep the "
                f"input's {len(spatial_shape)} spatial axes; one has shape "
                f"{tuple(f.shape)}."
            )
        for axis, size in enumerate(spatial_shape, start=1):
            factor = size // error.shape[axis]
            if factor * error.shape[axis] != size:
                raise ValueError(
                    f"feature_consistency_map: a feature map of spatial shape "
                    f"{tuple(error.shape[1:])} does not tile {tuple(spatial_shape)}."
                )
            if factor > 1:
                error = ops.repeat(error, factor, axis=axis)
        total = total + alpha * error
    return total


def squared_error_map(x, x_hat):
    """`mean_channels (x − x̂)²` at each position, shape `(N, *spatial)`.

    The map of a reconstruction whatever the model's training likelihood:
    a perfect reconstruction maps to 0 everywhere (a per-pixel
    cross-entropy would keep `x`'s own entropy).
    """
    x, x_hat = loss_tensors(x, x_hat)
    return ops.mean(ops.square(x - x_hat), axis=-1)


def critic_loss(scores, target):
    """Algorithm 2's least-squares critic loss `E[(G − Dis(X))²]`.

    `target` is `G`: +c for real images and −c for decoded ones (c = 1 in
    the paper, 10 in Hou et al.).
    """
    (scores,) = loss_tensors(scores)
    return ops.mean(ops.square(target - scores))


def adversarial_loss(real_scores, fake_scores):
    """Equation (10): `L_adv = E[(Dis(X) − Dis(X̂))²]`."""
    real_scores, fake_scores = loss_tensors(real_scores, fake_scores)
    return ops.mean(ops.square(real_scores - fake_scores))


def latent_loss(class_z, class_z_hat):
    """Equation (11): `L_latent = E[‖Class(Z) − Class(Ẑ)‖²]`.

    A per-element mean over the class probabilities (see the module
    docstring).
    """
    class_z, class_z_hat = loss_tensors(class_z, class_z_hat)
    return ops.mean(ops.square(class_z - class_z_hat))


def diversity_loss(z, x_hat, groups=None, epsilon=1e-5):
    """The mode-seeking term of Mao et al. (2019), over pairs of a batch.

    Each sample `i` is paired with its neighbour `j = i − 1` (the first
    with the last), and the term is

        L_div = E_i[ 1 / (d(X̂_i, X̂_j) / (d(Z_i, Z_j) + ε) + ε) ]

    with `d` the mean absolute difference over the elements of one sample.
    Small when the decoder's outputs move as much as its codes do: it
    pushes the decoder apart where two codes decode to one image. The
    reciprocal (MSGAN's form) keeps it bounded and weighs the pairs that
    decode to nearly one image most.

    With integer `groups` (one per sample, e.g. the class the classifier
    gives each code) the batch is first sorted by group, so neighbours
    share a group but where one group ends and the next begins: the pairs
    of MSGAN, two codes of one condition.
    """
    z, x_hat = loss_tensors(z, x_hat)
    if groups is not None:
        order = ops.argsort(groups)
        z, x_hat = ops.take(z, order, axis=0), ops.take(x_hat, order, axis=0)
    n = ops.shape(z)[0]
    d_x = ops.mean(ops.reshape(ops.abs(x_hat - ops.roll(x_hat, 1, axis=0)), (n, -1)), 1)
    d_z = ops.mean(ops.reshape(ops.abs(z - ops.roll(z, 1, axis=0)), (n, -1)), 1)
    return ops.mean(1.0 / (d_x / (d_z + epsilon) + epsilon))


RECONSTRUCTION_LOSSES = ("bce", "mse")


def per_pixel_error(x, x_hat, kind="bce"):
    """`−[x log x̂ + (1 − x) log(1 − x̂)]` ("bce") or `(x − x̂)²` ("mse")."""
    x, x_hat = loss_tensors(x, x_hat)
    if kind == "bce":
        return ops.binary_crossentropy(x, x_hat)
    check_choice(kind, "reconstruction_loss", RECONSTRUCTION_LOSSES)
    return ops.square(x - x_hat)


def pixel_reconstruction_loss(x, x_hat, kind="bce"):
    """Equation (3) of the VAE baseline: `−E[log p(x|z)]`, per image.

    `"bce"`: Bernoulli likelihood, `−Σ_pixels [x log x̂ + (1 − x) log(1 − x̂)]`;
    `"mse"`: Gaussian likelihood with unit variance up to constants,
    `Σ_pixels (x − x̂)²`. Summed over the pixels, averaged over the batch.
    """
    return ops.mean(pixel_error_per_sample(x, x_hat, kind))


def pixel_error_per_sample(x, x_hat, kind="bce"):
    """`−log p(x|z)` of equation (3) for each sample, summed over its pixels."""
    per_pixel = per_pixel_error(x, x_hat, kind)
    return ops.sum(ops.reshape(per_pixel, (ops.shape(per_pixel)[0], -1)), axis=-1)
