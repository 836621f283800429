// For tests that need a GPU: they skip, saying why, where none is usable.
#pragma once

#include <gtest/gtest.h>

#include "runtime/device.h"

#define FUSETUNE_REQUIRE_GPU()                                             \
  do {                                                                     \
    const ::fusetune::DeviceProbe probe_ = ::fusetune::probe_device();     \
    if (!probe_.device) GTEST_SKIP() << "needs a GPU: " << probe_.problem; \
  } while (0)
