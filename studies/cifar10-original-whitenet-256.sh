#!/usr/bin/env bash
# The study on the ORIGINAL CIFAR-10 pixels (../shared/data/cifar10-bin, the official binary version;
# README, "Data identity"), whitenet-256 with the airbench recipe: the paper's accuracy regime.
# Run by hand from the repository root, never by CI; resumable (finished runs are skipped, a killed run
# continues from its last epoch with --resume):
#   nohup bash studies/cifar10-original-whitenet-256.sh > /tmp/original-study.log 2>&1 &
# TIERS (default "0 1 D"; "Q": only the seeds' query models) and SEEDS choose the part to run;
# OMP_NUM_THREADS sets the threads of a lane.
#
# Protocol, fixed before any result on these pixels was seen (issues "The original CIFAR-10" and
# "Statistics that can answer 'does anything beat DRoP?'"):
#   Tier 0 (recipe check): full data (d = 1), seeds 0-2. Target: mean test accuracy >= 93.5% (airbench94
#     reports 94.0% at ten epochs); if short, the recipe is examined before tier 1.
#   Tier 1 (seeds 0-4 at least): d = 1; Random and Random+DRoP at d = 0.3, 0.5, 0.8; DRoP(alpha = 0.7),
#     probit and the learned allocation (fitted on the seed's own pilots) at d = 0.3 and 0.5; DynUnc+DRoP
#     and CoreSet+DRoP at d = 0.5. The Random query model of each seed is trained once (--query-only),
#     committed, and every recall quota of that seed reads it back with --query-logits, so each
#     allocation is recomputable from committed files.
#   Tier D, the decisive comparison, declared here before the results: at d = 0.5, the worst-class test
#     accuracy of (a) Random+Learned and (b) DynUnc+DRoP, each against Random+DRoP, paired by seed.
#     Seeds are added to these three cells (SEEDS_D) until `droplab empirical power` says that a
#     +0.02 worst-class difference is detectable with 80% power (paired t, two-sided 5%); each
#     comparison is then reported as better / worse / equivalent within +-0.02 / undecided.
# Cost in full-data-run equivalents (50,000 images x 10 epochs; about 12.6 min with native bf16 on 2
# cores, about 85 min on 2 AVX2 cores in fp32): tier 0 one per seed; tier 1 about 8.5 per seed.
set -uo pipefail
DATA=${DATA:-../shared/data/cifar10-bin}
OUT=${OUT:-results/cifar10-original-whitenet-256}
PILOTS=${PILOTS:-$OUT/pilots}
SEEDS=${SEEDS:-0 1 2 3 4}
SEEDS_D=${SEEDS_D:-5 6 7 8 9 10 11}
TIERS=${TIERS:-0 1 D}
SIZES="5000 5000 5000 5000 5000 5000 5000 5000 5000 5000"
run() {
  local out=$1; shift
  droplab empirical run --dataset cifar10 --data-dir "$DATA" --model whitenet-256 --recipe airbench \
    --shift 2 --device auto --out "$out" --resume --no-progress "$@" || echo "FAILED: $*"
}
density_of() { python -c "import json, sys; print(json.load(open(sys.argv[1]))['density'])" "$1"; }
query() {  # the seed's Random query model, trained once and committed; later runs read it back
  run "$OUT" --density 0.5 --score random --quota drop --seeds "$1" --query-only
}
recall_run() { run "$OUT" "$@" --score random --query-logits "$OUT/query_logits"; }
learned() {
  local s=$1 d=$2 alloc="$PILOTS/allocations/learned_d${2}_s$1.json"
  if [ ! -f "$alloc" ]; then
    droplab pilots --sizes $SIZES --epochs 10 --seed "$s" --out "$PILOTS/allocations" > /dev/null
    for f in "$PILOTS"/allocations/pilot_*_s"$s".json; do
      run "$PILOTS" --density "$(density_of "$f")" --score random --quota counts --counts "$f" --seeds "$s"
    done
    droplab allocate --runs "$PILOTS" --seeds "$s" --density "$d" --json --out "$alloc" > /dev/null \
      || echo "FAILED: learned allocation d=$d seed $s"
  fi
  run "$OUT" --density "$d" --score random --quota counts --counts "$alloc" --seeds "$s"
}
tier1() {
  local s=$1
  run "$OUT" --density 1 --score random --quota none --seeds "$s"
  query "$s"
  for d in 0.5 0.3 0.8; do
    run "$OUT" --density "$d" --score random --quota none --seeds "$s"
    recall_run --density "$d" --quota drop --seeds "$s"
  done
  for d in 0.5 0.3; do
    learned "$s" "$d"
    recall_run --density "$d" --quota drop --alpha 0.7 --seeds "$s"
    recall_run --density "$d" --quota probit --seeds "$s"
  done
  for score in dynunc coreset; do
    run "$OUT" --density 0.5 --score "$score" --quota drop --seeds "$s"
  done
}
decisive() {
  local s=$1
  query "$s"
  recall_run --density 0.5 --quota drop --seeds "$s"
  learned "$s" 0.5
  run "$OUT" --density 0.5 --score dynunc --quota drop --seeds "$s"
}
for tier in $TIERS; do
  case $tier in
    0) for s in 0 1 2; do run "$OUT" --density 1 --score random --quota none --seeds "$s"; done ;;
    Q) for s in $SEEDS; do query "$s"; done ;;  # the query models alone (tier 1 trains them first too)
    1) for s in $SEEDS; do tier1 "$s"; done ;;
    D) for s in $SEEDS_D; do decisive "$s"; done ;;
  esac
done
droplab empirical report "$OUT" --no-plots > /dev/null || echo "FAILED: report"
echo "study done"
