"""Build the compiled core: every ``_core/*.pyx`` becomes ``dmmemu._core.<name>``.

DMMEMU_CHECKED=1 builds with bounds, wraparound and initialisation checks on (CI runs the
engine agreement tests against such a build); DMMEMU_TRACE=1 adds line tracing for coverage.
"""
import os
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

TRACE = os.environ.get("DMMEMU_TRACE") == "1"
CHECKED = TRACE or os.environ.get("DMMEMU_CHECKED") == "1"

directives = {
    "language_level": 3,
    "boundscheck": CHECKED,
    "wraparound": CHECKED,
    "initializedcheck": CHECKED,
    "cdivision": True,
    "linetrace": TRACE,
}
macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
          ("DMMEMU_CHECKED_BUILD", "1" if CHECKED else "0")]
if TRACE:
    macros.append(("CYTHON_TRACE_NOGIL", "1"))

extensions = [
    Extension(
        f"dmmemu._core.{pyx.stem}",
        [str(pyx)],
        include_dirs=[numpy.get_include(), "_core"],
        define_macros=macros,
        extra_compile_args=["-O1", "-g"] if CHECKED else ["-O3"],
    )
    for pyx in sorted(Path("_core").glob("*.pyx"))
]

setup(
    # The bundled sample traces ship inside the package as dmmemu/traces/.
    packages=find_packages(include=["dmmemu", "dmmemu.*"]) + ["dmmemu.traces"],
    package_dir={"dmmemu.traces": "traces"},
    package_data={
        "dmmemu": ["py.typed", "_core/*.pyi"],
        "dmmemu.traces": ["*/*.parquet", "*/*.toml", "*/*.md"],
    },
    ext_modules=cythonize(
        extensions, compiler_directives=directives, include_path=["_core"]
    )
)
