# SPDX-License-Identifier: LGPL-2.1-or-later
"""The lifecycle against mdevctl 1.2.0: define, undefine, modify, start and stop.

Every test runs one command sequence twice, on twin hosts written from the same description (a T4
plus the mtty sample, one mtty device running, one defined): through mdevctl 1.2.0 on one (in a
private mount namespace, tree bind-mounted over /sys and /etc/mdevctl.d) and through vgpuctl + vgpud
on the other (under the umockdev preload). Each host has its own kernel emulator. After every step
the two must agree on:
  - stdout and the exit code of the step;
  - the definition files under etc/mdevctl.d (bytes; empty directories are not compared: mdevctl
    leaves an undefined device's parent directory behind);
  - sysfs as the emulator sees it: which devices exist (parent, type) and the contents of their
    attribute files;
  - `list` and `list -d` (stdout, exit code).
UUIDs that define/start generate differ by nature: the printed lines must both be a UUID, and from
then on mdevctl's UUID stands for vgpuctl's in every comparison ({G1}, {G2}... in a sequence).

The mtty devices of these hosts have two writable attribute files, attr_a and attr_b (the sample
driver has none; real drivers do), so attributes are written for real. mdevctl 1.2.0 writes them
right after its write to `create` without waiting for the device (tests/sim/NOTES.md), which the
emulator (a few milliseconds later) always loses: mdevctl runs under strace with a delay injected
into its close(2) of a `create` file, which gives the emulator the time a real kernel takes inside
write(2).

Where mdevctl 1.2.0 crashes (exit 101) or corrupts, vgpuctl gives a clean error (exit 1) and
changes nothing; those tests say so (test_deviation_*).

ORACLE_SHOW_STDERR=1 prints both programs' stderr for every step (the wording may differ)."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import oracle  # first: it puts tests/sim on sys.path
import emulator as emulatormod
import hosts
import tree as treemod
from oracle import OracleCase

T4 = '0000:41:00.0'
MTTY = 'mtty'
ATTRS = ('attr_a', 'attr_b')
RUNNING = hosts.make_uuid('lifecycle', 1)   # mtty-2, running, not defined
DEFINED = hosts.make_uuid('lifecycle', 2)   # mtty-1 on mtty, defined (manual), not running
U1 = hosts.make_uuid('lifecycle', 11)
U2 = hosts.make_uuid('lifecycle', 12)
U3 = hosts.make_uuid('lifecycle', 13)
UUID_LINE = re.compile(rb'[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\n')
T4_1Q = hosts.nvidia_type_by_name(hosts.t4(), T4, 'GRID T4-1Q')
T4_2Q = hosts.nvidia_type_by_name(hosts.t4(), T4, 'GRID T4-2Q')
T4_16Q = hosts.nvidia_type_by_name(hosts.t4(), T4, 'GRID T4-16Q')

# mdevctl 1.2.0 under strace: its close(2) of a `create` file returns this late (see above).
CREATE_DELAY_USEC = 200000


def lifecycle_host():
    h = hosts.t4()
    h.merge(hosts.mtty())
    h.name = 'lifecycle'
    h.add_mdev(RUNNING, MTTY, 'mtty-2')
    h.define(MTTY, DEFINED, 'mtty-1', 'manual', [('attr_a', '1'), ('attr_b', 'x y')])
    return h


class AttrTree(treemod.Tree):
    """The simulated tree, with writable attribute files in every mtty device."""

    def add_mdev(self, m):
        super().add_mdev(m)
        if m.parent.name == MTTY:
            for a in ATTRS:
                self.write('%s/%s' % (m.path, a), '')


class Side:
    """One twin: a tree and its kernel emulator. gen: the UUIDs generated on this side, in order."""

    def __init__(self, root, log_path):
        self.root = root
        self.host = lifecycle_host()
        self.tree = AttrTree(root, self.host)
        self.tree.write_all()
        self.log = open(log_path, 'w')
        self.emulator = emulatormod.Emulator(self.tree, log=self.log).start()
        self.gen = []

    def strace(self):
        """The command prefix that delays mdevctl's close of every `create` file (strace applies the
        injection only to the system calls its -P paths select)."""
        cmd = ['strace', '-f', '-qq', '-o', '/dev/null', '-e', 'trace=close',
               '-e', 'inject=close:delay_exit=%d' % CREATE_DELAY_USEC]
        for p in self.host.parents.values():
            for t in p.types.values():
                cmd += ['-P', '/sys/%s/create' % self.tree.type_dir(p, t)]
        return cmd

    def stop(self):
        self.emulator.stop()
        self.log.close()

    def settle(self, timeout=5):
        """Wait until the emulator has acted on every write to a create or remove file."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pending = False
            with self.emulator.lock:
                for p in self.host.parents.values():
                    for t in p.types.values():
                        path = self.tree.p(self.tree.type_dir(p, t) + '/create')
                        pending = pending or _nonempty(path)
                for m in self.host.mdevs.values():
                    pending = pending or _nonempty(self.tree.p(m.path + '/remove'))
            if not pending:
                with self.emulator.lock:  # a handler that took its file is done once we hold the lock
                    return
            time.sleep(0.005)
        raise TimeoutError('the emulator did not settle')

    def definitions(self):
        """{parent/file: bytes} under etc/mdevctl.d (scripts.d left out)."""
        out = {}
        base = os.path.join(self.root, 'etc', 'mdevctl.d')
        for dirpath, dirnames, filenames in os.walk(base):
            rel = os.path.relpath(dirpath, base)
            if rel.split(os.sep)[0] == 'scripts.d':
                continue
            for f in filenames:
                with open(os.path.join(dirpath, f), 'rb') as fh:
                    out[os.path.normpath(os.path.join(rel, f))] = fh.read()
        return out

    def devices(self):
        """{uuid: (parent, type, {attribute: contents})} as the emulator sees sysfs."""
        out = {}
        with self.emulator.lock:
            for u, m in self.host.mdevs.items():
                attrs = {}
                for a in ATTRS:
                    path = self.tree.p('%s/%s' % (m.path, a))
                    if os.path.exists(path):
                        with open(path, 'rb') as f:
                            attrs[a] = f.read()
                out[u] = (m.parent.name, m.mtype.dirname, attrs)
        return out

    def sub(self, arg):
        """{G1}, {G2}... in arg replaced by this side's generated UUIDs."""
        for i, u in enumerate(self.gen):
            arg = arg.replace('{G%d}' % (i + 1), u)
        return arg


