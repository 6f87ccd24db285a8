#include "fit_filters.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "fit_lanes.hpp"
#include "planes.hpp"

namespace lic {

namespace {

// The adjoint of `replicate` (without the ReLU): each padded position's gradient added to the plane
// position it copies.
void fold(const float* padded, int64_t h, int64_t w, int64_t pad, float* out) {
  const int64_t pw = w + 2 * pad;
  std::fill(out, out + h * w, 0.0f);
  for (int64_t y = 0; y < h + 2 * pad; ++y) {
    const float* src = padded + y * pw;
    float* row = out + std::clamp<int64_t>(y - pad, 0, h - 1) * w;
    for (int64_t x = 0; x < pad; ++x) row[0] += src[x];
    for (int64_t x = 0; x < w; ++x) row[x] += src[pad + x];
    for (int64_t x = pad + w; x < pw; ++x) row[w - 1] += src[x];
  }
}

// Sum of a[i] * b[i] for i < n in 4 x kLanes independent lanes (a float sum in one chain does not vectorise).
LIC_INLINE float dot(const float* a, const float* b, int64_t n) {
  Lanes acc[4] = {};
  int64_t i = 0;
  for (; i + 4 * kLanes <= n; i += 4 * kLanes)
    for (int u = 0; u < 4; ++u) acc[u] += get(a + i + kLanes * u) * get(b + i + kLanes * u);
  for (; i + kLanes <= n; i += kLanes) acc[0] += get(a + i) * get(b + i);
  const Lanes total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  float sum = 0.0f;
  for (int j = 0; j < kLanes; ++j) sum += total[j];
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// dst[i] += a[i] * k for i < n.
LIC_INLINE void axpy(float* __restrict dst, const float* __restrict a, float k, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += a[i] * k;
}

// Outputs of one parity rx in [0, out_w): ox = 2n + rx for n < count.
LIC_INLINE int64_t phase_count(int64_t out_w, int64_t rx) { return (out_w - rx + 1) / 2; }

}  // namespace

__attribute__((target_clones("avx2", "default")))
void upsample_forward(const float* in, int64_t channels, int64_t h, int64_t w, const float* kernel, int64_t out_h,
                      int64_t out_w, float* out) {
  const int64_t pw = w + 4;
  std::vector<float> p((h + 4) * pw), acc(w + 1);
  for (int64_t c = 0; c < channels; ++c) {
    replicate(in + c * h * w, h, w, 2, false, p.data());
    float* plane = out + c * out_h * out_w;
    for (int64_t oy = 0; oy < out_h; ++oy) {
      const int64_t m = oy >> 1, ry = oy & 1;
      for (int64_t rx = 0; rx < 2; ++rx) {
        const int64_t count = phase_count(out_w, rx);
        float* __restrict a_row = acc.data();
        std::fill(a_row, a_row + count, 0.0f);
        for (int a = 0; a < 4; ++a) {
          const float* __restrict src = p.data() + (m + ry + a) * pw + rx;
          const float k0 = kernel[upsampling_tap(ry, rx, a, 0)], k1 = kernel[upsampling_tap(ry, rx, a, 1)];
          const float k2 = kernel[upsampling_tap(ry, rx, a, 2)], k3 = kernel[upsampling_tap(ry, rx, a, 3)];
          for (int64_t n = 0; n < count; ++n)
            a_row[n] += src[n] * k0 + src[n + 1] * k1 + src[n + 2] * k2 + src[n + 3] * k3;
        }
        float* dst = plane + oy * out_w + rx;
        for (int64_t n = 0; n < count; ++n) dst[2 * n] = a_row[n];
      }
    }
  }
}

__attribute__((target_clones("avx2", "default")))
void upsample_backward(const float* in, int64_t channels, int64_t h, int64_t w, const float* kernel, int64_t out_h,
                       int64_t out_w, const float* grad_out, float* grad_in, double* grad_kernel) {
  const int64_t pw = w + 4;
  std::vector<float> p((h + 4) * pw), gp((h + 4) * pw), g(w + 1);
  for (int64_t c = 0; c < channels; ++c) {
    replicate(in + c * h * w, h, w, 2, false, p.data());
    std::fill(gp.begin(), gp.end(), 0.0f);
    const float* plane = grad_out + c * out_h * out_w;
    for (int64_t oy = 0; oy < out_h; ++oy) {
      const int64_t m = oy >> 1, ry = oy & 1;
      for (int64_t rx = 0; rx < 2; ++rx) {
        const int64_t count = phase_count(out_w, rx);
        float* __restrict g_row = g.data();
        const float* src_g = plane + oy * out_w + rx;
        for (int64_t n = 0; n < count; ++n) g_row[n] = src_g[2 * n];
        for (int a = 0; a < 4; ++a) {
          const int64_t offset = (m + ry + a) * pw + rx;
          for (int b = 0; b < 4; ++b) {
            const int t = upsampling_tap(ry, rx, a, b);
            const float k = kernel[t];
            grad_kernel[t] += dot(g_row, p.data() + offset + b, count);
            if (grad_in != nullptr) axpy(gp.data() + offset + b, g_row, k, count);
          }
        }
      }
    }
    if (grad_in != nullptr) fold(gp.data(), h, w, 2, grad_in + c * h * w);
  }
}

__attribute__((target_clones("avx2", "default")))
void residual3x3_forward(const float* x, int64_t channels, int64_t h, int64_t w, const float* weight,
                         const float* bias, bool relu_input, float* out) {
  const int64_t pw = w + 2, plane = (h + 2) * pw;
  std::vector<float> p(channels * plane);
  for (int64_t c = 0; c < channels; ++c) replicate(x + c * h * w, h, w, 1, relu_input, p.data() + c * plane);
  const int64_t blocked = w / 8 * 8;
  for (int64_t y = 0; y < h; ++y)
    for (int64_t o = 0; o < channels; ++o) {
      float* dst = out + (o * h + y) * w;
      const float* res = x + (o * h + y) * w;
      // Every tap of 4 blocks of 8 outputs summed in registers (4 independent chains), stored once.
      for (int64_t i = 0; i < blocked; i += 32) {
        const int blocks = static_cast<int>(std::min<int64_t>(4, (blocked - i) / 8));
        Lanes v[4];
        for (int u = 0; u < blocks; ++u) v[u] = get(res + i + 8 * u) + bias[o];
        for (int64_t c = 0; c < channels; ++c)
          for (int dy = 0; dy < 3; ++dy) {
            const float* src = p.data() + c * plane + (y + dy) * pw + i;
            const float* k = weight + ((o * channels + c) * 3 + dy) * 3;
            const float k0 = k[0], k1 = k[1], k2 = k[2];
            for (int u = 0; u < blocks; ++u)
              v[u] += get(src + 8 * u) * k0 + get(src + 8 * u + 1) * k1 + get(src + 8 * u + 2) * k2;
          }
        for (int u = 0; u < blocks; ++u) put(dst + i + 8 * u, v[u]);
      }
      for (int64_t i = blocked; i < w; ++i) {
        float v = res[i] + bias[o];
        for (int64_t c = 0; c < channels; ++c)
          for (int dy = 0; dy < 3; ++dy) {
            const float* src = p.data() + c * plane + (y + dy) * pw + i;
            const float* k = weight + ((o * channels + c) * 3 + dy) * 3;
            v += src[0] * k[0] + src[1] * k[1] + src[2] * k[2];
          }
        dst[i] = v;
      }
    }
}

__attribute__((target_clones("avx2", "default")))
void residual3x3_backward(const float* x, int64_t channels, int64_t h, int64_t w, const float* weight,
                          bool relu_input, const float* grad_out, float* grad_x, double* grad_weight,
                          double* grad_bias) {
  const int64_t pw = w + 2, plane = (h + 2) * pw;
  // gpad: each output channel's gradient row with 2 zeros on either side, so that the padded input's
  // gradient row is a correlation over whole blocks.
  const int64_t gw = w + 4;
  std::vector<float> p(channels * plane), gp(channels * plane, 0.0f), gpad(channels * gw, 0.0f), folded(h * w);
  for (int64_t c = 0; c < channels; ++c) replicate(x + c * h * w, h, w, 1, relu_input, p.data() + c * plane);
  const int64_t blocked = w / 8 * 8;
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t o = 0; o < channels; ++o) {
      const float* g = grad_out + (o * h + y) * w;
      std::copy(g, g + w, gpad.data() + o * gw + 2);
      float sum = 0.0f;
      for (int64_t i = 0; i < w; ++i) sum += g[i];
      grad_bias[o] += sum;
      // The weights' gradients: the three taps of a row in three lane sums, the gradient row read once.
      for (int64_t c = 0; c < channels; ++c)
        for (int dy = 0; dy < 3; ++dy) {
          const float* src = p.data() + c * plane + (y + dy) * pw;
          Lanes a0 = {}, a1 = {}, a2 = {};
          for (int64_t i = 0; i < blocked; i += 8) {
            const Lanes gv = get(g + i);
            a0 += gv * get(src + i);
            a1 += gv * get(src + i + 1);
            a2 += gv * get(src + i + 2);
          }
          float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f;
          for (int j = 0; j < 8; ++j) s0 += a0[j], s1 += a1[j], s2 += a2[j];
          for (int64_t i = blocked; i < w; ++i) {
            s0 += g[i] * src[i];
            s1 += g[i] * src[i + 1];
            s2 += g[i] * src[i + 2];
          }
          double* gw_row = grad_weight + ((o * channels + c) * 3 + dy) * 3;
          gw_row[0] += s0, gw_row[1] += s1, gw_row[2] += s2;
        }
    }
    // The padded input's gradient: row y + dy of channel c gets sum over o, dx of k * g_o[j - dx].
    const int64_t span = w + 2, span_blocked = span / 8 * 8;
    for (int64_t c = 0; c < channels; ++c)
      for (int dy = 0; dy < 3; ++dy) {
        float* dst = gp.data() + c * plane + (y + dy) * pw;
        for (int64_t j = 0; j < span_blocked; j += 32) {
          const int blocks = static_cast<int>(std::min<int64_t>(4, (span_blocked - j) / 8));
          Lanes v[4];
          for (int u = 0; u < blocks; ++u) v[u] = get(dst + j + 8 * u);
          for (int64_t o = 0; o < channels; ++o) {
            const float* k = weight + ((o * channels + c) * 3 + dy) * 3;
            const float k0 = k[0], k1 = k[1], k2 = k[2];
            const float* gr = gpad.data() + o * gw + j;
            for (int u = 0; u < blocks; ++u)
              v[u] += get(gr + 8 * u + 2) * k0 + get(gr + 8 * u + 1) * k1 + get(gr + 8 * u) * k2;
          }
          for (int u = 0; u < blocks; ++u) put(dst + j + 8 * u, v[u]);
        }
        for (int64_t j = span_blocked; j < span; ++j)
          for (int64_t o = 0; o < channels; ++o) {
            const float* k = weight + ((o * channels + c) * 3 + dy) * 3;
            const float* gr = gpad.data() + o * gw + j;
            dst[j] += gr[2] * k[0] + gr[1] * k[1] + gr[0] * k[2];
          }
      }
  }
  for (int64_t c = 0; c < channels; ++c) {
    fold(gp.data() + c * plane, h, w, 1, folded.data());
    const float* xc = x + c * h * w;
    const float* gc = grad_out + c * h * w;
    float* dst = grad_x + c * h * w;
    for (int64_t i = 0; i < h * w; ++i) dst[i] = gc[i] + (relu_input && xc[i] <= 0.0f ? 0.0f : folded[i]);
  }
}

