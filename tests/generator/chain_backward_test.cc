// The backward plan of a GEMM spec (generator/chain_backward.h) and the `save` op a training
// forward runs: which matmuls take the gradient to each operand, as each is stored; the chain
// derivative's kernels compile under NVRTC for every op; what has no fused backward is refused
// by name; save parses, prints, writes its tensor and passes the value on.
#include "generator/chain_backward.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fusetune/status.h"
#include "generator/chain_derivative.h"
#include "generator/device_limits.h"
#include "generator/epilogue_emitter.h"
#include "generator/generator.h"
#include "generator/ops.h"
#include "generator/spec_parser.h"
#include "runtime/nvrtc.h"

namespace fusetune {
namespace {

std::string refusal(const std::string& spec) {
  try {
    plan_backward(parse_spec(spec));
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), StatusCode::invalid_argument) << spec;
    return e.what();
  }
  return "";
}

TEST(BackwardPlan, ALinearsGradientsAreMatmulsOfGPrimeWithTheWeightAndTheInput) {
  const BackwardPlan plan = plan_backward(
      parse_spec("linear(m=1024, n=512, k=256) -> bias -> mul(2.0) -> leaky_relu(0.1)"));
  EXPECT_EQ(plan.saving.canonical(),
            "linear(m=1024, n=512, k=256) -> save -> bias -> mul(2.0) -> leaky_relu(0.1)");
  // d x [M, K] = g' [M, N] · W [N, K]; d W [N, K] = g'ᵀ · x, g' read as stored [M, N].
  EXPECT_EQ(plan.grad_a.spec.canonical(), "matmul(m=1024, n=256, k=512)");
  EXPECT_EQ(plan.grad_a.operands, (std::vector<std::string>{"grad_main", "b"}));
  EXPECT_EQ(plan.grad_b->spec.canonical(), "matmul(m=512, n=256, k=1024, transpose_a=true)");
  EXPECT_EQ(plan.grad_b->operands, (std::vector<std::string>{"grad_main", "a"}));
}

// The k-major forms of a linear layer's products: W and x, g' transposed so that every operand
// is k-contiguous, as TF32 wgmma reads them.
TEST(BackwardPlan, ProductsOfFp32DataHaveAKMajorForm) {
  const BackwardPlan plan =
      plan_backward(parse_spec("linear(m=1024, n=512, k=256) -> bias -> relu"));
  ASSERT_TRUE(plan.grad_a_k_major && plan.grad_b_k_major);
  EXPECT_EQ(plan.grad_a_k_major->spec.canonical(),
            "matmul(m=1024, n=256, k=512, transpose_b=true)");
  EXPECT_EQ(plan.grad_a_k_major->operands, (std::vector<std::string>{"grad_main", "b_t"}));
  EXPECT_EQ(plan.grad_b_k_major->spec.canonical(),
            "matmul(m=512, n=256, k=1024, transpose_b=true)");
  EXPECT_EQ(plan.grad_b_k_major->operands, (std::vector<std::string>{"grad_main_t", "a_t"}));
  // None where a product already is k-major (a plain matmul's d a = g' · bᵀ reads b [K, N] as
  // [n, k]), nor for 16-bit data, whose wgmma reads either layout.
  EXPECT_FALSE(plan_backward(parse_spec("matmul(m=64, n=32, k=16)")).grad_a_k_major.has_value());
  const BackwardPlan bf16 = plan_backward(parse_spec("linear(m=64, n=32, k=16, dtype=bf16)"));
  EXPECT_FALSE(bf16.grad_a_k_major.has_value());
  EXPECT_FALSE(bf16.grad_b_k_major.has_value());
}

