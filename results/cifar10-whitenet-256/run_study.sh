#!/usr/bin/env bash
# Issue 20: the study at the paper's accuracy regime on whitenet-256 (airbench recipe, 10 epochs on the
# kept data for every run: one recipe, one epoch rule, no per-method tuning), CIFAR-10 JPEG copy.
# Run by hand from the repository root, never by CI; resumable (finished runs are skipped, a killed run
# continues from its last epoch with --resume):
#   nohup bash results/cifar10-whitenet-256/run_study.sh > results/cifar10-whitenet-256/study.log 2>&1 &
# TIERS (default "1 3 2") and SEEDS (default "0 1 2") choose the part to run. Tier 1 goes seed by seed,
# so a partial grid holds whole seeds:
#   full data; its query model (logits -> query_logits/); the learned allocation's pilots (droplab pilots:
#   uniform d = 0.1, 0.2 and two staircases, into pilots/); Random and Random+DRoP at d = 0.3, 0.5, 0.8;
#   DRoP(alpha = 0.7), probit and the learned allocation (fitted on the seed's own pilots) at 0.3, 0.5.
# Tier 3: RCAP (datacull, --score rcap) at d = 0.5, the same optimiser steps as a static run at d = 0.5.
# Tier 2: EL2N, GraNd, Forgetting, Dynamic Uncertainty, CoreSet at d = 0.5, without and with DRoP quotas.
# Cost in full-data-run equivalents (50,000 images x 10 epochs; 12.6 min with native bf16, ~53 min on 2
# AVX2 cores in fp32): tier 1 about 6.9 per seed (pilots 0.9), tier 3 0.5 per seed, tier 2 about 7 per seed
# (Forgetting, DynUnc and CoreSet share one query training).
set -uo pipefail
DATA=${DATA:-../shared/data/cifar10}
OUT=${OUT:-results/cifar10-whitenet-256}
PILOTS=${PILOTS:-$OUT/pilots}
SEEDS=${SEEDS:-0 1 2}
TIERS=${TIERS:-1 3 2}
SIZES="5000 5000 5000 5000 5000 5000 5000 5000 5000 5000"
run() {
  local out=$1; shift
  droplab empirical run --dataset cifar10 --data-dir "$DATA" --model whitenet-256 --recipe airbench \
    --shift 2 --device auto --out "$out" --resume --no-progress "$@" || echo "FAILED: $*"
}
density_of() { python -c "import json, sys; print(json.load(open(sys.argv[1]))['density'])" "$1"; }
tier1() {
  local s=$1
  run "$OUT" --density 1 --score random --quota none --seeds "$s"
  run "$OUT" --density 0.5 --score random --quota drop --seeds "$s" --query-only
  droplab pilots --sizes $SIZES --epochs 10 --seed "$s" --out "$PILOTS/allocations" > /dev/null
  for f in "$PILOTS"/allocations/pilot_*_s"$s".json; do
    run "$PILOTS" --density "$(density_of "$f")" --score random --quota counts --counts "$f" --seeds "$s"
  done
  for d in 0.5 0.3 0.8; do
    run "$OUT" --density "$d" --score random --quota none --seeds "$s"
    run "$OUT" --density "$d" --score random --quota drop --seeds "$s"
  done
  for d in 0.5 0.3; do
    alloc="$PILOTS/allocations/learned_d${d}_s$s.json"
    [ -f "$alloc" ] || droplab allocate --runs "$PILOTS" --seeds "$s" --density "$d" --json --out "$alloc" \
      > /dev/null || echo "FAILED: learned allocation d=$d seed $s"
    run "$OUT" --density "$d" --score random --quota counts --counts "$alloc" --seeds "$s"
    run "$OUT" --density "$d" --score random --quota drop --alpha 0.7 --seeds "$s"
    run "$OUT" --density "$d" --score random --quota probit --seeds "$s"
  done
}
for tier in $TIERS; do
  for s in $SEEDS; do
    case $tier in
      1) tier1 "$s" ;;
      3) run "$OUT" --density 0.5 --score rcap --quota none --seeds "$s" ;;
      2) for score in el2n grand forgetting dynunc coreset; do
           run "$OUT" --density 0.5 --score "$score" --quota none --seeds "$s"
           run "$OUT" --density 0.5 --score "$score" --quota drop --seeds "$s"
         done ;;
    esac
  done
done
echo "study done"
