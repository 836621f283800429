// The subcommands of `fusetune cache` beyond ls and show. Each adds itself to the cache command;
// its callback stores the process's exit code. Failures are thrown as fusetune::Error.
#pragma once

#include <CLI/CLI.hpp>

namespace fusetune::cli {

void add_cache_explain_command(CLI::App& cache, int& exit_code);    // explain SPEC
void add_cache_transfer_commands(CLI::App& cache, int& exit_code);  // export, import, merge
void add_cache_diff_command(CLI::App& cache, int& exit_code);       // diff A B
void add_cache_prune_command(CLI::App& cache, int& exit_code);      // prune
void add_cache_plot_command(CLI::App& cache, int& exit_code);       // plot SPEC

}  // namespace fusetune::cli
