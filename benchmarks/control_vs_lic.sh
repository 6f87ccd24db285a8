#!/usr/bin/env bash
# Issue 17: every run behind docs/training.md "Why the top of elic-s is flat", and their results.
#
#   bash benchmarks/control_vs_lic.sh [SCRATCH_CPU_SECONDS [PROBE_CPU_SECONDS]]   (default 150 120)
#
# 1. Diagnostics of the shipped weights (and of run 1's, from git history) on 4 Kodak images
#    and 4 training images: PSNR with rounded / noisy / unquantized latents, gain extrapolation,
#    and the loss gradient's norm per quality level (benchmarks/diagnose_ceiling.py); the configured
#    lambdas, learned gains and the training photos' JPEG settings (benchmarks/training_inputs_report.py).
# 2. Probes: the shipped weights continued for PROBE_CPU_SECONDS of training steps under three
#    recipes (benchmarks/control/ft-*.toml) and with reconstruction alone
#    (benchmarks/reconstruction_probe.py), then the same diagnostics.
# 3. The control: CompressAI's mbt2018_mean at lambda 0.18 (benchmarks/control_mbt2018.py) and
#    lic's elic-s from scratch (benchmarks/control/elic-s-8lambda.toml), SCRATCH_CPU_SECONDS of
#    training steps each, evaluated on Kodak through real bitstreams, and their ceilings.
#
# Every training job runs on one core at the lowest priority and stops on the CPU time of its
# own training steps, so runs compare under load. Runs resume from their checkpoints in
# runs/control/: calling the script again with a larger budget extends them.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH=${1:-150}
PROBE=${2:-120}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=$PWD
LOW="nice -n 19 taskset -c 1"
KODAK=../shared/datasets/kodak
KODAK4="$KODAK/kodim01.png $KODAK/kodim05.png $KODAK/kodim13.png $KODAK/kodim23.png"
TRAIN4=$(ls ../shared/datasets/train/*.jpg | sed -n '1p;300p;900p;1050p')
OUT=benchmarks/results/issue17
mkdir -p "$OUT" runs/control runs/diag

# 1. diagnostics of the shipped weights and of run 1's
python benchmarks/diagnose_ceiling.py --images $KODAK4 -o $OUT/ceiling-shipped-kodak4.json
python benchmarks/diagnose_ceiling.py --qualities 7 --gains --images $KODAK/*.png -o $OUT/ceiling-shipped-kodak24-q7.json
git show e41864e:lic/models/pretrained/elic-s.safetensors > runs/diag/elic-s-run1.safetensors
python benchmarks/diagnose_ceiling.py --weights runs/diag/elic-s-run1.safetensors --qualities 7 --gains \
    --images $KODAK4 -o $OUT/ceiling-run1-kodak4.json
python benchmarks/diagnose_ceiling.py --qualities 7 --gains --images $TRAIN4 --grad-batches 3 \
    -o $OUT/ceiling-shipped-train4-grads.json
python benchmarks/training_inputs_report.py -o $OUT/training-inputs.json

# 2. probes from the shipped weights
for variant in shipped top-only no-clip; do
    $LOW lic train --config benchmarks/control/ft-$variant.toml --max-cpu-seconds "$PROBE"
    python benchmarks/diagnose_ceiling.py --weights runs/control/ft-$variant/elic-s.safetensors --qualities 4 7 \
        --gains --images $KODAK4 -o $OUT/ceiling-ft-$variant-kodak4.json
done

# reconstruction alone (no quantization, no rate term) from the shipped weights, same budget
$LOW python benchmarks/reconstruction_probe.py --max-cpu-seconds "$PROBE" -o runs/control/recon/elic-s.safetensors
python benchmarks/diagnose_ceiling.py --weights runs/control/recon/elic-s.safetensors --qualities 7 --gains \
    --images $KODAK4 -o $OUT/ceiling-recon-kodak4.json

# 3. the control and lic from scratch, equal CPU seconds
$LOW python benchmarks/control_mbt2018.py train --lmbda 0.18 --out runs/control/mbt-0.18 --max-cpu-seconds "$SCRATCH"
python benchmarks/control_mbt2018.py eval --out runs/control/mbt-0.18 $KODAK -o $OUT/kodak-mbt-0.18-$SCRATCH.json
$LOW lic train --config benchmarks/control/elic-s-8lambda.toml --max-cpu-seconds "$SCRATCH"
lic eval $KODAK --weights runs/control/elic-s-8lambda/elic-s.safetensors -q 3 7 -f \
    -o $OUT/kodak-elic-s-8lambda-$SCRATCH.json
python benchmarks/control_mbt2018.py ceiling --out runs/control/mbt-0.18 $KODAK4 \
    -o $OUT/ceiling-mbt-0.18-$SCRATCH-kodak4.json
python benchmarks/diagnose_ceiling.py --weights runs/control/elic-s-8lambda/elic-s.safetensors --qualities 7 \
    --gains --images $KODAK4 -o $OUT/ceiling-elic-s-8lambda-$SCRATCH-kodak4.json
