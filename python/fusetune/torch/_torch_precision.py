"""What PyTorch itself would compute an fp32 op at: TF32 or IEEE fp32.

A drop-in should compute what the model computed. PyTorch runs fp32 convolutions on TF32 tensor
cores by default (cuDNN's TF32 is allowed) and fp32 matmuls in IEEE fp32 (cuBLAS's TF32 is not)
unless the program says otherwise, through one of two generations of switches:

- since PyTorch 2.9, `fp32_precision` attributes ("tf32", "ieee", or "none": ask the parent):
  torch.backends.cudnn.conv -> torch.backends.cudnn -> torch.backends for convolutions,
  torch.backends.cuda.matmul -> torch.backends.cuda -> torch.backends for matmuls;
- before, torch.backends.cudnn.allow_tf32 for convolutions, and for matmuls
  torch.backends.cuda.matmul.allow_tf32 or torch.set_float32_matmul_precision("high"/"medium"),
  both read through torch.get_float32_matmul_precision().

The newer attributes are read first: PyTorch keeps them in step with the older switches, while
reading an older switch after a newer one was set can raise (PyTorch refuses a mix of the two).
"""

CONVOLUTION = "convolution"
MATMUL = "matmul"


def _read(obj, name):
    """obj.name, or None where it has none: PyTorch's switch modules raise AssertionError, not
    AttributeError, for a name they do not know."""
    try:
        return getattr(obj, name)
    except Exception:  # noqa: BLE001 - any failure means the attribute is not there
        return None


def _chain_setting(objects):
    """The first of `objects`' fp32_precision values that is not "none", and where it was read;
    (None, None) where PyTorch has no such attributes."""
    for where, obj in objects:
        value = _read(obj, "fp32_precision") if obj is not None else None
        if isinstance(value, str) and value != "none":
            return value, f"{where}.fp32_precision is {value!r}"
    return None, None


def _newer_setting(torch, kind):
    backends = torch.backends
    if kind == CONVOLUTION:
        cudnn = _read(backends, "cudnn")
        chain = [("torch.backends.cudnn.conv", _read(cudnn, "conv")),
                 ("torch.backends.cudnn", cudnn), ("torch.backends", backends)]
    else:
        cuda = _read(backends, "cuda")
        chain = [("torch.backends.cuda.matmul", _read(cuda, "matmul")),
                 ("torch.backends.cuda", cuda), ("torch.backends", backends)]
    return _chain_setting(chain)


def _older_setting(torch, kind):
    if kind == CONVOLUTION:
        allowed = bool(torch.backends.cudnn.allow_tf32)
        return allowed, f"torch.backends.cudnn.allow_tf32 is {allowed}"
    level = torch.get_float32_matmul_precision()
    return level != "highest", f"torch.get_float32_matmul_precision() is {level!r}"


def allows_tf32(torch, kind):
    """Whether PyTorch, as the program has set it now, would run an fp32 `kind` (CONVOLUTION or
    MATMUL) on TF32 tensor cores, and the setting that says so (for reports)."""
    value, where = _newer_setting(torch, kind)
    if value is not None:
        return value == "tf32", where
    return _older_setting(torch, kind)


def kind_of(spec):
    """CONVOLUTION or MATMUL: which of PyTorch's switches governs the main op of `spec`."""
    return CONVOLUTION if spec.lstrip().startswith("conv") else MATMUL


class convolutions_at(object):
    """A context in which PyTorch's fp32 convolutions run at TF32 (`tf32` true) or IEEE fp32,
    through whichever generation of switches this PyTorch has; restored on exit."""

    def __init__(self, torch, tf32):
        self.torch, self.tf32 = torch, tf32

    def __enter__(self):
        cudnn = self.torch.backends.cudnn
        conv = _read(cudnn, "conv")
        if conv is not None and isinstance(_read(conv, "fp32_precision"), str):
            self.restore = (conv, "fp32_precision", conv.fp32_precision)
            conv.fp32_precision = "tf32" if self.tf32 else "ieee"
        else:
            self.restore = (cudnn, "allow_tf32", cudnn.allow_tf32)
            cudnn.allow_tf32 = self.tf32
        return self

    def __exit__(self, *exc):
        obj, name, value = self.restore
        setattr(obj, name, value)
        return False
