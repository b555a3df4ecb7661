#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The sanitizer tier: vgpud and vgpuctl built with clang's AddressSanitizer and UndefinedBehaviorSanitizer
# (clang, not gcc: gcc's libasan must be loaded first and clashes with umockdev's preload) in
# ASAN_BUILDDIR, then a named subset of the integration tier on that build, as TAP. The subset keeps the
# tier's time bounded (a few minutes on 2 cores) while covering every request kind, the private socket's
# attacks, the faults, the crashes and the front's own D-Bus (TestFrontPath): SANITIZE_TESTS overrides it
# (e.g. "" for the whole tier).
#   tests/sanitize.sh ASAN_BUILDDIR
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:?usage: sanitize.sh ASAN_BUILDDIR}
subset=${SANITIZE_TESTS-test_hostile test_faults fault_crash test_lifecycle.TestDefinitions test_lifecycle.TestStartStop test_lifecycle.TestSlowKernel test_acquire.TestLeases test_inventory.TestPrivateSocket test_private_changes.TestFrontPath}

if [ ! -f "$builddir/build.ninja" ]; then
        CC=clang meson setup "$builddir" "$src" -Db_sanitize=address,undefined -Db_lundef=false \
                -Dtests=false >&2 || exit 1
fi
ninja -C "$builddir" >&2 || exit 1
# a report ends the process with a failure; the harness fails a test whose daemon did not exit 0
# a small quarantine, so that RSS bounds (test_hostile) measure vgpud and not ASan's freed-memory cache
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=66:quarantine_size_mb=16
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=67
export VGPUD_BUILDDIR="$builddir" VGPUD_TEST_SANITIZED=1
# the simulator's write shim (creates answered inside write(2), as by a kernel) from the build this
# one lives in: the sanitizer build has no tests of its own
shim="$builddir/../tests/sim/libvgpud-simvf.so"
[ -e "$shim" ] && export VGPUD_SIM_SHIM="$shim"
# shellcheck disable=SC2086
exec /usr/bin/python3 "$src/tests/integration/run.py" --tap $subset
