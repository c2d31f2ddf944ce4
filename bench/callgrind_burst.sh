#!/usr/bin/env bash
# Instructions per burst of the pipeline (Segment::process and Segment::flush, inclusive, as
# pipeline_bench's loop calls them), counted by callgrind: repeatable whatever else the machine
# is doing, where perf cannot count. Each benchmark runs twice, short and longer, and the
# difference is divided by the difference in bursts, so the set-up of each run (learning the
# FDB, loading the ports) cancels out; one run alone varies by some 20 %.
#   bench/callgrind_burst.sh BUILD/bench/pipeline_bench BM_LearnedUnicast/512 BM_FloodToFourPorts
set -euo pipefail
bin=$1
shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The cost and the number of bursts of one callgrind output file: "instructions bursts".
bursts_of() {
  callgrind_annotate --tree=caller --inclusive=yes "$1" 2>/dev/null | python3 -c '
import re, sys
lines = sys.stdin.read().split("\n")
total = bursts = 0
caller = re.compile(r"\s*([\d,]+) \([^)]*\)\s+<\s.*anonymous namespace\)::run\(.*\(([\d,]+)x\)")
for i, line in enumerate(lines[:-1]):
    m = caller.match(line)
    if m and re.search(r"\*\s.*Segment::(process|flush)\(", lines[i + 1]):
        total += int(m.group(1).replace(",", ""))
        if "Segment::process(" in lines[i + 1]:
            bursts = int(m.group(2).replace(",", ""))
print(total, bursts)
'
}

for name in "$@"; do
  for run in short long; do
    t=0.02
    [[ $run == long ]] && t=0.2
    valgrind --tool=callgrind --callgrind-out-file="$work/$run" "$bin" \
      --benchmark_filter="^$name\$" --benchmark_min_time=$t >/dev/null 2>&1
  done
  read -r ta ba < <(bursts_of "$work/short")
  read -r tb bb < <(bursts_of "$work/long")
  if ((bb <= ba)); then
    echo "$name: no more bursts in the longer run ($ba, $bb)" >&2
    exit 1
  fi
  echo "$name $(((tb - ta) / (bb - ba))) instructions a burst ($((bb - ba)) bursts)"
done
