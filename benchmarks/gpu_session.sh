#!/usr/bin/env bash
# The calls of a GPU session (issue 17; docs/training.md sections 9 and 10), run on the device machine
# from the repository root. Here first: python benchmarks/gpu_data.py, and the wheels the device
# image lacks in .whl (compressai 1.2.8 cp312, pytorch-msssim 1.0.0; the device tool's README).
#   call 1, carry [.whl, .gpudata/a]:  bash benchmarks/gpu_session.sh check [SECONDS]   (or: stage)
#   call 2 at once, carry [.whl, .gpudata/b]:  bash benchmarks/gpu_session.sh train SECONDS
#   or, carry [.whl, .gpudata/a]:  bash benchmarks/gpu_session.sh overfit PRESET SECONDS   (overfit fits)
# check: builds the coder, keeps part a of the photos in /tmp for call 2, runs gpu_check.py
# (training steps/s first) into $OUT/gpu-check.json. stage: the same without gpu_check.py (the
# H200's 12.1 steps/s of run 11, 2026-12-04, then sizes the schedule). train: trains CONFIG (default
# benchmarks/gpu_run12.toml, the next run; runs 9 and 11 were gpu_run9/11.toml) for SECONDS on parts
# a and b, its schedule sized by call 1's steps/s, weights back in $OUT.
set -uo pipefail
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || exit 3
export PYTHONPATH=$PWD:/tmp/site
if ! python3 -c "import lic.entropy._rans" 2>/dev/null; then
    python3 setup.py build_ext --inplace > "$OUT/build.log" 2>&1 || { tail -20 "$OUT/build.log"; exit 4; }
fi
stage_part_a() {  # keeps part a of the photos on the machine for a train call after this one
    mkdir -p /tmp/data && cp -r .gpudata/a/train /tmp/data/a && echo "staged $(ls /tmp/data/a | wc -l) photos"
}
case ${1:-} in
stage)
    stage_part_a ;;
check)
    stage_part_a
    nvidia-smi --query-gpu=name,memory.used,clocks.sm,temperature.gpu --format=csv
    timeout -s INT "${2:-250}" python3 benchmarks/gpu_check.py --out "$OUT/gpu-check.json" --kodak .gpudata/a/kodak \
        --train-dir /tmp/data/a --sections training determinism speed > "$OUT/gpu-check.log" 2>&1
    echo "gpu_check exit $?"; tail -c 4000 "$OUT/gpu-check.log"
    cp "$OUT/gpu-check.json" /tmp/gpu-check.json ;;
train)
    [ -d .gpudata/a/train ] || { mkdir -p .gpudata/a && ln -sfn /tmp/data/a .gpudata/a/train; }
    rate=(--rate 12.1); [ -f /tmp/gpu-check.json ] && rate=(--rate-from /tmp/gpu-check.json)
    timeout -s INT $(( ${2:?seconds} + 90 )) python3 benchmarks/gpu_train_chunk.py --config "${CONFIG:-benchmarks/gpu_run12.toml}" \
        --seconds "$2" "${rate[@]}" --export "$OUT" > "$OUT/train.log" 2>&1
    echo "gpu_train_chunk exit $?"; tail -c 4000 "$OUT/train.log"; ls -la "$OUT" ;;
overfit)
    # overfit PRESET SECONDS: the six images at qualities 1 3 5 7, seeds 0 and 1, fitted on the GPU; one
    # queue per image and seed (12 processes, one GPU), each stopped after SECONDS; the finished points
    # (JSON and .lic, the recon PNGs stay) come back as one archive (docs/overfit.md, "Fitting on a GPU").
    # OVERFIT_SET="latent_lr=0.3 soap=1 clip=0.1" fits another recipe than the preset's (overfit_six.py --set).
    stage_part_a
    export OMP_NUM_THREADS=1
    python3 -m pytest -q -p no:cacheprovider tests/test_overfit.py -k cuda > "$OUT/overfit-test.log" 2>&1
    echo "CUDA overfit test exit $?"; tail -3 "$OUT/overfit-test.log"
    python3 benchmarks/overfit_step.py --image .gpudata/a/kodak/kodim04.png --steps 50 --device cuda \
        | tee "$OUT/overfit-step.json"
    mkdir -p /tmp/of
    for seed in 0 1; do for image in kodim01 kodim04 kodim08 kodim14 kodim19 kodim23; do
        timeout -s INT "${3:?seconds}" python3 benchmarks/overfit_six.py --preset "${2:?preset}" --seed $seed \
            --restarts 1 --device cuda --images $image -q 1 3 5 7 --kodak .gpudata/a/kodak --set ${OVERFIT_SET:-} \
            --workdir /tmp/of/seed$seed -o /tmp/of/$image-seed$seed.json > /tmp/of/$image-seed$seed.log 2>&1 &
    done; done
    wait
    cat /tmp/of/*.log | grep -v Traceback | tail -60
    tar czf "$OUT/overfit-$2.tgz" --exclude='*.recon.png' -C /tmp/of . && ls -la "$OUT" ;;
*)
    echo "usage: bash benchmarks/gpu_session.sh check [SECONDS] | stage | train SECONDS | overfit PRESET SECONDS" >&2
    exit 2 ;;
esac
