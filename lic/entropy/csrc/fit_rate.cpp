#include "fit_rate.hpp"

#include <algorithm>
#include <cmath>

namespace lic {

namespace {

constexpr float kFloor = 1.0f / 65536.0f;  // 2^-16
constexpr float kLn2 = 0.693147180559945f;

// The Laplace of one latent: the bounds of its bin relative to the mean, the scale, and the two
// half-densities 0.5 exp(-|z| / s) at the bounds.
struct Bin {
  float upper, lower, scale, e_upper, e_lower;

  static Bin of(float value, float mean, float log_scale, float low, float high) {
    Bin b;
    b.scale = std::exp(std::clamp(log_scale, low, high));
    b.upper = value + 0.5f - mean;
    b.lower = value - 0.5f - mean;
    b.e_upper = 0.5f * std::exp(-std::fabs(b.upper) / b.scale);
    b.e_lower = 0.5f * std::exp(-std::fabs(b.lower) / b.scale);
    return b;
  }
  // P(bin) before the floor: cdf(upper) - cdf(lower), cdf(z) = e(z) below 0 and 1 - e(z) above.
  float probability() const {
    const float cu = upper < 0 ? e_upper : 1.0f - e_upper;
    const float cl = lower < 0 ? e_lower : 1.0f - e_lower;
    return cu - cl;
  }
};

}  // namespace

__attribute__((target_clones("avx2", "default")))
double laplace_rate(const float* values, const float* params, int64_t n, float low, float high) {
  double bits = 0;
  for (int64_t i = 0; i < n; ++i) {
    const Bin b = Bin::of(values[i], params[2 * i], params[2 * i + 1], low, high);
    bits -= std::log2(std::max(b.probability(), kFloor));
  }
  return bits;
}

__attribute__((target_clones("avx2", "default")))
void laplace_rate_backward(const float* values, const float* params, int64_t n, float low, float high, float scale,
                           float* grad_values, float* grad_params) {
  for (int64_t i = 0; i < n; ++i) {
    const float log_scale = params[2 * i + 1];
    const Bin b = Bin::of(values[i], params[2 * i], log_scale, low, high);
    const float p = b.probability();
    // d bits / d p, zero where the floor holds the probability.
    const float g = p >= kFloor ? -scale / (p * kLn2) : 0.0f;
    // The density at a bound is e / s; the bin's probability moves with the value by the difference of
    // the two, and with the scale by -(z / s) times each density.
    const float pdf_upper = b.e_upper / b.scale, pdf_lower = b.e_lower / b.scale;
    const float dv = g * (pdf_upper - pdf_lower);
    grad_values[i] = dv;
    grad_params[2 * i] = -dv;
    const bool inside = log_scale >= low && log_scale <= high;
    grad_params[2 * i + 1] = inside ? g * (b.lower * pdf_lower - b.upper * pdf_upper) : 0.0f;
  }
}

}  // namespace lic
