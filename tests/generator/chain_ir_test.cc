// The chain's IR: the value's shape before and after each op, which elements each reduction
// combines (checked element by element against the ops' definitions), and where each op's
// operand tensors and scalars are among a launch's arguments.
#include "generator/chain_ir.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "generator/spec_parser.h"

namespace fusetune {
namespace {

// [N, C, H, W] = [2, 6, 3, 4] after the convolution.
const std::string kConv = "conv2d(n=2, c=3, h=4, w=5, k=6, kernel=2)";
const std::string kLinear = "linear(m=4, n=8, k=16)";

ChainIR ir_of(const std::string& text) { return compile_chain(parse_spec(text)); }

std::vector<std::pair<Shape, Shape>> stage_shapes(const ChainIR& ir) {
  std::vector<std::pair<Shape, Shape>> shapes;
  for (const Stage& stage : ir.stages) shapes.emplace_back(stage.in_shape, stage.out_shape);
  return shapes;
}

using Shapes = std::vector<std::pair<Shape, Shape>>;

TEST(ChainIR, EachStageRecordsTheValuesShapeBeforeAndAfterIt) {
  const ChainIR ir = ir_of(kLinear + " -> sum(dim=1) -> mul(0.5) -> sigmoid");
  EXPECT_EQ(ir.main_shape, (Shape{4, 8}));
  EXPECT_EQ(stage_shapes(ir), (Shapes{{{4, 8}, {4}}, {{4}, {4}}, {{4}, {4}}}));
  EXPECT_EQ(ir.shape(), (Shape{4}));
  EXPECT_EQ(parse_spec(kLinear + " -> sum(dim=1) -> mul(0.5) -> sigmoid").output_shape(),
            (Shape{4}));
}

TEST(ChainIR, ReducingOpsDropTheirDimsOrKeepThemAsOnes) {
  EXPECT_EQ(ir_of(kConv + " -> sum(dim=(2, 3))").shape(), (Shape{2, 6}));
  EXPECT_EQ(ir_of(kConv + " -> sum(dim=(2, 3), keepdim=true)").shape(), (Shape{2, 6, 1, 1}));
  EXPECT_EQ(ir_of(kConv + " -> amax(dim=-1)").shape(), (Shape{2, 6, 3}));
  EXPECT_EQ(ir_of(kConv + " -> mean(dim=0, keepdim=true)").shape(), (Shape{1, 6, 3, 4}));
  EXPECT_EQ(ir_of(kConv + " -> amin(dim=(0, 2))").shape(), (Shape{6, 4}));
  EXPECT_EQ(ir_of(kConv + " -> logsumexp(dim=(0, 1, 2, 3))").shape(), (Shape{}));
  EXPECT_EQ(ir_of(kConv + " -> logsumexp(dim=(0, 1, 2, 3), keepdim=true)").shape(),
            (Shape{1, 1, 1, 1}));
  // Dims count in the value each op sees: dim 2 of [2, 6, 4] is the old dim 3.
  EXPECT_EQ(stage_shapes(ir_of(kConv + " -> sum(dim=2) -> amax(dim=2, keepdim=true)")),
            (Shapes{{{2, 6, 3, 4}, {2, 6, 4}}, {{2, 6, 4}, {2, 6, 1}}}));
}

TEST(ChainIR, NormalizationsKeepTheShape) {
  const ChainIR ir = ir_of(kConv +
                           " -> softmax(dim=1) -> log_softmax(dim=3) -> layer_norm((3, 4)) -> "
                           "rms_norm -> group_norm(2) -> instance_norm -> batch_norm");
  ASSERT_EQ(ir.stages.size(), 7u);
  for (const Stage& stage : ir.stages) {
    EXPECT_EQ(stage.in_shape, (Shape{2, 6, 3, 4}));
    EXPECT_EQ(stage.out_shape, (Shape{2, 6, 3, 4}));
  }
}

TEST(ChainIR, PoolStepsInARowEachPoolWhatTheLastLeft) {
  const ChainIR ir = ir_of(
      "conv2d(n=1, c=2, h=9, w=9, k=3, kernel=2) -> max_pool2d(2) -> avg_pool2d(2, stride=1) -> "
      "global_avg_pool -> sum(dim=1)");
  EXPECT_EQ(stage_shapes(ir), (Shapes{{{1, 3, 8, 8}, {1, 3, 4, 4}},
                                      {{1, 3, 4, 4}, {1, 3, 3, 3}},
                                      {{1, 3, 3, 3}, {1, 3, 1, 1}},
                                      {{1, 3, 1, 1}, {1, 1, 1}}}));
  const ChainIR three_d = ir_of(
      "conv3d(n=1, c=1, d=6, h=6, w=6, k=2, kernel=1) -> avg_pool3d(2) -> max_pool3d((1, 3, 1)) "
      "-> instance_norm");
  EXPECT_EQ(three_d.shape(), (Shape{1, 2, 3, 1, 3}));
}

TEST(ChainIR, AxesSayWhichOperandsTheValueStillTakes) {
  const ChainIR gemm = ir_of(kLinear);
  EXPECT_EQ(gemm.axes, "mn");
  EXPECT_TRUE(has_rows_and_columns(gemm));
  EXPECT_FALSE(has_channels(gemm));
  EXPECT_FALSE(has_positions(gemm));
  EXPECT_EQ(ir_of(kLinear + " -> softmax(dim=1)").axes, "mn");
  EXPECT_TRUE(has_rows_and_columns(ir_of(kLinear + " -> layer_norm -> batch_norm")));
  EXPECT_EQ(ir_of(kLinear + " -> sum(dim=1)").axes, "m");
  EXPECT_FALSE(has_rows_and_columns(ir_of(kLinear + " -> sum(dim=1)")));
  EXPECT_EQ(ir_of(kLinear + " -> amax(dim=0, keepdim=true)").axes, "1n");

  const ChainIR conv = ir_of(kConv);
  EXPECT_EQ(conv.axes, "nchw");
  EXPECT_TRUE(has_channels(conv));
  EXPECT_TRUE(has_positions(conv));
  EXPECT_FALSE(has_rows_and_columns(conv));
  EXPECT_TRUE(has_positions(ir_of(kConv + " -> max_pool2d(2) -> group_norm(3)")));
  EXPECT_EQ(ir_of(kConv + " -> sum(dim=(2, 3), keepdim=true)").axes, "nc11");
  EXPECT_TRUE(has_channels(ir_of(kConv + " -> sum(dim=(2, 3), keepdim=true)")));
  EXPECT_EQ(ir_of(kConv + " -> sum(dim=2)").axes, "ncw");
  EXPECT_TRUE(has_channels(ir_of(kConv + " -> sum(dim=2)")));
  EXPECT_FALSE(has_positions(ir_of(kConv + " -> sum(dim=2)")));
  EXPECT_EQ(ir_of(kConv + " -> sum(dim=1)").axes, "nhw");
  EXPECT_FALSE(has_channels(ir_of(kConv + " -> sum(dim=1)")));
  EXPECT_EQ(ir_of("conv3d(n=1, c=1, d=2, h=2, w=2, k=2, kernel=1) -> mean(dim=(2, 4))").axes,
            "nch");
}

TEST(ChainIR, MainIsReadAfterALeadingBiasAndOnlyBeforeAnyPoolOrReduction) {
  EXPECT_EQ(ir_of(kLinear + " -> bias -> mul(main)").main_value_stages, 1u);
  EXPECT_EQ(ir_of(kLinear + " -> relu -> bias").main_value_stages, 0u);
  EXPECT_TRUE(ir_of(kLinear + " -> bias -> relu").main_value_available);
  EXPECT_FALSE(ir_of(kLinear + " -> softmax(dim=1)").main_value_available);
  EXPECT_FALSE(ir_of(kLinear + " -> sum(dim=1) -> relu").main_value_available);
  EXPECT_FALSE(ir_of(kConv + " -> max_pool2d(2) -> relu").main_value_available);
}

// --- Groupings, element by element ---

// Where an element sits in its group, by the op's definition.
struct Member {
  std::int64_t group;
  std::int64_t place;
};

using Definition = std::function<Member(const std::vector<std::int64_t>& coordinates)>;

// Compares `g` with `definition` at every element of a value of `shape`, and checks that the
// groups partition the value: `groups` groups of `size` elements, each place taken once.
void expect_grouping(const Grouping& g, const Shape& shape, std::int64_t groups, std::int64_t size,
                     const Definition& definition) {
  EXPECT_EQ(g.group_count(), groups);
  EXPECT_EQ(g.group_size(), size);
  std::int64_t count = 1;
  for (std::int64_t d : shape) count *= d;
  ASSERT_EQ(groups * size, count);
  std::set<std::pair<std::int64_t, std::int64_t>> taken;
  std::vector<std::int64_t> coordinates(shape.size(), 0);
  for (std::int64_t i = 0; i < count; ++i) {
    const Member expected = definition(coordinates);
    ASSERT_EQ(g.group_of(i), expected.group) << "element " << i;
    ASSERT_EQ(g.place_of(i), expected.place) << "element " << i;
    EXPECT_TRUE(taken.emplace(expected.group, expected.place).second) << "element " << i;
    EXPECT_LT(expected.group, groups);
    EXPECT_LT(expected.place, size);
    for (std::size_t d = shape.size(); d-- > 0;) {  // the next element, row-major
      if (++coordinates[d] < shape[d]) break;
      coordinates[d] = 0;
    }
  }
}

// The grouping of the chain's last stage, which must be the one grouping_of() gives.
Grouping last_grouping(const std::string& text) {
  const ChainIR ir = ir_of(text);
  const Stage& stage = ir.stages.back();
  EXPECT_EQ(stage.grouping, grouping_of(std::get<ReductionOp>(stage.op), stage.in_shape));
  return stage.grouping;
}

constexpr std::int64_t N = 2, C = 6, H = 3, W = 4;

TEST(ChainIRGrouping, DimsGroupTheElementsThatDifferOnlyAlongThem) {
  // sum over (n, h): one group per (c, w), its elements in (n, h) order.
  expect_grouping(last_grouping(kConv + " -> sum(dim=(0, 2))"), {N, C, H, W}, C * W, N * H,
                  [](const auto& x) {
                    return Member{x[1] * W + x[3], x[0] * H + x[2]};
                  });
  // softmax over channels: one group per (n, h, w), ordered by channel.
  expect_grouping(last_grouping(kConv + " -> softmax(dim=1)"), {N, C, H, W}, N * H * W, C,
                  [](const auto& x) {
                    return Member{(x[0] * H + x[2]) * W + x[3], x[1]};
                  });
  // keepdim changes the result's shape, not which elements combine.
  expect_grouping(last_grouping(kConv + " -> amax(dim=-1, keepdim=true)"), {N, C, H, W}, N * C * H,
                  W, [](const auto& x) {
                    return Member{(x[0] * C + x[1]) * H + x[2], x[3]};
                  });
  expect_grouping(last_grouping(kLinear + " -> logsumexp(dim=0)"), {4, 8}, 8, 4, [](const auto& x) {
    return Member{x[1], x[0]};
  });
}

TEST(ChainIRGrouping, TrailingGroupsAreTheLastDimsOfEachLeadingIndex) {
  expect_grouping(last_grouping(kConv + " -> layer_norm((3, 4))"), {N, C, H, W}, N * C, H * W,
                  [](const auto& x) {
                    return Member{x[0] * C + x[1], x[2] * W + x[3]};
                  });
  expect_grouping(last_grouping(kConv + " -> rms_norm"), {N, C, H, W}, N * C * H, W,
                  [](const auto& x) {
                    return Member{(x[0] * C + x[1]) * H + x[2], x[3]};
                  });
  expect_grouping(last_grouping(kLinear + " -> layer_norm"), {4, 8}, 4, 8, [](const auto& x) {
    return Member{x[0], x[1]};
  });
}

TEST(ChainIRGrouping, GroupNormViewsChannelsAsGroupsOfConsecutiveChannels) {
  const Grouping two = last_grouping(kConv + " -> group_norm(2)");
  EXPECT_EQ(two.view, (Shape{N, 2, C / 2, H, W}));
  EXPECT_EQ(two.reduced, (std::vector<bool>{false, false, true, true, true}));
  for (std::int64_t groups : {1, 2, 3, 6}) {
    const std::int64_t per = C / groups;  // channels per group
    expect_grouping(
        last_grouping(kConv + " -> group_norm(" + std::to_string(groups) + ")"), {N, C, H, W},
        N * groups, per * H * W, [&](const auto& x) {
          return Member{x[0] * groups + x[1] / per, ((x[1] % per) * H + x[2]) * W + x[3]};
        });
  }
  // [N, C] and [N, C, D, H, W] values alike.
  expect_grouping(last_grouping(kLinear + " -> group_norm(2)"), {4, 8}, 8, 4, [](const auto& x) {
    return Member{x[0] * 2 + x[1] / 4, x[1] % 4};
  });
  expect_grouping(
      last_grouping("conv3d(n=1, c=1, d=2, h=2, w=3, k=4, kernel=1) -> group_norm(groups=2)"),
      {1, 4, 2, 2, 3}, 2, 24, [](const auto& x) {
        return Member{x[1] / 2, (((x[1] % 2) * 2 + x[2]) * 2 + x[3]) * 3 + x[4]};
      });
}

TEST(ChainIRGrouping, InstanceNormGroupsOneChannelOfOneSample) {
  expect_grouping(last_grouping(kConv + " -> instance_norm"), {N, C, H, W}, N * C, H * W,
                  [](const auto& x) {
                    return Member{x[0] * C + x[1], x[2] * W + x[3]};
                  });
}

TEST(ChainIRGrouping, BatchNormGroupsOneChannelOverTheBatchAndPositions) {
  expect_grouping(last_grouping(kConv + " -> batch_norm"), {N, C, H, W}, C, N * H * W,
                  [](const auto& x) {
                    return Member{x[1], (x[0] * H + x[2]) * W + x[3]};
                  });
  expect_grouping(last_grouping(kLinear + " -> batch_norm(training=false)"), {4, 8}, 8, 4,
                  [](const auto& x) {
                    return Member{x[1], x[0]};
                  });
}

TEST(ChainIRGrouping, ElementwiseAndPoolStagesHaveNone) {
  const ChainIR ir = ir_of(kConv + " -> relu -> max_pool2d(2)");
  for (const Stage& stage : ir.stages) EXPECT_EQ(stage.grouping, Grouping{});
}

// --- Operands ---

TEST(ChainIROperands, NormalizationsReadTheirStatisticsWeightAndBiasInThatOrder) {
  const Spec spec = parse_spec(kConv +
                               " -> bias -> batch_norm -> mul(2.0) -> layer_norm((3, 4)) -> "
                               "group_norm(2, affine=false) -> instance_norm(affine=true) -> "
                               "rms_norm -> softmax(dim=1) -> sum(dim=1)");
  const DataType f = DataType::fp32;
  EXPECT_EQ(spec.tensors(), (std::vector<TensorArg>{
                                {"x", {2, 3, 4, 5}, f, false},
                                {"weight", {6, 3, 2, 2}, f, false},
                                {"bias", {6}, f, false},
                                {"batch_norm_running_mean", {6}, f, true},
                                {"batch_norm_running_var", {6}, f, true},
                                {"batch_norm_weight", {6}, f, false},
                                {"batch_norm_bias", {6}, f, false},
                                {"layer_norm_weight", {3, 4}, f, false},
                                {"layer_norm_bias", {3, 4}, f, false},
                                {"instance_norm_weight", {6}, f, false},
                                {"instance_norm_bias", {6}, f, false},
                                {"rms_norm_weight", {4}, f, false},
                            }));
  const ChainIR ir = compile_chain(spec);
  ASSERT_EQ(ir.stages.size(), 9u);
  EXPECT_EQ(ir.stages[0].tensors, (std::vector<int>{2}));
  EXPECT_EQ(ir.stages[1].tensors, (std::vector<int>{3, 4, 5, 6}));
  EXPECT_EQ(ir.stages[2].tensors, (std::vector<int>{}));
  EXPECT_EQ(ir.stages[3].tensors, (std::vector<int>{7, 8}));
  EXPECT_EQ(ir.stages[4].tensors, (std::vector<int>{}));
  EXPECT_EQ(ir.stages[5].tensors, (std::vector<int>{9, 10}));
  EXPECT_EQ(ir.stages[6].tensors, (std::vector<int>{11}));
  EXPECT_EQ(ir.stages[7].tensors, (std::vector<int>{}));
  EXPECT_EQ(ir.stages[8].tensors, (std::vector<int>{}));
}

std::vector<std::pair<std::string, double>> scalar_list(const Spec& spec) {
  std::vector<std::pair<std::string, double>> list;
  for (const ScalarArg& scalar : spec.scalars()) list.emplace_back(scalar.name, scalar.value);
  return list;
}

using Scalars = std::vector<std::pair<std::string, double>>;

TEST(ChainIROperands, EpsAndMomentumAreScalarsNamedByOpAndParameter) {
  const Spec spec = parse_spec(kConv +
                               " -> batch_norm(momentum=0.25) -> mul(2.0) -> layer_norm(eps=0.5) "
                               "-> group_norm(2, eps=0.125) -> instance_norm -> rms_norm(eps=1) "
                               "-> sum(dim=1) -> softmax(dim=0)");
  EXPECT_EQ(scalar_list(spec), (Scalars{{"batch_norm.eps", 1e-5},
                                        {"batch_norm.momentum", 0.25},
                                        {"mul.value", 2.0},
                                        {"layer_norm.eps", 0.5},
                                        {"group_norm.eps", 0.125},
                                        {"instance_norm.eps", 1e-5},
                                        {"rms_norm.eps", 1.0}}));
  const ChainIR ir = compile_chain(spec);
  EXPECT_EQ(ir.stages[0].scalars, (std::vector<int>{0, 1}));
  EXPECT_EQ(ir.stages[1].scalars, (std::vector<int>{2}));
  EXPECT_EQ(ir.stages[2].scalars, (std::vector<int>{3}));
  EXPECT_EQ(ir.stages[5].scalars, (std::vector<int>{6}));
  EXPECT_EQ(ir.stages[6].scalars, (std::vector<int>{}));
}

TEST(ChainIROperands, BatchNormUpdatesItsRunningStatisticsOnlyInTraining) {
  using Names = std::vector<std::pair<std::string, bool>>;
  auto names = [](const std::string& chain) {
    Names list;
    for (const TensorArg& t : parse_spec(kConv + " -> " + chain).tensors())
      if (t.name.starts_with("batch_norm")) list.emplace_back(t.name, t.updated);
    return list;
  };
  EXPECT_EQ(names("batch_norm"), (Names{{"batch_norm_running_mean", true},
                                        {"batch_norm_running_var", true},
                                        {"batch_norm_weight", false},
                                        {"batch_norm_bias", false}}));
  EXPECT_EQ(names("batch_norm(training=false)"), (Names{{"batch_norm_running_mean", false},
                                                        {"batch_norm_running_var", false},
                                                        {"batch_norm_weight", false},
                                                        {"batch_norm_bias", false}}));
  EXPECT_EQ(names("batch_norm(track_running_stats=false)"),
            (Names{{"batch_norm_weight", false}, {"batch_norm_bias", false}}));
  EXPECT_EQ(names("batch_norm(affine=false)"),
            (Names{{"batch_norm_running_mean", true}, {"batch_norm_running_var", true}}));
  EXPECT_EQ(names("batch_norm(affine=false, track_running_stats=false)"), (Names{}));
}

TEST(ChainIROperands, AffineFalseRemovesTheWeightAndBias) {
  for (const char* chain : {"layer_norm(affine=false)", "rms_norm(elementwise_affine=false)",
                            "group_norm(3, affine=false)", "instance_norm",
                            "batch_norm(affine=false, track_running_stats=false)"})
    EXPECT_EQ(parse_spec(kConv + " -> " + chain).tensors().size(), 2u) << chain;
}

TEST(ChainIROperands, RepeatedNormsGetNumberedNames) {
  const Spec spec = parse_spec(kLinear +
                               " -> layer_norm -> batch_norm -> layer_norm(eps=0.5) -> "
                               "batch_norm(training=false)");
  std::vector<std::string> names;
  for (const TensorArg& t : spec.tensors()) names.push_back(t.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{
                "x", "weight", "layer_norm_weight", "layer_norm_bias", "batch_norm_running_mean",
                "batch_norm_running_var", "batch_norm_weight", "batch_norm_bias",
                "layer_norm_weight_2", "layer_norm_bias_2", "batch_norm_running_mean_2",
                "batch_norm_running_var_2", "batch_norm_weight_2", "batch_norm_bias_2"}));
  EXPECT_EQ(scalar_list(spec), (Scalars{{"layer_norm.eps", 1e-5},
                                        {"batch_norm.eps", 1e-5},
                                        {"batch_norm.momentum", 0.1},
                                        {"layer_norm.eps_2", 0.5},
                                        {"batch_norm.eps_2", 1e-5},
                                        {"batch_norm.momentum_2", 0.1}}));
}

TEST(ChainIROperands, ParametersHaveTheInputsType) {
  for (const TensorArg& t :
       parse_spec("linear(m=4, n=8, k=16, dtype=bf16) -> layer_norm -> batch_norm").tensors())
    EXPECT_EQ(t.dtype, DataType::bf16) << t.name;
}

TEST(ChainIROperands, OperandsAfterAReductionTakeTheReducedShape) {
  using Tensors = std::vector<std::pair<std::string, Shape>>;
  auto tensors = [](const std::string& text) {
    Tensors list;
    for (const TensorArg& t : parse_spec(text).tensors()) list.emplace_back(t.name, t.shape);
    return Tensors(list.begin() + 2, list.end());
  };
  EXPECT_EQ(tensors(kLinear + " -> sum(dim=1) -> add(tensor) -> layer_norm"),
            (Tensors{{"add_tensor", {4}}, {"layer_norm_weight", {4}}, {"layer_norm_bias", {4}}}));
  // A channel vector broadcasts over every dim after the channels that the value still has.
  EXPECT_EQ(tensors(kConv + " -> sum(dim=2) -> add(channel) -> bias"),
            (Tensors{{"add_channel", {6, 1}}, {"bias", {6}}}));
  EXPECT_EQ(tensors(kConv + " -> mean(dim=(2, 3), keepdim=true) -> mul(channel) -> mul(tensor)"),
            (Tensors{{"mul_channel", {6, 1, 1}}, {"mul_tensor", {2, 6, 1, 1}}}));
  EXPECT_EQ(tensors(kConv + " -> max_pool2d(2) -> batch_norm(affine=false) -> add(tensor)"),
            (Tensors{{"batch_norm_running_mean", {6}},
                     {"batch_norm_running_var", {6}},
                     {"add_tensor", {2, 6, 1, 2}}}));
}

}  // namespace
}  // namespace fusetune
