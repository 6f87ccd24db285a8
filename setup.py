"""Builds the C++ range coder (lic.entropy._rans); everything else is in pyproject.toml."""
from glob import glob

from pybind11.setup_helpers import Pybind11Extension, build_ext
from setuptools import setup

range_coder = Pybind11Extension(
    "lic.entropy._rans",
    ["lic/entropy/csrc/rans.cpp", "lic/entropy/csrc/arm.cpp", "lic/entropy/csrc/overfit_synthesis.cpp",
     "lic/entropy/csrc/fit_filters.cpp", "lic/entropy/csrc/fit_mlp.cpp",
     "lic/entropy/csrc/fit_rate.cpp", "lic/entropy/csrc/bindings.cpp"],
    include_dirs=["lic/entropy/csrc"],
    depends=sorted(glob("lic/entropy/csrc/*.hpp")),  # a changed header rebuilds the module
    cxx_std=17,
    extra_compile_args=["-O3"],
)

setup(ext_modules=[range_coder], cmdclass={"build_ext": build_ext})
