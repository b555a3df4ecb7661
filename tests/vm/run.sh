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
#     --keep              keep the run directory (initramfs, serial logs, disk) under the work dir
#     --single-boot       skip group second_boot's two boots with a disk (default in full mode
#                         when --groups is absent or names second_boot)
# Environment: VGPUD_VM_TIMEOUT (seconds per boot, default 300), VGPUD_VM_ACCEL (tcg; kvm only
# where /dev/kvm runs a stock kernel), VGPUD_VM_SMP (guest CPUs under TCG, default 1),
# VGPUD_VM_WORKDIR (cache dir), KVER (kernel release).
# The guest console is copied to $WORK/last-serial.log. Prints the guest console, then "N passed,
# M failed" alone on a line (both boots and the host's checks between them added up). Exit status
# 0 only if every boot printed a PASS verdict with no FAIL line and finished in time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# a run that stops before the guest's verdict still ends with a summary line; the run directory
# goes unless --keep
summary_done=0
keep=0
single=0
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
        --single-boot) single=1; shift ;;
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
        # the front (vgpuctl) runs everything but the snapshot's reads by vgpuctl-full, found beside it
        initrd_args+=(--binary "$builddir/client/vgpuctl-full:/usr/bin/vgpuctl-full")
        # group acquire (allocation): guest-test.sh sources /tests/groups.d/*.sh
        initrd_args+=(--file "$VM_DIR/guest-acquire.sh:/tests/groups.d/acquire.sh")
        # group layout (vgpuctl apply): after acquire, whose helpers it uses
        initrd_args+=(--file "$VM_DIR/guest-layout.sh:/tests/groups.d/layout.sh")
        # group users (who uses each vGPU, release --idle): after acquire, whose helpers it uses
        initrd_args+=(--file "$VM_DIR/guest-users.sh:/tests/groups.d/users.sh")
fi
# the project's bus policy is what a real install uses; the test copy only stands in for it
policy=$SRC_ROOT/dbus/org.vgpud1.conf
[ -f "$policy" ] || policy=$VM_DIR/org.vgpud1-test.conf
initrd_args+=(--bus-policy "$policy")
say "bus policy: $policy"

# group second_boot needs a disk for /etc/mdevctl.d and a second boot; it runs by default in
# full mode, or when --groups names it
second=0
if [ "$mode" = full ] && [ "$single" = 0 ]; then
        case ",${groups:-second_boot}," in *,second_boot,*) second=1 ;; esac
fi
if [ "$second" = 1 ]; then
        command -v mkfs.ext4 >/dev/null && command -v debugfs >/dev/null ||
                die "mkfs.ext4/debugfs not found (package e2fsprogs)"
        initrd_extra+=(--module virtio_pci --module virtio_blk --module ext4)
fi

run=$(mktemp -d "$WORK/run.XXXXXX")
initrd=$run/initramfs.cpio
"$VM_DIR/make-initramfs.sh" "${initrd_args[@]}" ${initrd_extra[@]+"${initrd_extra[@]}"} "$initrd"

kernel=$VMLINUZ
[ -f "$WORK/vmlinux" ] && kernel=$WORK/vmlinux
base_append="console=ttyS0 loglevel=1 panic=-1 vgputest.mode=$mode"
[ -z "$vgpud_args" ] || base_append+=" vgputest.vgpud_args=$vgpud_args"
qemu_base=(qemu-system-x86_64 -m 1024 -display none -monitor none -serial stdio -no-reboot -net none
        -kernel "$kernel" -initrd "$initrd")
if [ "$accel" = kvm ]; then
        qemu_base+=(-accel kvm -cpu host -smp 2)
else
        qemu_base+=(-accel tcg -smp "${VGPUD_VM_SMP:-1}")
fi

