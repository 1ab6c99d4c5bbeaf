#!/usr/bin/env bash
# "Why", per dataset (issue "Beyond CIFAR-10"): every class's measured learning curve against what DRoP's
# rule reads (droplab empirical class-curves, empirical/class_curves.py), from the committed runs only (no
# training; about a minute). Writes figures/class-curves/class_curves_<dataset>_<model>.{png,pdf,csv}
# .md (its caption, from the numbers) and the printed table, .txt; then figures/class-curves/README.md, the
# captions in one page (the documentation site shows it on "Across datasets").
# Run from the repository root:  bash studies/class-curves.sh
set -euo pipefail
OUT=${OUT:-figures/class-curves}
mkdir -p "$OUT"
curves() {  # curves STEM [options and runs...]
  local stem=$1
  shift
  droplab empirical class-curves --out "$OUT" --stem "$stem" "$@" > "$OUT/$stem.txt"
}
curves class_curves_cifar10_smallcnn --density 0.3 results/cifar10-smallcnn
# whitenet-256 at its study's 10 epochs (one 20-epoch reference run is another configuration)
# shellcheck disable=SC2046
curves class_curves_cifar10_whitenet-256 --density 0.3 \
  $(grep -L '"epochs": 20' results/cifar10-whitenet-256/*.json results/cifar10-whitenet-256/pilots/*.json)
# MNIST-1D: the curves pool both per-class floors; DRoP's effect is the paper's rule as it is (floor 0)
curves class_curves_mnist1d_cnn1d --density 0.3 --floor 0 results/mnist1d-cnn1d
# Fashion-MNIST: its complete seeds (0-3; seed 4 is partial)
curves class_curves_fashion-mnist_smallcnn-gray --density 0.3 results/fashion-mnist-smallcnn/*_s[0-3]_*.json \
  results/fashion-mnist-smallcnn/pilots/*_s[0-3]_*.json
curves class_curves_gaussian_mlp --density 0.3 results/gaussian-mlp
{
  printf '# Why DRoP is, or is not, far from the best: learning curves per class\n\n'
  printf 'Written by `bash studies/class-curves.sh` from the committed runs (`droplab empirical class-curves`, '
  printf '`empirical/class_curves.py`); the tables it printed are the `.txt` files beside each figure.\n\n'
  printf '## Figures\n\n'
  for f in cifar10_smallcnn cifar10_whitenet-256 mnist1d_cnn1d fashion-mnist_smallcnn-gray gaussian_mlp; do
    cat "$OUT/class_curves_$f.md"
    printf '\n'
  done
} > "$OUT/README.md"
ls "$OUT"
