#include "tuner/operand_layout.h"

namespace fusetune {

Layout layout_of(const Shape& shape) {
  Layout layout{.count = element_count(shape)};
  if (!shape.empty()) layout.columns = shape.back();
  if (shape.size() >= 2) {
    layout.channels = shape[1];
    layout.plane = layout.count / (shape[0] * shape[1]);
  }
  return layout;
}

bool reads_tensor(OperandKind kind) {
  return kind == OperandKind::column || kind == OperandKind::row || kind == OperandKind::channel ||
         kind == OperandKind::tensor;
}

std::int64_t operand_size(OperandKind kind, const Layout& l) {
  switch (kind) {
    case OperandKind::column:
      return l.columns;
    case OperandKind::row:
      return l.count / l.columns;
    case OperandKind::channel:
      return l.channels;
    default:
      return l.count;
  }
}

std::int64_t operand_index(OperandKind kind, const Layout& l, std::int64_t i) {
  switch (kind) {
    case OperandKind::column:
      return i % l.columns;
    case OperandKind::row:
      return i / l.columns;
    case OperandKind::channel:
      return (i / l.plane) % l.channels;
    default:
      return i;
  }
}

}  // namespace fusetune
