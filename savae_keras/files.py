"""Files that a kill at any moment cannot leave half-written.

Keras writes model and weight files in place: a process killed while it
writes leaves a truncated file where the last good one was. Everything the
package writes goes through `save_atomically` (write a temporary file beside
the target, then `os.replace` it into place, which is atomic on POSIX and
Windows), and the two callbacks below do the same for checkpoints and
backups. Across several processes only the chief writes
(`savae_keras.distribution.is_chief`): the others' writes do nothing.
"""

import json
import os

import keras

from savae_keras.distribution import is_chief

__all__ = [
    "SafeModelCheckpoint",
    "CrashSafeBackup",
    "save_atomically",
    "write_json_atomically",
    "write_text_atomically",
    "temporary_path",
]

_SUFFIXES = (".weights.h5", ".keras", ".h5", ".json", ".npz")


def temporary_path(path):
    """A hidden sibling of `path` with the same suffix (Keras checks it)."""
    folder, name = os.path.split(os.fspath(path))
    suffix = next((s for s in _SUFFIXES if name.endswith(s)), "")
    stem = name[: len(name) - len(suffix)] if suffix else name
    return os.path.join(folder, f".{stem}.partial{suffix}")


def save_atomically(save, path):
    """Call `save(temporary)` and move the result to `path` in one step.

    Until `save` has finished, `path` keeps its previous content (or stays
    absent); the temporary file is removed if `save` fails. Outside the
    chief process nothing is written.
    """
    if not is_chief():
        return path
    temporary = temporary_path(path)
    try:
        save(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def write_text_atomically(text, path):
    """Write `text` to `path`, atomically."""

    def write(temporary):
        with open(temporary, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())

    return save_atomically(write, path)


def write_json_atomically(data, path, default=None):
    """`json.dump(data)` to `path`, atomically (`default` as `json.dump`'s)."""
    return write_text_atomically(json.dumps(data, indent=2, default=default), path)


class SafeModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """`keras.callbacks.ModelCheckpoint` that never truncates the last good file.

    Same arguments and behaviour; each file is written under a temporary
    name and moved into place, so a kill while saving leaves the previous
    checkpoint intact.
    """

    def _save_model(self, epoch, batch, logs):
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, batch, logs, filepath):
            return
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            save = lambda path: self.model.save_weights(path, overwrite=True)
        else:
            save = lambda path: self.model.save(path, overwrite=True)
        save_atomically(save, filepath)
        if self.verbose > 0:
            keras.utils.io_utils.print_msg(
                f"\nEpoch {epoch + 1}: finished saving model to {filepath}"
            )


class CrashSafeBackup(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` whose backup survives a kill at any moment.

    Keras's callback writes the weights and then a JSON file of the epoch,
    both in place: a kill inside either write, or between the two, leaves a
    truncated file or weights of one epoch with the counter of another.
    Here each backup writes its weights to a new file named by its epoch,
    then atomically replaces the JSON file that points to it, then removes
    the previous weights: at every moment the JSON names a complete file
    of the epoch it records. Resuming is therefore exact, losing at most the
    epoch in progress. Epoch-end backups only (`save_freq="epoch"`).
    """

    def __init__(self, backup_dir, delete_checkpoint=True):
        super().__init__(
            backup_dir, save_freq="epoch", delete_checkpoint=delete_checkpoint
        )
        self._pointer_path = os.path.join(backup_dir, "backup.json")

    def _read_pointer(self):
        if not os.path.isfile(self._pointer_path):
            return None
        with open(self._pointer_path) as handle:
            return json.load(handle)

    def _load_model(self):
        pointer = self._read_pointer()
        if pointer is None:
            return
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(os.path.join(self.backup_dir, pointer["weights"]))
        self.model._initial_epoch = pointer["epoch"]

    def _save_model(self):
        if not is_chief():
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        previous = self._read_pointer()
        name = f"epoch_{self._current_epoch:05d}.weights.h5"
        path = os.path.join(self.backup_dir, name)
        save_atomically(
            lambda temporary: self.model.save_weights(temporary, overwrite=True),
            path,
        )
        write_json_atomically(
            {"epoch": self._current_epoch, "weights": name}, self._pointer_path
        )
        if previous and previous["weights"] != name:
            stale = os.path.join(self.backup_dir, previous["weights"])
            if os.path.exists(stale):
                os.remove(stale)

    def on_train_end(self, logs=None):
        if not is_chief():
            return
        if self.delete_checkpoint and os.path.isdir(self.backup_dir):
            pointer = self._read_pointer()
            if pointer:
                weights = os.path.join(self.backup_dir, pointer["weights"])
                if os.path.exists(weights):
                    os.remove(weights)
                os.remove(self._pointer_path)
            for name in os.listdir(self.backup_dir):  # partial writes
                if name.startswith("."):
                    os.remove(os.path.join(self.backup_dir, name))
            if not os.listdir(self.backup_dir):
                os.rmdir(self.backup_dir)
