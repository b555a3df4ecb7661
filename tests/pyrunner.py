# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run the unittest modules (test_*.py) of one folder and close with 'N passed, M failed'.

A skipped test counts as failed when CI is set (CI=true), as in power-profiles-daemon: a tier
that silently skips proves nothing. Usage: pyrunner.main(folder, pattern='test_*.py')."""

import os
import sys
import unittest


class _Result(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def main(folder, pattern='test_*.py'):
    folder = os.path.abspath(folder)
    sys.path.insert(0, folder)
    sys.path.insert(0, os.path.dirname(folder))
    names = sys.argv[1:]
    loader = unittest.TestLoader()
    if names:
        suite = loader.loadTestsFromNames(names)
    else:
        suite = loader.discover(folder, pattern=pattern, top_level_dir=folder)
    runner = unittest.TextTestRunner(verbosity=2, resultclass=_Result, stream=sys.stdout)
    result = runner.run(suite)
    skipped = len(result.skipped)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    if os.environ.get('CI') and skipped:
        print(f'{skipped} skipped test(s) count as failed because CI is set')
        failed += skipped
    print(f'{result.passed} passed, {failed} failed' + (f', {skipped} skipped' if skipped else ''))
    return 0 if failed == 0 and result.passed > 0 else 1
