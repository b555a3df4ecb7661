#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run a test tier that reports 'ok: WHAT' and 'FAIL: WHAT' lines and closes with 'N passed, M failed'
(the QEMU tiers), and give meson TAP: one line per check on stdout, the tier's own output on stderr.

The tier fails as a whole (an extra 'not ok') when it exits non-zero, when it printed no closing line,
or when its closing line disagrees with the checks it printed: a verdict must not rest on a count that
nobody saw. Usage: tap-wrap.py COMMAND [ARG...]"""

import re
import subprocess
import sys

CHECK = re.compile(r'^(ok|FAIL): (.*)$')
CLOSING = re.compile(r'^(?:[A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed')


def main(argv):
    if not argv:
        print('usage: tap-wrap.py COMMAND [ARG...]', file=sys.stderr)
        return 2
    number = 0
    passed = failed = 0
    closing = None

    def line(ok, what):
        nonlocal number
        number += 1
        print(f"{'ok' if ok else 'not ok'} {number} - {what.replace('#', '')}", flush=True)

    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            errors='replace')
    for raw in proc.stdout:
        sys.stderr.write(raw)
        text = raw.rstrip('\n')
        m = CHECK.match(text)
        if m:
            ok = m.group(1) == 'ok'
            passed += ok
            failed += not ok
            line(ok, m.group(2))
            continue
        m = CLOSING.match(text)
        if m:
            closing = (int(m.group(1)), int(m.group(2)))
    rc = proc.wait()
    sys.stderr.flush()
    if rc != 0:
        line(False, f'{argv[0]} exited with status {rc}')
    if closing is None:
        line(False, 'the tier printed no closing "N passed, M failed" line')
    elif closing != (passed, failed):
        line(False, f'the closing line says {closing[0]} passed, {closing[1]} failed, '
                    f'but the tier printed {passed} ok and {failed} FAIL lines')
    if number == 0:
        line(False, 'no check ran')
    print(f'1..{number}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
