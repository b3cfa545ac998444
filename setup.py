"""Build hook: metadata lives in pyproject.toml; this file only adds the cffi
extension (incrdump._incrdump), which setuptools cannot declare there."""
from setuptools import setup

setup(cffi_modules=["bindings/build_incrdump.py:ffibuilder"])
