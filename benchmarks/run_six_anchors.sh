#!/usr/bin/env bash
# Anchors for the overfit image mode (issue 16) on six fixed Kodak images, measured on this machine
# through real files (lic bench / lic eval), one results file per codec with per-image, per-quality
# bpp and PSNR, then their BD-rates against VTM (docs/overfit.md, "Anchors on the six images").
# Quality settings span about 0.1-1.5 bpp (elic-s cannot go below ~0.2 bpp).
# VTM needs `bash benchmarks/build_vtm.sh` first (its files are skipped, with a message, otherwise).
# A results file that exists is kept (FORCE=1 re-measures it). The encodes run under nice -n 19
# (NICE=10 on a machine so loaded that nice 19 starves them).
# VTM runs one process per image and QP, VTM_JOBS=6 at a time (VTM_PARTS=DIR keeps their files there
# and a rerun reuses the finished ones; VTM_QPS="37 27" measures fewer QPs).
# Usage: bash benchmarks/run_six_anchors.sh [KODAK_DIR] [OUT_DIR] [CODEC...]
#        (codecs: vtm x265 avif elic-s; default all four)
set -euo pipefail
kodak=${1:-../shared/datasets/kodak}
out=${2:-benchmarks/results}
shift $(( $# < 2 ? $# : 2 ))
codecs=("$@")
[[ ${#codecs[@]} -gt 0 ]] || codecs=(vtm x265 avif elic-s)
images=()
for name in kodim01 kodim04 kodim08 kodim14 kodim19 kodim23; do images+=("$kodak/$name.png"); done
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
niceness=${NICE:-19}
run() {  # run OUTPUT_FILE COMMAND...: measures unless the file exists (or FORCE=1)
  local file=$1; shift
  if [[ -f $file && -z ${FORCE:-} ]]; then echo "kept $file (FORCE=1 to re-measure)"; return; fi
  nice -n "$niceness" "$@" -o "$file" --force
}
for codec in "${codecs[@]}"; do
  case $codec in
    vtm)
      # One process per image and QP (a VTM intra encode takes minutes here), VTM_JOBS (6) at a
      # time, QPs in an order that gives a usable curve early; merged into one file. Each
      # process's CPU seconds go to vtm-cpu-seconds.txt beside the parts.
      if ! grep -qE '^vtm +available' <<< "$(lic bench --list)"; then
        echo "skipping vtm: not built (bash benchmarks/build_vtm.sh)" >&2
      elif [[ -f $out/six-vtm.json && -z ${FORCE:-} ]]; then
        echo "kept $out/six-vtm.json (FORCE=1 to re-measure)"
      else
        export parts=${VTM_PARTS:-$(mktemp -d)} niceness
        mkdir -p "$parts"
        measure_vtm() {  # measure_vtm QP IMAGE: one image at one QP, unless its file exists
          local part
          part=$parts/vtm-$(basename "$2" .png)-q$1.json
          [[ -f $part ]] || /usr/bin/time -f "$(basename "$2") QP $1: %U s user %S s sys %e s wall" -a \
            -o "$parts/vtm-cpu-seconds.txt" nice -n "$niceness" lic bench vtm "$2" -q "$1" -o "$part" > /dev/null
        }
        export -f measure_vtm
        files=()
        for qp in ${VTM_QPS:-37 27 42 32 22 47}; do
          for image in "${images[@]}"; do
            echo "$qp $image"
            files+=("$parts/vtm-$(basename "$image" .png)-q$qp.json")
          done
        done > "$parts/tasks.txt"
        xargs -P "${VTM_JOBS:-6}" -L 1 bash -c 'measure_vtm "$@"' _ < "$parts/tasks.txt"
        python "$(dirname "$0")/merge_results.py" "${files[@]}" -o "$out/six-vtm.json" --force
        cat "$parts/vtm-cpu-seconds.txt"
      fi ;;
    x265) run "$out/six-x265.json" lic bench x265 "${images[@]}" -q 22 25 28 31 34 37 40 43 46 49 51 ;;
    avif) run "$out/six-avif.json" lic bench avif "${images[@]}" -q 5 10 20 30 40 50 60 70 75 ;;
    elic-s) run "$out/six-elic-s.json" lic eval "${images[@]}" --model elic-s ;;
    *) echo "unknown codec $codec (vtm x265 avif elic-s)" >&2; exit 1 ;;
  esac
done
# BD-rates against VTM of every other six-image results file (the overfit presets' too, once written).
if [[ -f $out/six-vtm.json ]]; then
  tests=()
  for file in "$out"/six-*.json; do [[ $file == "$out/six-vtm.json" ]] || tests+=("$file"); done
  [[ ${#tests[@]} -eq 0 ]] || lic bdrate "$out/six-vtm.json" "${tests[@]}"
fi
