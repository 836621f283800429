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
from fusetune.torch import _op, _training

CUDA = torch.cuda.is_available()
HAS_CUSTOM_OP = hasattr(torch.library, "custom_op")


def rel_error(got, want):
    got, want = got.double(), want.double()
    return ((got - want).norm() / want.norm()).item()


def gradient_error(got, want, main_grad):
    """got's error against want, relative to want's size; or, where want's sums cancel (a bias
    before batch_norm's: exactly 0, which no relative error can be measured against), relative
    to the size the main op's gradient g' gives each of its elements, ||g'|| sqrt(its elements /
    g''s): a cancelling sum is as accurate as its terms (as backward_test.cc measures)."""
    got, want = got.double(), want.double()
    share = main_grad.norm() * (want.numel() / main_grad.numel()) ** 0.5
    return ((got - want).norm() / max(want.norm(), share)).item()


def linear_main_grad(x, w, b, chain, operands, grad):
    """The gradient g' of chain(linear(x, w, b), *operands) at the linear's output, in float64;
    the operands detached, so that their gradients stay as the test's own backward left them."""
    main = F.linear(x.double(), w.double(), b.double()).detach().requires_grad_()
    chain(main, *(t.detach().double() for t in operands)).backward(grad.double())
    return main.grad


def randn(*shape, dtype=torch.float32, requires_grad=False):
    return torch.randn(*shape, device="cuda", dtype=dtype, requires_grad=requires_grad)


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

    def test_layer_norm_chain(self):
        self.check(lambda x, w, b, g, h: ft.linear(x, w, b, epilogue="layer_norm -> gelu",
                                                   operands=[g, h]),
                   lambda x, w, b, g, h: F.gelu(F.layer_norm(F.linear(x, w, b), (40,), g, h)),
                   randn(12, 24), randn(40, 24), randn(40), randn(40), randn(40))

    def test_batch_norm_updates_its_running_statistics_once(self):
        mean, var = randn(6), torch.rand(6, device="cuda") + 0.5
        want_mean, want_var = mean.clone(), var.clone()
        x, w, b = randn(3, 4, 5, 7, requires_grad=True), randn(6, 4, 3, 3), randn(6)
        ft.conv2d(x, w, b, epilogue="batch_norm(affine=false) -> tanh",
                  operands=[mean, var]).sum().backward()
        F.batch_norm(F.conv2d(x.detach(), w, b), want_mean, want_var, training=True)
        torch.testing.assert_close((mean, var), (want_mean, want_var))
        self.assertEqual(x.grad.shape, x.shape)

    def test_only_inputs_that_need_it_get_a_gradient(self):
        x, w = randn(8, 16), randn(12, 16).requires_grad_()
        ft.linear(x, w, epilogue="silu").sum().backward()
        self.assertIsNone(x.grad)
        self.assertEqual(w.grad.shape, w.shape)


