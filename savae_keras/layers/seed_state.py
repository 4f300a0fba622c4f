"""Random states saved with the weights, so training resumes identically."""

PREFIX = "seed_generator_state_"


class SavesSeedState:
    """Mixin for layers and models that own `keras.random.SeedGenerator`s.

    Keras saves weights, not the states of seed generators: a loaded model
    draws its noise from the start of the sequence again, so training on
    after `load_model` or `BackupAndRestore` would differ from training on
    without the interruption. This mixin adds each own generator's state to
    the saved variables (`save_own_variables`) and restores it on loading;
    files without those entries load as before.
    """

    def _saved_seed_generators(self):
        """The generators whose states are saved: the layer's own."""
        return list(self._seed_generators)

    def save_own_variables(self, store):
        super().save_own_variables(store)
        for index, generator in enumerate(self._saved_seed_generators()):
            store[f"{PREFIX}{index}"] = generator.state

    def load_own_variables(self, store):
        keys = list(store.keys())
        super().load_own_variables(
            {key: store[key] for key in keys if not key.startswith(PREFIX)}
        )
        for index, generator in enumerate(self._saved_seed_generators()):
            if f"{PREFIX}{index}" in keys:
                generator.state.assign(store[f"{PREFIX}{index}"])
