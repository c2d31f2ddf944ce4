#!/usr/bin/env bash
# VDE sockets end to end, in the same run: a bare Unix datagram pair (no switch: the kernel
# transport's ceiling), Debian's vde_switch and vswitchd --vde, each driven by bench/vdeload
# as real VDE clients (a generator, one or two sinks, the switch: separate processes).
# Scenarios: learned unicast (1 generator -> 1 sink) and flood (broadcast -> 2 sinks), 64- and
# 1500-byte frames (on the wire, FCS included: datagrams of 60 and 1496 bytes), generator at
# max (blocking sends, paced by the socket's back-pressure); then unicast 64 B at 80 % of each
# path's measured rate, where the loss should be 0. A fresh switch for every run.
#   bench/vde_e2e.sh     SECONDS_PER_RUN=3 RUNS=3 BATCH=32 SIZES="64 1500" ZERO_LOSS_PCT=80
#                        NO_BATCH=1 makes vdeload send and receive one frame a call
#                        VSWITCHD_ARGS="--idle busy" adds options to vswitchd's command line
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECONDS_PER_RUN:-3}
RUNS=${RUNS:-3}
BATCH=${BATCH:-32}
SIZES=${SIZES:-64 1500}
ZERO_LOSS_PCT=${ZERO_LOSS_PCT:-80}
NO_BATCH=${NO_BATCH:-0}
read -r -a VSW_ARGS <<<"${VSWITCHD_ARGS:-}"
BUILD=${BUILD:-build-bench}
DRAIN=0.5  # a sink stops after this much silence once frames have come

