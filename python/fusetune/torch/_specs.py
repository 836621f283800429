"""Spec text for PyTorch calls: the main op's shape read off the tensors, then the chain of ops
the caller wrote. Plain Python on ints, strings and tuples, so torch.compile traces through it;
cached, since a model asks for the same few specs on every call."""

import functools

# Written for m in a GEMM's spec whose rows torch.compile traces as a symbol (dynamic=True): the
# op fills in the rows of each call (at_rows), so that one graph serves every batch size and each
# size loads its kernel (a tuned bucket's, without compiling) when it runs.
ROWS = "@rows"


def at_rows(spec, rows):
    """`spec` with the rows of a call in place of ROWS; `spec` itself where it has none."""
    return spec.replace(f"m={ROWS}", f"m={int(rows)}", 1) if ROWS in spec else spec


_DTYPE_NAMES = {"torch.bfloat16": "bf16", "torch.float16": "fp16"}


def _dtype_argument(dtype):
    """", dtype=bf16" for 16-bit tensors, "" for fp32 ones (and for anything else: the op's
    checks then name the wrong dtype)."""
    name = _DTYPE_NAMES.get(str(dtype), "")
    return f", dtype={name}" if name else ""


def hashable(epilogue):
    """The epilogue as a cache key: a string stays, a list of op strings becomes a tuple."""
    return epilogue if isinstance(epilogue, str) else tuple(epilogue)


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
        raise ValueError(f"{name} must be an int or {dims} ints (fusetune takes explicit values, "
                         f"not 'same' or 'valid'), got {value!r}")
    if all(v == values[0] for v in values):
        return str(values[0])
    return "(" + ", ".join(str(v) for v in values) + ")"


@functools.lru_cache(maxsize=1024)
def linear(m, n, k, dtype, has_bias, epilogue):
    """`m`: an int, or ROWS for rows torch.compile traces as a symbol."""
    head = f"linear(m={m}, n={n}, k={k}{_dtype_argument(dtype)})"
    return head + (" -> bias" if has_bias else "") + chain(epilogue)


_DEFAULTS = {"stride": "1", "padding": "0", "dilation": "1", "output_padding": "0"}


@functools.lru_cache(maxsize=1024)
def convolution(op, x_shape, weight_shape, arguments, dtype, has_bias, epilogue):
    """`op`: "conv2d", ..., "conv_transpose3d"; `arguments`: (name, value) pairs of stride,
    padding, dilation, groups (and output_padding), as PyTorch takes them."""
    dims = len(x_shape) - 2
    values = dict(arguments)
    groups = values.pop("groups")
    transposed = op.startswith("conv_transpose")
    fields = [f"n={x_shape[0]}", f"c={x_shape[1]}"]
    fields += [f"{axis}={extent}" for axis, extent in zip("dhw"[3 - dims:], x_shape[2:])]
    fields.append(f"k={weight_shape[1] * groups if transposed else weight_shape[0]}")
    fields.append(f"kernel={per_dimension(tuple(weight_shape[2:]), dims, 'kernel')}")
    for name, value in values.items():
        text = per_dimension(value, dims, name)
        if text != _DEFAULTS[name]:
            fields.append(f"{name}={text}")
    if groups != 1:
        fields.append(f"groups={groups}")
    head = f"{op}({', '.join(fields)}{_dtype_argument(dtype)})"
    return head + (" -> bias" if has_bias else "") + chain(epilogue)
