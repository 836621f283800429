// Plain-text tables for the terminal: a header, aligned columns, numbers to the right.
#pragma once

#include <string>
#include <vector>

namespace fusetune::cli {

class Table {
 public:
  struct Column {
    std::string title;
    bool right_aligned = false;
  };

  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
  // Precondition: one cell per column.
  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }
  std::string render() const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace fusetune::cli
