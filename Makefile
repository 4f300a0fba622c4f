# The two entry points of the README. Each sets itself up on a fresh machine:
#   make main   a short SAVAE training on MNIST that writes its figures
#   make test   the whole test suite on TensorFlow, JAX and PyTorch
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BACKENDS ?= tensorflow jax torch
# Two workers, one thread each: the suite is mostly compile time, which runs
# one per core, and two workers with a thread pool per core each thrash.
PYTEST_ARGS ?= -n 2
THREADS := OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1
MAIN_OUT ?= runs/mnist_quick
export SAVAE_DATA_DIR ?= $(abspath ../shared/data)
# Reference classifiers are trained once and shared by the backends' runs.
export SAVAE_CACHE_DIR ?= $(abspath .cache)
# The suite judges images with reference classifiers trained on the first
# TEST_REFERENCE_SIZE training images (cached apart; docs/results.md and
# `make main` use ones trained on the whole split).
TEST_REFERENCE_SIZE ?= 4096

.PHONY: setup main test lint

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU wheel of PyTorch; a looser spec pulls a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[tensorflow-cpu,jax,torch,tuning,dev]"
	touch $@

setup: $(VENV)/.installed

main: setup
	$(PY) examples/mnist.py --quick --out $(MAIN_OUT)

test: export SAVAE_REFERENCE_TRAIN_SIZE = $(TEST_REFERENCE_SIZE)
test: setup
	KERAS_BACKEND=tensorflow $(PY) -m savae_keras.metrics.reference mnist fashion_mnist
	@status=0; for backend in $(BACKENDS); do \
	  echo "=== tests with KERAS_BACKEND=$$backend ==="; \
	  start=$$(date +%s); \
	  $(THREADS) KERAS_BACKEND=$$backend $(PY) -m pytest $(PYTEST_ARGS) || status=1; \
	  echo "=== $$backend: $$(( $$(date +%s) - start )) s ==="; \
	done; exit $$status

lint: setup
	$(VENV)/bin/ruff check savae_keras tests examples tuning benchmarks
