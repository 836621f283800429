#include "tests/fuzz/corpus.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace fusetune::fuzz {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot read " + path.string());
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// The word between the first and the last quote of a dictionary line, unescaped.
std::string word_of(const std::string& line) {
  const std::size_t open = line.find('"'), close = line.rfind('"');
  if (open == std::string::npos || close <= open) throw std::runtime_error("bad line: " + line);
  std::string word;
  for (std::size_t i = open + 1; i < close; ++i) {
    if (line[i] != '\\' || i + 1 == close) {
      word += line[i];
    } else if (line[i + 1] == 'x' && i + 3 < close) {
      word += static_cast<char>(std::stoi(line.substr(i + 2, 2), nullptr, 16));
      i += 3;
    } else {
      word += line[++i];
    }
  }
  return word;
}

}  // namespace

std::vector<std::string> read_corpus(const std::string& folder) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::vector<std::string> corpus;
  for (const auto& file : files) corpus.push_back(read_file(file));
  return corpus;
}

std::vector<std::string> read_dictionary(const std::string& path) {
  std::vector<std::string> words;
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot read " + path);
  for (std::string line; std::getline(file, line);)
    if (!line.empty() && line[0] != '#') words.push_back(word_of(line));
  return words;
}

}  // namespace fusetune::fuzz
