#!/usr/bin/env bash
# Builds the VVC reference encoder/decoder (VTM 23.13) once, for `lic bench vtm`.
# Source: the archive in ../shared/third_party/vtm/ (see SOURCE.md there: tag VTM-23.13, BSD-3).
# Result: third_party/vtm/VTM-23.13/bin/{EncoderAppStatic,DecoderAppStatic} and the intra config
# third_party/vtm/VTM-23.13/cfg/encoder_intra_vtm.cfg (third_party/vtm/ is git-ignored); lic finds
# them there by default (or under $LIC_VTM_DIR).
# Idempotent: does nothing when both binaries exist. Needs cmake and g++
# (if cmake is missing: `apt-get update && apt-get install -y cmake` as root).
# The build is about 15-60 minutes on a shared 2-core machine; run it in the background, e.g.
#   nohup bash benchmarks/build_vtm.sh > vtm-build.log 2>&1 &
# Usage: bash benchmarks/build_vtm.sh [ARCHIVE] [DEST_DIR]   (JOBS=2 for make -j2 on an idle machine)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
archive=${1:-$root/../shared/third_party/vtm/VTM-23.13.tar.xz}
dest=${2:-$root/third_party/vtm}
jobs=${JOBS:-1}
src=$dest/VTM-23.13
enc=$src/bin/EncoderAppStatic
dec=$src/bin/DecoderAppStatic
if [[ -x $enc && -x $dec ]]; then
  echo "VTM already built: $enc $dec"
  exit 0
fi
for tool in cmake g++ make; do
  command -v "$tool" > /dev/null || { echo "build_vtm.sh: $tool not found (apt-get install -y cmake g++ make)" >&2; exit 1; }
done
[[ -f $archive ]] || { echo "build_vtm.sh: archive not found: $archive" >&2; exit 1; }
mkdir -p "$dest"
[[ -f $src/CMakeLists.txt ]] || tar xJf "$archive" -C "$dest"
# Only the two applications are built (the other tools are not needed for the anchors).
nice -n 19 cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=Release > /dev/null
nice -n 19 cmake --build "$src/build" --target EncoderApp DecoderApp -- -j"$jobs"
[[ -x $enc && -x $dec ]] || { echo "build_vtm.sh: build finished but $enc / $dec are missing" >&2; exit 1; }
echo "VTM built: $enc $dec"
