#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark of the write side on the simulated host (tests/sim: a written sysfs tree plus the
kernel emulator, which answers create/remove writes with devices and uevents). Prints tables;
asserts nothing (the figures go into HACKING.md).

1. define / start / stop / undefine: median wall time of each vgpuctl command (against vgpud) and of
   mdevctl 1.2.0's same command, each on its own twin of the same host (one parent of the "large"
   host with 160 vGPUs running), BENCH_RUNS UUIDs each. Like with like: vgpud and mdevctl both see
   their twin's /sys through umockdev's preload (the emulator answers both), and both keep their
   definitions on the twin's tree (mdevctl in a private mount namespace with the twin's
   etc/mdevctl.d bind-mounted over /etc/mdevctl.d; vgpud with --definitions-dir there); the trees
   live on tmpfs, so an fsync costs nothing here (bench-definitions.py measures define, modify
   and undefine on a real disk). vgpuctl start/stop return once the kernel confirmed (vgpud waited
   for the uevent); mdevctl returns right after its sysfs write, so its start and stop are timed
   until the device exists or is gone (polled every 0.2 ms).
   Until vgpuctl has the write commands, the same requests are sent with busctl (labelled so).
2. autostart: 16 parents like the "large" host's (16 GPU cores, 256-unit pools, 20 types each),
   nothing running, 512 "auto" definitions (32 per parent). Time from exec of vgpud to all 512
   devices present, BENCH_STARTS times on fresh trees; for reference, the emulator's own cost of
   512 creates written one by one. (mdevctl's udev path, `mdevctl start-parent-mdevs P`, cannot
   be timed here: it writes the next create before the emulator has read the last one, and the
   emulator, reading the file after the fact, sees the UUIDs run together and refuses them.)
Usage: bench-lifecycle.py [BUILDDIR]  (default: build). Run as root.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, 'tests', 'sim'))

import drivers  # noqa: E402
import emulator  # noqa: E402
import hosts  # noqa: E402
import simhost  # noqa: E402
import tree as simtree  # noqa: E402

RUNS = int(os.environ.get('BENCH_RUNS', '15'))
STARTS = int(os.environ.get('BENCH_STARTS', '3'))
COMMANDS = ['define', 'start', 'stop', 'undefine']
TYPE = 'nvidia-900'   # a 1-unit type of the large host
AUTOSTART_PER_PARENT = 32
AUTOSTART_PARENTS = 16

BUS_CONF = '''<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/> <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/> <allow eavesdrop="true"/>
  </policy>
</busconfig>
'''


def wait_for(pred, timeout=30, step=0.001):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError('condition not met within %d s' % timeout)
        time.sleep(step)


def timed(argv, env=None):
    t0 = time.perf_counter()
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError('%s failed (%d): %s' % (' '.join(argv), p.returncode, p.stderr.decode()))
    return dt


