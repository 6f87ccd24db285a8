#include "arm.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lic {

namespace {

inline int64_t floor_div(int64_t a, int64_t b) {  // b > 0
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// Throws unless every sum of a layer of these weights (activations up to 2^24) is an exact integer in a double.
void check_exact_sums(const std::vector<double>& weight, const std::vector<double>& bias, int inputs) {
  for (size_t o = 0; o < bias.size(); ++o) {
    double worst = std::fabs(bias[o]) + (1 << (kWeightBits - 1));
    for (int i = 0; i < inputs; ++i) worst += std::fabs(weight[o * inputs + i]) * static_cast<double>(kActivationLimit);
    if (!(worst < kExactLimit)) throw std::invalid_argument("ARM weights could overflow exact integers");
  }
}

}  // namespace

ArmModel::ArmModel(std::vector<ArmLayer> layers, std::vector<int32_t> context_dy, std::vector<int32_t> context_dx,
                   ArmTableMap map, int features, std::vector<ArmFeatureLayer> feature_layers)
    : layers_(std::move(layers)),
      dy_(std::move(context_dy)),
      dx_(std::move(context_dx)),
      map_(map),
      features_(features),
      feature_layers_(std::move(feature_layers)) {
  if (dy_.size() != dx_.size() || dy_.empty() || static_cast<int>(dy_.size()) > kArmMaxWidth)
    throw std::invalid_argument("ARM context: 1..256 (dy, dx) pairs");
  for (size_t i = 0; i < dy_.size(); ++i)
    if (!(dy_[i] < 0 || (dy_[i] == 0 && dx_[i] < 0)))
      throw std::invalid_argument("ARM context must be causal (dy < 0, or dy == 0 and dx < 0)");
  if (layers_.empty()) throw std::invalid_argument("ARM needs at least one layer");
  if (features_ < 0 || static_cast<int64_t>(dy_.size()) + features_ > kArmMaxWidth)
    throw std::invalid_argument("ARM context and features: at most 256 inputs");
  for (size_t k = 0; k < feature_layers_.size(); ++k) {
    const ArmFeatureLayer& f = feature_layers_[k];
    const int inputs = static_cast<int>(f.sources.size());
    if (features_ < 1 || inputs < 1 || f.weight.size() != static_cast<size_t>(features_) * inputs ||
        f.bias.size() != static_cast<size_t>(features_))
      throw std::invalid_argument("ARM feature layer shapes do not match the features");
    for (size_t j = 0; j < k; ++j)
      if (feature_layers_[j].grid == f.grid) throw std::invalid_argument("two feature layers for one grid");
    check_exact_sums(f.weight, f.bias, inputs);
  }
  int width = static_cast<int>(dy_.size()) + features_;
  for (ArmLayer& layer : layers_) {
    if (layer.inputs != width || layer.outputs < 1 || layer.outputs > kArmMaxWidth ||
        layer.weight.size() != static_cast<size_t>(layer.inputs) * layer.outputs ||
        layer.bias.size() != static_cast<size_t>(layer.outputs))
      throw std::invalid_argument("ARM layer shapes do not chain");
    layer.weight_t.resize(layer.weight.size());
    for (int o = 0; o < layer.outputs; ++o)
      for (int i = 0; i < layer.inputs; ++i) layer.weight_t[i * layer.outputs + o] = layer.weight[o * layer.inputs + i];
    check_exact_sums(layer.weight, layer.bias, layer.inputs);  // every sum must stay an exact integer
    width = layer.outputs;
  }
  if (width != 2) throw std::invalid_argument("ARM's last layer must have 2 outputs (mean, log-scale)");
  if (map_.scale_levels < 1 || map_.scale_step < 1 || map_.mean_bits < 0 || map_.mean_bits > 8)
    throw std::invalid_argument("bad ARM table map");
}

// An AVX2 clone chosen at run time where the CPU has it (same integers: every sum is exact).
__attribute__((target_clones("avx2", "default")))
void ArmModel::outputs(const int32_t* grid, int64_t width, int64_t y, int64_t x, const double* features,
                       double* scratch, int64_t* mean, int64_t* log_scale) const {
  double* a = scratch;
  double* b = scratch + kArmMaxWidth;
  const size_t n = dy_.size();
  for (size_t i = 0; i < n; ++i) {
    const int64_t yy = y + dy_[i], xx = x + dx_[i];
    const int64_t v = (yy >= 0 && xx >= 0 && xx < width) ? grid[yy * width + xx] : 0;
    a[i] = activation(v);
  }
  for (int c = 0; c < features_; ++c) a[n + c] = features ? features[c] : 0.0;
  for (const ArmLayer& layer : layers_) {
    // Input-major over the transposed weights: the loop over outputs vectorises.
    const double* w = layer.weight_t.data();
    for (int o = 0; o < layer.outputs; ++o) b[o] = 0.0;
    for (int i = 0; i < layer.inputs; ++i, w += layer.outputs) {
      const double v = a[i];
      for (int o = 0; o < layer.outputs; ++o) b[o] += w[o] * v;
    }
    for (int o = 0; o < layer.outputs; ++o)
      b[o] = clamp_activation(rescale(b[o] + layer.bias[o]), layer.relu);
    std::swap(a, b);
  }
  *mean = static_cast<int64_t>(a[0]);
  *log_scale = static_cast<int64_t>(a[1]);
}

void ArmModel::table_of(const int32_t* grid, int64_t width, int64_t y, int64_t x, const double* features,
                        double* scratch, int32_t* table, int32_t* base) const {
  int64_t mean, log_scale;
  outputs(grid, width, y, x, features, scratch, &mean, &log_scale);
  // Mean in 2^-mean_bits units, rounded half up; its floor is the base, the rest the phase.
  const int shift = kActivationBits - map_.mean_bits;
  const int64_t mean_q = floor_div(mean + (shift > 0 ? int64_t{1} << (shift - 1) : 0), int64_t{1} << shift);
  const int64_t phase = mean_q & ((int64_t{1} << map_.mean_bits) - 1);
  const int64_t row = std::clamp<int64_t>(
      floor_div(log_scale - map_.scale_base + map_.scale_step / 2, map_.scale_step), 0, map_.scale_levels - 1);
  *base = static_cast<int32_t>(floor_div(mean_q, int64_t{1} << map_.mean_bits));
  *table = static_cast<int32_t>((row << map_.mean_bits) + phase);
}

const ArmFeatureLayer* ArmModel::feature_layer(int64_t g) const {
  for (const ArmFeatureLayer& f : feature_layers_)
    if (f.grid == g) return &f;
  return nullptr;
}

void ArmModel::check_grids(const std::vector<ArmGrid>& grids) const {
  for (const ArmFeatureLayer& f : feature_layers_) {
    if (f.grid < 0 || f.grid >= static_cast<int>(grids.size()))
      throw std::invalid_argument("an ARM feature layer names a grid that is not coded");
    const ArmGrid& g = grids[f.grid];
    for (int j : f.sources) {
      if (j < 0 || j >= f.grid) throw std::invalid_argument("ARM features read a grid not coded before theirs");
      const ArmGrid& s = grids[j];
      const int d = s.level - g.level;
      if (d < 0 || d > 30 || ((g.height - 1) >> d) >= s.height || ((g.width - 1) >> d) >= s.width)
        throw std::invalid_argument("ARM features read a grid that does not cover theirs");
    }
  }
}

namespace {

// Features (`model.features()` per position, [width][features]) of row y of the grid of `layer`, from
// `starts[j]`: the first value of grid j (coding order).
void arm_feature_row(const ArmModel& model, const ArmFeatureLayer& layer, const std::vector<ArmGrid>& grids,
                     const std::vector<const int32_t*>& starts, int64_t y, double* out) {
  const ArmGrid& g = grids[layer.grid];
  const int features = model.features();
  const size_t n = layer.sources.size();
  std::vector<double> a(n);
  for (int64_t x = 0; x < g.width; ++x) {
    for (size_t j = 0; j < n; ++j) {
      const ArmGrid& s = grids[layer.sources[j]];
      const int d = s.level - g.level;
      a[j] = activation(starts[layer.sources[j]][(y >> d) * s.width + (x >> d)]);
    }
    for (int c = 0; c < features; ++c) {
      double acc = 0.0;
      for (size_t j = 0; j < n; ++j) acc += layer.weight[c * n + j] * a[j];
      out[x * features + c] = clamp_activation(rescale(acc + layer.bias[c]), false);
    }
  }
}

// Calls code(grid, start, y, x, features at (y, x) or null) for every position of every grid in order
// (start: the grid's first index in values), after the previous positions' values are in place (the
// decoder writes each before the next call).
template <class Code>
void each_latent(const ArmModel& model, const std::vector<ArmGrid>& grids, const int32_t* values, Code code) {
  model.check_grids(grids);
  std::vector<const int32_t*> starts;
  int64_t offset = 0;
  for (const ArmGrid& g : grids) {
    starts.push_back(values + offset);
    offset += g.height * g.width;
  }
  std::vector<double> row;
  for (size_t gi = 0; gi < grids.size(); ++gi) {
    const ArmGrid& g = grids[gi];
    const ArmFeatureLayer* layer = model.feature_layer(static_cast<int64_t>(gi));
    if (layer) row.resize(static_cast<size_t>(g.width) * model.features());
    for (int64_t y = 0; y < g.height; ++y) {
      if (layer) arm_feature_row(model, *layer, grids, starts, y, row.data());
      for (int64_t x = 0; x < g.width; ++x)
        code(g, starts[gi] - values, y, x, layer ? row.data() + x * model.features() : nullptr);
    }
  }
}

}  // namespace

void arm_symbols(const ArmModel& model, const std::vector<ArmGrid>& grids, const int32_t* values,
                 int32_t* symbols, int32_t* indexes) {
  std::vector<double> scratch(2 * kArmMaxWidth);
  each_latent(model, grids, values, [&](const ArmGrid& g, int64_t start, int64_t y, int64_t x, const double* f) {
    const int64_t k = start + y * g.width + x;
    int32_t base;
    model.table_of(values + start, g.width, y, x, f, scratch.data(), indexes + k, &base);
    symbols[k] = static_cast<int32_t>(static_cast<int64_t>(values[k]) - base);
  });
}

void arm_decode(const ArmModel& model, const std::vector<ArmGrid>& grids, RansDecoder* decoder,
                const CdfTables& tables, int32_t* values) {
  if (tables.size() != model.tables()) throw std::invalid_argument("ARM table map does not match the table bank");
  std::vector<double> scratch(2 * kArmMaxWidth);
  each_latent(model, grids, values, [&](const ArmGrid& g, int64_t start, int64_t y, int64_t x, const double* f) {
    int32_t table, base;
    model.table_of(values + start, g.width, y, x, f, scratch.data(), &table, &base);
    const int64_t v = static_cast<int64_t>(decoder->pull_one(table, tables)) + base;
    if (v < INT32_MIN || v > INT32_MAX) throw StreamError("decoded latent out of range (corrupt stream)");
    values[start + y * g.width + x] = static_cast<int32_t>(v);
  });
}

}  // namespace lic
