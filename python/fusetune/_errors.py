"""The exceptions fusetune raises: one per status code of the C interface that a caller may want
to tell apart, each also an instance of the built-in exception it resembles."""

from __future__ import annotations


class FusetuneError(RuntimeError):
    """Something fusetune could not do; the message says what failed and what to do.

    `code` is the C interface's status name: "invalid_spec", "no_device", "cuda_error", ...
    """

    def __init__(self, message: str, code: str = "internal") -> None:
        super().__init__(message)
        self.code = code


class SpecError(FusetuneError, ValueError):
    """The spec text does not parse, or names an impossible problem."""


class InvalidArgument(FusetuneError, ValueError):
    """A tensor or option is wrong: its device, dtype, shape, layout or value."""


class NoDevice(FusetuneError):
    """The work needs a CUDA GPU and none is usable."""


class FusetuneWarning(UserWarning):
    """A warning from the library, e.g. that a spec was never tuned and runs a default kernel."""


_BY_CODE = {"invalid_spec": SpecError, "invalid_argument": InvalidArgument, "no_device": NoDevice}


def error_for(code: str, message: str) -> FusetuneError:
    """The exception for a failed call that returned status `code` (a name)."""
    return _BY_CODE.get(code, FusetuneError)(message, code)
