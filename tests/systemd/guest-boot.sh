# SPDX-License-Identifier: LGPL-2.1-or-later
# The systemd tier's check groups (sourced by guest.sh): boot1 and boot2 and their helpers.

UNIT=/lib/systemd/system/vgpud.service

# not COMMAND...: succeeds when COMMAND fails (for check)
not() { ! "$@"; }

# show_matches KEY VALUE: systemctl show's value of KEY is VALUE (as sets of words, any case);
# the few settings systemctl shows under another name or form are special-cased
show_matches() {
        local key=$1 want=$2 got norm
        case $key in
        WatchdogSec) key=WatchdogUSec ;;
        esac
        got=$(systemctl show -p "$key" --value vgpud.service)
        # as sets of words, any case, without the "-" (ignore if missing) of paths
        norm() { tr ' ' '\n' | tr 'A-Z' 'a-z' | sed '/^$/d; s|^-/|/|' | sort -u | tr '\n' ' '; }
        case $key in
        ExecStart) [[ $got == *"argv[]=${want}"* ]] ;;
        SystemCallErrorNumber) [ "$want" = EPERM ] && [ "$got" = 1 ] ;; # shown as the number
        # ProtectClock= adds "char-rtc r" beside the unit's own entries: the unit's must be among them
        DeviceAllow) [[ " $(echo $got) " == *" $want "* ]] ;;
        IPAddressDeny) [ "$want" = any ] && [ "$(echo "$got" | norm)" = "$(echo '0.0.0.0/0 ::/0' | norm)" ] ;;
        # an allow list (@system-service) without @privileged and @resources
        SystemCallFilter)
                [[ $got != "~"* ]] && [[ " $got " == *" read "* ]] && [[ " $got " != *" swapon "* ]] &&
                        [[ " $got " != *" reboot "* ]] && [[ " $got " != *" setrlimit "* ]] ;;
        *) [ "$(echo "$want" | norm)" = "$(echo "$got" | norm)" ] ;;
        esac || {
                fail "unit setting $1=$want: systemctl show says '$got'"
                return 1
        }
}

check_hardening() {
        local line key value n=0 bad=0 pid
        while IFS= read -r line; do
                case $line in '' | '#'* | '['*) continue ;; esac
                key=${line%%=*}
                value=${line#*=}
                n=$((n + 1))
                show_matches "$key" "$value" || bad=$((bad + 1))
        done < <(sed -n '/^\[Service\]/,/^\[/p' "$UNIT")
        [ "$bad" = 0 ] && [ "$n" -gt 20 ] && ok "every one of the unit's $n [Service] settings is in effect (systemctl show)"
        # and as the kernel sees the process
        pid=$(systemctl show -p MainPID --value vgpud.service)
        if [ "${pid:-0}" -gt 0 ]; then
                check "vgpud (pid $pid): NoNewPrivs 1, seccomp filter mode" \
                        grep -qx 'NoNewPrivs:[[:space:]]*1' /proc/$pid/status
                check "vgpud: seccomp mode 2" grep -qx 'Seccomp:[[:space:]]*2' /proc/$pid/status
                check "vgpud: bounding set is CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH only" \
                        grep -qx 'CapBnd:[[:space:]]*0000000000080004' /proc/$pid/status
                check "vgpud: a mount namespace of its own" \
                        test "$(readlink /proc/$pid/ns/mnt)" != "$(readlink /proc/1/ns/mnt)"
                check "vgpud: /usr is read-only in it" not nsenter -t "$pid" -m test -w /usr
                check "vgpud: /home is not visible in it" not nsenter -t "$pid" -m test -e /home/alice
                check "vgpud: /sys (mtty-2/create) is writable in it" \
                        nsenter -t "$pid" -m test -w /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/create
                check "vgpud: /etc/mdevctl.d and /var/lib/vgpud are writable in it" \
                        nsenter -t "$pid" -m sh -c 'test -w /etc/mdevctl.d && test -w /var/lib/vgpud'
                touch /tmp/vgputest-host-tmp
                check "vgpud: /tmp is private" not nsenter -t "$pid" -m test -e /tmp/vgputest-host-tmp
        else
                fail "vgpud.service has no main process"
        fi
}

