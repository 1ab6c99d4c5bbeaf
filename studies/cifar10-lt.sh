#!/usr/bin/env bash
# Long-tailed CIFAR-10 from the original pixels (issue "Beyond CIFAR-10"): ../shared/data/cifar10-bin with
# --long-tail RHO, the standard construction (Cao et al. 2019: class k keeps the first floor(5000 RHO^(-k/9))
# of its images; 20,431 training images at RHO = 10, 12,406 at RHO = 100; validation and test halves
# unchanged). Class sizes differ here, and every rule's formula uses them (DRoP's quotas are densities of
# each class's own size). Two networks, two studies (results/cifar10-lt<RHO>-<MODEL>):
#   MODEL=whitenet-256 (default): the airbench recipe (--shift 2), priced for a GPU: a run is 0.25-0.4 of
#     a full-data run (about 30 min on 2 AVX2 cores in fp32, seconds on a GPU);
#   MODEL=smallcnn: the CPU study, the small-CNN study's recipe (fast, 8 epochs, query model 3 unaugmented
#     epochs, --shift 4), minutes a run on one AVX2 core.
# Run by hand from the repository root, never by CI; resumable (finished runs are skipped):
#   MODEL=smallcnn nohup bash studies/cifar10-lt.sh > /tmp/cifar10-lt.log 2>&1 &
# RHOS (default "100 10"), SEEDS (default 0-9) and EXTRA (more options for every run, e.g. a smoke test's
# --limit-per-class 20 --eval-limit-per-class 10 --epochs 1) choose the part to run.
# Protocol, fixed before any result on these data: per RHO and seed, the Random query model once
# (--query-only, committed) and every recall quota read back from it (--query-logits); d = 0.3 and 0.5:
# Random, Random+Uniform, Random+DRoP, DRoP(alpha = 0.7), probit, and the learned allocation (four pilots
# per seed on the long-tailed class sizes). Decisive comparisons, declared here: each method against
# Random+DRoP on the worst-class test accuracy, paired by seed, better / worse / equivalent within +-0.03 /
# undecided (droplab empirical report --baseline "Random+DRoP" --margin 0.03), per RHO.
set -uo pipefail
# shellcheck source=studies/learned.sh
. "$(dirname "$0")/learned.sh"
DATA=${DATA:-../shared/data/cifar10-bin}
RHOS=${RHOS:-100 10}
SEEDS=${SEEDS:-$(seq -s ' ' 0 9)}
EXTRA=${EXTRA:-}
MODEL=${MODEL:-whitenet-256}
case "$MODEL" in
  whitenet-256) RECIPE="--recipe airbench --shift 2" ;;
  smallcnn) RECIPE="--recipe fast --epochs 8 --query-epochs 3 --shift 4" ;;
  *) echo "MODEL must be whitenet-256 or smallcnn, got $MODEL" >&2; exit 2 ;;
esac
for rho in $RHOS; do
  OUT=${OUT_ROOT:-results}/cifar10-lt${rho}-${MODEL}
  run() {
    # shellcheck disable=SC2086
    droplab empirical run --dataset cifar10 --data-dir "$DATA" --long-tail "$rho" --model "$MODEL" $RECIPE \
      --device auto --out "${RUN_OUT:-$OUT}" --resume --no-progress $EXTRA "$@" \
      || echo "FAILED: rho=$rho $*"
  }
  for s in $SEEDS; do
    run --density 0.5 --score random --quota drop --query-only --seeds "$s"
    for d in 0.3 0.5; do
      run --density "$d" --score random --quota none --seeds "$s"
      run --density "$d" --score random --quota uniform --seeds "$s"
      for q in "drop" "drop --alpha 0.7" "probit"; do
        # shellcheck disable=SC2086
        run --density "$d" --score random --quota $q --query-logits "$OUT/query_logits" --allow-empty-classes \
          --seeds "$s"
      done
    done
    sizes=$(python -c "from empirical.stage_data import long_tail_sizes as f; print(*f([5000] * 10, $rho))")
    if [ -n "$EXTRA" ]; then  # a smoke test's --limit-per-class changes the sizes: read them from a run
      sizes=$(python -c "import json, glob, sys; print(*json.load(open(sorted(glob.glob(sys.argv[1] + '/*_none_*.json'))[0]))['dataset']['class_sizes'])" "$OUT")
    fi
    # shellcheck disable=SC2086
    learned_allocation "$s" 10 $sizes
  done
  droplab empirical report "$OUT"/*.json --out "$OUT/report" --baseline "Random+DRoP" --margin 0.03 \
    > "$OUT/report.log" 2>&1 || echo "FAILED: report rho=$rho"
done
echo "study done"
