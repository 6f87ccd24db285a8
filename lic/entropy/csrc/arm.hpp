// Autoregressive entropy model (ARM) of lic's overfitted image mode, in exact integers.
//
// Each latent of a grid is coded with a probability table chosen from its causal neighbours
// (already coded latents of the same grid) by a small multilayer perceptron evaluated in the
// fixed point of bitstream-spec.md section 3.1 (activations a / 2^12, weights w / 2^14, biases
// b / 2^26, round half up, clamps). Section 6 of the spec gives the procedure; the encoder
// (arm_symbols) and the decoder (arm_decode) share `ArmModel::table_of`, so they compute the
// same integers on every machine.
#pragma once

#include <cstdint>
#include <vector>

#include "rans.hpp"

namespace lic {

constexpr int kArmActivationBits = 12;
constexpr int kArmWeightBits = 14;
constexpr int64_t kArmActivationLimit = int64_t{1} << 24;
constexpr int kArmMaxWidth = 256;

// Integers are held in doubles: the model checks that no sum can reach 2^53 (spec section 3.1),
// so every product and partial sum is exact in any order, and the loops vectorise.
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
};

class ArmModel {
 public:
  ArmModel(std::vector<ArmLayer> layers, std::vector<int32_t> context_dy, std::vector<int32_t> context_dx,
           ArmTableMap map);
  // Table index and base (integer part of the predicted mean) of position (y, x) of `grid`
  // (row-major int32 values, those before (y, x) already known). `scratch` holds 2 * kArmMaxWidth.
  void table_of(const int32_t* grid, int64_t height, int64_t width, int64_t y, int64_t x, double* scratch,
                int32_t* table, int32_t* base) const;
  // The raw outputs (mean, log-scale) in 2^-12 units at (y, x); for tests.
  void outputs(const int32_t* grid, int64_t height, int64_t width, int64_t y, int64_t x, double* scratch,
               int64_t* mean, int64_t* log_scale) const;
  int64_t tables() const { return static_cast<int64_t>(map_.scale_levels) << map_.mean_bits; }

 private:
  std::vector<ArmLayer> layers_;
  std::vector<int32_t> dy_, dx_;
  ArmTableMap map_;
};

// Encoder: for every latent of `grids` (concatenated row-major values, grid after grid), the
// symbol to code (value - base) and its table.
void arm_symbols(const ArmModel& model, const std::vector<ArmGrid>& grids, const int32_t* values,
                 int32_t* symbols, int32_t* indexes);

// Decoder: decodes every latent of `grids` in order from a single-lane decoder.
void arm_decode(const ArmModel& model, const std::vector<ArmGrid>& grids, RansDecoder* decoder,
                const CdfTables& tables, int32_t* values);

}  // namespace lic
