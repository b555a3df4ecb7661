#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Set up and run every test tier of vgpud: unit (meson test), integration (private bus + simulated
# host), the mdevctl oracle, and the real kernel in QEMU. Prints one line per tier and a closing
# "N passed, M failed" line; exits non-zero when anything failed or was skipped.
#   BUILDDIR=build   where to build
#   TIERS="unit integration oracle deb vm"   which tiers to run
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
BUILDDIR=${BUILDDIR:-build}
TIERS=${TIERS:-unit integration oracle deb vm}
PY=/usr/bin/python3
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

bash scripts/setup-deps.sh test || exit 1

if [ -f "$BUILDDIR/build.ninja" ]; then
        meson setup --reconfigure "$BUILDDIR" >/dev/null || exit 1
else
        meson setup "$BUILDDIR" || exit 1
fi
ninja -C "$BUILDDIR" || exit 1

total_pass=0
total_fail=0
summary=()

# record TIER PASSED FAILED
record() {
        total_pass=$((total_pass + $2))
        total_fail=$((total_fail + $3))
        summary+=("$(printf '%-12s %4d passed, %d failed' "$1" "$2" "$3")")
}

# The closing "N passed, M failed" line a tier printed, as "N M" (or "0 1" when it printed none).
counts_of() {
        local line
        line=$(grep -E '^[[:space:]]*([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
        if [ -z "$line" ]; then
                echo "0 1"
                return
        fi
        echo "$line" | sed -E 's/^[^0-9]*([0-9]+) passed, ([0-9]+) failed.*/\1 \2/'
}

run_tier() { # NAME COMMAND...
        local name=$1 log="$results/$1.log" rc p f
        shift
        echo "=== $name: $*"
        "$@" 2>&1 | tee "$log"
        rc=${PIPESTATUS[0]}
        read -r p f < <(counts_of "$log")
        # a tier that failed without saying so still counts as one failure
        if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
        record "$name" "$p" "$f"
}

for tier in $TIERS; do
        case $tier in
        unit)
                echo "=== unit: meson test"
                meson test -C "$BUILDDIR" --print-errorlogs 2>&1 | tee "$results/unit.log"
                ok=$(sed -nE 's/^Ok:[[:space:]]+([0-9]+).*/\1/p' "$results/unit.log" | tail -n 1)
                bad=$(sed -nE 's/^(Fail|Unexpected Pass|Timeout):[[:space:]]+([0-9]+).*/\2/p' "$results/unit.log" |
                      awk '{s += $1} END {print s + 0}')
                skipped=$(sed -nE 's/^Skipped:[[:space:]]+([0-9]+).*/\1/p' "$results/unit.log" | tail -n 1)
                record unit "${ok:-0}" "$((bad + ${skipped:-0}))"
                ;;
        integration)
                run_tier integration env VGPUD_BUILDDIR="$top/$BUILDDIR" "$PY" tests/integration/run.py
                ;;
        oracle)
                run_tier oracle env VGPUD_BUILDDIR="$top/$BUILDDIR" "$PY" tests/oracle/run.py
                ;;
        deb)
                # the Debian packages, built as Debian builds them, and lintian without errors
                run_tier deb bash -c 'bash scripts/build-deb.sh "$1" && echo "1 passed, 0 failed"' _ "$top/build-deb"
                ;;
        vm)
                run_tier vm bash tests/vm/run.sh "$top/$BUILDDIR"
                ;;
        *)
                echo "unknown tier '$tier'" >&2
                record "$tier" 0 1
                ;;
        esac
done

echo
echo "=== summary"
for s in "${summary[@]}"; do echo "$s"; done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ] && [ "$total_pass" -gt 0 ]
