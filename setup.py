"""Compiles the Cython core in ext/ into rsengine.core."""

from Cython.Build import cythonize
from setuptools import Extension, setup

CORE_MODULES = (
    "aggregate",
    "group",
    "measures",
    "regime",
    "ring",
    "slices",
    "true_range",
    "windows",
)

CPP_MODULES = {"slices"}  # uses libcpp's set and unordered_map

extensions = [
    Extension(
        f"rsengine.core._{name}",
        [f"ext/_{name}.pyx"],
        language="c++" if name in CPP_MODULES else "c",
    )
    for name in CORE_MODULES
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )
)
