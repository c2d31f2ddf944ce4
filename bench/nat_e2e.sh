#!/usr/bin/env bash
# User-mode NAT end to end with a real guest: the test guest (scripts/guest, under TCG) downloads
# BYTES over HTTP from a server on the host's loopback (bench/httpblob, reached as 10.0.2.2:PORT)
# through three NATs, in interleaved runs, a fresh guest and switch for every run:
#   vswitchd   vswitchd -s DIR --segment default,network=nat, the guest on -netdev vde
#   qemu-user  QEMU's own -netdev user
#   vde_plug   vswitchd -s DIR as a plain bridge and `vde_plug vde://DIR slirp://` as the NAT:
#              the same switch and guest transport, only the NAT differs
# MB/s (10^6 bytes) from the guest's own timing of its wget. CPU per MB: the run time of every
# process on the path (QEMU, the server, vswitchd, vde_plug) between the guest's VSW-READY and
# VSW-XFER-OK lines, QEMU's split into its vCPU thread (the emulated guest, which under TCG is
# most of it) and the rest; and vswitchd's (vde_plug's) CPU per frame vswitchd switched in that
# time (the sum of its ports' in_packets). Medians of RUNS runs.
#   bench/nat_e2e.sh     RUNS=3 BYTES=67108864
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
BYTES=${BYTES:-67108864}
BUILD=${BUILD:-build-bench}
GUEST_TIMEOUT=180  # seconds for a boot, and again for a download
paths=(vswitchd qemu-user vde_plug)

scripts/deps.sh build bench vm
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVSWITCH_TESTS=OFF -DVSWITCH_BENCH=ON >/dev/null
cmake --build "$BUILD" -j2 --target vswitchd vswitchctl httpblob >/dev/null
kit=$(scripts/guest/build.sh | tail -n 1)

