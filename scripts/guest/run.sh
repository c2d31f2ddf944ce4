#!/usr/bin/env bash
# Boots one test guest in the background under TCG and prints its QEMU pid.
#   scripts/guest/run.sh --netdev 'vde,sock=DIR' --ip 10.0.0.1/24 --peer 10.0.0.2 \
#       --role server|client --log FILE [--nic virtio|e1000] [--mac MAC] [--bytes N] [--mtu N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
nic=virtio mac=52:54:00:12:34:56 bytes=4194304 mtu="" netdev="" ip="" peer="" role="" log=""
while (($#)); do
  case $1 in
    --netdev) netdev=$2 ;; --ip) ip=$2 ;; --peer) peer=$2 ;; --role) role=$2 ;;
    --log) log=$2 ;; --nic) nic=$2 ;; --mac) mac=$2 ;; --bytes) bytes=$2 ;; --mtu) mtu=$2 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
[[ -n $netdev && -n $ip && -n $peer && -n $role && -n $log ]] || { echo "run.sh: --netdev --ip --peer --role --log are needed" >&2; exit 2; }
guest=$("$here/build.sh")
device=virtio-net-pci
[[ $nic == e1000 ]] && device=e1000
append="console=ttyS0 quiet panic=-1 vsw.ip=$ip vsw.peer=$peer vsw.role=$role vsw.bytes=$bytes"
[[ -n $mtu ]] && append+=" vsw.mtu=$mtu"
qemu-system-x86_64 -accel tcg -nodefaults -display none -no-reboot -m 128 \
  -serial "file:$log" -kernel "$guest/vmlinux" -initrd "$guest/initrd.gz" -append "$append" \
  -netdev "$netdev,id=n0" -device "$device,netdev=n0,mac=$mac" </dev/null >/dev/null 2>&1 &
echo $!
