// fusetune's error values: every public call that can fail says what failed and what to do.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace fusetune {

enum class StatusCode {
  ok = 0,
  invalid_spec,      // the spec text does not parse or names an impossible problem
  invalid_argument,  // a launch or option value is wrong (null pointer, misaligned, count)
  not_found,         // nothing stored under that key
  no_device,         // the work needs a CUDA GPU and none is usable
  compile_error,     // NVRTC rejected generated source (a fusetune bug: please report)
  cuda_error,        // the CUDA runtime reported an error
  database_error,    // the tuning database cannot be opened, read or written
  internal,          // anything else
};

// Names the code for messages: "invalid_spec", "no_device", ...
const char* to_string(StatusCode code);

// The outcome of an operation: ok, or a code with a message written for the user.
class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::ok; }
  StatusCode code() const { return code_; }
  // The full message: what failed, and what to do about it. Empty when ok().
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::ok;
  std::string message_;
};

// A value, or the Status that explains why there is none.
template <class T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {
    if (status_.ok()) status_ = Status(StatusCode::internal, "Result built from an ok Status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  // Precondition: ok().
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  T* operator->() { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

// Internal code throws Error; the public API turns it into the Status it carries.
class Error : public std::runtime_error {
 public:
  Error(StatusCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  StatusCode code() const { return code_; }
  Status status() const { return Status(code_, what()); }

 private:
  StatusCode code_;
};

}  // namespace fusetune
