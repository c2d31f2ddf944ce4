#!/usr/bin/env bash
# Sets up, builds and runs every default test: a normal build with every test (unit, e2e and
# the QEMU guest tests, label vm), then the unit and e2e tests again under AddressSanitizer and
# UndefinedBehaviorSanitizer, then the libFuzzer harnesses briefly in a clang build. The normal
# build compiles the benchmarks too, without running them, so that they cannot rot.
#   scripts/test.sh            all three builds
#   scripts/test.sh --quick    the normal build only, without the QEMU guests
#   scripts/test.sh -L vm      only these ctest labels (or any other ctest option), normal build
#   scripts/test.sh --tsan     the unit tests and the end-to-end tests whose daemon runs threads
#                              under ThreadSanitizer (not in the default run; the tests that use
#                              libvdeplug cannot: it dlopens its modules with RTLD_DEEPBIND)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
tsan=0
ctest_args=()
for a in "$@"; do
  case $a in
    --quick) quick=1 ;;
    --tsan) tsan=1 ;;
    *) ctest_args+=("$a") ;;
  esac
done
# bench_build: what compiling bench/ needs (running it needs the rest of the bench set).
scripts/deps.sh build test bench_build vm
jobs=$(nproc)

run() {  # build dir, ctest options, then cmake options (which win over the defaults here)
  local dir=$1 tests=$2
  shift 2
  echo "== $dir: build" >&2
  # Tests on explicitly, whatever an earlier configure of the same directory said.
  cmake -S . -B "$dir" -DVSWITCH_TESTS=ON -DVSWITCH_BENCH=OFF "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  echo "== $dir: test" >&2
  # shellcheck disable=SC2086
  (cd "$dir" && ctest --output-on-failure --no-tests=error -j"$jobs" --timeout 900 $tests)
}

if ((${#ctest_args[@]})); then
  run build "${ctest_args[*]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVSWITCH_BENCH=ON
  exit 0
fi
if ((tsan)); then
  # A race ends the process that has it, the daemon or the test, and so fails the test.
  export TSAN_OPTIONS=halt_on_error=1
  run build-tsan "-L unit" -DCMAKE_BUILD_TYPE=Debug -DVSWITCH_SANITIZE=thread
  run build-tsan "-R ^(DpdkCapture|PcapForwarding|Telemetry|CaptureTest[.](Stream|Bad))" \
    -DCMAKE_BUILD_TYPE=Debug -DVSWITCH_SANITIZE=thread
  exit 0
fi
if ((quick)); then
  run build "-LE vm|soak" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVSWITCH_BENCH=ON
  exit 0
fi
run build "-LE soak" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVSWITCH_BENCH=ON
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
run build-asan "-LE vm|soak" -DCMAKE_BUILD_TYPE=Debug -DVSWITCH_SANITIZE=ON
# The libFuzzer harnesses (tests/fuzz), a few seconds each, in a clang build of their own.
scripts/deps.sh fuzz
run build-fuzz "-L fuzz --no-tests=error" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVSWITCH_FUZZ=ON \
  -DVSWITCH_TESTS=OFF -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
echo "== all tests passed" >&2
