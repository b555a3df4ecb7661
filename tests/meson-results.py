#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Count what one `meson test` run proved, from meson's own JSON log (testlog*.json), and print
'N passed, M failed[, K skipped]' (scripts/run-tests.sh adds these up per tier).

A test that speaks TAP counts once per case (its 'ok'/'not ok' lines); any other test counts once by
meson's result. A test that meson judged failed (a non-zero exit, a timeout, a broken TAP stream) while
none of its cases failed counts one failure more, so that no verdict is lost. Skips count as failed
when CI is set. Usage: meson-results.py TESTLOG_JSON"""

import json
import os
import re
import sys

TAP = re.compile(r'^(not ok|ok)\b[^#]*(#\s*(\w+).*)?$')
GOOD = {'OK', 'EXPECTEDFAIL'}


def count(entry):
    passed = failed = skipped = 0
    tap = False
    for line in entry.get('stdout', '').splitlines():
        m = TAP.match(line)
        if not m:
            continue
        tap = True
        directive = (m.group(3) or '').upper()
        if directive == 'SKIP':
            skipped += 1
        elif m.group(1) == 'ok':
            passed += 1
        else:
            failed += 1
    result = entry.get('result')
    if not tap:
        if result == 'SKIP':
            skipped += 1
        elif result in GOOD:
            passed += 1
        else:
            failed += 1
    elif result not in GOOD and result != 'SKIP' and failed == 0:
        failed += 1
    return passed, failed, skipped


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    passed = failed = skipped = 0
    try:
        with open(argv[0], encoding='utf-8') as f:
            entries = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError) as e:
        print(f'cannot read {argv[0]}: {e}', file=sys.stderr)
        entries = []
    for e in entries:
        p, f, s = count(e)
        passed, failed, skipped = passed + p, failed + f, skipped + s
        if f:
            print(f"  failed: {e.get('name')} ({e.get('result')})", file=sys.stderr)
    if not entries:
        failed += 1  # a tier that ran nothing proves nothing
    if os.environ.get('CI') and skipped:
        failed += skipped
    print(f'{passed} passed, {failed} failed' + (f', {skipped} skipped' if skipped else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
