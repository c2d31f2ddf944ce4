#!/usr/bin/env bash
# The uplink port against DPDK's net_af_packet PMD on the same veth, in the same run. vswitchd
# runs in namespace A with a VDE directory and one end of a veth pair as its uplink; the other
# end is the LAN, in namespace B. Direction "in": bench/vdeload on the LAN's end (an AF_PACKET
# socket) sends to a VDE sink through the switch; "out": a VDE generator sends through the
# switch to a sink on the LAN's end. 64- and 1500-byte frames (on the wire, FCS included),
# generator at its maximum; a fresh switch for every run. Needs root (namespaces, raw sockets).
#   bench/uplink_e2e.sh   SECONDS_PER_RUN=3 RUNS=3 SIZES="64 1500" DIRECTIONS="in out"
#                         VARIANTS="uplink af_packet"; more variants: uplink-qdisc (the uplink
#                         with qdisc-bypass=off), af_packet-bypass (dev.qdisc_bypass=1),
#                         af_packet-busy (vswitchd --idle busy)
#                         SWITCH_CORE=1 LOAD_CORE=0: the switch alone on one core, generator
#                         and sink on the other (unpinned, runs swung by 2.5x on 2 vCPUs)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECONDS_PER_RUN:-3}
RUNS=${RUNS:-3}
SIZES=${SIZES:-64 1500}
DIRECTIONS=${DIRECTIONS:-in out}
read -r -a variants <<<"${VARIANTS:-uplink af_packet}"
BUILD=${BUILD:-build-bench}
SWITCH_CORE=${SWITCH_CORE:-1}
LOAD_CORE=${LOAD_CORE:-0}
DRAIN=0.5

((EUID == 0)) || { echo "uplink_e2e: needs root (network namespaces, AF_PACKET)" >&2; exit 1; }
tag=$$
ns_sw=vsbench-sw$tag
ns_lan=vsbench-lan$tag
wire=vsbw$tag
lan_if=vsbl$tag
work=$(mktemp -d /tmp/uplink_e2e.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del "$ns_sw" 2>/dev/null || true
  ip netns del "$ns_lan" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

scripts/deps.sh build bench
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVSWITCH_TESTS=OFF -DVSWITCH_BENCH=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target vdeload vswitchd vswitchctl >/dev/null
LOAD=$(realpath "$BUILD/bench/vdeload")
VSW=$(realpath "$BUILD/vswitchd")
CTL=$(realpath "$BUILD/vswitchctl")

ip netns add "$ns_sw"
ip netns add "$ns_lan"
ip link add "$wire" type veth peer name "$lan_if"
ip link set "$wire" netns "$ns_sw"
ip link set "$lan_if" netns "$ns_lan"
for ns in "$ns_sw" "$ns_lan"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip -n "$ns_sw" link set "$wire" up
ip -n "$ns_lan" link set "$lan_if" up

port_spec() {
  case $1 in
    uplink) echo "uplink,name=wire,ifname=$wire" ;;
    uplink-qdisc) echo "uplink,name=wire,ifname=$wire,qdisc-bypass=off" ;;
    af_packet) echo "dpdk,name=wire,dev=net_af_packet0,dev.iface=$wire,role=uplink" ;;
    af_packet-bypass) echo "dpdk,name=wire,dev=net_af_packet0,dev.iface=$wire,dev.qdisc_bypass=1,role=uplink" ;;
    af_packet-busy) port_spec af_packet ;;
    *) echo "uplink_e2e: unknown variant $1" >&2; exit 2 ;;
  esac
}

# The PMD has no wait descriptor: the engine polls it and, idle, sleeps up to 8 ms; busy never.
switch_args() { [[ $1 == *-busy ]] && echo "--idle busy"; true; }

alive() { [[ -r /proc/$1/stat ]] && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }
stop_pid() {
  local pid=$1 ticks=50
  kill -TERM "$pid" 2>/dev/null || true
  while alive "$pid" && ((ticks > 0)); do sleep 0.1; ticks=$((ticks - 1)); done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}
