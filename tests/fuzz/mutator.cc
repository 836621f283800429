#include "tests/fuzz/mutator.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace fusetune::fuzz {
namespace {

// Numbers at the edges of the types that read them: int32, uint32, int64, double.
const char* const kExtremeNumbers[] = {
    "0",
    "-0",
    "-1",
    "1",
    "65535",
    "65536",
    "1073741824",
    "1073741825",
    "2147483647",
    "2147483648",
    "-2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "1e308",
    "1e309",
    "-1e308",
    "1e-320",
    "4.9e-324",
    "1e400",
    "0.1",
    "1e-5",
    "nan",
    "inf",
    "-inf",
    "1.7976931348623157e308",
    "000000000000000000000001",
};

}  // namespace

Mutator::Mutator(std::uint64_t seed, std::vector<std::string> corpus, std::string structure,
                 std::vector<std::string> tokens)
    : random_(seed),
      corpus_(std::move(corpus)),
      structure_(std::move(structure)),
      tokens_(std::move(tokens)) {}

std::string Mutator::next() {
  std::string text = corpus_[below(corpus_.size())];
  // Half the inputs have one mutation, so that many still parse and reach the deeper checks.
  for (std::uint64_t n = below(2) ? 1 : 2 + below(3); n > 0; --n) mutate(text);
  return text;
}

void Mutator::mutate(std::string& text) {
  const std::size_t at = position(text);
  const std::size_t span = std::min<std::size_t>(1 + below(16), text.size() - at);
  switch (below(10)) {
    case 0:  // a bit flipped
      if (at < text.size()) text[at] = static_cast<char>(text[at] ^ (1 << below(8)));
      break;
    case 1:  // a byte set, control characters and non-ASCII bytes included
      if (at < text.size()) text[at] = static_cast<char>(below(256));
      break;
    case 2:  // a structural character inserted
      text.insert(at, 1, structure_[below(structure_.size())]);
      break;
    case 3:  // a token inserted
      text.insert(at, tokens_[below(tokens_.size())]);
      break;
    case 4:  // a span deleted
      text.erase(at, span);
      break;
    case 5:  // a span duplicated elsewhere
      text.insert(position(text), text.substr(at, span));
      break;
    case 6: {  // a span repeated, for long and deeply nested inputs
      const std::string piece = text.substr(at, span);
      for (std::uint64_t n = 2 + below(62); n > 0; --n) text.insert(at, piece);
      break;
    }
    case 7:
    case 8:
      replace_number(text);
      break;
    default: {  // the tail spliced from another entry
      const std::string& other = corpus_[below(corpus_.size())];
      text = text.substr(0, at) + other.substr(below(other.size() + 1));
      break;
    }
  }
}

// A run of digits (with its sign, point and exponent) replaced by a number at an extreme.
void Mutator::replace_number(std::string& text) {
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (std::isdigit(static_cast<unsigned char>(text[i])) &&
        (i == 0 || !std::isdigit(static_cast<unsigned char>(text[i - 1]))))
      starts.push_back(i);
  const char* number = kExtremeNumbers[below(std::size(kExtremeNumbers))];
  if (starts.empty()) {
    text.insert(position(text), number);
    return;
  }
  const std::size_t start = starts[below(starts.size())];
  std::size_t end = start;
  while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) ||
                               text[end] == '.' || text[end] == 'e' || text[end] == 'E' ||
                               ((text[end] == '-' || text[end] == '+') && end > start &&
                                (text[end - 1] == 'e' || text[end - 1] == 'E'))))
    ++end;
  text.replace(start, end - start, number);
}

}  // namespace fusetune::fuzz
