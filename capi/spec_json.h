// A spec as fusetune_describe presents it (include/fusetune/fusetune_c.h): what a binding needs
// to allocate and check the operands of a launch without parsing the spec language itself.
#pragma once

#include <nlohmann/json.hpp>

#include "generator/spec.h"

namespace fusetune::capi {

// The description fusetune_describe documents, its keys in the documented order.
nlohmann::ordered_json describe_spec(const Spec& spec);

}  // namespace fusetune::capi
