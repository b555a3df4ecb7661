#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The test VM's checks, run by /init on a real kernel with the sample mdev drivers loaded.
# Checks come in groups (shell functions group_<name>) run in order in one shell, so later
# groups see the state earlier ones left (e.g. the running vgpud). Extra groups: drop a file
# into /tests/groups.d/ that defines group_<name> functions and appends the names to
# EXTRA_GROUPS. Kernel command line:
#   vgputest.mode=full|plumbing   full (default) tests vgpud/vgpuctl; plumbing only the VM itself
#   vgputest.groups=a,b,c         run exactly these groups
#   vgputest.vgpud_args=a,b       arguments for vgpud (e.g. --udev-source=kernel,-v)
#   vgputest.boot=1|2             which boot of a two-boot run (group second_boot)
#   vgputest.second_boot_uuid=U   the device group second_boot defines in boot 1, expects in boot 2
# The lifecycle groups (lifecycle, kernel_errors, autostart_reload, second_boot) live in
# guest-lifecycle.sh; the allocation group (acquire) in guest-acquire.sh, which run.sh ships as
# /tests/groups.d/acquire.sh; who uses each vGPU and release --idle (users) in guest-users.sh.
# Ends with "vgputest: N passed, M failed" and "VERDICT: PASS" or "VERDICT: FAIL".
. /tests/guest-lib.sh

VGPUD=/usr/libexec/vgpud
VGPUCTL=/usr/bin/vgpuctl
BUS_NAME=org.vgpud1
VGPUD_PID=
MTTY_UUID=

# ---------------------------------------------------------------- services
# systemd-udevd (as on every real host: vgpud's libudev monitor may listen to udev's events)
# and dbus-daemon with the stock system bus policy plus the project's org.vgpud1.conf.
group_services() {
        mkdir -p /run/udev
        /usr/lib/systemd/systemd-udevd --daemon >/tmp/udevd.log 2>&1
        check "systemd-udevd is running" wait_until 5 udevadm control --ping
        mkdir -p /run/dbus
        dbus-daemon --system --nofork --nopidfile >/tmp/dbus.log 2>&1 &
        if wait_until 5 dbus-send --system --print-reply --dest=org.freedesktop.DBus \
                /org/freedesktop/DBus org.freedesktop.DBus.GetId >/tmp/dbus.out 2>&1; then
                ok "dbus-daemon answers on the system bus ($(grep -o '"[0-9a-f]*"' /tmp/dbus.out))"
        else
                fail "dbus-daemon does not answer on /run/dbus/system_bus_socket"
                show /tmp/dbus.out /tmp/dbus.log
        fi
}

# ---------------------------------------------------------------- sysfs (no vgpud involved)
# The kernel side alone: parents registered, create/remove through sysfs, the shared mtty
# pool, and udevd re-broadcasting the mdev uevents.
group_sysfs() {
        local p uuid dev t1 t2 a1 a2 b1 b2
        for p in mtty mdpy mbochs; do
                check "parent $p registered in $MDEV_BUS" test -d "$MDEV_BUS/$p/mdev_supported_types"
        done
        echo "    sysfs types (parent type available device_api name):"
        sysfs_types | show

        udevadm monitor --udev --subsystem-match=mdev >/tmp/udev-monitor.log 2>&1 &
        local mon=$!
        wait_until 5 grep -q 'UDEV' /tmp/udev-monitor.log
        t1=$MDEV_BUS/mtty/mdev_supported_types/mtty-1
        t2=$MDEV_BUS/mtty/mdev_supported_types/mtty-2
        a1=$(cat "$t1"/available_instances)
        a2=$(cat "$t2"/available_instances)
        uuid=$(cat /proc/sys/kernel/random/uuid)
        dev=$MDEV_DEVICES/$uuid
        check "sysfs create mtty-2 $uuid" sh -c "echo $uuid > $t2/create"
        check "$dev -> mdev_type mtty-2" test "$(readlink -f "$dev"/mdev_type)" = "$(readlink -f "$t2")"
        b1=$(cat "$t1"/available_instances)
        b2=$(cat "$t2"/available_instances)
        check "shared pool: mtty-2 available $a2 -> $b2, mtty-1 $a1 -> $b1" \
                test "$b2" -lt "$a2" -a "$b1" -lt "$a1"
        check "sysfs remove $uuid" sh -c "echo 1 > $dev/remove"
        check "$dev gone, available back to $a2/$a1" test ! -e "$dev" -a \
                "$(cat "$t2"/available_instances)/$(cat "$t1"/available_instances)" = "$a2/$a1"
        if wait_until 5 grep -q "remove.*/$uuid (mdev)" /tmp/udev-monitor.log &&
                grep -q "add.*/$uuid (mdev)" /tmp/udev-monitor.log; then
                ok "udevd broadcast the mdev add and remove events"
        else
                fail "udevd did not broadcast the mdev add and remove events"
                show /tmp/udev-monitor.log
        fi
        kill $mon 2>/dev/null
        wait $mon 2>/dev/null
}

