// The tokenizer of the spec language (grammar in spec_parser.h): names, numbers, the punctuation
// ( ) , = -> .. and the end, each with its byte offset in the text for the error caret. Numbers are
// read by the grammar canonical_number() prints, and must be finite doubles. A character that
// starts no token, or a malformed number, throws SpecError.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace fusetune {

enum class TokenKind { name, number, open, close, comma, equals, arrow, range, end };

struct Token {
  TokenKind kind = TokenKind::end;
  std::string_view text;  // a view of the spec text
  std::size_t position = 0;
  double number = 0;  // TokenKind::number only
};

// Reads the tokens of `text` one at a time, with one token of lookahead. `text` must outlive the
// Lexer and its tokens. After the end, every token is an end token.
class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  // The next token, without taking it.
  const Token& peek();
  // The next token, taken.
  Token take();

 private:
  [[noreturn]] void fail(std::string_view problem, std::size_t position) const;
  Token lex();
  Token lex_number();

  std::string_view text_;
  std::size_t cursor_ = 0;
  std::optional<Token> lookahead_;
};

}  // namespace fusetune
