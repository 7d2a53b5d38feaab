# SPDX-License-Identifier: GPL-2.0-or-later
# Shared settings of `make check-xen` (tests/xen/): where the cached dom0
# image lives, what goes into it and how its cache key is made.  Sourced by
# build-image.sh and check-xen.sh (bash); never run on its own.
#
# The image is a Debian 12 dom0 (Xen 4.17 hypervisor, Debian kernel, the xl
# toolstack, Debian's qemu-system-xen as the reference device model, the
# runtime libraries of xendm).  It is built once per cache key into
#   $XEN_CHECK_CACHE/<key>/{dom0.ext4,xen,vmlinuz,initrd.img,manifest.txt}
# XEN_CHECK_CACHE defaults to ${XDG_CACHE_HOME:-/var/cache}/xendm-xen-tcg,
# outside the source tree.  The key hashes the package list, the candidate
# versions apt offers for Xen, the kernel and qemu-system-xen, and the
# files that shape the image (this file, build-image.sh, dom0/*), so any of
# those changing builds a new image and everything else reuses the old one.

XEN_CHECK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
XEN_CHECK_CACHE=${XEN_CHECK_CACHE:-${XDG_CACHE_HOME:-/var/cache}/xendm-xen-tcg}
XEN_CHECK_SUITE=bookworm

# Packages of the dom0 image (apt names, --no-install-recommends).
XEN_CHECK_BASE_PKGS="
  linux-image-amd64 xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common
  xenstore-utils qemu-system-xen seabios
  socat procps iproute2 kmod udev
  libglib2.0-0 libjson-glib-1.0-0 libpixman-1-0 libxkbcommon0 xkb-data
  libseccomp2 libcap-ng0 libvncserver1 libspice-server1
  libusbredirparser1 libusbredirhost1 libusb-1.0-0
"

xc_die() {
    echo "error: $*" >&2
    exit 1
}

# The Debian mirror apt on this machine uses for $XEN_CHECK_SUITE (never a
# host name written into the repository).  XEN_CHECK_MIRROR overrides it.
xc_mirror() {
    if [ -n "${XEN_CHECK_MIRROR:-}" ]; then
        echo "${XEN_CHECK_MIRROR%/}"
        return 0
    fi
    local uri
    uri=$(apt-get indextargets --format '$(REPO_URI) $(CODENAME) $(TARGET_OF)' 2>/dev/null |
        awk -v s="$XEN_CHECK_SUITE" '$2 == s && $3 == "deb" {print $1; exit}')
    [ -n "$uri" ] || return 1
    echo "${uri%/}"
}

# Debian packages that hold the shared libraries of binary $1 (from ldd and
# dpkg -S on this host, which runs the same release as dom0).
xc_runtime_pkgs() {
    local paths
    paths=$(ldd "$1" 2>/dev/null |
        awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' |
        while read -r lib; do
            real=$(readlink -f "$lib")
            printf '%s\n' "$lib" "$real" "/usr$lib" "${real#/usr}"
        done | sort -u)
    [ -n "$paths" ] || return 0
    # shellcheck disable=SC2086
    { dpkg -S $paths 2>/dev/null || true; } | sed -n 's/^\([^ ]*\): \/.*/\1/p' |
        sed 's/:amd64$//' | sort -u
}

# The full package list for binary $1 (the device model under test), one
# name a line, sorted.
xc_packages() {
    {
        printf '%s\n' $XEN_CHECK_BASE_PKGS
        if [ -n "${1:-}" ]; then xc_runtime_pkgs "$1"; fi
    } | sed '/^$/d' | sort -u
}

# The cache key for package list $1 (newline separated).
xc_cache_key() {
    local versions
    versions=$(for p in xen-hypervisor-4.17-amd64 xen-utils-4.17 linux-image-amd64 qemu-system-xen seabios; do
        printf '%s %s\n' "$p" "$(apt-cache policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: //p')"
    done)
    {
        echo "suite $XEN_CHECK_SUITE"
        echo "$1"
        echo "$versions"
        cat "$XEN_CHECK_DIR/common.sh" "$XEN_CHECK_DIR/build-image.sh" "$XEN_CHECK_DIR"/dom0/*
    } | sha256sum | cut -c1-16
}
