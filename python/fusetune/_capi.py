"""Loads libfusetune.so with ctypes and declares the C interface of include/fusetune/fusetune_c.h.

Nothing here is public: fusetune/__init__.py wraps it in Python objects. The library is found,
in order, at $FUSETUNE_LIBRARY (a deliberate choice, e.g. a build under test, wins), in this
package's _native folder (where `pip install` puts it, with the fusetune program and its
worker), in the source tree's build/lib (the package used from a checkout), and by the system's
loader (LD_LIBRARY_PATH, ldconfig).
"""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path

# The C interface this package is written against (FUSETUNE_C_ABI_VERSION).
ABI_VERSION = 4

MESSAGE_FN = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_void_p)
PROGRESS_FN = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)

# Flags of fusetune_library_open_with_flags.
OPEN_NO_COMPILE = 1

_lock = threading.Lock()
_library = None


class LibraryNotFound(OSError):
    """libfusetune.so is missing, or too old or too new for this package."""


# The native files a built package holds (setup.py puts them there).
PACKAGED = Path(__file__).resolve().parent / "_native"
# The build folder of the checkout this package sits in, when it is used from one.
CHECKOUT_BUILD = Path(__file__).resolve().parent.parent.parent / "build"


def _candidates() -> tuple[list[Path], bool]:
    env = os.environ.get("FUSETUNE_LIBRARY")
    if env:
        path = Path(env)
        return [path / "libfusetune.so" if path.is_dir() else path], True
    return [PACKAGED / "libfusetune.so", CHECKOUT_BUILD / "lib" / "libfusetune.so"], False


def _open():
    paths, from_env = _candidates()
    for path in paths:
        if path.is_file():
            return ctypes.CDLL(str(path))
    if from_env:
        raise LibraryNotFound(f"FUSETUNE_LIBRARY names {paths[0]}, which does not exist; set it "
                              "to libfusetune.so or its folder (scripts/build puts it in "
                              "build/lib)")
    try:
        return ctypes.CDLL("libfusetune.so")
    except OSError:
        looked = ", ".join(str(p) for p in paths)
        raise LibraryNotFound(
            f"cannot find libfusetune.so (looked at {looked} and on the loader's path); install "
            "the package (`pip install .` in the source tree), build it with scripts/build, or "
            "set FUSETUNE_LIBRARY to its path") from None


def _declare(lib):
    c = ctypes
    status = c.c_int
    signatures = {
        "fusetune_abi_version": (c.c_int, []),
        "fusetune_version": (c.c_char_p, []),
        "fusetune_status_name": (c.c_char_p, [status]),
        "fusetune_last_error": (c.c_char_p, []),
        "fusetune_free": (None, [c.c_void_p]),
        "fusetune_describe": (status, [c.c_char_p, c.POINTER(c.c_void_p)]),
        "fusetune_library_open": (
            status, [c.c_char_p, c.c_int, MESSAGE_FN, c.c_void_p, c.POINTER(c.c_void_p)]),
        "fusetune_library_open_with_flags": (
            status, [c.c_char_p, c.c_int, c.c_uint, MESSAGE_FN, c.c_void_p,
                     c.POINTER(c.c_void_p)]),
        "fusetune_library_close": (None, [c.c_void_p]),
        "fusetune_library_load": (
            status, [c.c_void_p, c.c_char_p, c.c_char_p, c.c_double, c.POINTER(c.c_void_p)]),
        "fusetune_library_load_backward": (
            status, [c.c_void_p, c.c_char_p, c.POINTER(c.c_void_p)]),
        "fusetune_library_tune": (
            status, [c.c_void_p, c.c_char_p, c.c_char_p, c.c_double, c.c_int, c.c_size_t,
                     PROGRESS_FN, c.c_void_p, c.POINTER(c.c_void_p)]),
        "fusetune_kernel_release": (None, [c.c_void_p]),
        "fusetune_kernel_spec": (c.c_char_p, [c.c_void_p]),
        "fusetune_kernel_config": (c.c_char_p, [c.c_void_p]),
        "fusetune_kernel_tuned": (c.c_int, [c.c_void_p]),
        "fusetune_kernel_time_ms": (c.c_double, [c.c_void_p]),
        "fusetune_kernel_prepare": (status, [c.c_void_p, c.c_void_p]),
        "fusetune_kernel_launch": (
            status, [c.c_void_p, c.c_void_p, c.POINTER(c.c_void_p), c.c_size_t, c.c_void_p,
                     c.POINTER(c.c_float), c.c_size_t]),
        "fusetune_kernel_launch_unchanged": (
            status, [c.c_void_p, c.c_void_p, c.POINTER(c.c_void_p), c.c_size_t, c.c_void_p,
                     c.POINTER(c.c_float), c.c_size_t, c.POINTER(c.c_size_t), c.c_size_t]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes


def library():
    """The loaded library, declared and checked; loaded on first use."""
    global _library
    with _lock:
        if _library is None:
            lib = _open()
            _declare(lib)
            found = lib.fusetune_abi_version()
            if found != ABI_VERSION:
                raise LibraryNotFound(
                    f"{lib._name} has C interface version {found}, this package needs "
                    f"{ABI_VERSION}: rebuild the library from the same checkout as the package")
            _library = lib
        return _library


def take_string(pointer):
    """The text of a string the library returned through char**, freed."""
    try:
        return ctypes.string_at(pointer.value).decode()
    finally:
        library().fusetune_free(pointer)
