"""The one place where the three backends differ: gradients and JAX's state.

Every model of the package writes its training step once, as ordinary
stateful Keras code (`_train_step(data)`): call the networks, compute the
losses with `keras.ops`, take gradients with `self.compute_gradients`, apply
them with `self.apply_gradients`, update the metric trackers. The backends
then differ in these small places only:

* **Gradients.** TensorFlow records a `GradientTape`; PyTorch calls
  `torch.autograd.grad`; JAX differentiates a function of the variables'
  values, run in a nested `StatelessScope` that maps every other variable to
  its current value and hands back what the loss updated (BatchNorm
  statistics, seed states). `compute_staged_gradients` keeps a forward
  pass's graph while other updates run before its loss (the tape, the
  autograd graph, a JAX VJP): phase 2 decodes once per step.
* **Gradients with respect to an input** (`input_gradient`, virtual
  adversarial training's power iteration): a watched tensor on TensorFlow,
  `requires_grad` on PyTorch, `jax.grad` on JAX.
* **Fit's state on JAX.** JAX's `fit` jits `train_step(state, data)` over
  the tuple `(trainable, non_trainable, optimizer, metrics)` values. The
  same stateful body runs inside a `StatelessScope` seeded from that tuple,
  and the new tuple is read back from the scope. TensorFlow and PyTorch call
  the body directly on their stateful variables.

Models with several optimizers (a decoder and its critic, an autoencoder
and its discriminator) keep them inside one `keras.optimizers.MultiOptimizer`
passed to `compile`, because JAX's `fit` carries the state of
`model.optimizer` only: an optimizer kept beside it would restart its Adam
moments at every step without any error.
"""

import contextlib
import os
import warnings

import keras
import numpy as np

from savae_keras.data.checks import check_number
from savae_keras.distribution import across_processes
from savae_keras.distribution import check_batches_split
from savae_keras.distribution import check_dataset_split
from savae_keras.distribution import is_chief
from savae_keras.distribution import model_variables
from savae_keras.distribution import replica_position
from savae_keras.distribution import shard_inputs
from savae_keras.layers.seed_state import SavesSeedState
from savae_keras.models.inputs import check_inputs

BACKEND = keras.backend.backend()

FLOAT16_LOSS_SCALE = 2.0**10
"""Loss scale under `mixed_float16`: the dynamic scale's start (one optimizer)
or the static scale (several). From Keras's default start, 2**15, the float16
gradients overflow and the steps are skipped while the scale halves: measured
on tiny networks, batch 8, the VEC skipped 2 of its first 8 steps and the VAE
(a likelihood summed over the pixels) all 8."""


def _warn_of_tensorflow_cpu_bfloat16(policy_name):
    """Warn that TensorFlow's CPU kernels can bend bfloat16 gradients.

    With oneDNN's custom operations on, one `mixed_bfloat16` step moves the
    weights far from where float32's does; with them off
    (`TF_ENABLE_ONEDNN_OPTS=0`, read when TensorFlow is imported) it is as
    close as JAX and PyTorch on some CPUs and far off on others (docs: the
    devices and mixed precision guide).
    """
    if BACKEND != "tensorflow" or policy_name != "mixed_bfloat16":
        return
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        return
    onednn_off = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1").strip().lower() in (
        "0",
        "false",
    )
    warnings.warn(
        "`mixed_bfloat16` on TensorFlow's CPU: its bfloat16 gradients can be "
        "far from float32's (one step of a VEC moves the weights in another "
        "direction), with oneDNN's custom operations on, and on some CPUs "
        "with them off"
        + (
            " as here (TF_ENABLE_ONEDNN_OPTS=0)."
            if onednn_off
            else "; set TF_ENABLE_ONEDNN_OPTS=0 before TensorFlow is imported,"
        )
        + " or train in float32 (or on JAX or PyTorch).",
        UserWarning,
        stacklevel=3,
    )


def _zeros_for_missing(grads, variables):
    """Unused variables get a zero gradient on every backend (JAX's rule)."""
    return [
        keras.ops.zeros(v.shape, v.dtype) if g is None else g
        for g, v in zip(grads, variables)
    ]


def _tensorflow_gradients(loss_fn, variables, model):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss, aux = loss_fn()
    return loss, aux, _zeros_for_missing(tape.gradient(loss, variables), variables)


def _torch_gradients(loss_fn, variables, model):
    import torch

    loss, aux = loss_fn()
    grads = torch.autograd.grad(loss, [v.value for v in variables], allow_unused=True)
    return loss, aux, _zeros_for_missing(list(grads), variables)


