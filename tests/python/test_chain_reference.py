"""fusetune.torch's reference for the chain's reductions, normalizations and pool steps, against
the same models written out by hand in PyTorch (float64, on the CPU), and the shapes describe()
gives them. None of it needs a GPU."""

import unittest

import torch
import torch.nn.functional as F

import fusetune
import fusetune.torch as ft

F64 = dict(dtype=torch.float64)


def randn(*shape):
    return torch.randn(*shape, **F64)


def linear_inputs(m, n, k):
    return randn(m, k), randn(n, k), randn(n)


class Case(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)

    def check(self, spec, tensors, want):
        """The reference of `spec` on `tensors` is `want`, and describe() said its shape."""
        got = ft.reference(spec, *tensors)
        torch.testing.assert_close(got, want)
        self.assertEqual(fusetune.describe(spec).output_shape, tuple(want.shape))


class Reductions(Case):
    def test_softmax_and_log_softmax_over_rows_and_columns(self):
        x, w, b = linear_inputs(5, 7, 3)
        y = F.linear(x, w, b)
        head = "linear(m=5, n=7, k=3) -> bias"
        self.check(f"{head} -> softmax(dim=1)", (x, w, b), torch.softmax(y, dim=1))
        self.check(f"{head} -> softmax(dim=0)", (x, w, b), torch.softmax(y, dim=0))
        self.check(f"{head} -> log_softmax(dim=-1)", (x, w, b), torch.log_softmax(y, dim=1))

    def test_negative_dims_are_normalized_by_the_parser(self):
        d = fusetune.describe("conv2d(n=2, c=3, h=5, w=7, k=4, kernel=3) -> amax(dim=(-1, -2))")
        self.assertEqual(d.chain[0]["dims"], [2, 3])
        self.assertEqual(d.canonical, "conv2d(n=2, c=3, h=5, w=7, k=4, kernel=3) -> "
                                      "amax(dim=(2, 3))")

    def test_sum_mean_amax_amin_logsumexp_with_and_without_keepdim(self):
        x, w = randn(2, 3, 5, 7), randn(4, 3, 3, 3)
        y = F.conv2d(x, w)
        head = "conv2d(n=2, c=3, h=5, w=7, k=4, kernel=3)"
        for name in ("sum", "mean", "amax", "amin", "logsumexp"):
            for keepdim in (False, True):
                with self.subTest(name=name, keepdim=keepdim):
                    spec = f"{head} -> {name}(dim=(-1, 2), keepdim={str(keepdim).lower()})"
                    want = getattr(torch, name)(y, dim=(2, 3), keepdim=keepdim)
                    self.check(spec, (x, w), want)

    def test_max_and_min_with_dim_are_amax_and_amin(self):
        x, w = linear_inputs(5, 7, 3)[:2]
        y = F.linear(x, w)
        self.check("linear(m=5, n=7, k=3) -> max(dim=1)", (x, w), torch.amax(y, dim=1))
        self.check("linear(m=5, n=7, k=3) -> min(dim=0, keepdim=true)", (x, w),
                   torch.amin(y, dim=0, keepdim=True))
        self.check("linear(m=5, n=7, k=3) -> max(0.5)", (x, w), torch.clamp(y, min=0.5))

    def test_a_reduction_over_every_dim_leaves_a_scalar(self):
        x, w = linear_inputs(5, 7, 3)[:2]
        self.check("linear(m=5, n=7, k=3) -> sum(dim=(0, 1))", (x, w), F.linear(x, w).sum())

    def test_elementwise_ops_after_a_reduction(self):
        x, w, b = linear_inputs(6, 9, 4)
        spec = "linear(m=6, n=9, k=4) -> bias -> sum(dim=1) -> mul(0.5) -> sigmoid"
        self.check(spec, (x, w, b), torch.sigmoid(F.linear(x, w, b).sum(dim=1) * 0.5))
        spec = ("linear(m=6, n=9, k=4) -> bias -> logsumexp(dim=1, keepdim=true) -> "
                "leaky_relu(0.01) -> add(tensor)")
        t = randn(6, 1)
        want = F.leaky_relu(torch.logsumexp(F.linear(x, w, b), dim=1, keepdim=True), 0.01) + t
        self.check(spec, (x, w, b, t), want)

    def test_a_channel_operand_after_a_kept_reduction(self):
        x, w, b, c = randn(2, 3, 5, 7), randn(4, 3, 3, 3), randn(4), randn(4, 1, 1)
        spec = ("conv2d(n=2, c=3, h=5, w=7, k=4, kernel=3) -> bias -> mean(dim=(2, 3), "
                "keepdim=true) -> add(channel)")
        self.check(spec, (x, w, b, c), F.conv2d(x, w, b).mean(dim=(2, 3), keepdim=True) + c)


class Normalizations(Case):
    def test_layer_norm_over_a_linear_row_and_over_a_convolution_s_trailing_dims(self):
        x, w, b = linear_inputs(5, 7, 3)
        g, h = randn(7), randn(7)
        spec = "linear(m=5, n=7, k=3) -> bias -> layer_norm -> gelu"
        want = F.gelu(F.layer_norm(F.linear(x, w, b), (7,), g, h, 1e-5))
        self.check(spec, (x, w, b, g, h), want)
        x, w = randn(2, 3, 5, 7), randn(4, 3, 3, 3)
        g, h = randn(4, 3, 5), randn(4, 3, 5)
        spec = ("conv2d(n=2, c=3, h=5, w=7, k=4, kernel=3) -> "
                "layer_norm(normalized_shape=(4, 3, 5), eps=0.001)")
        self.check(spec, (x, w, g, h), F.layer_norm(F.conv2d(x, w), (4, 3, 5), g, h, 1e-3))
        x, w = linear_inputs(1, 7, 3)[:2]  # one row
        spec = "linear(m=1, n=7, k=3) -> layer_norm(elementwise_affine=false)"
        self.check(spec, (x, w), F.layer_norm(F.linear(x, w), (7,)))

    def test_rms_norm_with_its_weight_and_without(self):
        x, w, b = linear_inputs(5, 7, 3)
        g = randn(7)
        y = F.linear(x, w, b)
        want = y * torch.rsqrt(y.square().mean(dim=1, keepdim=True) + 1e-6) * g
        self.check("linear(m=5, n=7, k=3) -> bias -> rms_norm(eps=1e-06)", (x, w, b, g), want)
        x, w = randn(2, 3, 5, 7), randn(4, 3, 3, 3)
        y = F.conv2d(x, w)
        eps = torch.finfo(torch.float32).eps  # the default: the fp32 spec's dtype's
        want = y * torch.rsqrt(y.square().mean(dim=(2, 3), keepdim=True) + eps)
        spec = "conv2d(n=2, c=3, h=5, w=7, k=4, kernel=3) -> rms_norm((3, 5), affine=false)"
        self.check(spec, (x, w), want)

    def test_group_norm_with_one_group_groups_of_one_channel_and_in_between(self):
        for groups in (1, 2, 6):
            with self.subTest(groups=groups):
                x, w, b = randn(2, 3, 5, 6, 7), randn(6, 3, 2, 3, 2), randn(6)
                g, h = randn(6), randn(6)
                spec = (f"conv3d(n=2, c=3, d=5, h=6, w=7, k=6, kernel=(2, 3, 2)) -> bias -> "
                        f"group_norm({groups}) -> silu")
                want = F.silu(F.group_norm(F.conv3d(x, w, b), groups, g, h, 1e-5))
                self.check(spec, (x, w, b, g, h), want)

    def test_group_norm_of_a_linear_value_groups_its_columns(self):
        x, w, b = linear_inputs(5, 12, 3)
        g, h = randn(12), randn(12)
        spec = "linear(m=5, n=12, k=3) -> bias -> group_norm(groups=4, eps=0.0001) -> relu"
        want = F.relu(F.group_norm(F.linear(x, w, b), 4, g, h, 1e-4))
        self.check(spec, (x, w, b, g, h), want)
        spec = "linear(m=5, n=12, k=3) -> bias -> group_norm(groups=4, affine=false)"
        self.check(spec, (x, w, b), F.group_norm(F.linear(x, w, b), 4, eps=1e-5))

    def test_instance_norm_plain_and_affine(self):
        x, w, b = randn(2, 3, 6, 7), randn(5, 3, 3, 3), randn(5)
        spec = "conv2d(n=2, c=3, h=6, w=7, k=5, kernel=3) -> bias -> instance_norm -> div(2.0)"
        self.check(spec, (x, w, b), F.instance_norm(F.conv2d(x, w, b)) / 2.0)
        x, w, g, h = randn(2, 3, 4, 5, 7), randn(5, 3, 3, 3, 3), randn(5), randn(5)
        spec = ("conv3d(n=2, c=3, d=4, h=5, w=7, k=5, kernel=3, padding=1) -> "
                "instance_norm(eps=0.01, affine=true)")
        want = F.instance_norm(F.conv3d(x, w, padding=1), weight=g, bias=h, eps=0.01)
        self.check(spec, (x, w, g, h), want)