@unittest.skipUnless(CUDA and HAS_CUSTOM_OP, "needs a CUDA GPU and torch.library.custom_op")
class FusedBackward(unittest.TestCase):
    """Linear and matmul chains of elementwise ops differentiate through fused kernels (the
    saving forward, the chain's derivative, two matmuls): every gradient against float64
    PyTorch within 1e-5 at fp32-accurate precision, and at TF32 within 1.5x the error of
    PyTorch's own TF32 step, at shapes a multiple of no tile."""

    def setUp(self):
        torch.manual_seed(5)
        warnings.simplefilter("ignore", fusetune.FusetuneWarning)

    def check(self, epilogue, plain, operands, precision="auto", tolerance=1e-5, m=37, n=100,
              k=40, chain=None):
        """ft.linear(x, w, b) with `epilogue` against `plain` (x, w, b, *operands). Where a
        gradient cancels to 0, `chain` (the epilogue in PyTorch, of the linear's output and
        the operands) gives g' to measure it by (gradient_error)."""
        def fused(x, w, b, *rest):
            return ft.linear(x, w, b, epilogue=epilogue, operands=rest, precision=precision)

        self.check_gradients(fused, plain, randn(m, k), randn(n, k), randn(n), *operands,
                             tolerance=tolerance, chain=chain)

    def test_the_seed_chain(self):
        self.check("mul(2.0) -> leaky_relu(0.1)",
                   lambda x, w, b: F.leaky_relu(F.linear(x, w, b) * 2.0, 0.1), [])

    def test_column_row_and_tensor_operands(self):
        self.check("mul(column) -> add(row) -> gelu -> sub(tensor) -> sigmoid",
                   lambda x, w, b, c, r, t: torch.sigmoid(
                       F.gelu(F.linear(x, w, b) * c + r.reshape(-1, 1)) - t),
                   [randn(100), randn(37), randn(37, 100)])

    def test_one_row_and_3xtf32(self):
        self.check("silu -> mul(0.5)", lambda x, w, b: F.silu(F.linear(x, w, b)) * 0.5, [],
                   precision="3xtf32", m=1)

    def test_k_major_forms_of_both_products(self):
        # The products through transposed copies of their operands, as tuning picks them for
        # large shapes: d W reads two copies of one size (x and g' when N == K).
        tuned = _training._tuned_kernel

        class Timed:
            def __init__(self, time_ms):
                self.time_ms = time_ms

        def k_major_wins(device, spec, precision, tolerance):
            return Timed(0.0 if "transpose_b=true" in spec else 1e9)

        _training._tuned_kernel = k_major_wins
        try:
            self.check("mul(2.0) -> leaky_relu(0.1)",
                       lambda x, w, b: F.leaky_relu(F.linear(x, w, b) * 2.0, 0.1), [], n=48,
                       k=48)
            chosen = [spec for spec, _ in _training._forms.values()]
        finally:
            _training._tuned_kernel = tuned
            _training.forget_kernels()
        self.assertEqual(len(chosen), 2)
        self.assertTrue(all("transpose_b=true" in spec for spec in chosen), chosen)

    def test_tf32(self):
        # PyTorch's own TF32 step on the same values, for scale in the failure message.
        x, w, b = randn(37, 40), randn(100, 40), randn(100)
        flags = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = True
        try:
            leaves = [t.clone().requires_grad_() for t in (x, w, b)]
            out = torch.tanh(F.linear(*leaves))
            grad = torch.randn_like(out)
            out.backward(grad)
        finally:
            torch.backends.cuda.matmul.allow_tf32 = flags
        doubles = [t.double().clone().requires_grad_() for t in (x, w, b)]
        torch.tanh(F.linear(*doubles)).backward(grad.double())
        pytorch = [rel_error(leaf.grad, double.grad) for leaf, double in zip(leaves, doubles)]
        leaves = [t.clone().requires_grad_() for t in (x, w, b)]
        ft.linear(*leaves, epilogue="tanh", precision="tf32").backward(grad)
        # TF32 rounds each operand to 10 bits: held to PyTorch's own TF32 step on these values
        # (its error is a few units of 2^-11, input-dependent), not to a fixed figure.
        for i, (leaf, double) in enumerate(zip(leaves, doubles)):
            self.assertLess(rel_error(leaf.grad, double.grad), 1.5 * pytorch[i],
                            f"input {i}; PyTorch's TF32 step: {pytorch[i]:.2e}")

    def test_bf16(self):
        x, w, b = (randn(45, 64, dtype=torch.bfloat16), randn(72, 64, dtype=torch.bfloat16),
                   randn(72, dtype=torch.bfloat16))
        leaves = [t.clone().requires_grad_() for t in (x, w, b)]
        out = ft.linear(*leaves, epilogue="gelu -> mul(0.5)")
        grad = torch.randn_like(out)
        out.backward(grad)
        doubles = [t.double().clone().requires_grad_() for t in (x, w, b)]
        (F.gelu(F.linear(*doubles)) * 0.5).backward(grad.double())
        for leaf, double in zip(leaves, doubles):
            self.assertEqual(leaf.grad.dtype, torch.bfloat16)
            self.assertLess(rel_error(leaf.grad, double.grad), 2e-2)

    def check_gradients(self, fused, plain, *inputs, tolerance=1e-5, chain=None):
        """Every gradient of fused(*inputs), run through the fused backward, against plain's in
        float64 on the same values; with `chain` (fused is a linear's), measured by
        gradient_error."""
        leaves = [t.clone().requires_grad_() for t in inputs]
        doubles = [t.double().clone().requires_grad_() for t in inputs]
        _training.forget_kernels()
        out = fused(*leaves)
        grad = torch.randn_like(out)
        out.backward(grad)
        self.assertTrue(_training._backward_kernels, "the fused backward ran")
        plain(*doubles).backward(grad.double())
        main_grad = None
        if chain is not None:
            main_grad = linear_main_grad(*inputs[:3], chain, doubles[3:], grad)
        for i, (leaf, double) in enumerate(zip(leaves, doubles)):
            error = (rel_error(leaf.grad, double.grad) if main_grad is None else
                     gradient_error(leaf.grad, double.grad, main_grad))
            self.assertLess(error, tolerance, f"input {i}")

    def test_the_convolution_seed_chain(self):
        def fused(x, w, b, m):
            return ft.conv_transpose3d(
                x, w, b, stride=2, padding=1, output_padding=1, operands=[m], precision="auto",
                epilogue="leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> max_pool3d(2)")

        def plain(x, w, b, m):
            y = F.conv_transpose3d(x, w, b, stride=2, padding=1, output_padding=1)
            return F.max_pool3d(F.leaky_relu(F.leaky_relu(y, 0.2) * m, 0.2), 2)

        self.check_gradients(fused, plain, randn(2, 3, 4, 5, 6), randn(3, 4, 3, 3, 3),
                               randn(4), randn(4, 1, 1, 1))

    def test_tf32_split_is_exact_and_its_high_part_is_tf32(self):
        # The convolution's weight gradient at fp32-accurate precision sums TF32 products of
        # these parts (_training._split_tf32).
        t = torch.cat([randn(1000) * 1e3, randn(100) * 1e-40, torch.tensor(
            [0.0, -0.0, 1.0, -3.0e38], device="cuda")])
        high, low = _training._split_tf32(t)
        self.assertTrue(torch.equal(high + low, t))
        self.assertTrue(torch.equal(high.view(torch.int32) & 8191, torch.zeros_like(
            high, dtype=torch.int32)))
        self.assertTrue(bool((low.abs() <= t.abs() * 2.0 ** -10).all()))

    def test_an_avg_pool_that_pads_and_ops_after_it(self):
        def fused(x, w, b, t):
            return ft.conv2d(x, w, b, operands=[t], precision="auto",
                             epilogue="add(tensor) -> sigmoid -> avg_pool2d(3, stride=2, "
                                      "padding=1) -> softplus -> mul(0.5)")

        def plain(x, w, b, t):
            y = torch.sigmoid(F.conv2d(x, w, b) + t)
            return F.softplus(F.avg_pool2d(y, 3, 2, 1, count_include_pad=True)) * 0.5

        self.check_gradients(fused, plain, randn(2, 3, 11, 9), randn(5, 3, 3, 3), randn(5),
                               randn(2, 5, 9, 7))

    def test_softmax_and_logsumexp_over_the_features(self):
        self.check("softmax(dim=1) -> mul(2.0)",
                   lambda x, w, b: torch.softmax(F.linear(x, w, b), dim=1) * 2.0, [])
        self.check("logsumexp(dim=1) -> sigmoid",
                   lambda x, w, b: torch.sigmoid(torch.logsumexp(F.linear(x, w, b), dim=1)), [])
        self.check("gelu -> log_softmax(dim=1)",
                   lambda x, w, b: torch.log_softmax(F.gelu(F.linear(x, w, b)), dim=1), [],
                   n=3000)

    def test_sum_over_the_features(self):
        self.check("sum(dim=1) -> mul(0.5) -> sigmoid",
                   lambda x, w, b: torch.sigmoid(F.linear(x, w, b).sum(dim=1) * 0.5), [])

    def test_layer_norm_with_its_weight_and_bias(self):
        self.check("layer_norm -> gelu",
                   lambda x, w, b, g, h: F.gelu(F.layer_norm(F.linear(x, w, b), (100,), g, h)),
                   [randn(100), randn(100)])

    def test_group_norm_over_groups_of_features(self):
        self.check("group_norm(4) -> gelu",
                   lambda x, w, b, g, h: F.gelu(F.group_norm(F.linear(x, w, b), 4, g, h)),
                   [randn(100), randn(100)])

    def test_group_norm_of_a_convolution(self):
        def fused(x, w, b, g, h):
            return ft.conv2d(x, w, b, operands=[g, h], precision="auto",
                             epilogue="group_norm(4) -> silu")

        def plain(x, w, b, g, h):
            return F.silu(F.group_norm(F.conv2d(x, w, b), 4, g, h))

        self.check_gradients(fused, plain, randn(2, 3, 9, 8), randn(8, 3, 3, 3), randn(8),
                             randn(8), randn(8))

    def test_batch_norm_over_the_rows(self):
        # The bias's gradient is exactly 0 (batch_norm removes each column's mean).
        def chain(y, g, h):
            return torch.tanh(F.batch_norm(y, None, None, g, h, training=True))

        self.check("batch_norm(track_running_stats=false) -> tanh",
                   lambda x, w, b, g, h: chain(F.linear(x, w, b), g, h),
                   [randn(100), randn(100)], chain=chain)

    def test_batch_norm_updates_its_running_statistics_once(self):
        # The saving forward updates them (on copies the call writes back); the backward
        # leaves them, as nn.BatchNorm1d does.
        x, w, b, g, h = (randn(37, 40, requires_grad=True), randn(100, 40, requires_grad=True),
                         randn(100, requires_grad=True), randn(100, requires_grad=True),
                         randn(100, requires_grad=True))
        mean, var = randn(100), torch.rand(100, device="cuda") + 0.5
        want_mean, want_var = mean.double(), var.double()
        _training.forget_kernels()
        out = ft.linear(x, w, b, epilogue="batch_norm(momentum=0.3) -> tanh",
                        operands=[mean, var, g, h])
        grad = torch.randn_like(out)
        out.backward(grad)
        self.assertTrue(_training._backward_kernels, "the fused backward ran")
        doubles = [t.detach().double().requires_grad_() for t in (x, w, b, g, h)]
        torch.tanh(F.batch_norm(F.linear(*doubles[:3]), want_mean, want_var, doubles[3],
                                doubles[4], training=True, momentum=0.3)).backward(
                                    grad.double())
        self.assertLess(rel_error(mean, want_mean), 1e-6)
        self.assertLess(rel_error(var, want_var), 1e-6)
        # The bias's gradient cancels to 0: measured against g' (gradient_error).
        main_grad = linear_main_grad(x, w, b, lambda y, g, h: torch.tanh(F.batch_norm(
            y, None, None, g, h, training=True)), [g, h], grad)
        for i, (leaf, double) in enumerate(zip((x, w, b, g, h), doubles)):
            self.assertLess(gradient_error(leaf.grad, double.grad, main_grad), 1e-5,
                            f"input {i}")

    def test_set_fused_backward_false_differentiates_through_pytorch(self):
        ft.set_fused_backward(False)
        try:
            _training.forget_kernels()
            x, w = randn(8, 16).requires_grad_(), randn(12, 16).requires_grad_()
            ft.linear(x, w, epilogue="tanh", precision="auto").sum().backward()
            self.assertFalse(_training._backward_kernels, "the fused backward did not run")
            x64, w64 = (x.detach().double().requires_grad_(), w.detach().double().requires_grad_())
            torch.tanh(F.linear(x64, w64)).sum().backward()
            self.assertLess(rel_error(w.grad, w64.grad), 1e-5)
        finally:
            ft.set_fused_backward(True)

    def test_tuning_with_backward_tunes_the_training_steps_kernels(self):
        directory = tempfile.TemporaryDirectory()
        fusetune.set_database(os.path.join(directory.name, "tuning.db"))
        try:
            block = Block().cuda()
            reports = ft.tune(block, randn(32, 64), backward=True, max_candidates=2,
                              progress=False)
            steps = sorted(r["for"]["step"] for r in reports if "for" in r)
            self.assertEqual(steps, ["grad_a", "grad_a_k_major", "grad_b", "grad_b_k_major",
                                     "saving"])
            x = randn(32, 64).requires_grad_()
            # The training path now loads tuned kernels, each product in its faster form.
            block(x).sum().backward()
            self.assertEqual(len(_training._forms), 2)
            w, b = (block.layer.weight.detach().double().requires_grad_(),
                    block.layer.bias.detach().double().requires_grad_())
            x64 = x.detach().double().requires_grad_()
            (F.gelu(F.linear(x64, w, b)) * 0.5).sum().backward()
            self.assertLess(rel_error(x.grad, x64.grad), 1e-5)
            self.assertLess(rel_error(block.layer.weight.grad, w.grad), 1e-5)
            plan = fusetune.describe(reports[0]["spec"]).backward
            for step in ("saving", "grad_a", "grad_b"):
                self.assertTrue(fusetune.shared_library(0).load(plan[step], "auto").tuned, step)
        finally:
            fusetune.set_database(None)
            directory.cleanup()

    def test_a_compiled_step_traces_forward_and_backward_in_one_graph(self):
        x, w, b = randn(32, 64), randn(48, 64), randn(48)
        leaves = [t.clone().requires_grad_() for t in (x, w, b)]

        def forward(x, w, b):  # compiled with its backward (AOTAutograd's joint graph)
            out = ft.linear(x, w, b, epilogue="mul(2.0) -> leaky_relu(0.1)", precision="auto")
            return out.square().sum()

        torch.compile(forward, fullgraph=True)(*leaves).backward()
        doubles = [t.double().clone().requires_grad_() for t in (x, w, b)]
        F.leaky_relu(F.linear(*doubles) * 2.0, 0.1).square().sum().backward()
        for leaf, double in zip(leaves, doubles):
            self.assertLess(rel_error(leaf.grad, double.grad), 1e-5)


