"""The default precision follows PyTorch's own switches: a call loads "auto" within TF32's error
where PyTorch would run its main op on TF32, and at fp32 level elsewhere. No GPU needed: calls
are recorded (ft._recording), not launched, on meta tensors."""

import contextlib
import types
import unittest

import torch

import fusetune.torch as ft
from fusetune.torch import _torch_precision as tp


def meta(*shape):
    return torch.empty(shape, device="meta")


def fake_torch(conv=None, cudnn=None, matmul=None, cuda=None, backends=None, allow_tf32=True,
               matmul_level="highest"):
    """A torch whose switches are given: fp32_precision values (None: no such attribute, as
    before PyTorch 2.9) and the older switches."""
    def node(value, **children):
        space = types.SimpleNamespace(**children)
        if value is not None:
            space.fp32_precision = value
        return space

    cudnn_node = node(cudnn, conv=node(conv), allow_tf32=allow_tf32)
    cuda_node = node(cuda, matmul=node(matmul))
    return types.SimpleNamespace(backends=node(backends, cudnn=cudnn_node, cuda=cuda_node),
                                 get_float32_matmul_precision=lambda: matmul_level)


class Switches(unittest.TestCase):
    def test_the_newer_switch_of_the_op_decides(self):
        self.assertEqual(tp.allows_tf32(fake_torch(conv="tf32"), tp.CONVOLUTION),
                         (True, "torch.backends.cudnn.conv.fp32_precision is 'tf32'"))
        self.assertFalse(tp.allows_tf32(fake_torch(conv="ieee", allow_tf32=True),
                                        tp.CONVOLUTION)[0])
        self.assertTrue(tp.allows_tf32(fake_torch(matmul="tf32"), tp.MATMUL)[0])

    def test_none_asks_the_parent_then_the_root(self):
        self.assertEqual(tp.allows_tf32(fake_torch(conv="none", cudnn="ieee"), tp.CONVOLUTION),
                         (False, "torch.backends.cudnn.fp32_precision is 'ieee'"))
        self.assertEqual(
            tp.allows_tf32(fake_torch(matmul="none", cuda="none", backends="tf32"), tp.MATMUL),
            (True, "torch.backends.fp32_precision is 'tf32'"))

    def test_without_newer_switches_the_older_ones_decide(self):
        self.assertTrue(tp.allows_tf32(fake_torch(), tp.CONVOLUTION)[0])
        self.assertFalse(tp.allows_tf32(fake_torch(allow_tf32=False), tp.CONVOLUTION)[0])
        self.assertEqual(tp.allows_tf32(fake_torch(), tp.MATMUL),
                         (False, "torch.get_float32_matmul_precision() is 'highest'"))
        self.assertTrue(tp.allows_tf32(fake_torch(matmul_level="high"), tp.MATMUL)[0])
        # Every newer switch at "none" is as if there were none.
        self.assertFalse(tp.allows_tf32(fake_torch(matmul="none", cuda="none", backends="none"),
                                        tp.MATMUL)[0])

    def test_the_main_op_names_the_switch(self):
        self.assertEqual(tp.kind_of("conv_transpose3d(n=1, c=2, d=3, h=3, w=3, k=2, kernel=1)"),
                         tp.CONVOLUTION)
        self.assertEqual(tp.kind_of("linear(m=4, n=8, k=16)"), tp.MATMUL)
        self.assertEqual(tp.kind_of("matmul(m=4, n=8, k=16)"), tp.MATMUL)


@contextlib.contextmanager
def pytorch_tf32(convolutions, matmuls):
    """PyTorch's switches set as asked, through the older flags (which every PyTorch has and
    newer ones keep in step with their fp32_precision), restored afterwards."""
    saved = (torch.backends.cudnn.allow_tf32, torch.get_float32_matmul_precision())
    torch.backends.cudnn.allow_tf32 = convolutions
    torch.set_float32_matmul_precision("high" if matmuls else "highest")
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = saved[0]
        torch.set_float32_matmul_precision(saved[1])


def asked(call):
    """(precision, tolerance) the one call of `call` loads with."""
    with ft._recording() as calls:
        call()
    ((_, _, precision, tolerance),) = calls
    return precision, tolerance


def a_linear(**options):
    return lambda: ft.linear(meta(4, 16), meta(8, 16), meta(8), epilogue="relu", **options)


def a_conv(**options):
    return lambda: ft.conv2d(meta(2, 4, 9, 10), meta(6, 4, 3, 3), epilogue="relu", **options)


class DefaultPrecision(unittest.TestCase):
    def setUp(self):
        ft.set_precision()  # the default, "torch"
        self.addCleanup(ft.set_precision)

    def test_pytorch_s_defaults_give_tf32_to_convolutions_only(self):
        with pytorch_tf32(convolutions=True, matmuls=False):
            self.assertEqual(asked(a_conv()), ("auto", ft.TF32_TOLERANCE))
            self.assertEqual(asked(a_linear()), ("auto", 0.0))

    def test_switches_turned_the_other_way_turn_the_calls(self):
        with pytorch_tf32(convolutions=False, matmuls=True):
            self.assertEqual(asked(a_conv()), ("auto", 0.0))
            self.assertEqual(asked(a_linear()), ("auto", ft.TF32_TOLERANCE))

    def test_the_switches_are_read_when_the_call_runs(self):
        with pytorch_tf32(convolutions=False, matmuls=False):
            self.assertEqual(asked(a_linear()), ("auto", 0.0))
        with pytorch_tf32(convolutions=False, matmuls=True):
            self.assertEqual(asked(a_linear()), ("auto", ft.TF32_TOLERANCE))

    def test_an_explicit_precision_or_tolerance_overrides_them(self):
        with pytorch_tf32(convolutions=True, matmuls=True):
            self.assertEqual(asked(a_conv(precision="3xtf32")), ("3xtf32", 0.0))
            self.assertEqual(asked(a_conv(tolerance=2e-5)), ("auto", 2e-5))
            ft.set_precision("auto")
            self.assertEqual(asked(a_conv()), ("auto", 0.0))
            self.assertEqual(asked(a_linear()), ("auto", 0.0))

    def test_16_bit_inputs_are_left_to_their_own_precision(self):
        bf16 = dict(dtype=torch.bfloat16)
        with pytorch_tf32(convolutions=True, matmuls=True):
            self.assertEqual(
                asked(lambda: ft.linear(torch.empty(4, 16, device="meta", **bf16),
                                        torch.empty(8, 16, device="meta", **bf16))),
                ("auto", 0.0))


if __name__ == "__main__":
    unittest.main()
