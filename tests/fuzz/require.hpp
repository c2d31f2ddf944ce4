// What a harness does when the code under test breaks one of its promises: stops with the
// reason, so libFuzzer keeps the input as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace vswitch::fuzz {

inline void require(bool ok, const char* promise) {
  if (ok) return;
  fprintf(stderr, "broken promise: %s\n", promise);
  abort();
}

}  // namespace vswitch::fuzz
