"""What the benchmarks share: their run flags, a step limit, their JSON rows."""

import json


def add_run_arguments(parser):
    """The flags `row_writer` records: dataset, batch size, samples, seed, out."""
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="also append the rows here")


def stop_after(steps):
    """A callback that ends `fit` after `steps` batches in all."""
    import keras

    class StopAfter(keras.callbacks.Callback):
        done = 0

        def on_train_batch_end(self, batch, logs=None):
            self.done += 1
            if self.done >= steps:
                self.model.stop_training = True

    return StopAfter()


def row_writer(args, train_size, reference):
    """`emit(row)`: print `{budget, **row}` as JSON, and append it to `args.out`."""
    import keras

    budget = {
        "dataset": args.dataset,
        "backend": keras.backend.backend(),
        "seed": args.seed,
        "train_size": train_size,
        "batch_size": args.batch_size,
        "num_samples": args.num_samples,
        "reference_test_accuracy": reference.test_accuracy,
    }

    def emit(row):
        line = json.dumps({**budget, **row})
        print(line, flush=True)
        if args.out:
            with open(args.out, "a") as handle:
                handle.write(line + "\n")

    return emit
