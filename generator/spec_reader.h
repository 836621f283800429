// The token-level reading every part of the spec parser shares: the next token, the
// punctuation a grammar rule expects, bounded integers, and SpecError with the caret.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "generator/spec_lexer.h"

namespace fusetune {

class SpecReader {
 public:
  explicit SpecReader(std::string_view text) : text_(text), lexer_(text) {}

  const Token& peek() { return lexer_.peek(); }
  Token take() { return lexer_.take(); }
  // Takes the next token when it is a `kind`.
  bool accept(TokenKind kind);
  // Takes the next token, which must be a `kind`; else fails with `problem` at it.
  Token expect(TokenKind kind, std::string_view problem);
  // The integer `value` holds, in [minimum, maximum]; else fails with `problem` at it.
  std::int64_t integer(const Token& value, const std::string& problem, std::int64_t minimum,
                       std::int64_t maximum) const;
  // Throws SpecError: `problem`, the spec, and a caret under byte `position`.
  [[noreturn]] void fail(std::string_view problem, std::size_t position) const;

  std::string_view text() const { return text_; }

 private:
  std::string_view text_;
  Lexer lexer_;
};

}  // namespace fusetune
