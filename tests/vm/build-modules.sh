#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the kernel's sample mdev parent drivers (mtty, mdpy, mbochs) out of tree against the
# installed kernel headers, and extracts an uncompressed vmlinux that QEMU can boot directly.
# Results are cached in the work dir (see lib.sh) and rebuilt only when an input changes:
#   $WORK/modules/{mtty,mdpy,mbochs}.ko   $WORK/vmlinux (only if it has a PVH entry point)
# Prints the work dir on stdout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vm_find_kernel
# one builder at a time per cache dir (several runs may start together)
exec 9>"$WORK/.lock"
flock 9

pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo none; }

# Everything the outputs depend on, in one string.
key=$(
        printf 'kver=%s\n' "$KVER"
        printf 'headers=%s\n' "$(pkgver "linux-headers-$KVER")"
        printf 'source=%s %s\n' "$(pkgver "linux-source-$KSERIES")" "$(stat -L -c '%s %Y' "$KSRC_TAR")"
        printf 'image=%s\n' "$(stat -L -c '%s %Y' "$VMLINUZ")"
        printf 'script=%s\n' "$(sha256sum <"$0" | cut -d' ' -f1)"
)
stamp=$WORK/modules.stamp
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] && [ -f "$WORK/modules/mtty.ko" ]; then
        say "modules for $KVER are up to date in $WORK"
        printf '%s\n' "$WORK"
        exit 0
fi

say "building sample mdev drivers for $KVER in $WORK"
rm -f "$stamp"
rm -rf "$WORK/src" "$WORK/modules" "$WORK/vmlinux"
mkdir -p "$WORK/src" "$WORK/modules"

# One pass over the (xz) tarball: the samples and the kernel's vmlinux extractor.
top=linux-source-$KSERIES
tar -xJf "$KSRC_TAR" -C "$WORK/src" --wildcards "$top/samples/vfio-mdev/*" "$top/scripts/extract-vmlinux" ||
        die "cannot extract samples/vfio-mdev from $KSRC_TAR"

mod=$WORK/src/mdev-samples
mkdir -p "$mod"
cp "$WORK/src/$top"/samples/vfio-mdev/*.[ch] "$mod/"
# The in-tree Makefile keys on CONFIG_SAMPLE_VFIO_MDEV_*, unset in Debian's config. mdpy-fb is a
# guest framebuffer driver, not an mdev parent.
echo 'obj-m := mtty.o mdpy.o mbochs.o' >"$mod/Kbuild"
# Debian signs its modules but does not force signatures: unsigned ones load (taint only).
if ! make -C "$KDIR" M="$mod" -j"$(nproc)" modules >"$WORK/build.log" 2>&1; then
        cat "$WORK/build.log" >&2
        die "module build failed (log: $WORK/build.log)"
fi
for m in mtty mdpy mbochs; do
        vm=$(modinfo -F vermagic "$mod/$m.ko" | cut -d' ' -f1)
        [ "$vm" = "${KVER}" ] || die "$m.ko has vermagic '$vm', expected $KVER"
        cp "$mod/$m.ko" "$WORK/modules/"
done

# An uncompressed vmlinux with a PVH ELF note (XEN_ELFNOTE_PHYS32_ENTRY, type 0x12) boots with
# qemu -kernel and skips the XZ decompressor, which is slow under TCG.
if bash "$WORK/src/$top/scripts/extract-vmlinux" "$VMLINUZ" >"$WORK/vmlinux.tmp" 2>/dev/null &&
        readelf -n "$WORK/vmlinux.tmp" | grep -q 'Xen.*0x00000012'; then
        mv "$WORK/vmlinux.tmp" "$WORK/vmlinux"
else
        say "no PVH-capable vmlinux (will boot $VMLINUZ, slower)"
        rm -f "$WORK/vmlinux.tmp"
fi

printf '%s\n' "$key" >"$stamp"
say "built: $(cd "$WORK/modules" && echo *.ko)$([ -f "$WORK/vmlinux" ] && echo ' + vmlinux')"
printf '%s\n' "$WORK"
