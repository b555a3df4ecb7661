# SPDX-License-Identifier: LGPL-2.1-or-later
"""The "large" host (16 parents x 20 types, 2,560 running devices, 256 definitions running and 64
not): `list`, `list --dumpjson`, `list -d`, `list -d --dumpjson` and `types` must be byte-identical.
Nothing is timed here; the benchmarks are separate."""

import oracle  # first: it puts tests/sim on sys.path
from oracle import OracleCase, add_comparisons


class Test_large(OracleCase):
    HOST = 'large'

    def test_size(self):
        """The tree really is the large one (guards against a silently shrunk host)."""
        got = self.vgpuctl(['list'])
        self.assertEqual(got.rc, 0, got)
        self.assertEqual(got.out.count(b'\n'), 2560 + 1)
        got = self.vgpuctl(['types'])
        self.assertEqual(got.out.count(b'    Available instances: '), 16 * 20)


add_comparisons(Test_large, [['list'], ['list', '--dumpjson'], ['list', '-d'], ['list', '-d', '--dumpjson'],
                             ['list', '-v'], ['types'], ['types', '--dumpjson'], ('lsmdev', [])])
del oracle
