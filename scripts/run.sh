#!/usr/bin/env bash
# Sets up, builds and starts vswitchd on its embedded default: no hugepages, no NIC, no root.
# Arguments go to vswitchd (try --help). Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DVSWITCH_TESTS=OFF -DVSWITCH_BENCH=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
exec build/vswitchd "$@"
