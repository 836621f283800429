// fusetune gen SPEC [--config NAME]: prints the CUDA source of one candidate.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "fusetune/status.h"
#include "generator/generator.h"
#include "generator/precision_policy.h"
#include "generator/spec_parser.h"
#include "runtime/device.h"
#include "tools/commands.h"

namespace fusetune::cli {
namespace {

struct GenArgs {
  std::string spec;
  std::string config;
  std::string arch;
  std::string precision;  // "": the inputs' own
};

int run(const GenArgs& args) {
  const Spec spec = parse_spec(args.spec);
  // The device's own limits when there is one and no arch was asked for.
  DeviceLimits limits;
  if (const DeviceProbe probe = probe_device(); args.arch.empty() && probe.device)
    limits = probe.device->limits;
  else
    limits = *DeviceLimits::for_arch(args.arch.empty() ? "sm_90" : args.arch);
  const Candidate candidate =
      args.config.empty()
          ? default_candidate(spec, limits, *reading_options([&] {
                                               return make_precision_policy(
                                                   args.precision, std::nullopt, spec.main);
                                             }).precision)
          : reading_options([&] { return candidate_from_name(spec, limits, args.config); });
  std::cout << generate(spec, candidate.config).code;
  return kSuccess;
}

}  // namespace

void add_gen_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<GenArgs>();
  CLI::App* command =
      app.add_subcommand("gen", "Print the generated CUDA source of one candidate of a spec");
  command->add_option("spec", args->spec, "the fused operation")->required();
  command->add_option("--config", args->config,
                      "a configuration name from 'tune' (default: the untuned default)");
  command
      ->add_option("--arch", args->arch,
                   "device whose limits apply (default: this machine's GPU, else sm_90)")
      ->check(arch_names());
  command
      ->add_option("--precision", args->precision,
                   "precision of the default candidate (default: the inputs' type; a --config "
                   "name carries its own)")
      ->check(precision_names());
  command->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace fusetune::cli
