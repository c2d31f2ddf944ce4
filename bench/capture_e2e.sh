#!/usr/bin/env bash
# What watching costs: vswitchd on the DPDK end-to-end load of bench/dpdk_e2e.sh (two net_pcap
# ports replaying 64-byte frames without end, learned unicast between MACS addresses a side, one
# core) plus an idle third port, measured in the same run, interleaved, in three ways:
#   none       no capture
#   other      `vswitchctl capture idle -w /dev/null` on the idle third port
#   measured   `vswitchctl capture a -w /dev/null` on a loaded port, both directions, every frame
#              (SNAPLEN bytes of it), what the capture could not keep up with lost to it
# Mpps: frames the switch sent, the median of SECONDS_PER_RUN one-second samples after a
# warm-up; the capture's frames and losses from vswitchctl's own summary.
#   bench/capture_e2e.sh   MACS=512 SECONDS_PER_RUN=10 RUNS=3 CORE=1 SNAPLEN=262144
set -euo pipefail
cd "$(dirname "$0")/.."
MACS=${MACS:-512}
SECS=${SECONDS_PER_RUN:-10}
RUNS=${RUNS:-3}
CORE=${CORE:-1}
SNAPLEN=${SNAPLEN:-262144}
BUILD=${BUILD:-build-bench}

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
"$BUILD"/bench/pcapgen "$work/a.pcap" "$work/b.pcap" "$MACS" 60

eal="--no-huge --no-pci --no-shconf --no-telemetry -m 1024 --log-level=4"
port_a="dpdk,name=a,dev=net_pcap0,dev.rx_pcap=$work/a.pcap,dev.infinite_rx=1"
port_b="dpdk,name=b,dev=net_pcap1,dev.rx_pcap=$work/b.pcap,dev.infinite_rx=1"
port_idle="dpdk,name=idle,dev=net_null0,dev.no-rx=1"
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

out_packets() {
  "$BUILD"/vswitchctl -s "$work/ctl" --json port list | grep -o '"out_packets":[0-9]*' |
    cut -d: -f2 | paste -sd+ | bc
}

# One measurement: "MPPS CAPTURED LOST".
measure() {
  local what=$1
  rm -f "$work/capture.err"
  "$BUILD"/vswitchd --control "$work/ctl" --idle busy --log-level warn --mbufs 16383 \
    --eal "-l $CORE $eal" --port "$port_a" --port "$port_b" --port "$port_idle" \
    >"$work/vswitchd.log" 2>&1 &
  local pid=$! cap=""
  pids+=("$pid")
  for _ in $(seq 50); do [[ -S $work/ctl ]] && break; sleep 0.1; done
  local target=""
  [[ $what == other ]] && target=idle
  [[ $what == measured ]] && target=a
  if [[ -n $target ]]; then
    # vswitchctl on the other core: the switch's core does the copying and the draining.
    taskset -c 0 "$BUILD"/vswitchctl -s "$work/ctl" capture "$target" --snaplen "$SNAPLEN" \
      -w /dev/null 2>"$work/capture.err" &
    cap=$!
    pids+=("$cap")
  fi
  sleep 2
  local samples=() before after
  for _ in $(seq "$SECS"); do
    before=$(out_packets)
    sleep 1
    after=$(out_packets)
    samples+=("$(echo "($after - $before) / 1000000" | bc -l)")
  done
  local captured=0 lost=0
  if [[ -n $cap ]]; then
    kill -INT "$cap"
    wait "$cap" || true
    captured=$(grep -o '[0-9]* frames captured' "$work/capture.err" | cut -d' ' -f1)
    lost=$(grep -o '[0-9]* lost' "$work/capture.err" | cut -d' ' -f1)
  fi
  kill -TERM "$pid"
  wait "$pid" || true
  echo "$(printf '%s\n' "${samples[@]}" | median) ${captured:-0} ${lost:-0}"
}

ghz=$(awk -F: '/cpu MHz/ {print $2/1000; exit}' /proc/cpuinfo)
echo "machine: $(nproc) x $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ //') at ${ghz} GHz"
echo "vswitchd: git $(git rev-parse --short HEAD); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "frames: 64 bytes on the wire, $MACS addresses a side; $RUNS runs of $SECS s, switch on core $CORE; snaplen $SNAPLEN"
printf '%-4s %10s %10s %10s %9s %9s %14s %14s\n' run none other measured other/n meas/n captured/s lost/s
r_other=() r_meas=()
for r in $(seq "$RUNS"); do
  read -r n _ _ <<<"$(measure none)"
  read -r o _ _ <<<"$(measure other)"
  read -r m c l <<<"$(measure measured)"
  ro=$(echo "$o / $n" | bc -l)
  rm_=$(echo "$m / $n" | bc -l)
  r_other+=("$ro")
  r_meas+=("$rm_")
  printf '%-4s %10.2f %10.2f %10.2f %9.3f %9.3f %14.0f %14.0f\n' "$r" "$n" "$o" "$m" "$ro" "$rm_" \
    "$(echo "$c / ($SECS + 2)" | bc -l)" "$(echo "$l / ($SECS + 2)" | bc -l)"
done
printf 'median ratios to no capture: other port %.3f, measured port %.3f\n' \
  "$(printf '%s\n' "${r_other[@]}" | median)" "$(printf '%s\n' "${r_meas[@]}" | median)"
