#include "runtime/device.h"

#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include "fusetune/status.h"

namespace fusetune {
namespace {

std::optional<int> attribute(cudaDeviceAttr which, int ordinal) {
  int value = 0;
  if (cudaDeviceGetAttribute(&value, which, ordinal) != cudaSuccess) return std::nullopt;
  return value;
}

cache::SoftKeys read_soft_keys(int ordinal, int driver_version) {
  cache::SoftKeys keys;
  keys.driver_version = driver_version;
  if (auto khz = attribute(cudaDevAttrClockRate, ordinal); khz && *khz > 0)
    keys.sm_clock_mhz = *khz / 1000;
  if (auto khz = attribute(cudaDevAttrMemoryClockRate, ordinal); khz && *khz > 0)
    keys.memory_clock_mhz = *khz / 1000;
  if (auto ecc = attribute(cudaDevAttrEccEnabled, ordinal)) keys.ecc = *ecc != 0;
  if (auto mps = attribute(cudaDevAttrMpsEnabled, ordinal)) keys.mps = *mps != 0;
  return keys;
}

}  // namespace

std::string DeviceInfo::arch() const { return fmt::format("sm_{}{}", cc_major, cc_minor); }

std::string DeviceInfo::description() const {
  return fmt::format("{} ({}, {} SMs)", name, arch(), sm_count);
}

DeviceProbe probe_device(int ordinal) {
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error == cudaErrorInsufficientDriver)
    return {std::nullopt,
            "no usable CUDA GPU: no NVIDIA driver was found, or it is older than "
            "the CUDA 13 runtime fusetune is built with"};
  if (error == cudaErrorNoDevice) return {std::nullopt, "no usable CUDA GPU: none was found"};
  if (error != cudaSuccess)
    return {std::nullopt, fmt::format("no usable CUDA GPU: {} ({})", cudaGetErrorString(error),
                                      cudaGetErrorName(error))};
  if (ordinal >= count)
    return {std::nullopt,
            fmt::format("no CUDA GPU number {} (this machine has {})", ordinal, count)};
  cudaDeviceProp prop{};
  if (const cudaError_t e = cudaGetDeviceProperties(&prop, ordinal); e != cudaSuccess)
    return {std::nullopt,
            fmt::format("cannot query CUDA GPU {}: {}", ordinal, cudaGetErrorString(e))};
  DeviceInfo info;
  info.ordinal = ordinal;
  info.name = prop.name;
  info.cc_major = prop.major;
  info.cc_minor = prop.minor;
  info.sm_count = prop.multiProcessorCount;
  info.l2_bytes = prop.l2CacheSize;
  info.memory_bytes = prop.totalGlobalMem;
  cudaDriverGetVersion(&info.driver_version);
  info.soft_keys = read_soft_keys(ordinal, info.driver_version);
  if (info.cc_major < 8)
    return {std::nullopt,
            fmt::format("{} has compute capability {}.{}; fusetune needs 8.0 or newer (A100, H100)",
                        info.name, info.cc_major, info.cc_minor)};
  info.limits.arch = info.arch();
  info.limits.sm_count = info.sm_count;
  info.limits.max_smem_per_block = static_cast<int>(prop.sharedMemPerBlockOptin);
  info.limits.smem_per_sm = static_cast<int>(prop.sharedMemPerMultiprocessor);
  info.limits.regs_per_sm = prop.regsPerMultiprocessor;
  info.limits.max_threads_per_sm = prop.maxThreadsPerMultiProcessor;
  info.limits.max_blocks_per_sm = prop.maxBlocksPerMultiProcessor;
  return {info, {}};
}

DeviceInfo require_device(int ordinal) {
  DeviceProbe probe = probe_device(ordinal);
  if (!probe.device)
    throw Error(StatusCode::no_device,
                probe.problem +
                    ". This needs a CUDA GPU; on a machine without one, "
                    "'fusetune tune --compile-only --arch sm_90' still generates and "
                    "compiles the search space.");
  return *probe.device;
}

}  // namespace fusetune
