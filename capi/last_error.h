// How failures cross the C interface: every exported call runs its body through guarded(), which
// turns any exception into a fusetune_status and keeps its message as the calling thread's last
// error. A successful call leaves the last error as it was: it is what the last *failed* call
// said, as fusetune_last_error() documents.
#pragma once

#include <exception>
#include <string_view>

#include "fusetune/fusetune_c.h"
#include "fusetune/status.h"

namespace fusetune::capi {

// Records `message` as the calling thread's last error and returns `code` as a status.
fusetune_status fail(StatusCode code, std::string_view message) noexcept;

// The calling thread's last error; "" before any failure.
const char* last_error() noexcept;

// Runs `body`: FUSETUNE_OK when it returns, else the status of what it threw.
template <class Body>
fusetune_status guarded(Body&& body) noexcept {
  try {
    body();
    return FUSETUNE_OK;
  } catch (const Error& e) {
    return fail(e.code(), e.what());
  } catch (const std::exception& e) {
    return fail(StatusCode::internal, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(StatusCode::internal, "internal error: an exception of unknown type");
  }
}

// Throws Error(invalid_argument) naming `name` when `pointer` is null.
void require_argument(const void* pointer, std::string_view name);

// Throws Error with the status's code and message unless it is ok.
void throw_unless_ok(const Status& status);

}  // namespace fusetune::capi