def _canonical(out):
    """A listing with its entries in a canonical order (see LifecycleCase.same_output)."""
    try:
        data = json.loads(out)
    except ValueError:
        records = []
        for line in out.split(b'\n'):
            if line.startswith(b' ') and records:
                records[-1].append(line)
            else:
                records.append([line])
        return sorted(records)

    # [ { parent: [ { uuid: {...} }, ... ] } ]: only the device lists (attribute order matters)
    if isinstance(data, list):
        for parents in data:
            for name, devices in parents.items():
                parents[name] = sorted(devices, key=lambda d: sorted(d))
    return json.dumps(data)


def _nonempty(path):
    try:
        return os.path.getsize(path) > 0
    except FileNotFoundError:
        return False


class LifecycleCase(OracleCase):
    """Twin hosts per test: self.m (mdevctl's) and self.v (vgpud's, with the daemon)."""

    HOST = None

    @classmethod
    def setUpClass(cls):
        if shutil.which('strace') is None:
            raise unittest.SkipTest('strace is needed (apt-get install strace): see the module docstring')
        super().setUpClass()

    def setUp(self):
        super().setUp()
        self.work = tempfile.mkdtemp(prefix='twins.', dir=self.tmp)
        self.m = Side(os.path.join(self.work, 'm'), os.path.join(self.work, 'emulator-m.log'))
        self.v = Side(os.path.join(self.work, 'v'), os.path.join(self.work, 'emulator-v.log'))
        self.start_daemon(self.v.root)
        self.steps = []

    def tearDown(self):
        self.stop_daemon()
        self.m.stop()
        self.v.stop()
        shutil.rmtree(self.work, ignore_errors=True)
        super().tearDown()

    # ------------------------------------------------------------ helpers
    def jsonfile(self, text):
        """A file holding text (str or bytes), outside both trees; its path."""
        fd, path = tempfile.mkstemp(prefix='def.', suffix='.json', dir=self.work)
        with os.fdopen(fd, 'wb') as f:
            f.write(text.encode() if isinstance(text, str) else text)
        return path

    def m_to_v(self, data):
        """mdevctl's bytes with its generated UUIDs replaced by vgpuctl's."""
        for a, b in zip(self.m.gen, self.v.gen):
            data = data.replace(a.encode(), b.encode())
        return data

    def same_output(self, got, want):
        """vgpuctl's stdout equals mdevctl's after the UUID substitution. A substituted UUID sorts
        elsewhere: once UUIDs were generated, listings are compared with their entries in a canonical
        order (text: each device line with its indented lines; JSON: the devices of each parent)."""
        want = self.m_to_v(want)
        if got == want or not self.m.gen:
            return got == want
        return _canonical(got) == _canonical(want)

    def run_both(self, args, stdin=None):
        want = self.mdevctl(self.m.root, [self.m.sub(a) for a in args], input=stdin, wrap=self.m.strace())
        self.m.settle()
        got = self.vgpuctl([self.v.sub(a) for a in args], input=stdin)
        self.v.settle()
        return want, got

    def context(self, want=None, got=None):
        return '\nsteps so far:\n  %s\n=== mdevctl 1.2.0 %r\n=== vgpuctl %r\n=== vgpud log (tail):\n%s' % (
            '\n  '.join(' '.join(s) for s in self.steps), want, got,
            self.daemon.read_log()[-3000:] if self.daemon else '')

    def step(self, *args, stdin=None, rc=None):
        """Run one command on both twins and compare everything. rc: the exit code mdevctl must give
        (so a sequence cannot drift into comparing two failures)."""
        self.steps.append(list(args))
        want, got = self.run_both(args, stdin)
        if os.environ.get('ORACLE_SHOW_STDERR') and (want.err or got.err):
            print('\n$ %s\n  mdevctl: %r\n  vgpuctl: %r' % (' '.join(args), want.err.decode(), got.err.decode()))
        if rc is not None:
            self.assertEqual(want.rc, rc, 'mdevctl 1.2.0 did not exit %d%s' % (rc, self.context(want, got)))
        self.assertEqual(got.rc, want.rc, 'exit codes differ' + self.context(want, got))
        if UUID_LINE.fullmatch(want.out) and want.out.decode().strip() not in ''.join(args):
            self.assertRegex(got.out, UUID_LINE, 'mdevctl printed a new UUID, vgpuctl not' +
                             self.context(want, got))
            self.m.gen.append(want.out.decode().strip())
            self.v.gen.append(got.out.decode().strip())
        else:
            self.assertTrue(self.same_output(got.out, want.out), 'stdout differs' + self.context(want, got))
        self.compare_state()
        return want, got

    def step_differently(self, m_steps, v_args, stdin=None):
        """What mdevctl 1.2.0 cannot express in one command (1.3.0's options): mdevctl runs m_steps
        (each must succeed), vgpuctl runs v_args (must succeed), then everything is compared."""
        for args in m_steps:
            want = self.mdevctl(self.m.root, [self.m.sub(a) for a in args], input=stdin, wrap=self.m.strace())
            self.m.settle()
            self.assertEqual(want.rc, 0, 'mdevctl 1.2.0 failed' + self.context(want))
        self.steps.append(list(v_args))
        got = self.vgpuctl([self.v.sub(a) for a in v_args], input=stdin)
        self.v.settle()
        self.assertEqual((got.rc, got.out), (0, b''), 'vgpuctl failed' + self.context(None, got))
        self.compare_state()
        return got

    def deviation(self, args, m_rc, stdin=None, v_err=None):
        """Where mdevctl 1.2.0 crashes (101) or does harm (0): it must exit m_rc; vgpuctl must fail
        cleanly (exit 1, "Error: " and v_err on stderr, nothing on stdout) and change nothing."""
        self.steps.append(list(args))
        defs, devs = self.v.definitions(), self.v.devices()
        want, got = self.run_both(args, stdin)
        self.assertEqual(want.rc, m_rc, 'mdevctl 1.2.0 no longer does this' + self.context(want, got))
        self.assertEqual((got.rc, got.out), (1, b''), self.context(want, got))
        self.assertTrue(got.err.startswith(b'Error: '), self.context(want, got))
        self.assertNotIn(b'panicked', got.err)
        if v_err:
            self.assertIn(v_err.encode(), got.err, self.context(want, got))
        self.assertEqual((self.v.definitions(), self.v.devices()), (defs, devs), 'vgpuctl changed something')
        return want, got

    def compare_state(self):
        mdefs = {self.m_to_v(k.encode()).decode(): self.m_to_v(v) for k, v in self.m.definitions().items()}
        self.assertEqual(self.v.definitions(), mdefs, 'definition files differ' + self.context())
        mdevs = {self.m_to_v(k.encode()).decode(): v for k, v in self.m.devices().items()}
        self.assertEqual(self.v.devices(), mdevs, 'sysfs differs' + self.context())
        for args in (['list', '-d'], ['list']):
            want, got = self.run_both(args)
            self.assertTrue(got.rc == want.rc and self.same_output(got.out, want.out),
                            '`%s` differs' % ' '.join(args) + self.context(want, got))


def definition(mdev_type, start='manual', attrs=(), pretty=False):
    obj = {'mdev_type': mdev_type, 'start': start, 'attrs': [{k: v} for k, v in attrs]}
    return json.dumps(obj, indent=2 if pretty else None, separators=None if pretty else (',', ':'))


class TestDefine(LifecycleCase):
    def test_define_forms(self):
        self.step('define', '-u', U1, '-p', T4, '-t', T4_1Q, rc=0)
        self.step('define', '-p', T4, '-t', T4_2Q, '--auto', rc=0)
        self.step('define', '-p', MTTY, '-t', 'mtty-1', rc=0)
        self.step('define', '--uuid=' + U2.upper(), '--parent=' + T4, '--type=' + T4_1Q, '-a', rc=0)
        self.step('list', '-d', '-v', rc=0)
        self.step('list', '-d', '--dumpjson', rc=0)

    def test_define_running_device(self):
        self.step('define', '-u', RUNNING, rc=0)
        self.step('undefine', '-u', RUNNING, rc=0)
        self.step('define', '-u', RUNNING, '--auto', rc=0)
        self.step('define', '-u', RUNNING, '-p', T4, rc=0)        # the running type, another parent
        self.step('list', rc=0)
        self.step('define', '-u', RUNNING, '-t', 'mtty-1', rc=1)  # a type without a parent

    def test_define_jsonfile(self):
        f = self.jsonfile(definition('mtty-2', 'auto', [('attr_b', 'b "q"'), ('attr_a', '\\')], pretty=True))
        self.step('define', '-p', MTTY, '-u', U1, '--jsonfile', f, rc=0)
        self.step('define', '-p', MTTY, '--jsonfile', f, rc=0)
        bare = self.jsonfile('{"mdev_type":"%s","start":"manual"}' % T4_1Q)
        self.step('define', '--parent=' + T4, '--jsonfile=' + bare, '--uuid=' + U2, rc=0)
        self.step('list', '-d', '-v', rc=0)
        self.step('list', '-d', '--dumpjson', '-u', U1, rc=0)

    def test_define_jsonfile_stdin(self):
        """libvirt's call: compact JSON on stdin, attrs absent."""
        text = ('{"mdev_type":"mtty-1","start":"auto"}').encode()
        self.step('define', '--parent=mtty', '--jsonfile=/dev/stdin', '--uuid=' + U1, stdin=text, rc=0)
        self.step('define', '--parent=mtty', '--jsonfile=/dev/stdin', stdin=text, rc=0)

    def test_define_errors(self):
        self.step('define', '-u', DEFINED, '-p', MTTY, '-t', 'mtty-2', rc=1)   # already defined
        self.step('define', '-u', U1, rc=1)                                   # not running, no parent
        self.step('define', '-u', U1, '-p', T4, rc=1)                         # no type
        self.step('define', '-p', T4, rc=1)                                   # no type
        self.step('define', '-u', U1, '-t', T4_1Q, rc=1)                      # no parent
        self.step('define', '-p', MTTY, '--jsonfile', os.path.join(self.work, 'nonexistent'), rc=1)
        f = self.jsonfile(definition('mtty-1'))
        self.step('define', '-u', U1, '--jsonfile', f, rc=1)                  # no parent
        self.step('define', '-u', DEFINED, '-p', MTTY, '--jsonfile', f, rc=1)  # exists
        self.step('define', '-p', MTTY, '--jsonfile', self.jsonfile('{"mdev_type": "mtty-1"'), rc=1)
        self.step('define', '-p', MTTY, '--jsonfile', self.jsonfile('{"start": "auto"}'), rc=1)
        self.step('define', '-p', MTTY, '--jsonfile', self.jsonfile(b'\xff'), rc=1)

    def test_define_absent_parent(self):
        """mdevctl does not check that the parent exists; neither does vgpud."""
        self.step('define', '-u', U1, '-p', '0000:99:00.0', '-t', 'whatever', rc=0)


