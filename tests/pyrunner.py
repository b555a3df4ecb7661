# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run the unittest modules (test_*.py) of one folder.

Two ways to report, one rule: a skipped test counts as failed when CI is set (CI=true), as in
power-profiles-daemon, because a tier that silently skips proves nothing.
- By hand: verbose unittest output closing with 'N passed, M failed'.
- Under meson (`--tap` first): TAP on standard output, one line per test case, so that meson counts
  every case; everything else (unittest's progress, the daemon's logs, subprocesses) goes to stderr.
Usage: pyrunner.main(folder, pattern='test_*.py'); arguments: [--tap] [test names ...]."""

import os
import sys
import traceback
import unittest


class _Result(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


class _TapResult(_Result):
    """unittest's text result on stderr plus one TAP line per test on `tap`."""

    def __init__(self, tap, ci, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tap = tap
        self.ci = ci
        self.number = 0

    def _line(self, ok, test, directive=''):
        self.number += 1
        name = test.id().replace('#', '')
        self.tap.write(f"{'ok' if ok else 'not ok'} {self.number} - {name}{directive}\n")
        self.tap.flush()

    def _diagnose(self, err):
        for line in ''.join(traceback.format_exception(*err)).splitlines():
            self.tap.write(f'# {line}\n')

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(False, test)
        self._diagnose(err)

    def addError(self, test, err):
        super().addError(test, err)
        # errors in setUpClass/tearDownClass come with a _ErrorHolder, not a TestCase
        self._line(False, test)
        self._diagnose(err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        reason = reason.replace('\n', ' ')
        if self.ci:
            self._line(False, test, f' # skipped, which counts as failed under CI: {reason}')
        else:
            self._line(True, test, f' # SKIP {reason}')

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._line(True, test, ' # TODO expected failure')

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line(False, test, ' # unexpected success')


def _tap_stream():
    """Keep the real stdout for TAP alone; point fd 1 and sys.stdout at stderr for everything
    else, subprocesses included."""
    tap = os.fdopen(os.dup(1), 'w', buffering=1)
    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return tap


def main(folder, pattern='test_*.py'):
    folder = os.path.abspath(folder)
    sys.path.insert(0, folder)
    sys.path.insert(0, os.path.dirname(folder))
    names = sys.argv[1:]
    tap = None
    if names and names[0] == '--tap':
        names = names[1:]
        tap = _tap_stream()
    ci = bool(os.environ.get('CI'))
    loader = unittest.TestLoader()
    if names:
        suite = loader.loadTestsFromNames(names)
    else:
        suite = loader.discover(folder, pattern=pattern, top_level_dir=folder)
    if tap is not None:
        def resultclass(*args, **kwargs):
            return _TapResult(tap, ci, *args, **kwargs)
    else:
        resultclass = _Result
    runner = unittest.TextTestRunner(verbosity=2, resultclass=resultclass, stream=sys.stdout)
    result = runner.run(suite)
    skipped = len(result.skipped)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    if ci and skipped:
        print(f'{skipped} skipped test(s) count as failed because CI is set')
        failed += skipped
    if tap is not None:
        if result.number == 0:
            result.number = 1
            tap.write('not ok 1 - no test ran\n')
        tap.write(f'1..{result.number}\n')
        tap.close()
    print(f'{result.passed} passed, {failed} failed' + (f', {skipped} skipped' if skipped else ''))
    return 0 if failed == 0 and result.passed > 0 else 1
