# SPDX-License-Identifier: LGPL-2.1-or-later
# The test VM's allocation check group "acquire" (run.sh puts this file at
# /tests/groups.d/acquire.sh; guest-test.sh sources it after guest-lifecycle.sh, whose helpers it
# uses: need_vgpud, bus_call, expect_error, mtty_clean, running, mdev_count, avail).
# On the real mdev core with the mtty sample: Manager.Acquire by type id and by the type's name,
# idempotence, Exists for another profile in a held slot, ListLeases, Device.Owner, Plan and the
# Acquire that follows it, leases across a vgpud restart, Release refused with Busy while a
# process holds the kernel's /dev/vfio/<group> open and forced past it, persist, vm_uuid,
# NoCapacity when the port pool is exhausted, NotFound. Everything through busctl (vgpuctl's
# acquire commands are not relied on); it removes what it made.

ACQ_OWNERS=

# acq OWNER PROFILE [OPTION TYPE VALUE]...: Manager.Acquire; sets ACQ_UUID, ACQ_PATH, ACQ_PARENT,
# ACQ_TYPE from the reply
acq() {
        local owner=$1 profile=$2 n
        shift 2
        n=$(($# / 3))
        ACQ_OWNERS="$ACQ_OWNERS $owner"
        ACQ_UUID="" ACQ_PATH="" ACQ_PARENT="" ACQ_TYPE=""
        bus_call Acquire 'ssa{sv}' "$profile" "$owner" "$n" "$@" || return 1
        set -- $(sed -n 's/^soss "\([^"]*\)" "\([^"]*\)" "\([^"]*\)" "\([^"]*\)"$/\1 \2 \3 \4/p' /tmp/bus.out)
        ACQ_UUID=$1 ACQ_PATH=$2 ACQ_PARENT=$3 ACQ_TYPE=$4
        [ -n "$ACQ_TYPE" ]
}
# acq_ok DESCRIPTION OWNER PROFILE [OPTIONS...]: one result line for an Acquire that must work
acq_ok() {
        local what=$1
        shift
        if acq "$@"; then
                ok "$what: $ACQ_UUID on $ACQ_PARENT ($ACQ_TYPE)"
        else
                fail "$what: ${BUS_ERROR:-unexpected reply} ${BUS_MESSAGE:-}"
                show /tmp/bus.out
                return 1
        fi
}
# rel WHAT [OPTION TYPE VALUE]...: Manager.Release
rel() {
        local what=$1
        shift
        bus_call Release 'sa{sv}' "$what" $(($# / 3)) "$@"
}
# group_of UUID: the device's IOMMU group number (the kernel's iommu_group link)
group_of() { basename "$(readlink "$MDEV_DEVICES/$1/iommu_group")"; }
# hold_group UUID: a process that keeps /dev/vfio/<group> open (as QEMU does); sets HOLDER
hold_group() {
        local g
        g=$(group_of "$1")
        sh -c "exec 3</dev/vfio/$g && exec sleep 120" &
        HOLDER=$!
        wait_until 5 test -e "/proc/$HOLDER/fd/3"
}
unhold() {
        [ -n "${HOLDER:-}" ] || return 0
        kill "$HOLDER" 2>/dev/null
        wait "$HOLDER" 2>/dev/null
        HOLDER=
}
leases() { bus_call ListLeases '' && cat /tmp/bus.out; }
# owner_of DEVICE_PATH: the Device.Owner property
owner_of() {
        timeout 10 busctl --system get-property "$BUS_NAME" "$1" org.vgpud1.Device Owner 2>/dev/null |
                sed -n 's/^s "\(.*\)"$/\1/p'
}
# plan_next PROFILE: Manager.Plan's "next" (fits parent type name core error message), one line
plan_next() {
        bus_call Plan 'sa{sv}' "$1" 0 &&
                grep -oE '(true|false) "[^"]*" "[^"]*" "[^"]*" "[^"]*" "[^"]*" "[^"]*"$' /tmp/bus.out
}
# plan_room TYPE: how many more of an mtty type fit now, by Plan's cores list
plan_room() {
        bus_call Plan 'sa{sv}' "" 0 &&
                grep -oE "\"$1\" \"[^\"]*\" 0 [0-9]+" /tmp/bus.out | awk '{ print $NF }'
}
acq_restart_vgpud() {
        if vgpud_alive; then
                kill -TERM "$VGPUD_PID"
                wait "$VGPUD_PID"
                VGPUD_PID=
        fi
        need_vgpud
}

group_acquire() {
        local u u1 ub up uv uv2 g n a2 next room p
        need_vgpud || return
        mtty_clean
        n=$(mdev_count)

        # ---- by type id, idempotence, by name, Exists
        acq_ok "Acquire mtty-2 for vmtest:a" vmtest:a mtty-2 || return
        u=$ACQ_UUID
        check "$u runs on mtty as mtty-2 when Acquire returns" \
                test -e "$MDEV_DEVICES/$u" -a "$(basename "$(readlink -f "$MDEV_DEVICES/$u/mdev_type")")" = mtty-2 \
                -a "$ACQ_PARENT/$ACQ_TYPE" = mtty/mtty-2
        check "Device.Owner of $u is vmtest:a" test "$(owner_of "$ACQ_PATH")" = vmtest:a
        p=$ACQ_PATH
        if acq vmtest:a mtty-2 && [ "$ACQ_UUID" = "$u" ] && [ "$(mdev_count)" = $((n + 1)) ]; then
                ok "Acquire again for vmtest:a slot 0 gives $u back, nothing new created"
        else
                fail "Acquire again for vmtest:a: '$ACQ_UUID' ${BUS_ERROR:-}, $(mdev_count) devices"
        fi
        acq_ok "Acquire 'Single port serial' (the type's name) for vmtest:a slot 1" \
                vmtest:a "Single port serial" slot u 1
        u1=$ACQ_UUID
        check "slot 1 is another device, mtty-1" test "$ACQ_TYPE" = mtty-1 -a "$u1" != "$u"
        expect_error Exists "Acquire mtty-1 for vmtest:a slot 0 (held with mtty-2)" \
                Acquire 'ssa{sv}' mtty-1 vmtest:a 0
        if leases >/tmp/leases.out && grep -q "\"$u\" \"vmtest:a\" 0 \"mtty\" \"mtty-2\" [0-9]* false true" /tmp/leases.out &&
                grep -q "\"$u1\" \"vmtest:a\" 1 \"mtty\" \"mtty-1\" [0-9]* false true" /tmp/leases.out; then
                ok "ListLeases lists vmtest:a slots 0 and 1"
        else
                fail "ListLeases lacks vmtest:a's slots"
                show /tmp/leases.out
        fi

        # ---- Plan, then the Acquire it describes
        a2=$(avail mtty-2)
        room=$(plan_room mtty-2)
        check "Plan: $room more mtty-2 fit, as available_instances says ($a2)" test "$room" = "$a2"
        next=$(plan_next mtty-2)
        if [ "$next" = 'true "mtty" "mtty-2" "Dual port serial" "mtty" "" ""' ]; then
                ok "Plan mtty-2: next goes to mtty as mtty-2"
        else
                fail "Plan mtty-2: next is '$next'"
                show /tmp/bus.out
        fi
        acq_ok "Acquire mtty-2 for vmtest:b" vmtest:b mtty-2
        ub=$ACQ_UUID
        check "it went where Plan said" test "$ACQ_PARENT $ACQ_TYPE" = "mtty mtty-2"
        check "Plan: one mtty-2 fewer now ($((a2 - 1)))" test "$(plan_room mtty-2)" = $((a2 - 1))

        # ---- leases survive a restart of vgpud
        if acq_restart_vgpud && leases >/tmp/leases.out && grep -q "\"$u\" \"vmtest:a\" 0 " /tmp/leases.out &&
                grep -q "\"$ub\" \"vmtest:b\" 0 " /tmp/leases.out && [ "$(owner_of "$p")" = vmtest:a ]; then
                ok "after a vgpud restart the leases and Device.Owner are back"
        else
                fail "after a vgpud restart the leases are not back"
                show /tmp/leases.out
                vgpud_log
        fi

        # ---- Busy while /dev/vfio/<group> is open, then released; force
        g=$(group_of "$u")
        check "$u has IOMMU group $g and /dev/vfio/$g is a character device" test -n "$g" -a -c "/dev/vfio/$g"
        if hold_group "$u"; then
                ok "a process holds /dev/vfio/$g open"
                expect_error Busy "Release $u while /dev/vfio/$g is open" Release 'sa{sv}' "$u" 0
                if running "$u" && leases >/tmp/leases.out && grep -q "\"$u\" \"vmtest:a\" 0 " /tmp/leases.out; then
                        ok "$u still runs and vmtest:a still holds it"
                else
                        fail "$u gone or its lease dropped after the Busy release"
                        show /tmp/leases.out
                fi
                unhold
        else
                fail "no process could hold /dev/vfio/$g open"
                unhold
        fi
        if rel "$u" && grep -q "\"$u\"" /tmp/bus.out && ! running "$u"; then
                ok "Release $u once the group is closed: gone"
        else
                fail "Release $u after the holder closed the group: ${BUS_ERROR:-} ${BUS_MESSAGE:-}"
        fi
        g=$(group_of "$ub")
        if hold_group "$ub"; then
                expect_error Busy "Release vmtest:b while /dev/vfio/$g is open" Release 'sa{sv}' vmtest:b 0
                if rel vmtest:b force b true && grep -q "\"$ub\"" /tmp/bus.out && ! running "$ub"; then
                        ok "Release vmtest:b with force while the group is open: $ub gone"
                else
                        fail "Release vmtest:b with force: ${BUS_ERROR:-} ${BUS_MESSAGE:-}"
                fi
        else
                fail "no process could hold /dev/vfio/$g open"
        fi
        unhold
        expect_error NotFound "Release of an owner without leases" Release 'sa{sv}' vmtest:nobody 0
        expect_error NotFound "Release vmtest:a slot 0 (released already)" Release 'sa{sv}' vmtest:a 1 slot u 0

        # ---- persist: a definition (auto) that Release removes again
        if acq_ok "Acquire mtty-1 for vmtest:p with persist" vmtest:p mtty-1 persist b true; then
                up=$ACQ_UUID
                check "its definition /etc/mdevctl.d/mtty/$up says mtty-1, auto" \
                        sh -c "tr -d ' \n' </etc/mdevctl.d/mtty/$up | grep -q '\"mdev_type\":\"mtty-1\",\"start\":\"auto\"'"
                if rel vmtest:p && ! running "$up" && [ ! -e "/etc/mdevctl.d/mtty/$up" ]; then
                        ok "Release vmtest:p removes the device and the definition"
                else
                        fail "Release vmtest:p: ${BUS_ERROR:-} ${BUS_MESSAGE:-}; device or definition left"
                fi
        fi

        # ---- vm_uuid: a name-based UUID, the same again after a release
        if acq_ok "Acquire mtty-1 for vmtest:v with a vm_uuid" vmtest:v mtty-1 vm_uuid s 4a3b2c1d-0e0f-4a1b-8c2d-3e4f5a6b7c8d; then
                uv=$ACQ_UUID
                check "$uv is a version 5 UUID" sh -c "echo $uv | grep -qE '^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab]'"
                rel vmtest:v
                acq vmtest:v mtty-1 vm_uuid s 4a3b2c1d-0e0f-4a1b-8c2d-3e4f5a6b7c8d
                uv2=$ACQ_UUID
                check "the same vm_uuid and slot give $uv again" test "$uv2" = "$uv"
                rel vmtest:v
        fi

        # ---- NoCapacity: the shared port pool runs out (the slot 1 mtty-1 of vmtest:a still holds a port)
        a2=$(avail mtty-2)
        local i=0
        while [ "$i" -lt "$a2" ] && acq "vmtest:fill$i" mtty-2; do i=$((i + 1)); done
        check "$a2 Acquires of mtty-2 fill the pool" test "$i" = "$a2" -a "$(avail mtty-2)" = 0
        expect_error NoCapacity "Acquire mtty-2 when the pool is exhausted" Acquire 'ssa{sv}' mtty-2 vmtest:full 0
        # the message has quotes, which busctl escapes: match the struct up to the error name
        if bus_call Plan 'sa{sv}' mtty-2 0 &&
                grep -qE 'false "[^"]*" "[^"]*" "[^"]*" "[^"]*" "org\.vgpud1\.Error\.NoCapacity" ' /tmp/bus.out; then
                ok "Plan mtty-2 on the full pool: next does not fit, NoCapacity"
        else
                fail "Plan mtty-2 on the full pool: ${BUS_ERROR:-no NoCapacity in next}"
                show /tmp/bus.out
        fi

        # ---- clean up: every owner used here
        for owner in $(echo $ACQ_OWNERS | tr ' ' '\n' | sort -u); do
                rel "$owner" >/dev/null 2>&1
        done
        if leases >/tmp/leases.out && ! grep -q 'vmtest:' /tmp/leases.out && [ "$(mdev_count)" = "$n" ]; then
                ok "every lease released, $n devices as before"
        else
                fail "after releasing every owner: $(mdev_count) devices ($n before), leases:"
                show /tmp/leases.out
        fi
        mtty_clean
}

EXTRA_GROUPS="$EXTRA_GROUPS acquire"
