// A small SVG writer: elements with attributes, text, groups and tooltips, every string escaped,
// so that a picture is a text file any browser opens and no library is needed to draw it.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace fusetune::cli {

struct SvgAttribute {
  std::string_view name;
  std::string value;  // escaped when written
};

// A number as SVG coordinates take it: at most two decimals, no exponent.
std::string svg_number(double value);

class Svg {
 public:
  // A picture `width` by `height` user units, white behind; `style` is a CSS style sheet for the
  // classes its elements name, written as given (the caller's own text, never text from
  // elsewhere: it is not escaped).
  Svg(double width, double height, std::string_view style);

  // <tag attributes.../>, or with a <title> child: the tooltip a browser shows on hovering.
  void element(std::string_view tag, std::initializer_list<SvgAttribute> attributes,
               std::string_view tooltip = {});
  // <text x y attributes...>text</text>.
  void text(double x, double y, std::string_view text,
            std::initializer_list<SvgAttribute> attributes = {});
  // <g attributes...> ... </g> around what is added in between.
  void open_group(std::initializer_list<SvgAttribute> attributes);
  void close_group();

  // The whole document; no element may be added afterwards.
  std::string finish();

 private:
  void open_tag(std::string_view tag, std::initializer_list<SvgAttribute> attributes);

  std::string text_;
  int open_groups_ = 0;
};

}  // namespace fusetune::cli
