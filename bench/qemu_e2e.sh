#!/usr/bin/env bash
# QEMU's socket transports end to end: a generator and a sink that behave like QEMU 7.2 peers
# (bench/qemuload), first point to point with no switch, then through vswitchd, in the same run:
# a TCP stream (QEMU's 4-byte length framing; vswitchd's socket,listen= port takes both) and
# Unix datagrams (-netdev dgram; two vswitchd dgram ports). Learned unicast, 64- and 1500-byte
# frames on the wire (60/1496 bytes without the FCS), medians of RUNS runs.
#   bench/qemu_e2e.sh        SECONDS_PER_RUN=3 RUNS=3 SIZES="64 1500"
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECONDS_PER_RUN:-3}
RUNS=${RUNS:-3}
SIZES=${SIZES:-64 1500}
BUILD=${BUILD:-build-bench}

scripts/deps.sh build bench
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVSWITCH_TESTS=OFF -DVSWITCH_BENCH=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target qemuload vswitchd vswitchctl >/dev/null

work=$(mktemp -d /tmp/qemu_e2e.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
load=$BUILD/bench/qemuload
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }
port=$((20000 + RANDOM % 20000))

# run_once TRANSPORT SIZE direct|switch: sets R_MPPS R_LOST R_CPU_US R_DROPPED. Runs in this
# shell, not a subshell, so that the cleanup trap knows every process it started.
run_once() {
  local transport=$1 size=$2 via=$3 vs=0 sink_args gen_args
  local bytes=$((size - 4))
  port=$((port + 1))
  rm -f "$work"/*.dg "$work/out."*
  if [[ $via == switch ]]; then
    if [[ $transport == tcp ]]; then
      "$BUILD"/vswitchd --control "$work/ctl" --log-level warn \
        --port "socket,name=tcp,listen=127.0.0.1:$port" >"$work/vs.log" 2>&1 &
      sink_args=(--tcp "127.0.0.1:$port")
      gen_args=(--tcp "127.0.0.1:$port")
    else
      "$BUILD"/vswitchd --control "$work/ctl" --log-level warn \
        --port "dgram,name=g,local.type=unix,local.path=$work/swg.dg,remote.type=unix,remote.path=$work/gen.dg" \
        --port "dgram,name=s,local.type=unix,local.path=$work/sws.dg,remote.type=unix,remote.path=$work/sink.dg" \
        >"$work/vs.log" 2>&1 &
      sink_args=(--dgram "$work/sink.dg" "$work/sws.dg")
      gen_args=(--dgram "$work/gen.dg" "$work/swg.dg")
    fi
    vs=$!
    pids+=("$vs")
    for _ in $(seq 100); do [[ -S $work/ctl ]] && break; sleep 0.05; done
  else
    if [[ $transport == tcp ]]; then
      sink_args=(--tcp "127.0.0.1:$port" --listen)
      gen_args=(--tcp "127.0.0.1:$port")
    else
      sink_args=(--dgram "$work/sink.dg" "$work/gen.dg")
      gen_args=(--dgram "$work/gen.dg" "$work/sink.dg")
    fi
  fi
  "$load" recv "${sink_args[@]}" --size "$bytes" --seconds "$SECS" >"$work/out.recv" &
  local sink=$!
  pids+=("$sink")
  sleep 0.3  # the sink announces itself before the load starts
  local c0=0 c1=0
  [[ $vs != 0 ]] && c0=$(cpu_of "$vs")
  "$load" send "${gen_args[@]}" --size "$bytes" --seconds "$SECS" >"$work/out.send"
  [[ $vs != 0 ]] && c1=$(cpu_of "$vs")
  local sent received seconds dropped=0
  if [[ $vs != 0 ]]; then
    # While the sink still drains: its port goes when its connection does.
    sleep 0.3
    dropped=$("$BUILD"/vswitchctl -s "$work/ctl" --json port list | grep -o '"dropped":[0-9]*' |
      cut -d: -f2 | paste -sd+ | bc)
  fi
  wait "$sink" || true
  sent=$(grep -o 'sent=[0-9]*' "$work/out.send" | cut -d= -f2)
  received=$(grep -o 'received=[0-9]*' "$work/out.recv" | cut -d= -f2)
  seconds=$(grep -o 'seconds=[0-9.]*' "$work/out.send" | cut -d= -f2)
  if [[ $vs != 0 ]]; then
    kill -TERM "$vs"
    wait "$vs" || true
  fi
  R_CPU_US=0
  ((received > 0)) && R_CPU_US=$(echo "($c1 - $c0) * 10000 / $received" | bc -l)
  R_MPPS=$(echo "$received / $seconds / 1000000" | bc -l)
  R_LOST=$((sent - received))
  R_DROPPED=${dropped:-0}
}

echo "machine: $(nproc) x $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ //'), kernel $(uname -r)"
echo "command: SECONDS_PER_RUN=$SECS RUNS=$RUNS SIZES=\"$SIZES\" bench/qemu_e2e.sh"
printf '%-6s %5s %12s %12s %8s %10s %10s %12s\n' transport bytes direct_Mpps switch_Mpps ratio \
  direct_lost switch_lost sw_cpu_us/fr
for transport in tcp dgram; do
  for size in $SIZES; do
    direct=() through=() dlost=0 slost=0 cpus=() drops=0
    for _ in $(seq "$RUNS"); do
      run_once "$transport" "$size" direct
      direct+=("$R_MPPS")
      dlost=$((dlost + R_LOST))
      run_once "$transport" "$size" switch
      through+=("$R_MPPS")
      slost=$((slost + R_LOST))
      drops=$((drops + R_DROPPED))
      cpus+=("$R_CPU_US")
    done
    dm=$(printf '%s\n' "${direct[@]}" | median)
    sm=$(printf '%s\n' "${through[@]}" | median)
    printf '%-9s %5s %12.3f %12.3f %8.3f %10d %10d %12.2f   (switch drop counters: %d)\n' \
      "$transport" "$size" "$dm" "$sm" "$(echo "$sm / $dm" | bc -l)" "$dlost" "$slost" \
      "$(printf '%s\n' "${cpus[@]}" | median)" "$drops"
  done
done
