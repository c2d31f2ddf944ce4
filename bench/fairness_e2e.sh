#!/usr/bin/env bash
# Fairness under a full transmit queue (issue 13): what one stuck receiver, a VDE client that
# stops reading, costs every other port. vswitchd --vde with PAIRS generator -> sink pairs of
# bench/vdeload (learned unicast, generator k to sink k, generators at max, separate
# processes), and in the same run, interleaved, each run starting one variant further along:
#   none     no stuck client; the generators' share for it goes to their own address instead,
#            which the switch drops at once (hairpin), so the generators do the same work
#   stuck    one more client, which announces its address and never reads its socket; every
#            STUCK_EVERY-th frame of each generator goes to it
#   reading  (with VARIANTS="none stuck reading") the same client, reading: what a healthy
#            receiver of that share costs, for comparison
#   idle     (VARIANTS="none idle stuck") the stuck client, but the share goes where none sends
#            it: the client gets only broadcasts, so what its being there costs shows apart from
#            what the frames to it cost
#   stopped  like stuck, but the client reads for its first STOP_AFTER seconds (1) and then
#            stops: a guest that hangs, rather than one that never read
# In every variant every BCAST_EVERY-th frame of each generator is a broadcast (0: none), which
# reaches every client, the stuck one too; the generators take what they receive now and then
# (--read-back), so that no client but the stuck one stops reading. The shares carry no sequence
# number: the sinks count only their own pair's frames.
# Mpps of a pair: unique frames of generator k that sink k got, over the generator's seconds;
# the ratio stuck/none is taken per pair and run, then its median over the runs. Switch CPU:
# its utime+stime while generator 1 sent, per frame of the pairs' the sinks got (the switch's
# work for the shares is in it: it is what they cost).
# RATE=0 runs the generators at max, paced by the sockets' back-pressure: on a small machine
# the clients' scheduling then decides much of the rate. RATE=PPS paces each generator's pair
# frames (its shares come on top) below the switch's limit: the pairs' rate is then what was
# offered unless frames are lost, and the switch's CPU a frame is the cost to compare.
#   bench/fairness_e2e.sh   SECONDS_PER_RUN=3 RUNS=7 PAIRS=2 SIZE=64 BATCH=32 STUCK_EVERY=8
#                           BCAST_EVERY=64 RATE=0 VARIANTS="none stuck" CORE=1 CLIENT_CORES=
#                           CLIENT_CORES=0 pins every client to core 0 (default: not pinned)
#                           VSWITCHD_ARGS="--idle busy" adds options to vswitchd's command line
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECONDS_PER_RUN:-3}
RUNS=${RUNS:-7}
PAIRS=${PAIRS:-2}
SIZE=${SIZE:-64}
BATCH=${BATCH:-32}
STUCK_EVERY=${STUCK_EVERY:-8}
BCAST_EVERY=${BCAST_EVERY:-64}
RATE=${RATE:-0}
STOP_AFTER=${STOP_AFTER:-1}
read -r -a variants <<<"${VARIANTS:-none stuck}"
CORE=${CORE:-1}
CLIENT_CORES=${CLIENT_CORES:-}
read -r -a VSW_ARGS <<<"${VSWITCHD_ARGS:-}"
BUILD=${BUILD:-build-bench}
DRAIN=0.5  # a sink stops after this much silence once frames have come
for v in "${variants[@]}"; do
  [[ $v == none || $v == stuck || $v == reading || $v == idle || $v == stopped ]] ||
    { echo "VARIANTS: none, stuck, reading, idle, stopped, not '$v'" >&2; exit 2; }
done

scripts/deps.sh build bench
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVSWITCH_TESTS=OFF -DVSWITCH_BENCH=ON >/dev/null
cmake --build "$BUILD" -j2 --target vdeload vswitchd vswitchctl >/dev/null