TEST(BackwardPlan, EachMatmulGradientIsStoredAsItsOperandIs) {
  struct Case {
    std::string spec, grad_a, grad_b;
  };
  const std::vector<Case> cases = {
      {"matmul(m=64, n=32, k=16)", "matmul(m=64, n=16, k=32, transpose_b=true)",
       "matmul(m=16, n=32, k=64, transpose_a=true)"},
      // a stored [K, M]: its gradient as [K, M] = b · g'ᵀ.
      {"matmul(m=64, n=32, k=16, transpose_a=true)", "matmul(m=16, n=64, k=32, transpose_b=true)",
       "matmul(m=16, n=32, k=64)"},
      // b stored [N, K]: its gradient as [N, K] = g'ᵀ · a.
      {"matmul(m=64, n=32, k=16, transpose_b=true)", "matmul(m=64, n=16, k=32)",
       "matmul(m=32, n=16, k=64, transpose_a=true)"},
      {"matmul(m=64, n=32, k=16, transpose_a=true, transpose_b=true)",
       "matmul(m=16, n=64, k=32, transpose_a=true, transpose_b=true)",
       "matmul(m=32, n=16, k=64, transpose_a=true, transpose_b=true)"},
  };
  for (const Case& c : cases) {
    const BackwardPlan plan = plan_backward(parse_spec(c.spec));
    EXPECT_EQ(plan.grad_a.spec.canonical(), c.grad_a) << c.spec;
    EXPECT_EQ(plan.grad_b->spec.canonical(), c.grad_b) << c.spec;
  }
}

// The gradients' matmuls are tuned like any spec: each has candidates at every precision the
// forward may run at.
TEST(BackwardPlan, TheSeedsMatmulsHaveCandidatesAtEveryPrecision) {
  const DeviceLimits h100 = DeviceLimits::for_arch("sm_90").value();
  const BackwardPlan plan = plan_backward(
      parse_spec("linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)"));
  for (const Spec& spec : {plan.saving, plan.grad_a.spec, plan.grad_b->spec})
    for (Precision precision : {Precision::fp32, Precision::tf32x3, Precision::tf32})
      EXPECT_FALSE(search_space(spec, h100, precision).empty())
          << spec.canonical() << " at " << to_string(precision);
}

TEST(BackwardPlan, TheGradientsKeepTheInputsDtype) {
  const BackwardPlan plan =
      plan_backward(parse_spec("linear(m=64, n=32, k=16, dtype=bf16, out_dtype=fp32) -> relu"));
  EXPECT_EQ(plan.grad_a.spec.main.dtype, DataType::bf16);
  EXPECT_FALSE(plan.grad_a.spec.main.fp32_output);
  EXPECT_EQ(plan.grad_b->spec.main.dtype, DataType::bf16);
}

TEST(BackwardPlan, WhatHasNoFusedBackwardYetIsRefusedByName) {
  EXPECT_NE(refusal("linear(m=64, n=64, k=64) -> batch_norm(training=false)")
                .find("batch_norm in eval mode"),
            std::string::npos);
  EXPECT_NE(refusal("linear(m=64, n=64, k=64) -> softmax(dim=0)").find("features"),
            std::string::npos);
  EXPECT_NE(refusal("linear(m=4, n=64, k=64) -> relu -> mul(column) -> softmax(dim=1)")
                .find("before a reduction"),
            std::string::npos);
  EXPECT_NE(
      refusal("linear(m=4, n=64, k=64) -> softmax(dim=1) -> add(tensor)").find("after a reduction"),
      std::string::npos);
  EXPECT_NE(refusal("conv2d(n=1, c=4, h=8, w=8, k=4, kernel=1) -> max_pool2d(2) -> "
                    "max_pool2d(2)")
                .find("a pool step after a pool step"),
            std::string::npos);
  EXPECT_NE(refusal("conv2d(n=1, c=4, h=8, w=8, k=4, kernel=1) -> global_avg_pool")
                .find("global_avg_pool"),
            std::string::npos);
  EXPECT_NE(refusal("conv2d(n=1, c=4, h=8, w=8, k=4, kernel=1) -> max_pool2d(2) -> "
                    "mul(channel)")
                .find("mul(channel) after a pool step"),
            std::string::npos);
  EXPECT_NE(refusal("linear(m=64, n=64, k=64) -> bias -> add(main)").find("add(main)"),
            std::string::npos);
  EXPECT_NE(refusal("linear(m=1..64, n=64, k=64) -> relu").find("row range"), std::string::npos);
  EXPECT_NE(refusal("linear(m=64, n=64, k=64) -> save -> relu").find("without save"),
            std::string::npos);
}

