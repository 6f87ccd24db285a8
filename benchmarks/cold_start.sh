#!/usr/bin/env bash
# Cold-start wall and CPU seconds of `lic encode` (a 64x64 PNG) and `lic decode` (a kodim01 stream),
# for two checkouts side by side (each with its C++ extension built in place), three runs each after a
# warm-up, alternating. Usage: bash benchmarks/cold_start.sh BEFORE_CHECKOUT AFTER_CHECKOUT [KODAK_DIR]
# It runs from a scratch folder: `python -m lic` from inside a checkout would import that checkout.
set -u
BEFORE=$(realpath "$1"); AFTER=$(realpath "$2"); KODAK=$(realpath "${3:-../shared/datasets/kodak}")
PY=${PYTHON:-python}
S=$(mktemp -d); cd "$S"
$PY -c "from PIL import Image; import numpy as np; Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype('uint8')).save('in.png')"
PYTHONPATH=$AFTER $PY -m lic encode "$KODAK/kodim01.png" -o k.lic >/dev/null
uptime
for run in 0 1 2 3; do
  for version in "$BEFORE" "$AFTER"; do
    rm -f o.lic o.png
    e=$( { /usr/bin/time -f "%e %U %S" env PYTHONPATH="$version" OMP_NUM_THREADS=1 $PY -m lic encode in.png -o o.lic >/dev/null; } 2>&1 | tail -1)
    d=$( { /usr/bin/time -f "%e %U %S" env PYTHONPATH="$version" $PY -m lic decode k.lic -o o.png >/dev/null; } 2>&1 | tail -1)
    [ "$run" -gt 0 ] && echo "$version: encode 64x64 [wall user sys] $e | decode kodim01 $d"
  done
done
uptime
rm -rf "$S"
