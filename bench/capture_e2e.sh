#!/usr/bin/env bash
# What watching costs, on two loads, each measured in the same run, its variants interleaved:
#   none       no capture
#   other      `vswitchctl capture idle -w /dev/null` on an idle port (net_null0, no rx) that
#              every variant has
#   measured   a capture of a loaded port, both directions, every frame (SNAPLEN bytes of it),
#              what the capture could not keep up with lost to it
# PART=dpdk: the DPDK end-to-end load of bench/dpdk_e2e.sh (two net_pcap ports replaying 64-byte
#   frames without end, learned unicast between MACS addresses a side, one core); the measured
#   port is `a`. Mpps: frames the switch sent, the median of SECONDS_PER_RUN one-second samples
#   after a warm-up.
# PART=vde: vswitchd --vde driven by bench/vdeload as in bench/vde_e2e.sh (learned unicast
#   64 B, generator at max, one sink, separate processes); the measured port is the sink's,
#   vde:1. Mpps: unique frames the sink got over the generator's SECONDS_PER_RUN; CPU: the
#   switch's utime+stime while the generator sent, per delivered frame.
# Each run measures the three, starting one further along the list than the run before. A fresh
# switch for every measurement, on core CORE; vswitchctl on core CTL_CORE, so the switch's
# core does the copying and the draining. The capture's frames and losses from vswitchctl's own
# summary.
#   bench/capture_e2e.sh   PART="dpdk vde" MACS=512 SECONDS_PER_RUN=10 RUNS=3 CORE=1 CTL_CORE=0
#                          SNAPLEN=262144
set -euo pipefail
cd "$(dirname "$0")/.."
PART=${PART:-dpdk vde}
MACS=${MACS:-512}
SECS=${SECONDS_PER_RUN:-10}
RUNS=${RUNS:-3}
CORE=${CORE:-1}
CTL_CORE=${CTL_CORE:-0}
SNAPLEN=${SNAPLEN:-262144}
BUILD=${BUILD:-build-bench}
for p in $PART; do [[ $p == dpdk || $p == vde ]] || { echo "PART: dpdk, vde or both, not '$p'" >&2; exit 2; }; done

scripts/deps.sh build bench
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVSWITCH_TESTS=OFF -DVSWITCH_BENCH=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=bench/e2e_lib.sh
. bench/e2e_lib.sh

eal="--no-huge --no-pci --no-shconf --no-telemetry -m 1024 --log-level=4"
port_idle="dpdk,name=idle,dev=net_null0,dev.no-rx=1"
variants=(none other measured)

# Waits up to SECONDS until FILE has a line matching REGEX.
await_grep() {
  local ticks=$(($3 * 20))
  until grep -q -- "$2" "$1" 2>/dev/null; do
    ((ticks > 0)) || { echo "capture_e2e: timeout waiting for '$2' in $1" >&2; return 1; }
    sleep 0.05
    ticks=$((ticks - 1))
  done
}

# Starts `vswitchctl capture TARGET` on control socket CTL into /dev/null, its summary to ERR;
# sets CAPTURE_PID.
capture_start() {
  taskset -c "$CTL_CORE" "$BUILD"/vswitchctl -s "$1" capture "$2" --direction both \
    --snaplen "$SNAPLEN" -w /dev/null 2>"$3" &
  CAPTURE_PID=$!
  pids+=("$CAPTURE_PID")
}

# Ends the capture CAPTURE_PID as Ctrl-C would; prints "CAPTURED LOST" from its summary in ERR.
capture_stop() {
  kill -INT "$1"
  stop_pid "$1" 10
  local captured lost
  captured=$(grep -o '[0-9]* frames captured' "$2" | cut -d' ' -f1)
  lost=$(grep -o '[0-9]* lost' "$2" | cut -d' ' -f1)
  echo "${captured:-0} ${lost:-0}"
}

target_of() {  # VARIANT MEASURED_PORT -> the port to capture, or nothing
  case $1 in
    other) echo idle ;;
    measured) echo "$2" ;;
  esac
}

median_of() { printf '%s\n' "$@" | median; }

