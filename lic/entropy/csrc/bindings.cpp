// Python bindings of the lic range coder (module lic.entropy._rans).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "arm.hpp"
#include "fit_filters.hpp"
#include "fit_mlp.hpp"
#include "fit_rate.hpp"
#include "overfit_synthesis.hpp"
#include "rans.hpp"

namespace py = pybind11;
using IntArray = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
using LongArray = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using FloatLayers = std::vector<std::pair<FloatArray, FloatArray>>;

namespace {

void check_same_length(const IntArray& a, const IntArray& b) {
  if (a.ndim() != 1 || b.ndim() != 1 || a.shape(0) != b.shape(0))
    throw std::invalid_argument("symbols and indexes must be 1-D arrays of the same length");
}

// Grids of the given sides and resolution levels (all level 0 when `levels` is empty).
std::vector<lic::ArmGrid> arm_grids(const std::vector<int64_t>& heights, const std::vector<int64_t>& widths,
                                    const std::vector<int32_t>& levels, int64_t* total) {
  if (heights.size() != widths.size() || (!levels.empty() && levels.size() != heights.size()))
    throw std::invalid_argument("one height, one width (and one level, if any) per grid");
  std::vector<lic::ArmGrid> grids;
  *total = 0;
  for (size_t i = 0; i < heights.size(); ++i) {
    if (heights[i] < 1 || widths[i] < 1 || heights[i] > (1 << 16) || widths[i] > (1 << 16))
      throw std::invalid_argument("grid sides must be in 1..65536");
    const int32_t level = levels.empty() ? 0 : levels[i];
    if (level < 0 || level > 16) throw std::invalid_argument("grid levels must be in 0..16");
    grids.push_back({heights[i], widths[i], level});
    *total += heights[i] * widths[i];
  }
  return grids;
}

lic::ConvLayer conv_layer(const DoubleArray& weight, const DoubleArray& bias) {
  if (weight.ndim() != 4 || bias.ndim() != 1 || bias.shape(0) != weight.shape(0) || weight.shape(2) != weight.shape(3))
    throw std::invalid_argument("convolution: weight [out, in, k, k] and bias [out]");
  const int64_t size = weight.shape(0) * weight.shape(1) * weight.shape(2) * weight.shape(3);
  return {static_cast<int>(weight.shape(0)), static_cast<int>(weight.shape(1)), static_cast<int>(weight.shape(2)),
          std::vector<double>(weight.data(), weight.data() + size),
          std::vector<double>(bias.data(), bias.data() + bias.shape(0))};
}


std::vector<lic::FloatLayer> float_layers(const FloatLayers& layers) {
  std::vector<lic::FloatLayer> out;
  for (const auto& [weight, bias] : layers) {
    if (weight.ndim() != 2 || bias.ndim() != 1 || bias.shape(0) != weight.shape(0))
      throw std::invalid_argument("MLP layer: weight [out, in] and bias [out]");
    out.push_back({static_cast<int>(weight.shape(0)), static_cast<int>(weight.shape(1)), weight.data(), bias.data()});
  }
  if (out.empty()) throw std::invalid_argument("an MLP needs at least one layer");
  return out;
}

lic::DenseRows dense_rows(const FloatArray& rows, bool planar) {
  if (rows.ndim() != 2) throw std::invalid_argument("rows must be [n, inputs] ([inputs, n] planar)");
  return {rows.data(), rows.shape(planar ? 1 : 0), static_cast<int>(rows.shape(planar ? 0 : 1)), planar};
}

// A [rows, units] array, or [units, rows] when planar.
py::array_t<float> row_array(int64_t rows, int64_t units, bool planar) {
  return planar ? py::array_t<float>({units, rows}) : py::array_t<float>({rows, units});
}

// The contexts of a padded grid's positions, with the extra inputs [count, height * width] if given.
lic::ContextRows context_rows(const FloatArray& padded, int64_t height, int64_t width, int64_t left, int64_t top,
                              const std::vector<std::pair<int, int>>& offsets,
                              const std::optional<FloatArray>& extra) {
  if (padded.ndim() != 2) throw std::invalid_argument("the padded grid must be 2-D");
  lic::ContextRows rows{padded.data(), padded.shape(0), padded.shape(1), height, width, left, top, offsets};
  if (extra) {
    if (extra->ndim() != 2 || extra->shape(1) != height * width || extra->shape(0) < 1)
      throw std::invalid_argument("extra inputs must be [count, height * width]");
    rows.extra = extra->data();
    rows.extra_inputs = static_cast<int>(extra->shape(0));
  }
  return rows;
}

// The source planes of nearest_features, checked against the layer's weight [features, sources] and bias.
std::vector<lic::NearestPlane> nearest_planes(const std::vector<FloatArray>& sources, const std::vector<int>& shifts,
                                              const FloatArray& weight, const std::optional<FloatArray>& bias) {
  if (sources.size() != shifts.size() || weight.ndim() != 2 ||
      weight.shape(1) != static_cast<int64_t>(sources.size()) || (bias && (bias->ndim() != 1 ||
                                                                          bias->shape(0) != weight.shape(0))))
    throw std::invalid_argument("nearest features: one shift per source, weight [features, sources], bias [features]");
  std::vector<lic::NearestPlane> planes;
  for (size_t j = 0; j < sources.size(); ++j) {
    if (sources[j].ndim() != 2) throw std::invalid_argument("nearest features: source planes are 2-D");
    planes.push_back({sources[j].data(), sources[j].shape(0), sources[j].shape(1), shifts[j]});
  }
  return planes;
}

void check_gradient(const FloatArray& grad, int64_t rows, int outputs, bool planar = false) {
  if (grad.ndim() != 2 || grad.shape(planar ? 1 : 0) != rows || grad.shape(planar ? 0 : 1) != outputs)
    throw std::invalid_argument("the output gradient must have the output's shape");
}

// Zeroed double gradients of each layer, and their data pointers.
py::list layer_gradients(const std::vector<lic::FloatLayer>& layers, std::vector<double*>* weights,
                         std::vector<double*>* biases) {
  py::list out;
  for (const lic::FloatLayer& layer : layers) {
    py::array_t<double> w({layer.outputs, layer.inputs}), b(layer.outputs);
    std::fill(w.mutable_data(), w.mutable_data() + w.size(), 0.0);
    std::fill(b.mutable_data(), b.mutable_data() + b.size(), 0.0);
    weights->push_back(w.mutable_data());
    biases->push_back(b.mutable_data());
    out.append(py::make_tuple(w, b));
  }
  return out;
}

void check_rate_shapes(const FloatArray& values, const FloatArray& params) {
  if (values.ndim() != 1 || params.ndim() != 2 || params.shape(1) != 2 || params.shape(0) != values.shape(0))
    throw std::invalid_argument("laplace_rate: values [n] and params [n, 2]");
}

void check_planes(const FloatArray& planes, const char* what) {
  if (planes.ndim() != 3 || planes.shape(0) < 1 || planes.shape(1) < 1 || planes.shape(2) < 1)
    throw std::invalid_argument(std::string(what) + ": planes must be [channels, height, width]");
}

void check_upsampling(const FloatArray& in, const FloatArray& kernel, int64_t out_h, int64_t out_w) {
  check_planes(in, "upsample");
  if (kernel.ndim() != 2 || kernel.shape(0) != 8 || kernel.shape(1) != 8)
    throw std::invalid_argument("upsample: the kernel must be [8, 8]");
  if (out_h < 1 || out_w < 1 || out_h > 2 * in.shape(1) || out_w > 2 * in.shape(2))
    throw std::invalid_argument("upsample: the output must be 1..2x the input's size");
}

void check_residual(const FloatArray& x, const FloatArray& weight) {
  check_planes(x, "residual3x3");
  const int64_t c = x.shape(0);
  if (weight.ndim() != 4 || weight.shape(0) != c || weight.shape(1) != c || weight.shape(2) != 3 ||
      weight.shape(3) != 3)
    throw std::invalid_argument("residual3x3: weight [channels, channels, 3, 3]");
}
}  // namespace

