# SPDX-License-Identifier: LGPL-2.1-or-later
"""The mdevctl oracle harness: one simulated host tree, read by Debian's mdevctl 1.2.0 (in a private
mount namespace with the tree bind-mounted over /sys and /etc/mdevctl.d) and by vgpuctl talking to
the real vgpud (on a private system bus, under the umockdev preload over the same tree).

  OracleCase        a unittest.TestCase base: a private system bus for the class, and
                    self.start_host(host) / self.mdevctl(root, args) / self.vgpuctl(args) /
                    self.assert_same(...).
  copy_tree(src)    a copy of a written tree (for the "what mdevctl would print without the file
                    it chokes on" references).

vgpuctl is run through symlinks named mdevctl and lsmdev, as the mdevctl_compat install does, so
its USAGE lines match mdevctl's. Needs root (mount namespaces), /usr/bin/mdevctl 1.2.0, dbus-daemon,
python3-dbusmock and umockdev. Build directory: $VGPUD_BUILDDIR (default <repo>/build).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'tests', 'sim'))

import hosts  # noqa: E402
import tree as treemod  # noqa: E402
from simhost import sim_environment  # noqa: E402

try:
    import dbus
    import dbusmock
except ImportError:  # reported by the tests as a skip
    dbus = None
    dbusmock = None

BUILDDIR = os.environ.get('VGPUD_BUILDDIR') or os.path.join(REPO, 'build')
VGPUD = os.path.join(BUILDDIR, 'daemon', 'vgpud')
VGPUCTL = os.path.join(BUILDDIR, 'client', 'vgpuctl')
MDEVCTL = '/usr/bin/mdevctl'
LSMDEV = '/usr/bin/lsmdev'
BUS_NAME = 'org.vgpud1'

# What mdevctl's and vgpuctl's processes see: no colours, no backtraces, C locale.
CLEAN_ENV = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL': 'C.UTF-8'}

_MOUNT_SCRIPT = ('mount --bind "$0/sys" /sys && mount --bind "$0/etc/mdevctl.d" /etc/mdevctl.d '
                 '&& exec "$@"')


def missing_requirements():
    """Why the oracle cannot run here, or None."""
    if os.geteuid() != 0:
        return 'needs root for mount namespaces'
    for path in (MDEVCTL, LSMDEV, VGPUD, VGPUCTL):
        if not os.access(path, os.X_OK):
            return '%s is missing (build first, or install mdevctl)' % path
    if not os.path.isdir('/etc/mdevctl.d'):
        return '/etc/mdevctl.d does not exist (the mdevctl package creates it)'
    if dbusmock is None:
        return 'python3-dbusmock is not installed'
    if shutil.which('dbus-daemon') is None:
        return 'dbus-daemon is not installed'
    try:
        out = subprocess.run([MDEVCTL, '--version'], capture_output=True, text=True).stdout
    except OSError as e:
        return 'cannot run mdevctl: %s' % e
    if out.strip() != 'mdevctl 1.2.0':
        return 'the oracle is mdevctl 1.2.0, found %r' % out.strip()
    return None


def copy_tree(src, dst):
    """Copy what mdevctl reads of a written tree (sys/ and etc/), keeping symlinks as they are.
    (umockdev leaves sockets in the tree's root while vgpud runs: those are not copied.)"""
    for sub in ('sys', 'etc'):
        shutil.copytree(os.path.join(src, sub), os.path.join(dst, sub), symlinks=True)
    return dst


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self):
        return 'rc=%d\n--- stdout:\n%s\n--- stderr:\n%s' % (
            self.rc, self.out.decode('utf-8', 'replace'), self.err.decode('utf-8', 'replace'))


class Daemon:
    """vgpud over one tree, on the class's private bus."""

    def __init__(self, root, state_dir, log_path):
        self.root = root
        env = sim_environment(root, CLEAN_ENV)
        env['DBUS_SYSTEM_BUS_ADDRESS'] = os.environ['DBUS_SYSTEM_BUS_ADDRESS']
        self.log_path = log_path
        self.log = open(log_path, 'wb')
        # as deployed (vgpud.service): reads and root's changes go over the private socket (the
        # changes made by vgpuctl's front itself, client/front-wire.c)
        self.private_socket = os.path.join(state_dir, 'private')
        # and read commands use the published snapshot first (common/snapshot.h)
        self.snapshot = os.path.join(state_dir, 'snapshot')
        self.proc = subprocess.Popen(
            [VGPUD, '--definitions-dir', os.path.join(root, 'etc', 'mdevctl.d'), '--state-dir', state_dir,
             '--private-socket', self.private_socket, '--snapshot', self.snapshot,
             # never the host's /usr/lib/mdevctl/scripts.d callouts
             '--system-scripts-dir', os.path.join(state_dir, 'no-system-scripts')],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout=60):
        bus = dbus.bus.BusConnection(os.environ['DBUS_SYSTEM_BUS_ADDRESS'])
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError('vgpud exited with %d:\n%s' % (self.proc.returncode, self.read_log()))
                if bus.name_has_owner(BUS_NAME):
                    return
                time.sleep(0.05)
            raise RuntimeError('vgpud did not take %s within %ds:\n%s' % (BUS_NAME, timeout, self.read_log()))
        finally:
            bus.close()

    def read_log(self):
        self.log.flush()
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def build_host(spec):
    """A hosts.Host from a name in hosts.HOSTS or a callable."""
    return hosts.build_host(spec) if isinstance(spec, str) else spec()


