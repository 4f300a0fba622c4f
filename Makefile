# The two entry points of the README. Each sets itself up on a fresh machine:
#   make main   a short SAVAE training on MNIST that writes its figures
#   make test   the test suite on PyTorch, and its backend mechanics (tests
#               marked every_backend) on TensorFlow and JAX too; tests marked
#               long (every example and search end to end) run in
#               `make test-long`; `make test SUITE=full` runs every non-long
#               test on every backend
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BACKENDS ?= torch tensorflow jax
# The backend that runs the whole suite; the others run the tests marked
# every_backend (steps, gradients, saving, state: what differs per backend).
FULL_BACKEND ?= torch
SUITE ?= split
# Two workers, one thread each: the suite is mostly compile time, which runs
# one per core, and two workers with a thread pool per core each thrash.
PYTEST_ARGS ?= -n 2 --durations=15
THREADS := OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1
MAIN_OUT ?= runs/mnist_quick
# pip skips compiling every installed module to bytecode (most of the
# set-up's time); Python compiles and caches the ones it imports instead.
unexport PYTHONDONTWRITEBYTECODE
PIP_INSTALL := $(PY) -m pip install --quiet --no-compile
export SAVAE_DATA_DIR ?= $(abspath ../shared/data)
# Reference classifiers are trained once and shared by the backends' runs.
export SAVAE_CACHE_DIR ?= $(abspath .cache)
# The suite judges images with reference classifiers trained on the first
# TEST_REFERENCE_SIZE training images (cached apart; docs/results/ and
# `make main` use ones trained on the whole split).
TEST_REFERENCE_SIZE ?= 4096

.PHONY: setup main references test test-long lint docs

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	# The CPU wheel of PyTorch; a looser spec pulls a multi-GB CUDA build.
	$(PIP_INSTALL) torch==2.13.0
	$(PIP_INSTALL) -e ".[tensorflow-cpu,jax,torch,tuning,docs,dev]"
	touch $@

setup: $(VENV)/.installed

main: setup
	$(PY) examples/mnist.py --preset quick --out $(MAIN_OUT)

# The suite's reference classifiers, trained once (cached) before the tests.
references test test-long: export SAVAE_REFERENCE_TRAIN_SIZE = $(TEST_REFERENCE_SIZE)
references: setup
	KERAS_BACKEND=tensorflow $(PY) -m savae_keras.metrics.reference mnist fashion_mnist

test: references
	@status=0; for backend in $(BACKENDS); do \
	  echo "=== tests with KERAS_BACKEND=$$backend ==="; \
	  start=$$(date +%s); \
	  if [ "$(SUITE)" = full ] || [ $$backend = $(FULL_BACKEND) ]; then \
	  marks="not long"; else marks="every_backend and not long"; fi; \
	  $(THREADS) KERAS_BACKEND=$$backend $(PY) -m pytest $(PYTEST_ARGS) -m "$$marks" || status=1; \
	  echo "=== $$backend: $$(( $$(date +%s) - start )) s ==="; \
	done; exit $$status

# The end-to-end runs of every example and search (their tests took 63
# minutes of one test worker between them in a run here).
test-long: references
	$(THREADS) KERAS_BACKEND=$(FULL_BACKEND) $(PY) -m pytest $(PYTEST_ARGS) -m long

lint: setup
	$(VENV)/bin/ruff check savae_keras tests examples tuning benchmarks

# The documentation site (MkDocs, Material theme, mkdocstrings), built
# strictly: a broken link or API reference fails it. Output in site/.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet
