// Reductions and normalizations in the spec language: what they parse to (PyTorch's defaults
// and spellings), the one canonical text each prints as, the signature that elides eps and
// momentum, and the messages for calls PyTorch would refuse or that the chain cannot follow.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

#include "generator/reductions.h"
#include "generator/spec.h"
#include "generator/spec_parser.h"

namespace fusetune {
namespace {

// A GEMM's [M, N] value and a convolution's [N, C, H, W] = [2, 6, 4, 4].
const std::string kLinear = "linear(m=4, n=8, k=16)";
const std::string kConv = "conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3)";

// The one reduction op of `chain` after `main`.
ReductionOp reduction_of(const std::string& main, const std::string& chain) {
  const Spec spec = parse_spec(main + " -> " + chain);
  EXPECT_EQ(spec.chain.size(), 1u) << chain;
  if (spec.chain.empty() || !std::holds_alternative<ReductionOp>(spec.chain.back())) {
    ADD_FAILURE() << chain << " is no reduction";
    return {};
  }
  return std::get<ReductionOp>(spec.chain.back());
}

TEST(ReductionSpec, DimsAreNonNegativeAndAscendingWhateverTheirSpelling) {
  EXPECT_EQ(reduction_of(kLinear, "sum(dim=1)").dims, (std::vector<int>{1}));
  EXPECT_EQ(reduction_of(kLinear, "sum(dim=-1)").dims, (std::vector<int>{1}));
  EXPECT_EQ(reduction_of(kLinear, "sum(-2)").dims, (std::vector<int>{0}));
  EXPECT_EQ(reduction_of(kConv, "mean(dim=(3, -2, 0))").dims, (std::vector<int>{0, 2, 3}));
  EXPECT_EQ(reduction_of(kConv, "amax(dim=(-1, -4))").dims, (std::vector<int>{0, 3}));
  EXPECT_EQ(reduction_of(kConv, "softmax(-3)").dims, (std::vector<int>{1}));
  EXPECT_EQ(reduction_of(kConv, "mean(dim=(3, -2, 0))"),
            reduction_of(kConv, "mean(dim=(0, 2, 3))"));
}

TEST(ReductionSpec, OnlyReducingOpsKeepTheirDims) {
  EXPECT_FALSE(reduction_of(kLinear, "sum(dim=1)").keepdim);
  EXPECT_FALSE(reduction_of(kLinear, "sum(dim=1, keepdim=false)").keepdim);
  EXPECT_TRUE(reduction_of(kLinear, "logsumexp(dim=1, keepdim=true)").keepdim);
  EXPECT_EQ(reduction_of(kLinear, "sum(dim=1, keepdim=false)"), reduction_of(kLinear, "sum(1)"));
}

TEST(ReductionSpec, MaxAndMinWithDimAreAmaxAndAmin) {
  EXPECT_EQ(reduction_of(kLinear, "max(dim=1)"), reduction_of(kLinear, "amax(dim=1)"));
  EXPECT_EQ(reduction_of(kLinear, "min(dim=0)"), reduction_of(kLinear, "amin(dim=0)"));
  EXPECT_EQ(reduction_of(kLinear, "max ( dim = -1 , keepdim=true)"),
            reduction_of(kLinear, "amax(dim=1, keepdim=true)"));
  EXPECT_EQ(reduction_of(kConv, "min(dim=(2, 3))").name, "amin");
}

TEST(ReductionSpec, MaxAndMinWithANumberOrAnOperandStayElementwise) {
  const Spec spec =
      parse_spec(kLinear + " -> max(2.0) -> max(tensor) -> min(column) -> min(-1) -> max(row)");
  ASSERT_EQ(spec.chain.size(), 5u);
  for (const ChainOp& op : spec.chain) EXPECT_TRUE(std::holds_alternative<EpilogueOp>(op));
  EXPECT_EQ(
      std::get<EpilogueOp>(spec.chain[0]),
      (EpilogueOp{.name = "max", .operand = OperandKind::scalar, .scalars = {2.0}, .mode = 0}));
  EXPECT_EQ(std::get<EpilogueOp>(spec.chain[1]),
            (EpilogueOp{.name = "max", .operand = OperandKind::tensor, .scalars = {}, .mode = 0}));
  EXPECT_EQ(spec.output_shape(), (std::vector<std::int64_t>{4, 8}));
}

TEST(ReductionSpec, NormalizationsTakePyTorchsDefaults) {
  const ReductionOp layer_norm = reduction_of(kLinear, "layer_norm");
  EXPECT_EQ(layer_norm.normalized_shape, (std::vector<std::int64_t>{8}));
  EXPECT_TRUE(layer_norm.affine);
  EXPECT_EQ(layer_norm.scalars, (std::vector<double>{1e-5}));

  const ReductionOp group_norm = reduction_of(kConv, "group_norm(3)");
  EXPECT_EQ(group_norm.groups, 3);
  EXPECT_TRUE(group_norm.affine);
  EXPECT_EQ(group_norm.scalars, (std::vector<double>{1e-5}));

  const ReductionOp instance_norm = reduction_of(kConv, "instance_norm");
  EXPECT_FALSE(instance_norm.affine);
  EXPECT_EQ(instance_norm.scalars, (std::vector<double>{1e-5}));

  const ReductionOp batch_norm = reduction_of(kConv, "batch_norm");
  EXPECT_TRUE(batch_norm.affine);
  EXPECT_TRUE(batch_norm.training);
  EXPECT_TRUE(batch_norm.track_running);
  EXPECT_EQ(batch_norm.scalars, (std::vector<double>{1e-5, 0.1}));  // eps, momentum
}

TEST(ReductionSpec, NormalizedShapeDefaultsToTheLastDim) {
  EXPECT_EQ(reduction_of(kLinear, "layer_norm").normalized_shape, (std::vector<std::int64_t>{8}));
  EXPECT_EQ(reduction_of(kConv, "rms_norm()").normalized_shape, (std::vector<std::int64_t>{4}));
  EXPECT_EQ(reduction_of(kConv, "layer_norm((6, 4, 4))").normalized_shape,
            (std::vector<std::int64_t>{6, 4, 4}));
  // After a reduction the last dim is what the reduction left.
  const Spec spec = parse_spec(kConv + " -> sum(dim=3) -> layer_norm");
  EXPECT_EQ(std::get<ReductionOp>(spec.chain[1]).normalized_shape, (std::vector<std::int64_t>{4}));
  const Spec keep = parse_spec(kConv + " -> sum(dim=3, keepdim=true) -> layer_norm");
  EXPECT_EQ(std::get<ReductionOp>(keep.chain[1]).normalized_shape, (std::vector<std::int64_t>{1}));
}

// torch.finfo(dtype).eps of the value it normalizes: the main op's output type.
TEST(ReductionSpec, RmsNormsDefaultEpsIsTheOutputTypesMachineEpsilon) {
  // fp32: 2^-23 = 1.1920928955078125e-07; bf16: 2^-7 = 0.0078125; fp16: 2^-10.
  EXPECT_EQ(reduction_of(kLinear, "rms_norm").scalars,
            (std::vector<double>{1.1920928955078125e-07}));
  EXPECT_EQ(reduction_of("linear(m=4, n=8, k=16, dtype=bf16)", "rms_norm").scalars,
            (std::vector<double>{0.0078125}));
  EXPECT_EQ(reduction_of("linear(m=4, n=8, k=16, dtype=fp16)", "rms_norm").scalars,
            (std::vector<double>{0x1p-10}));
  EXPECT_EQ(reduction_of("linear(m=4, n=8, k=16, dtype=bf16, out_dtype=fp32)", "rms_norm").scalars,
            (std::vector<double>{0x1p-23}));
  EXPECT_EQ(reduction_of("linear(m=4, n=8, k=16, dtype=bf16)", "rms_norm(eps=1e-06)").scalars,
            (std::vector<double>{1e-6}));
  // The other norms' eps is 1e-05 whatever the type.
  EXPECT_EQ(reduction_of("linear(m=4, n=8, k=16, dtype=bf16)", "layer_norm").scalars,
            (std::vector<double>{1e-5}));
}

TEST(ReductionSpec, PyTorchsArgumentNamesAreAliases) {
  EXPECT_EQ(reduction_of(kConv, "group_norm(num_groups=2)"),
            reduction_of(kConv, "group_norm(groups=2)"));
  EXPECT_EQ(reduction_of(kLinear, "layer_norm(elementwise_affine=false)"),
            reduction_of(kLinear, "layer_norm(affine=false)"));
  EXPECT_FALSE(reduction_of(kLinear, "rms_norm(elementwise_affine=false)").affine);
  EXPECT_EQ(reduction_of(kConv, "group_norm(2, eps=0.001)"),
            reduction_of(kConv, "group_norm(eps=0.001, num_groups=2)"));
}

TEST(ReductionSpec, BatchNormWithoutRunningStatisticsUsesTheBatchs) {
  const ReductionOp eval = reduction_of(kConv, "batch_norm(training=false)");
  EXPECT_FALSE(eval.training);
  EXPECT_TRUE(eval.track_running);
  const ReductionOp untracked = reduction_of(kConv, "batch_norm(track_running_stats=false)");
  EXPECT_TRUE(untracked.training);
  EXPECT_FALSE(untracked.track_running);
  // PyTorch's eval mode without running statistics normalizes with the batch's.
  EXPECT_EQ(reduction_of(kConv, "batch_norm(training=false, track_running_stats=false)"),
            untracked);
  // One value per channel is enough when the running statistics are used.
  const Spec single = parse_spec("linear(m=1, n=8, k=16) -> batch_norm(training=false)");
  EXPECT_FALSE(std::get<ReductionOp>(single.chain[0]).training);
}

TEST(ReductionSpec, EveryRegisteredReductionParsesAndPrintsBack) {
  for (const ReductionOpInfo& info : reduction_ops()) {
    std::string text(info.name);
    if (info.group_by == GroupBy::dims) text += "(dim=1)";
    if (info.group_by == GroupBy::channel_groups) text += "(groups=2)";
    const ReductionOp op = reduction_of(kConv, text);
    EXPECT_EQ(op.name, info.name);
    EXPECT_EQ(op.scalars.size(), info.params.size()) << text;
    EXPECT_EQ(op.affine, info.affine != Affine::none && info.affine_by_default) << text;
    const Spec spec = parse_spec(kConv + " -> " + text);
    EXPECT_EQ(parse_spec(spec.canonical()), spec) << text;
  }
}

struct CanonicalCase {
  std::string text;
  std::string canonical;
};

// clang-format off
const CanonicalCase kCanonicalCases[] = {
  // dim= is always named; one dim bare, several in ascending order in parentheses.
  {"linear(m=4, n=8, k=16) -> sum(1)",
   "linear(m=4, n=8, k=16) -> sum(dim=1)"},
  {"linear(m=4, n=8, k=16) -> sum(dim=-1, keepdim=false) -> mean(dim=0, keepdim=true)",
   "linear(m=4, n=8, k=16) -> sum(dim=1) -> mean(dim=0, keepdim=true)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> mean(dim=(3, -2), keepdim=true)",
   "conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> mean(dim=(2, 3), keepdim=true)"},
  {"linear(m=4, n=8, k=16) -> max(dim=1) -> min(dim=-1)",
   "linear(m=4, n=8, k=16) -> amax(dim=1) -> amin(dim=0)"},
  {"linear(m=4, n=8, k=16) -> max(2) -> max(dim=0, keepdim=true) -> min(tensor)",
   "linear(m=4, n=8, k=16) -> max(2.0) -> amax(dim=0, keepdim=true) -> min(tensor)"},
  {"linear(m=4, n=8, k=16) -> logsumexp(dim=(0, 1))",
   "linear(m=4, n=8, k=16) -> logsumexp(dim=(0, 1))"},
  {"linear(m=4, n=8, k=16) -> softmax(-1) -> log_softmax(dim=0)",
   "linear(m=4, n=8, k=16) -> softmax(dim=1) -> log_softmax(dim=0)"},
  // Norms: normalized_shape, groups and every parameter written out; affine only off its default.
  {"linear(m=4, n=8, k=16) -> layer_norm",
   "linear(m=4, n=8, k=16) -> layer_norm(normalized_shape=8, eps=1e-05)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> layer_norm((4, 4), eps=1e-3, elementwise_affine=false)",
   "conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> layer_norm(normalized_shape=(4, 4), eps=0.001, affine=false)"},
  {"linear(m=4, n=8, k=16) -> layer_norm(normalized_shape=(8), affine=true)",
   "linear(m=4, n=8, k=16) -> layer_norm(normalized_shape=8, eps=1e-05)"},
  {"linear(m=4, n=8, k=16) -> rms_norm",
   "linear(m=4, n=8, k=16) -> rms_norm(normalized_shape=8, eps=1.1920928955078125e-07)"},
  {"linear(m=4, n=8, k=16, dtype=bf16) -> rms_norm(8)",
   "linear(m=4, n=8, k=16, dtype=bf16) -> rms_norm(normalized_shape=8, eps=0.0078125)"},
  {"linear(m=4, n=8, k=16, dtype=bf16, out_dtype=fp32) -> rms_norm",
   "linear(m=4, n=8, k=16, dtype=bf16, out_dtype=fp32) -> rms_norm(normalized_shape=8, eps=1.1920928955078125e-07)"},
  {"linear(m=4, n=8, k=16) -> rms_norm(eps=1e-6, affine=false)",
   "linear(m=4, n=8, k=16) -> rms_norm(normalized_shape=8, eps=1e-06, affine=false)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> group_norm(3)",
   "conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> group_norm(groups=3, eps=1e-05)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> group_norm(num_groups=2, eps=0.0001, affine=false)",
   "conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> group_norm(groups=2, eps=0.0001, affine=false)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> instance_norm -> instance_norm(affine=false)",
   "conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> instance_norm(eps=1e-05) -> instance_norm(eps=1e-05)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> instance_norm(affine=true, eps=0.5)",
   "conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> instance_norm(eps=0.5, affine=true)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> batch_norm()",
   "conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> batch_norm(eps=1e-05, momentum=0.1)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> batch_norm(training=true, track_running_stats=true, affine=true)",
   "conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> batch_norm(eps=1e-05, momentum=0.1)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> batch_norm(momentum=0.01, training=false, eps=0.001, affine=false)",
   "conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> batch_norm(eps=0.001, momentum=0.01, affine=false, training=false)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> batch_norm(track_running_stats=false)",
   "conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> batch_norm(eps=1e-05, momentum=0.1, track_running_stats=false)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> batch_norm(training=false, track_running_stats=false)",
   "conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> batch_norm(eps=1e-05, momentum=0.1, track_running_stats=false)"},
  {"linear(m=4, n=8, k=16) -> batch_norm(momentum=0.2) -> bias",
   "linear(m=4, n=8, k=16) -> batch_norm(eps=1e-05, momentum=0.2) -> bias"},
  // Pool steps one after another, then reductions; ops before, between and after.
  {"conv2d(n=1, c=2, h=9, w=9, k=3, kernel=2) -> max_pool2d(2) -> avg_pool2d(2, stride=1) -> global_avg_pool -> sum(dim=1)",
   "conv2d(n=1, c=2, h=9, w=9, k=3, kernel=2) -> max_pool2d(2) -> avg_pool2d(2, stride=1) -> global_avg_pool -> sum(dim=1)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> bias -> group_norm(groups=2) -> sum(dim=(2, 3), keepdim=true) -> mul(channel) -> softmax(dim=1)",
   "conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> bias -> group_norm(groups=2, eps=1e-05) -> sum(dim=(2, 3), keepdim=true) -> mul(channel) -> softmax(dim=1)"},
  {"linear(m=4, n=8, k=16) -> bias -> sum(dim=1) -> mul(0.5) -> sigmoid -> add(tensor)",
   "linear(m=4, n=8, k=16) -> bias -> sum(dim=1) -> mul(0.5) -> sigmoid -> add(tensor)"},
};
// clang-format on

TEST(ReductionSpec, CanonicalTextIsFixedAndParsesBackToTheSameSpec) {
  for (const CanonicalCase& c : kCanonicalCases) {
    const Spec spec = parse_spec(c.text);
    EXPECT_EQ(spec.canonical(), c.canonical) << c.text;
    EXPECT_EQ(parse_spec(spec.canonical()), spec) << c.text;
    EXPECT_EQ(parse_spec(c.canonical).canonical(), c.canonical) << c.text;
  }
}

TEST(ReductionSpec, CanonicalParametersRoundTripExactly) {
  for (double eps : {1e-5, 1e-12, 0.0, 0.1, 1.0 / 3.0}) {
    Spec spec = parse_spec(kConv + " -> batch_norm -> layer_norm");
    std::get<ReductionOp>(spec.chain[0]).scalars = {eps, 1 - eps};
    std::get<ReductionOp>(spec.chain[1]).scalars = {eps};
    EXPECT_EQ(parse_spec(spec.canonical()), spec) << spec.canonical();
  }
}

TEST(ReductionSpec, SignatureElidesEpsAndMomentumOnly) {
  EXPECT_EQ(parse_spec(kLinear + " -> layer_norm(eps=0.001) -> mul(2.0) -> sum(dim=1, "
                                 "keepdim=true)")
                .signature(),
            "linear(m=4, n=8, k=16) -> layer_norm(normalized_shape=8, eps=_) -> mul(_) -> "
            "sum(dim=1, keepdim=true)");
  EXPECT_EQ(
      parse_spec(kConv + " -> batch_norm(momentum=0.3, training=false, affine=false)").signature(),
      kConv + " -> batch_norm(eps=_, momentum=_, affine=false, training=false)");
  EXPECT_EQ(parse_spec(kConv + " -> group_norm(2) -> instance_norm -> softmax(1)").signature(),
            kConv + " -> group_norm(groups=2, eps=_) -> instance_norm(eps=_) -> softmax(dim=1)");
  EXPECT_EQ(parse_spec("linear(m=4, n=8, k=16, dtype=bf16) -> rms_norm").signature(),
            "linear(m=4, n=8, k=16, dtype=bf16) -> rms_norm(normalized_shape=8, eps=_)");
}

TEST(ReductionSpec, SpecsDifferingOnlyInEpsOrMomentumShareASignature) {
  const Spec a = parse_spec(kConv + " -> batch_norm -> layer_norm");
  const Spec b = parse_spec(kConv + " -> batch_norm(eps=0.1, momentum=0.5) -> layer_norm(eps=1)");
  EXPECT_NE(a, b);
  EXPECT_NE(a.canonical(), b.canonical());
  EXPECT_EQ(a.signature(), b.signature());
  for (const char* other :
       {"batch_norm(training=false) -> layer_norm", "batch_norm(affine=false) -> layer_norm",
        "batch_norm(track_running_stats=false) -> layer_norm", "batch_norm -> layer_norm((4, 4))",
        "batch_norm -> rms_norm"})
    EXPECT_NE(parse_spec(kConv + " -> " + other).signature(), a.signature()) << other;
  EXPECT_NE(parse_spec(kLinear + " -> sum(dim=1)").signature(),
            parse_spec(kLinear + " -> sum(dim=1, keepdim=true)").signature());
  EXPECT_NE(parse_spec(kLinear + " -> sum(dim=1)").signature(),
            parse_spec(kLinear + " -> sum(dim=0)").signature());
}

// What a reduction leaves possible: a normalization keeps the value's layout, so its operands
// stay; a reducing op's result takes full tensors, and channel vectors while it keeps channels.
TEST(ReductionSpec, OperandsThatStillFitTheValueAreAllowed) {
  EXPECT_NO_THROW(parse_spec(kLinear + " -> softmax(dim=1) -> mul(column) -> add(row) -> bias"));
  EXPECT_NO_THROW(parse_spec(kLinear + " -> sum(dim=1) -> mul(0.5) -> sigmoid -> add(tensor)"));
  EXPECT_NO_THROW(parse_spec(kConv + " -> group_norm(3) -> bias -> mul(channel) -> max_pool2d(2)"));
  EXPECT_NO_THROW(parse_spec(kConv + " -> sum(dim=(2, 3), keepdim=true) -> mul(channel)"));
  EXPECT_NO_THROW(parse_spec(kConv + " -> amax(dim=2) -> add(channel) -> bias"));
  EXPECT_NO_THROW(parse_spec(kConv + " -> sum(dim=0, keepdim=true) -> mul(channel)"));
}

// sum(dim=(2, 3), keepdim=true) leaves [N, C, 1, 1]: positions of extent 1, which PyTorch's
// adaptive_avg_pool2d(1) takes (and max_pool2d(2) refuses for its window, see the errors below).
TEST(ReductionSpec, DimsKeptAsOnesAreStillPositionsToPool) {
  const Spec spec = parse_spec(kConv + " -> sum(dim=(2, 3), keepdim=true) -> global_avg_pool");
  EXPECT_EQ(spec.output_shape(), (std::vector<std::int64_t>{2, 6, 1, 1}));
}

// F.instance_norm refuses a value with one position per channel ("Expected more than 1 spatial
// element when training"): each channel would standardize to 0.
TEST(ReductionSpec, InstanceNormNeedsMoreThanOnePositionPerChannel) {
  const std::string text = kConv + " -> global_avg_pool -> instance_norm";
  try {
    parse_spec(text);
    ADD_FAILURE() << "parsed without an error: " << text;
  } catch (const SpecError& error) {
    EXPECT_EQ(error.position(), text.find("instance_norm")) << error.what();
  }
}

// A value that every dim was summed out of is 0-d: layer_norm and rms_norm have no last dim to
// take as their normalized_shape. Run in a child process, since the parser must fail cleanly.
TEST(ReductionSpecDeathTest, NormalizingAZeroDimValueIsASpecErrorNotACrash) {
  for (const char* norm : {"layer_norm", "rms_norm"}) {
    const std::string text = kLinear + " -> sum(dim=(0, 1)) -> " + norm;
    EXPECT_EXIT(
        {
          try {
            parse_spec(text);
          } catch (const SpecError& error) {
            std::exit(error.position() == text.rfind(norm) ? 0 : 2);
          }
          std::exit(1);
        },
        testing::ExitedWithCode(0), "")
        << text;
  }
}

struct ErrorCase {
  std::string text;
  std::string caret;  // written under `text`: '^' marks the offending character
  std::string problem;
};

// clang-format off
const ErrorCase kErrorCases[] = {
  // Arguments each op does not take: the message shows the op's usage.
  {"linear(m=4, n=8, k=16) -> softmax(dim=1, keepdim=true)",
   "                                         ^",
   "unknown argument 'keepdim' of softmax; usage: softmax(dim=1)"},
  {"linear(m=4, n=8, k=16) -> sum(dim=1, eps=1e-05)",
   "                                     ^",
   "unknown argument 'eps' of sum; usage: sum(dim=1 or dim=(2, 3), keepdim=false)"},
  {"linear(m=4, n=8, k=16) -> layer_norm(dim=1)",
   "                                     ^",
   "unknown argument 'dim' of layer_norm; usage: layer_norm(normalized_shape=(...), eps=1e-05, affine=true)"},
  {"linear(m=4, n=8, k=16) -> rms_norm(bias=false)",
   "                                   ^",
   "unknown argument 'bias' of rms_norm; usage: rms_norm(normalized_shape=(...), eps=<dtype's epsilon>, affine=true)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> group_norm(groups=2, keepdim=true)",
   "                                                                  ^",
   "unknown argument 'keepdim' of group_norm; usage: group_norm(groups=8, eps=1e-05, affine=true)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> instance_norm(momentum=0.1)",
   "                                                           ^",
   "unknown argument 'momentum' of instance_norm; usage: instance_norm(eps=1e-05, affine=false)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> batch_norm(groups=2)",
   "                                                        ^",
   "unknown argument 'groups' of batch_norm; usage: batch_norm(eps=1e-05, momentum=0.1, affine=true, training=true, track_running_stats=true)"},
  // A near miss gets a suggestion instead.
  {"linear(m=4, n=8, k=16) -> sum(dim=1, keepdims=true)",
   "                                     ^",
   "unknown argument 'keepdims' of sum; did you mean 'keepdim'?"},
  {"linear(m=4, n=8, k=16) -> group_norm(num_group=2)",
   "                                     ^",
   "unknown argument 'num_group' of group_norm; did you mean 'num_groups'?"},
  // dim: in [-rank, rank) of the value where the op stands, once each.
  {"linear(m=4, n=8, k=16) -> sum(dim=2)",
   "                                  ^",
   "dim must be an integer from -2 to 1: the value here is 2-d [4, 8]"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> softmax(dim=-5)",
   "                                                         ^",
   "dim must be an integer from -4 to 3: the value here is 4-d [2, 6, 4, 4]"},
  {"linear(m=4, n=8, k=16) -> sum(dim=1) -> mean(dim=1)",
   "                                                 ^",
   "dim must be an integer from -1 to 0: the value here is 1-d [4]"},
  {"linear(m=4, n=8, k=16) -> amax(dim=1.5)",
   "                                   ^",
   "dim must be an integer from -2 to 1: the value here is 2-d [4, 8]"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> mean(dim=(3, -1))",
   "                                                          ^",
   "dim 3 appears twice"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> sum(dim=(1, 2, 1))",
   "                                                            ^",
   "dim 1 appears twice"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> softmax(dim=(2, 3))",
   "                                                     ^",
   "softmax takes one dim, not a tuple"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> log_softmax((1, 2))",
   "                                                         ^",
   "log_softmax takes one dim, not a tuple"},
  // normalized_shape: the trailing extents of the value.
  {"linear(m=4, n=8, k=16) -> layer_norm(normalized_shape=4)",
   "                                     ^",
   "normalized_shape (4) must be the last dims of the value, which is [4, 8]"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> rms_norm((6, 4))",
   "                                                      ^",
   "normalized_shape (6, 4) must be the last dims of the value, which is [2, 6, 4, 4]"},
  {"linear(m=4, n=8, k=16) -> layer_norm(normalized_shape=(2, 4, 8))",
   "                                     ^",
   "normalized_shape (2, 4, 8) must be the last dims of the value, which is [4, 8]"},
  {"linear(m=4, n=8, k=16) -> layer_norm(normalized_shape=0)",
   "                                                      ^",
   "normalized_shape holds extents from 1 to 2147483647"},
  // groups: a divisor of the value's channels.
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> group_norm(groups=4)",
   "                                                        ^",
   "groups=4 must divide the 6 channels of the value [2, 6, 4, 4]"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> group_norm(4)",
   "                                                        ^",
   "groups=4 must divide the 6 channels of the value [2, 6, 4, 4]"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> group_norm(num_groups=5)",
   "                                                        ^",
   "groups=5 must divide the 6 channels of the value [2, 6, 4, 4]"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> group_norm(groups=0)",
   "                                                               ^",
   "groups must be an integer from 1 to 65536"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> group_norm(groups=(2, 3))",
   "                                                        ^",
   "groups of group_norm takes one value, not a tuple"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> group_norm(eps=1e-05)",
   "                                                                 ^",
   "group_norm needs groups=: write group_norm(groups=8, eps=1e-05, affine=true)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> group_norm",
   "                                                       ^",
   "group_norm needs groups=: write group_norm(groups=8, eps=1e-05, affine=true)"},
  // instance_norm needs positions; batch_norm in training needs two values per channel.
  {"linear(m=4, n=8, k=16) -> instance_norm",
   "                          ^",
   "instance_norm normalizes positions: it needs a value [N, C, ...], and this one is [4, 8]"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> sum(dim=(2, 3)) -> instance_norm(affine=true)",
   "                                                                ^",
   "instance_norm normalizes positions: it needs a value [N, C, ...], and this one is [2, 6]"},
  {"linear(m=1, n=8, k=16) -> batch_norm",
   "                          ^",
   "batch_norm in training mode needs more than one value per channel; the value [1, 8] has 1"},
  {"conv2d(n=1, c=3, h=6, w=6, k=6, kernel=3) -> global_avg_pool -> batch_norm(momentum=0.5)",
   "                                                                ^",
   "batch_norm in training mode needs more than one value per channel; the value [1, 6, 1, 1] has 1"},
  {"linear(m=4, n=8, k=16) -> sum(dim=1) -> batch_norm",
   "                                        ^",
   "batch_norm needs a value [N, C, ...]; this one is [4]"},
  // dim is required; only the first argument goes without its name.
  {"linear(m=4, n=8, k=16) -> sum()",
   "                              ^",
   "sum needs dim=: write sum(dim=1 or dim=(2, 3), keepdim=false)"},
  {"linear(m=4, n=8, k=16) -> sum(keepdim=true)",
   "                                          ^",
   "sum needs dim=: write sum(dim=1 or dim=(2, 3), keepdim=false)"},
  {"linear(m=4, n=8, k=16) -> softmax",
   "                                 ^",
   "softmax needs dim=: write softmax(dim=1)"},
  {"linear(m=4, n=8, k=16) -> amax -> relu",
   "                              ^",
   "amax needs dim=: write amax(dim=1 or dim=(2, 3), keepdim=false)"},
  {"linear(m=4, n=8, k=16) -> sum(keepdim=true, 1)",
   "                                            ^",
   "only the first argument of sum may go without its name; usage: sum(dim=1 or dim=(2, 3), keepdim=false)"},
  {"linear(m=4, n=8, k=16) -> layer_norm(8, 1e-05)",
   "                                        ^",
   "only the first argument of layer_norm may go without its name; usage: layer_norm(normalized_shape=(...), eps=1e-05, affine=true)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> batch_norm(1e-05)",
   "                                                        ^",
   "the arguments of batch_norm are named; usage: batch_norm(eps=1e-05, momentum=0.1, affine=true, training=true, track_running_stats=true)"},
  {"linear(m=4, n=8, k=16) -> sum(dim 1)",
   "                                  ^",
   "expected '=' after dim: the arguments of sum are named; usage: sum(dim=1 or dim=(2, 3), keepdim=false)"},
  {"linear(m=4, n=8, k=16) -> sum(dim=1, dim=0)",
   "                                     ^",
   "dim of sum is given twice"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> group_norm(2, num_groups=2)",
   "                                                           ^",
   "groups of group_norm is given twice"},
  {"linear(m=4, n=8, k=16) -> layer_norm(affine=false, elementwise_affine=false)",
   "                                                   ^",
   "affine of layer_norm is given twice"},
  {"linear(m=4, n=8, k=16) -> sum(dim=1 keepdim=true)",
   "                                    ^",
   "expected ',' or ')' in the arguments of sum; usage: sum(dim=1 or dim=(2, 3), keepdim=false)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> sum(dim=(2 3))",
   "                                                        ^",
   "expected ',' or ')' in the values of dim of sum"},
  // Booleans are true or false; eps is a number, not negative.
  {"linear(m=4, n=8, k=16) -> sum(dim=1, keepdim=1)",
   "                                             ^",
   "keepdim of sum must be true or false"},
  {"linear(m=4, n=8, k=16) -> layer_norm(elementwise_affine=yes)",
   "                                                        ^",
   "affine of layer_norm must be true or false"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> batch_norm(training=False)",
   "                                                                 ^",
   "training of batch_norm must be true or false"},
  {"linear(m=4, n=8, k=16) -> layer_norm(eps=-1e-05)",
   "                                         ^",
   "eps of layer_norm must not be negative"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> batch_norm(momentum=fast)",
   "                                                                 ^",
   "momentum of batch_norm must be a number"},
  // What a reduction rules out after it: vectors over dims it removed, main, pools over lost positions.
  {"linear(m=4, n=8, k=16) -> sum(dim=1) -> bias",
   "                                        ^",
   "bias adds a vector per output column, and the value [4] has none left"},
  {"linear(m=4, n=8, k=16) -> sum(dim=0) -> mul(column)",
   "                                            ^",
   "mul(column) needs the value's rows and columns, and a reduction left it [8]; use mul(tensor)"},
  {"linear(m=4, n=8, k=16) -> amax(dim=1, keepdim=true) -> add(row)",
   "                                                           ^",
   "add(row) needs the value's rows and columns, and a reduction left it [4, 1]; use add(tensor)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> sum(dim=1) -> mul(channel)",
   "                                                               ^",
   "mul(channel) needs the value's channels, and a reduction left it [2, 4, 4]; use mul(tensor)"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> sum(dim=1) -> bias",
   "                                                           ^",
   "bias adds a vector per output channel, and the value [2, 4, 4] has none left"},
  {"linear(m=4, n=8, k=16) -> logsumexp(dim=1) -> add(main)",
   "                                                  ^",
   "main is the main op's result before any pool step or reduction; use it before them"},
  {"linear(m=4, n=8, k=16) -> bias -> softmax(dim=1) -> mul(main)",
   "                                                        ^",
   "main is the main op's result before any pool step or reduction; use it before them"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> mean(dim=(2, 3)) -> max_pool2d(2)",
   "                                                                 ^",
   "max_pool2d pools positions, and the value [2, 6] has lost them to a reduction"},
  {"conv2d(n=2, c=3, h=6, w=6, k=6, kernel=3) -> sum(dim=(2, 3), keepdim=true) -> max_pool2d(2)",
   "                                                                              ^",
   "the pool's kernel 2 is larger than the padded input along h (the value is 1 wide there, padding 0)"},
};
// clang-format on

TEST(ReductionSpec, ErrorsSayWhatIsWrongAndWhere) {
  for (const ErrorCase& c : kErrorCases) {
    try {
      parse_spec(c.text);
      ADD_FAILURE() << "parsed without an error: " << c.text;
    } catch (const SpecError& error) {
      EXPECT_EQ(error.position(), c.caret.find('^')) << c.text;
      EXPECT_EQ(error.what(), "invalid spec: " + c.problem + "\n  " + c.text + "\n  " + c.caret)
          << c.text;
    }
  }
}

}  // namespace
}  // namespace fusetune
