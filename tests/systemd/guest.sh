#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The systemd tier's checks, run by vgputest.service after multi-user.target on each boot of the
# guest (systemd as PID 1). Boot 1 installs the packages from /root/debs and checks the service,
# the hardening, reads and refused changes as an unprivileged user, D-Bus activation, a stop that
# leaves everything in place; it defines an auto device and acquires a --persist vGPU, then
# reboots. Boot 2 checks that both run again, removes and purges the packages and powers off.
# Every result is one "ok: ..." or "FAIL: ..." line on the serial console.
. /usr/local/lib/vgputest/guest-lib.sh
STATE=/var/lib/vgputest
OWNER=systemd-tier:vm
U_AUTO=8c1e2f64-6b1e-4f4e-9b0f-3a8ad8e0b001

boot=$(($(cat "$STATE/boot" 2>/dev/null || echo 0) + 1))
echo "$boot" >"$STATE/boot"
sync
ts "vgputest: boot $boot, kernel $(uname -r), systemd $(systemctl --version | head -n1)"

svc_active() { [ "$(systemctl is-active vgpud.service)" = active ]; }
running() { [ -e "$MDEV_DEVICES/$1" ]; }
# every file under the directories vgpud writes, with its content hash
snapshot() {
        ls -1 "$MDEV_DEVICES" | sort
        find /etc/mdevctl.d /var/lib/vgpud -type f -print0 2>/dev/null | sort -z | xargs -0r sha256sum
}
finish() {
        local p f
        p=$(grep -c '^ok: ' "$RESULTS")
        f=$(grep -c '^FAIL: ' "$RESULTS")
        echo "vgputest: boot $boot: $p passed, $f failed"
        echo "$f" >>"$STATE/failed"
        echo "vgputest: boot $boot done"
}

. /usr/local/lib/vgputest/guest-boot.sh

case $boot in
1) boot1; finish; sync; systemctl reboot ;;
2)
        boot2
        finish
        if [ "$(awk '{ s += $1 } END { print s + 0 }' "$STATE/failed")" = 0 ]; then
                echo "VERDICT: PASS"
        else
                echo "VERDICT: FAIL"
        fi
        sync
        systemctl poweroff
        ;;
*)
        fail "boot $boot: the guest booted more often than planned (a crash or panic?)"
        echo "VERDICT: FAIL"
        systemctl poweroff
        ;;
esac
