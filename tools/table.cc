#include "tools/table.h"

#include <algorithm>

#include "tools/terminal_text.h"

namespace fusetune::cli {
namespace {

// Display width: UTF-8 continuation bytes take no column.
std::size_t width(const std::string& text) {
  return std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; });
}

}  // namespace

std::string Table::render() const {
  // Cells may hold what a database from elsewhere says: printed as text, never as escapes.
  std::vector<std::vector<std::string>> rows;
  for (const auto& row : rows_) {
    rows.emplace_back();
    for (const std::string& cell : row) rows.back().push_back(printable(cell));
  }
  std::vector<std::size_t> widths;
  for (const Column& c : columns_) widths.push_back(width(c.title));
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], width(row[i]));
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      const std::string& cell = i < cells.size() ? cells[i] : std::string();
      const std::string pad(widths[i] - width(cell), ' ');
      if (i) out += "  ";
      out += columns_[i].right_aligned ? pad + cell : cell + (i + 1 < columns_.size() ? pad : "");
    }
    return out + '\n';
  };
  std::vector<std::string> titles;
  for (const Column& c : columns_) titles.push_back(c.title);
  std::string out = line(titles);
  for (const auto& row : rows) out += line(row);
  return out;
}

}  // namespace fusetune::cli