class TestModify(LifecycleCase):
    def test_modify_every_form(self):
        D = DEFINED
        self.step('modify', '-u', D, '--auto', rc=0)
        self.step('modify', '-u', D, '--manual', rc=0)
        self.step('modify', '-u', D, '-a', '-p', MTTY, rc=0)
        self.step('modify', '-u', D, '-t', 'mtty-2', rc=0)
        self.step('modify', '-u', D, '--addattr', 'attr_a', '--value', '2', rc=0)        # append
        self.step('modify', '-u', D, '--addattr', 'attr_b', '--value', '', '--index', '0', rc=0)
        self.step('modify', '-u', D, '--addattr=attr_a', '--value=v=w', '-i', '4', rc=0)  # index == count
        self.step('list', '-d', '-v', rc=0)
        self.step('modify', '-u', D, '--delattr', '--index', '1', rc=0)
        self.step('modify', '-u', D, '--delattr', rc=0)                                  # the last one
        self.step('modify', '-u', D, '-i', '+0', '--delattr', rc=0)
        self.step('modify', '-u', D, rc=0)                                               # nothing
        self.step('modify', '-u', D, '--value', 'ignored', rc=0)
        self.step('modify', '-u', D, '--index', '0', rc=0)
        self.step('modify', '-u', D, '--delattr', rc=0)
        self.step('modify', '-u', D, '--delattr', rc=0)                                  # none left
        self.step('modify', '-u', D, '-t', 'mtty-1', '-m', '--addattr', 'attr_a', '--value', 'x', rc=0)
        self.step('list', '-d', '-v', rc=0)
        self.step('list', '-d', '--dumpjson', rc=0)

    def test_modify_errors(self):
        D = DEFINED
        self.step('modify', '-u', D, '--addattr', 'attr_a', '--value', '1', '--index', '3', rc=1)
        self.step('modify', '-u', D, '--delattr', '--index', '3', rc=1)
        self.step('modify', '-u', U1, '--auto', rc=1)                 # not defined
        self.step('modify', '-u', D, '-p', T4, '--auto', rc=1)        # not defined there
        self.step('modify', '-u', D, '-p', '', '--auto', rc=1)
        self.step('define', '-u', D, '-p', T4, '-t', T4_1Q, rc=0)
        self.step('modify', '-u', D, '--auto', rc=1)                  # defined twice: which one?
        self.step('modify', '-u', D, '-p', T4, '--auto', rc=0)
        self.step('list', '-d', rc=0)

    def test_modify_jsonfile(self):
        """1.3.0's modify --jsonfile (1.2.0 has none): the stored definition is replaced; mdevctl
        1.2.0 gives the same file through undefine + define --jsonfile."""
        f = self.jsonfile(definition('mtty-2', 'auto', [('attr_b', 'new')], pretty=True))
        self.step_differently([['undefine', '-u', DEFINED, '-p', MTTY],
                               ['define', '-u', DEFINED, '-p', MTTY, '--jsonfile', f]],
                              ['modify', '-u', DEFINED, '-p', MTTY, '--jsonfile', f])
        text = definition('mtty-1').encode()
        self.step_differently([['undefine', '-u', DEFINED, '-p', MTTY],
                               ['define', '-u', DEFINED, '-p', MTTY, '--jsonfile', '/dev/stdin']],
                              ['modify', '--uuid=' + DEFINED, '--jsonfile=/dev/stdin', '--defined'], stdin=text)

    def test_modify_live(self):
        """1.3.0's modify --live: the running device's attributes are written (and with --defined the
        definition too). No 1.2.0 equivalent: checked against the emulator's view."""
        f = self.jsonfile(definition('mtty-2', 'manual', [('attr_a', '7'), ('attr_b', 'on')]))
        got = self.vgpuctl(['modify', '-u', RUNNING, '--jsonfile', f, '--live'])
        self.assertEqual((got.rc, got.out), (0, b''), got)
        self.assertEqual(self.v.devices()[RUNNING], (MTTY, 'mtty-2', {'attr_a': b'7', 'attr_b': b'on'}))
        self.assertEqual(self.v.definitions(), self.m.definitions(), '--live alone stores nothing')
        got = self.vgpuctl(['modify', '-u', RUNNING, '--jsonfile', f, '--live', '--defined'])
        self.assertEqual(got.rc, 1, 'there is no definition to change')
        got = self.vgpuctl(['modify', '-u', RUNNING, '--jsonfile', self.jsonfile(definition('mtty-1')), '--live'])
        self.assertEqual((got.rc, got.out), (1, b''), 'the type of a running device cannot change')

    def test_libvirt_probe(self):
        """libvirt uses modify --jsonfile only when this exits 0."""
        got = self.vgpuctl(['modify', '--defined', '--live', '--jsonfile', 'b', '--help'])
        self.assertEqual(got.rc, 0, got)
        self.assertIn(b'--jsonfile <JSONFILE>', got.out)


