#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Build the Debian packages (vgpud, vgpud-mdevctl) from this checkout, as Debian would:
# `dpkg-buildpackage -us -uc -b` on a copy of the tracked and untracked-but-not-ignored files
# (the checkout stays clean; no build directory is copied), then lintian, which must report no
# errors (its warnings are printed). Usage: build-deb.sh [OUTDIR]   (default: build-deb)
# Prints the paths of the .deb files, one a line, on stdout as its last lines.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
out=${1:-build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)

bash scripts/setup-deps.sh deb >&2

work=$(mktemp -d /var/tmp/vgpud-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/vgpud"
git -C "$top" ls-files -z -co --exclude-standard | (cd "$top" && tar --null -T - -cf -) | tar -xf - -C "$work/vgpud"
(cd "$work/vgpud" && dpkg-buildpackage -us -uc -b) >"$out/dpkg-buildpackage.log" 2>&1 || {
        tail -n 60 "$out/dpkg-buildpackage.log" >&2
        echo "build-deb: dpkg-buildpackage failed (log: $out/dpkg-buildpackage.log)" >&2
        exit 1
}
rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out/"

# lintian: errors fail the build, warnings are shown (lintian exits 2 only on errors by default)
changes=$(ls "$out"/*.changes)
if ! lintian --fail-on error "$changes" >"$out/lintian.log" 2>&1; then
        cat "$out/lintian.log" >&2
        echo "build-deb: lintian reports errors" >&2
        exit 1
fi
grep -v '^running with root privileges' "$out/lintian.log" | sed 's/^/lintian: /' >&2 || true
ls "$out"/*.deb
