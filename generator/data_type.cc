#include "generator/data_type.h"

#include <fmt/format.h>

#include "fusetune/status.h"

namespace fusetune {

std::string_view to_string(DataType type) {
  switch (type) {
    case DataType::fp32:
      return "fp32";
    case DataType::bf16:
      return "bf16";
    case DataType::fp16:
      return "fp16";
  }
  return "unknown";
}

std::optional<DataType> data_type_from_string(std::string_view text) {
  for (DataType type : kDataTypes)
    if (to_string(type) == text) return type;
  return std::nullopt;
}

DataType parse_data_type(std::string_view text) {
  if (const std::optional<DataType> type = data_type_from_string(text)) return *type;
  throw Error(StatusCode::invalid_argument,
              fmt::format("unknown dtype '{}': expected fp32, bf16 or fp16", text));
}

int element_bytes(DataType type) { return type == DataType::fp32 ? 4 : 2; }

std::string_view cuda_type(DataType type) {
  switch (type) {
    case DataType::fp32:
      return "float";
    case DataType::bf16:
      return "ft::bf16";
    case DataType::fp16:
      return "ft::fp16";
  }
  return "float";
}

}  // namespace fusetune
