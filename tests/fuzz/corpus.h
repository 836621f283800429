// The fuzz targets' inputs on disk: a corpus folder (one input per file, as libFuzzer keeps
// them) and a dictionary in libFuzzer's -dict format.
#pragma once

#include <string>
#include <vector>

namespace fusetune::fuzz {

// The contents of every file in `folder`, in the order of their names. Throws std::runtime_error
// where the folder cannot be read.
std::vector<std::string> read_corpus(const std::string& folder);

// The words of a dictionary file: each line "word" or name="word", with \\, \" and \xNN
// escapes; '#' starts a comment line.
std::vector<std::string> read_dictionary(const std::string& path);

}  // namespace fusetune::fuzz
