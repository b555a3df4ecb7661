#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what the real-kernel test tier needs on Debian 12 (kernel image, headers and
# source; QEMU; busybox; the guest's dbus-daemon and udevd) with apt-get, only if missing.
# Run as root. Exits 0 when everything is present afterwards.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Packages whose files the host scripts or the guest use. The kernel source package is
# added below once the kernel series is known.
PKGS=(
        linux-image-amd64 linux-headers-amd64  # kernel to boot, headers to build the samples
        qemu-system-x86                        # the VM
        busybox-static cpio gzip               # the initramfs
        kmod                                   # modinfo (module dependencies)
        xz-utils binutils                      # unpack the source tarball, extract-vmlinux/readelf
        make gcc                               # out-of-tree module build
        dbus-daemon dbus-bin dbus-system-bus-common  # guest system bus, dbus-send
        udev                                   # guest systemd-udevd + udevadm
        systemd                                # guest busctl (D-Bus error names)
        e2fsprogs                              # mkfs.ext4/debugfs: the second boot's disk
        pci.ids                                # libpci names
        mdevctl                                # the oracle the guest compares vgpuctl with
)

missing() {
        local p st
        for p in "$@"; do
                st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
                [ "$st" = installed ] || printf '%s\n' "$p"
        done
}

apt_install() {
        [ "$(id -u)" = 0 ] || die "missing packages ($*) and not root: install them or run as root"
        if [ -z "${updated:-}" ]; then
                say "apt-get update"
                apt-get update -q >&2 || die "apt-get update failed"
                updated=1
        fi
        say "apt-get install $*"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2 ||
                die "apt-get install $* failed"
}

mapfile -t need < <(missing "${PKGS[@]}")
[ ${#need[@]} = 0 ] || apt_install "${need[@]}"

# The source tarball and the headers must belong to the release linux-image-amd64 points at.
kver=$(vm_kver)
extra=("linux-source-$(vm_kseries "$kver")" "linux-headers-$kver")
# the image may be the signed or the unsigned flavour; either provides /boot/vmlinuz-$kver
[ -f "/boot/vmlinuz-$kver" ] || extra+=("linux-image-$kver")
mapfile -t need < <(missing "${extra[@]}")
[ ${#need[@]} = 0 ] || apt_install "${need[@]}"

say "dependencies present (kernel $kver)"
