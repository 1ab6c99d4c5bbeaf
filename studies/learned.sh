# Sourced by the study scripts: the learned allocation of one seed, the same steps in every study.
#   learned_allocation SEED EPOCHS SIZE...   (uses the caller's OUT and its run() function)
# The seed's four pilots (droplab pilots: uniform d = 0.1 and 0.2, two staircases) are trained with run()
# into $OUT/pilots; the recall model fitted on them (droplab allocate --runs) gives the counts at each
# density of LEARNED_DENSITIES (default 0.3 0.5), trained with run() into $OUT. Finished steps are skipped.
learned_allocation() {
  local s=$1 epochs=$2 f dens d alloc
  shift 2
  droplab pilots --sizes "$@" --epochs "$epochs" --seed "$s" --out "$OUT/pilots/allocations" > /dev/null
  for f in "$OUT"/pilots/allocations/pilot_*_s"$s".json; do
    dens=$(python -c "import json, sys; print(json.load(open(sys.argv[1]))['density'])" "$f")
    RUN_OUT="$OUT/pilots" run --seeds "$s" --density "$dens" --score random --quota counts --counts "$f" \
      > /dev/null
  done
  for d in ${LEARNED_DENSITIES:-0.3 0.5}; do
    alloc="$OUT/pilots/allocations/learned_d${d}_s$s.json"
    [ -f "$alloc" ] || droplab allocate --runs "$OUT/pilots" --seeds "$s" --density "$d" --json \
      --out "$alloc" > /dev/null || echo "FAILED: learned allocation d=$d seed $s"
    run --seeds "$s" --density "$d" --score random --quota counts --counts "$alloc"
  done
}