# ---------------------------------------------------------------- vgpud start
name_has_owner() {
        dbus-send --system --print-reply --dest=org.freedesktop.DBus / \
                org.freedesktop.DBus.NameHasOwner string:$BUS_NAME 2>/dev/null | grep -q 'boolean true'
}
vgpud_alive() { [ -n "$VGPUD_PID" ] && kill -0 "$VGPUD_PID" 2>/dev/null; }
# vgpuctl ARGS...: the client, killed after 10 s so a hang is one failed check, not a VM timeout
vgpuctl() { timeout 10 "$VGPUCTL" "$@"; }
vgpud_ready_or_dead() { name_has_owner || ! vgpud_alive; }
vgpud_log() { echo "    vgpud log:" && show /tmp/vgpud.log; }

group_vgpud_start() {
        if [ ! -x "$VGPUD" ] || [ ! -x "$VGPUCTL" ]; then
                fail "vgpud ($VGPUD) or vgpuctl ($VGPUCTL) is not in the initramfs"
                return
        fi
        mkdir -p /etc/mdevctl.d /var/lib/vgpud /run/vgpud # what the unit's StateDirectory= etc. would make
        # as the unit runs it: read commands use the published snapshot (common/snapshot.h)
        # shellcheck disable=SC2046 # word splitting intended
        (cd / && exec "$VGPUD" --snapshot=/run/vgpud/snapshot $(cmdline_opt vgputest.vgpud_args "" | tr ',' ' ')) \
                >/tmp/vgpud.log 2>&1 &
        VGPUD_PID=$!
        # no NOTIFY_SOCKET here: readiness is the bus name being owned (stop early if vgpud died)
        wait_until 20 vgpud_ready_or_dead
        if name_has_owner && vgpud_alive; then
                ok "vgpud owns $BUS_NAME ($(($(now_ms) / 1000)) s after boot)"
        else
                if vgpud_alive; then
                        fail "vgpud did not acquire $BUS_NAME within 20 s"
                else
                        wait "$VGPUD_PID"
                        fail "vgpud exited with status $? before acquiring $BUS_NAME"
                        VGPUD_PID=
                fi
                vgpud_log
                return
        fi
        if wait_until 5 vgpuctl list >/tmp/out 2>&1; then
                ok "vgpuctl list exits 0"
        else
                fail "vgpuctl list fails"
                show /tmp/out
        fi
}

# ---------------------------------------------------------------- types
# vgpuctl_types_match: vgpuctl types exits 0 and reports what sysfs says, type by type
vgpuctl_types_match() {
        vgpuctl types >/tmp/types.out 2>&1 || return 1
        parse_types </tmp/types.out >/tmp/types.parsed
        sysfs_types >/tmp/types.sysfs
        cmp -s /tmp/types.parsed /tmp/types.sysfs
}
types_mismatch() {
        echo "    vgpuctl types:"
        show /tmp/types.out
        echo "    parsed vs sysfs:"
        diff /tmp/types.parsed /tmp/types.sysfs | show
}
# oracle_cmp ARGS...: vgpuctl ARGS prints byte for byte what mdevctl 1.2.0 ARGS prints
oracle_cmp() {
        vgpuctl "$@" >/tmp/oracle.vgpuctl 2>&1
        mdevctl "$@" >/tmp/oracle.mdevctl 2>&1
        cmp -s /tmp/oracle.vgpuctl /tmp/oracle.mdevctl
}
# oracle_same ARGS...: one result line for oracle_cmp, allowing vgpud 5 s to catch up
oracle_same() {
        if [ ! -x /usr/bin/mdevctl ]; then
                fail "mdevctl (the oracle) is not in the initramfs"
        elif wait_until 5 oracle_cmp "$@"; then
                ok "vgpuctl $* prints what mdevctl $* prints"
        else
                fail "vgpuctl $* differs from mdevctl $*"
                diff -u /tmp/oracle.mdevctl /tmp/oracle.vgpuctl | show
        fi
}

