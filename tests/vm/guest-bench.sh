# SPDX-License-Identifier: LGPL-2.1-or-later
# The test VM's benchmark group "bench" (tests/vm/bench.sh ships this file as
# /tests/groups.d/bench.sh and runs only this group; it is not part of run.sh's default groups and
# never of CI). On the real mdev core with the mtty and mbochs samples, vgpud against mdevctl
# 1.2.0 in the same boot:
#   - per operation: BENCH_SEQ (10) sequential `mdevctl start -p mtty -t mtty-1` and as many
#     `mdevctl stop`, `vgpuctl start -p mtty -t mtty-1` / `vgpuctl stop`, `vgpuctl acquire` /
#     `vgpuctl release`; each batch timed as a whole (the guest's clock, /proc/uptime, counts in
#     10 ms steps) and divided; BENCH_ROUNDS (3) rounds, interleaved;
#   - concurrent: 16 and 64 at once of `mdevctl start`, `vgpuctl start` and `vgpuctl acquire`, wall
#     time until the last returns, on the first type with that many instances free (mtty's pool has
#     24 ports: 16 go to mtty-1; mbochs-1 takes 64 with the module's default 256 MiB);
#     BENCH_BURST_ROUNDS (7) rounds with the order of the kinds rotated, each batch after `udevadm
#     settle` (mdevctl returns before udevd has handled its devices: their events would delay the
#     next batch).
# Prints "bench: ..." lines with the times and the ratios (mdevctl's time over vgpud's: above 1,
# vgpud is faster): of the medians, of the fastest rounds ("of mins": what load from outside the VM
# touches least), and the median of the ratios within each round (both kinds ran back to back). Result lines only say whether each batch did its work (every device made,
# every device gone), never anything about speed. Uses guest-lifecycle.sh's helpers.

BENCH_SEQ=10
BENCH_ROUNDS=3
BENCH_BURST_ROUNDS=7

# Both programs under the same guard (guest-test.sh's vgpuctl() gives up after 10 s, which 64 queued
# requests under TCG outlast; the guard costs both the same fork). vgpuctl finds vgpud's private
# socket as on a host where vgpud.service runs it (bench.sh starts vgpud with --private-socket).
bctl() { VGPUD_SOCKET=/run/vgpud-private timeout 300 "$VGPUCTL" "$@"; }
mctl() { timeout 300 mdevctl "$@"; }

# bench_type N: "PARENT TYPE" of the first type with at least N instances free, preferring mtty-1
bench_type() {
        local t
        for t in "$MDEV_BUS"/mtty/mdev_supported_types/mtty-1 "$MDEV_BUS"/*/mdev_supported_types/*; do
                [ -e "$t/available_instances" ] || continue
                if [ "$(cat "$t/available_instances")" -ge "$1" ]; then
                        t=${t#"$MDEV_BUS"/}
                        echo "${t%%/*} ${t##*/}"
                        return 0
                fi
        done
        return 1
}

# bench_clean [N]: release owners bench-burst-1..N, then remove every mdev and definition left
bench_clean() {
        local d i
        for i in $(seq "${1:-0}"); do
                bctl release --owner "bench-burst-$i" >/dev/null 2>&1
        done
        for d in "$MDEV_DEVICES"/*; do
                [ -e "$d" ] && echo 1 >"$d/remove" 2>/dev/null
        done
        rm -f /etc/mdevctl.d/*/* 2>/dev/null
        wait_until 10 test "$(mdev_count)" = 0
        # the next batch starts with udevd's queue empty (mdevctl returns before udevd has handled
        # its devices; their events would otherwise delay whichever batch comes next) and vgpud
        # having seen every device go
        udevadm settle --timeout=60 2>/dev/null
        wait_until 10 test -z "$(bctl list 2>/dev/null)"
}

# bench_ms: the time of the last batch in ms, from BENCH_T0
bench_ms() { echo $(($(now_ms) - BENCH_T0)); }

# bench_seq KIND PARENT TYPE: BENCH_SEQ sequential creates then as many removes of one kind;
# appends "create_ms remove_ms" per round to /tmp/bench.KIND
bench_seq() {
        local kind=$1 p=$2 t=$3 i u uuids= owners= made c r
        udevadm settle --timeout=60 2>/dev/null # what the batch before left to udevd is not timed here
        BENCH_T0=$(now_ms)
        for i in $(seq "$BENCH_SEQ"); do
                case $kind in
                mdevctl) u=$(mctl start -p "$p" -t "$t") ;;
                start) u=$(bctl start -p "$p" -t "$t") ;;
                acquire) u=$(bctl acquire --owner "bench-seq-$i" "$t") ;;
                esac
                uuids="$uuids $u"
        done
        c=$(bench_ms)
        made=0
        for u in $uuids; do running "$u" && made=$((made + 1)); done
        BENCH_T0=$(now_ms)
        i=0
        for u in $uuids; do
                i=$((i + 1))
                case $kind in
                mdevctl) mctl stop -u "$u" ;;
                start) bctl stop -u "$u" ;;
                acquire) bctl release --owner "bench-seq-$i" >/dev/null ;;
                esac
        done
        r=$(bench_ms)
        [ "$made" = "$BENCH_SEQ" ] && [ "$(mdev_count)" = 0 ] || {
                fail "bench: $kind: $made of $BENCH_SEQ devices made, $(mdev_count) left after removing them"
                bench_clean
                return 1
        }
        echo "$c $r" >>"/tmp/bench.$kind"
}

