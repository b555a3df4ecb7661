# SPDX-License-Identifier: LGPL-2.1-or-later
"""Where vgpuctl deliberately differs from mdevctl 1.2.0, and how it fails when vgpud is away.

A running device whose definition (same parent, same UUID) names another type: 1.2.0 prints the
definition's type for the running device (it overwrites what sysfs says; 1.3.0 stopped doing that),
so `list --dumpjson` hands libvirt a wrong type. vgpuctl prints the running type, with the
definition's start mode and attributes. The reference for `list` is therefore mdevctl on the tree
whose definition names the running type; `list -d` (which shows the definition, not marked
active because the types differ) is compared with mdevctl on the unchanged tree."""

import os

import oracle  # first: it puts tests/sim on sys.path
import hosts
from oracle import OracleCase

T4 = '0000:41:00.0'
U = hosts.make_uuid('deviation', 1)


def t4_with_stale_definition():
    h = hosts.t4()
    running = hosts.nvidia_type_by_name(h, T4, 'GRID T4-2Q')
    h.add_mdev(U, T4, running)
    h.define(T4, U, hosts.nvidia_type_by_name(h, T4, 'GRID T4-4Q'), 'auto', [('b', '1'), ('a', '2')])
    return h


class Test_type_mismatch(OracleCase):
    HOST = t4_with_stale_definition

    @classmethod
    def make_reference(cls, root):
        ref = oracle.copy_tree(root, os.path.join(cls.tmp, 'reference'))
        h = hosts.t4()
        running = hosts.nvidia_type_by_name(h, T4, 'GRID T4-2Q')
        with open(os.path.join(ref, 'etc', 'mdevctl.d', T4, U), 'w') as f:
            f.write(hosts.definition_text(running, 'auto', [('b', '1'), ('a', '2')]))
        return ref

    def test_running_type_shown(self):
        for args in (['list'], ['list', '-v'], ['list', '--dumpjson'], ['list', '-u', U, '--dumpjson']):
            with self.subTest(args=args):
                self.assert_same(args)

    def test_mdevctl_shows_definition_type(self):
        """Documents the 1.2.0 behaviour that vgpuctl does not copy."""
        want = self.mdevctl(self.root, ['list'])
        four_q = hosts.nvidia_type_by_name(self.host, T4, 'GRID T4-4Q')
        self.assertIn((' %s auto (defined)' % four_q).encode(), want.out)

    def test_definitions_as_mdevctl(self):
        for args in (['list', '-d'], ['list', '-d', '-v'], ['list', '-d', '--dumpjson']):
            with self.subTest(args=args):
                self.assert_same(args, reference_root=self.root)


class Test_daemon_away(OracleCase):
    HOST = 'mtty'

    def test_not_running(self):
        self.stop_daemon()
        try:
            for args in (['list'], ['list', '-d'], ['types'], ['status']):
                with self.subTest(args=args):
                    got = self.vgpuctl(args, name='vgpuctl')
                    self.assertEqual((got.rc, got.out), (1, b''), got)
                    self.assertEqual(got.err.decode(),
                                     'Error: vgpud is not running (org.vgpud1 has no owner on the system bus)\n')
        finally:
            self.start_daemon(self.root)

    def test_no_bus(self):
        env = dict(oracle.CLEAN_ENV, DBUS_SYSTEM_BUS_ADDRESS='unix:path=' + os.path.join(self.tmp, 'no-such-socket'))
        import subprocess
        p = subprocess.run([os.path.join(self.bindir, 'mdevctl'), 'list'], capture_output=True, env=env)
        self.assertEqual((p.returncode, p.stdout), (1, b''))
        err = p.stderr.decode()
        self.assertTrue(err.startswith('Error: vgpud is not reachable'), err)
        self.assertEqual(err.count('\n'), 1, err)

    def test_command_line_needs_no_daemon(self):
        """A rejected command line is rejected before connecting."""
        self.stop_daemon()
        try:
            got = self.vgpuctl(['list', '-x'])
            self.assertEqual(got.rc, 2)
        finally:
            self.start_daemon(self.root)
