#!/usr/bin/env bash
# Encode-time latent refinement against plain encoding, same weights, on a Kodak subset
# (4 images x 3 qualities; refinement costs seconds per step per image on a CPU).
# Usage: bash benchmarks/refine_kodak.sh [STEPS] [KODAK_DIR] [OUT_DIR]
set -euo pipefail
steps=${1:-20}
kodak=${2:-../shared/datasets/kodak}
out=${3:-benchmarks/results}
images=("$kodak"/kodim01.png "$kodak"/kodim07.png "$kodak"/kodim13.png "$kodak"/kodim19.png)
lic eval "${images[@]}" -q 1 3 5 -o "$out/kodak4-plain.json" --force
lic eval "${images[@]}" -q 1 3 5 --refine "$steps" -o "$out/kodak4-refine$steps.json" --force
lic bdrate "$out/kodak4-plain.json" "$out/kodak4-refine$steps.json"
