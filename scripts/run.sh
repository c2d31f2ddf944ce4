#!/usr/bin/env bash
# Sets up, builds and starts vswitchd on its embedded default: no hugepages, no NIC, no root.
# Arguments go to vswitchd (try --help). Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
# A build of its own: the test builds (build/, build-asan/) keep their tests.
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DVSWITCH_TESTS=OFF -DVSWITCH_BENCH=OFF \
  >/dev/null
cmake --build build-release -j"$(nproc)" >/dev/null
exec build-release/vswitchd "$@"