class Bus:
    """A private system bus (dbus-daemon) in a temporary directory."""

    def __init__(self, tmp):
        self.sock = os.path.join(tmp, 'bus')
        conf = os.path.join(tmp, 'bus.conf')
        with open(conf, 'w') as f:
            f.write(BUS_CONF % self.sock)
        self.proc = subprocess.Popen(['dbus-daemon', '--config-file', conf, '--nofork', '--nopidfile'],
                                     stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.sock), 5, 0.01)
        self.address = 'unix:path=' + self.sock

    def has_owner(self, name):
        p = subprocess.run(['busctl', '--address=' + self.address, 'status', name],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return p.returncode == 0

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def private_socket(state):
    """Where start_vgpud() puts vgpud's private socket (as vgpud.service has /run/vgpud/private): root's
    vgpuctl uses it, given as VGPUD_SOCKET."""
    return os.path.join(state, 'private')


def start_vgpud(builddir, sim, bus, state):
    env = simhost.sim_environment(sim.root)
    env['DBUS_SYSTEM_BUS_ADDRESS'] = bus.address
    argv = [os.path.join(builddir, 'daemon', 'vgpud'), '--definitions-dir', sim.definitions_dir,
            '--state-dir', state, '--private-socket', private_socket(state)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, t0


def stop(proc):
    proc.terminate()
    proc.wait(timeout=10)


class Sim:
    """A host's tree in a temporary directory with the kernel emulator running on it."""

    def __init__(self, host):
        self.host = host
        self.root = simtree.make_root('vgpud-bench.')
        self.tree = simtree.write_tree(host, self.root)
        self.definitions_dir = self.tree.definitions_dir
        self.log = open(os.devnull, 'w')
        self.emulator = emulator.Emulator(self.tree, log=self.log).start()

    def running(self, u):
        with self.emulator.lock:
            return u in self.host.mdevs

    def count(self):
        with self.emulator.lock:
            return len(self.host.mdevs)

    def close(self):
        self.emulator.stop()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------- 1. command latencies

def vgpuctl_has_write(builddir):
    p = subprocess.run([os.path.join(builddir, 'client', 'vgpuctl'), 'define', '--help'],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return p.returncode == 0


def client_argv(builddir, bus, use_vgpuctl, cmd, u, parent):
    if use_vgpuctl:
        argv = [os.path.join(builddir, 'client', 'vgpuctl'), cmd, '-u', u]
        if cmd == 'define':
            argv += ['-p', parent, '-t', TYPE]
        return argv
    call = ['busctl', '--address=' + bus.address, 'call', 'org.vgpud1', '/org/vgpud1', 'org.vgpud1.Manager']
    definition = json.dumps({'mdev_type': TYPE, 'start': 'manual'})
    return call + {
        'define': ['Define', 'sssa{sv}', parent, u, definition, '0'],
        'start': ['Start', 'sssa{sv}', '', u, '', '0'],
        'stop': ['Stop', 'sa{sv}', u, '0'],
        'undefine': ['Undefine', 'ssa{sv}', parent, u, '0'],
    }[cmd]


def client_floor():
    tmp = tempfile.mkdtemp(prefix='vgpud-bench-bus.')
    bus = Bus(tmp)
    try:
        return statistics.median(timed(['busctl', '--address=' + bus.address, 'call', 'org.freedesktop.DBus',
                                        '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetId'])
                                 for _ in range(RUNS))
    finally:
        bus.close()
        shutil.rmtree(tmp, ignore_errors=True)


def bench_vgpud(builddir, use_vgpuctl, uuids):
    host = hosts.large(1 / 16)
    parent = sorted(host.parents)[0]
    sim = Sim(host)
    tmp = tempfile.mkdtemp(prefix='vgpud-bench-bus.')
    bus = Bus(tmp)
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address, VGPUD_SOCKET=private_socket(tmp))
    proc = None
    times = {c: [] for c in COMMANDS}
    try:
        proc, _ = start_vgpud(builddir, sim, bus, tmp)
        wait_for(lambda: bus.has_owner('org.vgpud1'), 20, 0.02)
        for u in uuids:
            for cmd in COMMANDS:
                times[cmd].append(timed(client_argv(builddir, bus, use_vgpuctl, cmd, u, parent), env))
                if cmd == 'start':
                    wait_for(lambda: sim.running(u))
                elif cmd == 'stop':
                    wait_for(lambda: not sim.running(u))
    finally:
        if proc is not None:
            stop(proc)
        bus.close()
        sim.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return times


def inner_mdevctl(root, parent, uuids):
    """In a private mount namespace: mdevctl on the tree at root (/sys through the preload, as vgpud
    sees it; its definitions bind-mounted); prints the times as JSON."""
    subprocess.run(['mount', '--bind', os.path.join(root, 'etc', 'mdevctl.d'), '/etc/mdevctl.d'], check=True)
    env = simhost.sim_environment(root)
    sys_dir = os.path.join(root, 'sys')
    times = {c: [] for c in COMMANDS}
    for u in uuids:
        dev = os.path.join(sys_dir, 'bus', 'mdev', 'devices', u)
        for cmd in COMMANDS:
            argv = ['mdevctl', cmd, '-u', u]
            if cmd == 'define':
                argv += ['-p', parent, '-t', TYPE]
            t0 = time.perf_counter()
            timed(argv, env)
            if cmd == 'start':  # to ready, as vgpuctl start returns
                wait_for(lambda: os.path.exists(dev), step=0.0002)
            elif cmd == 'stop':
                wait_for(lambda: not os.path.exists(dev), step=0.0002)
            times[cmd].append(time.perf_counter() - t0)
    print(json.dumps(times))


def bench_mdevctl(uuids):
    host = hosts.large(1 / 16)
    parent = sorted(host.parents)[0]
    sim = Sim(host)
    try:
        p = subprocess.run(['unshare', '-m', '--propagation', 'private', '--', sys.executable,
                            os.path.abspath(__file__), '--inner-mdevctl', sim.root, parent] + uuids,
                           stdout=subprocess.PIPE, check=True)
        return json.loads(p.stdout)
    finally:
        sim.close()


# ---------------------------------------------------------------- 2. autostart

def autostart_host():
    """16 parents built like the large host's, nothing running, 32 auto definitions each."""
    h = hosts.Host('autostart')
    rp = h.add_device(hosts.PciFunction('0000:00:01.0', 0x1022, 0x1483, 0x1022, 0x1453, 0x060400,
                                        driver='pcieport', numa_node=0))
    for p in range(AUTOSTART_PARENTS):
        addr = '0000:%02x:00.0' % (0x81 + p)
        dev = h.add_device(hosts.PciFunction(addr, 0x10de, 0x26b9, 0x10de, 0x1851, 0x030200,
                                             driver='nvidia', numa_node=p % 2, upstream=rp))
        types = []
        for i, units in enumerate(hosts.LARGE_UNITS):
            fb = 1024 * units
            types.append(hosts.MdevType('nvidia-%d' % (900 + i), 'NVIDIA SIM-%dQ%s' % (units, 'ABCD'[i % 4]),
                                        'num_heads=4, frl_config=60, framebuffer=%dM, '
                                        'max_resolution=7680x4320, max_instance=%d' % (fb, 256 // units),
                                        params={'units': units}))
        h.add_parent(hosts.Parent(dev, types), drivers.PoolModel(256))
        for k in range(AUTOSTART_PER_PARENT):
            h.define(addr, hosts.make_uuid('autostart', p * AUTOSTART_PER_PARENT + k),
                     'nvidia-%d' % (900 + k % 4), 'auto')
    return h


def bench_autostart_vgpud(builddir):
    want = AUTOSTART_PARENTS * AUTOSTART_PER_PARENT
    sim = Sim(autostart_host())
    tmp = tempfile.mkdtemp(prefix='vgpud-bench-bus.')
    bus = Bus(tmp)
    proc = None
    try:
        proc, t0 = start_vgpud(builddir, sim, bus, tmp)
        sim.emulator.wait_for(lambda: len(sim.host.mdevs) >= 1, 120)
        first = time.perf_counter() - t0
        sim.emulator.wait_for(lambda: len(sim.host.mdevs) >= want, 120)
        dt = time.perf_counter() - t0
        if sim.count() != want:
            raise RuntimeError('vgpud autostarted %d devices, not %d' % (sim.count(), want))
        return first, dt
    finally:
        if proc is not None:
            stop(proc)
        bus.close()
        sim.close()


def bench_autostart_floor():
    """The emulator's own cost: the same 512 creates written one after another from here, each
    waited for (what any tool pays on the simulated host, which is much slower than the kernel)."""
    host = autostart_host()
    sim = Sim(host)
    try:
        defs = [(d.parent, d.filename, json.loads(d.text)['mdev_type']) for d in host.definitions]
        t0 = time.perf_counter()
        for parent, u, mtype in defs:
            if not sim.emulator.create(parent, mtype, u, wait=True, timeout=10):
                raise RuntimeError('the emulator refused %s' % u)
        return time.perf_counter() - t0
    finally:
        sim.close()


# ---------------------------------------------------------------- main

def main():
    if len(sys.argv) >= 3 and sys.argv[1] == '--inner-mdevctl':
        inner_mdevctl(sys.argv[2], sys.argv[3], sys.argv[4:])
        return 0
    builddir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, 'build'))
    if not os.path.exists(os.path.join(builddir, 'daemon', 'vgpud')):
        print('build first: %s/daemon/vgpud is missing' % builddir, file=sys.stderr)
        return 1
    if not shutil.which('mdevctl'):
        print('mdevctl is not installed (scripts/setup-deps.sh test installs it)', file=sys.stderr)
        return 1
    os.makedirs('/etc/mdevctl.d', exist_ok=True)
    use_vgpuctl = vgpuctl_has_write(builddir)
    ours = 'vgpuctl' if use_vgpuctl else 'busctl'
    uuids = [str(uuidlib.uuid4()) for _ in range(RUNS)]

    print('vgpud write-side benchmark on the simulated host (tests/sim)')
    print('1. commands: median of %d runs each; one parent of the large host (160 vGPUs running), '
          'type %s; twin trees' % (RUNS, TYPE))
    if not use_vgpuctl:
        print('   vgpuctl has no write commands yet: the same requests go to vgpud with busctl')
    a = bench_vgpud(builddir, use_vgpuctl, uuids)
    b = bench_mdevctl(uuids)
    print('  %-10s %12s %12s %8s' % ('command', ours, 'mdevctl', 'ratio'))
    for cmd in COMMANDS:
        x = statistics.median(a[cmd])
        y = statistics.median(b[cmd])
        print('  %-10s %10.2fms %10.2fms %7.1fx' % (cmd, x * 1000, y * 1000, y / x))
    print('  (start/stop until the device exists or is gone: %s returns then, mdevctl is polled)' % ours)
    if not use_vgpuctl:
        f = client_floor()
        print('  (busctl itself: a no-op call to the bus takes %.2f ms)' % (f * 1000))
    print('  (both under umockdev\'s preload, definitions on tmpfs; %s define/undefine fsync the file and the '
          'directory, mdevctl writes in place)' % ours)
    sys.stdout.flush()

    want = AUTOSTART_PARENTS * AUTOSTART_PER_PARENT
    print('2. autostart of %d auto definitions on %d parents (16 GPU cores), nothing running, %d runs:'
          % (want, AUTOSTART_PARENTS, STARTS))
    r = [bench_autostart_vgpud(builddir) for _ in range(STARTS)]
    v = [dt for _, dt in r]
    print('  vgpud, exec to all %d devices present: median %.0f ms (min %.0f, max %.0f); '
          'the first device after %.0f ms' % (want, statistics.median(v) * 1000, min(v) * 1000,
                                              max(v) * 1000, statistics.median(f for f, _ in r) * 1000))
    sys.stdout.flush()
    m = [bench_autostart_floor() for _ in range(STARTS)]
    print('  floor: the emulator alone, %d creates written and waited for one by one: median %.0f ms'
          % (want, statistics.median(m) * 1000))
    return 0


if __name__ == '__main__':
    sys.exit(main())