# The variants in the order run R measures them: each run starts one further along, so that a
# drift of the machine's other load does not always fall on the same variant.
rotated() {
  local k n=${#variants[@]}
  for k in $(seq 0 $((n - 1))); do echo "${variants[$(((k + $1 - 1) % n))]}"; done
}

# ---- DPDK -----------------------------------------------------------------------------------

out_packets() {
  "$BUILD"/vswitchctl -s "$1" --json port list | grep -o '"out_packets":[0-9]*' |
    cut -d: -f2 | paste -sd+ | bc
}

# One measurement: "MPPS CAPTURED LOST".
dpdk_measure() {
  local what=$1 run="$work/dpdk.$1"
  rm -rf "$run"
  mkdir -p "$run"
  local port_a="dpdk,name=a,dev=net_pcap0,dev.rx_pcap=$work/a.pcap,dev.infinite_rx=1"
  local port_b="dpdk,name=b,dev=net_pcap1,dev.rx_pcap=$work/b.pcap,dev.infinite_rx=1"
  "$BUILD"/vswitchd --control "$run/ctl" --idle busy --log-level warn --mbufs 16383 \
    --eal "-l $CORE $eal" --port "$port_a" --port "$port_b" --port "$port_idle" \
    >"$run/vswitchd.log" 2>&1 &
  local spid=$! cap="" target
  pids+=("$spid")
  await_socket "$run/ctl" 10
  target=$(target_of "$what" a)
  if [[ -n $target ]]; then
    capture_start "$run/ctl" "$target" "$run/capture.err"
    cap=$CAPTURE_PID
  fi
  sleep 2
  local samples=() before after
  for _ in $(seq "$SECS"); do
    before=$(out_packets "$run/ctl")
    sleep 1
    after=$(out_packets "$run/ctl")
    samples+=("$(echo "($after - $before) / 1000000" | bc -l)")
  done
  local tally="0 0"
  [[ -n $cap ]] && tally=$(capture_stop "$cap" "$run/capture.err")
  stop_pid "$spid"
  echo "$(median_of "${samples[@]}") $tally"
}

run_dpdk() {
  "$BUILD"/bench/pcapgen "$work/a.pcap" "$work/b.pcap" "$MACS" 60
  echo
  echo "== DPDK: 64-byte frames on the wire, $MACS addresses a side, net_pcap a <-> b, --idle busy;" \
    "$RUNS runs of $SECS s; measured port a"
  printf '%-6s %10s %10s %10s %9s %9s %14s %14s\n' run none other measured other/n meas/n captured/s lost/s
  local r v n o m c l cc ll ro rm_ all_n=() all_o=() all_m=() r_other=() r_meas=()
  local -A mpps
  for r in $(seq "$RUNS"); do
    for v in $(rotated "$r"); do
      read -r "mpps[$v]" cc ll <<<"$(dpdk_measure "$v")"
      [[ $v == measured ]] && { c=$cc; l=$ll; }
    done
    n=${mpps[none]} o=${mpps[other]} m=${mpps[measured]}
    ro=$(ratio "$o" "$n")
    rm_=$(ratio "$m" "$n")
    all_n+=("$n") all_o+=("$o") all_m+=("$m") r_other+=("$ro") r_meas+=("$rm_")
    printf '%-6s %10.3f %10.3f %10.3f %9.3f %9.3f %14.0f %14.0f\n' "$r" "$n" "$o" "$m" "$ro" "$rm_" \
      "$(echo "$c / ($SECS + 2)" | bc -l)" "$(echo "$l / ($SECS + 2)" | bc -l)"
  done
  printf '%-6s %10.3f %10.3f %10.3f\n' median "$(median_of "${all_n[@]}")" \
    "$(median_of "${all_o[@]}")" "$(median_of "${all_m[@]}")"
  printf 'DPDK median ratios to no capture (Mpps): other port %.3f, measured port %.3f\n' \
    "$(median_of "${r_other[@]}")" "$(median_of "${r_meas[@]}")"
}

# ---- VDE ------------------------------------------------------------------------------------

MAC_GEN=02:00:00:00:00:01
MAC_SINK=02:00:00:00:01:01
DRAIN=0.5  # the sink stops after this much silence once frames have come

# KEY's value in a vdeload result line (key=value words).
field() { grep -o "\b$1=[^ ]*" <<<"$2" | head -1 | cut -d= -f2; }

# One measurement: "MPPS CPU_US_PER_FRAME SENT LOST DROPPED CAPTURED CAPTURE_LOST", or "failed";
# LOST: frames the generator sent that the sink did not get; DROPPED: the switch's drop counters.
vde_measure() {
  local what=$1 run="$work/vde.$1"
  rm -rf "$run"
  mkdir -p "$run"
  local load="$BUILD/bench/vdeload" dir="$run/sw" ctl="$run/ctl"
  local common=(--seconds "$SECS" --size 60)
  "$BUILD"/vswitchd --vde "$dir" --control "$ctl" --log-level warn --eal "-l $CORE $eal" \
    --port "$port_idle" >"$run/vswitchd.log" 2>&1 &
  local spid=$!
  pids+=("$spid")
  if ! await_socket "$dir/ctl" 10 || ! await_socket "$ctl" 10; then
    stop_pid "$spid"
    echo failed
    return
  fi
  # The sink first, so the switch has learned it before the generator's first frame; it is the
  # first VDE client, port vde:1. Both hold their ports after their result lines.
  "$load" recv "$dir" "${common[@]}" --src "$MAC_SINK" --drain "$DRAIN" --wait $((SECS + 20)) \
    --hold 60 >"$run/sink.out" 2>>"$run/err" &
  local kpid=$!
  pids+=("$kpid")
  local cap="" target
  if await_grep "$run/sink.out" '^ready' 10; then
    target=$(target_of "$what" vde:1)
    if [[ -n $target ]]; then
      capture_start "$ctl" "$target" "$run/capture.err"
      cap=$CAPTURE_PID
    fi
    sleep 0.5
    "$load" send "$dir" "${common[@]}" --src "$MAC_GEN" --dst "$MAC_SINK" --rate 0 \
      --watch-pid "$spid" --hold 60 >"$run/gen.out" 2>>"$run/err" &
    local gpid=$!
    pids+=("$gpid")
    await_grep "$run/gen.out" role=send $((SECS + 15)) || true
    await_grep "$run/sink.out" role=recv $((SECS + 15)) || true
    stop_pid "$gpid"
  fi
  local tally="0 0" dropped
  [[ -n $cap ]] && tally=$(capture_stop "$cap" "$run/capture.err")
  dropped=$(ports_dropped "$ctl" 2>/dev/null || echo 0)
  stop_pid "$kpid"
  stop_pid "$spid"
  local gen sink
  gen=$(grep role=send "$run/gen.out" 2>/dev/null || true)
  sink=$(grep role=recv "$run/sink.out" 2>/dev/null || true)
  if [[ -z $gen || -z $sink ]]; then
    echo "capture_e2e: vde $what: no result: $(cat "$run/err" "$run/vswitchd.log" 2>/dev/null)" >&2
    echo failed
    return
  fi
  awk -v d="$(field received "$sink")" -v s="$(field seconds "$gen")" -v c="$(field watch_cpu_s "$gen")" \
    -v sent="$(field sent "$gen")" -v dropped="${dropped:-0}" -v tally="$tally" 'BEGIN {
      printf "%.6f %s %d %d %d %s\n", d / s / 1e6, (c < 0 || d == 0) ? "nan" : c * 1e6 / d, sent,
        sent - d, dropped, tally }'
}

