"""fusetune.torch's argument checking, messages and spec writing: none of it needs a GPU (meta
tensors stand in for CUDA ones where a test needs tensors that pass the device check)."""

import unittest

import torch

import fusetune
import fusetune.torch as ft

SEED_LINEAR = "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)"
SMALL = "linear(m=4, n=8, k=16) -> bias -> relu"


def meta(*shape, dtype=torch.float32):
    return torch.empty(shape, dtype=dtype, device="meta")


class Describe(unittest.TestCase):
    def test_lists_tensors_scalars_and_output_of_the_seed(self):
        d = fusetune.describe(SEED_LINEAR)
        self.assertEqual(d.canonical, SEED_LINEAR)
        self.assertEqual([(t.name, t.shape) for t in d.tensors],
                         [("x", (1024, 8192)), ("weight", (8192, 8192)), ("bias", (8192,))])
        self.assertEqual(d.scalars, (("mul.value", 2.0), ("leaky_relu.negative_slope", 0.1)))
        self.assertEqual(d.output_shape, (1024, 8192))

    def test_a_bad_spec_raises_spec_error_pointing_at_it(self):
        with self.assertRaises(fusetune.SpecError) as caught:
            fusetune.describe("linear(m=4, n=8, k=16) -> leaky_rel(0.1)")
        self.assertIn("leaky_rel", str(caught.exception))
        self.assertIn("^", str(caught.exception))
        self.assertEqual(caught.exception.code, "invalid_spec")
        self.assertIsInstance(caught.exception, ValueError)

    def test_a_spec_must_be_text(self):
        with self.assertRaises(fusetune.InvalidArgument):
            fusetune.describe(42)


class TensorChecks(unittest.TestCase):
    def call(self, *tensors):
        with self.assertRaises(fusetune.InvalidArgument) as caught:
            ft.fused(SMALL, *tensors)
        return str(caught.exception)

    def test_a_cpu_tensor_is_named_and_told_to_move(self):
        message = self.call(torch.ones(4, 16), meta(8, 16), meta(8))
        self.assertIn("x is on cpu", message)
        self.assertIn("x.cuda()", message)

    def test_a_wrong_dtype_names_the_tensor_and_the_dtype_wanted(self):
        message = self.call(meta(4, 16), meta(8, 16, dtype=torch.float16), meta(8))
        self.assertIn("weight is torch.float16", message)
        self.assertIn("torch.float32", message)

    def test_a_wrong_shape_names_both_shapes(self):
        message = self.call(meta(4, 16), meta(8, 16), meta(9))
        self.assertIn("bias has shape (9,)", message)
        self.assertIn("(8,)", message)

    def test_a_non_contiguous_tensor_is_told_to_be_made_contiguous(self):
        message = self.call(meta(4, 16), meta(16, 8).t(), meta(8))
        self.assertIn("weight is not contiguous", message)
        self.assertIn("weight.contiguous()", message)

    def test_a_wrong_count_lists_the_tensors_the_spec_takes(self):
        message = self.call(meta(4, 16), meta(8, 16))
        self.assertIn("takes 3 tensors (x, weight, bias), got 2", message)

    def test_something_not_a_tensor_is_named(self):
        message = self.call(meta(4, 16), [[1.0]], meta(8))
        self.assertIn("weight must be a torch.Tensor, not list", message)

    def test_tensors_on_different_devices_are_refused(self):
        message = self.call(meta(4, 16), meta(8, 16), torch.ones(8))
        self.assertIn("bias is on cpu", message)


class Linear(unittest.TestCase):
    def test_a_weight_that_does_not_match_x_says_what_it_must_be(self):
        with self.assertRaises(fusetune.InvalidArgument) as caught:
            ft.linear(meta(4, 16), meta(8, 15))
        self.assertIn("weight must be [out_features, 16]", str(caught.exception))

    def test_x_must_be_a_tensor(self):
        with self.assertRaises(fusetune.InvalidArgument) as caught:
            ft.linear([1.0], meta(8, 15))
        self.assertIn("x must be a torch.Tensor", str(caught.exception))

    def test_an_epilogue_typo_is_a_spec_error(self):
        with self.assertRaises(fusetune.SpecError) as caught:
            ft.linear(meta(4, 16), meta(8, 16), epilogue="mull(2.0)")
        self.assertIn("mull", str(caught.exception))

    def test_an_operand_of_the_wrong_shape_is_named_by_its_spec_name(self):
        with self.assertRaises(fusetune.InvalidArgument) as caught:
            ft.linear(meta(4, 16), meta(8, 16), epilogue="mul(column)", operands=[meta(4)])
        self.assertIn("mul_column has shape (4,)", str(caught.exception))

    def test_a_single_operand_must_come_in_a_list(self):
        with self.assertRaises(fusetune.InvalidArgument) as caught:
            ft.linear(meta(4, 16), meta(8, 16), epilogue="mul(column)", operands=meta(8))
        self.assertIn("operands must be a list or tuple of tensors", str(caught.exception))

    def test_bias_written_twice_is_explained(self):
        with self.assertRaises(fusetune.InvalidArgument) as caught:
            ft.linear(meta(4, 16), meta(8, 16), meta(8), epilogue="bias -> gelu")
        self.assertIn("the bias argument already adds '-> bias'", str(caught.exception))

    def test_meta_tensors_give_a_meta_output_of_the_spec_s_shape(self):
        out = ft.linear(meta(2, 3, 16), meta(8, 16), meta(8), epilogue="relu")
        self.assertEqual((out.device.type, tuple(out.shape)), ("meta", (2, 3, 8)))

    def test_an_unknown_precision_is_refused_with_the_known_ones(self):
        with self.assertRaises(fusetune.InvalidArgument) as caught:
            ft.linear(meta(4, 16), meta(8, 16), precision="tf-32")
        self.assertIn("unknown precision 'tf-32'", str(caught.exception))
        self.assertIn("'3xtf32'", str(caught.exception))
        with self.assertRaises(fusetune.InvalidArgument):
            ft.set_precision("fp64")

    def test_a_non_contiguous_x_is_refused(self):
        with self.assertRaises(fusetune.InvalidArgument) as caught:
            ft.linear(meta(16, 4).t(), meta(8, 16))
        self.assertIn("x is not contiguous", str(caught.exception))


