#!/usr/bin/env bash
# lic (all-intra, P-frames with the video model, and INR mode) against x264 / x265 low-delay P on the
# shared test clips (first FRAMES frames), intra period 32 for every codec.
# Usage: bash benchmarks/run_video.sh [FRAMES] [VIDEO_DIR] [OUT_DIR]
set -euo pipefail
frames=${1:-16}
video=${2:-../shared/datasets/video}
out=${3:-benchmarks/results}
clips=("$video"/BasketballPass_416x240_rgb_png "$video"/CiscoVT2people_320x192_12fps_9frames.y4m
       "$video"/RaceHorses_832x480_30fps_2frames.y4m)
lic eval-video "${clips[@]}" -q 0 2 4 6 7 --frames "$frames" --model elic-s --intra-period 1 \
    -o "$out/video-lic-intra.json" --force
lic eval-video "${clips[@]}" -q 0 2 4 6 7 --frames "$frames" --model elic-s-video --intra-period 32 \
    -o "$out/video-lic-inter.json" --force
lic eval-video "${clips[@]}" -q 0 1 2 3 --frames "$frames" --model nerv --intra-period 32 --inr-steps 1000 \
    -o "$out/video-lic-inr.json" --force
lic bench x264-lowdelay "${clips[@]}" -q 22 27 32 37 42 47 --gop 32 --frames "$frames" -o "$out/video-x264.json" --force
lic bench x265-lowdelay "${clips[@]}" -q 22 27 32 37 42 47 --gop 32 --frames "$frames" -o "$out/video-x265.json" --force
lic bdrate "$out/video-x264.json" "$out/video-lic-intra.json" "$out/video-lic-inter.json" "$out/video-lic-inr.json" "$out/video-x265.json"
lic bdrate "$out/video-x264.json" "$out/video-lic-intra.json" "$out/video-lic-inter.json" "$out/video-lic-inr.json" "$out/video-x265.json" \
    --metric psnr-yuv
lic bdrate "$out/video-lic-intra.json" "$out/video-lic-inter.json"
