"""How the benchmarks report: one JSON line per row, after the run's budget."""

import json


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
