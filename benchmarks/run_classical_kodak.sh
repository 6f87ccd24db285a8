#!/usr/bin/env bash
# Measures the classical codecs on Kodak on this machine (lic bench), one results file each.
# Usage: bash benchmarks/run_classical_kodak.sh [KODAK_DIR] [OUT_DIR]
set -euo pipefail
kodak=${1:-../shared/datasets/kodak}
out=${2:-benchmarks/results}
for codec in jpeg jpeg444 webp avif jxl jpeg2000 x265; do
    lic bench "$codec" "$kodak" -o "$out/kodak-$codec.json" --force
done