def _jax_stateless(model, variables):
    """JAX's way to differentiate stateful Keras code with respect to `variables`.

    Returns `(others, call)`: `others` are the model's other variables, and
    `call(fn, values, *args)` runs `fn(*args)` in a `StatelessScope` that
    sets `variables` to `values` and every other variable to its current
    value (read through fit's scope); it returns `fn`'s result and the new
    values of `others` (BatchNorm statistics, seed states), in order.
    """
    wanted = {id(v) for v in variables}
    others = [v for v in model.variables if id(v) not in wanted]

    def call(fn, values, *args):
        mapping = list(zip(variables, values)) + [(v, v.value) for v in others]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            result = fn(*args)
        return result, [scope.get_current_value(v) for v in others]

    return others, call


def _jax_assign(variables, values):
    for variable, value in zip(variables, values):
        variable.assign(value)  # recorded in fit's scope: BN stats, seeds


def _jax_gradients(loss_fn, variables, model):
    import jax

    others, stateless = _jax_stateless(model, variables)

    def values_to_loss(values):
        (loss, aux), updates = stateless(loss_fn, values)
        return loss, (aux, updates)

    (loss, (aux, updates)), grads = jax.value_and_grad(values_to_loss, has_aux=True)(
        [v.value for v in variables]
    )
    _jax_assign(others, updates)
    return loss, aux, list(grads)


_GRADIENTS = {
    "tensorflow": _tensorflow_gradients,
    "torch": _torch_gradients,
    "jax": _jax_gradients,
}


# Gradients through a forward pass whose outputs are used twice: first as
# constants by `interlude_fn` (another network's updates), then by the loss.
# The forward pass runs once; its graph (tape, autograd graph, JAX VJP) is
# kept across the interlude. `loss_fn` must use `variables` only through
# `outputs`.


def _tensorflow_staged_gradients(forward_fn, interlude_fn, loss_fn, variables, model):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        outputs = forward_fn()
        with tape.stop_recording():
            extra = interlude_fn(keras.tree.map_structure(tf.stop_gradient, outputs))
        loss, aux = loss_fn(outputs, extra)
    grads = tape.gradient(loss, variables)
    return loss, aux, _zeros_for_missing(grads, variables)


def _torch_staged_gradients(forward_fn, interlude_fn, loss_fn, variables, model):
    import torch

    outputs = forward_fn()
    extra = interlude_fn(keras.tree.map_structure(lambda o: o.detach(), outputs))
    loss, aux = loss_fn(outputs, extra)
    grads = torch.autograd.grad(loss, [v.value for v in variables], allow_unused=True)
    return loss, aux, _zeros_for_missing(list(grads), variables)


def _jax_staged_gradients(forward_fn, interlude_fn, loss_fn, variables, model):
    import jax

    others, stateless = _jax_stateless(model, variables)
    values = [v.value for v in variables]
    outputs, vjp_fn, updates = jax.vjp(
        lambda vals: stateless(forward_fn, vals), values, has_aux=True
    )
    _jax_assign(others, updates)
    extra = interlude_fn(keras.tree.map_structure(jax.lax.stop_gradient, outputs))

    def outputs_to_loss(outs):
        (loss, aux), updates = stateless(loss_fn, values, outs, extra)
        return loss, (aux, updates)

    (loss, (aux, updates)), output_grads = jax.value_and_grad(
        outputs_to_loss, has_aux=True
    )(outputs)
    _jax_assign(others, updates)
    (grads,) = vjp_fn(output_grads)
    return loss, aux, list(grads)


_STAGED_GRADIENTS = {
    "tensorflow": _tensorflow_staged_gradients,
    "torch": _torch_staged_gradients,
    "jax": _jax_staged_gradients,
}


# The gradient of a scalar function with respect to an input tensor (not a
# variable), as a constant: virtual adversarial training's power iteration.


def _tensorflow_input_gradient(fn, x):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        value = fn(x)
    return tf.stop_gradient(tape.gradient(value, x))


def _torch_input_gradient(fn, x):
    import torch

    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        value = fn(x)
    (grad,) = torch.autograd.grad(value, x)
    return grad.detach()


def _jax_input_gradient(fn, x):
    import jax

    return jax.lax.stop_gradient(jax.grad(fn)(x))


_INPUT_GRADIENTS = {
    "tensorflow": _tensorflow_input_gradient,
    "torch": _torch_input_gradient,
    "jax": _jax_input_gradient,
}


def input_gradient(fn, x):
    """`∂fn(x)/∂x` of a scalar `fn`, as a constant (no gradient flows back).

    `fn` may call the networks (and read their variables, inside a step's
    gradient too); wrap its calls in `updates_discarded` so that they
    leave no state behind.
    """
    return _INPUT_GRADIENTS[BACKEND](fn, x)


