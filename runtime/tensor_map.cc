#include "runtime/tensor_map.h"

#include <cuda.h>
#include <cudaTypedefs.h>

#include <cstdint>

namespace fusetune {
namespace {

PFN_cuTensorMapEncodeTiled_v12000 encoder() {
  // Looked up once; the lookup initialises the runtime, which needs a driver.
  static const PFN_cuTensorMapEncodeTiled_v12000 function = [] {
    void* entry = nullptr;
    cudaDriverEntryPointQueryResult found{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &entry, 12000, cudaEnableDefault,
                                         &found) != cudaSuccess ||
        found != cudaDriverEntryPointSuccess)
      return static_cast<PFN_cuTensorMapEncodeTiled_v12000>(nullptr);
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(entry);
  }();
  return function;
}

}  // namespace

static_assert(sizeof(EncodedTensorMap) == sizeof(CUtensorMap));

cudaError_t encode_tensor_map(const TensorMapSpec& spec, const LaunchArgs& args, void* workspace,
                              EncodedTensorMap& map) {
  if (spec.workspace_offset && workspace == nullptr) return cudaErrorInvalidValue;
  if (!spec.workspace_offset && spec.tensor != TensorMapSpec::kOutput &&
      (spec.tensor < 0 || spec.tensor >= kMaxTensors))
    return cudaErrorInvalidValue;
  const void* base =
      spec.workspace_offset
          ? static_cast<const void*>(static_cast<char*>(workspace) + *spec.workspace_offset)
      : spec.tensor == TensorMapSpec::kOutput ? static_cast<const void*>(args.out)
                                              : static_cast<const void*>(args.tensors[spec.tensor]);
  if (reinterpret_cast<std::uintptr_t>(base) % 16) return cudaErrorMisalignedAddress;
  // Only fp32 data has a TF32 to be rounded to.
  if (spec.round_to_tf32 && (spec.dtype != DataType::fp32 || spec.int8_digits))
    return cudaErrorInvalidValue;
  if (spec.swizzle_bytes != 128 && spec.swizzle_bytes != 64) return cudaErrorInvalidValue;
  const PFN_cuTensorMapEncodeTiled_v12000 encode = encoder();
  if (!encode) return cudaErrorNotSupported;
  // Innermost dimension first: columns, then rows; the row pitch in bytes.
  const cuuint64_t dims[2] = {static_cast<cuuint64_t>(spec.cols),
                              static_cast<cuuint64_t>(spec.rows)};
  const cuuint64_t pitch[1] = {static_cast<cuuint64_t>(spec.cols) *
                               (spec.int8_digits ? 1 : element_bytes(spec.dtype))};
  // Digits are bytes to the copy engine, which copies them as they are.
  const CUtensorMapDataType type = spec.int8_digits               ? CU_TENSOR_MAP_DATA_TYPE_UINT8
                                   : spec.dtype == DataType::bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
                                   : spec.dtype == DataType::fp16 ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16
                                   : spec.round_to_tf32           ? CU_TENSOR_MAP_DATA_TYPE_TFLOAT32
                                                                  : CU_TENSOR_MAP_DATA_TYPE_FLOAT32;
  const cuuint32_t box[2] = {static_cast<cuuint32_t>(spec.box_cols),
                             static_cast<cuuint32_t>(spec.box_rows)};
  const cuuint32_t element_strides[2] = {1, 1};
  const CUresult result =
      encode(reinterpret_cast<CUtensorMap*>(map.opaque.data()), type, 2, const_cast<void*>(base),
             dims, pitch, box, element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
             spec.swizzle_bytes == 64 ? CU_TENSOR_MAP_SWIZZLE_64B : CU_TENSOR_MAP_SWIZZLE_128B,
             CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  return result == CUDA_SUCCESS ? cudaSuccess : cudaErrorInvalidValue;
}

}  // namespace fusetune
