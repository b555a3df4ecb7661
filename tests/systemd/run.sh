#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The systemd tier: the Debian package under systemd as PID 1, on Debian's kernel with the sample
# mdev drivers, in one QEMU/TCG VM that reboots once.
#
#   run.sh [--keep] [DEBDIR]     DEBDIR holds vgpud_*.deb and vgpud-mdevctl_*.deb (default
#                                build-deb); when it does not, scripts/build-deb.sh builds them there
#
# Steps: tests/vm's dependencies and module build (cached), a Debian 12 root file system from
# mmdebstrap (cached, make-rootfs.sh), then per run: the root file system unpacked with the
# sample drivers, the packages and the checks (guest.sh, started by vgputest.service) added, made
# into an ext4 disk; a small initramfs mounts it and execs systemd. Boot 1 installs the packages
# and checks; it reboots (QEMU runs with -no-reboot and is started again on the same disk); boot 2 checks what survived, removes and purges the packages and powers
# off. Prints the console, then "N passed, M failed" alone on the last line; exits non-zero on
# any FAIL line, a missing verdict or a timeout (VGPUD_SYSTEMD_TIMEOUT seconds per boot, default 600).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../vm/lib.sh"

keep=0
debdir=
while [ $# -gt 0 ]; do
        case $1 in
        --keep) keep=1; shift ;;
        -h | --help) sed -n '2,/^set -e/{s/^# \{0,1\}//;/^set -e/d;p}' "$0"; exit 0 ;;
        -*) die "unknown option $1" ;;
        *) debdir=$1; shift ;;
        esac
done
summary_done=0
run=
on_exit() {
        [ "$summary_done" = 1 ] || echo "0 passed, 1 failed"
        [ "$keep" = 1 ] || [ -z "$run" ] || rm -rf "$run"
}
trap on_exit EXIT
trap 'exit 130' INT TERM
t0=$(date +%s)
lap() { say "$1: $(($(date +%s) - t0))s"; }

"$VM_DIR/setup-deps.sh"
"$VM_DIR/build-modules.sh" >/dev/null
vm_find_kernel
debdir=${debdir:-$SRC_ROOT/build-deb}
if ! ls "$debdir"/vgpud_*.deb "$debdir"/vgpud-mdevctl_*.deb >/dev/null 2>&1; then
        bash "$SRC_ROOT/scripts/build-deb.sh" "$debdir" >/dev/null
fi
debdir=$(cd "$debdir" && pwd)
deb=$(ls "$debdir"/vgpud_*.deb | tail -n1)
compat=$(ls "$debdir"/vgpud-mdevctl_*.deb | tail -n1)
[ -f "$deb" ] && [ -f "$compat" ] || die "no vgpud and vgpud-mdevctl packages in $debdir"
lap "packages"

# The guest needs what the package depends on: of each group of alternatives the first one this
# build host has installed (it built the package against them); a group with none (a virtual
# package such as dbus-system-bus) is left to make-rootfs.sh's own list.
deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/([^)]*)//g; s/:any//g' | while IFS= read -r alt; do
        for p in ${alt//|/ }; do
                if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
                        echo "$p"
                        break
                fi
        done
done)
# shellcheck disable=SC2086 # one package a word
tar=$(bash "$here/make-rootfs.sh" $deps)
lap "root file system"