class OracleCase(dbusmock.DBusTestCase if dbusmock else unittest.TestCase):
    """Base class: a private system bus, one simulated host tree and vgpud over it, per class.

    HOST: a name in tests/sim/hosts.HOSTS or a callable returning a hosts.Host.
    make_reference(root): the tree mdevctl is run on for the comparison; the same tree unless a
    subclass needs "the tree without what mdevctl 1.2.0 chokes on"."""

    HOST = None

    @classmethod
    def setUpClass(cls):
        why = missing_requirements()
        if why:
            raise unittest.SkipTest(why)
        super().setUpClass()
        cls.start_system_bus()
        cls.tmp = tempfile.mkdtemp(prefix='oracle.')
        cls.bindir = os.path.join(cls.tmp, 'bin')
        os.makedirs(cls.bindir)
        for name in ('mdevctl', 'lsmdev', 'vgpuctl'):
            os.symlink(VGPUCTL, os.path.join(cls.bindir, name))
        cls.daemon = None
        cls.root = cls.reference = None
        if cls.HOST is not None:
            cls.host = build_host(cls.HOST)
            cls.root = os.path.join(cls.tmp, 'tree')
            treemod.write_tree(cls.host, cls.root)
            cls.reference = cls.make_reference(cls.root)
            cls.start_daemon(cls.root)

    @classmethod
    def tearDownClass(cls):
        cls.stop_daemon()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    @classmethod
    def make_reference(cls, root):
        return root

    # ------------------------------------------------------------ the daemon
    @classmethod
    def start_daemon(cls, root):
        """Start vgpud over root (stopping one that runs) and wait until it owns its name."""
        cls.stop_daemon()
        state = tempfile.mkdtemp(prefix='state.', dir=cls.tmp)
        cls.daemon = Daemon(root, state, os.path.join(state, 'vgpud.log'))
        try:
            cls.daemon.wait_ready()
        except Exception:
            cls.stop_daemon()
            raise

    @classmethod
    def stop_daemon(cls):
        if cls.daemon:
            cls.daemon.stop()
            cls.daemon = None

    # ------------------------------------------------------------ the two programs
    @classmethod
    def mdevctl(cls, root, args, prog=MDEVCTL, input=None, wrap=()):
        """mdevctl 1.2.0 with root's sys/ and etc/mdevctl.d bind-mounted over the real ones.
        input: bytes for its stdin; wrap: a command prefix inside the namespace (e.g. strace)."""
        cmd = (['unshare', '-m', '--propagation', 'private', '--', 'sh', '-c', _MOUNT_SCRIPT, root] + list(wrap) +
               [prog] + list(args))
        return Result(subprocess.run(cmd, capture_output=True, env=CLEAN_ENV, timeout=120,
                                     input=input if input is not None else b''))

    @classmethod
    def vgpuctl(cls, args, name='mdevctl', input=None):
        """vgpuctl (invoked as `name`) against the running daemon. input: bytes for its stdin."""
        env = dict(CLEAN_ENV)
        env['DBUS_SYSTEM_BUS_ADDRESS'] = os.environ['DBUS_SYSTEM_BUS_ADDRESS']
        if cls.daemon is not None:
            env['VGPUD_SOCKET'] = cls.daemon.private_socket
            env['VGPUD_SNAPSHOT'] = cls.daemon.snapshot
        return Result(subprocess.run([os.path.join(cls.bindir, name)] + list(args), capture_output=True,
                                     env=env, timeout=120, input=input if input is not None else b''))

    # ------------------------------------------------------------ assertions
    def assert_same(self, args, reference_root=None, name='mdevctl'):
        """vgpuctl's stdout bytes and exit code equal mdevctl's on reference_root (default: the
        class's reference tree). name: 'mdevctl' or 'lsmdev'."""
        root = reference_root or self.reference
        want = self.mdevctl(root, args, prog=LSMDEV if name == 'lsmdev' else MDEVCTL)
        got = self.vgpuctl(args, name=name)
        if got.out != want.out or got.rc != want.rc:
            self.fail('`%s %s` differs.\n=== mdevctl 1.2.0 %r\n=== vgpuctl %r\n=== vgpud log (tail):\n%s' % (
                name, ' '.join(args), want, got, self.daemon.read_log()[-3000:] if self.daemon else ''))
        return got, want


def add_comparisons(cls, commands):
    """Add one test method per command line to cls: `test_NNN_<slug>` asserting assert_same.
    commands: lists of arguments, or ('lsmdev', [args]) for the lsmdev name."""
    for n, cmd in enumerate(commands):
        name, args = ('lsmdev', cmd[1]) if isinstance(cmd, tuple) else ('mdevctl', cmd)
        slug = '_'.join([name] + list(args))
        slug = ''.join(c if c.isalnum() else '_' for c in slug)[:80]

        def test(self, args=list(args), name=name):
            self.assert_same(args, name=name)
        test.__name__ = 'test_%03d_%s' % (n, slug)
        test.__doc__ = '%s %s' % (name, ' '.join(args))
        setattr(cls, test.__name__, test)
    return cls
