# SPDX-License-Identifier: LGPL-2.1-or-later
"""The "odd" host (tests/sim/hosts.py): a type without a name file, an empty name, a multi-line
description with stray white space, a non-PCI device API, attribute values with quotes,
backslashes, non-ASCII, empty, padded and multi-line text, a repeated attribute name, one UUID
defined on two parents, a definition for a parent that is not present, "start": "Auto", a
definition file named with an upper-case UUID, one named not-a-uuid, a parent with no types,
plus two things mdevctl 1.2.0 cannot cope with:

- a corrupt definition file: 1.2.0 fails `list -d` (every parent) with "Error: EOF while parsing";
- a type whose available_instances is not a number: 1.2.0 fails `types` (every parent) with
  "Error: invalid digit found in string".

vgpuctl must do better there: skip the bad item with a warning on stderr. So every comparison
below runs mdevctl on a REFERENCE tree: the same tree without the corrupt definition file, without
the garbage type, and without the upper-case-named definition file (vgpud skips file names that
are not canonical UUIDs with a warning; 1.2.0 hides such a file from `list -d` text output but
shows it in `list -d --dumpjson`, an inconsistency vgpuctl does not copy). The tests at the end
check that mdevctl 1.2.0 really fails on the original tree, and that vgpuctl warns."""

import os
import shutil

import oracle  # first: it puts tests/sim on sys.path
import hosts
from oracle import OracleCase, add_comparisons, build_host
from test_hosts import commands_for

PARENT = '0000:0a:00.0'
CORRUPT = hosts.make_uuid('odd', 7)
UPPER = hosts.make_uuid('odd', 4).upper()
SHARED = hosts.make_uuid('odd', 3)


def odd_reference(root, ref):
    """A copy of the odd tree at root without what mdevctl 1.2.0 chokes on (see above)."""
    oracle.copy_tree(root, ref)
    defs = os.path.join(ref, 'etc', 'mdevctl.d', PARENT)
    os.unlink(os.path.join(defs, CORRUPT))
    os.unlink(os.path.join(defs, UPPER))
    types = os.path.realpath(os.path.join(ref, 'sys', 'class', 'mdev_bus', PARENT, 'mdev_supported_types'))
    shutil.rmtree(os.path.join(types, 'odd-garbage'))
    return ref


class Test_odd(OracleCase):
    HOST = 'odd'

    @classmethod
    def make_reference(cls, root):
        return odd_reference(root, os.path.join(cls.tmp, 'reference'))

    def test_mdevctl_fails_on_corrupt_definition(self):
        """1.2.0 fails `list -d` for every parent; vgpuctl lists the rest and names the file."""
        want = self.mdevctl(self.root, ['list', '-d'])
        self.assertEqual((want.rc, want.out), (1, b''), want)
        self.assertIn(b'Error: EOF while parsing', want.err)
        got = self.vgpuctl(['list', '-d'])
        self.assertEqual(got.rc, 0, got)
        self.assertIn(('Warning: ' + os.path.join(self.root, 'etc', 'mdevctl.d', PARENT, CORRUPT)).encode(), got.err)
        self.assertIn(SHARED.encode(), got.out)

    def test_mdevctl_fails_on_garbage_available_instances(self):
        """1.2.0 fails `types` for every parent; vgpuctl skips the one type with a warning."""
        want = self.mdevctl(self.root, ['types'])
        self.assertEqual((want.rc, want.out), (1, b''), want)
        got = self.vgpuctl(['types'])
        self.assertEqual(got.rc, 0, got)
        self.assertIn(b'odd-garbage', got.err)
        self.assertNotIn(b'odd-garbage', got.out)
        self.assertIn(b'odd-normal', got.out)

    def test_upper_case_file_name(self):
        """1.2.0 shows the upper-case-named definition in JSON but not in text; vgpuctl in neither,
        with a warning."""
        tree = oracle.copy_tree(self.root, os.path.join(self.tmp, 'no-corrupt'))
        os.unlink(os.path.join(tree, 'etc', 'mdevctl.d', PARENT, CORRUPT))
        want = self.mdevctl(tree, ['list', '-d', '--dumpjson'])
        self.assertIn(UPPER.lower().encode(), want.out)
        want = self.mdevctl(tree, ['list', '-d'])
        self.assertNotIn(UPPER.lower().encode(), want.out)
        got = self.vgpuctl(['list', '-d', '--dumpjson'])
        self.assertNotIn(UPPER.lower().encode(), got.out)
        self.assertIn(UPPER.encode(), got.err)

    def test_warnings_only_on_stderr(self):
        got = self.vgpuctl(['list', '-d'])
        for line in got.err.decode().splitlines():
            self.assertTrue(line.startswith('Warning: '), line)
        self.assertNotIn(b'Warning', got.out)


add_comparisons(Test_odd, commands_for(build_host('odd')) + [
    ['list', '-d', '-u', SHARED], ['list', '-d', '-u', SHARED, '--dumpjson'],
    ['list', '-d', '-u', SHARED, '-p', '0000:0b:00.0', '--dumpjson'],
    ['types', '-p', '0000:0b:00.0'], ['types', '-p', '0000:0b:00.0', '--dumpjson'],
    ['list', '-d', '-p', '0000:99:00.0', '-v'],
])