work=$(mktemp -d /tmp/vde_e2e.XXXXXX)
pids=()        # our children
daemon_pids=() # vde_switch -d forks away from us: killed by the PID in its pidfile
cleanup() {
  local p
  for p in "${pids[@]}" "${daemon_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in "${pids[@]}" "${daemon_pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

scripts/deps.sh build bench
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVSWITCH_TESTS=OFF -DVSWITCH_BENCH=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target vdeload >/dev/null
# vswitchd is measured only when it builds and speaks VDE; the other two paths run regardless.
vsw_skip=""
if ! cmake --build "$BUILD" -j"$(nproc)" --target vswitchd vswitchctl >"$work/build.log" 2>&1; then
  tail -n 20 "$work/build.log" >&2
  vsw_skip="vswitchd does not build (its errors are above)"
else
  help=$("$BUILD"/vswitchd --help 2>&1 || true)
  grep -q -- '--vde' <<<"$help" || vsw_skip="$BUILD/vswitchd --help does not list --vde yet"
fi
LOAD="$BUILD/bench/vdeload"
paths=(bare vde_switch vswitchd)

# True while PID runs; a zombie does not count (a daemon's parent may never reap it here).
alive() { [[ -r /proc/$1/stat ]] && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }

# Stops PID with SIGTERM, then SIGKILL after TIMEOUT seconds; reaps it if it is our child.
stop_pid() {
  local pid=$1 ticks=$((${2:-5} * 10))
  kill -TERM "$pid" 2>/dev/null || true
  while alive "$pid" && ((ticks > 0)); do sleep 0.1; ticks=$((ticks - 1)); done
  if alive "$pid"; then
    echo "vde_e2e: $pid ignored SIGTERM, killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  forget "$pid"
}

# Drops PID from the lists cleanup kills: once it has ended its number may be reused.
forget() {
  local q keep=() keep_d=()
  for q in "${pids[@]}"; do [[ $q == "$1" ]] || keep+=("$q"); done
  for q in "${daemon_pids[@]}"; do [[ $q == "$1" ]] || keep_d+=("$q"); done
  pids=("${keep[@]}")
  daemon_pids=("${keep_d[@]}")
}

# Waits up to TIMEOUT seconds for PID to end by itself, then stops it.
await_pid() {
  local pid=$1 ticks=$(($2 * 10))
  while alive "$pid" && ((ticks > 0)); do sleep 0.1; ticks=$((ticks - 1)); done
  alive "$pid" && echo "vde_e2e: $pid still running after $2 s" >&2
  stop_pid "$pid" 2
}

count_lines() {
  local n
  n=$(grep -c -- "$2" "$1" 2>/dev/null) || true
  echo "${n:-0}"
}

# Waits up to TIMEOUT seconds until FILE has COUNT lines matching REGEX.
await_lines() {
  local file=$1 regex=$2 count=$3 ticks=$(($4 * 20))
  while (($(count_lines "$file" "$regex") < count)); do
    ((ticks > 0)) || { echo "vde_e2e: timeout waiting for '$regex' in $file" >&2; return 1; }
    sleep 0.05
    ticks=$((ticks - 1))
  done
}

await_socket() {
  local path=$1 ticks=$(($2 * 20))
  while [[ ! -S $path ]]; do
    ((ticks > 0)) || { echo "vde_e2e: no socket $path" >&2; return 1; }
    sleep 0.05
    ticks=$((ticks - 1))
  done
}

# KEY's value in a vdeload result line (key=value words).
field() { grep -o "\b$1=[^ ]*" <<<"$2" | head -1 | cut -d= -f2; }

# vswitchctl port list --json as "name in_packets out_packets dropped" lines.
vsw_ports() {
  "$BUILD"/vswitchctl -s "$1" --json port list | tr -d '\n' | awk '
    { n = split($0, objs, "{")
      for (i = 2; i <= n; ++i) {
        o = objs[i]; name = "?"; inp = 0; outp = 0; drop = 0
        if (match(o, /"name": *"[^"]*"/)) { name = substr(o, RSTART, RLENGTH); sub(/^"name": *"/, "", name); sub(/"$/, "", name) }
        if (match(o, /"in_packets": *[0-9]+/)) { v = substr(o, RSTART, RLENGTH); sub(/.*: */, "", v); inp = v }
        if (match(o, /"out_packets": *[0-9]+/)) { v = substr(o, RSTART, RLENGTH); sub(/.*: */, "", v); outp = v }
        if (match(o, /"dropped": *[0-9]+/)) { v = substr(o, RSTART, RLENGTH); sub(/.*: */, "", v); drop = v }
        print name, inp, outp, drop
      } }'
}

median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) print "nan"; else print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
sum() { awk '{s += $1} END {printf "%.0f\n", s}'; }
fsum() { awk '{s += $1} END {printf "%.3f\n", s}'; }

# The sinks' loss pattern from their result lines (on stdin): gaps summed, the longest gap.
gap_fields() {
  awk '{ for (i = 1; i <= NF; ++i) { split($i, kv, "=")
           if (kv[1] == "gaps") g += kv[2]
           if (kv[1] == "longest_gap" && kv[2] > l) l = kv[2] } }
       END { printf "gaps=%d longest_gap=%d\n", g, l }'
}

MAC_GEN=02:00:00:00:00:01
sink_mac() { printf '02:00:00:00:01:%02x' "$1"; }