group_types() {
        local p
        vgpuctl types >/tmp/types.out 2>&1
        check "vgpuctl types exits 0" test $? = 0
        for p in mtty mdpy mbochs; do
                check "vgpuctl types lists parent $p" grep -qx "$p" /tmp/types.out
        done
        if vgpuctl_types_match; then
                ok "vgpuctl types matches sysfs (types, available instances, device API, names)"
        else
                fail "vgpuctl types does not match sysfs"
                types_mismatch
        fi
        oracle_same types
        # reading needs no privilege: the bus policy lets everyone call org.vgpud1
        vgpuctl types >/tmp/types.root 2>&1
        if su -s /bin/sh -c "timeout 10 $VGPUCTL types" nobody >/tmp/types.nobody 2>&1 &&
                cmp -s /tmp/types.root /tmp/types.nobody; then
                ok "vgpuctl types as user nobody prints what root sees"
        else
                fail "vgpuctl types as user nobody differs from root's"
                diff -u /tmp/types.root /tmp/types.nobody | show
        fi
}

# ---------------------------------------------------------------- create / remove by sysfs
# list_has LINE: vgpuctl list succeeds and prints LINE
list_has() { vgpuctl list >/tmp/list.out 2>&1 && grep -qxF "$1" /tmp/list.out; }
# list_lacks UUID: vgpuctl list succeeds and does not mention UUID
list_lacks() { vgpuctl list >/tmp/list.out 2>&1 && ! grep -q "$1" /tmp/list.out; }
# mtty_avail_is A1 A2: vgpuctl types shows mtty-1 with A1 and mtty-2 with A2 available
mtty_avail_is() {
        vgpuctl types 2>/dev/null | parse_types >/tmp/types.parsed || return 1
        [ "$(avail_of mtty mtty-1 </tmp/types.parsed)/$(avail_of mtty mtty-2 </tmp/types.parsed)" = "$1/$2" ]
}

group_create() {
        local t=$MDEV_BUS/mtty/mdev_supported_types a1 a2 b1 b2
        a1=$(cat "$t"/mtty-1/available_instances)
        a2=$(cat "$t"/mtty-2/available_instances)
        MTTY_UUID=$(cat /proc/sys/kernel/random/uuid)
        if ! echo "$MTTY_UUID" >"$t"/mtty-2/create; then
                fail "kernel refused to create mtty-2 $MTTY_UUID"
                return
        fi
        if wait_until 5 list_has "$MTTY_UUID mtty mtty-2 manual"; then
                ok "vgpuctl list shows the device created by sysfs: $MTTY_UUID mtty mtty-2 manual"
        else
                fail "vgpuctl list does not show $MTTY_UUID mtty mtty-2 manual within 5 s"
                show /tmp/list.out
                vgpud_log
        fi
        b1=$(cat "$t"/mtty-1/available_instances)
        b2=$(cat "$t"/mtty-2/available_instances)
        if [ "$b1" -lt "$a1" ] && [ "$b2" -lt "$a2" ] && wait_until 5 mtty_avail_is "$b1" "$b2"; then
                ok "vgpuctl types: shared pool lowered mtty-2 $a2 -> $b2 and mtty-1 $a1 -> $b1"
        else
                fail "vgpuctl types does not show mtty-1/mtty-2 available $b1/$b2 (was $a1/$a2)"
                show /tmp/types.parsed
        fi
        oracle_same list
}

group_remove() {
        if [ -z "$MTTY_UUID" ] || [ ! -e "$MDEV_DEVICES/$MTTY_UUID" ]; then
                fail "no device left by group_create to remove"
                return
        fi
        if ! echo 1 >"$MDEV_DEVICES/$MTTY_UUID/remove"; then
                fail "kernel refused to remove $MTTY_UUID"
                return
        fi
        if wait_until 5 list_lacks "$MTTY_UUID"; then
                ok "vgpuctl list no longer shows $MTTY_UUID"
        else
                fail "vgpuctl list still shows $MTTY_UUID (or fails) 5 s after removal"
                show /tmp/list.out
        fi
        if wait_until 5 vgpuctl_types_match; then
                ok "vgpuctl types shows the instances returned to the pool"
        else
                fail "vgpuctl types does not match sysfs after removal"
                types_mismatch
        fi
}