class TestStartStop(LifecycleCase):
    def test_start_stop(self):
        self.step('start', '-u', DEFINED, rc=0)                      # from the definition, attributes
        self.step('list', '-v', rc=0)
        self.step('stop', '-u', DEFINED, rc=0)
        self.step('start', '-p', T4, '-t', T4_1Q, rc=0)              # generated UUID
        self.step('start', '-u', U1, '-p', T4, '-t', T4_1Q, rc=0)
        self.step('define', '-u', U1, rc=0)
        self.step('list', rc=0)
        self.step('list', '--dumpjson', rc=0)
        self.step('stop', '-u', '{G1}', rc=0)
        self.step('stop', '--uuid=' + U1.replace('-', '').upper(), rc=0)
        self.step('start', '-u', DEFINED, '-t', 'mtty-1', rc=0)      # defined with that type: as stored
        self.step('stop', '-u', DEFINED, rc=0)
        self.step('start', '-u', DEFINED, '-p', MTTY, '-t', 'mtty-1', rc=0)
        self.step('stop', '-u', DEFINED, rc=0)
        self.step('stop', '-u', RUNNING, rc=0)

    def test_start_jsonfile(self):
        f = self.jsonfile(definition('mtty-1', 'auto', [('attr_b', 'B'), ('attr_a', 'A')], pretty=True))
        self.step('start', '-p', MTTY, '-u', U1, '--jsonfile', f, rc=0)
        self.step('start', '-p', MTTY, '--jsonfile', f, rc=0)
        text = ('{"mdev_type":"%s","start":"manual"}' % T4_2Q).encode()
        self.step('start', '--parent=' + T4, '--jsonfile=/dev/stdin', '--uuid=' + U2, stdin=text, rc=0)
        self.step('start', '--parent=' + T4, '--jsonfile=/dev/stdin', stdin=text, rc=0)
        self.step('list', '-v', rc=0)

    def test_start_errors(self):
        self.step('start', '-u', U1, rc=1)                                   # not defined
        self.step('start', '-u', U1, '-t', 'mtty-1', rc=1)                   # a type without a parent
        self.step('start', '-p', T4, '-t', T4_1Q, '-u', RUNNING, rc=1)       # already running
        self.step('start', '-u', DEFINED, '-p', MTTY, '-t', 'mtty-2', rc=1)  # defined with another type
        self.step('start', '-p', '0000:99:00.0', '-t', T4_1Q, rc=1)          # no such parent
        self.step('start', '-p', 'MTTY', '-t', 'mtty-1', rc=1)               # "Did you mean 'mtty'?"
        self.step('start', '-p', MTTY, '--jsonfile', os.path.join(self.work, 'nonexistent'), rc=1)
        self.step('start', '--jsonfile', self.jsonfile(definition('mtty-1')), '-u', U1, rc=1)  # no parent
        self.step('start', '-p', MTTY, '--jsonfile', self.jsonfile('[]'), rc=1)
        self.step('stop', '-u', U1, rc=1)                                    # not running
        self.step('define', '-u', DEFINED, '-p', T4, '-t', T4_1Q, rc=0)
        self.step('start', '-u', DEFINED, rc=1)                              # defined twice
        self.step('start', '-u', DEFINED, '-p', T4, rc=0)

    def test_no_available_instances(self):
        self.step('start', '-u', U1, '-p', T4, '-t', T4_16Q, rc=0)
        self.step('start', '-u', U2, '-p', T4, '-t', T4_16Q, rc=1)
        self.step('start', '-u', U2, '-p', T4, '-t', T4_1Q, rc=1)   # the core runs 16 GiB vGPUs
        self.step('stop', '-u', U1, rc=0)
        self.step('start', '-u', U2, '-p', T4, '-t', T4_1Q, rc=0)


