#include "generator/spec_lexer.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <system_error>

#include "generator/spec_parser.h"

namespace fusetune {
namespace {

bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

const Token& Lexer::peek() {
  if (!lookahead_) lookahead_ = lex();
  return *lookahead_;
}

Token Lexer::take() {
  const Token token = peek();
  lookahead_.reset();
  return token;
}

void Lexer::fail(std::string_view problem, std::size_t position) const {
  throw SpecError(problem, text_, position);
}

Token Lexer::lex() {
  while (cursor_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[cursor_]))) {
    ++cursor_;
  }
  const std::size_t start = cursor_;
  if (start == text_.size()) return {TokenKind::end, {}, start};
  const char c = text_[start];
  auto punctuation = [&](TokenKind kind, std::size_t length) {
    cursor_ += length;
    return Token{kind, text_.substr(start, length), start};
  };
  if (c == '(') return punctuation(TokenKind::open, 1);
  if (c == ')') return punctuation(TokenKind::close, 1);
  if (c == ',') return punctuation(TokenKind::comma, 1);
  if (c == '=') return punctuation(TokenKind::equals, 1);
  if (text_.substr(start, 2) == "->") return punctuation(TokenKind::arrow, 2);
  if (text_.substr(start, 2) == "..") return punctuation(TokenKind::range, 2);
  if (is_name_start(c)) {
    while (cursor_ < text_.size() && is_name_char(text_[cursor_])) ++cursor_;
    return {TokenKind::name, text_.substr(start, cursor_ - start), start};
  }
  if (c == '+' || c == '-' || c == '.' || is_digit(c)) return lex_number();
  if (std::isprint(static_cast<unsigned char>(c))) {
    fail(fmt::format("unexpected character '{}'", c), start);
  }
  fail(fmt::format("unexpected byte 0x{:02x}", static_cast<unsigned char>(c)), start);
}

// [+-] digits [. digits] [(e|E) [+-] digits]: the grammar canonical_number() prints. A number
// ends before "..", which joins the ends of a range (m=1..16).
Token Lexer::lex_number() {
  const std::size_t start = cursor_;
  auto at = [&](std::size_t i) { return i < text_.size() ? text_[i] : '\0'; };
  auto at_fraction = [&] { return at(cursor_) == '.' && at(cursor_ + 1) != '.'; };
  auto digits = [&](std::string_view problem) {
    if (!is_digit(at(cursor_))) fail(problem, cursor_);
    while (is_digit(at(cursor_))) ++cursor_;
  };
  if (at(cursor_) == '+' || at(cursor_) == '-') {
    ++cursor_;
    if (is_name_start(at(cursor_))) {
      fail("expected a digit after the sign: numbers are finite (no NaN or infinity)", cursor_);
    }
  }
  if (at(cursor_) == '.') fail("a number starts with a digit: write 0.5, not .5", cursor_);
  digits("expected a digit after the sign");
  if (at_fraction()) {
    ++cursor_;
    digits("expected a digit after '.' in a number");
  }
  if (at(cursor_) == 'e' || at(cursor_) == 'E') {
    ++cursor_;
    if (at(cursor_) == '+' || at(cursor_) == '-') ++cursor_;
    digits("expected a digit in the exponent of a number");
  }
  if (is_name_char(at(cursor_)) || at_fraction()) {
    fail(fmt::format("malformed number: unexpected '{}'", at(cursor_)), cursor_);
  }
  const std::string_view text = text_.substr(start, cursor_ - start);
  // from_chars reads no leading '+'.
  const std::string_view unsigned_text = text.front() == '+' ? text.substr(1) : text;
  double value = 0;
  const auto [end, error] =
      std::from_chars(unsigned_text.data(), unsigned_text.data() + unsigned_text.size(), value);
  if (error != std::errc() || end != unsigned_text.data() + unsigned_text.size() ||
      !std::isfinite(value)) {
    fail(fmt::format("number {} is out of the range of a double", text), start);
  }
  return {TokenKind::number, text, start, value};
}

}  // namespace fusetune
