# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for the test VM's guest scripts (busybox sh): result lines, polling with a deadline,
# kernel command line options, and readers for sysfs and for mdevctl-format `types` output.
# Every result is one "ok: ..." or "FAIL: ..." line on the console and one line in $RESULTS.

RESULTS=/run/vgputest/results
mkdir -p /run/vgputest
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket
export LC_ALL=C

MODDIR=/lib/modules/vgpud-test
MDEV_BUS=/sys/class/mdev_bus
MDEV_DEVICES=/sys/bus/mdev/devices

ts() { echo "[$(cut -d' ' -f1 /proc/uptime)] $*"; }
ok() {
        echo "ok: $*"
        echo "ok: $*" >>"$RESULTS"
}
fail() {
        echo "FAIL: $*"
        echo "FAIL: $*" >>"$RESULTS"
}
# check DESCRIPTION COMMAND...: one result line from a command's exit status
check() {
        local what=$1
        shift
        if "$@"; then ok "$what"; else fail "$what"; fi
}
# indent a file or stdin for diagnostics under a result line
show() { sed 's/^/    | /' "$@"; }

# milliseconds since boot
now_ms() {
        local up
        read -r up _ </proc/uptime
        echo $((${up%.*} * 1000 + 1${up#*.}0 - 1000))
}
# wait_until SECONDS COMMAND...: run COMMAND every 0.1 s until it succeeds (0) or time is up (1)
wait_until() {
        local end=$(($(now_ms) + $1 * 1000))
        shift
        while :; do
                "$@" && return 0
                [ "$(now_ms)" -lt "$end" ] || return 1
                sleep 0.1
        done
}

# cmdline_opt NAME DEFAULT: value of NAME=... on the kernel command line
cmdline_opt() {
        local w
        for w in $(cat /proc/cmdline); do
                case $w in "$1"=*) echo "${w#*=}" && return 0 ;; esac
        done
        echo "$2"
}

# sysfs_types: "parent type available_instances device_api name" lines for every type the
# kernel offers, sorted; the name is the trimmed content of the name file, "-" if none.
sysfs_types() {
        local p t name
        for p in "$MDEV_BUS"/*; do
                [ -d "$p/mdev_supported_types" ] || continue
                for t in "$p"/mdev_supported_types/*; do
                        [ -d "$t" ] || continue
                        name=-
                        [ -s "$t/name" ] && name=$(sed 's/^[[:space:]]*//;s/[[:space:]]*$//' "$t/name")
                        [ -n "$name" ] || name=-
                        echo "${p##*/} ${t##*/} $(cat "$t/available_instances") $(cat "$t/device_api") $name"
                done
        done | sort
}
# parse_types < mdevctl-format `types` output: the same lines as sysfs_types
parse_types() {
        awk '
        function flush() { if (type != "") print parent, type, avail, api, (name == "" ? "-" : name); type = "" }
        /^[^ ]/               { flush(); parent = $0; next }
        /^  [^ ]/             { flush(); type = substr($0, 3); avail = "?"; api = "?"; name = ""; next }
        /^    Available instances: / { avail = substr($0, 26); next }
        /^    Device API: /   { api = substr($0, 17); next }
        /^    Name: /         { name = substr($0, 11); next }
        END { flush() }' | sort
}
# avail_of PARENT TYPE < sysfs_types/parse_types lines
avail_of() { awk -v p="$1" -v t="$2" '$1 == p && $2 == t { print $3 }'; }
