#!/usr/bin/env bash
# Runs the libFuzzer harnesses of tests/fuzz for long, in their clang build (build-fuzz). Each
# grows its corpus in build-fuzz/tests/fuzz/corpus/NAME and keeps what it finds (the inputs,
# named crash-*, leak-*, timeout-* or oom-*) in build-fuzz/tests/fuzz/findings/NAME.
#   scripts/fuzz.sh                   every harness, ten minutes each
#   scripts/fuzz.sh 3600 pipeline     these harnesses only, an hour each
#   scripts/fuzz.sh -j 2 600          two processes per harness (libFuzzer's -fork)
#   scripts/fuzz.sh --runs 10000000 7200   each until ten million executions, two hours at most
# A finding does not stop the run; the script lists this run's at the end and then fails.
# Replay one with build-fuzz/tests/fuzz/fuzz_NAME FILE.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=600
jobs=1
runs=()
names=()
while (($#)); do
  case $1 in
    -j) jobs=$2; shift 2 ;;
    --runs) runs=(-runs="$2"); shift 2 ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *[!0-9]*) names+=("$1"); shift ;;
    *) seconds=$1; shift ;;
  esac
done
all=()
for f in tests/fuzz/*_fuzz.cpp; do
  n=${f##*/}
  all+=("${n%_fuzz.cpp}")
done
((${#names[@]})) || names=("${all[@]}")
for n in "${names[@]}"; do
  [[ " ${all[*]} " == *" $n "* ]] || { echo "fuzz.sh: no harness '$n' (${all[*]})" >&2; exit 2; }
done

scripts/deps.sh build fuzz
cmake -S . -B build-fuzz -DVSWITCH_FUZZ=ON -DVSWITCH_TESTS=OFF -DVSWITCH_BENCH=OFF \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null

work=build-fuzz/tests/fuzz
stamp=$(mktemp)
trap 'rm -f "$stamp"' EXIT
for n in "${names[@]}"; do
  echo "== $n: ${seconds} s, $jobs process(es); findings in $work/findings/$n" >&2
  mkdir -p "$work/corpus/$n" "$work/findings/$n"
  dict=()
  [[ -f tests/fuzz/dict/$n.dict ]] && dict=(-dict="tests/fuzz/dict/$n.dict")
  # -fork with -ignore_*: a crash, hang or leak is kept and the fuzzing goes on.
  "$work/fuzz_$n" -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_total_time="$seconds" "${runs[@]}" -timeout=10 "${dict[@]}" \
    -artifact_prefix="$work/findings/$n/" "$work/corpus/$n" "tests/fuzz/corpus/$n" \
    >"$work/findings/$n.log" 2>&1 || true
  tail -n 2 "$work/findings/$n.log" >&2
done

found=0
for n in "${names[@]}"; do
  while read -r f; do
    echo "fuzz.sh: $n found $f" >&2
    found=1
  done < <(find "$work/findings/$n" -type f -newer "$stamp")
done
((found == 0)) || exit 1
echo "== nothing found" >&2
