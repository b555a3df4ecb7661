#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fails when a C file that git tracks (or a new one it does not ignore) differs from what the checked-in
# .clang-format makes of it, and names each such file. Fix with: clang-format -i FILE
# Usage: check-format.sh SOURCE_ROOT
set -euo pipefail
cd "$1"
command -v clang-format >/dev/null || { echo "clang-format is not installed (scripts/setup-deps.sh test)"; exit 1; }
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.c' '*.h')
[ ${#files[@]} -gt 0 ] || { echo "no C files found under $1: is it a git checkout?"; exit 1; }
bad=()
for f in "${files[@]}"; do
        [ -f "$f" ] || continue
        clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
        printf 'not formatted with .clang-format (clang-format -i FILE):\n'
        printf '  %s\n' "${bad[@]}"
        exit 1
fi
echo "${#files[@]} C files formatted as .clang-format says"
