"""cffi build script for incrdump's C core (out-of-line API mode).

Builds the extension module ``incrdump._incrdump`` from every ``csrc/*.c``.
The declarations given to cffi are the part of ``csrc/incrdump.h`` between
the lines holding ``/* CDEF-BEGIN */`` and ``/* CDEF-END */``: the public
header is the single source of truth, so Python can never call anything the
header does not declare.

Used by setup.py (``cffi_modules``); ``python bindings/build_incrdump.py``
builds the module in place under ``incrdump/`` (intermediate files in
``build/cffi/``) for quick experiments.
"""
import glob
import os

from cffi import FFI

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSRC = os.path.join(ROOT, "csrc")
HEADER = os.path.join(CSRC, "incrdump.h")
BEGIN, END = "/* CDEF-BEGIN */", "/* CDEF-END */"


def read_cdef(path=HEADER):
    """Return the declarations between the CDEF markers of ``path``."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    begin = [i for i, line in enumerate(lines) if BEGIN in line]
    end = [i for i, line in enumerate(lines) if END in line]
    if len(begin) != 1 or len(end) != 1 or begin[0] >= end[0]:
        raise RuntimeError(
            f"{path}: expected exactly one {BEGIN} line followed by one {END} line"
        )
    return "\n".join(lines[begin[0] + 1 : end[0]]) + "\n"


def make_builder(relative):
    """An FFI builder for incrdump._incrdump; file paths relative to the
    project root when ``relative`` (the working directory must then be the
    root, as it is under pip), else absolute."""

    def path(p):
        return os.path.relpath(p, ROOT) if relative else p

    ffi = FFI()
    ffi.cdef(read_cdef())
    ffi.set_source(
        "incrdump._incrdump",
        '#include "incrdump.h"\n',
        sources=[path(p) for p in sorted(glob.glob(os.path.join(CSRC, "*.c")))],
        include_dirs=[path(CSRC)],
        depends=[path(p) for p in sorted(glob.glob(os.path.join(CSRC, "*.h")))],
        libraries=["zstd", "lzma", "z"],
        # -D_GNU_SOURCE= (empty) matches a source file's own `#define _GNU_SOURCE`.
        extra_compile_args=["-std=c11", "-D_GNU_SOURCE=", "-O2"],
    )
    return ffi


def _cwd_is_root():
    try:
        return os.path.samefile(os.getcwd(), ROOT)
    except OSError:
        return False


# Relative paths under pip keep object files in build/temp.*/csrc/.
ffibuilder = make_builder(relative=_cwd_is_root())

if __name__ == "__main__":
    # Build in place, under the name a pip build gives it (cffi's C code
    # uses the limited API), so the two never leave different copies behind.
    make_builder(relative=False).compile(
        tmpdir=os.path.join(ROOT, "build", "cffi"),
        target=os.path.join(ROOT, "incrdump", "_incrdump.abi3.so"),
        verbose=True,
    )
