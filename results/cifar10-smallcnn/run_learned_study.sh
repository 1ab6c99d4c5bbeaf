#!/usr/bin/env bash
# Issue 19's real test of the learned allocation on the CIFAR-10 small CNN (the committed grid's recipe).
# Run by hand from the repository root, never by CI; resumable (finished runs are skipped, a killed run
# continues from its last epoch with --resume):
#   nohup bash results/cifar10-smallcnn/run_learned_study.sh > results/cifar10-smallcnn/learned.log 2>&1 &
# Per seed s (SEEDS, default 0-7), in the order a practitioner works:
#   1. the query model (3 unaugmented epochs; its logits -> query_logits/, committed);
#   2. the pilots of `droplab pilots --seed s` (uniform d = 0.1, 0.2 and two staircases: 3 classes at
#      d = 0.03 among 7 at d = 0.4, a new choice per seed), trained into pilots/;
#   3. the learned allocation at d = 0.3 and 0.5, fitted on seed s's pilots and query model only
#      (droplab allocate --runs pilots --seeds s), trained with --quota counts;
#   4. the baselines Random, Random+DRoP and Random+DRoP(alpha = 0.7) at d = 0.3 and 0.5 (seeds 0-2 are
#      committed already and skipped).
set -uo pipefail
DATA=${DATA:-../shared/data/cifar10}
OUT=${OUT:-results/cifar10-smallcnn}
PILOTS=${PILOTS:-$OUT/pilots}
SEEDS=${SEEDS:-0 1 2 3 4 5 6 7}
SIZES="5000 5000 5000 5000 5000 5000 5000 5000 5000 5000"
run() {
  local out=$1; shift
  droplab empirical run --dataset cifar10 --data-dir "$DATA" --model smallcnn --recipe fast --epochs 8 \
    --query-epochs 3 --device auto --out "$out" --resume --no-progress "$@" || echo "FAILED: $*"
}
density_of() { python -c "import json, sys; print(json.load(open(sys.argv[1]))['density'])" "$1"; }
for s in $SEEDS; do
  run "$OUT" --density 0.5 --score random --quota drop --seeds "$s" --query-only
  droplab pilots --sizes $SIZES --seed "$s" --out "$PILOTS/allocations" > /dev/null
  for f in "$PILOTS"/allocations/pilot_*_s"$s".json; do
    run "$PILOTS" --density "$(density_of "$f")" --score random --quota counts --counts "$f" --seeds "$s"
  done
  # (the pilots' query logits are read from $OUT/query_logits, one folder up)
  for d in 0.3 0.5; do
    alloc="$PILOTS/allocations/learned_d${d}_s$s.json"
    [ -f "$alloc" ] || droplab allocate --runs "$PILOTS" --seeds "$s" --density "$d" --json --out "$alloc" \
      > /dev/null || echo "FAILED: learned allocation d=$d seed $s"
    run "$OUT" --density "$d" --score random --quota counts --counts "$alloc" --seeds "$s"
    run "$OUT" --density "$d" --score random --quota none --seeds "$s"
    run "$OUT" --density "$d" --score random --quota drop --seeds "$s"
    run "$OUT" --density "$d" --score random --quota drop --alpha 0.7 --seeds "$s"
  done
done
echo "learned study done"
