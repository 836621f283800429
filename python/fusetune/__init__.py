"""fusetune from Python: fused CUDA kernels (a main op and the elementwise ops after it), tuned per
shape and GPU and kept in a SQLite database. This package loads libfusetune.so with ctypes; it
needs no build step of its own.

    import fusetune
    library = fusetune.Library()                    # the default tuning database, GPU 0
    library.tune("linear(m=1024, n=8192, k=8192) -> bias -> relu")
    kernel = library.load("linear(m=1024, n=8192, k=8192) -> bias -> relu")
    kernel.launch(stream, [x_ptr, w_ptr, b_ptr], y_ptr)

With PyTorch, `fusetune.torch` takes tensors instead (see its documentation).
"""

from fusetune._capi import LibraryNotFound
from fusetune._errors import FusetuneError, FusetuneWarning, InvalidArgument, NoDevice, SpecError
from fusetune._library import (Description, Kernel, Library, TensorInfo, describe, set_database,
                               shared_library, version)

__all__ = ["Description", "FusetuneError", "FusetuneWarning", "InvalidArgument", "Kernel",
           "Library", "LibraryNotFound", "NoDevice", "SpecError", "TensorInfo", "describe",
           "set_database", "shared_library", "version"]
