// The rate term of the overfit mode's fitting loss in one pass (the encoder's training loop, never the
// decoder): bits of each latent under the discretised Laplace its entropy model predicts.
#pragma once

#include <cstdint>

namespace lic {

// Sum over i of -log2 P(values[i]) under the Laplace of mean params[i][0] and scale
// exp(clamp(params[i][1], low, high)), integrated over [v - 1/2, v + 1/2] and floored at 2^-16 (as the
// 16-bit tables are).
double laplace_rate(const float* values, const float* params, int64_t n, float low, float high);

// `scale` times the gradient of laplace_rate: grad_values [n] and grad_params [n][2].
void laplace_rate_backward(const float* values, const float* params, int64_t n, float low, float high, float scale,
                           float* grad_values, float* grad_params);

}  // namespace lic