class TestUndefine(LifecycleCase):
    def test_undefine(self):
        self.step('define', '-u', DEFINED, '-p', T4, '-t', T4_1Q, rc=0)
        self.step('undefine', '-u', DEFINED, '-p', T4, rc=0)
        self.step('undefine', '-u', DEFINED, '-p', T4, rc=1)
        self.step('define', '-u', DEFINED, '-p', T4, '-t', T4_1Q, rc=0)
        self.step('undefine', '-u', DEFINED, rc=0)                  # on every parent
        self.step('undefine', '-u', DEFINED, rc=1)
        self.step('define', '-u', RUNNING, rc=0)
        self.step('undefine', '--uuid', RUNNING, '--parent', MTTY, rc=0)  # the device keeps running
        self.step('undefine', '-u', U1, '-p', MTTY, rc=1)
        self.step('undefine', '-u', U1, '-p', '', rc=1)


class TestForce(LifecycleCase):
    """1.3.0's -f/--force on every command (1.2.0 has none: it runs without). With no callout script
    that refuses, it changes nothing."""

    def test_force(self):
        f = self.jsonfile(definition('mtty-1', 'manual', [('attr_a', 'f')]))
        for m_args, v_args in (
                (['define', '-u', U1, '-p', MTTY, '-t', 'mtty-2'], ['define', '-f', '-u', U1, '-p', MTTY, '-t', 'mtty-2']),
                (['modify', '-u', U1, '--addattr', 'attr_b', '--value', '9'],
                 ['modify', '--force', '-u', U1, '--addattr', 'attr_b', '--value', '9']),
                (['start', '-u', U1], ['start', '-u', U1, '-f']),
                (['start', '-u', U2, '-p', MTTY, '--jsonfile', f], ['start', '-fu', U2, '-p', MTTY, '--jsonfile', f]),
                (['stop', '-u', U1], ['stop', '-f', '-u', U1]),
                (['undefine', '-u', U1], ['undefine', '-u', U1, '--force'])):
            with self.subTest(args=v_args):
                self.step_differently([m_args], v_args)


