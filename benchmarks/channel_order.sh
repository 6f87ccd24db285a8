#!/usr/bin/env bash
# Effect of ISCS channel ordering (lic reorder-channels) on the shipped elic-s at equal budget:
# the shipped weights and their reordered copy are each fine-tuned for STEPS steps with the
# same schedule, data and seed, then evaluated on Kodak through real files; the reordered
# copy is also evaluated before fine-tuning (its context networks then see other channels).
# Usage: bash benchmarks/channel_order.sh [STEPS] [KODAK_DIR] [RUNS_DIR] [OUT_DIR]
set -euo pipefail
steps=${1:-300}
kodak=${2:-../shared/datasets/kodak}
runs=${3:-runs/iscs}
out=${4:-benchmarks/results}
mkdir -p "$runs"
lic reorder-channels -o "$runs/reordered.safetensors" --force
for run in shipped reordered; do
    init=$([ "$run" = shipped ] && echo lic/models/pretrained/elic-s.safetensors || echo "$runs/reordered.safetensors")
    cat > "$runs/$run.toml" <<TOML
model = "elic-s"
init_weights = "$init"
train_dirs = ["../shared/datasets/train", "../shared/datasets/train2"]
val_dir = "../shared/datasets/val"
out_dir = "$runs/$run-ft"
steps = $steps
batch_size = 8
crop = 128
lr = 5e-5
lr_final = 1e-5
warmup = 20
checkpoint_every = 100
validate_every = 100000
log_every = 50
seed = 1
device = "cpu"
TOML
    lic train --config "$runs/$run.toml"
    lic eval "$kodak" -q 0 2 4 7 --weights "$runs/$run-ft/elic-s.safetensors" -o "$out/iscs-$run-ft$steps.json" --force
done
lic eval "$kodak" -q 0 2 4 7 --weights "$runs/reordered.safetensors" -o "$out/iscs-reordered-no-ft.json" --force
lic bdrate "$out/iscs-shipped-ft$steps.json" "$out/iscs-reordered-ft$steps.json" "$out/iscs-reordered-no-ft.json"
