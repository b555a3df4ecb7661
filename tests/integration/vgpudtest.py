# SPDX-License-Identifier: LGPL-2.1-or-later
"""Harness for vgpud integration tests (unittest style, like bolt's and
power-profiles-daemon's): a private system bus (python-dbusmock), an optional
polkitd mock, a simulated mdev host (tests/sim: sysfs tree + kernel emulator in
this process) and the daemon running under the umockdev preload.

Environment: VGPUD_BUILDDIR (default <repo>/build) holds daemon/vgpud and
client/vgpuctl; VALGRIND=1 runs the daemon under valgrind; VGPUD_TEST_VERBOSE=1
prints the daemon log even for passing tests.

    class MyTest(vgpudtest.VgpudTestCase):
        host = 't4'            # any tests/sim/hosts.py host, or override make_host()
        polkit = 'allow'       # 'allow', 'deny' or None (no polkit on the bus)
        def test_list(self):
            rc, out, err = self.run_vgpuctl('list')
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import dbusmock
import gi

gi.require_version('Gio', '2.0')
from gi.repository import Gio, GLib  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIM_DIR = os.path.join(REPO, 'tests', 'sim')
sys.path.insert(0, SIM_DIR)

import emulator  # noqa: E402
import hosts  # noqa: E402
import simhost  # noqa: E402
import tree  # noqa: E402

BUS_NAME = 'org.vgpud1'
POLKIT_BUS_NAME = 'org.freedesktop.PolicyKit1'

# How long a test waits for a signal or a state it expects (every wait_for, the daemon's start
# and stop, the udevadm monitor): generous, because on a loaded machine (8 builds on 2 cores) the
# daemon can lag by seconds. A wait returns as soon as its state is there, so the deadline only
# costs time when the test fails anyway. VGPUD_TEST_TIMEOUT_SCALE=N multiplies it (slow CI).
WAIT_TIMEOUT = 60 * float(os.environ.get('VGPUD_TEST_TIMEOUT_SCALE', '1'))


def builddir():
    return os.environ.get('VGPUD_BUILDDIR', os.path.join(REPO, 'build'))


# ---------------------------------------------------------------- sim host

class SimHost:
    """A tree written into a temporary directory plus a running kernel emulator.
    host: a hosts.Host or the name of one."""

    def __init__(self, host='default', scale=1.0, root=None, log=None):
        if isinstance(host, str):
            host = hosts.build_host(host, scale)
        self.host = host
        self._own_root = root is None
        self.root = root or tree.make_root()
        self.tree = tree.write_tree(host, self.root)
        self.emulator = emulator.Emulator(self.tree, log=log)
        self.emulator.wait_timeout = WAIT_TIMEOUT
        self.emulator.start()

    @property
    def sys_dir(self):
        return self.tree.sys

    @property
    def definitions_dir(self):
        return self.tree.definitions_dir

    def env(self, base=None, nvml=False):
        return simhost.sim_environment(self.root, base, nvml=nvml)

    def monitor_sockets(self):
        """The umockdev fake netlink sockets (one per libudev monitor, maybe stale)."""
        return self.emulator.sender.listeners()

    def live_monitor_sockets(self):
        """The fake netlink sockets some process still listens on (stale ones removed)."""
        return self.emulator.sender.live_listeners()

    def close(self):
        self.emulator.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)


class UdevMonitor:
    """`udevadm monitor --udev --property` under the umockdev preload: what a libudev
    monitor sees of the simulator's uevents. umockdev names the fake netlink socket
    after the fd number, and udevadm's is always 5: start() fails with RuntimeError
    if that takes over a live socket of another process (see NOTES.md)."""

    def __init__(self, sim, timeout=WAIT_TIMEOUT):
        self.sim = sim
        before = {p: os.stat(p).st_ino for p in sim.live_monitor_sockets()}
        fd, self._out_path = tempfile.mkstemp(prefix='udevadm-monitor.')
        os.close(fd)
        self._first_event = None
        # the child appends through its own open file description: reading it here
        # must not move the child's write offset
        with open(self._out_path, 'a') as out:
            self.proc = subprocess.Popen(['udevadm', 'monitor', '--udev', '--property'],
                                         env=sim.env(), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            now = {p: os.stat(p).st_ino for p in sim.monitor_sockets() if os.path.exists(p)}
            replaced = [p for p in before if p in now and now[p] != before[p]]
            if replaced:
                self.stop()
                raise RuntimeError('udevadm monitor took over the socket of another monitor '
                                   '(%s)' % replaced)
            if any(p not in before for p in now):
                self._first_event = len(sim.emulator.events)
                break
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError('udevadm monitor did not start listening')
            time.sleep(0.01)

    def _read(self):
        with open(self._out_path, errors='replace') as f:
            return f.read()

    def stop(self, timeout=WAIT_TIMEOUT):
        """Wait until the monitor printed every event the emulator sent since it
        started, stop it, and return the events as (action, devpath, {props})."""
        if self._first_event is not None:
            want = len(self.sim.emulator.events) - self._first_event
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                if self._read().count('\nUDEV  [') >= want:
                    break
                time.sleep(0.01)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        text = self._read()
        os.unlink(self._out_path)
        events = []
        for block in text.split('\n\n'):
            lines = block.strip().splitlines()
            if not lines or not lines[0].startswith('UDEV'):
                continue
            parts = lines[0].split()
            props = dict(line.split('=', 1) for line in lines[1:] if '=' in line)
            events.append((parts[2], parts[3], props))
        return events


def run_mdevctl(root, *args, input=None, timeout=60, argv0='mdevctl'):
    """Run mdevctl 1.2.0 on the tree at root (which holds sys/ and etc/mdevctl.d/) in a
    private mount namespace with root/sys over /sys and root/etc/mdevctl.d over
    /etc/mdevctl.d. argv0='lsmdev' runs it under that name. Returns (rc, stdout, stderr)."""
    mdevctl = shutil.which('mdevctl')
    if mdevctl is None:
        raise unittest.SkipTest('mdevctl is not installed')
    unshare = ['unshare', '-m', '--propagation', 'private']
    if os.geteuid() != 0:
        unshare.insert(1, '-r')
    script = ('set -e; r="$1"; a0="$2"; bin="$3"; shift 3; mount --bind "$r/sys" /sys; '
              'mount --bind "$r/etc/mdevctl.d" /etc/mdevctl.d; exec -a "$a0" "$bin" "$@"')
    env = dict(os.environ)
    for k in ('LD_PRELOAD', 'UMOCKDEV_DIR'):
        env.pop(k, None)
    p = subprocess.run(unshare + ['--', 'bash', '-c', script, 'bash', os.path.abspath(root),
                                  argv0, mdevctl] + list(args),
                       input=input, capture_output=True, text=True, env=env, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


# ---------------------------------------------------------------- D-Bus helpers

def _unpack(v):
    return v.unpack() if isinstance(v, GLib.Variant) else v


class SignalRecorder:
    """Records InterfacesAdded/InterfacesRemoved/PropertiesChanged (and any other
    signal) sent by the owner of a bus name. Entries: (member, path, args)."""

    def __init__(self, conn, owner):
        self.conn = conn
        self.owner = owner
        self.signals = []
        self._id = conn.signal_subscribe(None, None, None, None, None,
                                         Gio.DBusSignalFlags.NONE, self._on_signal)
        # GDBus sends the AddMatch without waiting for the bus: on a loaded machine the daemon's
        # next signal could reach the bus first and be lost to us, whatever the wait. The bus
        # reads one connection's messages in order, so once a later call is answered the match
        # rule is in place.
        conn.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetId',
                       None, None, Gio.DBusCallFlags.NONE, -1, None)

    def _on_signal(self, _conn, sender, path, _iface, member, params):
        if sender == self.owner:
            self.signals.append((member, path, _unpack(params)))

    def clear(self):
        self.signals = []

    def of(self, member):
        return [s for s in self.signals if s[0] == member]

    def wait_for(self, predicate, timeout=WAIT_TIMEOUT):
        """Run the main context until predicate(signals) is true or timeout seconds passed;
        returns its last value (assert it: a false one is a signal that never came)."""
        ctx = GLib.MainContext.default()
        deadline = time.monotonic() + timeout
        while True:
            while ctx.iteration(False):
                pass
            r = predicate(self.signals)
            if r:
                return r
            if time.monotonic() > deadline:
                return r
            time.sleep(0.005)

    def close(self):
        self.conn.signal_unsubscribe(self._id)


# ---------------------------------------------------------------- test case

_OPTION_SUPPORT = {}


def daemon_supports(option):
    """Whether the built vgpud accepts `--<option> <value>` (it refuses unknown options, so
    `vgpud --<option> x --version` exits 0 only when it knows the option)."""
    if option not in _OPTION_SUPPORT:
        vgpud = os.path.join(builddir(), 'daemon', 'vgpud')
        p = subprocess.run([vgpud, '--' + option, '/nonexistent', '--version'], capture_output=True,
                           timeout=30)
        _OPTION_SUPPORT[option] = p.returncode == 0
    return _OPTION_SUPPORT[option]


class VgpudTestCase(dbusmock.DBusTestCase):
    host = 'default'
    scale = 1.0
    polkit = 'allow'
    start_daemon = True
    daemon_timeout = WAIT_TIMEOUT  # to own the bus name, and to exit on stop_vgpud()
    # the fake libnvidia-ml.so.1 (tests/sim/nvml) on the daemon's library path; False: no NVML at all
    nvml = False
    # the fake sriov-manage (tests/sim/sriov-manage) as the daemon's sriov-manage, through
    # --sriov-manage PATH (test-only option) when the daemon has it; None: a path that does not exist
    sriov_manage = simhost.SRIOV_MANAGE

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_system_bus()
        # python-dbusmock 0.28 records the bus on DBusTestCase, and its tearDownClass sets None on the
        # class it tears down: a subclass of a class that ran before then finds that None and never
        # stops its own bus (a dbus-daemon, and its inotify instance, left per such class). Recorded
        # on this class, teardown stops the bus it started (a class whose start_system_bus records its
        # own, as test_hostile's does, keeps that).
        cls.system_bus_pid = cls.__dict__.get('system_bus_pid') or dbusmock.DBusTestCase.system_bus_pid
        cls.bus_address = os.environ['DBUS_SYSTEM_BUS_ADDRESS']
        cls.dbus_con = cls.get_dbus(system_bus=True)
        cls.gconn = Gio.DBusConnection.new_for_address_sync(
            cls.bus_address,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
            Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)

    @classmethod
    def tearDownClass(cls):
        cls.gconn.close_sync(None)
        super().tearDownClass()

    def make_host(self):
        """The Host for this test; override for a custom one."""
        return hosts.build_host(self.host, self.scale)

    def setUp(self):
        self.workdir = tree.make_root('vgpud-test.')
        self.daemon = None
        self.recorder = None
        self.polkitd = None
        self.polkitd_obj = None
        self.sim = None
        # runs after tearDown, and also when setUp fails half way
        self.addCleanup(self._cleanup)
        self.log_path = os.path.join(self.workdir, 'vgpud.log')
        self.sim = SimHost(self.make_host(), root=os.path.join(self.workdir, 'root'),
                           log=open(os.path.join(self.workdir, 'emulator.log'), 'w'))
        self.state_dir = os.path.join(self.workdir, 'state')
        os.makedirs(self.state_dir)
        if self.polkit is not None:
            self.start_polkit(self.polkit == 'allow')
        if self.start_daemon:
            self.start_vgpud()

    def tearDown(self):
        failed = self._test_failed()
        if self.daemon is not None:
            rc = self.stop_vgpud()
            if rc != 0 and not failed:
                self._logs_printed = True
                self.print_logs()
                self.fail('vgpud exited with status %s on SIGTERM' % rc)
        if failed:
            self.print_logs()
            self._logs_printed = True

    def _cleanup(self):
        if self.daemon is not None:
            self.daemon.kill()
            self.daemon.wait()
            self.daemon = None
        if os.environ.get('VGPUD_TEST_VERBOSE') and not getattr(self, '_logs_printed', False):
            self.print_logs()
        if self.polkitd is not None:
            self.polkitd.terminate()
            self.polkitd.wait()
            self.polkitd = None
        if self.sim is not None:
            self.sim.emulator.log.close()
            self.sim.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _test_failed(self):
        outcome = getattr(self, '_outcome', None)
        if outcome is None:
            return False
        result = getattr(outcome, 'result', None)
        errors = getattr(outcome, 'errors', None)
        if errors:  # Python <= 3.10
            return any(exc for _test, exc in errors)
        if result is not None:  # Python >= 3.11
            return any(t is self for t, _ in result.failures + result.errors)
        return False

    def print_logs(self):
        for name in ('vgpud.log', 'emulator.log'):
            path = os.path.join(self.workdir, name)
            if os.path.exists(path):
                with open(path, errors='replace') as f:
                    text = f.read()
                if text:
                    sys.stderr.write('\n----- %s (%s) -----\n%s----- end -----\n'
                                     % (name, self.id(), text))

    # ------------------------------------------------------------ polkit
    def start_polkit(self, allow=True):
        """The dbusmock polkitd template; allow=True allows every action."""
        self.polkitd, self.polkitd_obj = self.spawn_server_template(
            'polkitd', {}, stdout=subprocess.DEVNULL)
        self.polkit_allow_all(allow)

    def polkit_allow_all(self, allow):
        self.polkitd_obj.AllowUnknown(allow, dbus_interface=dbusmock.MOCK_IFACE)

    def polkit_set_allowed(self, actions):
        """Allow exactly these action ids (and deny the rest)."""
        self.polkitd_obj.AllowUnknown(False, dbus_interface=dbusmock.MOCK_IFACE)
        self.polkitd_obj.SetAllowed(actions, dbus_interface=dbusmock.MOCK_IFACE)

    # ------------------------------------------------------------ daemon
    def env(self):
        env = self.sim.env(nvml=self.nvml)
        env['DBUS_SYSTEM_BUS_ADDRESS'] = self.bus_address
        env.setdefault('G_DEBUG', 'fatal-criticals')
        env['STATE_DIRECTORY'] = self.state_dir
        # read commands use the daemon's snapshot, as with vgpud.service (--snapshot below)
        env['VGPUD_SNAPSHOT'] = self.snapshot_path()
        return env

    def snapshot_path(self):
        """Where this test's vgpud publishes its inventory for read commands (common/snapshot.h)."""
        return os.path.join(self.workdir, 'snapshot')

    def config_path(self):
        """This test's vgpud.conf (never the host's /etc/vgpud/vgpud.conf); empty unless the test
        writes it with write_config() before starting the daemon."""
        path = os.path.join(self.workdir, 'vgpud.conf')
        if not os.path.exists(path):
            self.write_config('')
        return path

    def write_config(self, text):
        with open(os.path.join(self.workdir, 'vgpud.conf'), 'w') as f:
            f.write(text)

    def daemon_argv(self):
        argv = [os.path.join(builddir(), 'daemon', 'vgpud'), '--config', self.config_path(),
                '--definitions-dir', self.sim.definitions_dir, '--state-dir', self.state_dir,
                # never the host's /usr/lib/mdevctl/scripts.d callouts
                '--system-scripts-dir', os.path.join(self.workdir, 'no-system-scripts')]
        if daemon_supports('snapshot'):
            argv += ['--snapshot', self.snapshot_path()]
        if daemon_supports('sriov-manage'):
            # never the host's /usr/lib/nvidia/sriov-manage
            argv += ['--sriov-manage', self.sriov_manage or os.path.join(self.workdir, 'no-sriov-manage')]
        if os.environ.get('VALGRIND'):
            argv = ['valgrind', '--quiet', '--error-exitcode=33', '--leak-check=full',
                    '--errors-for-leak-kinds=definite', '--show-leak-kinds=definite'] + argv
        return argv

    def start_vgpud(self, extra_args=()):
        argv = self.daemon_argv() + list(extra_args)
        vgpud = os.path.join(builddir(), 'daemon', 'vgpud')
        if not os.access(vgpud, os.X_OK):
            self.fail('vgpud not built: %s (set VGPUD_BUILDDIR)' % vgpud)
        before = set(self.sim.live_monitor_sockets())
        log = open(self.log_path, 'a')
        self.daemon = subprocess.Popen(argv, env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        timeout = self.daemon_timeout * (5 if os.environ.get('VALGRIND') else 1)
        deadline = time.monotonic() + timeout
        while not self.dbus_con.name_has_owner(BUS_NAME):
            if self.daemon.poll() is not None:
                rc = self.daemon.returncode
                self.daemon = None
                self.print_logs()
                self.fail('vgpud exited with status %d before owning %s' % (rc, BUS_NAME))
            if time.monotonic() > deadline:
                self.print_logs()
                self.fail('vgpud did not own %s within %d s' % (BUS_NAME, timeout))
            time.sleep(0.02)
        self.daemon_owner = self.dbus_con.get_name_owner(BUS_NAME)
        self.daemon_monitors = sorted(set(self.sim.monitor_sockets()) - before)
        self.recorder = SignalRecorder(self.gconn, self.daemon_owner)

    def stop_vgpud(self, sig=signal.SIGTERM, timeout=None):
        """Stop the daemon; returns its exit status (-N for a signal)."""
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
        p, self.daemon = self.daemon, None
        if p.poll() is None:
            p.send_signal(sig)
            try:
                if timeout is None:
                    timeout = self.daemon_timeout
                p.wait(timeout * (5 if os.environ.get('VALGRIND') else 1))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                return 'timeout (killed)'
        return p.returncode

    def restart_vgpud(self):
        rc = self.stop_vgpud()
        self.assertEqual(rc, 0, 'vgpud exited with %s' % rc)
        self.start_vgpud()

    def daemon_log(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()

    # ------------------------------------------------------------ clients
    def run_vgpuctl(self, *args, input=None, timeout=60, argv0=None):
        """Run client/vgpuctl with the daemon's environment: (rc, stdout, stderr).
        argv0='lsmdev' runs it under that name."""
        path = os.path.join(builddir(), 'client', 'vgpuctl')
        argv = [argv0 or path] + list(args)
        p = subprocess.run(argv, input=input, capture_output=True, text=True, env=self.env(),
                           timeout=timeout, executable=path)
        return p.returncode, p.stdout, p.stderr

    def run_mdevctl(self, *args, input=None, argv0='mdevctl'):
        """mdevctl 1.2.0 on this test's tree."""
        return run_mdevctl(self.sim.root, *args, input=input, argv0=argv0)

    # ------------------------------------------------------------ bus access
    def call(self, path, iface, method, args=None, signature=None, timeout_ms=30000):
        """Call a method on the daemon; returns the unpacked reply tuple."""
        params = GLib.Variant(signature, args) if signature else None
        reply = self.gconn.call_sync(BUS_NAME, path, iface, method, params, None,
                                     Gio.DBusCallFlags.NONE, timeout_ms, None)
        return reply.unpack() if reply is not None else ()

    def get_managed_objects(self, root='/org/vgpud1'):
        return self.call(root, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects')[0]

    def get_property(self, path, iface, name):
        return self.call(path, 'org.freedesktop.DBus.Properties', 'Get', (iface, name), '(ss)')[0]

    def get_all_properties(self, path, iface):
        return self.call(path, 'org.freedesktop.DBus.Properties', 'GetAll', (iface,), '(s)')[0]

    def wait_for(self, predicate, timeout=WAIT_TIMEOUT):
        """Wait for predicate(recorded signals) while dispatching bus messages."""
        return self.recorder.wait_for(predicate, timeout)
