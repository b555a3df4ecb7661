# SPDX-License-Identifier: LGPL-2.1-or-later
"""Root's changes over vgpud's private socket, as vgpuctl makes them where vgpud.service runs: define,
modify, start, stop, undefine, acquire and release with the system bus out of reach, so that each
can only have gone through the socket; the definition file, the device and the lease are checked
after each. Anyone but root gets no change there (vgpud has no bus name to ask polkit about) and
vgpuctl, falling back to the unreachable bus, fails without touching anything."""

import json
import os
import subprocess

import vgpudtest
from test_acquire import T4, UUID_RE, V1
from test_vgpuctl_alloc import VgpuctlAllocCase

NOBODY = 65534


class TestPrivateChanges(VgpuctlAllocCase):
    start_daemon = False

    def setUp(self):
        super().setUp()
        os.chmod(self.workdir, 0o755)
        self.sock = os.path.join(self.workdir, 'private')
        self.start_vgpud(['--private-socket', self.sock])

    def ctl(self, *args, socket=None, uid=None):
        """vgpuctl with the system bus unreachable and VGPUD_SOCKET set: (rc, stdout, stderr)."""
        env = self.env()
        env['DBUS_SYSTEM_BUS_ADDRESS'] = 'unix:path=' + os.path.join(self.workdir, 'no-bus')
        env['VGPUD_SOCKET'] = socket or self.sock
        path = os.path.join(vgpudtest.builddir(), 'client', 'vgpuctl')
        argv = [path] + list(args)
        if uid is not None:
            argv = ['setpriv', '--reuid=%d' % uid, '--regid=%d' % uid, '--clear-groups'] + argv
        p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def ctl_ok(self, *args):
        rc, out, err = self.ctl(*args)
        self.assertEqual(rc, 0, 'vgpuctl %s: %s' % (' '.join(args), err))
        return out

    def definition(self, parent, uuid):
        path = os.path.join(self.sim.definitions_dir, parent, uuid)
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return json.load(f)

    def test_the_bus_is_really_out_of_reach(self):
        # without the socket the same command has nowhere to go: the others cannot pass by the bus
        rc, out, err = self.ctl('define', '-u', V1, '-p', T4, '-t', 'nvidia-231',
                                socket=os.path.join(self.workdir, 'no-socket'))
        self.assertEqual(rc, 1, err)
        self.assertIn('not reachable', err)
        self.assertIsNone(self.definition(T4, V1))

    def test_define_modify_start_stop_undefine(self):
        self.ctl_ok('define', '-u', V1, '-p', T4, '-t', 'nvidia-231')
        self.assertEqual(self.definition(T4, V1)['mdev_type'], 'nvidia-231')
        # the daemon's picture follows before the answer
        self.assertIn(V1, self.ctl_ok('list', '-d'))
        self.ctl_ok('modify', '-u', V1, '--addattr', 'x', '--value', 'y')
        self.assertEqual(self.definition(T4, V1)['attrs'], [{'x': 'y'}])
        self.ctl_ok('start', '-u', V1)
        self.assertIn(V1, self.running())
        self.ctl_ok('stop', '-u', V1)
        self.assertNotIn(V1, self.running())
        self.ctl_ok('undefine', '-u', V1)
        self.assertIsNone(self.definition(T4, V1))
        self.assertNotIn(V1, self.ctl_ok('list', '-d'))

    def test_acquire_and_release(self):
        uuid = self.ctl_ok('acquire', 'T4-2Q', '--owner', 'test:private').strip()
        self.assertRegex(uuid, UUID_RE)
        self.assertIn(uuid, self.running())
        self.assertEqual(self.lease_map()[uuid][0], 'test:private')
        self.assertEqual(self.ctl_ok('release', '--owner', 'test:private'), uuid + '\n')
        self.assertNotIn(uuid, self.running())
        self.assertEqual(self.leases(), [])

    def test_anyone_else_changes_nothing(self):
        rc, out, err = self.ctl('define', '-u', V1, '-p', T4, '-t', 'nvidia-231', uid=NOBODY)
        self.assertEqual(rc, 1, 'vgpuctl define as nobody: out %r, err %r' % (out, err))
        self.assertIsNone(self.definition(T4, V1))
        # reads still work for anyone
        rc, out, err = self.ctl('list', '-d', uid=NOBODY)
        self.assertEqual(rc, 0, err)
