#!/usr/bin/env bash
# The CIFAR-10 small-CNN grid of the real-data study (README, "Real-data evidence on CPU").
# Run by hand from the repository root, never by CI; resumable (finished runs are skipped, a killed
# run continues from its last epoch with --resume):
#   nohup bash results/cifar10-smallcnn/run_grid.sh > results/cifar10-smallcnn/grid.log 2>&1 &
# Protocol: CIFAR-10 JPEG copy, small CNN, fast recipe, 8 epochs for every run, Random+DRoP query
# model 3 unaugmented epochs, EL2N query 10% of training x 5 inits; seeds 0, 1, 2.
# Issue 11's grid: d in {0.3, 0.5, 0.8} x {Random, Random+DRoP, EL2N, EL2N+DRoP} and d = 1 (39 runs).
# Issue 13's theory allocations at d in {0.3, 0.5}: Random+Probit, Random+DRoP(alpha = 0.7) and
# Random+Minimax (the minimax densities of the calibrated tied surrogate of the query model's validation
# logits), which reuse the Random+DRoP query model of the same seed (18 runs).
set -uo pipefail
DATA=${DATA:-../shared/data/cifar10}
OUT=${OUT:-results/cifar10-smallcnn}
run() {
  droplab empirical run --dataset cifar10 --data-dir "$DATA" --model smallcnn --recipe fast --epochs 8 \
    --query-epochs 3 --device auto --out "$OUT" --resume --no-progress "$@" || echo "FAILED: $*"
}
for d in 0.5 0.3 0.8; do
  for s in 0 1 2; do
    run --density "$d" --score random --quota none --seeds "$s"
    run --density "$d" --score random --quota drop --seeds "$s"
    run --density "$d" --score el2n --quota none --seeds "$s"
    run --density "$d" --score el2n --quota drop --seeds "$s"
    if [ "$d" != 0.8 ]; then
      run --density "$d" --score random --quota probit --seeds "$s"
      run --density "$d" --score random --quota drop --alpha 0.7 --seeds "$s"
      run --density "$d" --score random --quota minimax --seeds "$s"
    fi
  done
done
for s in 0 1 2; do
  run --density 1 --score random --quota none --seeds "$s"
done
echo "grid done"
