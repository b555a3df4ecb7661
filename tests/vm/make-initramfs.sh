#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the test VM's initramfs: static busybox, the vfio/mdev modules plus the sample mdev
# drivers built by build-modules.sh, dbus-daemon, systemd-udevd, the guest test scripts and
# whatever the caller adds, each program with the shared libraries ldd finds.
#
#   make-initramfs.sh [options] OUT.cpio
#     --binary SRC[:DEST]   an executable and its libraries (DEST default /usr/bin/<name>)
#     --file SRC:DEST       a file or directory (copied recursively) at DEST in the guest
#     --bus-policy FILE     D-Bus policy installed to /etc/dbus-1/system.d/ (repeatable)
#     --module NAME         another host kernel module (with its dependencies) for /init to load
# The archive is an uncompressed newc cpio (faster to unpack than gzip under TCG).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
        sed -n '2,/^set -e/{s/^# \{0,1\}//;/^set -e/d;p}' "$0" >&2
        exit 2
}

binaries=()
files=()
policies=()
modules=()
out=
while [ $# -gt 0 ]; do
        case $1 in
        --binary) binaries+=("$2"); shift 2 ;;
        --file) files+=("$2"); shift 2 ;;
        --bus-policy) policies+=("$2"); shift 2 ;;
        --module) modules+=("$2"); shift 2 ;;
        -h | --help) usage ;;
        -*) die "unknown option $1" ;;
        *) [ -z "$out" ] || usage; out=$1; shift ;;
        esac
done
[ -n "$out" ] || usage

vm_find_kernel
[ -f "$WORK/modules/mtty.ko" ] || die "no sample modules in $WORK/modules (run build-modules.sh)"

stage=$(mktemp -d "${TMPDIR:-/tmp}/vgpud-vm-stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage" # the guest's /: mktemp made it 0700

# merged-/usr layout, like Debian 12
mkdir -p "$stage"/{dev,proc,sys,run,tmp,root,etc,var/lib,usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64}
ln -s usr/bin "$stage/bin"
ln -s usr/sbin "$stage/sbin"
ln -s usr/lib "$stage/lib"
ln -s usr/lib64 "$stage/lib64"
chmod 1777 "$stage/tmp"

# --- busybox and its applets (real programs copied later replace the links) ---
bb=$(command -v busybox) || die "busybox not found (package busybox-static)"
file -L "$bb" 2>/dev/null | grep -q 'statically linked' || [ ! -x /usr/bin/file ] ||
        die "$bb is not statically linked (package busybox-static)"
cp "$bb" "$stage/usr/bin/busybox"
for a in $("$bb" --list); do
        [ "$a" = busybox ] || ln -sf busybox "$stage/usr/bin/$a"
done

# --- programs with their shared libraries ---
add_libs() { # $1 = ELF file
        local lib real
        ldd "$1" >/dev/null 2>&1 || return 0 # static or not ELF
        if ldd "$1" | grep -q 'not found'; then
                ldd "$1" >&2
                die "$1: a shared library is missing"
        fi
        for lib in $(ldd "$1" | grep -o '/[^ ]*'); do
                real=$(readlink -f "$lib")
                case $lib in
                */ld-linux-x86-64.so.2) cp -n "$real" "$stage/usr/lib64/ld-linux-x86-64.so.2" ;;
                *) cp -n "$real" "$stage/usr/lib/x86_64-linux-gnu/$(basename "$lib")" ;;
                esac
        done
}
add_binary() { # SRC[:DEST]
        local src=${1%%:*} dest=${1#*:}
        [ "$dest" != "$1" ] || dest=/usr/bin/$(basename "$src")
        [ -x "$src" ] || die "$src: not an executable"
        mkdir -p "$stage$(dirname "$dest")"
        rm -f "$stage$dest"
        cp "$src" "$stage$dest"
        add_libs "$src"
}
add_file() { # SRC:DEST
        local src=${1%%:*} dest=${1#*:}
        [ "$dest" != "$1" ] || die "--file $1: want SRC:DEST"
        [ -e "$src" ] || die "$src: no such file"
        mkdir -p "$stage$(dirname "$dest")"
        cp -a "$src" "$stage$dest"
}

# busctl reads the D-Bus error names of vgpud's replies for the lifecycle checks
for b in /usr/bin/dbus-daemon /usr/bin/dbus-send /usr/bin/busctl /usr/bin/udevadm /lib/systemd/systemd-udevd; do
        add_binary "$b:${b/#\/lib\//\/usr\/lib\/}"
done
# mdevctl, when installed, is the oracle the guest compares vgpuctl's output with
if [ -x /usr/bin/mdevctl ]; then
        add_binary /usr/bin/mdevctl:/usr/bin/mdevctl
        mkdir -p "$stage/etc/mdevctl.d/scripts.d/callouts" "$stage/etc/mdevctl.d/scripts.d/notifiers"
fi
for b in ${binaries[@]+"${binaries[@]}"}; do add_binary "$b"; done
for f in ${files[@]+"${files[@]}"}; do add_file "$f"; done

# --- kernel modules in dependency order (busybox insmod wants plain ELF .ko) ---
moddir=$stage/usr/lib/modules/vgpud-test
vm_copy_modules "$moddir" vfio vfio_iommu_type1 mdev "$WORK"/modules/*.ko ${modules[@]+"${modules[@]}"}

# --- configuration ---
cat >"$stage/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
messagebus:x:100:101::/nonexistent:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/sh
EOF
cat >"$stage/etc/group" <<'EOF'
root:x:0:
messagebus:x:101:
nogroup:x:65534:
EOF
echo vgpud-vm >"$stage/etc/hostname"
mkdir -p "$stage/usr/share/dbus-1" "$stage/etc/dbus-1/system.d" "$stage/etc/udev/rules.d"
cp "$VM_DIR/system-bus.conf" "$stage/usr/share/dbus-1/system.conf"
for p in ${policies[@]+"${policies[@]}"}; do cp "$p" "$stage/etc/dbus-1/system.d/"; done
if [ -f /usr/share/misc/pci.ids ]; then
        mkdir -p "$stage/usr/share/misc"
        cp /usr/share/misc/pci.ids "$stage/usr/share/misc/pci.ids"
fi

# --- the guest side: /init and the test scripts ---
cp "$VM_DIR/guest-init.sh" "$stage/init"
mkdir -p "$stage/tests/groups.d"
cp "$VM_DIR/guest-lib.sh" "$VM_DIR/guest-test.sh" "$VM_DIR/guest-lifecycle.sh" "$stage/tests/"
chmod 0755 "$stage/init" "$stage/tests/guest-test.sh"

mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner=0:0 --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
say "initramfs $out ($(du -h "$out" | cut -f1), modules: $(tr '\n' ' ' <"$moddir/load.order"))"