await() {  # FILE REGEX SECONDS
  local ticks=$(($3 * 20))
  until grep -q -- "$2" "$1" 2>/dev/null; do
    ((ticks > 0)) || return 1
    sleep 0.05
    ticks=$((ticks - 1))
  done
}
await_socket() {
  local ticks=200
  until [[ -S $1 ]]; do ((ticks > 0)) || return 1; sleep 0.05; ticks=$((ticks - 1)); done
}
field() { grep -o "\b$1=[^ ]*" <<<"$2" | head -1 | cut -d= -f2; }
# Frames the kernels dropped in their receive backlogs (all CPUs): where a veth's overflow goes.
backlog_drops() {
  local s=0 d
  while read -r _ d _; do s=$((s + 16#$d)); done </proc/net/softnet_stat
  echo "$s"
}
median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) print "nan"; else print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

GEN_MAC=02:00:00:00:00:01
SINK_MAC=02:00:00:00:01:01

# One run: VARIANT DIRECTION WIRE_BYTES -> a line of key=value results.
run_one() {
  local variant=$1 dir=$2 wire_bytes=$3 size=$(($3 - 4))
  local run="$work/run.$RANDOM$RANDOM"
  mkdir -p "$run"
  local common=(--seconds "$SECS" --size "$size")
  # shellcheck disable=SC2046 # no arguments, or "--idle busy" as two
  taskset -c "$SWITCH_CORE" ip netns exec "$ns_sw" "$VSW" --vde "$run/sw" --control "$run/ctl" --log-level warn \
    --port "$(port_spec "$variant")" $(switch_args "$variant") >"$run/switch.log" 2>&1 &
  local spid=$!
  pids+=("$spid")
  if ! await_socket "$run/ctl" || ! await_socket "$run/sw/ctl"; then
    echo "uplink_e2e: $variant did not start: $(cat "$run/switch.log")" >&2
    stop_pid "$spid"
    echo failed=1
    return
  fi
  local pin=(taskset -c "$LOAD_CORE")
  local sink_at=("${pin[@]}" "$LOAD" recv "$run/sw")
  local gen_at=("${pin[@]}" ip netns exec "$ns_lan" "$LOAD" send --iface "$lan_if")
  if [[ $dir == out ]]; then
    sink_at=("${pin[@]}" ip netns exec "$ns_lan" "$LOAD" recv --iface "$lan_if")
    gen_at=("${pin[@]}" "$LOAD" send "$run/sw")
  fi
  "${sink_at[@]}" "${common[@]}" --src "$SINK_MAC" --drain "$DRAIN" --wait $((SECS + 20)) \
    >"$run/sink.out" 2>>"$run/err" &
  local kpid=$!
  pids+=("$kpid")
  await "$run/sink.out" '^ready' 10 || { echo "uplink_e2e: sink did not start" >&2; }
  sleep 0.3  # the announcements reach the switch, which learns the sink's address
  local b0
  b0=$(backlog_drops)
  "${gen_at[@]}" "${common[@]}" --src "$GEN_MAC" --dst "$SINK_MAC" --watch-pid "$spid" \
    >"$run/gen.out" 2>>"$run/err" || true
  await "$run/sink.out" role=recv $((SECS + 10)) || true
  local b1
  b1=$(backlog_drops)
  local show list
  show=$("$CTL" -s "$run/ctl" --json port show wire 2>/dev/null | tr -d '\n ' || true)
  list=$("$CTL" -s "$run/ctl" --json port list 2>/dev/null | tr -d '\n ' || true)
  stop_pid "$kpid"
  stop_pid "$spid"
  local gen sink
  gen=$(grep role=send "$run/gen.out" || true)
  sink=$(grep role=recv "$run/sink.out" || true)
  if [[ -z $gen || -z $sink ]]; then
    echo "uplink_e2e: $variant $dir: no result: $(cat "$run/err" "$run/switch.log" 2>/dev/null)" >&2
    echo failed=1
    return
  fi
  local kdrops drops
  # The uplink port says kernel_drops, DPDK's PMD rx_missed: the ring was full.
  kdrops=$(grep -oE '"(kernel_drops|rx_missed)":"[0-9]*"' <<<"$show" | grep -o '[0-9]*' || echo 0)
  drops=$(grep -o '"dropped":[0-9]*' <<<"$list" | cut -d: -f2 | awk '{s += $1} END {print s + 0}')
  echo "sent=$(field sent "$gen") delivered=$(field received "$sink") seconds=$(field seconds "$gen")" \
    "cpu=$(field watch_cpu_s "$gen") gen_cpu=$(field cpu_self_s "$gen") sink_cpu=$(field cpu_self_s "$sink")" \
    "ring_drops=${kdrops:-0} port_drops=${drops:-0} backlog_drops=$((b1 - b0))"
}

declare -A results
stat() {  # VARIANT DIR WIRE WHAT: the median (rates) or sum (counts) over the runs
  local lines=${results["$1 $2 $3"]:-}
  [[ -n $lines ]] || { echo nan; return; }
  while read -r line; do
    [[ -n $line ]] || continue
    awk -v w="$4" -v wire="$3" -v s="$(field sent "$line")" -v d="$(field delivered "$line")" \
      -v t="$(field seconds "$line")" -v c="$(field cpu "$line")" -v r="$(field ring_drops "$line")" \
      -v p="$(field port_drops "$line")" -v b="$(field backlog_drops "$line")" 'BEGIN {
        if (w == "mpps") print d / t / 1e6
        else if (w == "offered") print s / t / 1e6
        else if (w == "gbps") print d / t * wire * 8 / 1e9
        else if (w == "loss") print s ? 100 * (s - d) / s : 0
        else if (w == "cpu_us") print d ? c * 1e6 / d : "nan"
        else if (w == "ring") print s ? 100 * r / s : 0
        else if (w == "backlog") print s ? 100 * b / s : 0
        else if (w == "port") print s ? 100 * p / s : 0
        else if (w == "other") print s ? 100 * (s - d - r - b - p) / s : 0 }'
  done <<<"$lines" | median
}
cell() { if [[ $2 == nan || -z $2 ]]; then printf '%18s' -; else printf "%18$1" "$2"; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "nan" || b == "nan" || b == 0) print "nan"; else print a / b}'; }

