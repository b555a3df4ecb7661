# SPDX-License-Identifier: LGPL-2.1-or-later
"""Root's changes over vgpud's private socket, as vgpuctl makes them where vgpud.service runs: define,
modify, start, stop, undefine, acquire and release with the system bus out of reach, so that each
can only have gone through the socket; the definition file, the device and the lease are checked
after each. Anyone but root gets no change there (vgpud has no bus name to ask polkit about) and
vgpuctl, falling back to the unreachable bus, fails without touching anything."""

import json
import os
import shutil
import socket
import subprocess
import threading

import vgpudtest
from test_acquire import T4, UUID_RE, V1, V2
from test_vgpuctl_alloc import VgpuctlAllocCase

NOBODY = 65534
V3 = 'a1b2c3d4-e5f6-4789-8abc-def012345678'


class PrivateSocketCase(VgpuctlAllocCase):
    """vgpud with its private socket, as vgpud.service runs it."""
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



class TestPrivateChanges(PrivateSocketCase):

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


class TestFrontPath(PrivateSocketCase):
    """Root's define, modify, start, stop, undefine, acquire and release made by the front itself (client/front-wire.c,
    its own D-Bus over the private socket, no libsystemd), and handed to vgpuctl-full when it cannot.
    The front runs from a directory of its own beside a vgpuctl-full that marks each run and then
    executes the real one, so that each test knows which program made the change: a fast path that
    silently fell back would still succeed, and leave the mark."""

    def setUp(self):
        super().setUp()
        front_dir = os.path.join(self.workdir, 'front')
        os.mkdir(front_dir)
        os.chmod(front_dir, 0o1777)  # nobody leaves its mark too
        self.front_path = os.path.join(front_dir, 'vgpuctl')
        shutil.copy(os.path.join(vgpudtest.builddir(), 'client', 'vgpuctl'), self.front_path)
        self.mark = os.path.join(front_dir, 'full-ran')
        full = os.path.join(front_dir, 'vgpuctl-full')
        with open(full, 'w') as f:
            f.write('#!/bin/bash\necho "$*" >> %s\nexec -a vgpuctl %s "$@"\n' % (
                self.mark, os.path.join(vgpudtest.builddir(), 'client', 'vgpuctl-full')))
        os.chmod(full, 0o755)

    def front(self, *args, socket=None, uid=None, input=None, bus=False, program=None):
        """The copied front (or program, run as vgpuctl) with the system bus out of reach unless bus:
        (rc, out, err)."""
        env = self.env()
        if not bus:
            env['DBUS_SYSTEM_BUS_ADDRESS'] = 'unix:path=' + os.path.join(self.workdir, 'no-bus')
        env['VGPUD_SOCKET'] = socket or self.sock
        argv = ['vgpuctl' if program else self.front_path] + list(args)
        if uid is not None:
            argv = ['setpriv', '--reuid=%d' % uid, '--regid=%d' % uid, '--clear-groups'] + argv
        p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, input=input,
                           executable=program if program and uid is None else None)
        return p.returncode, p.stdout, p.stderr

    def assert_same_as_full(self, cases):
        """Each command line gives the front exactly what vgpuctl-full gives (stdout, stderr, exit
        code): help succeeds, everything else fails with an error text; vgpuctl-full never ran."""
        full = os.path.join(vgpudtest.builddir(), 'client', 'vgpuctl-full')
        for args in cases:
            with self.subTest(args=args):
                want = self.front(*args, program=full)
                got = self.front(*args)
                self.assertEqual(got, want)
                if args[-1] in ('--help', '-h'):
                    self.assertEqual(got[0], 0, got)
                else:
                    self.assertNotEqual(got[0], 0, got)
                    self.assertTrue(got[2].startswith(('Error: ', 'error: ')), got)
        self.assertEqual(self.full_runs(), [])

    def full_runs(self):
        if not os.path.exists(self.mark):
            return []
        with open(self.mark) as f:
            return f.read().splitlines()

    def front_ok(self, *args, **kwargs):
        rc, out, err = self.front(*args, **kwargs)
        self.assertEqual(rc, 0, 'vgpuctl %s: %s' % (' '.join(args), err))
        return out

    def test_changes_are_made_by_the_front(self):
        self.front_ok('define', '-u', V1, '-p', T4, '-t', 'nvidia-231')
        self.assertEqual(self.definition(T4, V1)['mdev_type'], 'nvidia-231')
        self.front_ok('modify', '-u', V1, '--addattr', 'x', '--value', 'y')
        self.front_ok('modify', '-u', V1, '--addattr', 'z', '--value', 'w', '--index', '0')
        self.assertEqual(self.definition(T4, V1)['attrs'], [{'z': 'w'}, {'x': 'y'}])
        self.front_ok('modify', '-u', V1, '--delattr', '--index', '1')
        self.front_ok('modify', '-u', V1, '--auto')
        self.assertEqual(self.definition(T4, V1)['start'], 'auto')
        self.front_ok('start', '-u', V1)
        self.assertIn(V1, self.running())
        self.front_ok('undefine', '-u', V1)
        self.assertIsNone(self.definition(T4, V1))
        # define -u U -a: the running device's parent and type, read from the snapshot
        self.front_ok('define', '-u', V1, '-a')
        self.assertEqual((self.definition(T4, V1)['mdev_type'], self.definition(T4, V1)['start']),
                         ('nvidia-231', 'auto'))
        self.front_ok('stop', '-u', V1)
        self.assertNotIn(V1, self.running())
        self.front_ok('undefine', '-u', V1)
        self.assertIsNone(self.definition(T4, V1))
        # a UUID vgpud makes up is printed; a definition read from a pipe
        out = self.front_ok('define', '-p', T4, '-t', 'nvidia-231')
        self.assertRegex(out.strip(), UUID_RE)
        self.assertEqual(self.definition(T4, out.strip())['mdev_type'], 'nvidia-231')
        definition = '{"mdev_type": "nvidia-232", "start": "manual", "attrs": [{"a": "b"}]}'
        self.front_ok('define', '-u', V2, '-p', T4, '--jsonfile', '/dev/stdin', input=definition)
        self.assertEqual(self.definition(T4, V2)['attrs'], [{'a': 'b'}])
        self.front_ok('modify', '-u', V2, '--jsonfile', '/dev/stdin', input=definition.replace('"b"', '"c"'))
        self.assertEqual(self.definition(T4, V2)['attrs'], [{'a': 'c'}])
        self.assertEqual(self.full_runs(), [])

    def test_acquire_and_release_are_made_by_the_front(self):
        uuid = self.front_ok('acquire', 'T4-2Q', '--owner', 'test:front').strip()
        self.assertRegex(uuid, UUID_RE)
        self.assertIn(uuid, self.running())
        self.assertEqual(self.lease_map()[uuid][0], 'test:front')
        # every option the front describes: u (slot, timeout), s (parent, policy, uuid), b, i
        got = json.loads(self.front_ok('acquire', 'T4-2Q', '--owner', 'test:front', '--slot', '1',
                                       '--uuid', V1, '--parent', T4, '--policy', 'spread', '--persist',
                                       '--timeout-ms', '5000', '--json'))
        self.assertEqual((got['uuid'], got['parent']), (V1, T4))
        self.assertTrue(got['device'].startswith('/org/vgpud1/'), got)
        self.assertIsNotNone(self.definition(T4, V1))
        dry = json.loads(self.front_ok('acquire', 'T4-2Q', '--owner', 'test:dry', '--dry-run', '--json'))
        self.assertEqual(dry['device'], '/')
        self.assertNotIn('test:dry', [owner for owner, *_ in self.lease_map().values()])
        self.assertEqual(self.front_ok('release', '--owner', 'test:front', '--slot', '1', '--timeout-ms',
                                       '5000', '--force'), V1 + '\n')
        self.assertIsNone(self.definition(T4, V1))
        self.assertEqual(self.front_ok('release', uuid.upper()), uuid + '\n')
        self.assertNotIn(uuid, self.running())
        self.assertEqual(self.leases(), [])
        self.assertEqual(self.full_runs(), [])

    def test_acquire_and_release_errors_are_those_of_vgpuctl_full(self):
        cases = [
            ['acquire', 'X99-1Q', '--owner', 'test:e'],  # vgpud's NotFound
            ['acquire', 'T4-2Q', '--owner', 'test:e', '--parent', '0000:99:00.0'],
            ['acquire', 'T4-2Q', '--owner', 'test:e', '--numa-node', '7'],
            ['acquire', 'T4-2Q', '--owner', 'test:e', '--uuid', V1, '--vm-uuid', V2],
            ['acquire', 'T4-2Q', '--owner', 'test:e', '--policy', 'random'],
            ['acquire', 'T4-2Q', '--owner', 'not\udcffutf8'],
            ['acquire', 'T4-2Q'],
            ['acquire', '--owner', 'test:e'],
            ['acquire', '--bogus'],
            ['release', V1],
            ['release', '--owner', 'test:e'],
            ['release', 'not-a-uuid'],
            ['release', V1, '--owner', 'test:e'],
            ['release', '--slot', '1'],
            ['release', '--dry-run', V1],
            ['release'],
            ['acquire', '--help'],
            ['release', '-h'],
        ]
        self.assert_same_as_full(cases)

    def test_release_idle_and_others_than_root_go_to_vgpuctl_full(self):
        # ReleaseIdle goes over the system bus, which the front does not speak: vgpuctl-full runs, and
        # says what it says (here: the bus is out of reach)
        # (nobody first: the mark it makes, root may append to)
        full = os.path.join(vgpudtest.builddir(), 'client', 'vgpuctl-full')
        rc, out, err = self.front('acquire', 'T4-2Q', '--owner', 'test:nobody', uid=NOBODY)
        self.assertEqual(rc, 1, err)
        self.assertEqual(self.leases(), [])
        self.assertEqual(len(self.full_runs()), 1)
        for args in (['release', '--idle', '--dry-run'], ['release', '--idle', '--owner', 'x']):
            with self.subTest(args=args):
                self.assertEqual(self.front(*args), self.front(*args, program=full))
        self.assertEqual(len(self.full_runs()), 3)

    def test_a_slow_jsonfile_pipe_gets_a_fresh_connection(self):
        # the front authenticates before it parses; a definition that takes longer than front-wire.c's
        # FRESH_USEC (5 s) to arrive is sent on a new connection (sd-bus drops one that has not begun
        # within 90 s): two connects, and the change made
        trace = os.path.join(self.workdir, 'connects')
        definition = '{"mdev_type": "nvidia-231", "start": "manual", "attrs": []}'
        env = self.env()
        env['DBUS_SYSTEM_BUS_ADDRESS'] = 'unix:path=' + os.path.join(self.workdir, 'no-bus')
        env['VGPUD_SOCKET'] = self.sock
        if os.environ.get('VGPUD_TEST_SANITIZED'):  # LeakSanitizer cannot run under ptrace
            env['ASAN_OPTIONS'] = env.get('ASAN_OPTIONS', '') + ':detect_leaks=0'
        with subprocess.Popen(['bash', '-c', 'sleep 6; echo "$0"', definition], stdout=subprocess.PIPE) as slow:
            p = subprocess.run(['strace', '-f', '-qq', '-e', 'trace=connect', '-o', trace, self.front_path,
                                'define', '-u', V1, '-p', T4, '--jsonfile', '/dev/stdin'],
                               stdin=slow.stdout, capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.definition(T4, V1)['mdev_type'], 'nvidia-231')
        with open(trace) as f:
            connects = [line for line in f if self.sock in line]
        self.assertEqual(len(connects), 2, connects)
        self.assertEqual(self.full_runs(), [])

    def test_errors_are_those_of_vgpuctl_full(self):
        self.front_ok('define', '-u', V2, '-p', T4, '-t', 'nvidia-231')
        bad = os.path.join(self.workdir, 'bad.json')
        with open(bad, 'w') as f:
            f.write('{"mdev_type": "nvidia-231", "attrs": [}')
        cases = [
            ['define', '-u', V2, '-p', T4, '-t', 'nvidia-231'],  # already defined
            ['define', '-u', V1, '-p', T4, '--jsonfile', bad],  # vgpud's InvalidArgument
            ['define', '-u', V1, '-p', T4, '--jsonfile', '/no/such/file'],
            ['define', '-u', V1, '-p', 'not\udcffutf8', '-t', 'nvidia-231'],
            ['define', '-u', V3, '-a'],  # not running: no parent
            ['define'],
            ['modify', '-u', V1, '--auto'],
            ['modify', '-u', V2, '--delattr', '--index', '5'],
            ['modify', '-u', V2, '-p', '', '--auto'],
            ['undefine', '-u', V1],
            ['undefine', '-u', V1, '-p', T4],
            ['start', '-u', V1],
            ['stop', '-u', V1],
            ['undefine', '--bogus'],
            ['define', '--help'],
        ]
        self.assert_same_as_full(cases)

    def test_without_the_socket_vgpuctl_full_makes_the_change(self):
        # over the system bus, the front having found no socket
        self.front_ok('define', '-u', V1, '-p', T4, '-t', 'nvidia-231', bus=True,
                      socket=os.path.join(self.workdir, 'no-socket'))
        self.assertEqual(self.definition(T4, V1)['mdev_type'], 'nvidia-231')
        self.assertEqual(len(self.full_runs()), 1)
        # a socket nobody listens on: the same
        dead = os.path.join(self.workdir, 'dead-socket')
        with open(dead, 'w'):
            pass
        self.front_ok('undefine', '-u', V1, bus=True, socket=dead)
        self.assertIsNone(self.definition(T4, V1))
        self.assertEqual(len(self.full_runs()), 2)

    def test_a_refused_authentication_goes_to_vgpuctl_full(self):
        # the front sends its authentication and reads the answer with the call's (or before it reads a
        # --jsonfile); a server that refuses it has not taken the call: the command goes to
        # vgpuctl-full, before anything was printed or read, and ends as vgpuctl-full ends it alone
        refusing = os.path.join(self.workdir, 'refusing')
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(refusing)
        listener.listen(8)
        listener.settimeout(0.2)
        received, done = [], threading.Event()

        def refuse():
            while not done.is_set():
                try:
                    conn, _addr = listener.accept()
                except socket.timeout:
                    continue
                with conn:
                    conn.settimeout(10)
                    data = b''
                    while b'\r\n' not in data:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    try:
                        conn.sendall(b'REJECTED EXTERNAL\r\n')
                        while chunk:  # what else the client sent before it hung up
                            chunk = conn.recv(4096)
                            data += chunk
                    except OSError:
                        pass
                    received.append(data)

        thread = threading.Thread(target=refuse)
        thread.start()
        full = os.path.join(vgpudtest.builddir(), 'client', 'vgpuctl-full')
        definition = '{"mdev_type": "nvidia-231", "start": "manual", "attrs": []}'
        try:
            for args, input in ((['define', '-u', V1, '-p', T4, '-t', 'nvidia-231'], None),
                                (['define', '-u', V2, '-p', T4, '--jsonfile', '/dev/stdin'], definition)):
                with self.subTest(args=args):
                    del received[:]
                    want = self.front(*args, socket=refusing, input=input, program=full)
                    self.assertEqual(len(received), 1)
                    front_runs = len(self.full_runs())
                    got = self.front(*args, socket=refusing, input=input)
                    self.assertEqual(got, want)
                    self.assertEqual(len(self.full_runs()), front_runs + 1)
                    self.assertEqual(len(received), 3)  # the front's, then vgpuctl-full's
                    if input is None:  # pipelined: the call came behind the authentication
                        self.assertIn(b'BEGIN', received[1])
                    else:  # the front waited for the answer before it read the --jsonfile
                        self.assertNotIn(b'BEGIN', received[1])
        finally:
            done.set()
            thread.join(timeout=30)
            listener.close()
        self.assertIsNone(self.definition(T4, V1))
        self.assertIsNone(self.definition(T4, V2))

    def test_others_than_root_go_to_vgpuctl_full(self):
        rc, out, err = self.front('define', '-u', V1, '-p', T4, '-t', 'nvidia-231', uid=NOBODY)
        self.assertEqual(rc, 1, err)
        self.assertIsNone(self.definition(T4, V1))
        self.assertEqual(len(self.full_runs()), 1)