class SpecText(unittest.TestCase):
    """The spec each call writes, read back through describe() (which canonicalises it)."""

    def recorded(self, call):
        with ft._recording() as calls:
            call()
        (key,) = calls
        return fusetune.describe(key[1]).canonical

    def test_linear_flattens_leading_dimensions_into_m(self):
        spec = self.recorded(lambda: ft.linear(meta(2, 3, 16), meta(8, 16), meta(8),
                                               epilogue="-> mul(2.0) -> leaky_relu(0.1)"))
        self.assertEqual(spec, "linear(m=6, n=8, k=16) -> bias -> mul(2.0) -> leaky_relu(0.1)")

    def test_linear_keeps_x_s_leading_shape(self):
        with ft._recording():
            out = ft.linear(meta(2, 3, 16), meta(8, 16), epilogue=["relu"])
        self.assertEqual(tuple(out.shape), (2, 3, 8))

    def test_bf16_tensors_write_the_dtype(self):
        spec = self.recorded(lambda: ft.linear(meta(4, 16, dtype=torch.bfloat16),
                                               meta(8, 16, dtype=torch.bfloat16)))
        self.assertEqual(spec, "linear(m=4, n=8, k=16, dtype=bf16)")

    def test_conv_transpose3d_writes_pytorch_s_arguments(self):
        m = ft.conv_transpose3d
        spec = self.recorded(lambda: m(
            meta(16, 16, 16, 32, 32), meta(16, 32, 3, 3, 3), meta(32), stride=2, padding=1,
            output_padding=1,
            epilogue="leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> max_pool3d(2)",
            operands=[meta(32, 1, 1, 1)]))
        self.assertEqual(spec, fusetune.describe(
            "conv_transpose3d(n=16, c=16, d=16, h=32, w=32, k=32, kernel=3, stride=2, "
            "padding=1, output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> "
            "leaky_relu(0.2) -> max_pool3d(2)").canonical)

    def test_conv2d_writes_per_dimension_values_and_groups(self):
        spec = self.recorded(lambda: ft.conv2d(meta(2, 4, 9, 10), meta(6, 2, 1, 3),
                                               stride=(1, 2), padding=(0, 1), groups=2))
        self.assertEqual(spec, fusetune.describe(
            "conv2d(n=2, c=4, h=9, w=10, k=6, kernel=(1, 3), stride=(1, 2), padding=(0, 1), "
            "groups=2)").canonical)

    def test_a_conv_argument_of_the_wrong_length_is_named(self):
        with self.assertRaises(ValueError) as caught:
            ft.conv2d(meta(2, 4, 9, 10), meta(6, 4, 3, 3), stride=(1, 2, 3))
        self.assertIn("stride must be an int or 2 ints", str(caught.exception))


