#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Set up and run every test tier of vgpud. Each tier is a meson suite (tests/meson.build): format
# (clang-format), unit (g_test), integration (private bus + simulated host), faults (vgpud killed at
# every step of Acquire/Release/Define), fuzz (libFuzzer, 5 s per parser), sanitize (clang ASan+UBSan,
# a subset of integration), oracle (Debian's mdevctl 1.2.0, byte for byte), deb (the Debian packages
# and lintian), vm (the real kernel in QEMU) and systemd-vm (the packages under systemd as PID 1 in
# QEMU).
# Prints one line per tier, counted from meson's own log, and a closing "N passed, M failed" line;
# exits non-zero when anything failed or was skipped.
#   BUILDDIR=build                            where to build
#   TIERS="format unit integration faults fuzz sanitize oracle deb vm systemd-vm"   which tiers to run, in this order
set -uo pipefail
cd "$(dirname "$0")/.."
BUILDDIR=${BUILDDIR:-build}
TIERS=${TIERS:-format unit integration faults fuzz sanitize oracle deb vm systemd-vm}

bash scripts/setup-deps.sh test || exit 1

if [ -f "$BUILDDIR/build.ninja" ]; then
        # configure again, so that new test modules (test_*.py) are registered
        meson setup --reconfigure "$BUILDDIR" >/dev/null || exit 1
else
        meson setup "$BUILDDIR" || exit 1
fi
ninja -C "$BUILDDIR" || exit 1

total_pass=0
total_fail=0
summary=()
log="$(realpath -m "$BUILDDIR")/meson-logs/testlog-all.json"

for tier in $TIERS; do
        echo "=== $tier: meson test --setup all --suite $tier"
        rm -f "$log"
        # a tier's tests speak TAP; --verbose shows every case as it runs
        meson test -C "$BUILDDIR" --no-rebuild --setup all --suite "$tier" --print-errorlogs --verbose
        rc=$?
        counts=$(/usr/bin/python3 tests/meson-results.py "$log")
        read -r p _ f _ <<<"${counts//,/ }"
        # meson failing without a failed case (a broken setup, no such suite) is still a failure
        if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
        total_pass=$((total_pass + p))
        total_fail=$((total_fail + f))
        summary+=("$(printf '%-12s %4d passed, %d failed' "$tier" "$p" "$f")")
done

echo
echo "=== summary"
for s in "${summary[@]}"; do echo "$s"; done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ] && [ "$total_pass" -gt 0 ]
