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
emulator (a millisecond later) always loses: mdevctl runs under strace with a short delay injected
after every close(2), which gives the emulator the time a real kernel takes inside write(2).

Where mdevctl 1.2.0 crashes (exit 101) or corrupts, vgpuctl gives a clean error (exit 1) and
changes nothing; those tests say so (test_deviation_*)."""

import json
import os
import re
import shutil
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

# mdevctl 1.2.0 under strace: every close(2) returns 3 ms late (see above).
STRACE = ['strace', '-f', '-qq', '-o', '/dev/null', '-e', 'trace=close', '-e', 'inject=close:delay_exit=3000']


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
        want = self.mdevctl(self.m.root, [self.m.sub(a) for a in args], input=stdin, wrap=STRACE)
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

    def compare_state(self):
        mdefs = {self.m_to_v(k.encode()).decode(): self.m_to_v(v) for k, v in self.m.definitions().items()}
        self.assertEqual(self.v.definitions(), mdefs, 'definition files differ' + self.context())
        mdevs = {self.m_to_v(k.encode()).decode(): v for k, v in self.m.devices().items()}
        self.assertEqual(self.v.devices(), mdevs, 'sysfs differs' + self.context())
        for args in (['list', '-d'], ['list']):
            want, got = self.run_both(args)
            self.assertTrue(got.rc == want.rc and self.same_output(got.out, want.out),
                            '`%s` differs' % ' '.join(args) + self.context(want, got))


class TestDefine(LifecycleCase):
    def test_define_forms(self):
        self.step('define', '-u', U1, '-p', T4, '-t', T4_1Q, rc=0)
        self.step('define', '-p', T4, '-t', T4_2Q, '--auto', rc=0)
        self.step('define', '-p', MTTY, '-t', 'mtty-1', rc=0)
        self.step('define', '-u', RUNNING, rc=0)
        self.step('list', '-d', '-v', rc=0)
        self.step('list', '-d', '--dumpjson', rc=0)


if __name__ == '__main__':
    unittest.main()
