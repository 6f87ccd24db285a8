// Small helpers on image planes shared by the exact synthesis (overfit_synthesis.cpp, doubles) and
// the fitting kernels (fit_filters.cpp, floats).
#pragma once

#include <algorithm>
#include <cstdint>

namespace lic {

// One plane (h x w, row-major) edge-replicated by `pad` on every side into `out`
// ((h + 2 pad) x (w + 2 pad)), optionally through max(v, 0).
template <class T>
void replicate(const T* in, int64_t h, int64_t w, int64_t pad, bool relu, T* out) {
  const int64_t pw = w + 2 * pad;
  for (int64_t y = 0; y < h + 2 * pad; ++y) {
    const T* __restrict row = in + std::clamp<int64_t>(y - pad, 0, h - 1) * w;
    T* __restrict dst = out + y * pw;
    if (relu)
      for (int64_t x = 0; x < w; ++x) dst[pad + x] = std::max(row[x], T(0));
    else
      std::copy(row, row + w, dst + pad);
    std::fill(dst, dst + pad, dst[pad]);
    std::fill(dst + pad + w, dst + pw, dst[pad + w - 1]);
  }
}

// Index in the 8x8 upsampling kernel of tap (a, b) of the output of parities (ry, rx): the 2x
// transposed convolution (stride 2, padding 3) of a plane edge-replicated by 2.
inline int upsampling_tap(int64_t ry, int64_t rx, int a, int b) {
  return static_cast<int>((7 - ry - 2 * a) * 8 + 7 - rx - 2 * b);
}

}  // namespace lic
