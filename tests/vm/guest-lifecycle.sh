# SPDX-License-Identifier: LGPL-2.1-or-later
# The test VM's lifecycle check groups (sourced by guest-test.sh): define/start/stop/undefine on
# the real mdev core, the kernel's own errors as named D-Bus errors, autostart when a parent
# registers again, and autostart from definitions kept on a disk across two boots.
# Each group starts what it needs (udevd, dbus-daemon, vgpud) when an earlier group did not, and
# removes the devices and definitions it made, so any of them runs alone with --groups.
#
# Changes go through `ctl`: vgpuctl's mdevctl-compatible command where vgpuctl has it, else the
# same request as a busctl call. D-Bus error names are read from busctl (bus_call), which logs
# the reply's error-name at debug level; vgpuctl prints only the message, as mdevctl does.

MTTY_TYPES=$MDEV_BUS/mtty/mdev_supported_types

# ---------------------------------------------------------------- helpers
# need_vgpud: udevd, the system bus and vgpud running (starting what an earlier group did not)
need_vgpud() {
        vgpud_alive && name_has_owner && return 0
        if ! udevadm control --ping >/dev/null 2>&1 || [ ! -S /run/dbus/system_bus_socket ]; then
                group_services
        fi
        group_vgpud_start
        vgpud_alive && name_has_owner
}
new_uuid() { cat /proc/sys/kernel/random/uuid; }
running() { [ -e "$MDEV_DEVICES/$1" ]; }
defined() { [ -f "/etc/mdevctl.d/$1/$2" ]; }
mdev_count() { ls "$MDEV_DEVICES" 2>/dev/null | wc -l; }
avail() { cat "$MTTY_TYPES/$1/available_instances"; }

# bus_call METHOD SIGNATURE ARGS...: org.vgpud1.Manager.METHOD through busctl; the reply in
# /tmp/bus.out; on failure BUS_ERROR holds the D-Bus error name and BUS_MESSAGE its message
bus_call() {
        local m=$1
        shift
        BUS_ERROR=
        BUS_MESSAGE=
        if SYSTEMD_LOG_LEVEL=debug timeout 20 busctl --system call "$BUS_NAME" /org/vgpud1 \
                org.vgpud1.Manager "$m" "$@" >/tmp/bus.out 2>/tmp/bus.err; then
                return 0
        fi
        BUS_ERROR=$(sed -n 's/.* type=error .* error-name=\([^ ]*\) .*/\1/p' /tmp/bus.err | tail -n1)
        BUS_MESSAGE=$(sed -n 's/^Call failed: //p' /tmp/bus.err | tail -n1)
        [ -n "$BUS_ERROR" ] || BUS_ERROR="(none: $(tail -n1 /tmp/bus.err))"
        return 1
}
# expect_error NAME DESCRIPTION METHOD SIGNATURE ARGS...: the call fails with org.vgpud1.Error.NAME
expect_error() {
        local name=$1 what=$2
        shift 2
        if bus_call "$@"; then
                fail "$what: succeeded, expected org.vgpud1.Error.$name"
                show /tmp/bus.out
        elif [ "$BUS_ERROR" = "org.vgpud1.Error.$name" ]; then
                ok "$what: $BUS_ERROR ($BUS_MESSAGE)"
        else
                fail "$what: $BUS_ERROR, expected org.vgpud1.Error.$name ($BUS_MESSAGE)"
        fi
}

