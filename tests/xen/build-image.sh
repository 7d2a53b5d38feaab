#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build (or reuse) the cached Debian 12 dom0 image of `make check-xen`.
#
#   build-image.sh DM_BINARY
#
# DM_BINARY is the xendm that will run in dom0: its runtime libraries are
# added to the package list (common.sh), so the image can run it.  The image
# goes to $XEN_CHECK_CACHE/<key>/ (see common.sh); when that directory is
# complete already nothing is done.  Otherwise: debootstrap from the mirror
# apt on this machine is configured with, the packages installed in a
# chroot, dom0 configured (console, fstab, network by DHCP on the QEMU NIC,
# the xendm-check unit that starts the per-run payload, fewer timers), Xen,
# kernel and initrd copied out, and the tree packed into an ext4 image with
# mkfs.ext4 -d (no loop mount).  Other cache entries are removed after a
# successful build.  Needs root (debootstrap, chroot).
#
# Last line of output on success: "image: DIR (reused|built in Ns)".
# On failure the reason is the last line, e.g. that the package mirror
# could not be reached, and the exit status is 1.
set -euo pipefail
. "$(dirname "$0")/common.sh"

dm=${1:-}
[ -n "$dm" ] && [ -x "$dm" ] || xc_die "usage: build-image.sh DM_BINARY (got '${dm}')"
[ "$(id -u)" = 0 ] || xc_die "building the dom0 image needs root (debootstrap, chroot)"
for t in debootstrap:debootstrap mkfs.ext4:e2fsprogs chroot:coreutils flock:util-linux; do
    command -v "${t%%:*}" >/dev/null || xc_die "${t%%:*} is missing: install the Debian package ${t#*:}"
done

pkgs=$(xc_packages "$dm")
key=$(xc_cache_key "$pkgs")
dir=$XEN_CHECK_CACHE/$key
if [ -e "$dir/.complete" ]; then
    echo "image: $dir (reused)"
    exit 0
fi

mkdir -p "$XEN_CHECK_CACHE"
exec 9>"$XEN_CHECK_CACHE/.lock"
flock 9
if [ -e "$dir/.complete" ]; then # built by a concurrent run while we waited
    echo "image: $dir (reused)"
    exit 0
fi

t0=$(date +%s)
tmp=$dir.tmp
R=$tmp/rootfs
umount_chroot() {
    for m in dev/pts proc sys; do
        if mountpoint -q "$R/$m" 2>/dev/null; then umount -l "$R/$m" || true; fi
    done
}
# on the way out: nothing mounted in the tree, and no half-built tree left
# behind (unless something is still mounted in it)
on_exit() {
    umount_chroot
    if [ -d "$tmp" ] && ! grep -q " $R/" /proc/mounts; then rm -rf "$tmp"; fi
}
trap on_exit EXIT
umount_chroot # left mounted by a run that was killed
rm -rf "$tmp"
mkdir -p "$tmp"

mirror=$(xc_mirror) || xc_die "no 'deb' source for $XEN_CHECK_SUITE in this machine's apt configuration: cannot pick a package mirror"
if [ -n "${XEN_CHECK_MIRROR:-}" ]; then
    echo "mirror: $mirror (XEN_CHECK_MIRROR)"
else
    echo "mirror: $mirror (from apt's configuration)"
fi
echo "packages: $(echo $pkgs)"

if ! debootstrap --arch=amd64 --variant=minbase --include=systemd-sysv \
    "$XEN_CHECK_SUITE" "$R" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
    tail -n 15 "$tmp/debootstrap.log"
    if grep -qiE 'failed getting release|couldn.t download|could not resolve|connection refused|temporary failure|unable to connect|no route' "$tmp/debootstrap.log"; then
        xc_die "cannot reach the package mirror $mirror: debootstrap failed (log above)"
    fi
    xc_die "debootstrap of $XEN_CHECK_SUITE from $mirror failed (log above)"
fi
echo "debootstrap: $(($(date +%s) - t0))s"

