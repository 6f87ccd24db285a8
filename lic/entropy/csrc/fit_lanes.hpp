// Eight float lanes as one vector value (one AVX register; two SSE registers in the default build),
// for the fitting kernels (fit_mlp.cpp, fit_filters.cpp). Lanes live in float arrays (no
// over-aligned allocations): unaligned vector loads and stores.
#pragma once

namespace lic {

constexpr int kLanes = 8;
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));

#define LIC_INLINE inline __attribute__((always_inline))

// The kLanes floats at p.
LIC_INLINE Lanes get(const float* p) {
  Lanes v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

// v into the kLanes floats at p.
LIC_INLINE void put(float* p, Lanes v) { __builtin_memcpy(p, &v, sizeof v); }

}  // namespace lic
