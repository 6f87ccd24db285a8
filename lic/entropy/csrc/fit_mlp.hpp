// Float kernels of the overfit mode's fitting (the encoder's training loop, never the decoder):
// a small MLP applied to hundreds of thousands of rows, forward and backward, with every
// activation kept in registers and the L1 cache instead of in tensors in main memory.
//
// The rows are either a dense [n, in] matrix or, for the entropy model, the causal contexts of
// each position of a latent grid gathered from the zero-padded grid on the fly. ReLU follows
// every layer but the last. The backward pass recomputes the activations (nothing is stored
// between the passes) and adds into double-precision gradient sums.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace lic {

struct FloatLayer {
  int outputs;
  int inputs;
  const float* weight;  // [outputs][inputs]
  const float* bias;    // [outputs]
};

// Rows of a dense matrix: [rows][inputs], or [inputs][rows] when planar (an NCHW image's channels:
// then the output and the gradients are planar too).
struct DenseRows {
  const float* values;
  int64_t rows;
  int inputs;
  bool planar;
};

// Row p = y * width + x holds padded[(top + y + dy) * padded_width + left + x + dx] for each
// (dy, dx) of offsets, in order, then extra[i * height * width + p] for each i < extra_inputs (inputs
// that are not taps of the grid, such as features of coarser grids; none when extra is null).
struct ContextRows {
  const float* padded;
  int64_t padded_height;
  int64_t padded_width;
  int64_t height;
  int64_t width;
  int64_t left;
  int64_t top;
  std::vector<std::pair<int, int>> offsets;
  const float* extra = nullptr;
  int extra_inputs = 0;
};

// out [rows][last outputs] ([last outputs][rows] for planar rows).
void mlp_forward(const DenseRows& rows, const std::vector<FloatLayer>& layers, float* out);
void mlp_forward(const ContextRows& rows, const std::vector<FloatLayer>& layers, float* out);

// Adds each layer's weight and bias gradients into grad_weights[l] / grad_biases[l] (doubles, same
// shapes as the layer's) and, where grad_input is not null, writes the rows' gradient there
// (in the rows' layout for dense rows; for context rows it is added into a [padded rows][padded_width]
// plane, one term per tap; the extra inputs' gradient is written to grad_extra, laid out as extra,
// where that is not null). grad_out is in the output's layout.
void mlp_backward(const DenseRows& rows, const std::vector<FloatLayer>& layers, const float* grad_out,
                  float* grad_input, const std::vector<double*>& grad_weights,
                  const std::vector<double*>& grad_biases);
void mlp_backward(const ContextRows& rows, const std::vector<FloatLayer>& layers, const float* grad_out,
                  float* grad_input, const std::vector<double*>& grad_weights,
                  const std::vector<double*>& grad_biases, float* grad_extra = nullptr);

}  // namespace lic
