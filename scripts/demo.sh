#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Set up, build, and run vgpud on a simulated GPU host (or on this machine's own mdev parents with
# VGPUD_DEMO_REAL=1), on a private system bus, and show what vgpuctl sees.
#   VGPUD_DEMO_HOST=default   which simulated host (default, t4, a16, gvtg, mtty, half-full, large)
#   VGPUD_DEMO_ONCE=1         show the tables and stop (default when stdin is not a terminal)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
BUILDDIR=${BUILDDIR:-build}

bash scripts/setup-deps.sh demo
if [ -f "$BUILDDIR/build.ninja" ]; then
        meson setup --reconfigure "$BUILDDIR" >/dev/null
else
        meson setup "$BUILDDIR" >/dev/null
fi
ninja -C "$BUILDDIR" >/dev/null

run=$(mktemp -d /tmp/vgpud-demo.XXXXXX)
export VGPUD_DEMO_RUN=$run VGPUD_BUILDDIR=$top/$BUILDDIR
if [ -z "${VGPUD_DEMO_ONCE:-}" ]; then
        [ -t 0 ] && VGPUD_DEMO_ONCE=0 || VGPUD_DEMO_ONCE=1
fi
export VGPUD_DEMO_ONCE

if [ "${VGPUD_DEMO_REAL:-0}" = 1 ]; then
        echo "Running vgpud on this machine's mdev parents (/sys/class/mdev_bus)"
        export VGPUD_DEMO_DEFINITIONS=/etc/mdevctl.d
        exec bash scripts/demo-session.sh
fi
echo "Running vgpud on the simulated host '${VGPUD_DEMO_HOST:-default}' (tree in $run/host)"
export VGPUD_DEMO_DEFINITIONS=$run/host/etc/mdevctl.d
exec /usr/bin/python3 tests/sim/simhost.py --host "${VGPUD_DEMO_HOST:-default}" --keep "$run/host" -- \
        bash scripts/demo-session.sh
