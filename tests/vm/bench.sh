#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The real-kernel benchmark group: vgpud against mdevctl 1.2.0 on the real mdev core (QEMU/TCG,
# mtty and mbochs), per operation and 16/64 at once. Not part of CI or of run.sh's default groups:
# it prints figures ("bench: ..." lines, summed up at the end) and fails only when an operation
# did not do its work, never on speed.
#
#   tests/vm/bench.sh [BUILDDIR]      (root; BUILDDIR defaults to "build")
# vgpud runs as vgpud.service runs it, with its private socket (at /run/vgpud-private: the guest has
# no RuntimeDirectory=).
# Environment: VGPUD_VM_SMP (guest CPUs, default 2 here), VGPUD_VM_TIMEOUT (default 1200 here),
# anything run.sh reads. The whole console stays in run.sh's last-serial.log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
VGPUD_VM_SMP=${VGPUD_VM_SMP:-2} VGPUD_VM_TIMEOUT=${VGPUD_VM_TIMEOUT:-1200} "$here/run.sh" --single-boot \
        --groups bench --vgpud-args --private-socket=/run/vgpud-private \
        --file "$here/guest-bench.sh:/tests/groups.d/bench.sh" "$@" >"$log" 2>&1 || rc=$?
grep -E '^(bench:|ok:|FAIL:|\[[0-9.]+\] bench:)' "$log" || true
tail -n1 "$log"
[ "$rc" = 0 ] || { echo "bench.sh: run.sh failed ($rc); the console:" >&2; tail -n 40 "$log" >&2; }
exit "$rc"