# ctl_has COMMAND: vgpuctl has this mdevctl write command (probed once per command)
ctl_has() {
        local v
        eval "v=\${CTL_HAS_$1:-}"
        if [ -z "$v" ]; then
                if timeout 10 "$VGPUCTL" "$1" --help >/dev/null 2>&1; then v=yes; else v=no; fi
                eval "CTL_HAS_$1=$v"
                [ "$v" = yes ] || echo "    (vgpuctl has no '$1' yet: ctl sends it with busctl)" >/dev/console
        fi
        [ "$v" = yes ]
}
# ctl COMMAND OPTIONS...: an mdevctl 1.2.0 write command (define, undefine, start, stop with
# -u/-p/-t/-a/--jsonfile); vgpuctl's own where it exists, else the same request with busctl
# (printing "Error: MESSAGE" and exiting 1 on failure, and a generated UUID, as mdevctl does)
ctl() {
        local cmd=$1 u= p= t= start=manual json= gen=
        shift
        if ctl_has "$cmd"; then
                vgpuctl "$cmd" "$@"
                return
        fi
        while [ $# -gt 0 ]; do
                case $1 in
                -u | --uuid) u=$2 && shift 2 ;;
                -p | --parent) p=$2 && shift 2 ;;
                -t | --type) t=$2 && shift 2 ;;
                -a | --auto) start=auto && shift ;;
                --jsonfile) json=$(cat "$2") && shift 2 ;;
                *) echo "ctl: option $1 not translated" >&2 && return 2 ;;
                esac
        done
        [ -z "$t" ] || json="{\"mdev_type\":\"$t\",\"start\":\"$start\"}"
        [ -n "$u" ] || gen=1
        case $cmd in
        define) bus_call Define 'sssa{sv}' "$p" "$u" "$json" 0 ;;
        start) bus_call Start 'sssa{sv}' "$p" "$u" "$json" 0 ;;
        stop) bus_call Stop 'sa{sv}' "$u" 0 ;;
        undefine) bus_call Undefine 'ssa{sv}' "$p" "$u" 0 ;;
        *) echo "ctl: no translation of $cmd" >&2 && return 2 ;;
        esac || {
                echo "Error: $BUS_MESSAGE" >&2
                return 1
        }
        [ -z "$gen" ] || sed -n 's/^[a-z]* "\([0-9a-f-]*\)".*/\1/p' /tmp/bus.out
}
# ctl_ok DESCRIPTION COMMAND OPTIONS...: one result line for a ctl command that must succeed
ctl_ok() {
        local what=$1
        shift
        if ctl "$@" >/tmp/ctl.out 2>&1; then
                ok "$what"
        else
                fail "$what: ctl $* failed"
                show /tmp/ctl.out
                return 1
        fi
}
# oracle_lists: vgpuctl list, list -d and list -d --dumpjson print what mdevctl prints
oracle_lists() {
        oracle_same list
        oracle_same list -d
        oracle_same list -d --dumpjson
}
# mtty_clean: no device on mtty and no mtty definition (what every group starts from)
mtty_clean() {
        local d
        for d in "$MDEV_DEVICES"/*; do
                [ -e "$d" ] || continue
                case $(readlink -f "$d") in */mtty/*) echo 1 >"$d/remove" ;; esac
        done
        rm -f /etc/mdevctl.d/mtty/*
}

# ---------------------------------------------------------------- lifecycle
# define (manual and auto), start from the definition and explicitly, a start whose attribute
# the driver refuses (rolled back), stop, undefine; mdevctl 1.2.0 reads the same state after
# each step and must list the same.
group_lifecycle() {
        local um ua ue ug ugd ub us a2 n u
        need_vgpud || return
        mtty_clean
        um=$(new_uuid) ua=$(new_uuid) ue=$(new_uuid) ub=$(new_uuid) us=$(new_uuid)

        # define
        ctl_ok "define $um on mtty (mtty-1, manual)" define -u "$um" -p mtty -t mtty-1
        check "definition file /etc/mdevctl.d/mtty/$um written" defined mtty "$um"
        if [ -x /usr/bin/mdevctl ]; then
                # the file is byte for byte what mdevctl 1.2.0 writes for the same definition
                local twin
                twin=$(new_uuid)
                mdevctl define -u "$twin" -p mtty -t mtty-1 &&
                        check "definition file equals mdevctl's for the same definition" \
                                cmp "/etc/mdevctl.d/mtty/$um" "/etc/mdevctl.d/mtty/$twin"
                mdevctl undefine -u "$twin"
        fi
        ctl_ok "define $ua on mtty (mtty-2, auto)" define -u "$ua" -p mtty -t mtty-2 --auto
        check "define --auto does not start $ua (as mdevctl)" test ! -e "$MDEV_DEVICES/$ua"
        ugd=$(ctl define -p mtty -t mtty-1 2>/tmp/ctl.err)
        if [ -n "$ugd" ] && defined mtty "$ugd"; then
                ok "define without a UUID prints the new one ($ugd) and stores it"
        else
                fail "define without a UUID: printed '$ugd'"
                show /tmp/ctl.err
        fi
        if vgpuctl list -d >/tmp/list.out 2>&1 && grep -qxF "$um mtty mtty-1 manual" /tmp/list.out &&
                grep -qxF "$ua mtty mtty-2 auto" /tmp/list.out; then
                ok "vgpuctl list -d shows both definitions"
        else
                fail "vgpuctl list -d does not show $um manual and $ua auto"
                show /tmp/list.out
        fi
        oracle_lists

        # start from the stored definition: the device exists when the command returns
        if ctl start -u "$um" >/tmp/ctl.out 2>&1 && running "$um"; then
                ok "start $um from its definition: in sysfs when start returns"
        else
                fail "start $um from its definition"
                show /tmp/ctl.out
        fi
        check "$um is an mtty-1 device" test "$(readlink -f "$MDEV_DEVICES/$um/mdev_type")" = \
                "$(readlink -f "$MTTY_TYPES/mtty-1")"
        if vgpuctl list >/tmp/list.out 2>&1 && grep -qxF "$um mtty mtty-1 manual (defined)" /tmp/list.out; then
                ok "vgpuctl list right after start: $um mtty mtty-1 manual (defined)"
        else
                fail "vgpuctl list right after start lacks $um mtty mtty-1 manual (defined)"
                show /tmp/list.out
        fi

        # start explicitly, nothing stored
        ctl_ok "start $ue explicitly (mtty-2, not defined)" start -u "$ue" -p mtty -t mtty-2
        check "$ue running, not defined" sh -c "test -e $MDEV_DEVICES/$ue && test ! -e /etc/mdevctl.d/mtty/$ue"
        ug=$(ctl start -p mtty -t mtty-2 2>/tmp/ctl.err)
        if [ -n "$ug" ] && running "$ug"; then
                ok "start without a UUID prints the new one ($ug), running"
        else
                fail "start without a UUID: printed '$ug'"
                show /tmp/ctl.err
                ug=
        fi
        oracle_lists

        # an attribute the driver does not have: refused, rolled back on the real kernel
        a2=$(avail mtty-2)
        n=$(mdev_count)
        printf '{"mdev_type":"mtty-2","start":"manual","attrs":[{"no_such_attr":"1"}]}' >/tmp/bad.json
        expect_error DriverRefused "start $ub with attribute no_such_attr" \
                Start 'sssa{sv}' mtty "$ub" "$(cat /tmp/bad.json)" 0
        check "after the refused start: $ub gone, $n devices, mtty-2 available $a2" \
                test ! -e "$MDEV_DEVICES/$ub" -a "$(mdev_count)" = "$n" -a "$(avail mtty-2)" = "$a2"
        if ctl start -u "$ub" -p mtty --jsonfile /tmp/bad.json >/tmp/ctl.out 2>&1; then
                fail "start --jsonfile with an unknown attribute succeeded"
        elif grep -q '^Error: ' /tmp/ctl.out && ! running "$ub"; then
                ok "start --jsonfile with an unknown attribute fails: $(head -n1 /tmp/ctl.out)"
        else
                fail "start --jsonfile with an unknown attribute: no 'Error:' message or device left"
                show /tmp/ctl.out
        fi
        # the same from a stored definition: refused, no device, the definition stays
        ctl_ok "define $us with attribute no_such_attr" define -u "$us" -p mtty --jsonfile /tmp/bad.json
        expect_error DriverRefused "start $us from its definition with no_such_attr" \
                Start 'sssa{sv}' "" "$us" "" 0
        check "after the refused start: $us not running, still defined, $n devices" \
                sh -c "test ! -e $MDEV_DEVICES/$us && test -f /etc/mdevctl.d/mtty/$us && test $(mdev_count) = $n"
        oracle_lists

        # stop: gone when the command returns; a definition stays
        for u in "$um" "$ue" $ug; do
                if ctl stop -u "$u" >/tmp/ctl.out 2>&1 && ! running "$u"; then
                        ok "stop $u: gone from sysfs when stop returns"
                else
                        fail "stop $u"
                        show /tmp/ctl.out
                fi
        done
        check "$um still defined after stop" defined mtty "$um"
        # a device created behind vgpud's back is stopped too
        u=$(new_uuid)
        echo "$u" >"$MTTY_TYPES/mtty-1/create"
        if wait_until 5 list_has "$u mtty mtty-1 manual" && ctl stop -u "$u" >/tmp/ctl.out 2>&1 && ! running "$u"; then
                ok "stop of a device created through sysfs"
        else
                fail "stop of a device created through sysfs ($u)"
                show /tmp/ctl.out /tmp/list.out
        fi
        oracle_lists

        # undefine
        for u in "$um" "$ua" "$us" $ugd; do
                if ctl undefine -u "$u" >/tmp/ctl.out 2>&1 && ! defined mtty "$u"; then
                        ok "undefine $u: file removed"
                else
                        fail "undefine $u"
                        show /tmp/ctl.out
                fi
        done
        if vgpuctl list -d >/tmp/list.out 2>&1 && ! grep -q mtty /tmp/list.out; then
                ok "vgpuctl list -d shows no mtty definition"
        else
                fail "vgpuctl list -d still shows mtty definitions"
                show /tmp/list.out
        fi
        oracle_lists
        mtty_clean
}

# ---------------------------------------------------------------- kernel errors
# The kernel's refusals come back as named errors and leave nothing behind.
group_kernel_errors() {
        local u u2 i n a1 a2 uuids= json
        need_vgpud || return
        mtty_clean
        json='{"mdev_type":"mtty-2","start":"manual"}'

        # Exists: a UUID vgpud started, a UUID created through sysfs, a UUID on another parent
        u=$(new_uuid)
        ctl_ok "start $u (mtty-2)" start -u "$u" -p mtty -t mtty-2
        expect_error Exists "start $u again" Start 'sssa{sv}' mtty "$u" "$json" 0
        if ctl start -u "$u" -p mtty -t mtty-2 >/tmp/ctl.out 2>&1; then
                fail "ctl start of a running UUID succeeded"
        else
                ok "ctl start of a running UUID fails: $(head -n1 /tmp/ctl.out)"
        fi
        ctl stop -u "$u" >/dev/null 2>&1
        u=$(new_uuid)
        echo "$u" >"$MTTY_TYPES/mtty-2/create"
        if (echo "$u" >"$MTTY_TYPES/mtty-2/create") 2>/tmp/kernel.err; then
                fail "the kernel accepted create of $u twice"
        else
                ok "the kernel refuses a second create of $u: $(tail -n1 /tmp/kernel.err)"
        fi
        wait_until 5 list_has "$u mtty mtty-2 manual"
        expect_error Exists "start of $u created through sysfs" Start 'sssa{sv}' mtty "$u" "$json" 0
        echo 1 >"$MDEV_DEVICES/$u/remove"
        u=$(new_uuid)
        echo "$u" >"$MDEV_BUS/mdpy/mdev_supported_types/mdpy-vga/create"
        if (echo "$u" >"$MTTY_TYPES/mtty-2/create") 2>/tmp/kernel.err; then
                fail "the kernel accepted $u on mtty while it runs on mdpy"
        else
                ok "the kernel refuses $u on mtty while it runs on mdpy: $(tail -n1 /tmp/kernel.err)"
        fi
        wait_until 5 list_has "$u mdpy mdpy-vga manual"
        expect_error Exists "start on mtty of $u running on mdpy" Start 'sssa{sv}' mtty "$u" "$json" 0
        echo 1 >"$MDEV_DEVICES/$u/remove"

        # NoCapacity: mtty's 24 ports hold 12 mtty-2 devices; the 13th is refused
        a1=$(avail mtty-1)
        a2=$(avail mtty-2)
        for i in $(seq "$a2"); do
                u=$(new_uuid)
                if bus_call Start 'sssa{sv}' mtty "$u" "$json" 0; then
                        uuids="$uuids $u"
                else
                        fail "start mtty-2 number $i of $a2: $BUS_ERROR ($BUS_MESSAGE)"
                fi
        done
        check "mtty pool exhausted: mtty-2 and mtty-1 available 0/0" \
                test "$(avail mtty-2)/$(avail mtty-1)" = 0/0
        n=$(mdev_count)
        u=$(new_uuid)
        if (echo "$u" >"$MTTY_TYPES/mtty-2/create") 2>/tmp/kernel.err; then
                fail "the kernel accepted a device beyond the pool"
                echo 1 >"$MDEV_DEVICES/$u/remove"
        else
                ok "the kernel refuses one more mtty-2: $(tail -n1 /tmp/kernel.err)"
        fi
        u=$(new_uuid)
        expect_error NoCapacity "start of one more mtty-2" Start 'sssa{sv}' mtty "$u" "$json" 0
        expect_error NoCapacity "start of an mtty-1 on the exhausted pool" \
                Start 'sssa{sv}' mtty "$u" '{"mdev_type":"mtty-1","start":"manual"}' 0
        check "nothing half-done: $n devices, $u absent, pool still 0" \
                test "$(mdev_count)" = "$n" -a ! -e "$MDEV_DEVICES/$u" -a "$(avail mtty-2)" = 0
        if ctl start -u "$u" -p mtty -t mtty-2 >/tmp/ctl.out 2>&1; then
                fail "ctl start on the exhausted pool succeeded"
        else
                ok "ctl start on the exhausted pool fails: $(head -n1 /tmp/ctl.out)"
        fi
        oracle_same list
        for u in $uuids; do
                bus_call Stop 'sa{sv}' "$u" 0 || fail "stop $u: $BUS_ERROR ($BUS_MESSAGE)"
        done
        check "pool back: mtty-2/mtty-1 available $a2/$a1" test "$(avail mtty-2)/$(avail mtty-1)" = "$a2/$a1"

        # NotFound and InvalidArgument
        u=$(new_uuid)
        n=$(mdev_count)
        expect_error NotFound "start of type mtty-9 (no such type)" \
                Start 'sssa{sv}' mtty "$u" '{"mdev_type":"mtty-9","start":"manual"}' 0
        expect_error NotFound "start on parent nosuch (no such parent)" \
                Start 'sssa{sv}' nosuch "$u" "$json" 0
        expect_error NotFound "start of an undefined UUID from its definition" Start 'sssa{sv}' "" "$u" "" 0
        expect_error NotFound "stop of a UUID that is not running" Stop 'sa{sv}' "$u" 0
        expect_error NotFound "undefine of a UUID that is not defined" Undefine 'ssa{sv}' mtty "$u" 0
        expect_error InvalidArgument "start with a malformed UUID" Start 'sssa{sv}' mtty "not-a-uuid" "$json" 0
        check "no device made by the refused requests ($n devices)" test "$(mdev_count)" = "$n"
        if ctl start -u "$u" -p mtty -t mtty-9 >/tmp/ctl.out 2>&1; then
                fail "ctl start of type mtty-9 succeeded"
        else
                ok "ctl start of type mtty-9 fails: $(head -n1 /tmp/ctl.out)"
        fi
        mtty_clean
}

# ---------------------------------------------------------------- autostart on parent registration
group_autostart_reload() {
        local ua um t0 dt
        need_vgpud || return
        mtty_clean
        ua=$(new_uuid) um=$(new_uuid)
        ctl_ok "define $ua (mtty-1, auto)" define -u "$ua" -p mtty -t mtty-1 --auto || return
        ctl_ok "define $um (mtty-2, manual)" define -u "$um" -p mtty -t mtty-2
        if ! rmmod mtty; then
                fail "rmmod mtty"
                return
        fi
        wait_until 5 types_parent_absent mtty || fail "vgpuctl types still lists mtty 5 s after rmmod"
        t0=$(now_ms)
        if ! insmod "$MODDIR/mtty.ko"; then
                fail "insmod mtty.ko again"
                return
        fi
        if wait_until 5 running "$ua"; then
                dt=$(($(now_ms) - t0))
                ok "auto definition $ua started ${dt} ms after insmod mtty"
        else
                fail "auto definition $ua not started within 5 s of insmod mtty"
                vgpud_log
        fi
        check "manual definition $um not started" test ! -e "$MDEV_DEVICES/$um"
        if wait_until 5 list_has "$ua mtty mtty-1 auto (defined)"; then
                ok "vgpuctl list: $ua mtty mtty-1 auto (defined)"
        else
                fail "vgpuctl list lacks $ua mtty mtty-1 auto (defined)"
                show /tmp/list.out
        fi
        oracle_lists
        ctl stop -u "$ua" >/dev/null 2>&1 || fail "stop $ua"
        ctl undefine -u "$ua" >/dev/null 2>&1 || fail "undefine $ua"
        ctl undefine -u "$um" >/dev/null 2>&1 || fail "undefine $um"
        mtty_clean
}

# ---------------------------------------------------------------- second boot
# run.sh attaches an ext4 disk (/dev/vda) that holds /etc/mdevctl.d and boots twice with
# vgputest.boot=1 and =2 and the same vgputest.second_boot_uuid. Boot 1 defines an auto mtty-2
# device on the disk with vgpud; boot 2 starts vgpud and the device must run without a command.
SB_DISK=/dev/vda
sb_mount() {
        wait_until 5 test -b "$SB_DISK" || {
                fail "no disk $SB_DISK (run.sh attaches it for second_boot)"
                return 1
        }
        if ! mount -t ext4 "$SB_DISK" /etc/mdevctl.d 2>/tmp/mount.err; then
                fail "mount $SB_DISK on /etc/mdevctl.d"
                show /tmp/mount.err
                return 1
        fi
}
sb_stop_vgpud() {
        vgpud_alive || return 0
        kill -TERM "$VGPUD_PID"
        wait "$VGPUD_PID"
        VGPUD_PID=
}

group_second_boot() {
        local boot u
        boot=$(cmdline_opt vgputest.boot 1)
        u=$(cmdline_opt vgputest.second_boot_uuid "")
        if [ -z "$u" ]; then
                fail "second_boot needs vgputest.second_boot_uuid (run.sh sets it)"
                return
        fi
        if [ "$boot" = 1 ]; then
                # the definitions directory moves to the disk: vgpud restarts on it
                sb_stop_vgpud
                mtty_clean
                sb_mount || return
                need_vgpud || return
                ctl_ok "boot 1: define $u (mtty-2, auto) on the disk" define -u "$u" -p mtty -t mtty-2 --auto
                check "boot 1: $u defined on the disk, not running" \
                        sh -c "test -f /etc/mdevctl.d/mtty/$u && test ! -e $MDEV_DEVICES/$u"
                oracle_same list -d
                sb_stop_vgpud
                sync
                check "boot 1: disk unmounted cleanly" umount /etc/mdevctl.d
        else
                sb_mount || return
                check "boot 2: the definition of $u survived on the disk" test -f "/etc/mdevctl.d/mtty/$u"
                check "boot 2: $u not running before vgpud starts" test ! -e "$MDEV_DEVICES/$u"
                need_vgpud || return
                if wait_until 5 running "$u"; then
                        ok "boot 2: vgpud started auto definition $u without any command"
                else
                        fail "boot 2: $u not running 5 s after vgpud started"
                        vgpud_log
                fi
                if wait_until 5 list_has "$u mtty mtty-2 auto (defined)"; then
                        ok "boot 2: vgpuctl list: $u mtty mtty-2 auto (defined)"
                else
                        fail "boot 2: vgpuctl list lacks $u mtty mtty-2 auto (defined)"
                        show /tmp/list.out
                fi
                oracle_lists
                sb_stop_vgpud
                umount /etc/mdevctl.d
        fi
}
