#!/usr/bin/env bash
# The core paper-regime study on one GPU, for the day a GPU is lent (never run by CI on CIFAR).
#
#   bash bench/gpu_study.sh                      # on the GPU machine, from the repository root
#   DEVICE=cpu EPOCHS=1 ... bash bench/gpu_study.sh   # the tiny CPU check (tests/test_gpu_study.py)
#
# What it runs (droplab empirical run, resumable: finished runs are skipped, --resume continues a killed
# one): the whitenet-256 network with the airbench recipe (10 epochs, batch 512, bf16 autocast +
# channels_last, data resident on the device), seeds 0-2, on the original CIFAR-10 pixels (the official
# binary version in ../shared/data/cifar10-bin; DATA=../shared/data/cifar10 runs the JPEG copy, whose runs
# get other run ids and never mix with these):
#   * full data (d = 1);
#   * Random and Random+DRoP at d = 0.3, 0.5, 0.8 (the DRoP query model: 4 unaugmented epochs, once per
#     seed, cached under OUT/_query and shared by the densities; its logits go to OUT/query_logits/).
# With RESNET=1 it then runs ResNet-18 with the same recipe (20 epochs) at d = 1 and 0.5 (Random,
# Random+DRoP), seed 0 only.
#
# Size, from FLOPs (not measured on a GPU; no GPU number is claimed anywhere):
#   whitenet-256: 0.24 GFLOP per image forward, about 0.71 GFLOP per training image (forward +
#   backward). Per seed: d = 1 (10 x 50k = 500k images) + Random and Random+DRoP at 0.3/0.5/0.8
#   (2 x 1.6 x 500k = 1.6M) + the query model (4 x 50k = 200k) + TTA evaluations (6 x 10k per run)
#   = about 2.7M image passes, 1.9 PFLOP; 3 seeds = 5.7 PFLOP. At an effective 50-100 TFLOP/s in bf16
#   on one H100-class GPU (5-10% of its dense peak: this pipeline is eager PyTorch, batch 512, with
#   per-batch augmentation in Python) that is 1-2 minutes of compute, plus about 2 s per droplab
#   invocation for reading the data (7 invocations): about 2-3 minutes in all, under the 8-minute
#   budget. ResNet-18 (RESNET=1): 0.56 GFLOP forward, about 1.7 GFLOP per training image, 20 epochs:
#   1M images per full-data run, 1.7 PFLOP; d = 1 plus two d = 0.5 runs and a query model, about
#   3.9 PFLOP: another 1-2 minutes, so it is opt-in.
set -euo pipefail
DATA=${DATA:-../shared/data/cifar10-bin}
OUT=${OUT:-results/cifar10-original-whitenet-256-gpu}
DEVICE=${DEVICE:-cuda}
SEEDS=${SEEDS:-0 1 2}
DENSITIES=${DENSITIES:-0.3 0.5 0.8}
EXTRA=${EXTRA:-}   # e.g. "--epochs 1 --query-epochs 1 --batch-size 16" for the tiny CPU check
DROPLAB=${DROPLAB:-droplab}

run() {
  # shellcheck disable=SC2086
  "$DROPLAB" empirical run --dataset cifar10 --data-dir "$DATA" --recipe airbench --shift 2 \
    --device "$DEVICE" --out "$OUT" --resume --no-progress $EXTRA "$@"
}
# shellcheck disable=SC2086
run --model whitenet-256 --density 1 --score random --quota none --seeds $SEEDS
for d in $DENSITIES; do
  # shellcheck disable=SC2086
  run --model whitenet-256 --density "$d" --score random --quota drop --seeds $SEEDS
  # shellcheck disable=SC2086
  run --model whitenet-256 --density "$d" --score random --quota none --seeds $SEEDS
done
"$DROPLAB" empirical report "$OUT" --no-plots
if [ "${RESNET:-0}" = 1 ]; then
  OUT=${RESNET_OUT:-results/cifar10-original-resnet18-gpu}
  run --model resnet18 --density 1 --score random --quota none --seeds 0
  run --model resnet18 --density 0.5 --score random --quota drop --seeds 0
  run --model resnet18 --density 0.5 --score random --quota none --seeds 0
  "$DROPLAB" empirical report "$OUT" --no-plots
fi
echo "gpu study done"