# ---------------------------------------------------------------- oracle
# Several devices on all three parents, compared with mdevctl 1.2.0 reading the same sysfs.
group_oracle() {
        local spec uuids="" u
        for spec in mtty/mtty-1 mtty/mtty-1 mtty/mtty-2 mdpy/mdpy-vga mbochs/mbochs-small; do
                u=$(cat /proc/sys/kernel/random/uuid)
                if echo "$u" >"$MDEV_BUS/${spec%/*}/mdev_supported_types/${spec#*/}/create"; then
                        uuids="$uuids $u"
                else
                        fail "kernel refused to create $spec $u"
                fi
        done
        oracle_same list
        oracle_same list --dumpjson
        oracle_same list -p mtty
        oracle_same types
        oracle_same types --dumpjson
        oracle_same types -p mbochs
        for u in $uuids; do
                echo 1 >"$MDEV_DEVICES/$u/remove" || fail "kernel refused to remove $u"
        done
        oracle_same list
}

# ---------------------------------------------------------------- parent hot-unplug/plug
# types_parent_absent/present P: vgpuctl types succeeds and does (not) list parent P
types_parent_absent() { vgpuctl types >/tmp/types.out 2>&1 && ! grep -qx "$1" /tmp/types.out; }

group_parent_hotplug() {
        if ! rmmod mtty; then
                fail "rmmod mtty"
                return
        fi
        if wait_until 5 types_parent_absent mtty; then
                ok "after rmmod mtty, vgpuctl types no longer lists mtty"
        else
                fail "vgpuctl types still lists mtty (or fails) 5 s after rmmod"
                show /tmp/types.out
        fi
        if ! insmod "$MODDIR/mtty.ko"; then
                fail "insmod mtty.ko again"
                return
        fi
        if wait_until 5 vgpuctl_types_match && grep -qx mtty /tmp/types.out; then
                ok "after insmod mtty, vgpuctl types lists mtty again, matching sysfs"
        else
                fail "vgpuctl types does not show mtty back 5 s after insmod"
                types_mismatch
        fi
}

# ---------------------------------------------------------------- vgpud stop
group_vgpud_stop() {
        local rc watchdog
        if ! vgpud_alive; then
                fail "vgpud is no longer running"
                vgpud_log
                return
        fi
        ok "vgpud still running"
        kill -TERM "$VGPUD_PID"
        (sleep 10 && kill -KILL "$VGPUD_PID") 2>/dev/null &
        watchdog=$!
        wait "$VGPUD_PID"
        rc=$?
        kill "$watchdog" 2>/dev/null
        VGPUD_PID=
        if [ "$rc" = 0 ]; then
                ok "vgpud exits 0 on SIGTERM"
        else
                fail "vgpud exit status $rc on SIGTERM (137: did not exit within 10 s)"
                vgpud_log
        fi
        check "$BUS_NAME released" wait_until 5 sh -c "! dbus-send --system --print-reply \
--dest=org.freedesktop.DBus / org.freedesktop.DBus.NameHasOwner string:$BUS_NAME | grep -q 'boolean true'"
}

# ---------------------------------------------------------------- main
. /tests/guest-lifecycle.sh
EXTRA_GROUPS=
for f in /tests/groups.d/*.sh; do
        [ -e "$f" ] && . "$f"
done
case $(cmdline_opt vgputest.mode full) in
plumbing) default="services sysfs" ;;
*) default="services sysfs vgpud_start types create remove oracle parent_hotplug lifecycle kernel_errors autostart_reload vgpud_stop $EXTRA_GROUPS" ;;
esac
# run.sh's first boot of two (a disk for /etc/mdevctl.d attached) ends with second_boot
[ -z "$(cmdline_opt vgputest.second_boot_uuid "")" ] || default="$default second_boot"
groups=$(cmdline_opt vgputest.groups "$default" | tr ',' ' ')

for g in $groups; do
        ts "group $g"
        if type "group_$g" >/dev/null 2>&1; then
                "group_$g"
        else
                fail "no such test group: $g"
        fi
done

passed=$(grep -c '^ok: ' "$RESULTS" 2>/dev/null)
failed=$(grep -c '^FAIL: ' "$RESULTS" 2>/dev/null)
echo "vgputest: ${passed:-0} passed, ${failed:-0} failed"
if [ "${failed:-0}" = 0 ] && [ "${passed:-0}" -gt 0 ]; then
        echo "VERDICT: PASS"
else
        echo "VERDICT: FAIL"
        echo "    dmesg (last 30 lines):"
        dmesg | tail -n 30 | show
fi
