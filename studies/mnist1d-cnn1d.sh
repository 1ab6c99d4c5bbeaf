#!/usr/bin/env bash
# The study on MNIST-1D (../shared/data/mnist1d, Greydanus 2020: 4,000 training and 1,000 test signals of
# length 40, 10 classes), a small 1-D CNN (cnn1d, 19,562 parameters) with the fast recipe (12 epochs,
# batch 128): seconds per run on one CPU core. Issue "Beyond CIFAR-10".
# Run by hand from the repository root, never by CI; resumable (finished runs are skipped):
#   nohup bash studies/mnist1d-cnn1d.sh > /tmp/mnist1d-study.log 2>&1 &
# Protocol, fixed before the results were seen: seeds 0-19 (SEEDS), d = 0.3 and 0.5; per seed the
# Random query model (4 epochs, unaugmented) is trained once (--query-only) and committed, and every recall
# quota reads it back (--query-logits), so each allocation is recomputable from committed files.
# Methods: Random (no quotas), Random+Uniform (class-stratified), Random+DRoP, DRoP(alpha = 0.7), probit.
# The recall quotas run twice: with the paper's rule as it is (no floor under a class: --min-per-class 0,
# the default), so that a class the query model recalls perfectly on its ~50 validation signals keeps no
# sample (seen on seed 0 before the study: class 5, recall 1.000), and with a floor of 20 training signals
# per class (--min-per-class 20, 5% of a class at d = 1), the smallest change that keeps every class.
# Decisive comparisons, declared before the results: each method against Random+DRoP on the worst-class
# test accuracy, paired by seed, reported as better / worse / equivalent within +-0.03 / undecided
# (droplab empirical report --baseline "Random+DRoP" --margin 0.03).
set -uo pipefail
DATA=${DATA:-../shared/data/mnist1d}
OUT=${OUT:-results/mnist1d-cnn1d}
SEEDS=${SEEDS:-$(seq -s ' ' 0 19)}
run() {
  # shellcheck disable=SC2086
  droplab empirical run --dataset mnist1d --data-dir "$DATA" --model cnn1d --recipe fast --device cpu \
    --out "$OUT" --resume --no-progress --seeds $SEEDS "$@" || echo "FAILED: $*"
}
run --density 1 --score random --quota none
run --density 0.5 --score random --quota drop --query-only
for d in 0.3 0.5; do
  for floor in 0 20; do
    # the floor changes nothing for these two (every class keeps >= 120 signals) but puts them in the
    # floor's study, so that each study of the report holds its own Random and Uniform baselines
    run --density "$d" --score random --quota none --min-per-class "$floor"
    run --density "$d" --score random --quota uniform --min-per-class "$floor"
  done
  for floor in 0 20; do
    for q in "drop" "drop --alpha 0.7" "probit"; do
      # --allow-empty-classes: without a floor these rules delete a class, which is what this study measures
      # (the flag is outside the run id, so the committed runs keep theirs)
      # shellcheck disable=SC2086
      run --density "$d" --score random --quota $q --min-per-class "$floor" --query-logits "$OUT/query_logits" \
        --allow-empty-classes
    done
  done
done
# The learned allocation (LEARNED=1, added after the rules above had run; its comparisons are declared
# here before its results: Random+Learned against Random+DRoP and Random+Uniform, worst class, margin 0.03):
# per seed, four pilots (uniform d = 0.1 and 0.2, two staircases) trained with --quota counts into
# OUT/pilots, a recall model fitted on them (droplab allocate --runs, with the seed's committed query
# logits), and its counts at d = 0.3 and 0.5 trained like every other run.
if [ "${LEARNED:-1}" = 1 ]; then
  SIZES=$(python -c "import json, glob; print(*json.load(open(sorted(glob.glob('$OUT/*_none_d1_*.json'))[0]))['dataset']['class_sizes'])")
  for s in $SEEDS; do
    droplab pilots --sizes $SIZES --epochs 12 --seed "$s" --out "$OUT/pilots/allocations" > /dev/null
    for f in "$OUT"/pilots/allocations/pilot_*_s"$s".json; do
      dens=$(python -c "import json, sys; print(json.load(open(sys.argv[1]))['density'])" "$f")
      droplab empirical run --dataset mnist1d --data-dir "$DATA" --model cnn1d --recipe fast --device cpu \
        --out "$OUT/pilots" --resume --no-progress --seeds "$s" --density "$dens" --score random \
        --quota counts --counts "$f" > /dev/null || echo "FAILED: pilot $f"
    done
    for d in 0.3 0.5; do
      alloc="$OUT/pilots/allocations/learned_d${d}_s$s.json"
      [ -f "$alloc" ] || droplab allocate --runs "$OUT/pilots" --seeds "$s" --density "$d" --json \
        --out "$alloc" > /dev/null || echo "FAILED: learned allocation d=$d seed $s"
      droplab empirical run --dataset mnist1d --data-dir "$DATA" --model cnn1d --recipe fast --device cpu \
        --out "$OUT" --resume --no-progress --seeds "$s" --density "$d" --score random --quota counts \
        --counts "$alloc" || echo "FAILED: learned d=$d seed $s"
    done
  done
fi
droplab empirical report "$OUT"/*.json --out "$OUT/report" --baseline "Random+DRoP" --margin 0.03 \
  > "$OUT/report.log" 2>&1 || echo "FAILED: report"
echo "study done"