// A convolution's data gradient is the convolution the other way over g' with the same
// weight, its output the input's shape; the weight gradient has no kernel yet.
TEST(BackwardPlan, AConvolutionsDataGradientIsTheConvolutionTheOtherWay) {
  struct Case {
    std::string spec, grad_a;
  };
  const std::vector<Case> cases = {
      {"conv_transpose3d(n=16, c=16, d=16, h=32, w=32, k=32, kernel=3, stride=2, padding=1, "
       "output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> "
       "max_pool3d(2)",
       "conv3d(n=16, c=32, d=32, h=64, w=64, k=16, kernel=3, stride=2, padding=1)"},
      // 9 = (4 - 1) * 2 + 2 + 1: the transposed convolution gets back the row the floor dropped.
      {"conv2d(n=2, c=3, h=9, w=8, k=4, kernel=2, stride=2) -> relu",
       "conv_transpose2d(n=2, c=4, h=4, w=4, k=3, kernel=2, stride=2, output_padding=(1, 0))"},
      {"conv2d(n=1, c=4, h=6, w=6, k=8, kernel=3, padding=1, dilation=2, groups=2) -> relu",
       "conv_transpose2d(n=1, c=8, h=4, w=4, k=4, kernel=3, padding=1, dilation=2, groups=2)"},
  };
  for (const Case& c : cases) {
    const Spec spec = parse_spec(c.spec);
    const BackwardPlan plan = plan_backward(spec);
    EXPECT_EQ(plan.grad_a.spec.canonical(), c.grad_a) << c.spec;
    EXPECT_EQ(plan.grad_a.spec.output_shape(), spec.tensors()[0].shape) << c.spec;
    EXPECT_EQ(plan.grad_a.spec.tensors()[1].shape, spec.tensors()[1].shape) << c.spec;
    EXPECT_FALSE(plan.grad_b.has_value());
    EXPECT_NE(plan.grad_b_missing.find("weight gradient"), std::string::npos);
  }
}

TEST(SaveOp, ParsesPrintsAndAddsAWrittenTensorOfTheValuesShape) {
  const Spec spec = parse_spec("linear(m=8, n=16, k=4) -> bias -> save -> relu");
  EXPECT_EQ(parse_spec(spec.canonical()), spec);
  const std::vector<TensorArg> tensors = spec.tensors();
  ASSERT_EQ(tensors.size(), 4u);
  EXPECT_EQ(tensors[3].name, "save");
  EXPECT_EQ(tensors[3].shape, (std::vector<std::int64_t>{8, 16}));
  EXPECT_TRUE(tensors[3].updated);
  EXPECT_FALSE(tensors[2].updated);
}

TEST(SaveOp, StandsBeforeAnyPoolStepOrReductionAndTakesNoArguments) {
  for (const std::string text :
       {"linear(m=8, n=16, k=4) -> softmax(dim=1) -> save",
        "conv2d(n=1, c=4, h=8, w=8, k=4, kernel=3) -> max_pool2d(2) -> save",
        "linear(m=8, n=16, k=4) -> save(tensor)"}) {
    EXPECT_THROW(parse_spec(text), SpecError) << text;
  }
  try {
    parse_spec("linear(m=8, n=16, k=4) -> softmax(dim=1) -> save");
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("before any pool step or reduction"), std::string::npos)
        << e.what();
  }
}

TEST(SaveOp, TheEpilogueStoresTheValueWhereItStandsAndPassesItOn) {
  const std::string gemm =
      emit_epilogue(parse_spec("linear(m=8, n=16, k=4) -> bias -> save -> relu"));
  EXPECT_NE(gemm.find("t3[j] = x;  // save"), std::string::npos) << gemm;
  EXPECT_NE(gemm.find("ft::store_floats<W>(const_cast<float*>(args.tensors[3]) + "
                      "static_cast<long long>(m) * 16 + n, t3);"),
            std::string::npos)
      << gemm;
  const std::string conv =
      emit_epilogue(parse_spec("conv2d(n=1, c=4, h=8, w=8, k=4, kernel=3) -> save -> relu"));
  EXPECT_NE(conv.find("const_cast<float*>(args.tensors[2])[index] = x;  // save"),
            std::string::npos)
      << conv;
}

