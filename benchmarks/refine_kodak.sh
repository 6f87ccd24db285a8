#!/usr/bin/env bash
# Encode-time latent refinement against plain encoding, same weights, on all 24 Kodak images
# at qualities 1, 3 and 5 (refinement costs about a second per step per image on a 2-core CPU).
# Usage: bash benchmarks/refine_kodak.sh [STEPS] [KODAK_DIR] [OUT_DIR]
set -euo pipefail
steps=${1:-20}
kodak=${2:-../shared/datasets/kodak}
out=${3:-benchmarks/results}
lic eval "$kodak" -q 1 3 5 -o "$out/kodak-plain-q135.json" --force
lic eval "$kodak" -q 1 3 5 --refine "$steps" -o "$out/kodak-refine$steps.json" --force
lic bdrate "$out/kodak-plain-q135.json" "$out/kodak-refine$steps.json"
