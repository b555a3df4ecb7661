#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The inside of scripts/demo.sh: a private system bus, vgpud on it, and vgpuctl's view.
set -euo pipefail
run=$VGPUD_DEMO_RUN
bin=$VGPUD_BUILDDIR

cat > "$run/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$run/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
CONF
dbus-daemon --config-file="$run/bus.conf" --nofork --nopidfile 2> "$run/bus.log" &
bus_pid=$!
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$run/system_bus_socket
for _ in $(seq 100); do [ -S "$run/system_bus_socket" ] && break; sleep 0.05; done

mkdir -p "$run/state"
"$bin/daemon/vgpud" --definitions-dir "$VGPUD_DEMO_DEFINITIONS" --state-dir "$run/state" 2> "$run/vgpud.log" &
vgpud_pid=$!
cleanup() {
        kill "$vgpud_pid" 2>/dev/null && wait "$vgpud_pid" 2>/dev/null || true
        kill "$bus_pid" 2>/dev/null || true
}
trap cleanup EXIT

for _ in $(seq 200); do
        "$bin/client/vgpuctl" list >/dev/null 2>&1 && break
        kill -0 "$vgpud_pid" 2>/dev/null || { cat "$run/vgpud.log"; exit 1; }
        sleep 0.05
done

show() {
        echo
        echo "\$ vgpuctl $*"
        "$bin/client/vgpuctl" "$@"
}
show status
show types -p 0000:41:00.0
show list
echo
echo "vgpud log: $run/vgpud.log"

if [ "$VGPUD_DEMO_ONCE" = 1 ]; then
        exit 0
fi
echo
echo "vgpud is running. In another shell:"
echo "  export DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS"
echo "  $bin/client/vgpuctl types | less"
echo "  busctl --system tree org.vgpud1"
echo "Press Ctrl-C to stop."
wait "$vgpud_pid"
