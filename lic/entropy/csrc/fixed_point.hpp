// The fixed point of bitstream-spec.md section 3.1, shared by the overfit mode's exact decoders
// (arm.cpp: the entropy model; overfit_synthesis.cpp: upsampling and synthesis).
//
// Activations are integers a standing for a / 2^12, weights w / 2^14, biases b / 2^26. A layer's
// sum (bias + sum of weight * activation, in 2^-26 units) is rescaled to 2^-12 units by
// floor((acc + 2^13) / 2^14) and clamped to [-2^24, 2^24] (or [0, 2^24] after a ReLU). Integers
// are held in doubles: the callers check that no sum can reach 2^53, so every product and partial
// sum is exact in any order.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace lic {

constexpr int kActivationBits = 12;
constexpr int kWeightBits = 14;
constexpr int64_t kActivationLimit = int64_t{1} << 24;
constexpr double kExactLimit = 9007199254740992.0;  // 2^53: the first integer a double may not hold exactly

// floor((acc + 2^13) / 2^14): a sum in 2^-26 units rescaled to activations (exact: the scaling is
// by a power of two).
inline double rescale(double acc) {
  return std::floor((acc + static_cast<double>(1 << (kWeightBits - 1))) * (1.0 / (1 << kWeightBits)));
}

// An activation clamped to [-2^24, 2^24], or [0, 2^24] with `relu`.
inline double clamp_activation(double v, bool relu) {
  constexpr double limit = static_cast<double>(kActivationLimit);
  return std::clamp(v, relu ? 0.0 : -limit, limit);
}

// The activation of an integer latent: clamp(v * 2^12, -2^24, 2^24) (bitstream-spec.md section 6.3).
inline double activation(int64_t v) {
  return static_cast<double>(std::clamp<int64_t>(v * (int64_t{1} << kActivationBits), -kActivationLimit,
                                                 kActivationLimit));
}

}  // namespace lic
