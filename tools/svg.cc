#include "tools/svg.h"

#include <fmt/format.h>

#include <cmath>

#include "tools/terminal_text.h"

namespace fusetune::cli {
namespace {

// XML 1.0 text: no control characters at all (printable shows them as \xNN, and invalid UTF-8
// likewise), and the five characters markup gives a meaning escaped.
std::string escaped(std::string_view raw) {
  std::string out;
  for (const char c : printable(raw)) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

std::string svg_number(double value) {
  if (!std::isfinite(value)) return "0";
  std::string text = fmt::format("{:.2f}", value);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text == "-0" ? "0" : text;
}

Svg::Svg(double width, double height, std::string_view style) {
  text_ = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\">\n"
      "<style>\n{2}</style>\n"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n",
      svg_number(width), svg_number(height), style);
}

void Svg::open_tag(std::string_view tag, std::initializer_list<SvgAttribute> attributes) {
  text_ += fmt::format("<{}", tag);
  for (const SvgAttribute& a : attributes)
    text_ += fmt::format(" {}=\"{}\"", a.name, escaped(a.value));
}

void Svg::element(std::string_view tag, std::initializer_list<SvgAttribute> attributes,
                  std::string_view tooltip) {
  open_tag(tag, attributes);
  if (tooltip.empty()) {
    text_ += "/>\n";
    return;
  }
  text_ += fmt::format("><title>{}</title></{}>\n", escaped(tooltip), tag);
}

void Svg::text(double x, double y, std::string_view text,
               std::initializer_list<SvgAttribute> attributes) {
  text_ += fmt::format("<text x=\"{}\" y=\"{}\"", svg_number(x), svg_number(y));
  for (const SvgAttribute& a : attributes)
    text_ += fmt::format(" {}=\"{}\"", a.name, escaped(a.value));
  text_ += fmt::format(">{}</text>\n", escaped(text));
}

void Svg::open_group(std::initializer_list<SvgAttribute> attributes) {
  open_tag("g", attributes);
  text_ += ">\n";
  ++open_groups_;
}

void Svg::close_group() {
  if (open_groups_ == 0) return;
  text_ += "</g>\n";
  --open_groups_;
}

std::string Svg::finish() {
  while (open_groups_ > 0) close_group();
  text_ += "</svg>\n";
  return std::move(text_);
}

}  // namespace fusetune::cli
