#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Entry point of the real-kernel test tier: install dependencies, build the sample mdev drivers
# (cached), build an initramfs with the project's vgpud and vgpuctl, boot it in QEMU and judge
# the guest's verdict.
#
#   run.sh [options] [BUILDDIR]        BUILDDIR defaults to "build" (in the current directory or
#                                      the source root)
#     --plumbing          only prove the VM itself (modules, sysfs mdev create/remove, udevd,
#                         dbus-daemon); needs no vgpud
#     --groups a,b,...    run exactly these guest check groups (see guest-test.sh)
#     --vgpud-args A,B    start vgpud with these arguments (e.g. --udev-source=kernel,-v)
#     --file SRC:DEST     put another file into the guest (e.g. tests/vm/groups.d/x.sh at
#                         /tests/groups.d/x.sh to add check groups)
#     --module NAME       load another host kernel module in the guest (e.g. virtio_blk, ext4)
#     --qemu-arg ARG      pass ARG to QEMU (repeatable; e.g. a -drive for a second boot)
#     --keep              keep the run directory (initramfs, serial log) under the work dir
# Environment: VGPUD_VM_TIMEOUT (seconds per boot, default 300), VGPUD_VM_ACCEL (tcg; kvm only
# where /dev/kvm runs a stock kernel), VGPUD_VM_WORKDIR (cache dir), KVER (kernel release).
# The guest console is copied to $WORK/last-serial.log. Prints the guest console, then "N passed, M failed" alone on a line. Exit status 0 only if the
# guest printed a PASS verdict with no FAIL line and the VM finished in time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# a run that stops before the guest's verdict still ends with a summary line; the run directory
# goes unless --keep
summary_done=0
keep=0
run=
on_exit() {
        [ "$summary_done" = 1 ] || echo "0 passed, 1 failed"
        [ "$keep" = 1 ] || [ -z "$run" ] || rm -rf "$run"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

mode=full
groups=
vgpud_args=
initrd_extra=()
qemu_extra=()
builddir=
while [ $# -gt 0 ]; do
        case $1 in
        --plumbing) mode=plumbing; shift ;;
        --groups) groups=$2; shift 2 ;;
        --vgpud-args) vgpud_args=$2; shift 2 ;;
        --file) initrd_extra+=(--file "$2"); shift 2 ;;
        --qemu-arg) qemu_extra+=("$2"); shift 2 ;;
        --module) initrd_extra+=(--module "$2"); shift 2 ;;
        --keep) keep=1; shift ;;
        -h | --help) sed -n '2,/^set -e/{s/^# \{0,1\}//;/^set -e/d;p}' "$0"; exit 0 ;;
        -*) die "unknown option $1" ;;
        *) [ -z "$builddir" ] || die "more than one build directory given"; builddir=$1; shift ;;
        esac
done
builddir=${builddir:-build}
# relative to the current directory if it is there, else to the source root
if [ -d "$builddir" ]; then
        builddir=$(cd "$builddir" && pwd)
elif [[ $builddir != /* ]]; then
        builddir=$SRC_ROOT/$builddir
fi
timeout_s=${VGPUD_VM_TIMEOUT:-300}
accel=${VGPUD_VM_ACCEL:-tcg}

t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

"$VM_DIR/setup-deps.sh"
"$VM_DIR/build-modules.sh" >/dev/null
vm_find_kernel

initrd_args=()
if [ "$mode" = full ]; then
        vgpud=$builddir/daemon/vgpud
        vgpuctl=$builddir/client/vgpuctl
        [ -x "$vgpud" ] || die "$vgpud not built (meson setup $builddir && ninja -C $builddir)"
        [ -x "$vgpuctl" ] || die "$vgpuctl not built (meson setup $builddir && ninja -C $builddir)"
        initrd_args+=(--binary "$vgpud:/usr/libexec/vgpud" --binary "$vgpuctl:/usr/bin/vgpuctl")
fi
# the project's bus policy is what a real install uses; the test copy only stands in for it
policy=$SRC_ROOT/dbus/org.vgpud1.conf
[ -f "$policy" ] || policy=$VM_DIR/org.vgpud1-test.conf
initrd_args+=(--bus-policy "$policy")
say "bus policy: $policy"

run=$(mktemp -d "$WORK/run.XXXXXX")
initrd=$run/initramfs.cpio
log=$run/serial.log
"$VM_DIR/make-initramfs.sh" "${initrd_args[@]}" ${initrd_extra[@]+"${initrd_extra[@]}"} "$initrd"

kernel=$VMLINUZ
[ -f "$WORK/vmlinux" ] && kernel=$WORK/vmlinux
append="console=ttyS0 loglevel=1 panic=-1 vgputest.mode=$mode"
[ -z "$groups" ] || append+=" vgputest.groups=$groups"
[ -z "$vgpud_args" ] || append+=" vgputest.vgpud_args=$vgpud_args"
qemu=(qemu-system-x86_64 -m 1024 -display none -monitor none -serial stdio -no-reboot -net none
        -kernel "$kernel" -initrd "$initrd" -append "$append")
if [ "$accel" = kvm ]; then
        qemu+=(-accel kvm -cpu host -smp 2)
else
        qemu+=(-accel tcg -smp 1)
fi
qemu+=(${qemu_extra[@]+"${qemu_extra[@]}"})

say "booting $KVER ($accel, $mode, timeout ${timeout_s}s): ${qemu[*]}"
boot0=$(date +%s.%N)
set +e
timeout --kill-after=5 "$timeout_s" "${qemu[@]}" </dev/null 2>&1 | tr -d '\r' | tee "$log"
qrc=${PIPESTATUS[0]}
set -e
boot=$(awk -v a="$boot0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
cp "$log" "$WORK/last-serial.log"
if [ "$keep" = 1 ]; then
        say "kept $run"
else
        log=$WORK/last-serial.log
fi

passed=$(grep -c '^ok: ' "$log" || true)
failed=$(grep -c '^FAIL: ' "$log" || true)
verdict=$(sed -n 's/^VERDICT: \(PASS\|FAIL\)$/\1/p' "$log" | tail -n1)
guest_count=$(sed -n 's/^vgputest: \([0-9]* passed, [0-9]* failed\)$/\1/p' "$log" | tail -n1)

rc=0
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
        say "FAIL: the VM did not finish within ${timeout_s}s"
        rc=1
elif [ "$qrc" != 0 ]; then
        say "FAIL: qemu exited with status $qrc"
        rc=1
fi
if [ -z "$verdict" ]; then
        say "FAIL: the guest printed no verdict"
        rc=1
elif [ "$verdict" != PASS ]; then
        rc=1
fi
if [ -n "$guest_count" ] && [ "$guest_count" != "$passed passed, $failed failed" ]; then
        say "FAIL: the guest counted '$guest_count' but the console shows $passed ok / $failed FAIL lines"
        rc=1
fi
[ "$failed" = 0 ] && [ "$passed" -gt 0 ] || rc=1

say "boot ${boot}s, total $(elapsed)s, serial log $log"
echo "$passed passed, $failed failed"
summary_done=1
exit $rc
