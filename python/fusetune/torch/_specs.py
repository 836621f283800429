"""Spec text for PyTorch calls: the main op's shape read off the tensors, then the chain of ops
the caller wrote. Only plain Python on ints and strings, so torch.compile traces through it."""

_DTYPE_NAMES = {"torch.float32": "", "torch.bfloat16": "bf16", "torch.float16": "fp16"}


def dtype_argument(tensor):
    """", dtype=bf16" for 16-bit tensors, "" for fp32 ones (and for anything else: the op's
    checks then name the wrong dtype)."""
    name = _DTYPE_NAMES.get(str(tensor.dtype), "")
    return f", dtype={name}" if name else ""


def chain(epilogue):
    """The ops after the main op as spec text: " -> op -> op", from a string ("mul(2.0) ->
    relu", a leading "->" allowed) or a sequence of op strings."""
    if isinstance(epilogue, str):
        text = epilogue.strip()
        if text.startswith("->"):
            text = text[2:].strip()
        return f" -> {text}" if text else ""
    return "".join(f" -> {op.strip()}" for op in epilogue)


def per_dimension(value, dims, name):
    """A convolution argument as spec text: one number when all dimensions agree, else a tuple
    of `dims` numbers. `value` is an int or a sequence of `dims` ints, as PyTorch takes them."""
    values = (value,) * dims if isinstance(value, int) else tuple(value)
    if len(values) != dims or not all(isinstance(v, int) for v in values):
        raise ValueError(f"{name} must be an int or {dims} ints, got {value!r}")
    if all(v == values[0] for v in values):
        return str(values[0])
    return "(" + ", ".join(str(v) for v in values) + ")"


def linear(m, n, k, dtype, has_bias, epilogue):
    head = f"linear(m={m}, n={n}, k={k}{dtype})"
    return head + (" -> bias" if has_bias else "") + chain(epilogue)


def convolution(op, x_shape, out_channels, kernel, arguments, dtype, has_bias, epilogue):
    """`op`: "conv2d", ..., "conv_transpose3d"; `arguments`: (name, spec text) pairs for stride,
    padding, ..., each already per_dimension()'s text."""
    sizes = dict(zip("dhw"[3 - (len(x_shape) - 2):], x_shape[2:]))
    fields = [f"n={x_shape[0]}", f"c={x_shape[1]}"]
    fields += [f"{axis}={extent}" for axis, extent in sizes.items()]
    fields += [f"k={out_channels}", f"kernel={kernel}"]
    fields += [f"{name}={text}" for name, text in arguments]
    head = f"{op}({', '.join(fields)}{dtype})"
    return head + (" -> bias" if has_bias else "") + chain(epilogue)