# bench_burst KIND N PARENT TYPE: N creates at once of one kind; BURST_MS is the wall time until
# the last returns (0 when not every device was made)
bench_burst() {
        local kind=$1 n=$2 p=$3 t=$4 i pids=
        BENCH_T0=$(now_ms)
        for i in $(seq "$n"); do
                case $kind in
                mdevctl) mctl start -p "$p" -t "$t" >/dev/null & ;;
                start) bctl start -p "$p" -t "$t" >/dev/null & ;;
                acquire) bctl acquire --owner "bench-burst-$i" "$t" >/dev/null & ;;
                esac
                pids="$pids $!"
        done
        for i in $pids; do wait "$i"; done
        BURST_MS=$(bench_ms)
        if [ "$(mdev_count)" = "$n" ]; then
                ok "bench: $n concurrent $kind on $p/$t made $n devices"
        else
                fail "bench: $n concurrent $kind on $p/$t made $(mdev_count) devices"
                BURST_MS=0
        fi
        if [ "$kind" = acquire ]; then bench_clean "$n"; else bench_clean; fi
}

# median_col FILE COLUMN
median_col() { awk -v c="$2" '{ print $c }' "$1" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
min_col() { awk -v c="$2" '{ print $c }' "$1" | sort -n | head -n1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
# paired_ratio A B: the median over rounds of A's time over B's in the same round (files of one
# number per round, in round order)
paired_ratio() {
        awk 'NR == FNR { a[FNR] = $1; next } $1 > 0 { print a[FNR] / $1 }' "$1" "$2" | sort -n |
                awk '{ v[NR] = $1 } END { if (NR) printf "%.2fx", v[int((NR + 1) / 2)]; else print "n/a" }'
}
per_op() { awk -v a="$1" -v n="$BENCH_SEQ" 'BEGIN { printf "%.1f ms", a / n }'; }

group_bench() {
        local r kind pt p t n m s a
        need_vgpud || { fail "bench: vgpud is not running"; return; }
        bench_clean
        ts "bench: $(grep -c ^processor /proc/cpuinfo) CPU(s), kernel $(uname -r)"
        rm -f /tmp/bench.*
        set -- $(bench_type "$BENCH_SEQ") || { fail "bench: no type with $BENCH_SEQ instances"; return; }
        p=$1 t=$2
        for r in $(seq "$BENCH_ROUNDS"); do
                for kind in mdevctl start acquire; do
                        bench_seq "$kind" "$p" "$t" || return
                done
        done
        ok "bench: $BENCH_ROUNDS rounds of $BENCH_SEQ sequential operations of each kind on $p/$t"
        m=$(median_col /tmp/bench.mdevctl 1)
        s=$(median_col /tmp/bench.start 1)
        a=$(median_col /tmp/bench.acquire 1)
        echo "bench: per operation on $p/$t, median of $BENCH_ROUNDS rounds of $BENCH_SEQ:"
        echo "bench:   create  mdevctl start $(per_op "$m")  vgpuctl start $(per_op "$s") ($(ratio "$m" "$s"))  vgpuctl acquire $(per_op "$a") ($(ratio "$m" "$a"))"
        m=$(median_col /tmp/bench.mdevctl 2)
        s=$(median_col /tmp/bench.start 2)
        a=$(median_col /tmp/bench.acquire 2)
        echo "bench:   remove  mdevctl stop  $(per_op "$m")  vgpuctl stop  $(per_op "$s") ($(ratio "$m" "$s"))  vgpuctl release $(per_op "$a") ($(ratio "$m" "$a"))"
        for n in 16 64; do
                if ! pt=$(bench_type "$n"); then
                        echo "bench: $n concurrent: no type has $n instances free here"
                        continue
                fi
                set -- $pt
                # BENCH_BURST_ROUNDS rounds, the order of the kinds rotated each round
                rm -f /tmp/burst.*
                for r in $(seq "$BENCH_BURST_ROUNDS"); do
                        case $((r % 3)) in
                        1) kinds="mdevctl start acquire" ;;
                        2) kinds="start acquire mdevctl" ;;
                        0) kinds="acquire mdevctl start" ;;
                        esac
                        for kind in $kinds; do
                                bench_burst "$kind" "$n" "$1" "$2"
                                echo "$BURST_MS" >>"/tmp/burst.$kind"
                        done
                done
                m=$(median_col /tmp/burst.mdevctl 1)
                s=$(median_col /tmp/burst.start 1)
                a=$(median_col /tmp/burst.acquire 1)
                echo "bench: $n concurrent on $1/$2, until the last returns, $BENCH_BURST_ROUNDS rounds (ms, in round order: mdevctl $(tr '\n' ' ' </tmp/burst.mdevctl)/ start $(tr '\n' ' ' </tmp/burst.start)/ acquire $(tr '\n' ' ' </tmp/burst.acquire)):"
                echo "bench:   median  mdevctl start ${m} ms  vgpuctl start ${s} ms ($(ratio "$m" "$s"))  vgpuctl acquire ${a} ms ($(ratio "$m" "$a"))"
                m=$(min_col /tmp/burst.mdevctl 1)
                s=$(min_col /tmp/burst.start 1)
                a=$(min_col /tmp/burst.acquire 1)
                echo "bench:   fastest mdevctl start ${m} ms  vgpuctl start ${s} ms ($(ratio "$m" "$s"))  vgpuctl acquire ${a} ms ($(ratio "$m" "$a"))"
                echo "bench:   within each round, median: start $(paired_ratio /tmp/burst.mdevctl /tmp/burst.start)  acquire $(paired_ratio /tmp/burst.mdevctl /tmp/burst.acquire)"
        done
        echo "bench: ratios are mdevctl's time over vgpud's (above 1: vgpud is faster); vgpuctl returns once the device is ready"
        bench_clean
}