@contextlib.contextmanager
def updates_discarded(model):
    """Run stateful Keras code and throw its variable updates away.

    Inside, the model's variables read as they are (through a step's own
    stateless scope on JAX) and gradients flow to its trainable variables;
    what the code assigns (BatchNorm's moving statistics, seed states) is
    not kept: passes on perturbed copies of a batch leave the statistics
    to the step's own pass.
    """
    variables = model.variables if BACKEND == "jax" else model.non_trainable_variables
    with keras.StatelessScope(state_mapping=[(v, v.value) for v in variables]):
        yield


def _without_compile_config(config):
    """A network's config without its own optimizer: the model owns those."""
    return {key: value for key, value in config.items() if key != "compile_config"}


def serialize_optimizer(optimizer):
    """Backend-neutral form: the class name and config, not a module path.

    Keras records the backend's module (on PyTorch `...torch_adam`), and a
    file saved that way cannot train on another backend; the class name
    resolves to the right class on each.
    """
    name = keras.saving.get_registered_name(type(optimizer))
    return {"class_name": name, "config": optimizer.get_config()}


class FiniteSaving:
    """`save` and `save_weights` that refuse weights holding NaN or inf
    (mixed into the package's models, before `keras.Model`)."""

    def save(self, filepath, *args, **kwargs):
        """`keras.Model.save`, refusing weights that are not finite; across
        several processes only the chief writes."""
        check_finite_weights(self, "save")
        if not is_chief():
            return None
        return super().save(filepath, *args, **kwargs)

    def save_weights(self, filepath, *args, **kwargs):
        """`keras.Model.save_weights`, refusing weights that are not finite;
        across several processes only the chief writes."""
        check_finite_weights(self, "save_weights")
        if not is_chief():
            return None
        return super().save_weights(filepath, *args, **kwargs)

    def load_weights(self, filepath, *args, **kwargs):
        """`keras.Model.load_weights`; weights of another model's shapes are
        a clear error naming the file and this model's shapes."""
        try:
            return super().load_weights(filepath, *args, **kwargs)
        except ValueError as error:
            if "could not be loaded" not in str(error) and "shape" not in str(error):
                raise
            config = self.get_config()
            shapes = {
                key: config[key]
                for key in ("input_shape", "num_classes", "latent_dim")
                if key in config
            }
            raise ValueError(
                f"The weights in {str(filepath)!r} do not fit this "
                f"{type(self).__name__} ({shapes or 'its networks'}): they were "
                "saved from a model of other shapes or networks. Build the "
                "model as it was saved (a `.keras` file keeps its config: "
                f"`keras.models.load_model`). Keras said: {error}"
            ) from error


