// Where the tuner looks for fusetune-worker: the environment first, then beside the program and
// where an installation puts it from there, then beside the shared library holding the tuner, in
// the build's bin/ next to its lib/, and where an installation puts it from the library.
#include "tuner/worker_lookup.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <vector>

namespace fusetune {
namespace {

using Places = std::vector<std::filesystem::path>;

const InstalledWorker kGnuLayout{"../libexec/fusetune", "../libexec/fusetune"};

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
  EXPECT_EQ(
      worker_places("/usr/bin/python3", "/src/fusetune/build/lib/libfusetune.so", kGnuLayout),
      (Places{"/usr/bin/fusetune-worker", "/usr/libexec/fusetune/fusetune-worker",
              "/src/fusetune/build/lib/fusetune-worker", "/src/fusetune/build/bin/fusetune-worker",
              "/src/fusetune/build/libexec/fusetune/fusetune-worker"}));
}

TEST(WorkerLookup, AProgramWithTheTunerLinkedInLooksBesideItselfThenInItsInstallation) {
  EXPECT_EQ(worker_places("/src/fusetune/build/bin/fusetune", "/src/fusetune/build/bin/fusetune",
                          kGnuLayout),
            (Places{"/src/fusetune/build/bin/fusetune-worker",
                    "/src/fusetune/build/libexec/fusetune/fusetune-worker"}));
  EXPECT_EQ(worker_places("/opt/fusetune/bin/fusetune", "/opt/fusetune/bin/fusetune", kGnuLayout),
            (Places{"/opt/fusetune/bin/fusetune-worker",
                    "/opt/fusetune/libexec/fusetune/fusetune-worker"}));
}

TEST(WorkerLookup, AnInstalledLibraryInAMultiarchFolderFindsTheInstalledWorker) {
  const InstalledWorker debian{"../libexec/fusetune", "../../libexec/fusetune"};
  EXPECT_EQ(worker_places("", "/usr/lib/x86_64-linux-gnu/libfusetune.so.0.1", debian),
            (Places{"/usr/lib/x86_64-linux-gnu/fusetune-worker", "/usr/lib/bin/fusetune-worker",
                    "/usr/libexec/fusetune/fusetune-worker"}));
}

TEST(WorkerLookup, UnknownPathsAddNoPlace) {
  EXPECT_EQ(worker_places("", "/opt/lib/libfusetune.so", kGnuLayout),
            (Places{"/opt/lib/fusetune-worker", "/opt/bin/fusetune-worker",
                    "/opt/libexec/fusetune/fusetune-worker"}));
  EXPECT_EQ(worker_places("/usr/bin/python3", "", kGnuLayout),
            (Places{"/usr/bin/fusetune-worker", "/usr/libexec/fusetune/fusetune-worker"}));
}

}  // namespace
}  // namespace fusetune
