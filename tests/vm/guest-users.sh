# SPDX-License-Identifier: LGPL-2.1-or-later
# The test VM's check group "users" (run.sh puts this file at /tests/groups.d/users.sh; it runs
# after acquire.sh and layout.sh, whose helpers it uses: need_vgpud, bus_call, mtty_clean,
# running, new_uuid, hold_group, unhold).
# On the real mdev core with the mtty sample, five mtty-1 devices made every way a host makes
# them: (a) a UUID written to the type's create file, as mdevctl start does; (b) vgpuctl start
# -p -t; (c) vgpuctl acquire --owner vm:test; (d) made like (a), its real /dev/vfio/<group> held
# open by a process; (e) vgpuctl define + start. After Manager.ScanUsers each Device shows its
# user (UserKind, User, UserPid, Idle), Manager.Idle and `vgpuctl status` list exactly (a) and
# (b) as idle, `release --idle --dry-run` lists them and removes nothing, `release --idle` prints
# and removes exactly them. It removes what it made.

# dev_path UUID: the Device object's path (sd_bus_path_encode: '-' and a leading digit escaped)
dev_path() { echo "/org/vgpud1/device/$(echo "$1" | sed -e 's/^\([0-9]\)/_3\1/' -e 's/-/_2d/g')"; }
# user_of UUID: "KIND|USER|PID|IDLE" from the Device's properties
user_of() {
        timeout 10 busctl --system get-property "$BUS_NAME" "$(dev_path "$1")" org.vgpud1.Device \
                UserKind User UserPid Idle 2>/dev/null |
                sed -e 's/^[a-z] //' -e 's/^"\(.*\)"$/\1/' | tr '\n' '|' | sed 's/|$//'
}
# sorted UUIDs of Manager.Idle
idle_list() {
        timeout 10 busctl --system get-property "$BUS_NAME" /org/vgpud1 org.vgpud1.Manager Idle 2>/dev/null |
                grep -oE '[0-9a-f]{8}-[0-9a-f-]{27}' | sort
}
listed() { vgpuctl list 2>/dev/null | grep -q "^$1 "; }

group_users() {
        local t ua ub uc ud ue u want got idle_want
        need_vgpud || return
        mtty_clean
        t=$MTTY_TYPES/mtty-1
        ua=$(new_uuid) ud=$(new_uuid) ue=$(new_uuid)
        check "(a) $ua made through $t/create (as mdevctl does)" sh -c "echo $ua > $t/create"
        check "(d) $ud made through $t/create" sh -c "echo $ud > $t/create"
        ub=$(vgpuctl start -p mtty -t mtty-1 2>/tmp/users.err)
        check "(b) vgpuctl start -p mtty -t mtty-1 made $ub" running "$ub"
        uc=$(vgpuctl acquire --owner vm:test mtty-1 2>/tmp/users.err | grep -oE '[0-9a-f]{8}-[0-9a-f-]{27}' | head -n1)
        if [ -n "$uc" ] && running "$uc"; then
                ok "(c) vgpuctl acquire --owner vm:test mtty-1 made $uc"
        else
                fail "(c) vgpuctl acquire --owner vm:test mtty-1: '$uc'"
                show /tmp/users.err
        fi
        if vgpuctl define -u "$ue" -p mtty -t mtty-1 2>/tmp/users.err && vgpuctl start -u "$ue" 2>>/tmp/users.err &&
                running "$ue"; then
                ok "(e) $ue defined and started"
        else
                fail "(e) define and start $ue"
                show /tmp/users.err
        fi
        if [ -z "$ub" ] || [ -z "$uc" ]; then
                mtty_clean
                return
        fi
        hold_group "$ud"
        check "(d) pid $HOLDER holds /dev/vfio/$(group_of "$ud")" test -e "/proc/$HOLDER/fd/3"
        for u in "$ua" "$ub" "$uc" "$ud" "$ue"; do
                wait_until 5 listed "$u" || fail "$u not in vgpuctl list within 5 s"
        done
        check "Manager.ScanUsers" bus_call ScanUsers ''

        for want in "$ua|||0|true" "$ub|||0|true" "$uc|lease|vm:test|0|false" \
                "$ud|process|pid $HOLDER (sleep)|$HOLDER|false" "$ue|definition|definition|0|false"; do
                u=${want%%|*}
                got=$(user_of "$u")
                check "Device $u: UserKind|User|UserPid|Idle = ${want#*|} (got '$got')" test "$got" = "${want#*|}"
        done
        idle_want=$(printf '%s\n' "$ua" "$ub" | sort)
        got=$(idle_list)
        check "Manager.Idle is exactly (a) and (b): $(echo $got)" test "$got" = "$idle_want"

        if vgpuctl status >/tmp/users.status 2>/tmp/users.err &&
                grep -q "^$ua .* nobody  *-  *[0-9]" /tmp/users.status &&
                grep -q "^$ub .* nobody  *-  *[0-9]" /tmp/users.status &&
                grep -q "^$uc .* lease vm:test  *[0-9-]*  *-$" /tmp/users.status &&
                grep -q "^$ud .* process pid $HOLDER (sleep)  *$HOLDER  *-$" /tmp/users.status &&
                grep -q "^$ue .* definition  *-  *-$" /tmp/users.status; then
                ok "vgpuctl status: nobody (idle) for (a) (b), lease, process pid, definition for (c) (d) (e)"
        else
                fail "vgpuctl status rows"
                show /tmp/users.status /tmp/users.err
        fi

        got=$(vgpuctl release --idle --dry-run 2>/tmp/users.err | sort)
        if [ "$got" = "$idle_want" ] && running "$ua" && running "$ub"; then
                ok "release --idle --dry-run lists (a) and (b), removes nothing"
        else
                fail "release --idle --dry-run: '$(echo $got)'"
                show /tmp/users.err
        fi
        got=$(vgpuctl release --idle 2>/tmp/users.err | sort)
        check "release --idle prints exactly (a) and (b): $(echo $got)" test "$got" = "$idle_want"
        if ! running "$ua" && ! running "$ub" && running "$uc" && running "$ud" && running "$ue"; then
                ok "release --idle removed (a) and (b) from sysfs, left (c) (d) (e)"
        else
                fail "after release --idle: a=$(running "$ua" && echo up) b=$(running "$ub" && echo up)" \
                        "c=$(running "$uc" && echo up) d=$(running "$ud" && echo up) e=$(running "$ue" && echo up)"
        fi
        check "Manager.Idle is empty" test -z "$(idle_list)"

        # the holder goes: (d) is idle from the next scan on
        unhold
        bus_call ScanUsers '' || true
        got=$(user_of "$ud")
        check "(d) idle once its holder is gone (got '$got')" test "$got" = "||0|true"
        vgpuctl release --owner vm:test >/dev/null 2>&1 || fail "vgpuctl release --owner vm:test"
        mtty_clean
}

EXTRA_GROUPS="$EXTRA_GROUPS users"
