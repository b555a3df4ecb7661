#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install what vgpud needs on Debian 12, as root. Usage: setup-deps.sh build|demo|deb|test
# Installs nothing (and asks no mirror) when everything is there already.
set -euo pipefail

build=(meson ninja-build pkg-config gcc libsystemd-dev libudev-dev libpci-dev pci.ids libglib2.0-dev
       libjson-glib-dev libyaml-dev)
# the Debian packages (scripts/build-deb.sh)
deb=("${build[@]}" dpkg-dev debhelper lintian python3 scdoc xsltproc)
demo=("${build[@]}" dbus umockdev libumockdev0 gir1.2-umockdev-1.0 python3-gi python3-dbus python3-dbusmock)
test=("${demo[@]}" "${deb[@]:${#build[@]}}" mdevctl util-linux systemd udev make binutils e2fsprogs strace
      qemu-system-x86 linux-image-amd64 linux-headers-amd64 linux-source-6.1 busybox-static cpio kmod
      xz-utils clang-format mmdebstrap python3-prometheus-client
      clang libclang-rt-14-dev)  # the fuzz and sanitize tiers (libFuzzer, ASan, UBSan)

case "${1:-test}" in
build) pkgs=("${build[@]}") ;;
demo) pkgs=("${demo[@]}") ;;
deb) pkgs=("${deb[@]}") ;;
test) pkgs=("${test[@]}") ;;
*) echo "usage: $0 build|demo|deb|test" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
        echo "setup-deps: missing packages: ${missing[*]}; run this as root (or sudo) to install them" >&2
        exit 1
fi
echo "setup-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
