// The objects behind the C interface's handles. fusetune::Library fixes its precision when it is
// opened, so one C library handle keeps a fusetune::Library per (precision, tolerance) asked for.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "fusetune/fusetune.h"
#include "fusetune/fusetune_c.h"

struct fusetune_library {
 public:
  // Opens the database (NULL or "": the default path) on `device`, checking both at once: throws
  // fusetune::Error(database_error or no_device). Its loads never compile when `no_compile`.
  fusetune_library(const char* database_path, int device, bool no_compile,
                   fusetune_message_fn on_warning, void* user);

  // The fusetune::Library loading at `precision` within `tolerance`, opened on first use. Throws
  // fusetune::Error(invalid_argument) for a precision or tolerance it does not accept. Thread
  // safe; the Library stays valid for its holder after forget_libraries().
  std::shared_ptr<fusetune::Library> library_for(std::string_view precision, double tolerance);

  // Drops every opened Library, whose loaded kernels would otherwise answer later loads with
  // what they loaded before a tune. Kernels already handed out stay valid.
  void forget_libraries();

  const std::string& database_path() const { return database_path_; }
  int device() const { return device_; }

 private:
  using Key = std::pair<std::string, double>;  // precision as asked, tolerance

  std::shared_ptr<fusetune::Library> open_library(const Key& key) const;

  std::string database_path_;  // resolved: the one file that loads read and tunes write
  int device_;
  bool no_compile_;  // Options::no_compile
  fusetune_message_fn on_warning_;
  void* user_;
  std::mutex mutex_;
  std::map<Key, std::shared_ptr<fusetune::Library>> libraries_;
};

// A loaded kernel, and the device its launches select first: the caller's thread may never have
// selected it in this library's CUDA runtime, which is separate from any other in the process.
struct fusetune_kernel {
  std::shared_ptr<const fusetune::Kernel> kernel;
  int device;
};
