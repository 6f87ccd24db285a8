// Float kernels of the overfit mode's fitting (the encoder's training loop, never the decoder): the
// synthesis's two filters and the ARM's coarse-grid features on planar [channels][height][width]
// float images, forward and backward.
//
// * upsample: each channel doubled by an 8x8 transposed convolution (stride 2, padding 3) of the
//   channel edge-replicated by 2, its outer 4 rows and columns dropped, cropped to out_h x out_w
//   (the float form of overfit_synthesis.cpp's `upsample`, bitstream-spec.md section 6.4);
// * residual 3x3: x + conv(x') with x' = x (or max(x, 0)) edge-replicated by 1, channels in = out;
// * nearest features: a linear layer over coarser planes read at (y >> d, x >> d) (the ARM's
//   coarse-grid features, bitstream-spec.md section 6.3, in float).
//
// All three loop over rows so that a row's inputs and outputs stay in the L1 cache, with the inner loop
// along the row (vectorised). Gradients of the weights are summed per row in float, then in double.
#pragma once

#include <cstdint>
#include <vector>

namespace lic {

// out [channels][out_h][out_w] (out_h <= 2h, out_w <= 2w); kernel [8][8].
void upsample_forward(const float* in, int64_t channels, int64_t h, int64_t w, const float* kernel, int64_t out_h,
                      int64_t out_w, float* out);

// Adds the kernel's gradient into grad_kernel [8][8]; writes the input's into grad_in [channels][h][w]
// unless it is null.
void upsample_backward(const float* in, int64_t channels, int64_t h, int64_t w, const float* kernel, int64_t out_h,
                       int64_t out_w, const float* grad_out, float* grad_in, double* grad_kernel);

// out [channels][h][w] = x + conv3x3(x') + bias; weight [channels][channels][3][3].
void residual3x3_forward(const float* x, int64_t channels, int64_t h, int64_t w, const float* weight,
                         const float* bias, bool relu_input, float* out);

// grad_x [channels][h][w] (written); grad_weight and grad_bias (added into, doubles).
void residual3x3_backward(const float* x, int64_t channels, int64_t h, int64_t w, const float* weight,
                          bool relu_input, const float* grad_out, float* grad_x, double* grad_weight,
                          double* grad_bias);

// A coarser plane [h][w] read by nearest_features at (y >> shift, x >> shift).
struct NearestPlane {
  const float* values;
  int64_t h;
  int64_t w;
  int shift;
};

// out [features][h][w] = bias[c] + sum_j weight[c][j] * sources[j] at (y >> shift_j, x >> shift_j);
// weight [features][sources]. Every source must cover h x w at its shift.
void nearest_features_forward(const std::vector<NearestPlane>& sources, int64_t h, int64_t w, int features,
                              const float* weight, const float* bias, float* out);

// Adds the weight's and bias's gradients into grad_weight / grad_bias (doubles) and, unless
// grad_sources is empty, writes each source's gradient into grad_sources[j] ([h_j][w_j]).
void nearest_features_backward(const std::vector<NearestPlane>& sources, int64_t h, int64_t w, int features,
                               const float* weight, const float* grad_out, const std::vector<float*>& grad_sources,
                               double* grad_weight, double* grad_bias);

}  // namespace lic