# One measurement. PATH SCEN(uni|flood) WIRE_BYTES RATE(0 = max) -> $work/result, one line of
# key=value results: sent (frames the generator handed to its sockets), delivered (unique frames
# the sinks got, summed), expected, seconds, cpu (switch CPU seconds while sending), dup, and
# for vswitchd the sum of its ports' in/out/dropped counters.
run_one() {
  local path=$1 scen=$2 wire=$3 rate=$4
  local size=$((wire - 4)) nsinks=1 dst
  [[ $scen == flood ]] && nsinks=2
  dst=$(sink_mac 1)
  [[ $scen == flood ]] && dst=ff:ff:ff:ff:ff:ff
  local common=(--seconds "$SECS" --size "$size" --batch "$BATCH")
  ((NO_BATCH)) && common+=(--no-batch)
  local gen_args=("${common[@]}" --src "$MAC_GEN" --dst "$dst" --rate "$rate")
  local run="$work/run.$RANDOM$RANDOM"
  mkdir -p "$run"

  if [[ $path == bare ]]; then
    "$LOAD" pair --sinks "$nsinks" --drain "$DRAIN" "${gen_args[@]}" >"$run/pair.out" 2>"$run/err" &
    local pid=$!
    pids+=("$pid")
    await_pid "$pid" $((SECS + 15))
    local gen delivered dup
    gen=$(grep role=send "$run/pair.out" || true)
    if [[ -z $gen ]]; then
      echo "vde_e2e: bare pair gave no result: $(cat "$run/err" 2>/dev/null)" >&2
      echo failed=1
      return
    fi
    delivered=$(grep -o 'role=recv received=[0-9]*' "$run/pair.out" | cut -d= -f3 | sum)
    dup=$(grep -o ' dup=[0-9]*' "$run/pair.out" | cut -d= -f2 | sum)
    local sent
    sent=$(field sent "$gen")
    echo "sent=$sent frames=$(field frames "$gen") delivered=$delivered expected=$sent" \
      "seconds=$(field seconds "$gen") cpu=nan dup=$dup gen_cpu=$(field cpu_self_s "$gen")" \
      "sink_cpu=$(grep role=recv "$run/pair.out" | grep -o 'cpu_self_s=[0-9.]*' | cut -d= -f2 | fsum)" \
      "$(grep role=recv "$run/pair.out" | gap_fields)"
    return
  fi

  local dir="$run/sw" spid ctl="$run/vsw.ctl"
  if [[ $path == vde_switch ]]; then
    vde_switch -s "$dir" -d -p "$run/vde.pid" </dev/null >"$run/switch.log" 2>&1
    await_socket "$dir/ctl" 5
    local ticks=50
    while [[ ! -s $run/vde.pid ]] && ((ticks > 0)); do sleep 0.05; ticks=$((ticks - 1)); done
    spid=$(cat "$run/vde.pid")
    daemon_pids+=("$spid")
  else
    "$BUILD"/vswitchd --vde "$dir" --control "$ctl" --log-level warn "${VSW_ARGS[@]}" >"$run/switch.log" 2>&1 &
    spid=$!
    pids+=("$spid")
    await_socket "$dir/ctl" 10
    await_socket "$ctl" 10
  fi

  # Sinks first, so the switch has learned where they are before the generator's first frame;
  # everyone holds its port after its result line so the switch's counters can still be read.
  local k sink_pids=()
  for k in $(seq "$nsinks"); do
    "$LOAD" recv "$dir" "${common[@]}" --src "$(sink_mac "$k")" --drain "$DRAIN" \
      --wait $((SECS + 20)) --hold 60 >"$run/sink$k.out" 2>>"$run/err" &
    sink_pids+=("$!")
    pids+=("$!")
  done
  for k in $(seq "$nsinks"); do
    if ! await_lines "$run/sink$k.out" '^ready' 1 10; then
      echo "vde_e2e: $path: sink $k did not connect: $(cat "$run/err" "$run/switch.log" 2>/dev/null)" >&2
      local q
      for q in "${sink_pids[@]}"; do stop_pid "$q" 5; done
      stop_pid "$spid" 5
      echo failed=1
      return
    fi
  done
  sleep 0.2
  "$LOAD" send "$dir" "${gen_args[@]}" --watch-pid "$spid" --hold 60 >"$run/gen.out" 2>>"$run/err" &
  local gpid=$!
  pids+=("$gpid")
  await_lines "$run/gen.out" role=send 1 $((SECS + 15)) || true
  for k in $(seq "$nsinks"); do await_lines "$run/sink$k.out" role=recv 1 $((SECS + 15)) || true; done

  local counters=""
  if [[ $path == vswitchd ]]; then
    vsw_ports "$ctl" >"$run/ports" || true
    counters=$(awk '{i += $2; o += $3; d += $4} END {printf "sw_in=%d sw_out=%d sw_dropped=%d", i, o, d}' "$run/ports")
    # Where the drops were counted, by reason, for every port that dropped something: lines of
    # "port reason count" for the cell's summary.
    local name
    while read -r name _ _ drop; do
      ((drop > 0)) || continue
      "$BUILD"/vswitchctl -s "$ctl" --json port show "$name" | tr -d '\n ' |
        grep -o '"drops":{[^}]*}' | sed 's/^"drops":{//; s/}$//' | tr ',' '\n' | tr -d '"' |
        awk -F: -v port="$name" '$2 > 0 {print port, $1, $2}' >>"$work/drops.$scen.$wire.$rate" || true
    done <"$run/ports"
  fi
  stop_pid "$gpid" 5
  for k in "${sink_pids[@]}"; do stop_pid "$k" 5; done
  stop_pid "$spid" 5

  local gen delivered dup sent
  gen=$(grep role=send "$run/gen.out" || true)
  if [[ -z $gen ]]; then
    echo "vde_e2e: $path: the generator gave no result: $(cat "$run/err" 2>/dev/null)" >&2
    echo failed=1
    return
  fi
  delivered=$(cat "$run"/sink*.out | grep -o 'role=recv received=[0-9]*' | cut -d= -f3 | sum)
  dup=$(cat "$run"/sink*.out | grep -o ' dup=[0-9]*' | cut -d= -f2 | sum)
  sent=$(field sent "$gen")
  echo "sent=$sent frames=$(field frames "$gen") delivered=$delivered" \
    "expected=$((${sent:-0} * nsinks)) seconds=$(field seconds "$gen")" \
    "cpu=$(field watch_cpu_s "$gen") dup=$dup gen_cpu=$(field cpu_self_s "$gen")" \
    "sink_cpu=$(cat "$run"/sink*.out | grep role=recv | grep -o 'cpu_self_s=[0-9.]*' | cut -d= -f2 | fsum)" \
    "$(cat "$run"/sink*.out | grep role=recv | gap_fields)" \
    "$counters"
}