class Trainer(SavesSeedState, FiniteSaving, keras.Model):
    """Base class of the package's models: one protocol on every backend.

    A subclass declares what it is made of and what it computes:

    * `loss_names`: the terms its steps compute; each gets a `Mean`
      tracker, logged under its name (`metrics` lists them);
    * `network_names`: the attributes holding its functional networks,
      serialized by `get_config` and rebuilt by `from_config`;
    * `optimizer_names`: its optimizers, which are also the keyword
      arguments of `compile` and the attributes that hold them, and
      `_optimizer_variables(name)`, the variables each one updates;
    * `capabilities`: which of `encode`, `posterior`, `decode`,
      `reconstruct`, `generate`, `classify` it offers (the others raise);
    * `_train_step(data)` and `_test_step(data)`: stateful step bodies that
      return the dict of terms they computed.

    The base class owns the trackers, the sampling noise
    (`standard_normal`, from the model's seeded generator), the checks of
    every input path and the stop on a non-finite loss. The states of the
    seed generators are saved with the weights (`SavesSeedState`), so a
    loaded or restored model trains on exactly as the original would.

    Args:
        seed: seed of the model's sampling noise.
    """

    optimizer_names = ("optimizer",)
    loss_names = ("loss",)
    network_names = ()
    capabilities = frozenset()
    requires_labels = False

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None:
            seed = check_number(seed, "seed", minimum=0, integer=True)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {
            name: keras.metrics.Mean(name=name) for name in self.loss_names
        }

    @property
    def metrics(self):
        return list(self.trackers.values())

    def standard_normal(self, shape):
        """Noise `ε ~ N(0, I)` of the given shape, from the model's seed.

        Under a TensorFlow strategy, `shape[0]` is the replica's share of the
        batch: each replica draws the global batch's noise and takes its own
        slice, the noise one device would give those samples.
        """
        replicas, index = replica_position()
        if replicas == 1:
            return keras.random.normal(shape, seed=self.seed_generator)
        rows = shape[0]
        noise = keras.random.normal(
            (replicas * rows, *shape[1:]), seed=self.seed_generator
        )
        start = (index * rows, *[0] * (len(shape) - 1))
        return keras.ops.slice(noise, start, shape)

    def update_metrics(self, terms):
        """Record the step's `terms` in the trackers; return the logs."""
        for name, tracker in self.trackers.items():
            tracker.update_state(terms[name])
        return self._logs()

    def _logs(self):
        return {metric.name: metric.result() for metric in self.metrics}

    def _optimizer_variables(self, name):
        return self.trainable_variables

    def default_optimizer(self, name):
        """The optimizer `compile` uses when `name` is not given."""
        return "adam"

    # -- what the model offers ---------------------------------------------
    def _unsupported(self, what):
        return NotImplementedError(
            f"{type(self).__name__} cannot {what}; it offers "
            f"{sorted(self.capabilities) or 'none of the generative methods'}."
        )

    def encode(self, x, batch_size=256):
        """Latent codes of images `x` (numpy): the posterior mean, if any."""
        raise self._unsupported("encode")

    def posterior(self, x, batch_size=256):
        """The posterior `(z_mean, z_log_var)` of images `x` (numpy)."""
        raise self._unsupported("give a posterior")

    def decode(self, z, batch_size=256):
        """Images decoded from latent codes `z`."""
        raise self._unsupported("decode")

    def generate(self, n, labels=None, seed=None, batch_size=256):
        """`n` generated images."""
        raise self._unsupported("generate")

    def classify(self, x, batch_size=256):
        """Class probabilities of images `x`."""
        raise self._unsupported("classify")

    def has_class_prior(self):
        """Whether `generate(n, labels=...)` can draw every class."""
        return False

    # -- configuration ---------------------------------------------------
    def get_config(self):
        # A network a model may go without (such as the VEC's optional
        # decoder) is serialized as None.
        networks = {
            name: None
            if getattr(self, name) is None
            else _without_compile_config(
                keras.saving.serialize_keras_object(getattr(self, name))
            )
            for name in self.network_names
        }
        return {**super().get_config(), **networks, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in cls.network_names:
            if config.get(name) is not None:
                config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)

    # -- compile ---------------------------------------------------------
    def compile(self, jit_compile="auto", steps_per_execution=1, **optimizers):
        """Configure the optimizers (by name) and how steps are compiled.

        Args:
            jit_compile: as in `keras.Model.compile` (XLA on JAX and, when
                `True`, on TensorFlow).
            steps_per_execution: as in `keras.Model.compile`.
            **optimizers: one optimizer (instance, name or config) per name
                in `optimizer_names`; a missing one (or None) is
                `default_optimizer(name)`
                (Adam with Keras's default learning rate unless a model says
                otherwise).
        """
        unknown = sorted(set(optimizers) - set(self.optimizer_names))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}.compile() got unexpected arguments "
                f"{unknown}. It computes its own losses and metrics and takes "
                f"the optimizers {list(self.optimizer_names)}, `jit_compile` "
                "and `steps_per_execution`."
            )
        resolved = {  # a missing optimizer, or None, is the default
            name: _optimizer_of(
                name,
                self.default_optimizer(name)
                if optimizers.get(name) is None
                else optimizers[name],
            )
            for name in self.optimizer_names
        }
        # float16 gradients underflow: under `mixed_float16` each optimizer
        # scales its loss (`compute_gradients`) and unscales its gradients
        # (`apply`). One optimizer is wrapped in a `LossScaleOptimizer`
        # (dynamic scale, as `keras.Model.compile` does, starting from
        # `FLOAT16_LOSS_SCALE`); Keras's `MultiOptimizer` cannot hold one, so
        # several share that scale as a static `loss_scale_factor`.
        float16 = self.dtype_policy.name == "mixed_float16"
        _warn_of_tensorflow_cpu_bfloat16(self.dtype_policy.name)
        if len(resolved) == 1:
            (container,) = resolved.values()
            if float16 and not isinstance(
                container, keras.optimizers.LossScaleOptimizer
            ):
                container = keras.optimizers.LossScaleOptimizer(
                    container, initial_scale=FLOAT16_LOSS_SCALE
                )
        else:
            owner = {}
            for name, optimizer in resolved.items():
                setattr(self, name, optimizer)
                for variable in self._optimizer_variables(name):
                    owner[id(variable)] = optimizer
            container = keras.optimizers.MultiOptimizer(
                lambda v: owner[id(v)],
                loss_scale_factor=FLOAT16_LOSS_SCALE if float16 else None,
            )
        self._compile_arguments = {
            "jit_compile": jit_compile,
            "steps_per_execution": steps_per_execution,
        }
        super().compile(
            optimizer=container,
            jit_compile=jit_compile,
            steps_per_execution=steps_per_execution,
            auto_scale_loss=False,  # done above, per optimizer
        )
        # Build every optimizer on its own variables now: TensorFlow's fit
        # never builds `model.optimizer` before the first step otherwise.
        self.optimizer.build(self.trainable_variables)

    def get_compile_config(self):
        if not self.compiled:
            return None
        optimizers = {
            name: serialize_optimizer(self._optimizer(name))
            for name in self.optimizer_names
        }
        return {**optimizers, **self._compile_arguments}

    def compile_from_config(self, config):
        config = dict(config)
        for name in self.optimizer_names:
            config[name] = keras.optimizers.deserialize(config[name])
        self.compile(**config)

    def _optimizer(self, name):
        return self.optimizer if len(self.optimizer_names) == 1 else getattr(self, name)

    # -- the per-backend mechanics --------------------------------------
    def compute_gradients(self, loss_fn, variables, optimizer=None):
        """Run `loss_fn() -> (loss, aux)`; return `loss, aux, gradients`.

        The gradients are those of `loss` with respect to `variables`, in
        order; variables the loss does not use get zeros. When `optimizer`
        scales losses (the `mixed_float16` policy: a `LossScaleOptimizer`'s
        dynamic scale or a `loss_scale_factor`), they are those of `loss`
        times the scale, which its `apply` divides out again; under a
        TensorFlow strategy of N replicas, those of `loss / N`, which the
        strategy sums over the replicas. `loss` is returned unscaled.
        """
        variables = list(variables)
        return _with_loss_scale(
            lambda fn: _GRADIENTS[BACKEND](fn, variables, self),
            loss_fn,
            _loss_scale(optimizer),
        )

    def compute_staged_gradients(
        self, forward_fn, interlude_fn, loss_fn, variables, optimizer=None
    ):
        """Gradients of a loss whose forward pass is also used before it.

        Runs `outputs = forward_fn()` once (a tensor or a list of them), then
        `extra = interlude_fn(o)` on the outputs as constants `o` (it may
        step other optimizers), then
        `loss_fn(outputs, extra) -> (loss, aux)`, and returns `loss, aux,
        gradients` as `compute_gradients` does. The forward pass's graph is
        kept across the interlude, so the gradients equal those of running
        `forward_fn` again inside the loss, without the second pass.
        `loss_fn` must use `variables` only through `outputs`.
        """
        variables = list(variables)
        staged = _STAGED_GRADIENTS[BACKEND]
        return _with_loss_scale(
            lambda fn: staged(forward_fn, interlude_fn, fn, variables, self),
            loss_fn,
            _loss_scale(optimizer),
        )

    def apply_gradients(self, optimizer, gradients, variables):
        """One step of `optimizer` (increments its `iterations` by one)."""
        with _outside_autograd():
            if BACKEND == "jax" and isinstance(
                optimizer, keras.optimizers.LossScaleOptimizer
            ):
                _stateless_apply(optimizer, gradients, variables)
            else:
                optimizer.apply(gradients, variables)

    def apply_gradients_if(self, condition, optimizer, gradients, variables):
        """One step of `optimizer` where the scalar bool `condition` holds.

        Otherwise the variables and the optimizer's state (its moments and
        `iterations`) keep their values: the step is taken, then undone with
        `where`, which needs no control flow and so traces the same way on
        every backend.
        """
        state = [*variables, *optimizer.variables]
        with _outside_autograd():
            before = [keras.ops.copy(v.value) for v in state]
        self.apply_gradients(optimizer, gradients, variables)
        with _outside_autograd():
            for variable, old in zip(state, before):
                variable.assign(keras.ops.where(condition, variable.value, old))

    def train_step(self, *args):
        """One step of the model's `_train_step`, then its metrics (on JAX,
        with the state passed in and out as Keras' JAX trainer expects)."""
        step = lambda data: self.update_metrics(self._train_step(data))
        if BACKEND != "jax":
            return step(*args)
        state, data = args
        groups = (
            self.trainable_variables,
            self.non_trainable_variables,
            self.optimizer.variables,
            self.metrics_variables,
        )
        return self._run_stateless(step, groups, state, data)

    def test_step(self, *args):
        """The model's losses on one batch without an update, then its metrics."""
        step = lambda data: self.update_metrics(self._test_step(data))
        if BACKEND != "jax":
            return step(*args)
        state, data = args
        groups = (
            self.trainable_variables,
            self.non_trainable_variables,
            self.metrics_variables,
        )
        return self._run_stateless(step, groups, state, data)

    @staticmethod
    def _run_stateless(step, groups, state, data):
        mapping = [
            pair
            for variables, values in zip(groups, state)
            for pair in zip(variables, values)
        ]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            logs = step(data)
        new_state = tuple(
            [scope.get_current_value(v) for v in variables] for variables in groups
        )
        return logs, new_state

    # -- checked inputs on every path ----------------------------------------
    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        """`keras.Model.fit`, after checking `x`, `y` and `validation_data`.

        Numpy images may be uint8 (0..255) or floats in [0, 1]. A loss that
        turns NaN or infinite stops `fit` with `NonFiniteLossError`, before
        any later callback (a checkpoint) sees the step.
        """
        _refuse_weights(kwargs, "fit")
        _check_batch_size(args, kwargs)
        x, y = check_inputs(self, x, y, "x", self.requires_labels)
        _check_split(self, x, args, kwargs, "fit")
        if isinstance(validation_data, (tuple, list)):
            vx, vy = check_inputs(
                self,
                validation_data[0],
                validation_data[1] if len(validation_data) > 1 else None,
                "validation_data",
                self.requires_labels,
            )
            validation_data = (vx,) if vy is None else (vx, vy)
        elif validation_data is not None:
            check_inputs(
                self, validation_data, None, "validation_data", self.requires_labels
            )
        # Across several processes: this process's shard, its batch.
        x, y, batch_size = shard_inputs(
            x, y, kwargs.get("batch_size"), validation_data, positional=args
        )
        if batch_size is not None:
            kwargs["batch_size"] = batch_size
        callbacks = [StopOnNonFiniteLoss(), *(kwargs.pop("callbacks", None) or [])]
        with across_processes(self), _keeps_jax_state(self):
            with _without_tensorflow_remapper():
                return super().fit(
                    x,
                    y,
                    *args,
                    validation_data=validation_data,
                    callbacks=callbacks,
                    **kwargs,
                )

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate`, after checking `x` and `y`."""
        if not self.compiled:
            raise ValueError(
                f"You must call `compile()` before `evaluate()`: "
                f"{type(self).__name__} evaluates with the state of its optimizers."
            )
        _refuse_weights(kwargs, "evaluate")
        x, y = check_inputs(self, x, y, "x", self.requires_labels)
        _check_split(self, x, args, kwargs, "evaluate")
        with _keeps_jax_state(self):
            return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        """`keras.Model.predict`, after checking (and converting) `x`."""
        x, _ = check_inputs(self, x, None, "x")
        _check_split(self, x, args, kwargs, "predict")
        with _keeps_jax_state(self):
            return super().predict(x, *args, **kwargs)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, **kw):
        """`keras.Model.train_on_batch` on a checked batch."""
        _refuse_weights(
            {"sample_weight": sample_weight, "class_weight": class_weight},
            "train_on_batch",
        )
        x, y = check_inputs(self, x, y, "x", self.requires_labels)
        with _without_tensorflow_remapper():
            return super().train_on_batch(x, y, **kw)

    def test_on_batch(self, x, y=None, sample_weight=None, **kw):
        """`keras.Model.test_on_batch` on a checked batch."""
        _refuse_weights({"sample_weight": sample_weight}, "test_on_batch")
        x, y = check_inputs(self, x, y, "x", self.requires_labels)
        return super().test_on_batch(x, y, **kw)

    def __call__(self, inputs, *args, **kwargs):
        """Calls on numpy images check and convert them first."""
        if isinstance(inputs, (np.ndarray, list)):
            inputs, _ = check_inputs(self, inputs, None, "inputs")
        return super().__call__(inputs, *args, **kwargs)


def _optimizer_of(name, value):
    """`keras.optimizers.get(value)`, with an error that names the argument."""
    try:
        return keras.optimizers.get(value)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"`{name}` must be a Keras optimizer, its name (such as 'adam', "
            f"'sgd', 'rmsprop') or its config; received {value!r} ({error})"
        ) from None


def _check_batch_size(args, kwargs):
    """`batch_size` (second after `y`, or by keyword) is None or a whole
    number >= 1: Keras would read 0 as "the default, 32"."""
    batch_size = args[0] if args else kwargs.get("batch_size")
    if batch_size is not None:
        check_number(batch_size, "batch_size", minimum=1, integer=True)


def _check_split(model, x, args, kwargs, method):
    """Under data parallelism, batches must split evenly over the devices.

    `args`/`kwargs` are those of `fit`/`evaluate`/`predict` after `x` (and
    `y`): `batch_size` is the first positional one. On TensorFlow the
    devices are the replicas of the strategy the model was built in, and
    `predict` (no losses, no noise) may split a batch unevenly.
    """
    batch_size = kwargs.get("batch_size", args[0] if args else None)
    num_samples = len(x) if isinstance(x, np.ndarray) else None
    devices = None  # JAX: the distribution's
    if BACKEND == "tensorflow":
        strategy = model.distribute_strategy
        devices = 1 if method == "predict" else strategy.num_replicas_in_sync
    if isinstance(x, keras.utils.PyDataset):  # it brings its own batches
        check_dataset_split(x, method, devices)
        return
    check_batches_split(batch_size, num_samples, method, devices)


def _loss_scale(optimizer):
    """The factor `compute_gradients` multiplies the loss by, or None.

    Under `mixed_float16`, the optimizer's loss scale (a `LossScaleOptimizer`'s
    dynamic scale or a `loss_scale_factor`). A TensorFlow strategy sums its
    replicas' gradients: each replica's loss (a mean over its share of the
    batch) counts 1 / replicas.
    """
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        scale = optimizer.dynamic_scale.value  # read in fit's scope
    else:
        scale = getattr(optimizer, "loss_scale_factor", None)
    replicas, _ = replica_position()
    if replicas > 1:
        scale = (1.0 if scale is None else scale) / replicas
    return scale


def _with_loss_scale(gradients_of, loss_fn, scale):
    """`gradients_of(loss_fn)`, the loss multiplied by `scale` (if any).

    `gradients_of(fn) -> (loss, aux, grads)` differentiates `fn(*args) ->
    (loss, aux)`; the loss returned is the unscaled one.
    """
    if scale is None:
        return gradients_of(loss_fn)

    def scaled_loss_fn(*args):
        loss, aux = loss_fn(*args)
        return loss * scale, (loss, aux)

    _, (loss, aux), grads = gradients_of(scaled_loss_fn)
    return loss, aux, grads


def _stateless_apply(optimizer, gradients, variables):
    """`optimizer.apply` through its stateless form, assigned back.

    JAX cannot trace `LossScaleOptimizer`'s stateful `apply` (its `cond`
    assigns variables inside the branches: a leaked tracer); its stateless
    form returns the new values instead.
    """
    new_values, new_state = optimizer.stateless_apply(
        [v.value for v in optimizer.variables],
        gradients,
        [v.value for v in variables],
    )
    for variable, value in zip(variables, new_values):
        variable.assign(value)
    for variable, value in zip(optimizer.variables, new_state):
        variable.assign(value)


def _outside_autograd():
    """Updates are not recorded for differentiation (PyTorch's `no_grad`)."""
    if BACKEND == "torch":
        import torch

        return torch.no_grad()
    return contextlib.nullcontext()


@contextlib.contextmanager
def _without_tensorflow_remapper():
    """Training graphs are built without grappler's `remapper` pass.

    On a network with a residual block followed by an activation (every
    SAVAE network), the pass fails on the training graph: it fuses the
    block's `add` into the activation whose gradient still reads it, logs
    `E0000 ... remapper failed: INVALID_ARGUMENT: Mutation::Apply error`
    and leaves the graph as it was. Turning it off while `fit` builds its
    functions gives those graphs unchanged, without the error lines. The
    recursive GAN's networks (no residual blocks) train without the pass's
    fusions; inference graphs (`predict`) are built outside and keep them.
    """
    if BACKEND != "tensorflow":
        yield
        return
    import tensorflow as tf

    before = tf.config.optimizer.get_experimental_options().get("remapping", True)
    tf.config.optimizer.set_experimental_options({"remapping": False})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({"remapping": before})


def _refuse_weights(kwargs, method):
    """The package's losses have no per-sample weights: say so, don't drop them."""
    for name in ("sample_weight", "class_weight"):
        if kwargs.get(name) is not None:
            raise ValueError(
                f"`{name}` is not supported by {method}(): the models compute "
                "their own losses and weigh every sample alike. Mark unlabeled "
                "samples with label -1 instead, or resample the data."
            )
    kwargs.pop("sample_weight", None)
    kwargs.pop("class_weight", None)


@contextlib.contextmanager
def _keeps_jax_state(model):
    """On JAX, an exception inside fit/evaluate/predict keeps the variables.

    JAX's trainer moves the variables' values into its own state for the
    call (the variables hold None meanwhile) and writes them back only when
    it ends normally; after an exception or Ctrl-C the model had no values
    (`save` failed with "'NoneType' object is not callable"). Here the
    latest state is written back, and any variable still empty gets the
    value it had before the call.
    """
    if BACKEND != "jax":
        yield
        return
    model._jax_state = None  # a stale state of an earlier failed call
    variables = model_variables(model)
    before = [(v, v.value) for v in variables]
    try:
        yield
    except BaseException:
        if getattr(model, "_jax_state", None) is not None:
            model.jax_state_sync()
        for variable, value in before:
            if variable._value is None:
                variable.assign(value)
        model._jax_state = None
        raise


def check_finite_weights(model, action):
    """Raise `ValueError` before `action` writes a model whose weights hold
    NaN or inf (a file that would load and then predict NaN)."""
    bad = [
        v.path
        for v in model.weights
        if not np.all(np.isfinite(keras.ops.convert_to_numpy(v.value)))
    ]
    if bad:
        raise ValueError(
            f"{type(model).__name__}.{action}: {len(bad)} of {len(model.weights)} "
            f"weight tensors hold NaN or inf (first: {bad[0]}); refusing to "
            "write them. Restore the model from a checkpoint, or retrain."
        )


def _copy_of(variable):
    """A numpy copy of a variable's value (None for a JAX variable whose
    value the trainer's state holds)."""
    if variable._value is None:
        return None
    if BACKEND == "tensorflow":  # `.numpy()` also reads a MirroredVariable
        return np.array(variable.value.numpy(), copy=True)
    return np.array(keras.ops.convert_to_numpy(variable.value), copy=True)


def _state_arrays(state):
    """The arrays of a JAX trainer's state (a dict of lists of arrays)."""
    return [array for arrays in state.values() for array in arrays]


def _jax_state_in_variables(model):
    """Whether a JAX model's variables hold its latest values: before `fit`'s
    first step, and after a sync (each epoch's end). After a sync the trainer
    reads the variables again, and its old state may have been donated since
    (a callback's `predict` on a model that shares the variables)."""
    return getattr(model, "_jax_state", None) is None or getattr(
        model, "_jax_state_synced", True
    )


def _state_copy(state):
    """A copy of every array of a JAX trainer's state."""
    return {name: [array.copy() for array in arrays] for name, arrays in state.items()}


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or infinite during `fit`."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Raise `NonFiniteLossError` at the first step whose logs are not finite,
    with the model back at its weights before that step.

    Added first to every `fit` of the package's models: it names the step
    and the loss term, and raises before a checkpoint can save the model.
    The step that produced the non-finite loss has already updated the
    weights (and the optimizers' moments) with non-finite gradients, so the
    callback keeps a copy of the state from before each step and puts the
    latest finite one back: nothing trained before that step is lost. (A
    copy of the variables per step: a few milliseconds.)
    """

    def on_train_begin(self, logs=None):
        self._variables = model_variables(self.model)
        self._before = []

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        # The two latest states: a step whose loss was finite may still have
        # moved the weights to inf, which only the next step's loss shows.
        if BACKEND == "jax" and not _jax_state_in_variables(self.model):
            # copies: the trainer donates the state's buffers to the next step
            state = ("state", _state_copy(self.model._jax_state))
        else:  # copies: TensorFlow's and PyTorch's variables change in place
            state = (
                "values",
                [_copy_of(v) for v in self._variables],
            )
        self._before = [*self._before[-1:], state]

    @staticmethod
    def _finite(state):
        kind, saved = state
        arrays = _state_arrays(saved) if kind == "state" else saved
        return all(
            a is None or np.all(np.isfinite(keras.ops.convert_to_numpy(a)))
            for a in arrays
        )

    def _restore(self):
        finite = [state for state in self._before if self._finite(state)]
        if not finite:
            return  # the weights were not finite before fit began
        kind, saved = finite[-1]
        if kind == "state":
            self.model._jax_state = saved  # written back as fit unwinds
            self.model._jax_state_synced = False
            return
        if BACKEND == "jax":
            self.model._jax_state = None
        for variable, value in zip(self._variables, saved):
            if value is not None:
                variable.assign(value)

    def on_train_batch_end(self, batch, logs=None):
        bad = {
            name: value
            for name, value in (logs or {}).items()
            if not np.all(np.isfinite(np.asarray(keras.ops.convert_to_numpy(value))))
        }
        if bad:
            self._restore()
            name, value = next(iter(bad.items()))
            raise NonFiniteLossError(
                f"{type(self.model).__name__}: the loss term `{name}` became "
                f"{float(np.asarray(value))} at step {batch} of epoch "
                f"{getattr(self, '_epoch', 0)} (non-finite: {sorted(bad)}). "
                "Training stopped before saving anything, with the weights "
                "back as they were before that step; lower the learning "
                "rate or the loss weights (beta, gamma, kl_weight)."
            )
