#!/usr/bin/env bash
# Reproduces the measurements of docs/results.md (PyTorch backend, seed 0).
# About 30 minutes on an idle 2-core CPU. Results land in runs/results/.
set -euo pipefail
export KERAS_BACKEND=${KERAS_BACKEND:-torch}
export SAVAE_DATA_DIR=${SAVAE_DATA_DIR:-../shared/data}
export SAVAE_CACHE_DIR=${SAVAE_CACHE_DIR:-.cache}  # reference classifiers, as `make test`
common=(--train-size 4096 --epochs 8 --decoder-epochs 1 --num-samples 1000 --verbose 2)
python examples/mnist.py --latent-dim 2 --betas 0 0.001 0.005 0.01 0.1 --gammas 0 0.1 "${common[@]}" --out runs/results/mnist_z2
python examples/fashion_mnist.py --latent-dim 2 --betas 0 0.005 0.1 --gammas 0 0.1 "${common[@]}" --out runs/results/fashion_mnist_z2
for dataset in mnist fashion_mnist; do
  python examples/$dataset.py --latent-dim 100 --betas 0.005 --gammas 0.1 "${common[@]}" --out runs/results/${dataset}_z100
done
for fraction in 0.01 0.1; do
  python examples/mnist.py --latent-dim 2 --betas 0.005 --gammas 0.1 --no-vae --labeled-fraction $fraction "${common[@]}" --out runs/results/mnist_z2_labels_$fraction
done
python examples/recursive_gan_cifar10.py --quick --verbose 2 --out runs/results/recursive_gan_cifar10
