#!/usr/bin/env bash
# Sets up, builds and runs every default test: once in a normal build, once under
# AddressSanitizer and UndefinedBehaviorSanitizer.
#   scripts/test.sh            both builds
#   scripts/test.sh --quick    the normal build only
#   scripts/test.sh -L vm      also pass ctest options (here: the QEMU guest tests)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
ctest_args=()
for a in "$@"; do
  if [[ $a == --quick ]]; then quick=1; else ctest_args+=("$a"); fi
done
((${#ctest_args[@]})) || ctest_args=(-LE 'vm|soak')
scripts/deps.sh build test
jobs=$(nproc)

run() {  # build dir, cmake options...
  local dir=$1
  shift
  echo "== $dir: build" >&2
  cmake -S . -B "$dir" -DVSWITCH_BENCH=OFF "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  echo "== $dir: test" >&2
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 300 "${ctest_args[@]}")
}

run build -DCMAKE_BUILD_TYPE=RelWithDebInfo
if ((!quick)); then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
  run build-asan -DCMAKE_BUILD_TYPE=Debug -DVSWITCH_SANITIZE=ON
fi
echo "== all tests passed" >&2
