#include "fusetune/status.h"

namespace fusetune {

const char* to_string(StatusCode code) {
  switch (code) {
    case StatusCode::ok:
      return "ok";
    case StatusCode::invalid_spec:
      return "invalid_spec";
    case StatusCode::invalid_argument:
      return "invalid_argument";
    case StatusCode::not_found:
      return "not_found";
    case StatusCode::no_device:
      return "no_device";
    case StatusCode::compile_error:
      return "compile_error";
    case StatusCode::cuda_error:
      return "cuda_error";
    case StatusCode::database_error:
      return "database_error";
    case StatusCode::internal:
      return "internal";
  }
  return "unknown";
}

}  // namespace fusetune