# man_shows PAGE... TEXT: `man PAGE...` prints TEXT (man-db as installed, no pager)
man_shows() {
        local text=${*: -1}
        MANPAGER=cat MANWIDTH=100 man "${@:1:$#-1}" 2>/tmp/man.err | grep -qF -- "$text"
}
check_man() {
        check "man vgpuctl" man_shows vgpuctl "vgpuctl, mdevctl, lsmdev - control the vGPU"
        check "man vgpuctl documents acquire's --persist" man_shows vgpuctl "--persist"
        check "man 8 vgpud" man_shows 8 vgpud "vgpud - mediated device and vGPU manager daemon"
        check "man 5 org.vgpud1 (from the D-Bus contract)" man_shows 5 org.vgpud1 "INTERFACE org.vgpud1.Manager"
        check "man mdevctl is vgpuctl's page (vgpud-mdevctl)" man_shows mdevctl "vgpuctl, mdevctl, lsmdev"
}

# completes USER WORD...: Tab's candidates for WORD... in bash as USER, on one line, sorted
completes() {
        local user=$1
        shift
        setpriv --reuid="$user" --regid="$user" --init-groups --reset-env \
                /usr/local/lib/vgputest/complete.sh "$@" 2>&1 | sort | tr '\n' ' '
}
check_completion() {
        local u got
        u=$(cat "$STATE/acquired" 2>/dev/null)
        got=$(completes alice vgpuctl st)
        [ "$got" = "start status stop " ] && ok "Tab: vgpuctl st -> $got" || fail "Tab: vgpuctl st -> '$got'"
        got=$(completes alice vgpuctl start -p "")
        [ "$got" = "mbochs mdpy mtty " ] && ok "Tab: vgpuctl start -p -> $got(as alice)" || fail "Tab: vgpuctl start -p -> '$got'"
        got=$(completes alice vgpuctl stop -u "")
        [ "$got" = "$(printf '%s\n' "$U_AUTO" "$u" | sort | tr '\n' ' ')" ] && ok "Tab: vgpuctl stop -u -> $got" ||
                fail "Tab: vgpuctl stop -u -> '$got'"
        got=$(completes alice vgpuctl release --owner "")
        [ "$got" = "$OWNER " ] && ok "Tab: vgpuctl release --owner -> $got" || fail "Tab: vgpuctl release --owner -> '$got'"
        got=$(completes root mdevctl list --d)
        [ "$got" = "--defined --dumpjson " ] && ok "Tab: mdevctl list --d -> $got" || fail "Tab: mdevctl list --d -> '$got'"
}

# the journal's lines of one vGPU: journalctl -u vgpud VGPUD_UUID=<uuid> [MORE MATCHES]
vgpu_journal() {
        local u=$1
        shift
        journalctl -b -u vgpud.service --no-pager -o cat "VGPUD_UUID=$u" "$@" 2>&1
}
check_journal() {
        local u=$1 n
        vgpu_journal "$U_AUTO" >/tmp/journal.out
        n=$(wc -l </tmp/journal.out)
        if grep -q "^define $U_AUTO done" /tmp/journal.out && grep -q "^start $U_AUTO done" /tmp/journal.out &&
                grep -q "^Mediated device $U_AUTO (mtty-2 on mtty) appeared" /tmp/journal.out &&
                ! grep -v "$U_AUTO" /tmp/journal.out | grep -q .; then
                ok "journalctl -u vgpud VGPUD_UUID=$U_AUTO: its define, start and appearance, nothing else ($n lines)"
        else
                fail "journalctl -u vgpud VGPUD_UUID=$U_AUTO"
                show /tmp/journal.out
        fi
        check "journal: the acquire of $u carries VGPUD_OWNER=$OWNER VGPUD_TYPE=mtty-2 and its MESSAGE_ID" \
                test "$(vgpu_journal "$u" VGPUD_OWNER="$OWNER" VGPUD_TYPE=mtty-2 VGPUD_REQUEST=acquire \
                        MESSAGE_ID=fca8da828fc74557b1a6c27a765f517b)" = "acquire $u done"
        check "journal: alice's refused start left no request event" \
                test -z "$(journalctl -b -u vgpud.service --no-pager -o cat MESSAGE_ID=604341d84e6f4468ac65819caf116c10)"
}