// Every op of the registry in one chain or another, with operands of every kind, compiled.
TEST(ChainDerivative, KernelsCompileForEveryOpAndOperandKind) {
  std::vector<std::string> chains;
  std::string unary;
  for (const EpilogueOpInfo& info : epilogue_ops()) {
    if (info.binary || info.fixed_operand != OperandKind::none) continue;
    unary += " -> " + std::string(info.name) + (info.name == "clamp" ? "(-0.5, 2.0)" : "");
  }
  chains.push_back("linear(m=33, n=47, k=8) -> bias" + unary);
  chains.push_back(
      "linear(m=33, n=47, k=8, dtype=bf16) -> add(row) -> sub(tensor) -> mul(column) -> "
      "div(2.0) -> min(row) -> max(tensor) -> gelu(tanh)");
  chains.push_back("matmul(m=5, n=3, k=8, dtype=fp16, out_dtype=fp32) -> div(column) -> tanh");
  // Convolutions: channel and tensor operands, max and avg pools (overlapping, padded), ops
  // after the pool.
  chains.push_back(
      "conv_transpose3d(n=2, c=3, d=4, h=5, w=6, k=4, kernel=3, stride=2, padding=1, "
      "output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> "
      "max_pool3d(2)");
  chains.push_back(
      "conv2d(n=2, c=3, h=9, w=8, k=4, kernel=3) -> add(tensor) -> sigmoid -> "
      "avg_pool2d(3, stride=2, padding=1) -> softplus -> mul(0.5)");
  chains.push_back(
      "conv3d(n=1, c=2, d=5, h=5, w=5, k=2, kernel=2) -> max_pool3d(3, stride=2) -> tanh");
  // Windows tiling the value (a thread per window), an operand's terms left in the workspace.
  chains.push_back(
      "conv2d(n=2, c=3, h=10, w=12, k=4, kernel=3) -> mul(channel) -> tanh -> avg_pool2d(2) -> "
      "sigmoid");
  chains.push_back(
      "conv2d(n=3, c=2, h=13, w=11, k=5, kernel=3) -> gelu -> sub(channel) -> "
      "max_pool2d(3, stride=2, padding=1)");
  // Reductions over the features, rows held by a thread, a warp or the block.
  chains.push_back("linear(m=33, n=1000, k=8) -> bias -> gelu -> softmax(dim=1) -> mul(2.0)");
  chains.push_back("linear(m=5, n=20, k=8, dtype=bf16) -> log_softmax(dim=1)");
  chains.push_back("linear(m=7, n=3000, k=8) -> bias -> logsumexp(dim=1) -> sigmoid");
  chains.push_back("linear(m=7, n=300, k=8) -> add(tensor) -> logsumexp(dim=1, keepdim=true)");
  // Normalizations over the features: affine (weight and bias, a weight alone) and not.
  chains.push_back("linear(m=9, n=96, k=8) -> bias -> layer_norm(96) -> gelu");
  chains.push_back("linear(m=5, n=2304, k=8) -> rms_norm(2304) -> mul(0.5)");
  chains.push_back("linear(m=3, n=40, k=8, dtype=bf16) -> layer_norm(40, affine=false)");
  chains.push_back("linear(m=21, n=130, k=8) -> bias -> sum(dim=1) -> mul(0.5) -> sigmoid");
  chains.push_back("linear(m=4, n=64, k=8) -> tanh -> mean(dim=1, keepdim=true)");
  chains.push_back("linear(m=6, n=300, k=8) -> bias -> amax(dim=1) -> relu");
  chains.push_back("linear(m=6, n=30, k=8) -> amin(dim=1, keepdim=true)");
  // Groups of features (group_norm) and columns over the rows (batch_norm, running statistics
  // or none, a thread's, a warp's or the block's).
  chains.push_back("linear(m=12, n=96, k=8) -> bias -> group_norm(8) -> gelu");
  chains.push_back("linear(m=20, n=48, k=8) -> bias -> batch_norm -> tanh");
  chains.push_back("linear(m=300, n=24, k=8) -> batch_norm(momentum=0.2) -> relu");
  chains.push_back(
      "linear(m=2000, n=8, k=8) -> batch_norm(track_running_stats=false, affine=false)");
  // A convolution's value: groups of channels with their positions, a channel's positions,
  // a channel over the batch, and the channels of a position.
  chains.push_back("conv2d(n=2, c=3, h=9, w=8, k=8, kernel=3) -> bias -> group_norm(4) -> silu");
  chains.push_back("conv2d(n=2, c=3, h=10, w=13, k=4, kernel=3) -> instance_norm -> div(2.0)");
  chains.push_back("conv3d(n=2, c=2, d=4, h=5, w=6, k=4, kernel=2) -> batch_norm -> relu");
  chains.push_back("conv2d(n=1, c=2, h=6, w=7, k=5, kernel=3) -> softmax(dim=1) -> mul(2.0)");
  // Groups more than a block holds: statistics gathered over blocks first.
  chains.push_back("linear(m=3, n=20000, k=8) -> bias -> log_softmax(dim=1)");
  chains.push_back("conv2d(n=2, c=4, h=70, w=70, k=8, kernel=3) -> bias -> group_norm(2) -> silu");
  chains.push_back("linear(m=9000, n=6, k=8) -> batch_norm -> relu");
  for (const std::string& text : chains) {
    const KernelSource kernel = emit_chain_derivative(parse_spec(text));
    const CompiledBinary binary = compile_to_cubin(kernel.code, kernel.name, "sm_80");
    EXPECT_GT(binary.cubin.size(), 0u) << text << "\n" << binary.log << "\n" << kernel.code;
  }
}