run=$(mktemp -d /var/tmp/vgpud-systemd-run.XXXXXX)
root=$run/root
mkdir "$root"
tar -xpf "$tar" -C "$root" --numeric-owner
# the sample drivers and what they need, found by modprobe and loaded at boot
vm_copy_modules "$root/lib/modules/$KVER/extra" vfio vfio_iommu_type1 mdev "$WORK"/modules/*.ko
rm -f "$root/lib/modules/$KVER/extra/load.order"
cp /lib/modules/"$KVER"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$KVER/"
depmod -b "$root" "$KVER"
printf '%s\n' mtty mdpy mbochs >"$root/etc/modules-load.d/vgputest.conf"
# the packages and the checks
# node_exporter's textfile directory, as package prometheus-node-exporter makes it
mkdir -p "$root/root/debs" "$root/usr/local/lib/vgputest" "$root/var/lib/vgputest" \
        "$root/var/lib/prometheus/node-exporter"
cp "$deb" "$compat" "$root/root/debs/"
cp "$VM_DIR/guest-lib.sh" "$here/guest.sh" "$here/guest-boot.sh" "$here/complete.sh" "$root/usr/local/lib/vgputest/"
chmod 0755 "$root/usr/local/lib/vgputest/guest.sh"
cp "$here/vgputest.service" "$root/etc/systemd/system/"
ln -s ../vgputest.service "$root/etc/systemd/system/multi-user.target.wants/vgputest.service"
disk=$run/disk.img
mkfs.ext4 -q -F -d "$root" -L vgpud-root "$disk" 2G >/dev/null
rm -rf "$root"

# the initramfs: busybox, the root disk's modules, initrd-init.sh
ird=$run/initrd
mkdir -p "$ird"/{usr/bin,usr/sbin,proc,sys,dev,newroot}
ln -s usr/bin "$ird/bin"
ln -s usr/sbin "$ird/sbin"
cp "$(command -v busybox)" "$ird/usr/bin/busybox"
for a in sh mount umount insmod sleep mkdir switch_root poweroff cat echo; do ln -s busybox "$ird/usr/bin/$a"; done
vm_copy_modules "$ird/modules" virtio_pci virtio_blk ext4
cp "$here/initrd-init.sh" "$ird/init"
chmod 0755 "$ird/init"
(cd "$ird" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner=0:0 --quiet) >"$run/initrd.cpio"
lap "disk and initramfs"

kernel=$VMLINUZ
[ -f "$WORK/vmlinux" ] && kernel=$WORK/vmlinux
timeout_s=${VGPUD_SYSTEMD_TIMEOUT:-600}
log=$run/serial.log
# -no-reboot: the guest's reboot ends QEMU and the host boots the same disk again (a warm reset
# under TCG spends minutes in the kernel before init; a fresh QEMU does not)
qemu=(qemu-system-x86_64 -m 1024 -display none -monitor none -serial stdio -net none -no-reboot
        -accel tcg -smp 1 -kernel "$kernel" -initrd "$run/initrd.cpio"
        -drive "file=$disk,if=virtio,format=raw"
        -append "console=ttyS0 loglevel=1 panic=1 quiet systemd.show_status=false fsck.mode=skip")
qfail=0
for b in 1 2; do
        say "boot $b: $KVER with systemd (tcg, timeout ${timeout_s}s)"
        set +e
        timeout --kill-after=5 "$timeout_s" "${qemu[@]}" </dev/null 2>&1 | sed -u 's/\r$//' | tee -a "$log"
        qrc=${PIPESTATUS[0]}
        set -e
        lap "boot $b"
        if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
                say "FAIL: boot $b did not finish within ${timeout_s}s"
                qfail=$((qfail + 1))
                break
        elif [ "$qrc" != 0 ]; then
                say "FAIL: qemu exited with status $qrc in boot $b"
                qfail=$((qfail + 1))
                break
        fi
        grep -q '^VERDICT: ' "$log" && break
done
mkdir -p "$WORK"
cp "$log" "$WORK/systemd-last-serial.log"

rc=0
p=$(grep -c '^ok: ' "$log" || true)
f=$(($(grep -c '^FAIL: ' "$log" || true) + qfail))
for b in 1 2; do
        grep -q "^vgputest: boot $b done$" "$log" || {
                say "FAIL: boot $b did not finish its checks"
                f=$((f + 1))
        }
done
grep -q '^VERDICT: PASS$' "$log" || { say "FAIL: no PASS verdict"; [ "$f" -gt 0 ] || f=1; }
[ "$f" = 0 ] && [ "$p" -gt 0 ] || rc=1
if [ "$keep" = 1 ]; then say "kept $run"; fi
say "total $(($(date +%s) - t0))s, serial log $WORK/systemd-last-serial.log"
echo "$p passed, $f failed"
summary_done=1
exit $rc
