#!/usr/bin/env bash
# Measures the classical codecs on Kodak on this machine (lic bench), one results file each.
# Quality settings cover about 0.1-2 bpp, the range lic's curve spans (BD-rate uses only the overlap).
# Usage: bash benchmarks/run_classical_kodak.sh [KODAK_DIR] [OUT_DIR]
set -euo pipefail
kodak=${1:-../shared/datasets/kodak}
out=${2:-benchmarks/results}
lic bench jpeg "$kodak" -o "$out/kodak-jpeg.json" --force
lic bench jpeg444 "$kodak" -o "$out/kodak-jpeg444.json" --force
lic bench webp "$kodak" -q 5 10 20 30 40 50 60 70 80 -o "$out/kodak-webp.json" --force
lic bench avif "$kodak" -q 10 20 30 40 50 60 70 -o "$out/kodak-avif.json" --force
lic bench jxl "$kodak" -q 5 10 20 30 40 50 60 70 80 -o "$out/kodak-jxl.json" --force
lic bench x265 "$kodak" -q 22 27 32 37 42 47 -o "$out/kodak-x265.json" --force
lic bench jpeg2000 "$kodak" -o "$out/kodak-jpeg2000.json" --force