def affine(module):
    """`module` with random weight and bias, so that a test sees them used."""
    with torch.no_grad():
        module.weight.normal_()
        module.bias.normal_()
    return module


@unittest.skipUnless(CUDA, "needs a CUDA GPU")
class Reductions(unittest.TestCase):
    """Chains with reductions and normalizations against PyTorch in fp32 (TF32 off), with
    KernelBench's tolerance, on five random inputs each. Extents are awkward on purpose: N not
    a multiple of 16, one row, odd positions."""

    TRIALS = 5

    def setUp(self):
        torch.manual_seed(3)
        warnings.simplefilter("ignore", fusetune.FusetuneWarning)
        self.flags = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False

    def tearDown(self):
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = self.flags

    def close(self, got, want, what="output"):
        self.assertEqual(got.shape, want.shape, what)
        difference = (got - want).abs().max().item() if got.numel() else 0.0
        self.assertTrue(torch.allclose(got, want, atol=1e-4, rtol=1e-4),
                        f"{what}: max abs difference {difference:.2e}")

    def check(self, fused, plain, *shapes):
        """fused(*inputs) against plain(*inputs) on TRIALS draws of inputs of `shapes`."""
        for trial in range(self.TRIALS):
            with self.subTest(trial=trial):
                inputs = [randn(*shape) for shape in shapes]
                with torch.no_grad():
                    self.close(fused(*inputs), plain(*inputs))

    def test_linear_bias_softmax(self):
        for m in (1, 37):
            layer = torch.nn.Linear(96, 83).cuda()
            self.check(lambda x: ft.linear(x, layer.weight, layer.bias, epilogue="softmax(dim=1)"),
                       lambda x: torch.softmax(layer(x), dim=1), (m, 96))

    def test_linear_bias_logsumexp_then_elementwise(self):
        layer = torch.nn.Linear(75, 200).cuda()
        self.check(lambda x: ft.linear(x, layer.weight, layer.bias,
                                       epilogue="logsumexp(dim=1, keepdim=true) -> "
                                                "leaky_relu(0.01) -> gelu"),
                   lambda x: F.gelu(F.leaky_relu(torch.logsumexp(layer(x), dim=1, keepdim=True),
                                                 0.01)),
                   (45, 75))

    def test_linear_bias_layer_norm_gelu(self):
        layer, norm = torch.nn.Linear(64, 150).cuda(), affine(torch.nn.LayerNorm(150).cuda())
        self.check(lambda x: ft.linear(x, layer.weight, layer.bias, epilogue="layer_norm -> gelu",
                                       operands=[norm.weight, norm.bias]),
                   lambda x: F.gelu(norm(layer(x))), (33, 64))

    def test_linear_bias_group_norm_hardtanh(self):
        layer = torch.nn.Linear(72, 120).cuda()
        norm = affine(torch.nn.GroupNorm(8, 120).cuda())
        self.check(lambda x: ft.linear(x, layer.weight, layer.bias,
                                       epilogue="group_norm(8) -> hardtanh(-2.0, 2.0)",
                                       operands=[norm.weight, norm.bias]),
                   lambda x: F.hardtanh(norm(layer(x)), -2.0, 2.0), (29, 72))

    def test_linear_bias_sum(self):
        layer = torch.nn.Linear(80, 130).cuda()
        self.check(lambda x: ft.linear(x, layer.weight, layer.bias, epilogue="sum(dim=1)"),
                   lambda x: layer(x).sum(dim=1), (50, 80))

    def test_conv2d_bias_group_norm_tanh_hardswish(self):
        conv = torch.nn.Conv2d(5, 16, 3, padding=1).cuda()
        norm = affine(torch.nn.GroupNorm(4, 16).cuda())
        self.check(lambda x: ft.conv2d(x, conv.weight, conv.bias, padding=1,
                                       epilogue="group_norm(4) -> tanh -> hardswish",
                                       operands=[norm.weight, norm.bias]),
                   lambda x: F.hardswish(torch.tanh(norm(conv(x)))), (3, 5, 13, 11))

    def test_conv_transpose3d_bias_batch_norm_in_training_mode(self):
        conv = torch.nn.ConvTranspose3d(4, 6, 3, stride=2, padding=1, output_padding=1).cuda()
        norm = affine(torch.nn.BatchNorm3d(6, momentum=0.2).cuda())
        mine = [norm.running_mean.clone(), norm.running_var.clone()]  # fusetune's statistics
        spec = ("conv_transpose3d(n=2, c=4, d=5, h=6, w=7, k=6, kernel=3, stride=2, padding=1, "
                "output_padding=1) -> bias -> mul(2.0) -> batch_norm(momentum=0.2) -> "
                "global_avg_pool")
        self.assertEqual([t.updated for t in fusetune.describe(spec).tensors],
                         [False, False, False, True, True, False, False])
        self.check(lambda x: ft.fused(spec, x, conv.weight, conv.bias, *mine, norm.weight,
                                      norm.bias),
                   lambda x: F.adaptive_avg_pool3d(norm(conv(x) * 2.0), 1), (2, 4, 5, 6, 7))
        self.close(mine[0], norm.running_mean, "running mean")
        self.close(mine[1], norm.running_var, "running var")

    def test_batch_norm_in_eval_mode_reads_the_running_statistics(self):
        conv = torch.nn.Conv2d(3, 10, 3).cuda()
        norm = affine(torch.nn.BatchNorm2d(10).cuda()).eval()
        with torch.no_grad():
            norm.running_mean.normal_()
            norm.running_var.uniform_(0.5, 2.0)
        before = norm.running_mean.clone()
        self.check(lambda x: ft.conv2d(x, conv.weight, conv.bias,
                                       epilogue="batch_norm(training=false) -> relu",
                                       operands=[norm.running_mean, norm.running_var,
                                                 norm.weight, norm.bias]),
                   lambda x: F.relu(norm(conv(x))), (4, 3, 9, 12))
        self.close(norm.running_mean, before, "running mean")

    def test_conv3d_bias_softmax_then_two_max_pools(self):
        conv = torch.nn.Conv3d(3, 6, 3).cuda()
        self.check(lambda x: ft.conv3d(x, conv.weight, conv.bias,
                                       epilogue="softmax(dim=1) -> max_pool3d(2) -> "
                                                "max_pool3d(2)"),
                   lambda x: F.max_pool3d(F.max_pool3d(torch.softmax(conv(x), dim=1), 2), 2),
                   (2, 3, 7, 9, 11))

    def test_conv2d_bias_instance_norm_div(self):
        conv = torch.nn.Conv2d(4, 7, 3).cuda()
        self.check(lambda x: ft.conv2d(x, conv.weight, conv.bias,
                                       epilogue="instance_norm -> div(2.0)"),
                   lambda x: F.instance_norm(conv(x)) / 2.0, (3, 4, 15, 13))

    def test_conv_transpose2d_bias_max_pool_hardtanh_mean_tanh(self):
        conv = torch.nn.ConvTranspose2d(5, 6, 3, stride=2, padding=1).cuda()
        self.check(lambda x: ft.conv_transpose2d(
                       x, conv.weight, conv.bias, stride=2, padding=1,
                       epilogue="max_pool2d(2) -> hardtanh(-1.0, 1.0) -> "
                                "mean(dim=(2, 3), keepdim=true) -> tanh"),
                   lambda x: torch.tanh(F.hardtanh(F.max_pool2d(conv(x), 2), -1.0, 1.0)
                                        .mean(dim=(2, 3), keepdim=True)),
                   (2, 5, 9, 7))


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