namespace {

// Blocks of 2^s positions at level s of a row of w positions.
int64_t blocks(int64_t w, int s) { return ((w - 1) >> s) + 1; }

// Sum over x < w of a[x] (times b[x] unless b is null), in eight float lanes (the order a vector loop
// can take), then in double.
LIC_INLINE double lane_sum(const float* a, const float* b, int64_t w) {
  Lanes acc = {};
  int64_t x = 0;
  for (; x + kLanes <= w; x += kLanes) acc += b ? get(a + x) * get(b + x) : get(a + x);
  double sum = 0.0;
  for (int k = 0; k < kLanes; ++k) sum += acc[k];
  for (; x < w; ++x) sum += b ? a[x] * b[x] : a[x];
  return sum;
}

// One row of `features` values per level 1..(the largest shift), at that level's block resolution.
std::vector<std::vector<float>> level_rows(const std::vector<NearestPlane>& sources, int64_t w, int features) {
  int top = 0;
  for (const NearestPlane& p : sources) top = std::max(top, p.shift);
  std::vector<std::vector<float>> level(top + 1);
  for (int s = 1; s <= top; ++s) level[s].resize(static_cast<size_t>(features) * blocks(w, s));
  return level;
}

void check_nearest(const std::vector<NearestPlane>& sources, int64_t h, int64_t w) {
  if (sources.empty() || h < 1 || w < 1) throw std::invalid_argument("nearest features need sources and a size");
  for (const NearestPlane& s : sources)
    if (s.shift < 0 || s.shift > 30 || ((h - 1) >> s.shift) >= s.h || ((w - 1) >> s.shift) >= s.w)
      throw std::invalid_argument("a source plane does not cover the features' size");
}

}  // namespace

