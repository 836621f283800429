// Opens fusetune through its C++ API and loads a kernel. Without a GPU it says so and exits 0:
// what an installed fusetune must do on a machine without one.
#include <fusetune/fusetune.h>

#include <cstdio>

int main() {
  auto library = fusetune::Library::open();
  if (!library.ok()) {
    const fusetune::Status& status = library.status();
    if (status.code() == fusetune::StatusCode::no_device) {
      std::printf("no GPU: %s\n", status.message().c_str());
      return 0;
    }
    std::fprintf(stderr, "%s: %s\n", fusetune::to_string(status.code()), status.message().c_str());
    return 1;
  }
  auto kernel = library.value()->load("linear(m=4, n=8, k=16) -> bias -> relu");
  if (!kernel.ok()) {
    std::fprintf(stderr, "%s\n", kernel.status().message().c_str());
    return 1;
  }
  std::printf("loaded %s (%s)\n", kernel.value()->config().c_str(),
              kernel.value()->tuned() ? "tuned" : "untuned default");
  return 0;
}
