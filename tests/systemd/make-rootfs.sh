#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the systemd tier's Debian 12 root file system with mmdebstrap from Debian's packages, as a
# tarball cached under $VGPUD_SYSTEMD_CACHE (default /var/tmp/vgpud-systemd), keyed on the package
# list and this script: the second run with the same list is a cache hit.
#
#   make-rootfs.sh PACKAGE...     prints the tarball's path on stdout
#
# The caller passes the .deb's dependencies; this script adds systemd as init, udev, dbus, polkitd,
# man-db and bash-completion, an unprivileged user "alice", and masks what the checks do not need
# (gettys, timers), so that booting under TCG stays short.
set -euo pipefail
. "$(dirname "$0")/../vm/lib.sh"

cache=${VGPUD_SYSTEMD_CACHE:-/var/tmp/vgpud-systemd}
suite=bookworm
base=(systemd systemd-sysv udev dbus polkitd kmod man-db bash-completion)
mapfile -t pkgs < <(printf '%s\n' "${base[@]}" "$@" | LC_ALL=C sort -u)
key=$( (printf '%s\n' "$suite" "${pkgs[@]}"; cat "$0") | sha256sum | cut -c1-16)
tar=$cache/rootfs-$key.tar
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -s "$tar" ]; then
        say "root file system cached: $tar"
        printf '%s\n' "$tar"
        exit 0
fi
command -v mmdebstrap >/dev/null || die "mmdebstrap not found (package mmdebstrap)"
say "mmdebstrap $suite: ${pkgs[*]}"
# units the checks do not need; masked so that they cost no boot time (a missing one is harmless)
mask=(getty.target serial-getty@ttyS0.service getty@tty1.service console-getty.service
        apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer
        man-db.timer logrotate.timer systemd-tmpfiles-clean.timer
        sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount dev-hugepages.mount
        dev-mqueue.mount sys-fs-fuse-connections.mount systemd-pstore.service
        systemd-timesyncd.service systemd-networkd.service systemd-resolved.service)
mask_cmds=""
for u in "${mask[@]}"; do mask_cmds+="ln -sf /dev/null \"\$1/etc/systemd/system/$u\"; "; done
rm -rf "$cache"/rootfs-*.tmp.tar
mmdebstrap --variant=minbase --include="$(IFS=,; echo "${pkgs[*]}")" \
        --customize-hook='chroot "$1" useradd -m -s /bin/bash alice' \
        --customize-hook='echo vgpud-systemd >"$1/etc/hostname"' \
        --customize-hook='printf "/dev/vda / ext4 rw,noatime 0 1\n" >"$1/etc/fstab"' \
        --customize-hook='echo "man-db man-db/auto-update boolean false" | chroot "$1" debconf-set-selections' \
        --customize-hook="$mask_cmds" \
        --customize-hook='rm -rf "$1"/var/cache/apt/*.bin "$1"/var/lib/apt/lists/*' \
        "$suite" "${tar%.tar}.tmp.tar" \
        "deb http://deb.debian.org/debian $suite main" \
        "deb http://deb.debian.org/debian $suite-updates main" \
        "deb http://deb.debian.org/debian-security $suite-security main" >&2 ||
        die "mmdebstrap failed"
mv "${tar%.tar}.tmp.tar" "$tar"
# keep only this list's tarball
find "$cache" -maxdepth 1 -name 'rootfs-*.tar' ! -name "rootfs-$key.tar" -delete
say "root file system: $tar ($(du -h "$tar" | cut -f1))"
printf '%s\n' "$tar"