class BatchNorm(Case):
    def running(self, channels):
        return randn(channels), torch.rand(channels, **F64) + 0.5

    def test_training_mode_normalizes_by_the_batch_and_updates_the_running_statistics(self):
        x, w, b = randn(2, 3, 4, 3, 5), randn(3, 6, 3, 3, 3), randn(6)
        mean, var = self.running(6)
        g, h = randn(6), randn(6)
        spec = ("conv_transpose3d(n=2, c=3, d=4, h=3, w=5, k=6, kernel=3, stride=2) -> bias -> "
                "batch_norm(momentum=0.3) -> leaky_relu(0.1)")
        want_mean, want_var = mean.clone(), var.clone()
        y = F.conv_transpose3d(x, w, b, stride=2)
        want = F.leaky_relu(F.batch_norm(y, want_mean, want_var, g, h, training=True,
                                         momentum=0.3, eps=1e-5), 0.1)
        self.check(spec, (x, w, b, mean, var, g, h), want)
        torch.testing.assert_close((mean, var), (want_mean, want_var))  # updated, once
        self.assertEqual([t.updated for t in fusetune.describe(spec).tensors],
                         [False, False, False, True, True, False, False])

    def test_eval_mode_uses_the_running_statistics_and_leaves_them(self):
        x, w, b = linear_inputs(5, 7, 3)
        mean, var = self.running(7)
        g, h = randn(7), randn(7)
        before = mean.clone(), var.clone()
        spec = "linear(m=5, n=7, k=3) -> bias -> batch_norm(training=false, eps=0.001)"
        want = F.batch_norm(F.linear(x, w, b), mean, var, g, h, training=False, eps=1e-3)
        self.check(spec, (x, w, b, mean, var, g, h), want)
        torch.testing.assert_close((mean, var), before)
        self.assertFalse(any(t.updated for t in fusetune.describe(spec).tensors))

    def test_a_linear_value_is_normalized_over_its_rows_per_column(self):
        x, w, b = linear_inputs(9, 7, 3)
        mean, var = self.running(7)
        g, h = randn(7), randn(7)
        want_mean, want_var = mean.clone(), var.clone()
        want = F.batch_norm(F.linear(x, w, b), want_mean, want_var, g, h, training=True)
        self.check("linear(m=9, n=7, k=3) -> bias -> batch_norm", (x, w, b, mean, var, g, h),
                   want)
        torch.testing.assert_close((mean, var), (want_mean, want_var))

    def test_without_running_statistics_or_affine_parameters(self):
        x, w = randn(3, 2, 5, 5), randn(4, 2, 3, 3)
        spec = ("conv2d(n=3, c=2, h=5, w=5, k=4, kernel=3) -> "
                "batch_norm(track_running_stats=false, affine=false)")
        self.assertEqual(len(fusetune.describe(spec).tensors), 2)
        self.check(spec, (x, w), F.batch_norm(F.conv2d(x, w), None, None, training=True))


