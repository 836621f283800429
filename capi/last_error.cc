#include "capi/last_error.h"

#include <fmt/format.h>

#include <string>

namespace fusetune::capi {
namespace {

thread_local std::string thread_last_error;

// fusetune_status and StatusCode are one list of codes: a binding may read either.
static_assert(FUSETUNE_OK == static_cast<int>(StatusCode::ok));
static_assert(FUSETUNE_INVALID_SPEC == static_cast<int>(StatusCode::invalid_spec));
static_assert(FUSETUNE_INVALID_ARGUMENT == static_cast<int>(StatusCode::invalid_argument));
static_assert(FUSETUNE_NOT_FOUND == static_cast<int>(StatusCode::not_found));
static_assert(FUSETUNE_NO_DEVICE == static_cast<int>(StatusCode::no_device));
static_assert(FUSETUNE_COMPILE_ERROR == static_cast<int>(StatusCode::compile_error));
static_assert(FUSETUNE_CUDA_ERROR == static_cast<int>(StatusCode::cuda_error));
static_assert(FUSETUNE_DATABASE_ERROR == static_cast<int>(StatusCode::database_error));
static_assert(FUSETUNE_INTERNAL == static_cast<int>(StatusCode::internal));

}  // namespace

fusetune_status fail(StatusCode code, std::string_view message) noexcept {
  try {
    thread_last_error = message;
  } catch (...) {
    thread_last_error.clear();  // out of memory: the status still says what kind of failure
  }
  // An ok code here would report success for a failure.
  return code == StatusCode::ok ? FUSETUNE_INTERNAL : static_cast<fusetune_status>(code);
}

const char* last_error() noexcept { return thread_last_error.c_str(); }

void require_argument(const void* pointer, std::string_view name) {
  if (pointer == nullptr)
    throw Error(StatusCode::invalid_argument, fmt::format("the argument {} is NULL", name));
}

void throw_unless_ok(const Status& status) {
  if (!status.ok()) throw Error(status.code(), status.message());
}

}  // namespace fusetune::capi