// A source at shift s is constant on blocks of 2^s positions, so both passes work level by level: the
// forward pass sums each level's sources at its block resolution and adds the coarser level's sum to
// both halves of each block (out = level 0); the backward pass sums the output gradient over blocks
// (level s from level s - 1) and meets each source at its own level. A row then costs about
// 2 * features * w operations however many sources there are.
__attribute__((target_clones("avx2", "default")))
void nearest_features_forward(const std::vector<NearestPlane>& sources, int64_t h, int64_t w, int features,
                              const float* weight, const float* bias, float* out) {
  check_nearest(sources, h, w);
  const size_t n = sources.size();
  std::vector<std::vector<float>> level = level_rows(sources, w, features);
  const int top = static_cast<int>(level.size()) - 1;
  for (int64_t y = 0; y < h; ++y) {
    for (int s = top; s >= 0; --s) {
      const int64_t count = blocks(w, s);
      for (int c = 0; c < features; ++c) {
        float* __restrict t = s ? level[s].data() + c * count : out + (c * h + y) * w;
        if (s == top) {
          std::fill(t, t + count, bias[c]);
        } else {
          const float* __restrict up = level[s + 1].data() + c * blocks(w, s + 1);
          for (int64_t i = 0; i < count; ++i) t[i] = up[i >> 1];
        }
        for (size_t j = 0; j < n; ++j) {
          if (sources[j].shift != s) continue;
          const float k = weight[c * n + j];
          const float* __restrict row = sources[j].values + (y >> s) * sources[j].w;
          for (int64_t i = 0; i < count; ++i) t[i] += k * row[i];
        }
      }
    }
  }
}