declare -A results  # "path scen wire" -> newline-separated result lines, one per run
record() {
  local key="$1 $2 $3" line=$4
  if [[ $line == failed=1 ]]; then
    printf '  %-10s %-5s %4s B  run failed (not counted)\n' "$1" "$2" "$3"
    return
  fi
  results[$key]+="$line"$'\n'
  local secs delivered expected
  secs=$(field seconds "$line")
  delivered=$(field delivered "$line")
  expected=$(field expected "$line")
  printf '  %-10s %-5s %4s B  %6.3f Mpps  lost %8s of %8s (gaps %4s, longest %5s)  cpu s: switch %5s gen %5s sinks %5s  %s\n' \
    "$1" "$2" "$3" "$(awk -v d="${delivered:-0}" -v s="${secs:-1}" 'BEGIN {print d / s / 1e6}')" \
    "$((${expected:-0} - ${delivered:-0}))" "${expected:-0}" "$(field gaps "$line")" "$(field longest_gap "$line")" \
    "$(field cpu "$line" | sed 's/^nan$/-/')" \
    "$(field gen_cpu "$line")" "$(field sink_cpu "$line")" \
    "$(grep -o 'sw_[a-z]*=[0-9]*' <<<"$line" | tr '\n' ' ')"
}

# Statistic NAME over the runs of one cell: mpps gbps lost loss_pct cpu_us drops dup offered.
stat() {
  local key="$1 $2 $3" what=$4 wire=$3
  [[ -n ${results[$key]:-} ]] || { echo nan; return; }
  local lines=${results[$key]%$'\n'}
  case $what in
    mpps | gbps | cpu_us | offered)
      while read -r line; do
        awk -v w="$what" -v wire="$wire" -v d="$(field delivered "$line")" -v s="$(field seconds "$line")" \
          -v c="$(field cpu "$line")" -v n="$(field frames "$line")" 'BEGIN {
            mpps = d / s / 1e6
            if (w == "mpps") print mpps
            else if (w == "gbps") print mpps * wire * 8 / 1000
            else if (w == "offered") print n / s / 1e6
            else print (c == "nan" || c == "" || c < 0 || d == 0) ? "nan" : c * 1e6 / d }'
      done <<<"$lines" | median ;;
    lost) while read -r line; do echo $(($(field expected "$line") - $(field delivered "$line"))); done <<<"$lines" | sum ;;
    expected) while read -r line; do field expected "$line"; done <<<"$lines" | sum ;;
    dup) while read -r line; do field dup "$line"; done <<<"$lines" | sum ;;
    drops) while read -r line; do field sw_dropped "$line"; done <<<"$lines" | sum ;;
    unexplained) echo $(($(stat "$1" "$2" "$3" lost) - $(stat "$1" "$2" "$3" drops))) ;;
    loss_pct) awk -v l="$(stat "$1" "$2" "$3" lost)" -v e="$(stat "$1" "$2" "$3" expected)" \
      'BEGIN {print e ? 100 * l / e : "nan"}' ;;
  esac
}

