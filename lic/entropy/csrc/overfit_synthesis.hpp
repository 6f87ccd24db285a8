// Upsampling and synthesis of lic's overfitted image mode in exact integers (bitstream-spec.md
// section 6.4): what every decoder, and the encoder for its reconstruction, computes.
//
// Integers are held in doubles; the caller (lic.models.overfit.ExactNetwork) has checked that no
// sum of products can reach 2^53, so every result is exact whatever the order of the sums.
#pragma once

#include <cstdint>
#include <vector>

namespace lic {

struct ConvLayer {
  int outputs;
  int inputs;
  int kernel;                  // 1 or 3
  std::vector<double> weight;  // [outputs][inputs][kernel][kernel], integers w * 2^14
  std::vector<double> bias;    // [outputs], integers b * 2^26
};

struct LatentGrid {
  int64_t height;
  int64_t width;
  const int32_t* values;  // row-major
};

// RGB pixels (HxWx3, row-major) of the latent grids (finest first): upsampling with
// `kernels` (8x8 each, grids.size() - 1 of them), then mix (1x1, ReLU), to_rgb (1x1) and the two
// residual 3x3 layers.
void overfit_synthesis(const std::vector<LatentGrid>& grids, const std::vector<std::vector<double>>& kernels,
                       const ConvLayer& mix, const ConvLayer& to_rgb, const ConvLayer& refine0,
                       const ConvLayer& refine1, uint8_t* pixels);

}  // namespace lic
