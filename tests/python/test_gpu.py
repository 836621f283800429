"""fusetune.torch on a GPU: fused results against float64 PyTorch, gradients against PyTorch's,
torch.compile without graph breaks, streams, and tuning into a database. Skipped without CUDA."""

import os
import tempfile
import unittest
import warnings

import torch
import torch.nn.functional as F

import fusetune
import fusetune.torch as ft

CUDA = torch.cuda.is_available()
HAS_CUSTOM_OP = hasattr(torch.library, "custom_op")


def rel_error(got, want):
    got, want = got.double(), want.double()
    return ((got - want).norm() / want.norm()).item()


def randn(*shape, dtype=torch.float32):
    return torch.randn(*shape, device="cuda", dtype=dtype)


@unittest.skipUnless(CUDA, "needs a CUDA GPU")
class Forward(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(1)
        warnings.simplefilter("ignore", fusetune.FusetuneWarning)

    def test_linear_chain_matches_float64(self):
        x, w, b = randn(3, 37, 96), randn(80, 96), randn(80)
        got = ft.linear(x, w, b, epilogue="mul(2.0) -> leaky_relu(0.1)", precision="fp32")
        want = F.leaky_relu(F.linear(x.double(), w.double(), b.double()) * 2.0, 0.1)
        self.assertEqual(got.shape, (3, 37, 80))
        self.assertLess(rel_error(got, want), 1e-5)

    def test_operands_and_3xtf32(self):
        x, w, r, t = randn(64, 128), randn(96, 128), randn(96), randn(64, 96)
        got = ft.linear(x, w, epilogue="add(column) -> mul(tensor) -> gelu", operands=[r, t],
                        precision="3xtf32")
        want = F.gelu((x.double() @ w.double().t() + r.double()) * t.double())
        self.assertLess(rel_error(got, want), 1e-5)

    def test_bf16_inputs(self):
        x, w = randn(32, 64, dtype=torch.bfloat16), randn(48, 64, dtype=torch.bfloat16)
        got = ft.linear(x, w, epilogue="relu")
        self.assertEqual(got.dtype, torch.bfloat16)
        self.assertLess(rel_error(got, F.relu(x.double() @ w.double().t())), 1e-2)

    def test_convolution_seed_chain_small(self):
        x, w, b, m = randn(2, 4, 5, 6, 7), randn(4, 8, 3, 3, 3), randn(8), randn(8, 1, 1, 1)
        got = ft.conv_transpose3d(
            x, w, b, stride=2, padding=1, output_padding=1, operands=[m],
            epilogue="leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> max_pool3d(2)")
        y = F.conv_transpose3d(x.double(), w.double(), b.double(), stride=2, padding=1,
                               output_padding=1)
        want = F.max_pool3d(F.leaky_relu(F.leaky_relu(y, 0.2) * m.double(), 0.2), 2)
        self.assertLess(rel_error(got, want), 1e-5)

    def test_a_side_stream_is_used_and_ordered(self):
        x, w = randn(128, 256), randn(192, 256)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            got = ft.linear(x, w, epilogue="relu", precision="fp32")
        torch.cuda.current_stream().wait_stream(stream)
        self.assertLess(rel_error(got, F.relu(x.double() @ w.double().t())), 1e-5)

    def test_an_untuned_spec_warns_how_to_tune_it(self):
        warnings.simplefilter("always", fusetune.FusetuneWarning)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ft.linear(randn(8, 40), randn(24, 40), epilogue="tanh", precision="fp32")
        texts = [str(w.message) for w in caught if w.category is fusetune.FusetuneWarning]
        self.assertTrue(any("fusetune tune" in t for t in texts), texts)


@unittest.skipUnless(CUDA, "needs a CUDA GPU")
class Backward(unittest.TestCase):
    """Gradients of every input, against PyTorch's in float64 on the same values."""

    def setUp(self):
        torch.manual_seed(2)
        warnings.simplefilter("ignore", fusetune.FusetuneWarning)
        # The backward runs PyTorch's ops, which follow its TF32 flags (cuDNN's is on by
        # default): off here, so that float64 is the measure.
        self.flags = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False

    def tearDown(self):
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = self.flags

    def check(self, fused, plain, *inputs, tolerance=1e-4):
        leaves = [t.clone().requires_grad_() for t in inputs]
        doubles = [t.double().clone().requires_grad_() for t in inputs]
        out = fused(*leaves)
        grad = torch.randn_like(out)
        out.backward(grad)
        plain(*doubles).backward(grad.double())
        for leaf, double in zip(leaves, doubles):
            self.assertLess(rel_error(leaf.grad, double.grad), tolerance)

    def test_linear_chain(self):
        self.check(lambda x, w, b: ft.linear(x, w, b, epilogue="mul(2.0) -> leaky_relu(0.1)"),
                   lambda x, w, b: F.leaky_relu(F.linear(x, w, b) * 2.0, 0.1),
                   randn(16, 32), randn(24, 32), randn(24))

    def test_convolution_chain_with_a_channel_parameter(self):
        def fused(x, w, b, m):
            return ft.conv_transpose3d(
                x, w, b, stride=2, padding=1, output_padding=1, operands=[m],
                epilogue="leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> max_pool3d(2)")

        def plain(x, w, b, m):
            y = F.conv_transpose3d(x, w, b, stride=2, padding=1, output_padding=1)
            return F.max_pool3d(F.leaky_relu(F.leaky_relu(y, 0.2) * m, 0.2), 2)

        self.check(fused, plain, randn(2, 3, 4, 5, 6), randn(3, 4, 3, 3, 3), randn(4),
                   randn(4, 1, 1, 1))

    def test_only_inputs_that_need_it_get_a_gradient(self):
        x, w = randn(8, 16), randn(12, 16).requires_grad_()
        ft.linear(x, w, epilogue="silu").sum().backward()
        self.assertIsNone(x.grad)
        self.assertEqual(w.grad.shape, w.shape)


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(64, 96)

    def forward(self, x):
        return ft.linear(x, self.layer.weight, self.layer.bias, epilogue="gelu -> mul(0.5)")


@unittest.skipUnless(CUDA and HAS_CUSTOM_OP, "needs a CUDA GPU and torch.library.custom_op")
class Compile(unittest.TestCase):
    def test_a_compiled_model_traces_the_fused_call_in_one_graph(self):
        warnings.simplefilter("ignore", fusetune.FusetuneWarning)
        block = Block().cuda()
        x = randn(32, 64)
        compiled = torch.compile(block, fullgraph=True)
        want = F.gelu(F.linear(x.double(), block.layer.weight.double(),
                               block.layer.bias.double())) * 0.5
        self.assertLess(rel_error(compiled(x), want), 1e-5)

    def test_a_compiled_training_step_has_pytorch_s_gradients(self):
        warnings.simplefilter("ignore", fusetune.FusetuneWarning)
        block = Block().cuda()
        compiled = torch.compile(block, fullgraph=True)
        x = randn(32, 64)
        compiled(x).square().sum().backward()
        got = block.layer.weight.grad.clone()
        block.layer.weight.grad = None
        w, b = block.layer.weight.double(), block.layer.bias.double()
        (F.gelu(F.linear(x.double(), w, b)) * 0.5).square().sum().backward()
        self.assertLess(rel_error(got, block.layer.weight.grad), 1e-4)


@unittest.skipUnless(CUDA, "needs a CUDA GPU")
class Tune(unittest.TestCase):
    def test_tuning_a_module_stores_winners_the_next_call_loads(self):
        with tempfile.TemporaryDirectory() as directory:
            fusetune.set_database(os.path.join(directory, "tuning.db"))
            try:
                block = Block().cuda()
                x = randn(48, 64)
                (report,) = ft.tune(block, x, precision="fp32", max_candidates=3, progress=False)
                self.assertEqual(report["precision"], "fp32")
                self.assertTrue(report["config"].startswith("ft_"))
                self.assertLess(report["rel_err"], 1e-5)
                kernel = fusetune.shared_library(0).load(report["spec"], "fp32")
                self.assertTrue(kernel.tuned)
                self.assertEqual(kernel.config, report["config"])
                again = ft.tune(block, x, precision="fp32", progress=False)
                self.assertTrue(again[0]["from_cache"])
            finally:
                fusetune.set_database(None)


if __name__ == "__main__":
    unittest.main()
