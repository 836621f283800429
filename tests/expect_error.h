// For tests of failures: the fusetune::Error a call throws.
#pragma once

#include <gtest/gtest.h>

#include <optional>

#include "fusetune/status.h"

namespace fusetune {

// The error `call` throws, or a test failure when it throws none.
template <class Call>
std::optional<Error> error_of(Call call) {
  try {
    call();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a fusetune::Error";
  return std::nullopt;
}

}  // namespace fusetune