cell() {  # printf a number or a dash
  local fmt=$1 v=$2
  if [[ $v == nan || -z $v ]]; then printf '%14s' -; else printf "%14$fmt" "$v"; fi
}
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {if (a == "nan" || b == "nan" || a == "" || b == "" || b == 0) print "nan"; else print a / b}'
}

table() {
  local scen=$1 wire=$2 title=$3 p
  echo
  echo "== $title, $wire-byte frames; medians of $RUNS runs of $SECS s (loss: sum over the runs)"
  printf '%-26s%14s%14s%14s%14s%14s\n' metric bare_pair vde_switch vswitchd vsw/vde vsw/bare
  local row what fmt
  for row in "delivered Mpps:mpps:.3f" "Gbit/s (frame bytes):gbps:.3f" "offered Mpps (generator):offered:.3f" \
    "lost frames:lost:.0f" "loss %:loss_pct:.3f" "duplicates:dup:.0f" "switch CPU us/frame:cpu_us:.3f" \
    "vswitchd drop counters:drops:.0f" "lost minus drop counters:unexplained:.0f"; do
    IFS=: read -r label what fmt <<<"$row"
    printf '%-26s' "$label"
    local v=()
    for p in "${paths[@]}"; do
      if [[ $what == drops || $what == unexplained ]] && [[ $p != vswitchd ]] || [[ $what == cpu_us && $p == bare ]]; then
        v+=(nan)
      else
        v+=("$(stat "$p" "$scen" "$wire" "$what")")
      fi
      cell "$fmt" "${v[-1]}"
    done
    if [[ $what == mpps || $what == gbps || $what == cpu_us || $what == offered ]]; then
      cell .3f "$(ratio "${v[2]}" "${v[1]}")"
      if [[ $what == cpu_us ]]; then cell .3f nan; else cell .3f "$(ratio "${v[2]}" "${v[0]}")"; fi
    fi
    echo
  done
  drop_reasons "$work/drops.$scen.$wire.0"
}

# vswitchd's drops in FILE ("port reason count" lines) summed by reason, with the ports.
drop_reasons() {
  [[ -s $1 ]] || return 0
  printf '%-26s' "vswitchd drops by reason"
  awk '{t[$2] += $3; p[$2 " " $1] += $3}
       END {for (r in t) { printf "%s %d (", r, t[r]; sep = ""
                           for (k in p) { split(k, a, " "); if (a[1] == r) { printf "%s%s %d", sep, a[2], p[k]; sep = ", " } }
                           printf ")  " } print ""}' "$1"
}

ghz=$(awk -F: '/cpu MHz/ {printf "%.2f", $2 / 1000; exit}' /proc/cpuinfo)
echo "command: SECONDS_PER_RUN=$SECS RUNS=$RUNS BATCH=$BATCH SIZES=\"$SIZES\" ZERO_LOSS_PCT=$ZERO_LOSS_PCT NO_BATCH=$NO_BATCH VSWITCHD_ARGS=\"${VSW_ARGS[*]}\" bench/vde_e2e.sh"
echo "machine: $(nproc) x $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ //') at $ghz GHz," \
  "kernel $(uname -r), vde2 $(dpkg-query -W -f='${Version}' vde2), libvdeplug $(dpkg-query -W -f='${Version}' libvdeplug-dev)"
echo "vdeload: $([[ $NO_BATCH == 1 ]] && echo 'one call a frame' || echo "sendmmsg/recvmmsg of $BATCH")," \
  "generator at max (blocking sends), sinks drain $DRAIN s; vswitchd: ${vsw_skip:-measured, git $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- switch plugs include 2>/dev/null || echo '+dirty')}"