METRICS=/var/lib/prometheus/node-exporter/vgpud.prom
# metrics_used FILE: the mtty core's vgpud_core_vgpus_used in a metrics text
metrics_used() { sed -n 's/^vgpud_core_vgpus_used{core="mtty"} \([0-9]*\)$/\1/p' "$1"; }
check_metrics() {
        local n
        n=$(ls -d /sys/class/mdev_bus/mtty/mdev_supported_types/*/devices/* | wc -l)
        if wait_until 10 sh -c "[ \"\$(sed -n 's/^vgpud_core_vgpus_used{core=\"mtty\"} //p' $METRICS)\" = $n ]"; then
                ok "the hardened service keeps $METRICS: mtty's core uses $n vGPUs, as sysfs says"
        else
                fail "$METRICS does not show mtty's $n vGPUs"
                show "$METRICS"
        fi
        as_alice vgpuctl metrics
        check "alice: vgpuctl metrics shows the same vGPUs used" test "$(metrics_used /tmp/alice.out)" = "$n"
        check "vgpuctl metrics counts the acquire" grep -q '^vgpud_requests_total{request="acquire",result="ok"} 1$' /tmp/alice.out
}

# as_alice COMMAND...: run as the unprivileged user, output in /tmp/alice.out
as_alice() { setpriv --reuid=alice --regid=alice --init-groups --reset-env "$@" >/tmp/alice.out 2>&1; }

check_unprivileged() {
        local cmd n
        for cmd in types list status "list -d"; do
                # shellcheck disable=SC2086
                if as_alice vgpuctl $cmd && vgpuctl $cmd >/tmp/root.out 2>&1 && cmp -s /tmp/alice.out /tmp/root.out; then
                        ok "alice: vgpuctl $cmd works and prints what root's does"
                else
                        fail "alice: vgpuctl $cmd"
                        show /tmp/alice.out
                fi
        done
        # the fast path: with the bus and the private socket out of reach only the snapshot can answer
        check "vgpud publishes /run/vgpud/snapshot, readable by anyone" \
                test "$(stat -c %a /run/vgpud/snapshot /run/vgpud/snapshot.lock | tr '\n' ' ')" = "644 644 "
        for cmd in types list "list -d"; do
                # shellcheck disable=SC2086
                if as_alice env DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent VGPUD_SOCKET=/nonexistent \
                        VGPUD_SNAPSHOT=/run/vgpud/snapshot vgpuctl $cmd && vgpuctl $cmd >/tmp/root.out 2>&1 &&
                        cmp -s /tmp/alice.out /tmp/root.out; then
                        ok "alice: vgpuctl $cmd from the snapshot alone prints what root's does"
                else
                        fail "alice: vgpuctl $cmd from the snapshot"
                        show /tmp/alice.out
                fi
        done
        n=$(ls "$MDEV_DEVICES" | wc -l)
        for cmd in "start -p mtty -t mtty-2" "define -u 0b5f2a36-3c5d-4a7e-8d22-5b5d1f0c0a01 -p mtty -t mtty-2" \
                "acquire mtty-2 --owner alice:1" "stop -u $U_AUTO"; do
                # shellcheck disable=SC2086
                if as_alice vgpuctl $cmd; then
                        fail "alice: vgpuctl $cmd was allowed"
                else
                        ok "alice: vgpuctl $cmd is refused: $(head -n1 /tmp/alice.out)"
                fi
        done
        check "alice's refused changes left the devices as they were" test "$(ls "$MDEV_DEVICES" | wc -l)" = "$n"
        check "alice's refused define wrote nothing" test ! -e /etc/mdevctl.d/mtty/0b5f2a36-3c5d-4a7e-8d22-5b5d1f0c0a01
}

boot1() {
        local out u before after
        wait_until 30 test -d /sys/class/mdev_bus/mtty && ok "the sample mdev parents are registered ($(ls /sys/class/mdev_bus | tr '\n' ' '))" ||
                fail "mtty is not registered"
        if dpkg -i /root/debs/vgpud_*.deb /root/debs/vgpud-mdevctl_*.deb >/tmp/dpkg.out 2>&1; then
                ok "dpkg -i vgpud vgpud-mdevctl"
        else
                fail "dpkg -i vgpud vgpud-mdevctl"
                show /tmp/dpkg.out
                return
        fi
        check "vgpud.service is enabled" test "$(systemctl is-enabled vgpud.service)" = enabled
        if wait_until 30 svc_active; then ok "vgpud.service is active after the install"; else
                fail "vgpud.service is $(systemctl is-active vgpud.service) after the install"
                journalctl -b -u vgpud --no-pager | tail -n 20 | show
                return
        fi
        check_hardening
        systemd-analyze security vgpud.service >/tmp/security.out 2>&1
        grep -q 'Overall exposure level for vgpud.service' /tmp/security.out &&
                ok "systemd-analyze security (guest): $(grep -o 'Overall exposure level.*' /tmp/security.out)" ||
                { fail "systemd-analyze security vgpud.service"; show /tmp/security.out; }
        check "mdevctl (vgpud-mdevctl) is vgpuctl" test "$(readlink -f /usr/bin/mdevctl)" = /usr/bin/vgpuctl
        check_man

        # an auto definition, started now, and a --persist vGPU
        check "vgpuctl define -u $U_AUTO -p mtty -t mtty-2 --auto" vgpuctl define -u "$U_AUTO" -p mtty -t mtty-2 --auto
        check "vgpuctl start -u $U_AUTO" vgpuctl start -u "$U_AUTO"
        if u=$(vgpuctl acquire mtty-2 --owner "$OWNER" --persist 2>/tmp/acq.err) && running "$u"; then
                ok "vgpuctl acquire mtty-2 --owner $OWNER --persist: $u"
                echo "$u" >"$STATE/acquired"
        else
                fail "vgpuctl acquire --persist"
                show /tmp/acq.err
        fi
        check_unprivileged
        check_completion
        check_metrics

        # systemctl stop leaves every device and file; a call on the bus starts vgpud again
        snapshot >/tmp/before
        pid=$(systemctl show -p MainPID --value vgpud.service)
        systemctl stop vgpud.service
        check "systemctl stop: vgpud.service is inactive" test "$(systemctl is-active vgpud.service)" = inactive
        snapshot >/tmp/after
        if cmp -s /tmp/before /tmp/after && grep -q "$U_AUTO" /tmp/after; then
                ok "systemctl stop left every device and file as it was ($(wc -l </tmp/after) entries)"
        else
                fail "systemctl stop changed devices or files"
                diff /tmp/before /tmp/after | show
        fi
        if out=$(busctl --system get-property org.vgpud1 /org/vgpud1 org.vgpud1.Manager Version 2>&1) && svc_active; then
                ok "D-Bus activation: a call to org.vgpud1 started vgpud.service ($out, pid $pid -> $(systemctl show -p MainPID --value vgpud.service))"
        else
                fail "D-Bus activation: $out; vgpud.service is $(systemctl is-active vgpud.service)"
        fi
        vgpuctl list >/tmp/list.out 2>&1
        check "after activation vgpuctl list shows both devices again" \
                grep -q "^$U_AUTO mtty mtty-2 auto (defined)" /tmp/list.out
        [ -s "$STATE/acquired" ] && check "... and the acquired one" grep -q "^$(cat "$STATE/acquired") " /tmp/list.out
        check_journal "$(cat "$STATE/acquired")"
}

boot2() {
        local u
        u=$(cat "$STATE/acquired" 2>/dev/null)
        if wait_until 60 svc_active; then ok "boot 2: vgpud.service is active"; else
                fail "boot 2: vgpud.service is $(systemctl is-active vgpud.service)"
                journalctl -b -u vgpud --no-pager | tail -n 20 | show
        fi
        check "boot 2: the auto definition $U_AUTO runs again" wait_until 30 running "$U_AUTO"
        check "boot 2: the --persist vGPU $u runs again" wait_until 30 running "$u"
        vgpuctl status >/tmp/status.out 2>&1
        check "boot 2: vgpuctl status shows its owner $OWNER" grep -q "$OWNER" /tmp/status.out || show /tmp/status.out
        check "boot 2: journalctl -b VGPUD_UUID=$U_AUTO shows its autostart" \
                wait_until 10 sh -c "journalctl -b -u vgpud.service -o cat VGPUD_UUID=$U_AUTO VGPUD_REQUEST=start | grep -q '^start $U_AUTO done'"

        # removal keeps the state, purge removes it; definitions stay
        if dpkg -r vgpud-mdevctl vgpud >/tmp/dpkg.out 2>&1; then ok "dpkg -r vgpud-mdevctl vgpud"; else
                fail "dpkg -r"
                show /tmp/dpkg.out
        fi
        check "after dpkg -r no vgpud process runs" not grep -qx vgpud /proc/[0-9]*/comm
        check "after dpkg -r the leases are kept" test -s /var/lib/vgpud/leases
        check "after dpkg -r the devices still run" running "$U_AUTO"
        check "after dpkg -r the metrics file is gone (no stale numbers for node_exporter)" test ! -e "$METRICS"
        dpkg -P vgpud >/tmp/dpkg.out 2>&1 || { fail "dpkg -P vgpud"; show /tmp/dpkg.out; }
        check "after dpkg -P /var/lib/vgpud is gone" test ! -e /var/lib/vgpud
        check "after dpkg -P the definition /etc/mdevctl.d/mtty/$U_AUTO stays" test -f "/etc/mdevctl.d/mtty/$U_AUTO"
}
