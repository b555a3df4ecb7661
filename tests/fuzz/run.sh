#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Build the libFuzzer targets (clang, ASan+UBSan, -Dfuzzing=true) in FUZZ_BUILDDIR and run each for
# SECONDS on a copy of its seed corpus (tests/fuzz/corpus/<target>; the tree is never written). Prints
# "ok: <target> (<runs> runs)" or "FAIL: <target> ..." per target and "N passed, M failed"; a crash,
# leak, timeout or sanitizer report is a failure, its input kept under FUZZ_BUILDDIR/artifacts.
#   tests/fuzz/run.sh FUZZ_BUILDDIR [SECONDS=5] [TARGET...]
# The fuzz tier runs it with 5 s each; the long run (HACKING.md "Fuzzing") with 600.
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
builddir=${1:?usage: run.sh FUZZ_BUILDDIR [SECONDS] [TARGET...]}
seconds=${2:-5}
shift 2 2>/dev/null || shift $#

if [ ! -f "$builddir/build.ninja" ]; then
        CC=clang meson setup "$builddir" "$src" -Dfuzzing=true -Dtests=false \
                -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || exit 1
fi
ninja -C "$builddir" >/dev/null || { ninja -C "$builddir"; exit 1; }

targets=("$@")
if [ ${#targets[@]} = 0 ]; then
        mapfile -t targets < <(cd "$src/tests/fuzz/corpus" && ls)
fi
work=$(mktemp -d /var/tmp/vgpud-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$builddir/artifacts"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
pass=0
fail=0
for t in "${targets[@]}"; do
        bin="$builddir/tests/fuzz/$t"
        if [ ! -x "$bin" ]; then
                echo "FAIL: $t (not built)"
                fail=$((fail + 1))
                continue
        fi
        mkdir -p "$work/$t"
        cp -r "$src/tests/fuzz/corpus/$t/." "$work/$t/"
        log="$work/$t.log"
        if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
                -artifact_prefix="$builddir/artifacts/$t-" "$work/$t" >"$log" 2>&1; then
                runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
                [ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
                echo "ok: $t (${runs:-?} runs in ${seconds}s, corpus $(ls "$work/$t" | wc -l))"
                pass=$((pass + 1))
        else
                echo "FAIL: $t (see below; input under $builddir/artifacts/)"
                tail -40 "$log" >&2
                fail=$((fail + 1))
        fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" = 0 ]
