// A spec's chain compiled once into stages: the value's shape before and after each op, which
// elements a reduction combines, and where each op's operands are among a launch's tensors and
// scalars. The emitters, the fp64 reference, describe() and the tensor and scalar lists of a
// Spec all read this one representation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "generator/spec.h"

namespace fusetune {

using Shape = std::vector<std::int64_t>;

// Which elements a reduction combines: the value's shape viewed so that each group is a product
// of some of the view's dims (group_norm views [N, C, ...] as [N, groups, C / groups, ...]);
// `reduced` marks them. Groups are numbered row-major over the kept dims, and a group's elements
// row-major over the reduced dims.
struct Grouping {
  Shape view;
  std::vector<bool> reduced;

  std::int64_t group_count() const;
  std::int64_t group_size() const;
  // The group of the value's element `index` (row-major over the value), and its place there.
  std::int64_t group_of(std::int64_t index) const;
  std::int64_t place_of(std::int64_t index) const;

  friend bool operator==(const Grouping&, const Grouping&) = default;
};

struct Stage {
  ChainOp op;
  Shape in_shape;   // the value's shape before the op
  Shape out_shape;  // and after it
  // The op's operand tensors and scalars, as indices into a launch's tensors and scalars, in the
  // op's order: an elementwise op's operand and parameters; a normalization's running mean and
  // variance, weight and bias, then eps and momentum.
  std::vector<int> tensors;
  std::vector<int> scalars;
  Grouping grouping;  // reductions only

  friend bool operator==(const Stage&, const Stage&) = default;
};

struct ChainIR {
  MainOp main;
  Shape main_shape;
  std::vector<Stage> stages;
  std::vector<TensorArg> tensors;  // a launch's tensors: the main op's two, then the stages'
  std::vector<ScalarArg> scalars;  // a launch's scalars, the stages' in order
  // What each dim of the current value is: 'm' 'n' for a GEMM's [M, N]; 'n' 'c' 'd' 'h' 'w' for
  // a convolution's [N, C, (D,) H, W]; '1' for a dim a reduction kept as 1.
  std::string axes;
  // `main` operands read the value after this many stages: 1 after a leading bias, else 0.
  std::size_t main_value_stages = 0;
  // Whether a `main` operand may still be read: not after a pool step or a reduction.
  bool main_value_available = true;
  // How often each tensor and scalar name was handed out: a second "mul_channel" is
  // "mul_channel_2".
  std::map<std::string, int> name_counts;

  const Shape& shape() const { return stages.empty() ? main_shape : stages.back().out_shape; }
};

// The IR of a spec the parser accepted. Throws Error(internal) where the chain does not fit the
// value (the parser's checks would have refused it).
ChainIR compile_chain(const Spec& spec);

// The number of elements of a value of `shape`.
std::int64_t element_count(const Shape& shape);

// The IR of the main op alone, and one more op on the end: how the parser follows the value's
// shape as it reads the chain.
ChainIR start_chain(const MainOp& main);
void append_stage(ChainIR& ir, const ChainOp& op);

// Whether the value of `ir` as it stands has the layout an operand or a pool step needs:
// [M, N] for column and row vectors, [N, C, ...] with all the convolution's channels for channel
// vectors, [N, C, (D,) H, W] for a pool step (any extents, 1s kept by a reduction included).
bool has_rows_and_columns(const ChainIR& ir);
bool has_channels(const ChainIR& ir);
bool has_positions(const ChainIR& ir);

// The dims a reduction combines on a value of `shape` (GroupBy::dims: op.dims) and its grouping.
Grouping grouping_of(const ReductionOp& op, const Shape& shape);

}  // namespace fusetune
