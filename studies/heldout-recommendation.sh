#!/usr/bin/env bash
# The held-out test of the recommendation that prefers DRoP (`--prefer DRoP`), declared on 2026-12-07
# before any of these runs existed (docs/recommendation.md, "DRoP unless the evidence says otherwise"):
# the rule was written after the five earlier studies had been scored, so it is judged on groups trained
# after it: Fashion-MNIST seeds 5-19, long-tailed CIFAR-10 (rho = 10) seeds 1-9, and the study on the
# original CIFAR-10 pixels. Each folder is scored twice on the same groups: the maximin rule (the default
# of droplab allocate) and --prefer DRoP. Goal: regret within 0.02 of the best rule in hindsight, never
# significantly below DRoP.
# Reads committed runs only (no training; seconds). Run from the repository root:
#   bash studies/heldout-recommendation.sh
# A folder without a held-out group yet says so and the script goes on.
set -uo pipefail
score() {  # score FOLDER SEEDS...
  local folder=$1
  shift
  for rule in "" "--prefer DRoP"; do
    echo "== $folder, seeds $*, ${rule:-maximin}"
    # shellcheck disable=SC2086
    droplab empirical check-recommendation "$folder" --seeds "$@" $rule 2>&1 || echo "(no held-out group yet)"
  done
}
# shellcheck disable=SC2046
score results/fashion-mnist-smallcnn $(seq 5 19)
# shellcheck disable=SC2046
score results/cifar10-lt10-smallcnn $(seq 1 9)
# shellcheck disable=SC2046
score results/cifar10-original-whitenet-256 $(seq 0 19)
