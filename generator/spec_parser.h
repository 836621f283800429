// Parses the spec language into a Spec (spec.h):
//
//   spec     := main_op ( "->" op )*
//   main_op  := name "(" main_arg ( "," main_arg )* ")"
//   main_arg := name "=" value [ ".." value ]          (a range: only a GEMM's m, lo < hi)
//   op       := name [ "(" [ argument ( "," argument )* ] ")" ]
//   argument := [ name "=" ] ( value | "(" value ( "," value )* ")" )
//   value    := number | name
//   number   := [+-] digits [ "." digits ] [ (e|E) [+-] digits ]   (no NaN, no infinity)
//
// An op is elementwise (ops.h), a pool step (spec_windows.h) or a reduction or normalization
// (reductions.h, spec_reductions.h); tuples are for windows and dims: dim=(2, 3).
//
// Whitespace is free between tokens. Every name must be one the parser knows (a main op, an op of
// the registry in ops.h, an argument, an operand kind or a mode), so no text of a spec other than
// the numbers the parser converts can reach generated source.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "fusetune/status.h"
#include "generator/spec.h"

namespace fusetune {

// The kernel ABI's limits (templates/common.cuh kMaxTensors, kMaxScalars): the inputs a spec
// names, main-op operands included, and the scalar values it carries.
inline constexpr int kMaxSpecTensors = 16;
inline constexpr int kMaxSpecScalars = 16;

// The longest spec text, in bytes: far above any real chain, and a bound on the work and memory
// a spec from outside can ask of the parser (which is linear in the length).
inline constexpr std::size_t kMaxSpecBytes = std::size_t{1} << 20;

// A spec that does not parse, or names a problem no kernel can take. what() is the whole
// message: what was expected, the spec, and a caret under the offending character:
//
//   invalid spec: expected ')' to close the arguments of mul
//     linear(m=1024, n=8192, k=8192) -> mul(2.0 -> relu
//                                               ^
class SpecError : public Error {
 public:
  SpecError(std::string_view problem, std::string_view text, std::size_t position);

  // Byte offset in the spec text of the offending character; text.size() for a premature end.
  std::size_t position() const { return position_; }

 private:
  std::size_t position_;
};

// The canonical text of a number: the shortest that reads back as the same double, with ".0"
// appended where it would otherwise read as an integer (2 → "2.0", 1e-05 → "1e-05").
std::string canonical_number(double value);

// The Spec that `text` describes. Throws SpecError when it does not parse or breaks a limit; a
// text longer than kMaxSpecBytes is refused unread, its message showing the beginning.
Spec parse_spec(std::string_view text);

}  // namespace fusetune