class SymbolicRows(unittest.TestCase):
    """A GEMM whose rows torch.compile traces as a symbol (dynamic=True) is written with
    ROWS for m: each call fills in its rows, and while tracing the shapes that follow the rows
    take the symbol, so that one graph serves every batch size."""

    SPEC = "linear(m=@rows, n=96, k=64) -> add(row) -> mul(tensor) -> relu"

    def test_a_call_fills_in_its_rows(self):
        from fusetune.torch import _specs
        self.assertEqual(_specs.linear(_specs.ROWS, 96, 64, torch.float32, True, "relu"),
                         "linear(m=@rows, n=96, k=64) -> bias -> relu")
        self.assertEqual(_specs.at_rows(self.SPEC, 37),
                         "linear(m=37, n=96, k=64) -> add(row) -> mul(tensor) -> relu")
        plain = "linear(m=5, n=96, k=64)"
        self.assertEqual(_specs.at_rows(plain, 37), plain)

    def test_while_tracing_the_shapes_that_follow_the_rows_take_the_symbol(self):
        from fusetune.torch import _op
        rows = object()  # what torch.compile's symbol stands for here: no number
        description = _op._symbolic_rows(self.SPEC, rows)
        self.assertEqual([t.shape for t in description.tensors],
                         [(rows, 64), (96, 64), (rows,), (rows, 96)])
        self.assertEqual(description.output_shape, (rows, 96))
        self.assertEqual(_op.updated_indices(self.SPEC), ())
        self.assertTrue(_op.keeps_rows(self.SPEC))

    def test_a_concrete_call_of_a_rows_spec_checks_its_own_shapes(self):
        with ft._recording() as calls:
            out = ft.fused(self.SPEC, meta(37, 64), meta(96, 64), meta(37), meta(37, 96))
        self.assertEqual(tuple(out.shape), (37, 96))
        ((_, spec, _, _),) = calls
        self.assertEqual(spec, "linear(m=37, n=96, k=64) -> add(row) -> mul(tensor) -> relu")


class Tune(unittest.TestCase):
    def test_a_function_without_fusetune_calls_warns_that_nothing_was_tuned(self):
        with self.assertWarns(fusetune.FusetuneWarning) as caught:
            self.assertEqual(ft.tune(lambda x: x * 2, meta(4)), [])
        self.assertIn("no fusetune calls", str(caught.warning))


class Reference(unittest.TestCase):
    """The PyTorch reference the backward pass differentiates, against the models written
    out by hand (float64, on the CPU)."""

    def test_the_linear_seed_chain(self):
        torch.manual_seed(0)
        x, w, b = torch.randn(5, 16, dtype=torch.float64), torch.randn(8, 16, dtype=torch.float64), \
            torch.randn(8, dtype=torch.float64)
        spec = "linear(m=5, n=8, k=16) -> bias -> mul(2.0) -> leaky_relu(0.1)"
        want = torch.nn.functional.leaky_relu((x @ w.t() + b) * 2.0, 0.1)
        torch.testing.assert_close(ft.reference(spec, x, w, b), want)

    def test_the_convolution_seed_chain(self):
        torch.manual_seed(0)
        f64 = dict(dtype=torch.float64)
        x, w = torch.randn(2, 3, 4, 6, 5, **f64), torch.randn(3, 4, 3, 3, 3, **f64)
        b, m = torch.randn(4, **f64), torch.randn(4, 1, 1, 1, **f64)
        F = torch.nn.functional
        y = F.conv_transpose3d(x, w, b, stride=2, padding=1, output_padding=1)
        want = F.max_pool3d(F.leaky_relu(F.leaky_relu(y, 0.2) * m, 0.2), 2)
        spec = ("conv_transpose3d(n=2, c=3, d=4, h=6, w=5, k=4, kernel=3, stride=2, padding=1, "
                "output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> "
                "leaky_relu(0.2) -> max_pool3d(2)")
        torch.testing.assert_close(ft.reference(spec, x, w, b, m), want)

    def test_a_missing_tensor_is_named(self):
        with self.assertRaises(fusetune.InvalidArgument) as caught:
            ft.reference(SMALL, torch.ones(4, 16), torch.ones(8, 16))
        self.assertIn("takes 3 tensors (x, weight, bias), got 2", str(caught.exception))

    def test_row_operands_main_and_global_pooling(self):
        torch.manual_seed(0)
        f64 = dict(dtype=torch.float64)
        a, b, r = torch.randn(16, 4, **f64), torch.randn(16, 8, **f64), torch.randn(4, **f64)
        spec = "matmul(m=4, n=8, k=16, transpose_a=true) -> sub(row) -> gelu(tanh)"
        want = torch.nn.functional.gelu(a.t() @ b - r[:, None], approximate="tanh")
        torch.testing.assert_close(ft.reference(spec, a, b, r), want)
        x, w = torch.randn(2, 3, 5, 5, **f64), torch.randn(4, 3, 3, 3, **f64)
        y = torch.nn.functional.conv2d(x, w, padding=1)
        spec = ("conv2d(n=2, c=3, h=5, w=5, k=4, kernel=3, padding=1) -> relu -> mul(main) -> "
                "global_avg_pool")
        want = (torch.relu(y) * y).mean(dim=(2, 3), keepdim=True)
        torch.testing.assert_close(ft.reference(spec, x, w), want)


class Library(unittest.TestCase):
    @unittest.skipIf(torch.cuda.is_available(), "a GPU is present")
    def test_opening_without_a_gpu_says_so(self):
        with self.assertRaises(fusetune.NoDevice) as caught:
            fusetune.Library()
        self.assertIn("GPU", str(caught.exception))

    def test_the_version_is_the_library_s(self):
        self.assertRegex(fusetune.version(), r"^\d+\.\d+\.\d+$")


if __name__ == "__main__":
    unittest.main()
