// Autoregressive entropy model (ARM) of lic's overfitted image mode, in exact integers.
//
// Each latent of a grid is coded with a probability table chosen from its causal neighbours
// (already coded latents of the same grid), and optionally from features of grids coded before it
// (a linear layer of that grid over their latents at its position), by a small multilayer
// perceptron evaluated in the fixed point of bitstream-spec.md section 3.1 (activations a / 2^12,
// weights w / 2^14, biases b / 2^26, round half up, clamps). Section 6 of the spec gives the procedure; the encoder
// (arm_symbols) and the decoder (arm_decode) share `ArmModel::table_of`, so they compute the
// same integers on every machine.
#pragma once

#include <cstdint>
#include <vector>

#include "fixed_point.hpp"
#include "rans.hpp"

namespace lic {

constexpr int kArmMaxWidth = 256;

// Integers are held in doubles (fixed_point.hpp): the model checks that no sum can reach 2^53, so
// every product and partial sum is exact in any order, and the loops vectorise.
struct ArmLayer {
  int inputs;
  int outputs;
  bool relu;
  std::vector<double> weight;  // [outputs][inputs], integers w * 2^14
  std::vector<double> bias;    // [outputs], integers b * 2^26
  std::vector<double> weight_t;  // [inputs][outputs], filled by ArmModel
};

// Where a table index and the value offset come from (bitstream-spec.md section 6.3).
struct ArmTableMap {
  int64_t scale_base;    // a (2^-12 units) of the log-scale of table row 0
  int64_t scale_step;    // a between two rows
  int32_t scale_levels;  // rows
  int32_t mean_bits;     // 2^mean_bits mean phases per row
};

struct ArmGrid {
  int64_t height;
  int64_t width;
  int32_t level;  // resolution 1/2^level: a grid of a higher level holds the latent of (y >> d, x >> d)
};

// The coarse-grid features of one grid (bitstream-spec.md section 6.3): for each of its positions,
// features[c] = clamp(rescale(bias[c] + sum_j weight[c][j] * a_j), +-2^24), a_j the activation of
// source j's latent at (y >> d_j, x >> d_j), d_j the difference of their levels.
struct ArmFeatureLayer {
  int grid;                    // the grid (index in coding order) whose latents read the features
  std::vector<int> sources;    // grids (indices in coding order) coded before it
  std::vector<double> weight;  // [features][sources], integers w * 2^14
  std::vector<double> bias;    // [features], integers b * 2^26
};

class ArmModel {
 public:
  // The first layer takes the context's activations, then `features` coarse-grid features (zero for
  // a grid without a feature layer).
  ArmModel(std::vector<ArmLayer> layers, std::vector<int32_t> context_dy, std::vector<int32_t> context_dx,
           ArmTableMap map, int features = 0, std::vector<ArmFeatureLayer> feature_layers = {});
  // Table index and base (integer part of the predicted mean) of position (y, x) of `grid`
  // (row-major int32 values, those before (y, x) already known), with its coarse-grid features
  // (`features()` activations; null: zeros). `scratch` holds 2 * kArmMaxWidth.
  void table_of(const int32_t* grid, int64_t width, int64_t y, int64_t x, const double* features, double* scratch,
                int32_t* table, int32_t* base) const;
  // The raw outputs (mean, log-scale) in 2^-12 units at (y, x); for tests.
  void outputs(const int32_t* grid, int64_t width, int64_t y, int64_t x, const double* features, double* scratch,
               int64_t* mean, int64_t* log_scale) const;
  int64_t tables() const { return static_cast<int64_t>(map_.scale_levels) << map_.mean_bits; }
  int features() const { return features_; }
  // The feature layer of grid g of the coding order, or null.
  const ArmFeatureLayer* feature_layer(int64_t g) const;
  // Throws std::invalid_argument unless the feature layers fit these grids (sources coded before,
  // at a coarser or equal level, covering the grid's positions).
  void check_grids(const std::vector<ArmGrid>& grids) const;

 private:
  std::vector<ArmLayer> layers_;
  std::vector<int32_t> dy_, dx_;
  ArmTableMap map_;
  int features_;
  std::vector<ArmFeatureLayer> feature_layers_;
};

// Encoder: for every latent of `grids` (concatenated row-major values, grid after grid in coding
// order), the symbol to code (value - base) and its table.
void arm_symbols(const ArmModel& model, const std::vector<ArmGrid>& grids, const int32_t* values,
                 int32_t* symbols, int32_t* indexes);

// Decoder: decodes every latent of `grids` in order from a single-lane decoder.
void arm_decode(const ArmModel& model, const std::vector<ArmGrid>& grids, RansDecoder* decoder,
                const CdfTables& tables, int32_t* values);

}  // namespace lic
