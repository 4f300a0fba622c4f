"""The one place where the three backends differ: gradients and JAX's state.

Every model of the package writes its training step once, as ordinary
stateful Keras code (`_train_step(data)`): call the networks, compute the
losses with `keras.ops`, take gradients with `self.compute_gradients`, apply
them with `self.apply_gradients`, update the metric trackers. The backends
then differ in two small places only:

* **Gradients.** TensorFlow records a `GradientTape`; PyTorch calls
  `torch.autograd.grad`; JAX differentiates a function of the variables'
  values, run in a nested `StatelessScope` that maps every other variable to
  its current value and hands back what the loss updated (BatchNorm
  statistics, seed states).
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

import keras

from savae_keras.layers.seed_state import SavesSeedState
from savae_keras.models.inputs import check_inputs

BACKEND = keras.backend.backend()


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


def _jax_gradients(loss_fn, variables, model):
    import jax

    wanted = {id(v) for v in variables}
    others = [v for v in model.variables if id(v) not in wanted]
    other_values = [v.value for v in others]  # read through fit's scope

    def values_to_loss(values):
        mapping = list(zip(variables, values)) + list(zip(others, other_values))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            loss, aux = loss_fn()
        return loss, (aux, [scope.get_current_value(v) for v in others])

    (loss, (aux, updates)), grads = jax.value_and_grad(values_to_loss, has_aux=True)(
        [v.value for v in variables]
    )
    for variable, value in zip(others, updates):
        variable.assign(value)  # recorded in fit's scope: BN stats, seeds
    return loss, aux, list(grads)


_GRADIENTS = {
    "tensorflow": _tensorflow_gradients,
    "torch": _torch_gradients,
    "jax": _jax_gradients,
}


def serialize_optimizer(optimizer):
    """Backend-neutral form: the class name and config, not a module path.

    Keras records the backend's module (on PyTorch `...torch_adam`), and a
    file saved that way cannot train on another backend; the class name
    resolves to the right class on each.
    """
    name = keras.saving.get_registered_name(type(optimizer))
    return {"class_name": name, "config": optimizer.get_config()}


class Trainer(SavesSeedState, keras.Model):
    """Base class of the package's models: a custom step on every backend.

    Subclasses define:

    * `optimizer_names`: the names of their optimizers, which are also the
      keyword arguments of `compile` and the attributes that hold them;
    * `_optimizer_variables(name)`: the variables each optimizer updates;
    * `_train_step(data)` and `_test_step(data)`: stateful step bodies that
      return the logs.

    The states of the models' seed generators are saved with their weights
    (`SavesSeedState`), so a loaded or restored model trains on exactly as
    the original would.
    """

    optimizer_names = ("optimizer",)
    requires_labels = False

    def _optimizer_variables(self, name):
        return self.trainable_variables

    def default_optimizer(self, name):
        """The optimizer `compile` uses when `name` is not given."""
        return "adam"

    # -- compile ---------------------------------------------------------
    def compile(self, jit_compile="auto", steps_per_execution=1, **optimizers):
        """Configure the optimizers (by name) and how steps are compiled.

        Args:
            jit_compile: as in `keras.Model.compile` (XLA on JAX and, when
                `True`, on TensorFlow).
            steps_per_execution: as in `keras.Model.compile`.
            **optimizers: one optimizer (instance, name or config) per name
                in `optimizer_names`; a missing one is `default_optimizer(name)`
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
        resolved = {
            name: keras.optimizers.get(
                optimizers.get(name, self.default_optimizer(name))
            )
            for name in self.optimizer_names
        }
        if len(resolved) == 1:
            (container,) = resolved.values()
        else:
            owner = {}
            for name, optimizer in resolved.items():
                setattr(self, name, optimizer)
                for variable in self._optimizer_variables(name):
                    owner[id(variable)] = optimizer
            container = keras.optimizers.MultiOptimizer(lambda v: owner[id(v)])
        self._compile_arguments = {
            "jit_compile": jit_compile,
            "steps_per_execution": steps_per_execution,
        }
        super().compile(
            optimizer=container,
            jit_compile=jit_compile,
            steps_per_execution=steps_per_execution,
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
    def compute_gradients(self, loss_fn, variables):
        """Run `loss_fn() -> (loss, aux)`; return `loss, aux, gradients`.

        The gradients are those of `loss` with respect to `variables`, in
        order; variables the loss does not use get zeros.
        """
        return _GRADIENTS[BACKEND](loss_fn, list(variables), self)

    def apply_gradients(self, optimizer, gradients, variables):
        """One step of `optimizer` (increments its `iterations` by one)."""
        if BACKEND == "torch":
            import torch

            with torch.no_grad():
                optimizer.apply(gradients, variables)
        else:
            optimizer.apply(gradients, variables)

    def train_step(self, *args):
        if BACKEND != "jax":
            return self._train_step(*args)
        state, data = args
        groups = (
            self.trainable_variables,
            self.non_trainable_variables,
            self.optimizer.variables,
            self.metrics_variables,
        )
        return self._run_stateless(self._train_step, groups, state, data)

    def test_step(self, *args):
        if BACKEND != "jax":
            return self._test_step(*args)
        state, data = args
        groups = (
            self.trainable_variables,
            self.non_trainable_variables,
            self.metrics_variables,
        )
        return self._run_stateless(self._test_step, groups, state, data)

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

    # -- checked inputs ----------------------------------------------------
    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        """`keras.Model.fit`, after checking `x`, `y` and `validation_data`.

        Numpy images may be uint8 (0..255) or floats in [0, 1].
        """
        x, y = check_inputs(self, x, y, "x", self.requires_labels)
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
        return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate`, after checking `x` and `y`."""
        if not self.compiled:
            raise ValueError(
                f"You must call `compile()` before `evaluate()`: "
                f"{type(self).__name__} evaluates with the state of its optimizers."
            )
        x, y = check_inputs(self, x, y, "x", self.requires_labels)
        return super().evaluate(x, y, *args, **kwargs)

    def _logs(self):
        return {metric.name: metric.result() for metric in self.metrics}
