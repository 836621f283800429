#include "generator/spec_reader.h"

#include <charconv>

#include "generator/spec_parser.h"

namespace fusetune {

bool SpecReader::accept(TokenKind kind) {
  if (lexer_.peek().kind != kind) return false;
  lexer_.take();
  return true;
}

Token SpecReader::expect(TokenKind kind, std::string_view problem) {
  if (lexer_.peek().kind != kind) fail(problem, lexer_.peek().position);
  return lexer_.take();
}

std::int64_t SpecReader::integer(const Token& value, const std::string& problem,
                                 std::int64_t minimum, std::int64_t maximum) const {
  if (value.kind != TokenKind::number) fail(problem, value.position);
  const std::string_view digits = value.text.starts_with('+') ? value.text.substr(1) : value.text;
  std::int64_t result = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), result);
  if (error != std::errc() || end != digits.data() + digits.size() || result < minimum ||
      result > maximum) {
    fail(problem, value.position);
  }
  return result;
}

void SpecReader::fail(std::string_view problem, std::size_t position) const {
  throw SpecError(problem, text_, position);
}

}  // namespace fusetune
