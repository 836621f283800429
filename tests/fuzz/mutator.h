// Deterministic mutations of a corpus of real inputs, for the fuzz targets' fixed-count passes:
// the same seed gives the same inputs on every machine (std::mt19937_64's sequence is fixed by
// the standard; the draws are our own, not the library's distributions).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace fusetune::fuzz {

class Mutator {
 public:
  // `corpus`: the inputs mutated (none empty). `structure`: characters of the input's syntax,
  // inserted to unbalance it ("(),=->" for specs). `tokens`: words of the language (op names,
  // JSON keys), inserted whole.
  Mutator(std::uint64_t seed, std::vector<std::string> corpus, std::string structure,
          std::vector<std::string> tokens);

  // A corpus entry with one to four mutations: a bit flipped, a byte set, a structural
  // character or a token inserted, a span deleted, duplicated or repeated many times, a number
  // replaced by one at an extreme, or the tail spliced from another entry.
  std::string next();

 private:
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : random_() % n; }
  std::size_t position(const std::string& text) { return below(text.size() + 1); }
  void mutate(std::string& text);
  void replace_number(std::string& text);

  std::mt19937_64 random_;
  std::vector<std::string> corpus_;
  std::string structure_;
  std::vector<std::string> tokens_;
};

}  // namespace fusetune::fuzz
