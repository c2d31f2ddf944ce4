# shellcheck shell=bash
# Shell helpers of the end-to-end benchmarks that start guests and switches (nat_e2e.sh,
# tap_e2e.sh), sourced by them. The script keeps the PIDs it started in the array `pids`, which
# its cleanup trap stops, and sets BUILD; await_line needs a descriptor `nap` open on a FIFO
# nobody writes (e2e_open_nap).

# True while PID runs; a zombie does not count.
alive() { [[ -r /proc/$1/stat ]] && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }

# Drops PID from `pids`: once it has ended its number may be reused.
forget() {
  local q keep=()
  for q in "${pids[@]}"; do [[ $q == "$1" ]] || keep+=("$q"); done
  pids=("${keep[@]}")
}

# Stops PID: waits up to SECONDS (default 0) for it to end by itself, then SIGTERM, then
# SIGKILL after 5 s; reaps it and forgets it.
stop_pid() {
  local pid=$1 ticks=$((${2:-0} * 10))
  while alive "$pid" && ((ticks > 0)); do sleep 0.1; ticks=$((ticks - 1)); done
  kill -TERM "$pid" 2>/dev/null || true
  ticks=50
  while alive "$pid" && ((ticks > 0)); do sleep 0.1; ticks=$((ticks - 1)); done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget "$pid"
}

# Waits up to SECONDS for the Unix socket PATH.
await_socket() {
  local ticks=$(($2 * 20))
  while [[ ! -S $1 ]]; do
    ((ticks > 0)) || { echo "$(basename "$0"): no socket $1" >&2; return 1; }
    sleep 0.05
    ticks=$((ticks - 1))
  done
}

# CPU time of PID in microseconds: the run time of its threads (schedstat), finer than the 10 ms
# ticks of /proc/PID/stat; with `vcpu`, of QEMU's vCPU threads only, with `io` of all the others
# (its main loop: the device backends). QEMU must run with -name ...,debug-threads=on.
cpu_us_of() {
  local t comm ns vcpu sum=0
  for t in /proc/"$1"/task/*; do
    { read -r comm <"$t/comm" && read -r ns _ <"$t/schedstat"; } 2>/dev/null || continue
    vcpu=0
    [[ $comm == "CPU "* ]] && vcpu=1  # "CPU 0/TCG"
    case ${2:-all} in
      vcpu) ((vcpu)) || continue ;;
      io) ((!vcpu)) || continue ;;
    esac
    sum=$((sum + ns))
  done
  echo $((sum / 1000))
}
ticks_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }

median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) print "nan"; else print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {if (a == "nan" || b == "nan" || a == "" || b == "" || b == 0) print "nan"; else print a / b}'
}

# Sums of vswitchd's ports' in_packets, and of their drops, from the control socket CTL.
ports_in() {
  "$BUILD"/vswitchctl -s "$1" --json port list | grep -o '"in_packets":[0-9]*' | cut -d: -f2 | paste -sd+ | bc
}
ports_dropped() {
  "$BUILD"/vswitchctl -s "$1" --json port list | grep -o '"dropped":[0-9]*' | cut -d: -f2 | paste -sd+ | bc
}

# Opens descriptor `nap` on a FIFO in DIR that nobody writes: `read -t` on it waits without a
# process a poll.
e2e_open_nap() {
  mkfifo "$1/nap"
  exec {nap}<>"$1/nap"
}

# Reads the guest console on fd CON until a line starting with PREFIX, for up to SECONDS;
# sets CONSOLE_LINE. Lines end in \r\n (the serial tty's), and may come in pieces.
await_line() {
  local con=$1 prefix=$2 ticks=$(($3 * 50)) line part=""
  while ((ticks > 0)); do
    if IFS= read -r -u "$con" line; then
      line=$part$line
      part=""
      line=${line%$'\r'}
      if [[ $line == "$prefix"* ]]; then
        # shellcheck disable=SC2034  # the caller reads it
        CONSOLE_LINE=$line
        return 0
      fi
    else
      part+=$line
      read -r -t 0.02 -u "$nap" _ || true
      ticks=$((ticks - 1))
    fi
  done
  return 1
}