PYBIND11_MODULE(_rans, m) {
  m.doc() = "lic range coder: 64-bit rANS, 16-bit CDF precision, independent lanes";
  m.attr("PRECISION") = lic::kPrecision;
  m.attr("MAX_LANES") = lic::kMaxLanes;
  py::register_exception<lic::StreamError>(m, "StreamError", PyExc_ValueError);

  py::class_<lic::CdfTables>(m, "CdfTables")
      .def(py::init([](IntArray cdf, IntArray lengths, IntArray offsets) {
             if (cdf.ndim() != 2 || lengths.ndim() != 1 || offsets.ndim() != 1 ||
                 lengths.shape(0) != cdf.shape(0) || offsets.shape(0) != cdf.shape(0))
               throw std::invalid_argument("cdf must be [T, S]; lengths and offsets [T]");
             return new lic::CdfTables(cdf.data(), cdf.shape(0), cdf.shape(1), lengths.data(),
                                       offsets.data());
           }),
           py::arg("cdf"), py::arg("lengths"), py::arg("offsets"))
      .def("__len__", &lic::CdfTables::size);

  py::class_<lic::RansEncoder>(m, "RansEncoder")
      .def(py::init<int>(), py::arg("lanes"))
      .def_property_readonly("lanes", &lic::RansEncoder::lanes)
      .def(
          "push",
          [](lic::RansEncoder& self, IntArray symbols, IntArray indexes, const lic::CdfTables& t) {
            check_same_length(symbols, indexes);
            py::gil_scoped_release release;
            self.push(symbols.data(), indexes.data(), symbols.shape(0), t);
          },
          py::arg("symbols"), py::arg("indexes"), py::arg("tables"))
      .def("finish", [](lic::RansEncoder& self) {
        std::vector<std::string> lanes;
        {
          py::gil_scoped_release release;
          lanes = self.finish();
        }
        py::list out;
        for (const std::string& s : lanes) out.append(py::bytes(s));
        return out;
      });

  py::class_<lic::RansDecoder>(m, "RansDecoder")
      .def(py::init([](const std::vector<py::bytes>& lanes, int threads) {
             std::vector<std::string> streams;
             for (const py::bytes& b : lanes) streams.emplace_back(b);
             return new lic::RansDecoder(std::move(streams), threads);
           }),
           py::arg("lanes"), py::arg("threads") = 1)
      .def(
          "pull",
          [](lic::RansDecoder& self, IntArray indexes, const lic::CdfTables& t) {
            if (indexes.ndim() != 1) throw std::invalid_argument("indexes must be 1-D");
            IntArray out(indexes.shape(0));
            int32_t* dst = out.mutable_data();
            {
              py::gil_scoped_release release;
              self.pull(indexes.data(), indexes.shape(0), t, dst);
            }
            return out;
          },
          py::arg("indexes"), py::arg("tables"))
      .def(
          "pull_arm",
          [](lic::RansDecoder& self, const lic::ArmModel& model, const std::vector<int64_t>& heights,
             const std::vector<int64_t>& widths, const lic::CdfTables& t, const std::vector<int32_t>& levels) {
            int64_t total;
            const std::vector<lic::ArmGrid> grids = arm_grids(heights, widths, levels, &total);
            IntArray out(total);
            int32_t* dst = out.mutable_data();
            {
              py::gil_scoped_release release;
              lic::arm_decode(model, grids, &self, t, dst);
            }
            return out;
          },
          py::arg("model"), py::arg("heights"), py::arg("widths"), py::arg("tables"),
          py::arg("levels") = std::vector<int32_t>{})
      .def("exhausted", &lic::RansDecoder::exhausted);

  m.def(
      "overfit_synthesis",
      [](const std::vector<IntArray>& grids, const std::vector<DoubleArray>& kernels,
         const std::vector<std::pair<DoubleArray, DoubleArray>>& layers) {
        if (layers.size() != 4) throw std::invalid_argument("four synthesis layers: mix, to_rgb, refine0, refine1");
        std::vector<lic::LatentGrid> native;
        for (const IntArray& g : grids) {
          if (g.ndim() != 2) throw std::invalid_argument("latent grids are 2-D");
          native.push_back({g.shape(0), g.shape(1), g.data()});
        }
        std::vector<std::vector<double>> k;
        for (const DoubleArray& a : kernels) k.emplace_back(a.data(), a.data() + a.size());
        std::vector<lic::ConvLayer> conv;
        for (const auto& [weight, bias] : layers) conv.push_back(conv_layer(weight, bias));
        if (native.empty()) throw std::invalid_argument("no latent grids");
        py::array_t<uint8_t> out({native[0].height, native[0].width, int64_t{3}});
        uint8_t* dst = out.mutable_data();
        {
          py::gil_scoped_release release;
          lic::overfit_synthesis(native, k, conv[0], conv[1], conv[2], conv[3], dst);
        }
        return out;
      },
      py::arg("grids"), py::arg("kernels"), py::arg("layers"),
      "RGB pixels of an overfit image's integer latent grids (bitstream-spec.md section 6.4)");

  m.def(
      "mlp_forward",
      [](const FloatArray& rows, const FloatLayers& layers, bool planar) {
        const auto native = float_layers(layers);
        const lic::DenseRows r = dense_rows(rows, planar);
        py::array_t<float> out = row_array(r.rows, native.back().outputs, planar);
        float* dst = out.mutable_data();
        {
          py::gil_scoped_release release;
          lic::mlp_forward(r, native, dst);
        }
        return out;
      },
      py::arg("rows"), py::arg("layers"), py::arg("planar") = false,
      "[n, out] float32: rows [n, in] through (weight [out, in], bias [out]) layers, ReLU between them "
      "(planar: [in, n] -> [out, n])");
  m.def(
      "mlp_backward",
      [](const FloatArray& rows, const FloatLayers& layers, const FloatArray& grad_out, bool input_gradient,
         bool planar) {
        const auto native = float_layers(layers);
        const lic::DenseRows r = dense_rows(rows, planar);
        check_gradient(grad_out, r.rows, native.back().outputs, planar);
        std::vector<double*> gw, gb;
        py::list grads = layer_gradients(native, &gw, &gb);
        py::object grad_rows = py::none();
        float* gi = nullptr;
        if (input_gradient) {
          py::array_t<float> g = row_array(r.rows, r.inputs, planar);
          gi = g.mutable_data();
          grad_rows = g;
        }
        {
          py::gil_scoped_release release;
          lic::mlp_backward(r, native, grad_out.data(), gi, gw, gb);
        }
        return py::make_tuple(grad_rows, grads);
      },
      py::arg("rows"), py::arg("layers"), py::arg("grad_out"), py::arg("input_gradient"), py::arg("planar") = false,
      "(gradient of the rows or None, [(weight gradient, bias gradient)] as float64) of mlp_forward");
  m.def(
      "context_mlp_forward",
      [](const FloatArray& padded, int64_t height, int64_t width, int64_t left, int64_t top,
         const std::vector<std::pair<int, int>>& offsets, const FloatLayers& layers,
         const std::optional<FloatArray>& extra) {
        const auto native = float_layers(layers);
        const lic::ContextRows r = context_rows(padded, height, width, left, top, offsets, extra);
        py::array_t<float> out({height * width, static_cast<int64_t>(native.back().outputs)});
        float* dst = out.mutable_data();
        {
          py::gil_scoped_release release;
          lic::mlp_forward(r, native, dst);
        }
        return out;
      },
      py::arg("padded"), py::arg("height"), py::arg("width"), py::arg("left"), py::arg("top"), py::arg("offsets"),
      py::arg("layers"), py::arg("extra") = py::none(),
      "mlp_forward of each grid position's context, gathered from the zero-padded grid, then the extra inputs "
      "[count, height * width] if given");
  m.def(
      "context_mlp_backward",
      [](const FloatArray& padded, int64_t height, int64_t width, int64_t left, int64_t top,
         const std::vector<std::pair<int, int>>& offsets, const FloatLayers& layers, const FloatArray& grad_out,
         bool input_gradient, const std::optional<FloatArray>& extra, bool extra_gradient) {
        const auto native = float_layers(layers);
        const lic::ContextRows r = context_rows(padded, height, width, left, top, offsets, extra);
        check_gradient(grad_out, height * width, native.back().outputs);
        std::vector<double*> gw, gb;
        py::list grads = layer_gradients(native, &gw, &gb);
        py::object grad_padded = py::none();
        float* gi = nullptr;
        if (input_gradient) {
          py::array_t<float> g({padded.shape(0), padded.shape(1)});
          gi = g.mutable_data();
          std::fill(gi, gi + g.size(), 0.0f);
          grad_padded = g;
        }
        py::object grad_extra = py::none();
        float* ge = nullptr;
        if (extra && extra_gradient) {
          py::array_t<float> g({static_cast<int64_t>(r.extra_inputs), height * width});
          ge = g.mutable_data();
          grad_extra = g;
        }
        {
          py::gil_scoped_release release;
          lic::mlp_backward(r, native, grad_out.data(), gi, gw, gb, ge);
        }
        return py::make_tuple(grad_padded, grads, grad_extra);
      },
      py::arg("padded"), py::arg("height"), py::arg("width"), py::arg("left"), py::arg("top"), py::arg("offsets"),
      py::arg("layers"), py::arg("grad_out"), py::arg("input_gradient"), py::arg("extra") = py::none(),
      py::arg("extra_gradient") = false,
      "(gradient of the padded grid or None, [(weight gradient, bias gradient)], gradient of the extra inputs or "
      "None) of context_mlp_forward");

  m.def(
      "nearest_features_forward",
      [](const std::vector<FloatArray>& sources, const std::vector<int>& shifts, int64_t height, int64_t width,
         const FloatArray& weight, const FloatArray& bias) {
        const std::vector<lic::NearestPlane> planes = nearest_planes(sources, shifts, weight, bias);
        const int features = static_cast<int>(weight.shape(0));
        py::array_t<float> out({static_cast<int64_t>(features), height * width});
        float* dst = out.mutable_data();
        {
          py::gil_scoped_release release;
          lic::nearest_features_forward(planes, height, width, features, weight.data(), bias.data(), dst);
        }
        return out;
      },
      py::arg("sources"), py::arg("shifts"), py::arg("height"), py::arg("width"), py::arg("weight"), py::arg("bias"),
      "[features, height * width] float32: bias + weight [features, sources] times each source plane read at "
      "(y >> shift, x >> shift)");
  m.def(
      "nearest_features_backward",
      [](const std::vector<FloatArray>& sources, const std::vector<int>& shifts, int64_t height, int64_t width,
         const FloatArray& weight, const FloatArray& grad_out, bool source_gradients) {
        const std::vector<lic::NearestPlane> planes = nearest_planes(sources, shifts, weight, std::nullopt);
        const int features = static_cast<int>(weight.shape(0));
        check_gradient(grad_out, height * width, features, true);
        py::array_t<double> gw({weight.shape(0), weight.shape(1)}), gb(weight.shape(0));
        std::fill(gw.mutable_data(), gw.mutable_data() + gw.size(), 0.0);
        std::fill(gb.mutable_data(), gb.mutable_data() + gb.size(), 0.0);
        py::object grads = py::none();
        std::vector<float*> gs;
        if (source_gradients) {
          py::list planes_out;
          for (const lic::NearestPlane& p : planes) {
            py::array_t<float> g({p.h, p.w});
            gs.push_back(g.mutable_data());
            planes_out.append(g);
          }
          grads = planes_out;
        }
        {
          py::gil_scoped_release release;
          lic::nearest_features_backward(planes, height, width, features, weight.data(), grad_out.data(), gs,
                                         gw.mutable_data(), gb.mutable_data());
        }
        return py::make_tuple(grads, gw, gb);
      },
      py::arg("sources"), py::arg("shifts"), py::arg("height"), py::arg("width"), py::arg("weight"),
      py::arg("grad_out"), py::arg("source_gradients"),
      "(the sources' gradients or None, weight gradient, bias gradient as float64) of nearest_features_forward");
  m.def(
      "upsample_forward",
      [](const FloatArray& in, const FloatArray& kernel, int64_t out_h, int64_t out_w) {
        check_upsampling(in, kernel, out_h, out_w);
        py::array_t<float> out({in.shape(0), out_h, out_w});
        float* dst = out.mutable_data();
        {
          py::gil_scoped_release release;
          lic::upsample_forward(in.data(), in.shape(0), in.shape(1), in.shape(2), kernel.data(), out_h, out_w, dst);
        }
        return out;
      },
      py::arg("planes"), py::arg("kernel"), py::arg("out_h"), py::arg("out_w"),
      "each plane of [C, h, w] doubled by the 8x8 transposed convolution (edges replicated), cropped to out_h x out_w");
  m.def(
      "upsample_backward",
      [](const FloatArray& in, const FloatArray& kernel, int64_t out_h, int64_t out_w, const FloatArray& grad_out,
         bool input_gradient) {
        check_upsampling(in, kernel, out_h, out_w);
        if (grad_out.ndim() != 3 || grad_out.shape(0) != in.shape(0) || grad_out.shape(1) != out_h ||
            grad_out.shape(2) != out_w)
          throw std::invalid_argument("upsample: the output gradient must have the output's shape");
        py::array_t<double> grad_kernel({8, 8});
        std::fill(grad_kernel.mutable_data(), grad_kernel.mutable_data() + 64, 0.0);
        py::object grad_in = py::none();
        float* gi = nullptr;
        if (input_gradient) {
          py::array_t<float> g({in.shape(0), in.shape(1), in.shape(2)});
          gi = g.mutable_data();
          grad_in = g;
        }
        double* gk = grad_kernel.mutable_data();
        {
          py::gil_scoped_release release;
          lic::upsample_backward(in.data(), in.shape(0), in.shape(1), in.shape(2), kernel.data(), out_h, out_w,
                                 grad_out.data(), gi, gk);
        }
        return py::make_tuple(grad_in, grad_kernel);
      },
      py::arg("planes"), py::arg("kernel"), py::arg("out_h"), py::arg("out_w"), py::arg("grad_out"),
      py::arg("input_gradient"),
      "(gradient of the planes or None, kernel gradient [8, 8] float64) of upsample_forward");
  m.def(
      "residual3x3_forward",
      [](const FloatArray& x, const FloatArray& weight, const FloatArray& bias, bool relu_input) {
        check_residual(x, weight);
        if (bias.ndim() != 1 || bias.shape(0) != x.shape(0))
          throw std::invalid_argument("residual3x3: bias [channels]");
        py::array_t<float> out({x.shape(0), x.shape(1), x.shape(2)});
        float* dst = out.mutable_data();
        {
          py::gil_scoped_release release;
          lic::residual3x3_forward(x.data(), x.shape(0), x.shape(1), x.shape(2), weight.data(), bias.data(),
                                   relu_input, dst);
        }
        return out;
      },
      py::arg("planes"), py::arg("weight"), py::arg("bias"), py::arg("relu_input"),
      "planes + conv3x3(planes, or max(planes, 0), edges replicated) + bias");
  m.def(
      "residual3x3_backward",
      [](const FloatArray& x, const FloatArray& weight, bool relu_input, const FloatArray& grad_out) {
        check_residual(x, weight);
        if (grad_out.ndim() != 3 || grad_out.shape(0) != x.shape(0) || grad_out.shape(1) != x.shape(1) ||
            grad_out.shape(2) != x.shape(2))
          throw std::invalid_argument("residual3x3: the output gradient must have the output's shape");
        const int64_t c = x.shape(0);
        py::array_t<float> grad_x({c, x.shape(1), x.shape(2)});
        py::array_t<double> grad_weight({c, c, int64_t{3}, int64_t{3}}), grad_bias(c);
        std::fill(grad_weight.mutable_data(), grad_weight.mutable_data() + grad_weight.size(), 0.0);
        std::fill(grad_bias.mutable_data(), grad_bias.mutable_data() + c, 0.0);
        float* gx = grad_x.mutable_data();
        double* gw = grad_weight.mutable_data();
        double* gb = grad_bias.mutable_data();
        {
          py::gil_scoped_release release;
          lic::residual3x3_backward(x.data(), c, x.shape(1), x.shape(2), weight.data(), relu_input, grad_out.data(),
                                    gx, gw, gb);
        }
        return py::make_tuple(grad_x, grad_weight, grad_bias);
      },
      py::arg("planes"), py::arg("weight"), py::arg("relu_input"), py::arg("grad_out"),
      "(planes gradient, weight gradient float64, bias gradient float64) of residual3x3_forward");
  m.def(
      "laplace_rate",
      [](const FloatArray& values, const FloatArray& params, float low, float high) {
        check_rate_shapes(values, params);
        py::gil_scoped_release release;
        return lic::laplace_rate(values.data(), params.data(), values.shape(0), low, high);
      },
      py::arg("values"), py::arg("params"), py::arg("low"), py::arg("high"),
      "bits of values [n] under the discretised Laplace of params [n, 2] (mean, log scale clamped to low..high)");
  m.def(
      "laplace_rate_backward",
      [](const FloatArray& values, const FloatArray& params, float low, float high, float scale) {
        check_rate_shapes(values, params);
        py::array_t<float> grad_values(values.shape(0)), grad_params({params.shape(0), params.shape(1)});
        float* gv = grad_values.mutable_data();
        float* gp = grad_params.mutable_data();
        {
          py::gil_scoped_release release;
          lic::laplace_rate_backward(values.data(), params.data(), values.shape(0), low, high, scale, gv, gp);
        }
        return py::make_tuple(grad_values, grad_params);
      },
      py::arg("values"), py::arg("params"), py::arg("low"), py::arg("high"), py::arg("scale"),
      "(scale times) the gradient of laplace_rate: (values [n], params [n, 2])");
  py::class_<lic::ArmModel>(m, "ArmModel")
      .def(py::init([](const std::vector<std::tuple<LongArray, LongArray, bool>>& layers,
                       std::vector<int32_t> dy, std::vector<int32_t> dx, int64_t scale_base, int64_t scale_step,
                       int32_t scale_levels, int32_t mean_bits, int features,
                       const std::vector<std::tuple<int, std::vector<int>, LongArray, LongArray>>& feature_layers) {
             std::vector<lic::ArmLayer> native;
             for (const auto& [weight, bias, relu] : layers) {
               if (weight.ndim() != 2 || bias.ndim() != 1 || bias.shape(0) != weight.shape(0))
                 throw std::invalid_argument("ARM layer: weight [out, in] and bias [out]");
               const int64_t outputs = weight.shape(0), inputs = weight.shape(1);
               native.push_back({static_cast<int>(inputs), static_cast<int>(outputs), relu,
                                 std::vector<double>(weight.data(), weight.data() + inputs * outputs),
                                 std::vector<double>(bias.data(), bias.data() + outputs)});
             }
             std::vector<lic::ArmFeatureLayer> native_features;
             for (const auto& [grid, sources, weight, bias] : feature_layers) {
               if (weight.ndim() != 2 || bias.ndim() != 1 || bias.shape(0) != weight.shape(0) ||
                   weight.shape(1) != static_cast<int64_t>(sources.size()))
                 throw std::invalid_argument("ARM feature layer: weight [features, sources] and bias [features]");
               native_features.push_back({grid, sources, std::vector<double>(weight.data(), weight.data() + weight.size()),
                                          std::vector<double>(bias.data(), bias.data() + bias.size())});
             }
             return new lic::ArmModel(std::move(native), std::move(dy), std::move(dx),
                                      {scale_base, scale_step, scale_levels, mean_bits}, features,
                                      std::move(native_features));
           }),
           py::arg("layers"), py::arg("dy"), py::arg("dx"), py::arg("scale_base"), py::arg("scale_step"),
           py::arg("scale_levels"), py::arg("mean_bits"), py::arg("features") = 0,
           py::arg("feature_layers") = std::vector<std::tuple<int, std::vector<int>, LongArray, LongArray>>{})
      .def_property_readonly("tables", &lic::ArmModel::tables)
      .def(
          "symbols",
          [](const lic::ArmModel& self, const std::vector<int64_t>& heights, const std::vector<int64_t>& widths,
             IntArray values, const std::vector<int32_t>& levels) {
            int64_t total;
            const std::vector<lic::ArmGrid> grids = arm_grids(heights, widths, levels, &total);
            if (values.ndim() != 1 || values.shape(0) != total)
              throw std::invalid_argument("values must hold every latent of the grids");
            IntArray symbols(total), indexes(total);
            int32_t* s = symbols.mutable_data();
            int32_t* t = indexes.mutable_data();
            {
              py::gil_scoped_release release;
              lic::arm_symbols(self, grids, values.data(), s, t);
            }
            return py::make_tuple(symbols, indexes);
          },
          py::arg("heights"), py::arg("widths"), py::arg("values"), py::arg("levels") = std::vector<int32_t>{})
      .def(
          "outputs",
          [](const lic::ArmModel& self, int64_t height, int64_t width, IntArray values,
             const std::optional<DoubleArray>& features) {
            if (values.ndim() != 1 || values.shape(0) != height * width)
              throw std::invalid_argument("values must hold the grid");
            if (features && (features->ndim() != 2 || features->shape(0) != height * width ||
                             features->shape(1) != self.features()))
              throw std::invalid_argument("features must be [height * width, features]");
            LongArray out({height * width, int64_t{2}});
            int64_t* dst = out.mutable_data();
            std::vector<double> scratch(2 * lic::kArmMaxWidth);
            for (int64_t y = 0; y < height; ++y)
              for (int64_t x = 0; x < width; ++x, dst += 2)
                self.outputs(values.data(), width, y, x,
                             features ? features->data() + (y * width + x) * self.features() : nullptr,
                             scratch.data(), dst, dst + 1);
            return out;
          },
          py::arg("height"), py::arg("width"), py::arg("values"), py::arg("features") = py::none());
}