work=$(mktemp -d /tmp/fairness_e2e.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=bench/e2e_lib.sh
. bench/e2e_lib.sh

LOAD=("$BUILD/bench/vdeload")
[[ -n $CLIENT_CORES ]] && LOAD=(taskset -c "$CLIENT_CORES" "${LOAD[@]}")
eal="--no-huge --no-pci --no-shconf --no-telemetry -m 1024 --log-level=4"
gen_mac() { printf '02:00:00:00:00:%02x' "$1"; }
sink_mac() { printf '02:00:00:00:01:%02x' "$1"; }
MAC_STUCK=02:00:00:00:02:01

# Waits up to SECONDS until FILE has a line matching REGEX.
await_grep() {
  local ticks=$(($3 * 20))
  until grep -q -- "$2" "$1" 2>/dev/null; do
    ((ticks > 0)) || { echo "fairness_e2e: timeout waiting for '$2' in $1" >&2; return 1; }
    sleep 0.05
    ticks=$((ticks - 1))
  done
}

# KEY's value in a vdeload result line (key=value words).
field() { grep -o "\b$1=[^ ]*" <<<"$2" | head -1 | cut -d= -f2; }

# Every port's drops on control socket CTL as "port pid reason count" lines, nonzero counts only;
# pid is its VDE client's, so the stuck client's port can be told from the others.
port_drops() {
  local name
  for name in $("$BUILD"/vswitchctl -s "$1" --json port list | grep -o '"name": *"[^"]*"' | cut -d'"' -f4); do
    "$BUILD"/vswitchctl -s "$1" --json port show "$name" | tr -d '\n' | awk -v port="$name" '{
      pid = "?"
      if (match($0, /pid [0-9]+,/)) { pid = substr($0, RSTART + 4, RLENGTH - 5) }
      if (!match($0, /"drops": *\{[^}]*\}/)) next
      d = substr($0, RSTART, RLENGTH); sub(/^"drops": *\{/, "", d); sub(/\}$/, "", d)
      n = split(d, kv, ",")
      for (i = 1; i <= n; ++i) { split(kv[i], p, ":"); gsub(/[" ]/, "", p[1]); if (p[2] + 0 > 0) print port, pid, p[1], p[2] + 0 }
    }'
  done
}

# One measurement of VARIANT: a line "mpps=M1,M2,... cpu_us=C stuck_full=N other_full=N
# hairpin=N other_drops=N lost=N", or "failed". lost: the pairs' frames handed to the switch that
# their sinks did not get; stuck_full: frames the stuck client's full socket refused (tx_full on
# its port); other_full: tx_full on all other ports (a sink that fell behind); hairpin: the
# share variant none sends to the generators' own addresses; other_drops: any other drop.
measure() {
  local what=$1 run="$work/run.$RANDOM$RANDOM"
  mkdir -p "$run"
  local dir="$run/sw" ctl="$run/ctl"
  local common=(--seconds "$SECS" --size $((SIZE - 4)) --batch "$BATCH")
  local pace=(--rate "$RATE")
  "$BUILD"/vswitchd --vde "$dir" --control "$ctl" --log-level warn --eal "-l $CORE $eal" \
    "${VSW_ARGS[@]}" >"$run/vswitchd.log" 2>&1 &
  local spid=$!
  pids+=("$spid")
  if ! await_socket "$dir/ctl" 10 || ! await_socket "$ctl" 10; then
    stop_pid "$spid"
    echo failed
    return
  fi
  # Sinks (and the extra client) first, so the switch has learned them before the generators'
  # first frames; everyone holds its port after its result line, for the counters.
  local k clients=() gens=() stuck_pid=""
  for k in $(seq "$PAIRS"); do
    "${LOAD[@]}" recv "$dir" "${common[@]}" --src "$(sink_mac "$k")" --id "$k" --drain "$DRAIN" \
      --wait $((SECS + 20)) --hold 60 >"$run/sink$k.out" 2>>"$run/err" &
    clients+=("$!")
    pids+=("$!")
  done
  if [[ $what != none ]]; then
    local mode=(--stall --wait $((SECS + 60)))
    [[ $what == reading ]] && mode=(--id 0 --drain "$DRAIN" --wait $((SECS + 20)) --hold 60)
    [[ $what == stopped ]] && mode=(--stall-after "$STOP_AFTER" --wait $((SECS + 60)))
    "${LOAD[@]}" recv "$dir" "${common[@]}" --src "$MAC_STUCK" "${mode[@]}" >"$run/extra.out" 2>>"$run/err" &
    stuck_pid=$!
    clients+=("$!")
    pids+=("$!")
  fi
  local f outs=()
  for k in $(seq "$PAIRS"); do outs+=("$run/sink$k.out"); done
  [[ -n $stuck_pid ]] && outs+=("$run/extra.out")
  for f in "${outs[@]}"; do
    if ! await_grep "$f" '^ready' 10; then
      echo "fairness_e2e: $what: a client did not connect: $(cat "$run/err" "$run/vswitchd.log" 2>/dev/null)" >&2
      for k in "${clients[@]}"; do stop_pid "$k"; done
      stop_pid "$spid"
      echo failed
      return
    fi
  done
  sleep 0.3
  for k in $(seq "$PAIRS"); do
    local share=$MAC_STUCK mix=()
    [[ $what == none || $what == idle ]] && share=$(gen_mac "$k")
    ((STUCK_EVERY > 0)) && mix+=(--mix "$share/$STUCK_EVERY")
    ((BCAST_EVERY > 0)) && mix+=(--mix "ff:ff:ff:ff:ff:ff/$BCAST_EVERY")
    local watch=()
    ((k == 1)) && watch=(--watch-pid "$spid")
    "${LOAD[@]}" send "$dir" "${common[@]}" --src "$(gen_mac "$k")" --dst "$(sink_mac "$k")" --id "$k" \
      "${pace[@]}" "${mix[@]}" --read-back "${watch[@]}" --hold 60 >"$run/gen$k.out" 2>>"$run/err" &
    gens+=("$!")
    pids+=("$!")
  done
  for k in $(seq "$PAIRS"); do
    await_grep "$run/gen$k.out" role=send $((SECS + 15)) || true
    await_grep "$run/sink$k.out" role=recv $((SECS + 15)) || true
  done
  port_drops "$ctl" >"$run/drops" 2>/dev/null || true
  for k in "${gens[@]}" "${clients[@]}"; do stop_pid "$k"; done
  stop_pid "$spid"

  local mpps=() gen sink lost=0 delivered=0
  for k in $(seq "$PAIRS"); do
    gen=$(grep role=send "$run/gen$k.out" 2>/dev/null || true)
    sink=$(grep role=recv "$run/sink$k.out" 2>/dev/null || true)
    if [[ -z $gen || -z $sink ]]; then
      echo "fairness_e2e: $what: pair $k gave no result: $(cat "$run/err" "$run/vswitchd.log" 2>/dev/null)" >&2
      echo failed
      return
    fi
    mpps+=("$(awk -v d="$(field received "$sink")" -v s="$(field seconds "$gen")" 'BEGIN {printf "%.4f", d / s / 1e6}')")
    lost=$((lost + $(field data_sent "$gen") - $(field received "$sink")))
    delivered=$((delivered + $(field received "$sink")))
  done
  local cpu
  cpu=$(field watch_cpu_s "$(grep role=send "$run/gen1.out")")
  local stuck_full=0 other_full=0 hairpin=0 other_drops=0 pid reason count
  while read -r _ pid reason count; do
    if [[ -n $stuck_pid && $pid == "$stuck_pid" && $reason == tx_full ]]; then
      stuck_full=$((stuck_full + count))
    elif [[ $reason == tx_full ]]; then
      other_full=$((other_full + count))
    elif [[ $reason == hairpin ]]; then
      hairpin=$((hairpin + count))
    else
      other_drops=$((other_drops + count))
    fi
  done <"$run/drops"
  echo "mpps=$(IFS=,; echo "${mpps[*]}") cpu_us=$(awk -v c="$cpu" -v n="$delivered" 'BEGIN {print (c < 0 || n == 0) ? "nan" : c * 1e6 / n}')" \
    "stuck_full=$stuck_full other_full=$other_full hairpin=$hairpin other_drops=$other_drops lost=$lost"
  rm -rf "$run"
}

# The variants in the order run R measures them: each run starts one further along, so that a
# drift of the machine's other load does not always fall on the same variant.
rotated() {
  local k n=${#variants[@]}
  for k in $(seq 0 $((n - 1))); do echo "${variants[$(((k + $1 - 1) % n))]}"; done
}

median_of() { printf '%s\n' "$@" | median; }
mpps_of() { cut -d, -f"$2" <<<"$(field mpps "$1")"; }       # LINE PAIR
total_of() { field mpps "$1" | tr , '\n' | awk '{s += $1} END {printf "%.4f", s}'; }

ghz=$(awk -F: '/cpu MHz/ {printf "%.2f", $2 / 1000; exit}' /proc/cpuinfo)
echo "command: SECONDS_PER_RUN=$SECS RUNS=$RUNS PAIRS=$PAIRS SIZE=$SIZE BATCH=$BATCH STUCK_EVERY=$STUCK_EVERY" \
  "BCAST_EVERY=$BCAST_EVERY RATE=$RATE STOP_AFTER=$STOP_AFTER VARIANTS=\"${variants[*]}\" CORE=$CORE CLIENT_CORES=$CLIENT_CORES VSWITCHD_ARGS=\"${VSW_ARGS[*]}\" bench/fairness_e2e.sh"
echo "machine: $(nproc) x $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ //') at ${ghz} GHz," \
  "kernel $(uname -r); net.unix.max_dgram_qlen $(cat /proc/sys/net/unix/max_dgram_qlen)"
echo "vswitchd: git $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- switch plugs include 2>/dev/null || echo '+dirty')," \
  "on core $CORE; clients $([[ -n $CLIENT_CORES ]] && echo "on core(s) $CLIENT_CORES" || echo "not pinned"); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$PAIRS pairs of learned unicast, $SIZE-byte frames, sendmmsg/recvmmsg of $BATCH," \
  "generators $( ((RATE > 0)) && echo "paced at $RATE frames/s each" || echo "at max");" \
  "shares: 1/$STUCK_EVERY to the stuck client (none: to the generator's own address), 1/$BCAST_EVERY broadcast"
echo
echo "runs (Mpps per pair; cpu: switch us per frame delivered; full: tx_full drops):"
start=$SECONDS
declare -A lines  # "VARIANT RUN" -> the measurement's line
done_runs=()
for r in $(seq "$RUNS"); do
  ok=1
  for v in $(rotated "$r"); do
    line=$(measure "$v")
    if [[ $line == failed ]]; then
      ok=0
      break
    fi
    lines[$v $r]=$line
    printf '  run %-3s %-8s %s\n' "$r" "$v" "$line"
  done
  if ((ok)); then done_runs+=("$r"); else echo "  run $r: a measurement failed (not counted)"; fi
done
((${#done_runs[@]})) || { echo "no run completed"; exit 1; }

echo
echo "== medians of ${#done_runs[@]} runs of $SECS s; ratios: per run, then their median [min-max]"
head=$(printf '%-12s' metric)
for v in "${variants[@]}"; do head+=$(printf '%12s' "$v"); done
for v in "${variants[@]:1}"; do head+=$(printf '%22s' "$v/${variants[0]}"); done
echo "$head"
row() {  # LABEL GETTER [PAIR]
  local label=$1 get=$2 pair=${3:-} v r vals out
  out=$(printf '%-12s' "$label")
  for v in "${variants[@]}"; do
    vals=()
    for r in "${done_runs[@]}"; do vals+=("$($get "${lines[$v $r]}" "$pair")"); done
    out+=$(printf '%12.4f' "$(median_of "${vals[@]}")")
  done
  for v in "${variants[@]:1}"; do
    vals=()
    for r in "${done_runs[@]}"; do
      vals+=("$(ratio "$($get "${lines[$v $r]}" "$pair")" "$($get "${lines[${variants[0]} $r]}" "$pair")")")
    done
    out+=$(printf '%8.3f [%5.3f-%5.3f]' "$(median_of "${vals[@]}")" \
      "$(printf '%s\n' "${vals[@]}" | sort -g | head -1)" "$(printf '%s\n' "${vals[@]}" | sort -g | tail -1)")
  done
  echo "$out"
}
for k in $(seq "$PAIRS"); do row "pair $k Mpps" mpps_of "$k"; done
row "total Mpps" total_of
cpu_of_line() { field cpu_us "$1"; }
row "switch us/fr" cpu_of_line
for what in stuck_full other_full hairpin other_drops lost; do
  printf '%-12s' "$what"
  for v in "${variants[@]}"; do
    s=0
    for r in "${done_runs[@]}"; do s=$((s + $(field "$what" "${lines[$v $r]}"))); done
    printf '%12s' "$s"
  done
  echo
done
echo "(stuck_full .. lost: sums over the runs; lost counts the pairs' frames only)"
worst=$(for k in $(seq "$PAIRS"); do
  vals=()
  for r in "${done_runs[@]}"; do
    vals+=("$(ratio "$(mpps_of "${lines[stuck $r]:-}" "$k")" "$(mpps_of "${lines[none $r]:-}" "$k")")")
  done
  median_of "${vals[@]}"
done | sort -g | head -1)
echo
echo "fairness: the worst pair's median ratio stuck/none is $worst (target: at least 0.95)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); total time: $((SECONDS - start)) s"
