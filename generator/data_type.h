// The element types of a spec's tensors: fp32, or 16-bit bf16/fp16 (fp32 accumulation).
#pragma once

#include <optional>
#include <string_view>

namespace fusetune {

enum class DataType { fp32, bf16, fp16 };

inline constexpr DataType kDataTypes[] = {DataType::fp32, DataType::bf16, DataType::fp16};

std::string_view to_string(DataType type);  // "fp32", "bf16", "fp16"
std::optional<DataType> data_type_from_string(std::string_view text);
// data_type_from_string for stored text (a database, a worker message): throws
// fusetune::Error(invalid_argument) naming the text when it is none of the three.
DataType parse_data_type(std::string_view text);
int element_bytes(DataType type);  // 4 or 2
// The storage type templates/common.cuh gives it: "float", "ft::bf16", "ft::fp16".
std::string_view cuda_type(DataType type);

}  // namespace fusetune
