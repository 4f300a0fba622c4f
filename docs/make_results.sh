#!/usr/bin/env bash
# Reproduces the measurements of docs/results.md (PyTorch backend, seed 0).
# About 25 minutes on a 2-core CPU. Results land in runs/results/.
set -euo pipefail
export KERAS_BACKEND=${KERAS_BACKEND:-torch}
common=(--train-size 4096 --epochs 3 --decoder-epochs 1 --num-samples 1000 --verbose 2)
sweep=(--betas 0 0.001 0.005 0.01 0.1 --gammas 0 0.1)
for dataset in mnist fashion_mnist; do
  python examples/$dataset.py --latent-dim 2 "${sweep[@]}" "${common[@]}" --out runs/results/${dataset}_z2
  python examples/$dataset.py --latent-dim 100 --betas 0.005 --gammas 0.1 "${common[@]}" --out runs/results/${dataset}_z100
done
for fraction in 0.01 0.1; do
  python examples/mnist.py --latent-dim 2 --betas 0.005 --gammas 0.1 --no-vae --labeled-fraction $fraction "${common[@]}" --out runs/results/mnist_z2_labels_$fraction
done