work=$(mktemp -d /tmp/nat_e2e.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=bench/e2e_lib.sh
. bench/e2e_lib.sh

tick_ms=$((1000 / $(getconf CLK_TCK)))

e2e_open_nap "$work"

mkdir -p "$work/www"
head -c "$BYTES" /dev/urandom >"$work/www/blob"
md5sum "$work/www/blob" | cut -d' ' -f1 >"$work/www/blob.md5"
"$BUILD"/bench/httpblob "$work/www" >"$work/httpblob.out" &
httpd=$!
pids+=("$httpd")
for _ in $(seq 100); do [[ -s $work/httpblob.out ]] && break; sleep 0.05; done
port=$(grep -o 'port=[0-9]*' "$work/httpblob.out" | cut -d= -f2)
[[ -n $port ]] || { echo "nat_e2e: the HTTP server did not start" >&2; exit 1; }

# Appends the CPU (us) of every part in the caller's `parts` (PID or PID:vcpu|io) to the array
# named $1 and adds the ticks of its processes to the variable named $2; fails when one has ended.
sample_cpu() {
  local -n us=$1 ticks=$2
  local p
  for p in "${parts[@]}"; do
    alive "${p%%:*}" || return 1
    us+=("$(cpu_us_of "${p%%:*}" "$([[ $p == *:* ]] && echo "${p#*:}")")")
    [[ $p == *:vcpu ]] || ticks=$((ticks + $(ticks_of "${p%%:*}")))
  done
}

# One download through PATH; appends one line of key=value results to $work/results.PATH.
run_once() {
  local path=$1 run="$work/run.$1.$2"
  mkdir -p "$run"
  local vs="" plug="" netdev ctl="$run/ctl"
  if [[ $path != qemu-user ]]; then
    local segment=()
    [[ $path == vswitchd ]] && segment=(--segment "default,network=nat")
    "$BUILD"/vswitchd -s "$run/sw" "${segment[@]}" --control "$ctl" --log-level warn \
      >"$run/vswitchd.log" 2>&1 &
    vs=$!
    pids+=("$vs")
    await_socket "$ctl" 20
    await_socket "$run/sw/ctl" 20
    netdev="vde,sock=$run/sw"
  else
    netdev="user"
  fi
  if [[ $path == vde_plug ]]; then
    vde_plug "vde://$run/sw" slirp:// >"$run/vde_plug.log" 2>&1 &
    plug=$!
    pids+=("$plug")
    local ticks=100
    until [[ $("$BUILD"/vswitchctl -s "$ctl" --json port list) == *'"type":"vde"'* ]]; do
      ((ticks > 0)) || { echo "nat_e2e: vde_plug did not connect: $(cat "$run/vde_plug.log")" >&2; exit 1; }
      sleep 0.05
      ticks=$((ticks - 1))
    done
  fi
  qemu-system-x86_64 -name nat-bench,debug-threads=on -accel tcg -nodefaults -display none -no-reboot -m 128 \
    -serial "file:$run/console" -kernel "$kit/vmlinux" -initrd "$kit/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1 vsw.ip=dhcp vsw.role=client vsw.ping=skip vsw.url=http://10.0.2.2:$port vsw.check=size vsw.bytes=$BYTES vsw.hold=2" \
    -netdev "$netdev,id=n0" -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56 \
    </dev/null >"$run/qemu.log" 2>&1 &
  local qemu=$!
  pids+=("$qemu")
  for _ in $(seq 100); do [[ -e $run/console ]] && break; sleep 0.05; done
  local con
  exec {con}<"$run/console"

  local parts=("$qemu:vcpu" "$qemu:io" "$httpd") names=(vcpu qemu_io httpd)
  [[ -n $vs ]] && parts+=("$vs") && names+=(vswitchd)
  [[ -n $plug ]] && parts+=("$plug") && names+=(vde_plug)
  local c0=() c1=() t0=0 t1=0 in0=0 in1=0 drop=0 result="failed=1"
  if await_line "$con" VSW-READY "$GUEST_TIMEOUT"; then
    sample_cpu c0 t0 || echo "nat_e2e: $path: a process on the path ended" >&2
    [[ -n $vs ]] && in0=$(ports_in "$ctl")
    if await_line "$con" VSW-XFER- "$GUEST_TIMEOUT"; then
      local complete=1
      sample_cpu c1 t1 || complete=0
      if [[ -n $vs ]]; then
        in1=$(ports_in "$ctl")
        drop=$(ports_dropped "$ctl")
      fi
      if ((!complete || ${#c0[@]} != ${#parts[@]})); then
        echo "nat_e2e: $path: a process on the path ended before the transfer's end was read" >&2
      elif [[ $CONSOLE_LINE == VSW-XFER-OK* ]]; then
        result="ms=$(grep -o 'ms=[0-9]*' <<<"$CONSOLE_LINE" | cut -d= -f2) frames=$((in1 - in0)) dropped=$drop"
        local i
        for i in "${!parts[@]}"; do result+=" ${names[$i]}_us=$((c1[i] - c0[i]))"; done
        result+=" stat_ms=$(((t1 - t0) * tick_ms))"
      else
        echo "nat_e2e: $path: $CONSOLE_LINE" >&2
      fi
    else
      echo "nat_e2e: $path: no transfer result in $GUEST_TIMEOUT s" >&2
    fi
  else
    echo "nat_e2e: $path: the guest did not come up: $(tr -d '\r' <"$run/console" | tail -n 5)" >&2
  fi
  exec {con}<&-
  stop_pid "$qemu" 30  # the guest powers off by itself
  [[ -n $plug ]] && stop_pid "$plug"
  [[ -n $vs ]] && stop_pid "$vs"
  echo "$result" >>"$work/results.$path"
  printf '  %-10s run %d: %s\n' "$path" "$2" "$result"
}

# VALUE of KEY in each result line of PATH that did not fail, one a line.
values() {
  { grep -v failed=1 "$work/results.$1" || true; } | grep -o "\b$2=[0-9]*" | cut -d= -f2
}
# Per-run derived figures of PATH: mbps | cpu_ms_mb (all processes) | NAME_ms_mb | vsw_us_frame |
# plug_us_frame (CPU per frame vswitchd switched).
derived() {
  local path=$1 what=$2
  { grep -v failed=1 "$work/results.$path" || true; } | awk -v what="$what" -v bytes="$BYTES" '{
      for (i = 1; i <= NF; ++i) { split($i, kv, "="); f[kv[1]] = kv[2] }
      mb = bytes / 1e6
      cpu = 0
      for (k in f) if (k ~ /_us$/) cpu += f[k]
      if (what == "mbps") print mb / (f["ms"] / 1000)
      else if (what == "cpu_ms_mb") print cpu / 1000 / mb
      else if (what == "net_ms_mb") print (cpu - f["vcpu_us"]) / 1000 / mb
      else if (what == "vsw_us_frame") { if (f["frames"] > 0 && "vswitchd_us" in f) print f["vswitchd_us"] / f["frames"] }
      else if (what == "plug_us_frame") { if (f["frames"] > 0 && "vde_plug_us" in f) print f["vde_plug_us"] / f["frames"] }
      else { name = what; sub(/_ms_mb$/, "_us", name); if (name in f) print f[name] / 1000 / mb }
      delete f }'
}

echo "machine: $(nproc) x $(lscpu | awk -F: '/Model name/ {sub(/^ */, "", $2); print $2; exit}'), kernel $(uname -r), $(qemu-system-x86_64 --version | head -n 1)"
echo "command: RUNS=$RUNS BYTES=$BYTES bench/nat_e2e.sh   (guest: TCG, -m 128, virtio-net)"
for r in $(seq "$RUNS"); do
  for path in "${paths[@]}"; do run_once "$path" "$r"; done
done

cell() {  # FORMAT VALUE: the number, or a dash for none
  if [[ $2 == nan || -z $2 ]]; then printf '%12s' -; else printf "%12$1" "$2"; fi
}
declare -A med
for path in "${paths[@]}"; do
  for what in mbps cpu_ms_mb vcpu_ms_mb net_ms_mb qemu_io_ms_mb httpd_ms_mb vswitchd_ms_mb \
    vde_plug_ms_mb vsw_us_frame plug_us_frame; do
    med[$path.$what]=$(derived "$path" "$what" | median)
  done
  med[$path.frames]=nan med[$path.dropped]=nan
  if [[ $path != qemu-user ]]; then
    med[$path.frames]=$(values "$path" frames | median)
    med[$path.dropped]=$(values "$path" dropped | awk '{s += $1} END {print s + 0}')
  fi
done
echo
echo "== $((BYTES / 1048576)) MiB over HTTP from 127.0.0.1, medians of $RUNS runs (dropped: summed)"
printf '%-28s%12s%12s%12s%13s%13s\n' metric "${paths[@]}" vsw/qemu vsw/vde_plug
for row in "MB/s:mbps:.2f" "CPU ms/MB, everything:cpu_ms_mb:.1f" "  QEMU's vCPU (the guest):vcpu_ms_mb:.1f" \
  "  all but the vCPU:net_ms_mb:.2f" "    QEMU's other threads:qemu_io_ms_mb:.2f" \
  "    httpblob:httpd_ms_mb:.2f" "    vswitchd:vswitchd_ms_mb:.2f" "    vde_plug:vde_plug_ms_mb:.2f" \
  "frames switched:frames:.0f" \
  "vswitchd CPU us/frame:vsw_us_frame:.2f" "vde_plug CPU us/frame:plug_us_frame:.2f" \
  "vswitchd drop counters:dropped:.0f"; do
  IFS=: read -r label what fmt <<<"$row"
  printf '%-28s' "$label"
  for path in "${paths[@]}"; do cell "$fmt" "${med[$path.$what]}"; done
  if [[ $what == mbps || $what == *_ms_mb ]]; then
    printf ' '; cell .3f "$(ratio "${med[vswitchd.$what]}" "${med[qemu-user.$what]}")"
    printf ' '; cell .3f "$(ratio "${med[vswitchd.$what]}" "${med[vde_plug.$what]}")"
  fi
  echo
done
