"""One check of a GPU machine, in under 8 minutes, written to one JSON file.

    python benchmarks/gpu_check.py --out gpu_check.json

Run it once where a GPU is at hand, in an environment with the package and
its engines installed for that GPU (no download happens here; the data in
`$SAVAE_DATA_DIR`). It runs, each step under its own time limit so the
whole check ends in time:

1. `benchmarks/throughput.py` for the VEC and the decoder at batch 256 on
   JAX, TensorFlow and PyTorch, in float32 and in `mixed_bfloat16`;
2. `examples/mnist.py --preset quick` on JAX with a budget of `--seconds`
   per model, and its metrics (FCDs, label consistency, variety).

The JSON holds the GPU's name and memory (`nvidia-smi`), the versions, each
step's rows or its error, and the seconds each step took. The numbers go on
the docs' speed page, with the GPU's name.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BACKENDS = ("jax", "tensorflow", "torch")
POLICIES = ("float32", "mixed_bfloat16")


def _gpu():
    try:
        result = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return result.stdout.strip() or result.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"no nvidia-smi: {error}"


def _step(command, limit, env=None):
    """Run `command` for at most `limit` seconds (with every process it
    starts): its status, seconds and the tail of its output."""
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        start_new_session=True,  # its own group: a timeout ends its children
    )
    try:
        output, _ = process.communicate(timeout=limit)
        status = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        status = "timed out"
    return {
        "status": status,
        "seconds": round(time.monotonic() - started, 1),
        "tail": (output or "")[-2000:],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="gpu_check.json")
    parser.add_argument(
        "--throughput-seconds",
        type=float,
        default=35.0,
        help="the limit of each of the six throughput runs",
    )
    parser.add_argument(
        "--seconds", type=float, default=40.0, help="the training budget per model"
    )
    args = parser.parse_args(argv)
    record = {"gpu": _gpu(), "python": sys.version.split()[0], "throughput": []}
    folder = tempfile.mkdtemp(prefix="gpu_check_")
    for backend in BACKENDS:
        for policy in POLICIES:
            rows = os.path.join(folder, f"{backend}_{policy}.json")
            command = [
                sys.executable,
                os.path.join(HERE, "throughput.py"),
                "--models",
                "vec",
                "decoder",
                "--batch-sizes",
                "256",
                "--steps",
                "50",
                "--dtype-policy",
                policy,
                "--json",
                rows,
            ]
            step = _step(command, args.throughput_seconds, {"KERAS_BACKEND": backend})
            if os.path.exists(rows):
                with open(rows) as handle:
                    step["rows"] = json.load(handle)
            record["throughput"].append({"backend": backend, "policy": policy, **step})
            print(backend, policy, step["status"], f"{step['seconds']} s", flush=True)
    out = os.path.join(folder, "quick")
    command = [
        sys.executable,
        os.path.join(REPO, "examples", "mnist.py"),
        "--preset",
        "quick",
        "--set",
        f"seconds={args.seconds}",
        "--out",
        out,
    ]
    # Two models, their metrics and the start: at most 220 s by default, so
    # the whole check stays under 8 minutes (6 × 35 s before it).
    step = _step(command, 4 * args.seconds + 60, {"KERAS_BACKEND": "jax"})
    metrics = os.path.join(out, "metrics.json")
    if os.path.exists(metrics):
        with open(metrics) as handle:
            step["metrics"] = json.load(handle)
    record["training"] = step
    print("training", step["status"], f"{step['seconds']} s", flush=True)
    with open(args.out, "w") as handle:
        json.dump(record, handle, indent=2)
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
