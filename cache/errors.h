// How the tuning database's code refuses a file: the error it throws and the advice that ends
// every refusal of a file that is not fusetune's. Internal to cache/, not part of its API.
#pragma once

#include <string>
#include <utility>

#include "fusetune/status.h"

namespace fusetune::cache {

// How every refusal of a file that is not ours ends.
inline constexpr const char* kLeaveIt =
    "fusetune will not touch it; pass --db with another path or move the file away";

// Throws fusetune::Error (database_error) with `message`.
[[noreturn]] inline void fail(std::string message) {
  throw Error(StatusCode::database_error, std::move(message));
}

}  // namespace fusetune::cache