[[ -n $vsw_skip ]] && { echo "SKIPPING vswitchd: $vsw_skip"; paths=(bare vde_switch); }

echo "Mpps and Gbit/s count frames delivered to the sinks (both copies for a flood); loss is"
echo "frames handed to the generator's socket(s) (times the sinks, for a flood) minus frames the"
echo "sinks got; switch CPU is its utime+stime while the generator sent, per delivered frame. Each run"
echo "line also shows the CPU seconds of the generator and the sinks (2 cores hold 3 or 4 processes) and"
echo "the loss pattern: runs of missing sequence numbers, and the longest (frames lost in one stall)."
echo "Ratios: vsw/vde above 1 is better for Mpps, below 1 for CPU a frame."
echo
echo "runs:"
start=$SECONDS
for _ in $(seq "$RUNS"); do
  for wire in $SIZES; do
    for scen in uni flood; do
      for p in "${paths[@]}"; do
        run_one "$p" "$scen" "$wire" 0 >"$work/result"
        record "$p" "$scen" "$wire" "$(<"$work/result")"
      done
    done
  done
done
[[ -n $vsw_skip ]] && paths=(bare vde_switch vswitchd)

for wire in $SIZES; do
  table uni "$wire" "learned unicast (1 generator -> 1 sink)"
  table flood "$wire" "flood (broadcast, 1 generator -> 2 sinks; Mpps = frames delivered to both)"
done

# Zero loss: unicast, the first size, at ZERO_LOSS_PCT of the rate each path delivered above.
zl_wire=$(awk '{print $1}' <<<"$SIZES")
declare -A zl_rate
echo
echo "zero-loss runs:"
for p in "${paths[@]}"; do
  [[ $p == vswitchd && -n $vsw_skip ]] && continue
  max=$(stat "$p" uni "$zl_wire" mpps)
  [[ $max == nan ]] && { zl_rate[$p]=nan; continue; }  # no rate measured to start from
  zl_rate[$p]=$(awk -v m="$max" -v pct="$ZERO_LOSS_PCT" 'BEGIN {printf "%.0f", m * 1e6 * pct / 100}')
  for _ in $(seq "$RUNS"); do
    run_one "$p" uni "$zl_wire" "${zl_rate[$p]}" >"$work/result"
    record "$p" zl "$zl_wire" "$(<"$work/result")"
  done
done
echo
echo "== zero-loss check: learned unicast, $zl_wire-byte frames, generator paced at $ZERO_LOSS_PCT % of" \
  "each path's median delivered rate above; $RUNS runs of $SECS s (loss: sum over the runs)"
printf '%-12s%14s%14s%14s%14s%14s%16s\n' path paced_Mpps deliv_Mpps lost_frames loss_% cpu_us/frame vswitchd_drops
for p in bare vde_switch vswitchd; do
  if [[ $p == vswitchd && -n $vsw_skip ]]; then printf '%-12s %s\n' "$p" "skipped: $vsw_skip"; continue; fi
  printf '%-12s' "$p"
  cell .3f "$(awk -v r="${zl_rate[$p]}" 'BEGIN {print r == "nan" ? "nan" : r / 1e6}')"
  cell .3f "$(stat "$p" zl "$zl_wire" mpps)"
  cell .0f "$(stat "$p" zl "$zl_wire" lost)"
  cell .4f "$(stat "$p" zl "$zl_wire" loss_pct)"
  if [[ $p == bare ]]; then cell .3f nan; else cell .3f "$(stat "$p" zl "$zl_wire" cpu_us)"; fi
  if [[ $p == vswitchd ]]; then printf '%16s' "$(stat "$p" zl "$zl_wire" drops)"; else printf '%16s' -; fi
  echo
done
[[ -z $vsw_skip ]] && drop_reasons "$work/drops.uni.$zl_wire.${zl_rate[vswitchd]}"
echo
echo "total time: $((SECONDS - start)) s"
