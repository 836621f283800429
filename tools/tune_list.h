// `fusetune tune --specs FILE`: tunes a list of specs (or one --shard of it) in canonical
// order, on one GPU or on several at once (--devices), and summarizes.
#pragma once

#include <string>
#include <vector>

#include "tools/batch_report.h"
#include "tools/tune_args.h"

namespace fusetune::cli {

// Tunes the list `args.specs_file` names with `args`; returns the exit code: kFailure when any
// spec failed (after trying every one). Throws Error before tuning anything when the list does
// not parse, a device is missing or the database cannot be opened.
int tune_list(const TuneArgs& args);

// Tunes `specs` (canonical texts) as tune_list does, `source` naming where they came from in the
// summary; returns what became of each, in order. Under --json it prints nothing: the caller
// prints one document for all its lists (print_list_json).
std::vector<SpecOutcome> tune_specs(const TuneArgs& args, const std::vector<std::string>& specs,
                                    const std::string& source);

// Prints `outcomes` as `tune --specs --json` does: one JSON document.
void print_list_json(const std::vector<SpecOutcome>& outcomes, const TuneArgs& args);

}  // namespace fusetune::cli
