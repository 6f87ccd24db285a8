#!/usr/bin/env bash
# Encode-time latent refinement against plain encoding, same weights, on all 24 Kodak images:
# plain at every quality level, refined at qualities 1, 3, 5 and 7 (about 40 s per image on one
# core of the development machine, against about 0.9 s plain), then the BD-rate between them and
# against WebP measured here (benchmarks/results/kodak-webp.json, from lic bench webp).
# Usage: bash benchmarks/refine_kodak.sh [STEPS] [KODAK_DIR] [OUT_DIR]
set -euo pipefail
steps=${1:-20}
kodak=${2:-../shared/datasets/kodak}
out=${3:-benchmarks/results}
lic eval "$kodak" -o "$out/kodak-elic-s.json" --force
lic eval "$kodak" -q 1 3 5 7 --refine "$steps" -o "$out/kodak-refine$steps.json" --force
lic bdrate "$out/kodak-elic-s.json" "$out/kodak-refine$steps.json"
lic bdrate benchmarks/results/kodak-webp.json "$out/kodak-refine$steps.json"
