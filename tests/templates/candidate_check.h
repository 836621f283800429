// What the template tests share: a subset of a search space in which every value of every
// tunable appears, and the check of candidates against the fp64 reference on the GPU.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "generator/generator.h"
#include "runtime/device.h"
#include "runtime/nvrtc.h"
#include "tests/fp64_product.h"

namespace fusetune {

// Greedily picks candidates of `space` until every tunable value found in it (tunable_settings)
// is covered.
std::vector<Candidate> covering_subset(const std::vector<Candidate>& space);

// Compiles every source for `arch` on 16 threads; a source that fails fails the test (GoogleTest
// expectations: fewer binaries than sources then). By index into `sources`.
std::map<std::size_t, CompiledBinary> compile_all(const std::vector<KernelSource>& sources,
                                                  const std::string& arch);

// Compiles `candidates` of `spec`, runs each twice on fresh random inputs with a poisoned output
// (the second launch finds what the first left, split-K's counters say) and holds both results
// to `precision`'s default tolerance against fp64. GoogleTest assertions; call from a test.
void expect_candidates_match_reference(const Spec& spec, Precision precision,
                                       const std::vector<Candidate>& candidates,
                                       const DeviceInfo& device);

// max |got - want| / max |want| (infinite where got is not finite): a norm-wise error stricter
// than the tuner's, for outputs that should match a model of the same arithmetic.
double relative_error(const std::vector<float>& got, const std::vector<double>& want);

// ||got - want|| / ||want|| in the Frobenius norm (infinite where got is not finite): the error
// the tuner holds outputs to and a precision's tolerance bounds (tuner/problem_data.h).
double frobenius_error(const std::vector<float>& got, const std::vector<double>& want);

}  // namespace fusetune