TEST(ChainDerivative, SumsEachColumnAndRowOperandInAStepOfItsOwn) {
  const KernelSource kernel = emit_chain_derivative(
      parse_spec("linear(m=100, n=300, k=8) -> bias -> mul(tensor) -> add(row) -> relu"));
  ASSERT_EQ(kernel.finishing.steps.size(), 2u);  // bias (operand 0) and the row (operand 2)
  EXPECT_EQ(kernel.finishing.steps[0].entry, kernel.name + "_sum0");
  EXPECT_EQ(kernel.finishing.steps[1].entry, kernel.name + "_sum2");
  EXPECT_GT(kernel.finishing.steps[0].launch.workspace_bytes, 0u);
  EXPECT_EQ(kernel.launch.workspace_bytes, 0u);
  // The tensor operand's gradient is written where it is computed: tensors[2 + 3 + 1].
  EXPECT_NE(kernel.code.find("args.tensors[6]))[i]"), std::string::npos) << kernel.code;
  // The leading bias's gradient is g' summed: read back, where the row's recomputes the chain.
  const std::string sum0 = kernel.code.substr(kernel.code.find("struct Sum0 {"), 400);
  const std::string sum2 = kernel.code.substr(kernel.code.find("struct Sum2 {"), 400);
  EXPECT_NE(sum0.find("chain.args.out)[p * 300LL + g]"), std::string::npos) << sum0;
  EXPECT_NE(sum2.find("chain.gradient(g * 300LL + p, terms)"), std::string::npos) << sum2;
  EXPECT_EQ(chain_operand_count(parse_spec("linear(m=1, n=2, k=3) -> relu")), 0u);
}

// Through a pool, a channel operand's gradient is summed from terms the main kernel leaves in
// the workspace (recomputing them would take a window's values each), a leading bias's from g';
// windows that tile the value take a thread each, others a thread per element.
TEST(ChainDerivative, APoolsWindowsTakeAThreadEachWhereTheyTileTheValue) {
  const KernelSource tiled = emit_chain_derivative(parse_spec(
      "conv_transpose3d(n=2, c=3, d=4, h=5, w=6, k=4, kernel=3, stride=2, padding=1, "
      "output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> "
      "max_pool3d(2)"));
  const std::int64_t elements = 2 * 4 * 8 * 10 * 12;  // the value, [2, 4, 8, 10, 12]
  EXPECT_EQ(tiled.launch.grid[0], (elements / 8 + 255) / 256);
  EXPECT_NE(tiled.code.find("ft::window_gradients<Chain::PoolConfig>"), std::string::npos);
  EXPECT_GE(tiled.launch.workspace_bytes, 4u * elements);
  ASSERT_EQ(tiled.finishing.steps.size(), 2u);
  const std::string bias = tiled.code.substr(tiled.code.find("struct Sum0 {"), 400);
  const std::string scale = tiled.code.substr(tiled.code.find("struct Sum1 {"), 400);
  EXPECT_NE(bias.find("chain.args.out)"), std::string::npos) << bias;
  EXPECT_NE(scale.find("__ldcg(reinterpret_cast<const float*>(workspace + 0)"), std::string::npos)
      << scale;

  const KernelSource overlapping = emit_chain_derivative(
      parse_spec("conv2d(n=3, c=2, h=13, w=11, k=5, kernel=3) -> gelu -> sub(channel) -> "
                 "max_pool2d(3, stride=2, padding=1)"));
  EXPECT_EQ(overlapping.launch.grid[0], (3 * 5 * 11 * 9 + 255) / 256);
  EXPECT_NE(overlapping.code.find("ft::pooled_gradient<PoolConfig>"), std::string::npos);
  EXPECT_EQ(overlapping.code.find("ft::window_gradients<"), std::string::npos);
  EXPECT_GE(overlapping.launch.workspace_bytes, 4u * 3 * 5 * 11 * 9);

  // Windows that leave an edge out (a 9-wide value pooled by 2) are taken per element.
  EXPECT_EQ(emit_chain_derivative(parse_spec("conv2d(n=1, c=2, h=11, w=10, k=3, kernel=3) -> "
                                             "max_pool2d(2)"))
                .code.find("ft::window_gradients<"),
            std::string::npos);
}

