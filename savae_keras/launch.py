"""Start N processes of one training script on this machine, as one run.

    KERAS_BACKEND=jax python -m savae_keras.launch --processes 2 -- \\
        examples/mnist.py --preset quick --distribute

Each process runs the script with the same Python and arguments, and with
Keras's distribution variables set (`KERAS_DISTRIBUTION_JOB_ADDRESSES`, the
coordinator on this machine's loopback address; `..._NUM_PROCESSES`;
`..._PROCESS_ID`) and `SAVAE_DISTRIBUTED_TIMEOUT`; the script's
`data_parallel()` (`--distribute`) joins them
(`savae_keras.distribution.initialize`). It is for trying a multi-process
run on one machine; on a cluster, set the same variables on each machine
(docs: the several-machines guide). Process 0, the chief, writes the
files and prints to this terminal; the others' lines are prefixed with
`[process i]`. When a process fails, the others are stopped after at
most `--grace` seconds, and the launcher exits with the failed process's
status.
"""

import argparse
import os
import socket
import subprocess
import sys
import threading
import time

from savae_keras.cli import positive_float
from savae_keras.cli import positive_int
from savae_keras.distribution import ADDRESS_VARIABLE
from savae_keras.distribution import DEFAULT_TIMEOUT
from savae_keras.distribution import PROCESS_ID_VARIABLE
from savae_keras.distribution import PROCESSES_VARIABLE
from savae_keras.distribution import TIMEOUT_VARIABLE


def free_port():
    """A TCP port free on the loopback address now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port(text):
    port = positive_int(text)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"must be a port <= 65535; received {text!r}")
    return port


def parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m savae_keras.launch",
        description=__doc__.splitlines()[0],
        epilog="Everything after `--` is the script and its arguments.",
    )
    parser.add_argument("--processes", type=positive_int, required=True)
    parser.add_argument(
        "--port", type=_port, default=None, help="the coordinator's (default: free)"
    )
    parser.add_argument(
        "--timeout",
        type=positive_int,
        default=DEFAULT_TIMEOUT,
        help="seconds a process waits for the others (to join, or when one "
        f"stops answering) before failing (default {DEFAULT_TIMEOUT})",
    )
    parser.add_argument(
        "--grace",
        type=positive_float,
        default=30.0,
        help="seconds the others get to end after one fails (default 30)",
    )
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv:
        parser.error("give the script after `--`: ... --processes 2 -- script.py")
    split = argv.index("--")
    args = parser.parse_args(argv[:split])
    args.command = argv[split + 1 :]
    if not args.command:
        parser.error("no script after `--`")
    script = args.command[0]
    if script.endswith(".py") and not os.path.isfile(script):
        parser.error(f"the script {script!r} does not exist")
    backend = os.environ.get("KERAS_BACKEND", "jax")
    if args.processes > 1 and backend != "jax":
        parser.error(
            f"KERAS_BACKEND={backend}: several processes train on JAX only "
            "(TensorFlow's MultiWorkerMirroredStrategy does not train Keras 3 "
            "models, keras-team/keras#20585; PyTorch has no Keras "
            "distribution). Set KERAS_BACKEND=jax."
        )
    return args


def _relay(stream, prefix):
    for line in iter(stream.readline, ""):
        sys.stdout.write(prefix + line)
        sys.stdout.flush()


def launch(args):
    """Run the processes; return the exit status of the run."""
    port = args.port or free_port()
    common = {
        **os.environ,
        "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "jax"),
        ADDRESS_VARIABLE: f"127.0.0.1:{port}",
        PROCESSES_VARIABLE: str(args.processes),
        TIMEOUT_VARIABLE: str(args.timeout),
    }
    processes, relays = [], []
    for index in range(args.processes):
        env = {**common, PROCESS_ID_VARIABLE: str(index)}
        piped = {}  # the chief prints to this terminal, the others are relayed
        if index:
            piped = {
                "stdout": subprocess.PIPE,
                "stderr": subprocess.STDOUT,
                "text": True,
            }
        process = subprocess.Popen([sys.executable, *args.command], env=env, **piped)
        processes.append(process)
        if index:
            relay = threading.Thread(
                target=_relay, args=(process.stdout, f"[process {index}] "), daemon=True
            )
            relay.start()
            relays.append(relay)
    failed = None
    try:
        while any(p.poll() is None for p in processes):
            for index, process in enumerate(processes):
                code = process.poll()
                if code not in (None, 0) and failed is None:
                    failed = (index, code, time.monotonic())
            if failed and time.monotonic() - failed[2] > args.grace:
                break
            time.sleep(0.2)
    except KeyboardInterrupt:
        failed = failed or (None, 130, time.monotonic())
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for relay in relays:
        relay.join(timeout=5)
    if failed is None:
        failed = next(
            ((i, p.returncode, 0) for i, p in enumerate(processes) if p.returncode),
            None,
        )
    if failed is None:
        return 0
    index, code, _ = failed
    who = "interrupted" if index is None else f"process {index} exited with {code}"
    print(f"savae_keras.launch: {who}; stopped the others.", file=sys.stderr)
    return code or 1


def main(argv=None):
    sys.exit(launch(parse(argv)))


if __name__ == "__main__":
    main()
