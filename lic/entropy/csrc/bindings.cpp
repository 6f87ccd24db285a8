// Python bindings of the lic range coder (module lic.entropy._rans).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "arm.hpp"
#include "overfit_synthesis.hpp"
#include "rans.hpp"

namespace py = pybind11;
using IntArray = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
using LongArray = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

namespace {

void check_same_length(const IntArray& a, const IntArray& b) {
  if (a.ndim() != 1 || b.ndim() != 1 || a.shape(0) != b.shape(0))
    throw std::invalid_argument("symbols and indexes must be 1-D arrays of the same length");
}

std::vector<lic::ArmGrid> arm_grids(const std::vector<int64_t>& heights, const std::vector<int64_t>& widths,
                                    int64_t* total) {
  if (heights.size() != widths.size()) throw std::invalid_argument("one height and one width per grid");
  std::vector<lic::ArmGrid> grids;
  *total = 0;
  for (size_t i = 0; i < heights.size(); ++i) {
    if (heights[i] < 1 || widths[i] < 1 || heights[i] > (1 << 16) || widths[i] > (1 << 16))
      throw std::invalid_argument("grid sides must be in 1..65536");
    grids.push_back({heights[i], widths[i]});
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
             const std::vector<int64_t>& widths, const lic::CdfTables& t) {
            int64_t total;
            const std::vector<lic::ArmGrid> grids = arm_grids(heights, widths, &total);
            IntArray out(total);
            int32_t* dst = out.mutable_data();
            {
              py::gil_scoped_release release;
              lic::arm_decode(model, grids, &self, t, dst);
            }
            return out;
          },
          py::arg("model"), py::arg("heights"), py::arg("widths"), py::arg("tables"))
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

  py::class_<lic::ArmModel>(m, "ArmModel")
      .def(py::init([](const std::vector<std::tuple<LongArray, LongArray, bool>>& layers,
                       std::vector<int32_t> dy, std::vector<int32_t> dx, int64_t scale_base, int64_t scale_step,
                       int32_t scale_levels, int32_t mean_bits) {
             std::vector<lic::ArmLayer> native;
             for (const auto& [weight, bias, relu] : layers) {
               if (weight.ndim() != 2 || bias.ndim() != 1 || bias.shape(0) != weight.shape(0))
                 throw std::invalid_argument("ARM layer: weight [out, in] and bias [out]");
               const int64_t outputs = weight.shape(0), inputs = weight.shape(1);
               native.push_back({static_cast<int>(inputs), static_cast<int>(outputs), relu,
                                 std::vector<double>(weight.data(), weight.data() + inputs * outputs),
                                 std::vector<double>(bias.data(), bias.data() + outputs)});
             }
             return new lic::ArmModel(std::move(native), std::move(dy), std::move(dx),
                                      {scale_base, scale_step, scale_levels, mean_bits});
           }),
           py::arg("layers"), py::arg("dy"), py::arg("dx"), py::arg("scale_base"), py::arg("scale_step"),
           py::arg("scale_levels"), py::arg("mean_bits"))
      .def_property_readonly("tables", &lic::ArmModel::tables)
      .def(
          "symbols",
          [](const lic::ArmModel& self, const std::vector<int64_t>& heights, const std::vector<int64_t>& widths,
             IntArray values) {
            int64_t total;
            const std::vector<lic::ArmGrid> grids = arm_grids(heights, widths, &total);
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
          py::arg("heights"), py::arg("widths"), py::arg("values"))
      .def(
          "outputs",
          [](const lic::ArmModel& self, int64_t height, int64_t width, IntArray values) {
            if (values.ndim() != 1 || values.shape(0) != height * width)
              throw std::invalid_argument("values must hold the grid");
            LongArray out({height * width, int64_t{2}});
            int64_t* dst = out.mutable_data();
            std::vector<double> scratch(2 * lic::kArmMaxWidth);
            for (int64_t y = 0; y < height; ++y)
              for (int64_t x = 0; x < width; ++x, dst += 2)
                self.outputs(values.data(), height, width, y, x, scratch.data(), dst, dst + 1);
            return out;
          },
          py::arg("height"), py::arg("width"), py::arg("values"));
}
