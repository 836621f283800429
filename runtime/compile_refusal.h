// Production mode (Options::no_compile, $FUSETUNE_NO_COMPILE): a load that would run NVRTC fails
// instead, with a message that names the spec and how to make it load from a cubin.
#pragma once

#include <string>

namespace fusetune {

// $FUSETUNE_NO_COMPILE, read as every on/off variable is (cache/environment_flag.h).
bool no_compile_from_environment();

// A load that needed a compile.
struct CompileNeed {
  std::string spec{};       // canonical
  std::string precision{};  // as `fusetune tune --precision` takes it: "fp32", "auto"
  std::string device{};     // "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)"
  std::string arch{};       // "sm_90"
  std::string kernel{};     // the configuration that has no cubin
  bool tuned = false;       // it is a stored winner (whose cubin is missing)
  std::string neighbour{};  // untuned: the tuned shape it would borrow from; "" for the default
  std::string database{};   // where its cubin was looked for and tunings are written
};

// The message of the not_found error such a load fails with: what was missing, that compiling
// is off and where that was said, and the command that makes the load work.
std::string compile_refusal(const CompileNeed& need);

}  // namespace fusetune