__attribute__((target_clones("avx2", "default")))
void nearest_features_backward(const std::vector<NearestPlane>& sources, int64_t h, int64_t w, int features,
                               const float* weight, const float* grad_out, const std::vector<float*>& grad_sources,
                               double* grad_weight, double* grad_bias) {
  check_nearest(sources, h, w);
  const size_t n = sources.size();
  std::vector<std::vector<float>> level = level_rows(sources, w, features);
  const int top = static_cast<int>(level.size()) - 1;
  for (size_t j = 0; j < grad_sources.size(); ++j)
    std::fill(grad_sources[j], grad_sources[j] + sources[j].h * sources[j].w, 0.0f);
  for (int64_t y = 0; y < h; ++y) {
    for (int s = 0; s <= top; ++s) {
      const int64_t count = blocks(w, s);
      for (int c = 0; c < features; ++c) {
        const float* g = grad_out + (c * h + y) * w;
        if (s) {
          const int64_t finer = blocks(w, s - 1);
          const float* __restrict below = s == 1 ? g : level[s - 1].data() + c * finer;
          float* __restrict sum = level[s].data() + c * count;
          for (int64_t i = 0; i < count; ++i) sum[i] = below[2 * i] + (2 * i + 1 < finer ? below[2 * i + 1] : 0.0f);
        } else {
          grad_bias[c] += lane_sum(g, nullptr, w);
        }
      }
      for (size_t j = 0; j < n; ++j) {
        const NearestPlane& p = sources[j];
        if (p.shift != s) continue;
        const float* row = p.values + (y >> s) * p.w;
        float* grad_row = grad_sources.empty() ? nullptr : grad_sources[j] + (y >> s) * p.w;
        for (int c = 0; c < features; ++c) {
          const float* g = s ? level[s].data() + c * count : grad_out + (c * h + y) * w;
          grad_weight[c * n + j] += lane_sum(g, row, count);
          if (grad_row) {
            const float k = weight[c * n + j];
            for (int64_t i = 0; i < count; ++i) grad_row[i] += k * g[i];
          }
        }
      }
    }
  }
}

}  // namespace lic