class Pools(Case):
    def test_pool_steps_in_a_row(self):
        x, w, b = randn(2, 3, 9, 10, 11), randn(4, 3, 2, 2, 2), randn(4)
        spec = ("conv3d(n=2, c=3, d=9, h=10, w=11, k=4, kernel=2) -> bias -> softmax(dim=1) -> "
                "max_pool3d(2) -> max_pool3d(2)")
        want = F.max_pool3d(F.max_pool3d(torch.softmax(F.conv3d(x, w, b), dim=1), 2), 2)
        self.check(spec, (x, w, b), want)
        d = fusetune.describe(spec)
        self.assertEqual([e["out_shape"] for e in d.chain],
                         [[2, 4, 8, 9, 10], [2, 4, 8, 9, 10], [2, 4, 4, 4, 5], [2, 4, 2, 2, 2]])

    def test_average_then_global_pooling(self):
        x, w = randn(2, 3, 5, 7), randn(3, 4, 3, 3)
        spec = ("conv_transpose2d(n=2, c=3, h=5, w=7, k=4, kernel=3, stride=2) -> "
                "avg_pool2d(kernel=3, stride=2, padding=1) -> global_avg_pool")
        y = F.avg_pool2d(F.conv_transpose2d(x, w, stride=2), 3, 2, 1, count_include_pad=True)
        self.check(spec, (x, w), y.mean(dim=(2, 3), keepdim=True))

    def test_pool_then_a_reduction_then_elementwise_ops(self):
        x, w, b = randn(3, 2, 5, 7), randn(2, 4, 3, 3), randn(4)
        spec = ("conv_transpose2d(n=3, c=2, h=5, w=7, k=4, kernel=3, stride=2) -> bias -> "
                "max_pool2d(2) -> hardtanh(-1.0, 1.0) -> mean(dim=(2, 3)) -> tanh")
        y = F.max_pool2d(F.conv_transpose2d(x, w, b, stride=2), 2)
        self.check(spec, (x, w, b), torch.tanh(F.hardtanh(y, -1.0, 1.0).mean(dim=(2, 3))))


class Describe(unittest.TestCase):
    def test_the_chain_lists_every_op_with_its_operands_and_shapes(self):
        spec = ("conv2d(n=2, c=3, h=6, w=6, k=8, kernel=3) -> bias -> group_norm(4) -> "
                "max_pool2d(2) -> sum(dim=1)")
        d = fusetune.describe(spec)
        self.assertEqual([(e["kind"], e["op"]) for e in d.chain],
                         [("elementwise", "bias"), ("reduction", "group_norm"),
                          ("pool", "max_pool2d"), ("reduction", "sum")])
        self.assertEqual([t.name for t in d.tensors],
                         ["x", "weight", "bias", "group_norm_weight", "group_norm_bias"])
        self.assertEqual(d.chain[1]["tensors"], [3, 4])
        self.assertEqual(d.chain[2]["pool"], "max")
        self.assertEqual(d.main_value_stages, 1)
        self.assertEqual(d.output_shape, (2, 2, 2))

    def test_batch_norm_lists_running_statistics_before_weight_and_bias(self):
        spec = "linear(m=4, n=8, k=16) -> batch_norm -> batch_norm(affine=false)"
        d = fusetune.describe(spec)
        self.assertEqual([(t.name, t.shape, t.updated) for t in d.tensors[2:]],
                         [("batch_norm_running_mean", (8,), True),
                          ("batch_norm_running_var", (8,), True),
                          ("batch_norm_weight", (8,), False), ("batch_norm_bias", (8,), False),
                          ("batch_norm_running_mean_2", (8,), True),
                          ("batch_norm_running_var_2", (8,), True)])
        self.assertEqual(d.scalars, (("batch_norm.eps", 1e-5), ("batch_norm.momentum", 0.1),
                                     ("batch_norm.eps_2", 1e-5), ("batch_norm.momentum_2", 0.1)))

    def test_linear_gives_x_s_leading_dims_back_while_the_rows_remain(self):
        x, w = torch.empty(2, 3, 16, device="meta"), torch.empty(8, 16, device="meta")
        shapes = {"logsumexp(dim=1)": (2, 3), "sum(dim=1, keepdim=true)": (2, 3, 1),
                  "softmax(dim=0)": (2, 3, 8), "sum(dim=0)": (8,), "amax(dim=(0, 1))": ()}
        for epilogue, shape in shapes.items():
            with self.subTest(epilogue=epilogue):
                self.assertEqual(tuple(ft.linear(x, w, epilogue=epilogue).shape), shape)


if __name__ == "__main__":
    unittest.main()