echo "command: SECONDS_PER_RUN=$SECS RUNS=$RUNS SIZES=\"$SIZES\" DIRECTIONS=\"$DIRECTIONS\" VARIANTS=\"${variants[*]}\" bench/uplink_e2e.sh"
echo "machine: $(nproc) x $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}'), kernel $(uname -r)," \
  "DPDK $(dpkg-query -W -f='${Version}' dpdk 2>/dev/null || echo '?'); vswitchd git $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- switch plugs include 2>/dev/null || echo '+dirty')"
echo "in: vdeload on the LAN's veth end (AF_PACKET sendmmsg of 32) -> switch -> VDE sink;" \
  "out: VDE generator -> switch -> vdeload on the LAN's end. Switch CPU: its utime+stime while"
echo "the generator sent, per delivered frame (the kernel's veth work on its side included)."
echo "Loss is counted where it happened: in the switch's ring (kernel_drops; DPDK 22.11's"
echo "af_packet PMD reports none, so its ring's overflow shows as not accounted for), in a kernel"
echo "receive backlog (/proc/net/softnet_stat), on the switch's ports (drop counters)."
echo
echo "runs:"
for _ in $(seq "$RUNS"); do
  for dir in $DIRECTIONS; do
    for wire_bytes in $SIZES; do
      for v in "${variants[@]}"; do
        line=$(run_one "$v" "$dir" "$wire_bytes")
        printf '  %-17s %-3s %4s B  %s\n' "$v" "$dir" "$wire_bytes" "$line"
        [[ $line == failed=1 ]] || results["$v $dir $wire_bytes"]+="$line"$'\n'
      done
    done
  done
done

for dir in $DIRECTIONS; do
  for wire_bytes in $SIZES; do
    echo
    echo "== $dir, $wire_bytes-byte frames; medians of $RUNS runs of $SECS s"
    printf '%-28s' metric
    for v in "${variants[@]}"; do printf '%18s' "$v"; done
    ((${#variants[@]} > 1)) && printf '%18s' "1st/2nd"
    echo
    for row in "delivered Mpps:mpps:.3f" "Gbit/s (frame bytes):gbps:.3f" "offered Mpps:offered:.3f" \
      "loss %:loss:.2f" "  in the switch's ring %:ring:.2f" "  in a kernel backlog %:backlog:.2f" \
      "  on the switch's ports %:port:.2f" "  not accounted for %:other:.2f" \
      "switch CPU us/frame:cpu_us:.3f"; do
      IFS=: read -r label what fmt <<<"$row"
      printf '%-28s' "$label"
      vals=()
      for v in "${variants[@]}"; do
        vals+=("$(stat "$v" "$dir" "$wire_bytes" "$what")")
        cell "$fmt" "${vals[-1]}"
      done
      if [[ $what == mpps || $what == cpu_us || $what == gbps ]] && ((${#vals[@]} > 1)); then
        cell .3f "$(ratio "${vals[0]}" "${vals[1]}")"
      fi
      echo
    done
  done
done
