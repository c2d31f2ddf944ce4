#!/usr/bin/env bash
# Builds the tiny test guest from Debian packages, once: the Debian kernel (downloaded and
# unpacked, not installed; also uncompressed for a faster PVH boot under TCG) and a busybox
# initramfs with the virtio-net and e1000 drivers. Prints the cache directory.
#   VSWITCHD_GUEST_DIR=DIR scripts/guest/build.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${VSWITCHD_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vswitchd/guest}
if [[ -s $out/vmlinux && -s $out/initrd.gz && $out/initrd.gz -nt $here/init &&
      $out/initrd.gz -nt $here/dhcp-script ]]; then
  echo "$out"
  exit 0
fi
"$here/../deps.sh" vm
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The kernel the metapackage points at today.
pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
[[ -n $pkg ]] || { apt-get update -qq && pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}'); }
(cd "$work" && apt-get download "$pkg" >/dev/null 2>&1)
dpkg-deb -x "$work"/"$pkg"_*.deb "$work/root"
version=${pkg#linux-image-}
depmod -b "$work/root" "$version"
cp "$work/root/boot/vmlinuz-$version" "$out/vmlinuz"

# XZ decompression under TCG is most of a boot: unpack the ELF once, boot it through PVH.
offset=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$out/vmlinuz" | head -n 1 | cut -d: -f1 || true)
tail -c +$((offset + 1)) "$out/vmlinuz" | xz -dc 2>/dev/null >"$work/vmlinux" || true
if [[ $(head -c 4 "$work/vmlinux" | od -An -c | tr -d ' ') == 177ELF ]]; then
  cp "$work/vmlinux" "$out/vmlinux"
else
  cp "$out/vmlinuz" "$out/vmlinux"  # boot the compressed one then
fi

# Busybox, the NIC drivers and /init.
rd="$work/initrd"
mkdir -p "$rd"/{bin,dev,etc,proc,sys,tmp,lib/modules}
cp /bin/busybox "$rd/bin/busybox"
mods="$work/root/lib/modules/$version/kernel"
for m in drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci_modern_dev \
         drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci \
         net/core/failover drivers/net/net_failover drivers/net/virtio_net \
         drivers/net/ethernet/intel/e1000/e1000; do
  f="$mods/$m.ko"
  [[ -f $f ]] || f="$mods/$m.ko.xz"
  if [[ $f == *.xz ]]; then xz -dc "$f" >"$rd/lib/modules/$(basename "$m").ko"; else cp "$f" "$rd/lib/modules/"; fi
done
install -m 0755 "$here/init" "$rd/init"
install -m 0755 "$here/dhcp-script" "$rd/bin/vsw-dhcp"
# Device numbers kept: /dev/console must be the real one.
mknod -m 600 "$rd/dev/console" c 5 1
(cd "$rd" && find . | cpio -o -H newc 2>/dev/null | gzip -9) >"$out/initrd.gz"
echo "$out"
