// Where the tuner looks for fusetune-worker: the environment first, then beside the program, then
// beside the shared library holding the tuner and in the build's bin/ next to its lib/.
#include "tuner/worker_lookup.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <vector>

namespace fusetune {
namespace {

using Places = std::vector<std::filesystem::path>;

TEST(WorkerLookup, FindWorkerPrefersTheEnvironment) {
  const char* before = std::getenv("FUSETUNE_WORKER");
  const std::string saved = before ? before : "";
  setenv("FUSETUNE_WORKER", "/opt/somewhere/fusetune-worker", 1);
  EXPECT_EQ(find_worker(), "/opt/somewhere/fusetune-worker");
  if (before)
    setenv("FUSETUNE_WORKER", saved.c_str(), 1);
  else
    unsetenv("FUSETUNE_WORKER");
}

TEST(WorkerLookup, APythonProcessFindsItBesideOrNearTheSharedLibrary) {
  EXPECT_EQ(worker_places("/usr/bin/python3", "/src/fusetune/build/lib/libfusetune.so"),
            (Places{"/usr/bin/fusetune-worker", "/src/fusetune/build/lib/fusetune-worker",
                    "/src/fusetune/build/bin/fusetune-worker"}));
}

TEST(WorkerLookup, AProgramWithTheTunerLinkedInLooksBesideItselfOnce) {
  EXPECT_EQ(worker_places("/src/fusetune/build/bin/fusetune", "/src/fusetune/build/bin/fusetune"),
            (Places{"/src/fusetune/build/bin/fusetune-worker"}));
}

TEST(WorkerLookup, UnknownPathsAddNoPlace) {
  EXPECT_EQ(worker_places("", "/opt/lib/libfusetune.so"),
            (Places{"/opt/lib/fusetune-worker", "/opt/bin/fusetune-worker"}));
  EXPECT_EQ(worker_places("/usr/bin/python3", ""), (Places{"/usr/bin/fusetune-worker"}));
}

}  // namespace
}  // namespace fusetune
