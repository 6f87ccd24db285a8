#include "fit_mlp.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "fit_lanes.hpp"

namespace lic {

namespace {

// A block of kLanes (8) rows: one value per row in each Lanes (fit_lanes.hpp). Every loop below works
// on whole blocks, so it compiles to vector instructions and no sum is reordered within a row.

// Blocks of a tile in the backward pass, and tiles between additions of the float gradient sums
// (one per lane) into the double sums.
constexpr int kTile = 8;
constexpr int kFlushTiles = 8;
// The widest layer these kernels take (inputs and outputs).
constexpr int kMaxUnits = 64;

// Block values v[u * kLanes + b] of `units` per row into out, a [rows][units] array ([units][rows] when
// planar).
LIC_INLINE void store_rows(int64_t first, int lanes, int units, const float* v, float* out, int64_t rows,
                           bool planar) {
  if (planar && lanes == kLanes) {
    for (int u = 0; u < units; ++u) put(out + u * rows + first, get(v + u * kLanes));
    return;
  }
  for (int b = 0; b < lanes; ++b)
    for (int u = 0; u < units; ++u) out[planar ? u * rows + first + b : (first + b) * units + u] = v[u * kLanes + b];
}

// Block values v[u * kLanes + b] from such an array; zero past the last row.
LIC_INLINE void load_rows(int64_t first, int lanes, int units, const float* from, float* v, int64_t rows,
                          bool planar) {
  if (planar && lanes == kLanes) {
    for (int u = 0; u < units; ++u) put(v + u * kLanes, get(from + u * rows + first));
    return;
  }
  for (int u = 0; u < units; ++u)
    for (int b = 0; b < kLanes; ++b)
      v[u * kLanes + b] = b < lanes ? from[planar ? u * rows + first + b : (first + b) * units + u] : 0.0f;
}

struct Dense {
  const DenseRows& r;

  int inputs() const { return r.inputs; }
  int64_t rows() const { return r.rows; }
  bool gradient_wanted(const float* grad_input) const { return grad_input != nullptr; }
  // x[i * kLanes + b]: input i of row first + b (a tail block repeats its last row).
  void load(int64_t first, int lanes, float* x) const {
    if (r.planar && lanes == kLanes) {
      for (int i = 0; i < r.inputs; ++i) put(x + i * kLanes, get(r.values + i * r.rows + first));
      return;
    }
    for (int b = 0; b < kLanes; ++b) {
      const int64_t row = first + std::min(b, lanes - 1);
      for (int i = 0; i < r.inputs; ++i) x[i * kLanes + b] = r.values[r.planar ? i * r.rows + row : row * r.inputs + i];
    }
  }
  void store_gradient(int64_t first, int lanes, const float* g, float* grad) const {
    store(first, lanes, r.inputs, g, grad);
  }
  void store(int64_t first, int lanes, int units, const float* v, float* out) const {
    store_rows(first, lanes, units, v, out, r.rows, r.planar);
  }
  void load_output(int64_t first, int lanes, int units, const float* from, float* v) const {
    load_rows(first, lanes, units, from, v, r.rows, r.planar);
  }
};

struct Context {
  const ContextRows& r;
  float* grad_extra;            // the extra inputs' gradient (backward pass; may be null)
  std::vector<int64_t> shifts;  // per tap: its distance in the padded plane

