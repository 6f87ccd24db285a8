// Python bindings of the lic range coder (module lic.entropy._rans).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "rans.hpp"

namespace py = pybind11;
using IntArray = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;

namespace {

void check_same_length(const IntArray& a, const IntArray& b) {
  if (a.ndim() != 1 || b.ndim() != 1 || a.shape(0) != b.shape(0))
    throw std::invalid_argument("symbols and indexes must be 1-D arrays of the same length");
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
      .def("exhausted", &lic::RansDecoder::exhausted);
}
