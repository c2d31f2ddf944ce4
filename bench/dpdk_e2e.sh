#!/usr/bin/env bash
# vswitchd against dpdk-testpmd's io forwarding on the same devices, in the same run, one core
# each: two net_pcap ports replaying crafted 64-byte frames without end (infinite_rx), each side
# sending from MACS addresses to the other side's, transmit to the pcap PMD's drop sink. For
# vswitchd every frame is learned unicast through an FDB of 2 x MACS entries.
#   bench/dpdk_e2e.sh            MACS=512 SECONDS_PER_RUN=10 RUNS=3 CORE=1 are the defaults
set -euo pipefail
cd "$(dirname "$0")/.."
MACS=${MACS:-512}
SECS=${SECONDS_PER_RUN:-10}
RUNS=${RUNS:-3}
CORE=${CORE:-1}
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
dev_a="net_pcap0,rx_pcap=$work/a.pcap,infinite_rx=1"
dev_b="net_pcap1,rx_pcap=$work/b.pcap,infinite_rx=1"
# The same devices in vswitchd's port syntax (dev.KEY=VALUE adds a devarg).
port_a="dpdk,name=a,dev=net_pcap0,dev.rx_pcap=$work/a.pcap,dev.infinite_rx=1"
port_b="dpdk,name=b,dev=net_pcap1,dev.rx_pcap=$work/b.pcap,dev.infinite_rx=1"
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

testpmd_mpps() {
  # Main lcore 0 only prints the statistics; forwarding runs on CORE alone.
  # shellcheck disable=SC2086
  dpdk-testpmd -l "0,$CORE" $eal --vdev "$dev_a" --vdev "$dev_b" -- \
    --forward-mode=io --nb-cores=1 --stats-period=1 --no-lsc-interrupt \
    --total-num-mbufs=16384 >"$work/testpmd.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  sleep $((SECS + 3))
  kill -INT "$pid"
  wait "$pid" || true
  # Each period prints Tx-pps per port; sum the two ports, skip the first periods (warm-up).
  grep -o 'Tx-pps: *[0-9]*' "$work/testpmd.log" | awk '{print $2}' | paste - - |
    awk '{print ($1+$2)/1e6}' | tail -n +3 | head -n "$SECS" | median
}

out_packets() {
  "$BUILD"/vswitchctl -s "$work/ctl" --json port list | grep -o '"out_packets":[0-9]*' |
    cut -d: -f2 | paste -sd+ | bc
}

vswitchd_mpps() {
  "$BUILD"/vswitchd --control "$work/ctl" --idle busy --log-level warn --mbufs 16383 \
    --eal "-l $CORE $eal" --port "$port_a" --port "$port_b" \
    >"$work/vswitchd.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 50); do [[ -S $work/ctl ]] && break; sleep 0.1; done
  sleep 2  # warm-up: learning done, caches warm
  local samples=() before after
  for _ in $(seq "$SECS"); do
    before=$(out_packets)
    sleep 1
    after=$(out_packets)
    samples+=("$(echo "($after - $before) / 1000000" | bc -l)")
  done
  kill -TERM "$pid"
  wait "$pid" || true
  printf '%s\n' "${samples[@]}" | median
}

ghz=$(awk -F: '/cpu MHz/ {print $2/1000; exit}' /proc/cpuinfo)
echo "machine: $(nproc) x $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ //') at ${ghz} GHz"
echo "frames: 64 bytes on the wire (60 + FCS), $MACS addresses a side; $RUNS runs of $SECS s, core $CORE"
printf '%-4s %14s %14s %8s %16s\n' run testpmd_Mpps vswitchd_Mpps ratio vswitchd_cycles
ratios=()
for r in $(seq "$RUNS"); do
  t=$(testpmd_mpps)
  v=$(vswitchd_mpps)
  ratio=$(echo "$v / $t" | bc -l)
  cycles=$(echo "$ghz * 1000 / $v" | bc -l)
  ratios+=("$ratio")
  printf '%-4s %14.2f %14.2f %8.3f %16.0f\n' "$r" "$t" "$v" "$ratio" "$cycles"
done
printf 'median ratio vswitchd/testpmd: %.3f\n' "$(printf '%s\n' "${ratios[@]}" | median)"