  Context(const ContextRows& rows, float* extra_gradient) : r(rows), grad_extra(extra_gradient) {
    for (const auto& [dy, dx] : r.offsets) shifts.push_back(dy * r.padded_width + dx);
  }
  int taps() const { return static_cast<int>(shifts.size()); }
  int inputs() const { return taps() + (r.extra ? r.extra_inputs : 0); }
  int64_t rows() const { return r.height * r.width; }
  bool gradient_wanted(const float* grad_input) const { return grad_input != nullptr || grad_extra != nullptr; }
  int64_t centre(int64_t p) const { return (r.top + p / r.width) * r.padded_width + r.left + p % r.width; }
  // Whether the block's rows are 8 neighbours on one grid line (each tap is then 8 adjacent values).
  bool one_line(int64_t first, int lanes) const { return lanes == kLanes && first % r.width + kLanes <= r.width; }
  void load(int64_t first, int lanes, float* x) const {
    if (one_line(first, lanes)) {
      const float* at = r.padded + centre(first);
      for (size_t t = 0; t < shifts.size(); ++t) put(x + t * kLanes, get(at + shifts[t]));
    } else {
      for (int b = 0; b < kLanes; ++b) {
        const float* at = r.padded + centre(first + std::min(b, lanes - 1));
        for (size_t t = 0; t < shifts.size(); ++t) x[t * kLanes + b] = at[shifts[t]];
      }
    }
    if (r.extra) load_rows(first, lanes, r.extra_inputs, r.extra, x + taps() * kLanes, rows(), true);
  }
  void store_gradient(int64_t first, int lanes, const float* g, float* grad) const {
    if (grad_extra) store_rows(first, lanes, r.extra_inputs, g + taps() * kLanes, grad_extra, rows(), true);
    if (grad == nullptr) return;
    if (one_line(first, lanes)) {
      float* at = grad + centre(first);
      for (size_t t = 0; t < shifts.size(); ++t) put(at + shifts[t], get(at + shifts[t]) + get(g + t * kLanes));
      return;
    }
    for (int b = 0; b < lanes; ++b) {
      float* at = grad + centre(first + b);
      for (size_t t = 0; t < shifts.size(); ++t) at[shifts[t]] += g[t * kLanes + b];
    }
  }
  void store(int64_t first, int lanes, int units, const float* v, float* out) const {
    store_rows(first, lanes, units, v, out, rows(), false);
  }
  void load_output(int64_t first, int lanes, int units, const float* from, float* v) const {
    load_rows(first, lanes, units, from, v, rows(), false);
  }
};

// acts[l]: the input of layer l for a block's rows ([units][kLanes]); acts[L]: the output.
using Blocks = std::vector<std::vector<float>>;

Blocks activation_blocks(const std::vector<FloatLayer>& layers) {
  Blocks acts{std::vector<float>(static_cast<size_t>(layers.front().inputs) * kLanes)};
  for (const FloatLayer& layer : layers) acts.emplace_back(static_cast<size_t>(layer.outputs) * kLanes);
  return acts;
}

// out[u] = init[u] (zero when null) + sum over i of m[u][i] * x[i] for each of the `units` rows of
// m ([units][inputs]), x being `inputs` blocks; four units at a time, so each block of x is loaded once
// for four multiply-adds.
LIC_INLINE void matrix_blocks(const float* m, int inputs, const float* init, const float* x, int units,
                              Lanes* out) {
  int u = 0;
  for (; u + 4 <= units; u += 4) {
    const float* m0 = m + static_cast<int64_t>(u) * inputs;
    const float *m1 = m0 + inputs, *m2 = m1 + inputs, *m3 = m2 + inputs;
    Lanes a0 = Lanes{} + (init ? init[u] : 0.0f), a1 = Lanes{} + (init ? init[u + 1] : 0.0f);
    Lanes a2 = Lanes{} + (init ? init[u + 2] : 0.0f), a3 = Lanes{} + (init ? init[u + 3] : 0.0f);
    for (int i = 0; i < inputs; ++i) {
      const Lanes v = get(x + i * kLanes);
      a0 += m0[i] * v;
      a1 += m1[i] * v;
      a2 += m2[i] * v;
      a3 += m3[i] * v;
    }
    out[u] = a0;
    out[u + 1] = a1;
    out[u + 2] = a2;
    out[u + 3] = a3;
  }
  for (; u < units; ++u) {
    const float* mu = m + static_cast<int64_t>(u) * inputs;
    Lanes a = Lanes{} + (init ? init[u] : 0.0f);
    for (int i = 0; i < inputs; ++i) a += mu[i] * get(x + i * kLanes);
    out[u] = a;
  }
}

LIC_INLINE void forward_block(const std::vector<FloatLayer>& layers, Blocks& acts) {
  Lanes sums[kMaxUnits];
  for (size_t l = 0; l < layers.size(); ++l) {
    const FloatLayer& layer = layers[l];
    matrix_blocks(layer.weight, layer.inputs, layer.bias, acts[l].data(), layer.outputs, sums);
    float* out = acts[l + 1].data();
    const bool hidden = l + 1 < layers.size();
    const Lanes zero = {};
    for (int o = 0; o < layer.outputs; ++o) put(out + o * kLanes, hidden ? (sums[o] > zero ? sums[o] : zero) : sums[o]);
  }
}

template <class Source>
LIC_INLINE void forward(const Source& source, const std::vector<FloatLayer>& layers, float* out) {
  Blocks acts = activation_blocks(layers);
  const int outputs = layers.back().outputs;
  const float* last = acts.back().data();
  for (int64_t first = 0; first < source.rows(); first += kLanes) {
    const int lanes = static_cast<int>(std::min<int64_t>(kLanes, source.rows() - first));
    source.load(first, lanes, acts[0].data());
    forward_block(layers, acts);
    source.store(first, lanes, outputs, last, out);
  }
}

template <class Source>
LIC_INLINE void backward(const Source& source, const std::vector<FloatLayer>& layers, const float* grad_out,
                         float* grad_input, const std::vector<double*>& grad_weights,
                         const std::vector<double*>& grad_biases) {
  const size_t L = layers.size();
  Blocks weight_sums, bias_sums;             // per lane float sums, [outputs][inputs][kLanes], [outputs][kLanes]
  std::vector<std::vector<float>> transposed;  // weights as [inputs][outputs]
  for (const FloatLayer& layer : layers) {
    weight_sums.emplace_back(static_cast<size_t>(layer.outputs) * layer.inputs * kLanes, 0.0f);
    bias_sums.emplace_back(static_cast<size_t>(layer.outputs) * kLanes, 0.0f);
    std::vector<float> t(static_cast<size_t>(layer.outputs) * layer.inputs);
    for (int o = 0; o < layer.outputs; ++o)
      for (int i = 0; i < layer.inputs; ++i) t[i * layer.outputs + o] = layer.weight[o * layer.inputs + i];
    transposed.push_back(std::move(t));
  }
  auto flush = [&] {
    for (size_t l = 0; l < L; ++l) {
      for (size_t k = 0; k < weight_sums[l].size() / kLanes; ++k) {
        double s = 0;
        for (int b = 0; b < kLanes; ++b) s += weight_sums[l][k * kLanes + b];
        grad_weights[l][k] += s;
      }
      for (size_t o = 0; o < bias_sums[l].size() / kLanes; ++o) {
        double s = 0;
        for (int b = 0; b < kLanes; ++b) s += bias_sums[l][o * kLanes + b];
        grad_biases[l][o] += s;
      }
      std::fill(weight_sums[l].begin(), weight_sums[l].end(), 0.0f);
      std::fill(bias_sums[l].begin(), bias_sums[l].end(), 0.0f);
    }
  };
  // Tiles of kTile blocks: each layer's weight gradient sums a tile's blocks in registers before
  // adding to the per-lane sums in memory (one load and store per tile instead of per block).
  std::vector<Blocks> tile_acts(kTile, activation_blocks(layers)), tile_grads(kTile, activation_blocks(layers));
  const int outputs = layers.back().outputs;
  const bool input_gradient = source.gradient_wanted(grad_input);
  int64_t tiles = 0;
  for (int64_t start = 0; start < source.rows(); start += kLanes * kTile) {
    const int blocks = static_cast<int>(std::min<int64_t>(kTile, (source.rows() - start + kLanes - 1) / kLanes));
    for (int k = 0; k < blocks; ++k) {
      const int64_t first = start + k * kLanes;
      const int lanes = static_cast<int>(std::min<int64_t>(kLanes, source.rows() - first));
      source.load(first, lanes, tile_acts[k][0].data());
      forward_block(layers, tile_acts[k]);
      source.load_output(first, lanes, outputs, grad_out, tile_grads[k][L].data());
    }
    for (size_t l = L; l-- > 0;) {
      const FloatLayer& layer = layers[l];
      float* ws = weight_sums[l].data();
      float* bs = bias_sums[l].data();
      for (int o = 0; o < layer.outputs; ++o) {
        float* w = ws + static_cast<int64_t>(o) * layer.inputs * kLanes;
        int i = 0;
        for (; i + 4 <= layer.inputs; i += 4) {
          Lanes s0 = {}, s1 = {}, s2 = {}, s3 = {};
          for (int k = 0; k < blocks; ++k) {
            const Lanes go = get(tile_grads[k][l + 1].data() + o * kLanes);
            const float* a = tile_acts[k][l].data() + i * kLanes;
            s0 += go * get(a);
            s1 += go * get(a + kLanes);
            s2 += go * get(a + 2 * kLanes);
            s3 += go * get(a + 3 * kLanes);
          }
          put(w + i * kLanes, get(w + i * kLanes) + s0);
          put(w + (i + 1) * kLanes, get(w + (i + 1) * kLanes) + s1);
          put(w + (i + 2) * kLanes, get(w + (i + 2) * kLanes) + s2);
          put(w + (i + 3) * kLanes, get(w + (i + 3) * kLanes) + s3);
        }
        for (; i < layer.inputs; ++i) {
          Lanes s0 = {};
          for (int k = 0; k < blocks; ++k)
            s0 += get(tile_grads[k][l + 1].data() + o * kLanes) * get(tile_acts[k][l].data() + i * kLanes);
          put(w + i * kLanes, get(w + i * kLanes) + s0);
        }
        Lanes sb = {};
        for (int k = 0; k < blocks; ++k) sb += get(tile_grads[k][l + 1].data() + o * kLanes);
        put(bs + o * kLanes, get(bs + o * kLanes) + sb);
      }
      if (l == 0 && !input_gradient) break;
      const float* t = transposed[l].data();
      for (int k = 0; k < blocks; ++k) {
        const float* g = tile_grads[k][l + 1].data();
        const float* a = tile_acts[k][l].data();
        float* gi = tile_grads[k][l].data();
        Lanes sums[kMaxUnits];
        matrix_blocks(t, layer.outputs, nullptr, g, layer.inputs, sums);
        // Layer l's input is the previous layer's output after its ReLU: no gradient where it is 0.
        const Lanes zero = {};
        for (int i = 0; i < layer.inputs; ++i)
          put(gi + i * kLanes, l == 0 ? sums[i] : (get(a + i * kLanes) > zero ? sums[i] : zero));
      }
    }
    if (input_gradient)
      for (int k = 0; k < blocks; ++k) {
        const int64_t first = start + k * kLanes;
        const int lanes = static_cast<int>(std::min<int64_t>(kLanes, source.rows() - first));
        source.store_gradient(first, lanes, tile_grads[k][0].data(), grad_input);
      }
    if (++tiles % kFlushTiles == 0) flush();
  }
  flush();
}

void check_layers(const std::vector<FloatLayer>& layers, int inputs) {
  if (layers.empty()) throw std::invalid_argument("an MLP needs at least one layer");
  for (const FloatLayer& layer : layers) {
    if (layer.inputs != inputs || layer.outputs < 1) throw std::invalid_argument("MLP layer shapes do not chain");
    if (layer.inputs > kMaxUnits || layer.outputs > kMaxUnits)
      throw std::invalid_argument("MLP layers are at most " + std::to_string(kMaxUnits) + " wide");
    inputs = layer.outputs;
  }
}

void check_context(const ContextRows& r) {
  if (r.height < 1 || r.width < 1 || r.offsets.empty()) throw std::invalid_argument("empty context grid");
  if (r.extra && r.extra_inputs < 1) throw std::invalid_argument("extra context inputs without a count");
  for (const auto& [dy, dx] : r.offsets)
    if (r.top + dy < 0 || r.left + dx < 0 || r.top + dy + r.height > r.padded_height ||
        r.left + dx + r.width > r.padded_width)
      throw std::invalid_argument("a context offset reaches outside the padded grid");
}

}  // namespace

// AVX2 clones chosen at run time where the CPU has them (float results may differ in the last bits
// between clones; fitting needs no exactness, decoding never runs these). Not FMA: x86-64-v3 clones
// (AVX2 with fused multiply-adds) made a fitting step 5-10 % faster but 8 of 8 half-size `fast`
// proxies ended at a higher RD cost (mean +1.4 %, docs/overfit.md "Presets and fitting speed").
__attribute__((target_clones("avx2", "default")))
void mlp_forward(const DenseRows& rows, const std::vector<FloatLayer>& layers, float* out) {
  check_layers(layers, rows.inputs);
  forward(Dense{rows}, layers, out);
}

__attribute__((target_clones("avx2", "default")))
void mlp_forward(const ContextRows& rows, const std::vector<FloatLayer>& layers, float* out) {
  check_context(rows);
  const Context source(rows, nullptr);
  check_layers(layers, source.inputs());
  forward(source, layers, out);
}

__attribute__((target_clones("avx2", "default")))
void mlp_backward(const DenseRows& rows, const std::vector<FloatLayer>& layers, const float* grad_out,
                  float* grad_input, const std::vector<double*>& grad_weights,
                  const std::vector<double*>& grad_biases) {
  check_layers(layers, rows.inputs);
  backward(Dense{rows}, layers, grad_out, grad_input, grad_weights, grad_biases);
}

__attribute__((target_clones("avx2", "default")))
void mlp_backward(const ContextRows& rows, const std::vector<FloatLayer>& layers, const float* grad_out,
                  float* grad_input, const std::vector<double*>& grad_weights,
                  const std::vector<double*>& grad_biases, float* grad_extra) {
  check_context(rows);
  const Context source(rows, rows.extra ? grad_extra : nullptr);
  check_layers(layers, source.inputs());
  backward(source, layers, grad_out, grad_input, grad_weights, grad_biases);
}

}  // namespace lic