class TestCallouts(LifecycleCase):
    """A callout script that refuses everything (exit 1), in both trees' etc/mdevctl.d/scripts.d/
    callouts: mdevctl 1.2.0 and vgpud both refuse every change and change nothing (but undefine, for
    which 1.2.0 runs no callout); only 1.3.0's -f (vgpuctl) goes on."""

    def setUp(self):
        super().setUp()
        for side in (self.m, self.v):
            path = os.path.join(side.root, 'etc', 'mdevctl.d', 'scripts.d', 'callouts', 'refuse')
            with open(path, 'w') as f:
                f.write('#!/bin/sh\ncat >/dev/null\nexit 1\n')
            os.chmod(path, 0o755)

    def test_refused(self):
        self.step('define', '-u', U1, '-p', MTTY, '-t', 'mtty-1', rc=1)
        self.step('modify', '-u', DEFINED, '--auto', rc=1)
        self.step('start', '-u', DEFINED, rc=1)
        self.step('start', '-u', U1, '-p', MTTY, '-t', 'mtty-1', rc=1)
        self.step('stop', '-u', RUNNING, rc=1)
        # 1.2.0 runs no callout for undefine; 1.3.0's protocol, which vgpud follows, runs pre-undefine
        self.deviation(['undefine', '-u', DEFINED], 0, v_err='pre-undefine')

    def test_force(self):
        for args in (['define', '-f', '-u', U1, '-p', MTTY, '-t', 'mtty-1'], ['modify', '-f', '-u', U1, '--auto'],
                     ['start', '-f', '-u', U1], ['stop', '-f', '-u', U1], ['undefine', '-f', '-u', U1]):
            got = self.vgpuctl(args)
            self.assertEqual((got.rc, got.out), (0, b''), '%s: %r' % (args, got))
        self.assertNotIn(U1, self.v.devices())
        self.assertEqual(self.v.definitions(), self.m.definitions())


class TestBadArguments(LifecycleCase):
    """Command lines clap rejects (exit 2): nothing happens on either side."""

    def test_rejected(self):
        f = self.jsonfile(definition('mtty-1'))
        for args in (['define'], ['define', '-a'], ['define', '-t', 'mtty-1'],
                     ['define', '-p', MTTY, '-t', 'mtty-1', '--jsonfile', f],
                     ['define', '-p', MTTY, '-a', '--jsonfile', f], ['define', '-u', 'nope', '-p', MTTY],
                     ['define', '-u', U1, '-u', U2, '-p', MTTY], ['define', '-p', MTTY, 'extra'],
                     ['undefine'], ['undefine', '-p', MTTY], ['undefine', '-u'],
                     ['modify'], ['modify', '-u', DEFINED, '--auto', '--manual'],
                     ['modify', '-u', DEFINED, '-m', '-a'], ['modify', '-u', DEFINED, '--addattr', 'x'],
                     ['modify', '-u', DEFINED, '--addattr', 'x', '--delattr', '--value', 'v'],
                     ['modify', '-u', DEFINED, '--delattr', '--addattr', 'x', '--value', 'v'],
                     ['modify', '-u', DEFINED, '-i', 'x', '--delattr'], ['modify', '-u', DEFINED, '-i', '-1'],
                     ['modify', '-u', DEFINED, '-i', '4294967296', '--delattr'],
                     ['modify', '-u', DEFINED, '-i', '', '--delattr'], ['modify', '-u', DEFINED, '-i'],
                     ['start'], ['start', '-t', 'mtty-1'], ['start', '-p', MTTY, '-t', 'mtty-1', '--jsonfile', f],
                     ['start', '-u', DEFINED, '-x'], ['stop'], ['stop', '-p', MTTY, '-u', RUNNING],
                     ['stop', '-u', RUNNING, 'extra'], ['stop', '-u', RUNNING + '0']):
            with self.subTest(args=args):
                want, got = self.step(*args, rc=2)
                self.assertTrue(got.err.startswith(b'error: '), got)

    def test_help(self):
        """-h of the new commands is mdevctl 1.2.0's plus the -f/--force (and for modify the
        --defined/--jsonfile/--live) lines of 1.3.0; --help likewise with their paragraphs."""
        added = ('--force', '--defined', '--jsonfile', '--live')
        for cmd in ('define', 'undefine', 'modify', 'start', 'stop'):
            for flag in ('-h', '--help'):
                if cmd == 'stop' and flag == '--help':
                    continue  # 1.2.0 prints its short help there: no long texts at all
                with self.subTest(cmd=cmd, flag=flag):
                    want = self.mdevctl(self.m.root, [cmd, flag])
                    got = self.vgpuctl([cmd, flag])
                    self.assertEqual((got.rc, want.rc), (0, 0))
                    keep = [a for a in added if cmd == 'modify' or a == '--force']
                    self.assertEqual(_help_without(got.out.decode(), keep),
                                     _help_without(want.out.decode(), []))