// An affine normalization's weight and bias gradients: terms the row kernel leaves in the
// workspace, summed over the rows by a step each.
TEST(ChainDerivative, ANormalizationsWeightAndBiasAreSummedFromTheRowKernelsTerms) {
  const KernelSource kernel =
      emit_chain_derivative(parse_spec("linear(m=100, n=64, k=8) -> layer_norm(64) -> relu"));
  ASSERT_EQ(kernel.finishing.steps.size(), 2u);  // layer_norm_weight (operand 0), bias (1)
  EXPECT_GE(kernel.launch.workspace_bytes, 2u * 4 * 100 * 64);
  EXPECT_NE(kernel.code.find("terms_at[i] = raw * y;"), std::string::npos) << kernel.code;
  EXPECT_NE(kernel.code.find("reinterpret_cast<const float*>(workspace + 0) + p * 64LL + g"),
            std::string::npos)
      << kernel.code;
}

// batch_norm's groups are the columns: place p of group g is row p of column g, and the weight
// and bias after the running statistics are what the Sum steps add up.
TEST(ChainDerivative, BatchNormHoldsColumnsAndSumsItsWeightAndBias) {
  const KernelSource kernel = emit_chain_derivative(
      parse_spec("linear(m=300, n=24, k=8) -> batch_norm(momentum=0.2) -> relu"));
  const std::string held = kernel.code.substr(kernel.code.find("struct Held {"));
  EXPECT_NE(held.find("index += p % 300LL * 24LL;"), std::string::npos) << held;
  EXPECT_NE(held.find("GROUPS = 24, SIZE = 300;"), std::string::npos) << held;
  ASSERT_EQ(kernel.finishing.steps.size(), 2u);
  // Tensors: grad, saved, running mean, running var, weight, bias, then their gradients.
  EXPECT_NE(kernel.code.find("args.tensors[8]))[g] = "), std::string::npos) << kernel.code;
  EXPECT_NE(kernel.code.find("args.tensors[9]))[g] = "), std::string::npos) << kernel.code;
  EXPECT_EQ(kernel.code.find("args.tensors[6]))[g] = "), std::string::npos) << kernel.code;
}

// Groups more than a block holds: the main kernel gathers their forward statistics, then a
// step their backward statistic and one each element's gradient, before the operands' sums.
TEST(ChainDerivative, GroupsBeyondABlockGatherTheirStatisticsFirst) {
  const KernelSource kernel = emit_chain_derivative(
      parse_spec("conv2d(n=2, c=4, h=70, w=70, k=8, kernel=3) -> bias -> group_norm(2) -> silu"));
  EXPECT_NE(kernel.code.find("ft::gather_statistics<SplitConfig>(Statistics{"), std::string::npos);
  ASSERT_GE(kernel.finishing.steps.size(), 3u);
  EXPECT_EQ(kernel.finishing.steps[0].entry, kernel.name + "_back");
  EXPECT_EQ(kernel.finishing.steps[1].entry, kernel.name + "_gradient");
  EXPECT_GT(kernel.launch.workspace_bytes, 0u);
  // 4 channels of 68 x 68 positions per group, two groups per image.
  EXPECT_NE(kernel.code.find("GROUPS = 4, SIZE = 18496"), std::string::npos) << kernel.code;
  // Held groups stay one kernel.
  EXPECT_EQ(emit_chain_derivative(parse_spec("linear(m=4, n=8192, k=8) -> softmax(dim=1)"))
                .code.find("SplitConfig"),
            std::string::npos);
}

TEST(ChainDerivative, AChainWithMoreOperandsThanALaunchTakesIsRefused) {
  std::string text = "linear(m=8, n=8, k=8)";
  for (int i = 0; i < 8; ++i) text += " -> add(column)";
  EXPECT_THROW(emit_chain_derivative(parse_spec(text)), Error);
}

}  // namespace
}  // namespace fusetune