class NormBlock(torch.nn.Module):
    """Linear -> BatchNorm1d -> tanh, fused when `fused`."""

    def __init__(self, fused):
        super().__init__()
        self.fused = fused
        self.layer = torch.nn.Linear(48, 40)
        self.norm = affine(torch.nn.BatchNorm1d(40))

    def forward(self, x):
        if not self.fused:
            return torch.tanh(self.norm(self.layer(x)))
        norm = self.norm
        return ft.linear(x, self.layer.weight, self.layer.bias,
                         epilogue=f"batch_norm(training={str(self.training).lower()}) -> tanh",
                         operands=[norm.running_mean, norm.running_var, norm.weight, norm.bias])


@unittest.skipUnless(CUDA and HAS_CUSTOM_OP, "needs a CUDA GPU and torch.library.custom_op")
class CompileRunningStatistics(unittest.TestCase):
    """torch.compile sees the kernel's writes to batch_norm's running statistics."""

    def setUp(self):
        torch.manual_seed(4)
        warnings.simplefilter("ignore", fusetune.FusetuneWarning)
        self.flags = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False

    def tearDown(self):
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = self.flags

    def test_training_steps_match_pytorch_s(self):
        plain, fused = NormBlock(False).cuda(), NormBlock(True).cuda()
        fused.load_state_dict(plain.state_dict())
        compiled = torch.compile(fused, fullgraph=True)
        for _ in range(3):
            x = randn(21, 48)
            got, want = compiled(x), plain(x)
            torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
            got.square().sum().backward()
            want.square().sum().backward()
        for name in ("norm.running_mean", "norm.running_var"):
            torch.testing.assert_close(fused.get_buffer(name), plain.get_buffer(name),
                                       atol=1e-5, rtol=1e-5, msg=name)
        for name, parameter in plain.named_parameters():
            torch.testing.assert_close(fused.get_parameter(name).grad, parameter.grad,
                                       atol=1e-4, rtol=1e-4, msg=f"{name}.grad")

    def test_inference_in_eval_mode_leaves_them(self):
        plain, fused = NormBlock(False).cuda().eval(), NormBlock(True).cuda().eval()
        fused.load_state_dict(plain.state_dict())
        compiled = torch.compile(fused, fullgraph=True)
        x = randn(5, 48)
        with torch.no_grad():
            torch.testing.assert_close(compiled(x), plain(x), atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(fused.norm.running_mean, plain.norm.running_mean)


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


@unittest.skipUnless(CUDA and HAS_CUSTOM_OP, "needs a CUDA GPU and torch.library.custom_op")
class Buckets(unittest.TestCase):
    """A bucket of row counts, tuned once, serves every batch size in its range: each loads the
    bucket's kernel without compiling, eager or under torch.compile(dynamic=True), whose one
    graph serves them all."""

    BUCKET = "linear(m=17..64, n=96, k=64) -> bias -> gelu -> mul(0.5)"

    def setUp(self):
        torch.manual_seed(3)
        self.directory = tempfile.TemporaryDirectory()
        fusetune.set_database(os.path.join(self.directory.name, "tuning.db"))
        _op.forget_kernels()  # kernels loaded from another database
        report = fusetune.shared_library(0).tune(self.BUCKET, "fp32", max_candidates=4,
                                                 progress=False)
        self.config = report["config"]
        # Every NVRTC compile from here on leaves its source in this folder.
        self.dump = os.path.join(self.directory.name, "compiled")
        os.makedirs(self.dump)
        os.environ["FUSETUNE_DUMP"] = self.dump

    def tearDown(self):
        os.environ.pop("FUSETUNE_DUMP", None)
        fusetune.set_database(None)
        self.directory.cleanup()

    def compiled_sources(self):
        return os.listdir(self.dump)

    @torch.no_grad()  # inference: a call that records gradients runs the saving forward
    def test_every_batch_size_in_the_bucket_loads_its_kernel_without_compiling(self):
        block = Block().cuda()
        w, b = block.layer.weight, block.layer.bias
        for m in (17, 33, 40, 64):
            x = randn(m, 64)
            spec = f"linear(m={m}, n=96, k=64) -> bias -> gelu -> mul(0.5)"
            kernel = fusetune.shared_library(0).load(spec, "fp32")
            self.assertTrue(kernel.tuned, spec)
            self.assertEqual(kernel.config, self.config)
            got = ft.linear(x, w, b, epilogue="gelu -> mul(0.5)", precision="fp32")
            want = F.gelu(F.linear(x.double(), w.double(), b.double())) * 0.5
            self.assertEqual(got.shape, (m, 96))
            self.assertLess(rel_error(got, want), 1e-5, m)
        self.assertEqual(self.compiled_sources(), [])

    @torch.no_grad()
    def test_a_dynamic_compile_serves_every_batch_size_with_one_graph(self):
        graphs = []

        def counting(graph, inputs):
            graphs.append(graph)
            return graph.forward

        block = Block().cuda()
        compiled = torch.compile(block, backend=counting, dynamic=True, fullgraph=True)
        for m in (20, 37, 64, 45):
            x = randn(m, 64)
            want = F.gelu(F.linear(x.double(), block.layer.weight.double(),
                                   block.layer.bias.double())) * 0.5
            got = compiled(x)
            self.assertEqual(got.shape, (m, 96))
            self.assertLess(rel_error(got, want), 1e-5, m)
        self.assertEqual(len(graphs), 1, "a new batch size traced a new graph")
        self.assertEqual(self.compiled_sources(), [])


class _FreshDatabase(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(3)
        warnings.simplefilter("ignore", fusetune.FusetuneWarning)
        self.directory = tempfile.TemporaryDirectory()
        self.database = os.path.join(self.directory.name, "tuning.db")

    def tearDown(self):
        self.directory.cleanup()


@unittest.skipUnless(CUDA, "needs a CUDA GPU")
class CudaGraphs(_FreshDatabase):
    def test_a_prepared_plan_is_captured_in_a_cuda_graph(self):
        spec = "linear(m=300, n=512, k=64) -> bias -> sum(dim=1, keepdim=true) -> tanh"
        kernel = fusetune.Library(self.database).load(spec)
        x, w, b = randn(300, 64), randn(512, 64), randn(512)
        out = torch.empty(300, 1, device="cuda")
        stream = torch.cuda.Stream()
        kernel.prepare(stream.cuda_stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=stream):
            kernel.launch(stream.cuda_stream, [x.data_ptr(), w.data_ptr(), b.data_ptr()],
                          out.data_ptr())
        out.fill_(float("nan"))
        graph.replay()
        torch.cuda.synchronize()
        want = torch.tanh((x.double() @ w.double().t() + b.double()).sum(dim=1, keepdim=True))
        self.assertLess(rel_error(out, want), 1e-5)


@unittest.skipUnless(CUDA, "needs a CUDA GPU")
class UnchangedOperands(_FreshDatabase):
    def test_a_launch_names_unchanged_tensors_by_index(self):
        kernel = fusetune.Library(self.database).load("linear(m=32, n=48, k=64) -> relu")
        x, w = randn(32, 64), randn(48, 64)
        out = torch.empty(32, 48, device="cuda")
        stream = torch.cuda.current_stream().cuda_stream
        for _ in range(2):  # a kernel that prepares nothing computes alike
            out.fill_(float("nan"))
            kernel.launch(stream, [x.data_ptr(), w.data_ptr()], out.data_ptr(), unchanged=[1])
            torch.cuda.synchronize()
            self.assertLess(rel_error(out, torch.relu(x.double() @ w.double().t())), 1e-5)
        with self.assertRaises(fusetune.FusetuneError) as caught:
            kernel.launch(stream, [x.data_ptr(), w.data_ptr()], out.data_ptr(), unchanged=[2])
        self.assertEqual(caught.exception.code, "invalid_argument")
        self.assertIn("unchanged tensor 2", str(caught.exception))


@unittest.skipUnless(CUDA and torch.cuda.get_device_capability() == (9, 0), "int8x runs on sm_90")
class ConstantWeights(_FreshDatabase):
    def setUp(self):
        super().setUp()
        fusetune.set_database(self.database)
        ft.set_constant_weights(True)

    def tearDown(self):
        ft.set_constant_weights(False)
        fusetune.set_database(None)
        super().tearDown()

    def test_a_weight_changed_in_place_is_sliced_again(self):
        x, w, b = randn(64, 320), randn(48, 320), randn(48)

        def call():
            return ft.linear(x, w, b, epilogue="relu", precision="int8x")

        first = call()
        want = torch.relu(x.double() @ w.double().t() + b.double())
        self.assertLess(rel_error(first, want), 1e-5)
        # Changed where PyTorch counts no version (.data): the weight's old digits are reused,
        # which shows that they were kept, and why the promise is only for weights that stay.
        w.data.mul_(-1)
        self.assertTrue(torch.equal(call(), first))
        w.mul_(2)  # counted by PyTorch: a new version, sliced again
        self.assertLess(rel_error(call(), torch.relu(x.double() @ w.double().t() + b.double())),
                        1e-5)


@unittest.skipUnless(CUDA, "needs a CUDA GPU")
class ProductionMode(_FreshDatabase):
    def test_no_compile_refuses_a_load_that_would_compile_naming_the_command(self):
        library = fusetune.Library(self.database, no_compile=True)
        with self.assertRaises(fusetune.FusetuneError) as caught:
            library.load("linear(m=64, n=80, k=32) -> relu")
        self.assertEqual(caught.exception.code, "not_found")
        self.assertIn('fusetune tune "linear(m=64, n=80, k=32) -> relu"', str(caught.exception))
        fusetune.Library(self.database).load("linear(m=64, n=80, k=32) -> relu")  # compiles
        self.assertFalse(library.load("linear(m=64, n=80, k=32) -> relu").tuned)


if __name__ == "__main__":
    unittest.main()