run_vde() {
  echo
  echo "== VDE: learned unicast, 64-byte frames (60-byte datagrams), vdeload generator at max ->" \
    "1 sink, sendmmsg/recvmmsg of 32; $RUNS runs of $SECS s; measured port vde:1 (the sink's)"
  printf '%-6s %9s %9s %9s %9s %9s %9s %8s %8s %8s %8s %12s %12s\n' run Mpps:none other measured \
    us:none other measured Mpps:o/n m/n us:o/n m/n captured/s cap_lost/s
  local r v line failed=0 sent lost dropped c l c_meas=0 l_meas=0 r_mo=() r_mm=() r_co=() r_cm=()
  local -A mpps cpu series  # series: "mpps VARIANT" and "cpu VARIANT" -> the runs' values
  local -A lost_sum=([none]=0 [other]=0 [measured]=0) sent_sum=([none]=0 [other]=0 [measured]=0)
  local -A drop_sum=([none]=0 [other]=0 [measured]=0)
  for r in $(seq "$RUNS"); do
    for v in $(rotated "$r"); do
      line=$(vde_measure "$v")
      if [[ $line == failed ]]; then
        failed=1
        break
      fi
      read -r "mpps[$v]" "cpu[$v]" sent lost dropped c l <<<"$line"
      lost_sum[$v]=$((lost_sum[$v] + lost))
      drop_sum[$v]=$((drop_sum[$v] + dropped))
      sent_sum[$v]=$((sent_sum[$v] + sent))
      [[ $v == measured ]] && { c_meas=$c; l_meas=$l; }
    done
    if ((failed)); then
      echo "run $r: a measurement failed (not counted)"
      failed=0
      continue
    fi
    for v in "${variants[@]}"; do
      series[mpps $v]+="${mpps[$v]} "
      series[cpu $v]+="${cpu[$v]} "
    done
    r_mo+=("$(ratio "${mpps[other]}" "${mpps[none]}")")
    r_mm+=("$(ratio "${mpps[measured]}" "${mpps[none]}")")
    r_co+=("$(ratio "${cpu[other]}" "${cpu[none]}")")
    r_cm+=("$(ratio "${cpu[measured]}" "${cpu[none]}")")
    printf '%-6s %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f %8.3f %8.3f %8.3f %8.3f %12.0f %12.0f\n' "$r" \
      "${mpps[none]}" "${mpps[other]}" "${mpps[measured]}" "${cpu[none]}" "${cpu[other]}" \
      "${cpu[measured]}" "${r_mo[-1]}" "${r_mm[-1]}" "${r_co[-1]}" "${r_cm[-1]}" \
      "$(echo "$c_meas / $SECS" | bc -l)" "$(echo "$l_meas / $SECS" | bc -l)"
  done
  ((${#r_mo[@]})) || { echo "VDE: no run completed"; return; }
  # shellcheck disable=SC2086  # a series is space-separated numbers
  printf '%-6s %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f %8.3f %8.3f %8.3f %8.3f\n' median \
    "$(median_of ${series[mpps none]})" "$(median_of ${series[mpps other]})" \
    "$(median_of ${series[mpps measured]})" "$(median_of ${series[cpu none]})" \
    "$(median_of ${series[cpu other]})" "$(median_of ${series[cpu measured]})" \
    "$(median_of "${r_mo[@]}")" "$(median_of "${r_mm[@]}")" "$(median_of "${r_co[@]}")" \
    "$(median_of "${r_cm[@]}")"
  echo "VDE frames the generator sent that the sink did not get, over the runs (the switch's drop counters):"
  for v in "${variants[@]}"; do
    printf '  %s %d (%.3f %%; counted %d)' "$v" "${lost_sum[$v]}" \
      "$(ratio $((100 * lost_sum[$v])) "${sent_sum[$v]}")" "${drop_sum[$v]}"
  done
  echo
  printf 'VDE median ratios to no capture: Mpps other port %.3f, measured port %.3f;' \
    "$(median_of "${r_mo[@]}")" "$(median_of "${r_mm[@]}")"
  printf ' switch CPU per frame other port %.3f, measured port %.3f\n' \
    "$(median_of "${r_co[@]}")" "$(median_of "${r_cm[@]}")"
}

ghz=$(awk -F: '/cpu MHz/ {printf "%.2f", $2 / 1000; exit}' /proc/cpuinfo)
echo "command: PART=\"$PART\" MACS=$MACS SECONDS_PER_RUN=$SECS RUNS=$RUNS CORE=$CORE CTL_CORE=$CTL_CORE SNAPLEN=$SNAPLEN bench/capture_e2e.sh"
echo "machine: $(nproc) x $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ //') at ${ghz} GHz, kernel $(uname -r)"
echo "vswitchd: git $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- switch plugs include 2>/dev/null || echo '+dirty');" \
  "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "switch on core $CORE, vswitchctl on core $CTL_CORE; snaplen $SNAPLEN; ratios: Mpps below 1 and CPU above 1 are the cost"
start=$SECONDS
for p in $PART; do "run_$p"; done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); total time: $((SECONDS - start)) s"