t1=$(date +%s)
# no daemons inside the chroot; faster dpkg (the image is rebuilt if a crash
# leaves it inconsistent, so fsync buys nothing here)
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod +x "$R/usr/sbin/policy-rc.d"
echo force-unsafe-io >"$R/etc/dpkg/dpkg.cfg.d/xendm-check-unsafe-io"
mount -t proc proc "$R/proc"
mount -t sysfs sys "$R/sys"
mkdir -p "$R/dev/pts"
mount -t devpts devpts "$R/dev/pts"
# a small initramfs: only what finds the root file system on virtio-blk
mkdir -p "$R/etc/initramfs-tools/conf.d"
echo 'MODULES=list' >"$R/etc/initramfs-tools/conf.d/xendm-check"
printf '%s\n' virtio_pci virtio_blk ext4 crc32c_generic >>"$R/etc/initramfs-tools/modules"
in_chroot() { chroot "$R" /usr/bin/env DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
if ! in_chroot apt-get -q -o Dpkg::Use-Pty=0 -o Acquire::Languages=none update >"$tmp/apt.log" 2>&1; then
    tail -n 15 "$tmp/apt.log"
    xc_die "cannot reach the package mirror $mirror: apt-get update in the dom0 tree failed (log above)"
fi
# shellcheck disable=SC2086
if ! in_chroot apt-get -y -q -o Dpkg::Use-Pty=0 install --no-install-recommends $pkgs >>"$tmp/apt.log" 2>&1; then
    tail -n 25 "$tmp/apt.log"
    if grep -qiE 'failed to fetch|could not resolve|temporary failure|unable to connect' "$tmp/apt.log"; then
        xc_die "cannot reach the package mirror $mirror: package download failed (log above)"
    fi
    xc_die "installing the dom0 packages failed (log above)"
fi
in_chroot apt-get clean
rm -f "$R/usr/sbin/policy-rc.d" "$R/etc/dpkg/dpkg.cfg.d/xendm-check-unsafe-io"
in_chroot dpkg-query -W -f '${Package} ${Version}\n' >"$tmp/manifest.txt"
umount_chroot
echo "packages: $(($(date +%s) - t1))s"

# dom0 configuration
echo xendom0 >"$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 xendom0\n' >"$R/etc/hosts"
echo 'LABEL=xendom0 / ext4 rw,errors=remount-ro 0 1' >"$R/etc/fstab"
chroot "$R" passwd -d root >/dev/null
# root shell on the Xen console, for looking around by hand (see docs)
d="$R/etc/systemd/system/serial-getty@hvc0.service.d"
mkdir -p "$d"
printf '[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200,38400,9600 %%I $TERM\n' >"$d/autologin.conf"
# less competition for the emulated CPUs
for u in apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer \
    e2scrub_reap.service fstrim.timer dpkg-db-backup.timer systemd-timesyncd.service \
    xendomains.service getty@tty1.service; do
    ln -sf /dev/null "$R/etc/systemd/system/$u"
done
ln -sf /lib/systemd/system/multi-user.target "$R/etc/systemd/system/default.target"
mkdir -p "$R/etc/systemd/logind.conf.d"
printf '[Login]\nNAutoVTs=0\nReserveVT=0\n' >"$R/etc/systemd/logind.conf.d/xendm-check.conf"
# DHCP on QEMU's user-mode NIC (host port forwarding reaches dom0 through it)
mkdir -p "$R/etc/systemd/network"
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n' >"$R/etc/systemd/network/50-dhcp.network"
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
ln -sf /lib/systemd/system/systemd-networkd.service \
    "$R/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
# the hook that runs each run's payload
install -m 0755 "$XEN_CHECK_DIR/dom0/xendm-check-boot" "$R/usr/local/sbin/xendm-check-boot"
install -m 0644 "$XEN_CHECK_DIR/dom0/xendm-check.service" "$R/etc/systemd/system/"
ln -sf ../xendm-check.service "$R/etc/systemd/system/multi-user.target.wants/xendm-check.service"
# dm_restrict = 1 needs a user for the device model
chroot "$R" getent passwd xen-qemuuser-shared >/dev/null ||
    chroot "$R" useradd --system --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin xen-qemuuser-shared

# boot files: Xen for QEMU's multiboot loader (uncompressed), kernel, initrd
xen_gz=$(ls "$R"/boot/xen-4.17*-amd64.gz 2>/dev/null | head -n 1)
[ -n "$xen_gz" ] || xc_die "no /boot/xen-4.17*-amd64.gz in the dom0 tree"
gunzip -c "$xen_gz" >"$tmp/xen"
cp "$(ls "$R"/boot/vmlinuz-* | sort -V | tail -n 1)" "$tmp/vmlinuz"
cp "$(ls "$R"/boot/initrd.img-* | sort -V | tail -n 1)" "$tmp/initrd.img"

t2=$(date +%s)
mkfs.ext4 -q -F -L xendom0 -d "$R" "$tmp/dom0.ext4" 3G
rm -rf "$R"
echo "ext4 image: $(($(date +%s) - t2))s, $(du -h "$tmp/dom0.ext4" | cut -f1) used"
printf '%s\n' "$pkgs" >"$tmp/packages.txt"
touch "$tmp/.complete"
mv "$tmp" "$dir"
# keep one image: drop the others (not the lock, not a concurrent .tmp)
for old in "$XEN_CHECK_CACHE"/*; do
    [ "$old" = "$dir" ] && continue
    case "$old" in *.tmp) continue ;; esac
    [ -e "$old/.complete" ] && rm -rf "$old"
done
echo "image: $dir (built in $(($(date +%s) - t0))s)"