def _help_without(text, options):
    """A help text without its first line (program and version), with the entries of options
    removed, and "[OPTIONS] " dropped from USAGE (1.2.0's stop has no options but --uuid)."""
    out, skipping = [], False
    for line in text.splitlines()[1:]:
        stripped = line.strip()
        if stripped.startswith('-') and any(re.search(r'(^|, )%s\b' % re.escape(o), stripped) for o in options):
            skipping = True            # the entry, its indented lines, then (long help) one blank line
            continue
        if skipping and line.startswith(' ' * 12):
            continue
        if skipping and not stripped:
            skipping = False
            continue
        skipping = False
        out.append(line.replace(' [OPTIONS] --uuid', ' --uuid') if 'stop' in line else line)
    return '\n'.join(out)


class TestDeviations(LifecycleCase):
    """Where mdevctl 1.2.0 crashes or does harm, vgpuctl fails cleanly and changes nothing."""

    def test_deviation_delattr_index_equal_to_count(self):
        # DEFINED has 2 attributes: 1.2.0 panics "removal index (is 2) should be < len (is 2)"
        self.deviation(['modify', '-u', DEFINED, '--delattr', '--index', '2'], 101,
                       v_err='Attribute index 2 is invalid')

    def test_deviation_attribute_value_not_a_string(self):
        f = self.jsonfile('{"mdev_type":"mtty-1","start":"manual","attrs":[{"attr_a":1}]}')
        self.deviation(['define', '-p', MTTY, '-u', U1, '--jsonfile', f], 101)
        self.deviation(['start', '-p', MTTY, '-u', U1, '--jsonfile', f], 101)

    def test_deviation_type_not_a_string(self):
        f = self.jsonfile('{"mdev_type":7,"start":"manual"}')
        self.deviation(['define', '-p', MTTY, '-u', U1, '--jsonfile', f], 101)

    def test_deviation_empty_parent(self):
        """1.2.0 writes etc/mdevctl.d/<uuid>, a file where parent directories belong."""
        self.deviation(['define', '-p', '', '-t', 'mtty-1', '-u', U1], 0)
        self.assertTrue(os.path.isfile(os.path.join(self.m.root, 'etc', 'mdevctl.d', U1)))

    def test_deviation_attribute_names(self):
        """1.2.0 stores attribute names that are paths (written relative to the device on start)."""
        self.deviation(['modify', '-u', DEFINED, '--addattr', '../../x', '--value', '1'], 0)
        self.deviation(['modify', '-u', DEFINED, '--addattr', '', '--value', '1'], 0)

    def test_deviation_start_jsonfile_contradicting_definition(self):
        """1.2.0 checks a definition of the UUID on that parent only for `start -t`, not for
        --jsonfile: it starts DEFINED as mtty-2 although its definition says mtty-1, and its `list`
        then shows the running device with the definition's (wrong) type. vgpud refuses, as for -t."""
        f = self.jsonfile(definition('mtty-2'))
        self.deviation(['start', '-p', MTTY, '-u', DEFINED, '--jsonfile', f], 0,
                       v_err='Device %s already exists on parent mtty with type mtty-1' % DEFINED)

    def test_deviation_concurrent_modify(self):
        """1.2.0 rewrites the file in place with no lock: concurrent modifies lose updates
        (MDEVCTL-FACTS.md). Through vgpud none is lost."""
        procs = [subprocess.Popen([os.path.join(self.bindir, 'mdevctl'), 'modify', '-u', DEFINED,
                                   '--addattr', 'attr_a', '--value', str(i)],
                                  env=dict(oracle.CLEAN_ENV, DBUS_SYSTEM_BUS_ADDRESS=os.environ['DBUS_SYSTEM_BUS_ADDRESS']),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(20)]
        for p in procs:
            out, err = p.communicate(timeout=120)
            self.assertEqual((p.returncode, out, err), (0, b'', b''))
        stored = json.loads(self.v.definitions()[os.path.join(MTTY, DEFINED)])
        self.assertEqual(stored['attrs'][:2], [{'attr_a': '1'}, {'attr_b': 'x y'}])
        self.assertEqual(sorted(int(a['attr_a']) for a in stored['attrs'][2:]), list(range(20)))

    def test_deviation_parent_outside_the_directory(self):
        """1.2.0 wrote /etc/evil/<uuid> for `-p ../evil` (MDEVCTL-FACTS.md): too harmful to run here;
        vgpuctl must refuse it."""
        for args in (['define', '-p', '../evil', '-t', 'x', '-u', U1], ['define', '-p', '..', '-t', 'x', '-u', U1]):
            defs = self.v.definitions()
            got = self.vgpuctl(args)
            self.assertEqual((got.rc, got.out), (1, b''), got)
            self.assertEqual(self.v.definitions(), defs)
        self.assertFalse(os.path.exists(os.path.join(self.v.root, 'etc', 'evil')))


if __name__ == '__main__':
    unittest.main()
