# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared helpers for the real-kernel test tier (sourced by the host scripts in tests/vm/).
# Finds the kernel that linux-image-amd64 installed, its headers and source tarball,
# and the cache directory that holds the built modules and the extracted vmlinux.

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # used by the scripts that source this file
SRC_ROOT=$(cd "$VM_DIR/../.." && pwd)

say() { printf 'vm: %s\n' "$*" >&2; }
die() {
        printf 'vm: error: %s\n' "$*" >&2
        exit 1
}

# The kernel release (e.g. 6.1.0-56-amd64) that the linux-image-amd64 meta-package points at.
# KVER in the environment overrides it.
vm_kver() {
        if [ -n "${KVER:-}" ]; then
                printf '%s\n' "$KVER"
                return 0
        fi
        local dep
        dep=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null) ||
                die "linux-image-amd64 is not installed (run tests/vm/setup-deps.sh)"
        # "linux-image-6.1.0-56-amd64 (= 6.1.192-2)" -> 6.1.0-56-amd64 (the signed and unsigned
        # image packages both carry the release after "linux-image-")
        dep=$(printf '%s\n' "$dep" | tr ',|' '\n\n' | sed -n 's/^ *linux-image-\([0-9][^ ]*\).*/\1/p' | head -n1)
        dep=${dep%-unsigned}
        [ -n "$dep" ] || die "cannot read the kernel release from linux-image-amd64's Depends"
        printf '%s\n' "$dep"
}

# "6.1.0-56-amd64" -> "6.1": the series that names linux-source-<series>.
vm_kseries() {
        local v=${1%%-*}
        printf '%s\n' "${v%.*}"
}

# Cache directory for one kernel release.
vm_workdir() {
        if [ -n "${VGPUD_VM_WORKDIR:-}" ]; then
                printf '%s\n' "$VGPUD_VM_WORKDIR"
        elif [ -n "${XDG_CACHE_HOME:-}" ]; then
                printf '%s/vgpud-vm/%s\n' "$XDG_CACHE_HOME" "$1"
        else
                printf '/var/tmp/vgpud-vm/%s\n' "$1"
        fi
}

# Sets KVER, KSERIES, KDIR, KSRC_TAR, VMLINUZ, WORK; fails with a clear message when an input is missing.
vm_find_kernel() {
        KVER=$(vm_kver)
        KSERIES=$(vm_kseries "$KVER")
        KDIR=/lib/modules/$KVER/build
        KSRC_TAR=${KSRC_TAR:-/usr/src/linux-source-$KSERIES.tar.xz}
        VMLINUZ=/boot/vmlinuz-$KVER
        WORK=$(vm_workdir "$KVER")
        [ -e "$KDIR/Makefile" ] || die "no kernel headers at $KDIR (package linux-headers-$KVER)"
        [ -f "$KSRC_TAR" ] || die "no kernel source at $KSRC_TAR (package linux-source-$KSERIES)"
        [ -f "$VMLINUZ" ] || die "no kernel image at $VMLINUZ (package linux-image-$KVER)"
        [ -r "$VMLINUZ" ] || die "$VMLINUZ is not readable (run as root)"
        mkdir -p "$WORK"
}

# vm_copy_modules DIR MODULE...: copies each module (a name, alias or .ko path of kernel $KVER)
# after its dependencies and "pre:" soft dependencies into DIR as plain ELF <name>.ko, and appends
# the names in load order to DIR/load.order; soft dependencies are marked "?<name>" (they may fail
# to load: crc32c_intel needs SSE4.2, which TCG's default CPU lacks). Fails on an unknown module.
vm_copy_modules() {
        local dir=$1 m
        shift
        mkdir -p "$dir"
        declare -gA VM_MOD_SEEN=()
        for m in "$@"; do
                modinfo -k "$KVER" -F filename "$m" >/dev/null 2>&1 || die "no kernel module $m for $KVER"
                vm_copy_module_ "$dir" "$m"
        done
}
vm_copy_module_() { # DIR MODULE [optional]
        local dir=$1 f name d opt=${3:-}
        for f in $(if [[ $2 == */* ]]; then echo "$2"; else modinfo -k "$KVER" -F filename "$2"; fi); do
                [[ -n $f && $f != "(builtin)" ]] || continue
                name=$(basename "$f")
                name=${name%%.ko*}
                name=${name//-/_}
                [ -z "${VM_MOD_SEEN[$name]:-}" ] || continue
                VM_MOD_SEEN[$name]=1
                for d in $(modinfo -F depends "$f" | tr ',' ' '); do vm_copy_module_ "$dir" "$d" "$opt"; done
                for d in $(modinfo -F softdep "$f" | sed -n 's/^pre: *//p'); do vm_copy_module_ "$dir" "$d" optional; done
                case $f in
                *.ko.xz) xz -dc "$f" >"$dir/$name.ko" ;;
                *.ko.zst) zstd -dcq "$f" >"$dir/$name.ko" ;;
                *.ko.gz) gzip -dc "$f" >"$dir/$name.ko" ;;
                *) cp "$f" "$dir/$name.ko" ;;
                esac
                echo "${opt:+?}$name" >>"$dir/load.order"
        done
}
