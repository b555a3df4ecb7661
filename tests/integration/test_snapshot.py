# SPDX-License-Identifier: LGPL-2.1-or-later
"""The inventory vgpud publishes for read commands (common/snapshot.h): `list`, `list -d` and `types`
read it with the bus and the private socket out of reach, so what they print can only have come from
the snapshot; it shows a change as soon as the change request was answered; a snapshot whose writer
is gone, or a damaged one, is never printed (vgpuctl asks vgpud over D-Bus instead); anyone may read
it; and the program that reads it maps no libsystemd."""

import os
import signal
import subprocess

import vgpudtest
from test_acquire import T4, V1
from test_vgpuctl_alloc import VgpuctlAllocCase

NOBODY = 65534


class TestSnapshot(VgpuctlAllocCase):

    def setUp(self):
        super().setUp()
        os.chmod(self.workdir, 0o755)  # nobody reaches the snapshot (as /run/vgpud is 0755)

    def offline(self, *args, uid=None):
        """vgpuctl with the system bus and the private socket out of reach: (rc, stdout, stderr)."""
        env = self.env()
        env['DBUS_SYSTEM_BUS_ADDRESS'] = 'unix:path=' + os.path.join(self.workdir, 'no-bus')
        env['VGPUD_SOCKET'] = os.path.join(self.workdir, 'no-socket')
        argv = [os.path.join(vgpudtest.builddir(), 'client', 'vgpuctl')] + list(args)
        if uid is not None:
            argv = ['setpriv', '--reuid=%d' % uid, '--regid=%d' % uid, '--clear-groups'] + argv
        p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def offline_ok(self, *args, uid=None):
        rc, out, err = self.offline(*args, uid=uid)
        self.assertEqual(rc, 0, 'vgpuctl %s: %s' % (' '.join(args), err))
        return out

    def test_same_as_over_dbus(self):
        self.vgpuctl_ok('define', '-u', V1, '-p', T4, '-t', 'nvidia-231')
        self.vgpuctl_ok('modify', '-u', V1, '--addattr', 'x', '--value', 'y')
        self.vgpuctl_ok('start', '-u', V1)
        for args in (['list'], ['list', '--dumpjson'], ['list', '-d', '-v'], ['list', '-d', '--dumpjson'],
                     ['types'], ['types', '--dumpjson'], ['types', '-p', T4], ['list', '-u', V1]):
            env = dict(self.env(), VGPUD_SNAPSHOT='')  # over D-Bus, as before the snapshot
            path = os.path.join(vgpudtest.builddir(), 'client', 'vgpuctl')
            p = subprocess.run([path] + args, capture_output=True, text=True, env=env, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(self.offline_ok(*args), p.stdout, args)
        self.assertIn(V1, self.offline_ok('list'))

    def test_a_change_shows_right_after_its_answer(self):
        self.vgpuctl_ok('define', '-u', V1, '-p', T4, '-t', 'nvidia-231')
        self.assertIn(V1 + ' ' + T4 + ' nvidia-231 manual\n', self.offline_ok('list', '-d'))
        self.assertNotIn(V1, self.offline_ok('list'))
        before = self.offline_ok('types', '-p', T4)
        self.vgpuctl_ok('start', '-u', V1)
        self.assertEqual(self.offline_ok('list'), V1 + ' ' + T4 + ' nvidia-231 manual (defined)\n\n')
        self.assertNotEqual(self.offline_ok('types', '-p', T4), before)  # available_instances went down
        self.vgpuctl_ok('stop', '-u', V1)
        self.assertNotIn(V1, self.offline_ok('list'))
        self.vgpuctl_ok('undefine', '-u', V1)
        self.assertNotIn(V1, self.offline_ok('list', '-d'))

    def test_anyone_reads_it(self):
        self.vgpuctl_ok('define', '-u', V1, '-p', T4, '-t', 'nvidia-231')
        self.assertIn(V1, self.offline_ok('list', '-d', uid=NOBODY))
        self.assertIn(T4, self.offline_ok('types', uid=NOBODY))

    def test_killed_daemon_is_not_shown(self):
        self.vgpuctl_ok('define', '-u', V1, '-p', T4, '-t', 'nvidia-231')
        self.assertIn(V1, self.offline_ok('list', '-d'))
        self.stop_vgpud(sig=signal.SIGKILL)
        self.assertTrue(os.path.exists(self.snapshot_path()), 'the dead daemon left its snapshot')
        # with nobody to ask, vgpuctl says so instead of printing the dead daemon's picture
        rc, out, err = self.offline('list', '-d')
        self.assertEqual((rc, out), (1, ''), err)
        rc, out, err = self.run_vgpuctl('list', '-d')
        self.assertEqual((rc, out), (1, ''), err)
        self.assertIn('vgpud', err)
        # what changed meanwhile shows once a vgpud runs again
        os.unlink(os.path.join(self.sim.definitions_dir, T4, V1))
        # vgpud keeps its next write's temporary file made ahead: one a killed vgpud left goes too
        d, name = os.path.split(self.snapshot_path())
        stale = os.path.join(d, '.%s.k1ll3d' % name)
        open(stale, 'w').close()
        self.start_vgpud()
        self.assertNotIn(V1, self.offline_ok('list', '-d'))
        self.assertFalse(os.path.exists(stale))
        self.assertLessEqual(len([f for f in os.listdir(d) if f.startswith('.' + name + '.')]), 1)

    def test_damaged_snapshot_falls_back(self):
        self.vgpuctl_ok('define', '-u', V1, '-p', T4, '-t', 'nvidia-231')
        good = self.offline_ok('list', '-d')
        path = self.snapshot_path()
        with open(path, 'rb') as f:
            data = f.read()
        for damaged in (data[:len(data) // 2], b'', b'VGPUDSN1' + b'\xff' * 8, b'x' * len(data),
                        data[:-8] + b'\xff' * 8):
            with open(path, 'wb') as f:
                f.write(damaged)
            # nothing to read it from but the snapshot: an error, never a crash or a wrong listing
            rc, out, err = self.offline('list', '-d')
            self.assertEqual((rc, out), (1, ''), 'damaged %r: %s' % (damaged[-16:], err))
            # with vgpud reachable: its answer
            rc, out, err = self.run_vgpuctl('list', '-d')
            self.assertEqual((rc, out), (0, good), err)

    def test_front_maps_no_libsystemd(self):
        front = os.path.join(vgpudtest.builddir(), 'client', 'vgpuctl')
        p = subprocess.run(['ldd', front], capture_output=True, text=True)
        self.assertNotIn('libsystemd', p.stdout)
        # a static executable (where GLib's static library is installed), else linked to libc
        if 'not a dynamic executable' not in p.stdout + p.stderr:
            self.assertIn('libc.so', p.stdout)
        full = os.path.join(vgpudtest.builddir(), 'client', 'vgpuctl-full')
        p = subprocess.run(['ldd', full], capture_output=True, text=True, check=True)
        self.assertIn('libsystemd', p.stdout)

    def test_other_commands_and_options_reach_the_full_client(self):
        # --vf is not in the snapshot, `status` not in the front: both go to vgpuctl-full, over D-Bus
        rc, out, err = self.offline('list', '--vf')
        self.assertEqual(rc, 1, err)
        self.assertIn('not reachable', err)
        self.assertIn(T4, self.vgpuctl_ok('types', '--vf'))
        rc, out, err = self.offline('list', '--bogus')
        self.assertEqual(rc, 2)
        self.assertIn("Found argument '--bogus'", err)
