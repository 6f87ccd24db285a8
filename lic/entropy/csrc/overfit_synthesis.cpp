#include "overfit_synthesis.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "fixed_point.hpp"
#include "planes.hpp"

namespace lic {

namespace {

using Plane = std::vector<double>;

// `in` (h x w) edge-replicated by `pad` on every side, optionally through max(v, 0).
Plane padded(const Plane& in, int64_t h, int64_t w, int64_t pad, bool relu) {
  Plane out((h + 2 * pad) * (w + 2 * pad));
  replicate(in.data(), h, w, pad, relu, out.data());
  return out;
}

// A layer's sum rescaled to an activation and clamped (fixed_point.hpp).
inline double output(double acc, bool relu) { return clamp_activation(rescale(acc), relu); }

// One channel doubled by the 8x8 transposed convolution (stride 2, padding 3) of its input
// edge-replicated by 2, outer 4 rows/columns dropped, cropped to out_h x out_w.
Plane upsample(const Plane& in, int64_t h, int64_t w, const std::vector<double>& k, int64_t out_h,
               int64_t out_w) {
  const Plane p = padded(in, h, w, 2, false);
  const int64_t pw = w + 4;
  const double* kernel = k.data();
  Plane out(out_h * out_w);
  for (int64_t oy = 0; oy < out_h; ++oy) {
    const int64_t m = oy >> 1, ry = oy & 1;
    for (int64_t ox = 0; ox < out_w; ++ox) {
      const int64_t n = ox >> 1, rx = ox & 1;
      double acc = 0;
      for (int a = 0; a < 4; ++a) {
        const double* row = p.data() + (m + ry + a) * pw + n + rx;
        acc += row[0] * kernel[upsampling_tap(ry, rx, a, 0)] + row[1] * kernel[upsampling_tap(ry, rx, a, 1)] +
               row[2] * kernel[upsampling_tap(ry, rx, a, 2)] + row[3] * kernel[upsampling_tap(ry, rx, a, 3)];
      }
      out[oy * out_w + ox] = output(acc, false);
    }
  }
  return out;
}

// x + layer(x') with x' = x (or max(x, 0)) edge-replicated by 1; 3 channels in, 3 out.
std::vector<Plane> residual3x3(const std::vector<Plane>& x, int64_t h, int64_t w, const ConvLayer& layer,
                               bool relu_input) {
  std::vector<Plane> p;
  for (const Plane& channel : x) p.push_back(padded(channel, h, w, 1, relu_input));
  const int64_t pw = w + 2;
  std::vector<Plane> out(layer.outputs, Plane(h * w));
  for (int o = 0; o < layer.outputs; ++o)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t xx = 0; xx < w; ++xx) {
        double acc = 0;
        for (int c = 0; c < layer.inputs; ++c) {
          const double* wt = layer.weight.data() + (o * layer.inputs + c) * 9;
          const double* base = p[c].data() + y * pw + xx;
          for (int dy = 0; dy < 3; ++dy)
            acc += base[dy * pw] * wt[dy * 3] + base[dy * pw + 1] * wt[dy * 3 + 1] + base[dy * pw + 2] * wt[dy * 3 + 2];
        }
        out[o][y * w + xx] = clamp_activation(x[o][y * w + xx] + output(acc + layer.bias[o], false), false);
      }
  return out;
}

}  // namespace

// An AVX2 clone chosen at run time where the CPU has it (same integers: every sum is exact).
__attribute__((target_clones("avx2", "default")))
void overfit_synthesis(const std::vector<LatentGrid>& grids, const std::vector<std::vector<double>>& kernels,
                       const ConvLayer& mix, const ConvLayer& to_rgb, const ConvLayer& refine0,
                       const ConvLayer& refine1, uint8_t* pixels) {
  const size_t L = grids.size();
  if (L == 0 || kernels.size() != L - 1) throw std::invalid_argument("one upsampling kernel per grid but the last");
  for (const auto& k : kernels)
    if (k.size() != 64) throw std::invalid_argument("upsampling kernels are 8x8");
  if (mix.inputs != static_cast<int>(L) || mix.kernel != 1 || to_rgb.inputs != mix.outputs || to_rgb.outputs != 3 ||
      to_rgb.kernel != 1 || refine0.inputs != 3 || refine0.outputs != 3 || refine0.kernel != 3 ||
      refine1.inputs != 3 || refine1.outputs != 3 || refine1.kernel != 3)
    throw std::invalid_argument("synthesis layer shapes do not match");
  auto activations = [](const LatentGrid& g) {
    Plane p(g.height * g.width);
    for (int64_t i = 0; i < g.height * g.width; ++i) p[i] = activation(g.values[i]);
    return p;
  };
  // Coarse to fine: x holds the channels at the current grid's size, grid i first.
  std::vector<Plane> x{activations(grids[L - 1])};
  for (size_t step = 1; step < L; ++step) {
    const size_t i = L - 1 - step;
    const LatentGrid& fine = grids[i];
    const LatentGrid& coarse = grids[i + 1];
    std::vector<Plane> next{activations(fine)};
    for (const Plane& channel : x)
      next.push_back(upsample(channel, coarse.height, coarse.width, kernels[i], fine.height, fine.width));
    x = std::move(next);
  }
  const int64_t h = grids[0].height, w = grids[0].width, n = h * w;
  std::vector<Plane> rgb(3, Plane(n));
  // Blocks of pixels, loops across pixels innermost: they vectorise without reordering any sum.
  constexpr int64_t kBlock = 256;
  std::vector<double> hidden(static_cast<size_t>(mix.outputs) * kBlock), acc(kBlock);
  for (int64_t p0 = 0; p0 < n; p0 += kBlock) {
    const int64_t len = std::min(kBlock, n - p0);
    for (int o = 0; o < mix.outputs; ++o) {
      std::fill(acc.begin(), acc.begin() + len, 0.0);
      for (size_t c = 0; c < L; ++c) {
        const double wt = mix.weight[o * L + c];
        const double* src = x[c].data() + p0;
        for (int64_t j = 0; j < len; ++j) acc[j] += wt * src[j];
      }
      double* dst = hidden.data() + o * kBlock;
      for (int64_t j = 0; j < len; ++j) dst[j] = output(acc[j] + mix.bias[o], true);
    }
    for (int o = 0; o < 3; ++o) {
      std::fill(acc.begin(), acc.begin() + len, 0.0);
      for (int c = 0; c < mix.outputs; ++c) {
        const double wt = to_rgb.weight[o * mix.outputs + c];
        const double* src = hidden.data() + c * kBlock;
        for (int64_t j = 0; j < len; ++j) acc[j] += wt * src[j];
      }
      for (int64_t j = 0; j < len; ++j) rgb[o][p0 + j] = output(acc[j] + to_rgb.bias[o], false);
    }
  }
  rgb = residual3x3(rgb, h, w, refine0, false);
  rgb = residual3x3(rgb, h, w, refine1, true);
  // Pixels: floor(255 * a / 2^12 + 1/2), clamped to 0..255.
  constexpr double one = 1 << kActivationBits;
  for (int64_t p = 0; p < n; ++p)
    for (int c = 0; c < 3; ++c)
      pixels[p * 3 + c] = static_cast<uint8_t>(std::clamp(std::floor((255.0 * rgb[c][p] + one / 2) / one), 0.0, 255.0));
}

}  // namespace lic