passed=0
failed=0
rc=0
# host_result ok|FAIL TEXT: a check made on the host between boots, counted with the guest's
host_result() {
        echo "$1: host: $2"
        if [ "$1" = ok ]; then passed=$((passed + 1)); else failed=$((failed + 1)) && rc=1; fi
}
# boot NAME APPEND [QEMU ARGS...]: one boot of the guest; adds its ok/FAIL lines to the totals and
# sets rc=1 on a timeout, a QEMU failure, a missing or failed verdict or a miscount
boot() {
        local name=$1 append="$base_append $2" log=$run/serial-$1.log qrc t p f verdict guest_count
        shift 2
        local qemu=("${qemu_base[@]}" -append "$append" "$@" ${qemu_extra[@]+"${qemu_extra[@]}"})
        say "booting $KVER ($accel, $mode, $name, timeout ${timeout_s}s): ${qemu[*]}"
        t=$(date +%s.%N)
        set +e
        timeout --kill-after=5 "$timeout_s" "${qemu[@]}" </dev/null 2>&1 | tr -d '\r' | tee "$log"
        qrc=${PIPESTATUS[0]}
        set -e
        say "$name: $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s"
        cat "$log" >>"$run/serial.log"
        p=$(grep -c '^ok: ' "$log" || true)
        f=$(grep -c '^FAIL: ' "$log" || true)
        passed=$((passed + p))
        failed=$((failed + f))
        verdict=$(sed -n 's/^VERDICT: \(PASS\|FAIL\)$/\1/p' "$log" | tail -n1)
        guest_count=$(sed -n 's/^vgputest: \([0-9]* passed, [0-9]* failed\)$/\1/p' "$log" | tail -n1)
        if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
                say "FAIL: $name: the VM did not finish within ${timeout_s}s"
                rc=1
        elif [ "$qrc" != 0 ]; then
                say "FAIL: $name: qemu exited with status $qrc"
                rc=1
        fi
        if [ -z "$verdict" ]; then
                say "FAIL: $name: the guest printed no verdict"
                rc=1
        elif [ "$verdict" != PASS ]; then
                rc=1
        fi
        if [ -n "$guest_count" ] && [ "$guest_count" != "$p passed, $f failed" ]; then
                say "FAIL: $name: the guest counted '$guest_count' but the console shows $p ok / $f FAIL lines"
                rc=1
        fi
        [ "$f" = 0 ] && [ "$p" -gt 0 ] || rc=1
}

if [ "$second" = 0 ]; then
        boot boot "${groups:+vgputest.groups=$groups}"
else
        # /etc/mdevctl.d on an ext4 disk that outlives the first boot (mdevctl 1.2.0 wants scripts.d)
        disk=$run/disk.img
        mkdir -p "$run/disk/scripts.d/callouts" "$run/disk/scripts.d/notifiers"
        mkfs.ext4 -q -F -d "$run/disk" -L vgpudetc "$disk" 16M
        sb_uuid=$(cat /proc/sys/kernel/random/uuid)
        drive=(-drive "file=$disk,if=virtio,format=raw")
        boot boot1 "vgputest.boot=1 vgputest.second_boot_uuid=$sb_uuid${groups:+ vgputest.groups=$groups}" "${drive[@]}"
        # what boot 1 left on the disk, read on the host
        if def=$(debugfs -R "cat /mtty/$sb_uuid" "$disk" 2>/dev/null) && [ -n "$def" ]; then
                if printf '%s' "$def" | tr -d ' \n' | grep -q '"mdev_type":"mtty-2","start":"auto"'; then
                        host_result ok "the disk holds /mtty/$sb_uuid (mtty-2, auto) after boot 1"
                else
                        host_result FAIL "/mtty/$sb_uuid on the disk is not an mtty-2 auto definition: $def"
                fi
        else
                host_result FAIL "the disk does not hold /mtty/$sb_uuid after boot 1"
        fi
        if e2fsck -fn "$disk" >"$run/fsck.log" 2>&1; then
                host_result ok "the disk's file system is clean after boot 1"
        else
                host_result FAIL "e2fsck finds errors on the disk after boot 1"
                sed 's/^/    | /' "$run/fsck.log"
        fi
        boot boot2 "vgputest.boot=2 vgputest.second_boot_uuid=$sb_uuid vgputest.groups=services,second_boot" "${drive[@]}"
fi

cp "$run/serial.log" "$WORK/last-serial.log"
if [ "$keep" = 1 ]; then
        say "kept $run"
fi
say "total $(elapsed)s, serial log $WORK/last-serial.log"
echo "$passed passed, $failed failed"
summary_done=1
exit $rc
