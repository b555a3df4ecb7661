#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark of allocation on the simulated host (tests/sim): Acquire-to-ready latency (p50, p99)
and Acquires per second with 1, 8 and 64 concurrent clients, against mdevctl 1.2.0's nearest
equivalent, `mdevctl start -p PARENT -t TYPE`, in the same run. Prints a table; asserts nothing.

Host: the "large" host of tests/sim/hosts.py (16 parents, 20 types each, 2,560 vGPUs running at
scale 1; BENCH_SCALE changes it), type nvidia-900 (1 unit of each parent's 256-unit pool: 96 more
fit per parent). A round is 64 Acquires (BENCH_PER_ROUND) spread over the clients, each Acquire for
a distinct owner; everything is released (untimed) between rounds; BENCH_ROUNDS rounds per row.

Like with like: both programs that touch sysfs (vgpud and mdevctl) see the tree through the same
file access, umockdev's preload (tests/sim/simhost.py's environment), and the same kernel emulator
answers both. The emulator's own cost is measured alone and printed beside them ("emulator
alone"), so that vgpud's and mdevctl's own costs can be told from the simulator's.

- vgpuctl acquire: each Acquire is one `vgpuctl acquire --owner O PROFILE` process (the client a
  hook or a script runs; as root, over vgpud's private socket as where vgpud.service runs); the reply comes once the device exists and its uevent was seen, so its
  wall time is the latency to ready.
- vgpud in-process: each client thread holds one D-Bus connection and calls Acquire on it: the
  daemon's own figure, without a process start per request.
- mdevctl: each client runs `mdevctl start -p P -t T` under the preload (and the write shim: its
  write to `create` returns once the device exists, as on a real kernel) and then waits until the
  device exists; that wait is part of its latency. Every client writes its own parent's and type's
  `create` file (the emulator alone, below, writes without the shim and cannot tell two writes
  racing on one file apart: tests/sim/NOTES.md), and mdevctl does not place anything, so it is
  told where to go.
- emulator alone: each client thread writes `create` itself (the emulator's test helper) and waits
  for the device, on the same slots as mdevctl: what any tool pays the simulator per vGPU.
BENCH_CREATE_MS=N makes every driver's create take N ms more inside its write (the emulator's
create_delay, through the shim: vgpud's and mdevctl's writes alike; NVIDIA's create takes tens of ms).
Usage: bench-acquire.py [BUILDDIR]  (default: build). Run as root.
"""

import contextlib
import importlib.util
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, 'tests', 'sim'))

import hosts  # noqa: E402
import simhost  # noqa: E402

_spec = importlib.util.spec_from_file_location('bench_lifecycle', os.path.join(HERE, 'bench-lifecycle.py'))
lc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lc)  # the private bus, the simulated host and vgpud's start, shared

SCALE = float(os.environ.get('BENCH_SCALE', '1'))
ROUNDS = int(os.environ.get('BENCH_ROUNDS', '3'))
PER_ROUND = int(os.environ.get('BENCH_PER_ROUND', '64'))
CLIENTS = [int(n) for n in os.environ.get('BENCH_CLIENTS', '1,8,64').split(',')]
REPEAT = int(os.environ.get('BENCH_REPEAT', '1'))
CREATE_MS = float(os.environ.get('BENCH_CREATE_MS', '0'))
PROFILE = 'nvidia-900'
ONE_UNIT_TYPES = ['nvidia-900', 'nvidia-901', 'nvidia-902', 'nvidia-903']


def percentile(values, p):
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def run_clients(n, per_client, work):
    """n threads, each calling work(client, k) per_client times after a common start; returns
    (latencies, wall time of the whole round)."""
    lat = []
    errors = []
    lock = threading.Lock()
    barrier = threading.Barrier(n + 1)

    def client(c):
        barrier.wait()
        for k in range(per_client):
            try:
                dt = work(c, k)
            except Exception as e:  # report, never hide
                with lock:
                    errors.append(repr(e))
                continue
            with lock:
                lat.append(dt)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise RuntimeError('%d of %d requests failed, e.g. %s' % (len(errors), n * per_client, errors[0]))
    return lat, wall


# ---------------------------------------------------------------- vgpud

def gio():
    import gi
    gi.require_version('Gio', '2.0')
    from gi.repository import Gio, GLib
    return Gio, GLib


def connect(address):
    Gio, _ = gio()
    return Gio.DBusConnection.new_for_address_sync(
        address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
        None, None)


def manager_call(conn, method, args, signature):
    Gio, GLib = gio()
    return conn.call_sync('org.vgpud1', '/org/vgpud1', 'org.vgpud1.Manager', method, GLib.Variant(signature, args),
                          None, Gio.DBusCallFlags.NONE, 60000, None).unpack()


def new_sim():
    """The large host, its drivers' creates taking BENCH_CREATE_MS more."""
    sim = lc.Sim(hosts.large(SCALE))
    sim.emulator.create_delay = CREATE_MS / 1000
    return sim


@contextlib.contextmanager
def vgpud_on(builddir, sim, prefix='vgpud-bench-bus.'):
    """Runs builddir's vgpud on sim (a lc.Sim, which this closes) over a private bus, with a fresh
    state directory, and yields once vgpud owns its name: .sim, .bus, .proc (vgpud's process),
    .vgpuctl (the client's path) and .env (vgpuctl's environment: as root on a host where
    vgpud.service runs, over vgpud's private socket). On leaving, whatever happened, vgpud is
    stopped, the bus and the host closed and the directory removed."""
    tmp, bus, proc = None, None, None
    try:
        tmp = tempfile.mkdtemp(prefix=prefix)
        bus = lc.Bus(tmp)
        state = os.path.join(tmp, 'state')
        os.makedirs(state)
        proc, _ = lc.start_vgpud(builddir, sim, bus, state)
        lc.wait_for(lambda: bus.has_owner('org.vgpud1'), 30, 0.02)
        yield types.SimpleNamespace(
            sim=sim, bus=bus, proc=proc, vgpuctl=os.path.join(builddir, 'client', 'vgpuctl'),
            env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address, VGPUD_SOCKET=lc.private_socket(state)))
    finally:
        if proc is not None:
            lc.stop(proc)
        if bus is not None:
            bus.close()
        sim.close()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def acquire(conn, owner, profile=PROFILE):
    return manager_call(conn, 'Acquire', (profile, owner, {}), '(ssa{sv})')


def release(conn, owner):
    return manager_call(conn, 'Release', (owner, {}), '(sa{sv})')


def timed_request(v, how, conn, verb, owner):
    """One Acquire of PROFILE (verb 'acquire') or Release (verb 'release') for owner, made over conn
    (how 'dbus') or as one `vgpuctl VERB --owner OWNER` process with v.env (how 'vgpuctl'; v from
    vgpud_on). Returns its wall time; raises if it failed."""
    t0 = time.perf_counter()
    if how == 'dbus' and verb == 'acquire':
        acquire(conn, owner)
    elif how == 'dbus':
        release(conn, owner)
    else:
        argv = [v.vgpuctl, verb, '--owner', owner] + ([PROFILE] if verb == 'acquire' else [])
        p = subprocess.run(argv, env=v.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise RuntimeError(p.stderr.decode().strip())
    return time.perf_counter() - t0


def bench_vgpud(builddir, how):
    """how: 'vgpuctl' or 'dbus'. Returns {clients: (latencies, [round walls])}."""
    out = {}
    with vgpud_on(builddir, new_sim()) as v:
        sim = v.sim
        admin = connect(v.bus.address)
        base = sim.count()
        for n in CLIENTS:
            per = max(1, PER_ROUND // n)
            conns = [connect(v.bus.address) for _ in range(n)] if how == 'dbus' else None
            lats, walls = [], []
            for r in range(ROUNDS):
                def owner(c, k, r=r, n=n):
                    return 'bench:%d-%d-%d-%d' % (n, r, c, k)

                def work(c, k, owner=owner):
                    return timed_request(v, how, conns[c] if conns else None, 'acquire', owner(c, k))

                lat, wall = run_clients(n, per, work)
                if sim.count() != base + n * per:
                    raise RuntimeError('%d devices after %d Acquires' % (sim.count() - base, n * per))
                lats += lat
                walls.append(wall)
                for c in range(n):
                    for k in range(per):
                        release(admin, owner(c, k))
                if sim.count() != base:
                    raise RuntimeError('%d devices left after the releases' % (sim.count() - base))
            out[n] = (lats, walls)
            for c in conns or ():
                c.close_sync(None)
        admin.close_sync(None)
    return out


# ---------------------------------------------------------------- mdevctl

def bench_kernel_side(how):
    """how: 'mdevctl' (mdevctl start under the preload, then wait for the device) or 'emulator' (the
    benchmark writes create itself and waits). Returns {clients: (latencies, [round walls],
    [mdevctl's own times])}."""
    sim = new_sim()
    env = simhost.sim_environment(sim.root)
    try:
        parents = sorted(sim.host.parents)
        slots = [(p, t) for t in ONE_UNIT_TYPES for p in parents]  # one create file per client
        out = {}
        for n in CLIENTS:
            if n > len(slots):
                raise RuntimeError('%d clients, but only %d create files' % (n, len(slots)))
            per = max(1, PER_ROUND // n)
            lats, cmds, walls = [], [], []
            for r in range(ROUNDS):
                made = []
                lock = threading.Lock()

                def work(c, k, r=r, n=n):
                    parent, mtype = slots[c]
                    t0 = time.perf_counter()
                    if how == 'emulator':
                        u = hosts.make_uuid('bench-emu-%d-%d' % (n, r), c * 1000 + k)
                        sim.emulator.create(parent, mtype, u, wait=False)  # its wait is for one writer only
                        t1 = time.perf_counter()
                    else:
                        p = subprocess.run(['mdevctl', 'start', '-p', parent, '-t', mtype], env=env,
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                        t1 = time.perf_counter()
                        if p.returncode != 0:
                            raise RuntimeError(p.stderr.strip())
                        u = p.stdout.strip()
                    if not sim.emulator.wait_for(lambda: u in sim.host.mdevs, 10):
                        raise RuntimeError('%s started %s, but it never appeared' % (how, u))
                    with lock:
                        made.append(u)
                        cmds.append(t1 - t0)
                    return time.perf_counter() - t0

                lat, wall = run_clients(n, per, work)
                lats += lat
                walls.append(wall)
                for u in made:
                    sim.emulator.remove(u)
            out[n] = (lats, walls, cmds)
    finally:
        sim.close()
    return out


# ---------------------------------------------------------------- main

def bench_only(names):
    """The columns BENCH_ONLY (default: all of names) picks; exits on a name not in names."""
    only = set(os.environ.get('BENCH_ONLY', ','.join(names)).split(','))
    unknown = only - set(names)
    if unknown:
        raise SystemExit('BENCH_ONLY: unknown column(s) %s' % ', '.join(sorted(unknown)))
    return only


def vgpud_columns(builddir, only, labels, bench):
    """(label, run) of vgpud's columns: for each (how, label) of labels that only picks, this
    build's and then BENCH_BASELINE's (label ' (baseline)'), whose run() is bench(build, how)."""
    builds = [('', builddir)]
    base = os.environ.get('BENCH_BASELINE')
    if base:
        builds.append((' (baseline)', os.path.abspath(base)))
    return [(label + suffix, lambda b=b, how=how: bench(b, how))
            for how, label in labels if how in only for suffix, b in builds]


def cannot_run(builddir, root_for):
    """True, once the reason is printed to stderr, if a bench of vgpud against mdevctl cannot run:
    builddir's (or BENCH_BASELINE's) vgpud not built, mdevctl not installed, or not root (root_for:
    the call that needs it)."""
    for b in [builddir] + ([os.environ['BENCH_BASELINE']] if os.environ.get('BENCH_BASELINE') else []):
        if not os.path.exists(os.path.join(b, 'daemon', 'vgpud')):
            print('build first: %s/daemon/vgpud is missing' % b, file=sys.stderr)
            return True
    if not shutil.which('mdevctl'):
        print('mdevctl is not installed (scripts/setup-deps.sh test installs it)', file=sys.stderr)
        return True
    if os.geteuid() != 0:
        print('run as root (%s needs uid 0 without polkit)' % root_for, file=sys.stderr)
        return True
    return False


def run_passes(cols, parts):
    """BENCH_REPEAT passes over cols (label, run), each pass starting one column later; returns
    {label: {clients: parts lists}}, each list what every pass's run() returned in that place."""
    res = {label: {n: tuple([] for _ in range(parts)) for n in CLIENTS} for label, _ in cols}
    for rep in range(REPEAT):
        k = rep % len(cols)
        for label, run in cols[k:] + cols[:k]:
            for n, x in run().items():
                for acc, part in zip(res[label][n], x):
                    acc += part
    return res


def columns(builddir):
    """(label, run) of every column: this build's vgpuctl and in-process Acquires, BENCH_BASELINE's
    beside them, mdevctl, the emulator alone; BENCH_ONLY=vgpuctl,dbus,mdevctl,emulator picks."""
    only = bench_only(['vgpuctl', 'dbus', 'mdevctl', 'emulator'])
    cols = vgpud_columns(builddir, only, (('vgpuctl', 'vgpuctl acquire'), ('dbus', 'vgpud in-process')),
                         bench_vgpud)
    if 'mdevctl' in only:
        cols.append(('mdevctl start, to ready', lambda: bench_kernel_side('mdevctl')))
    if 'emulator' in only:
        cols.append(('emulator alone', lambda: bench_kernel_side('emulator')))
    return cols


def main():
    builddir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, 'build'))
    if cannot_run(builddir, 'Acquire'):
        return 1
    host = hosts.large(SCALE)
    cols = columns(builddir)
    print('Acquire-to-ready on the simulated host: "large" at scale %g (%d parents, %d vGPUs running), '
          'type %s;' % (SCALE, len(host.parents), len(host.mdevs), PROFILE))
    print('%d rounds of %d Acquires (distinct owners) per row and column, all released between rounds; '
          '%d pass(es) over the columns in rotated order; load average before: %.2f'
          % (ROUNDS * REPEAT, PER_ROUND, REPEAT, os.getloadavg()[0]))
    if CREATE_MS:
        print('every driver create takes %g ms more inside its write (BENCH_CREATE_MS)' % CREATE_MS)
    sys.stdout.flush()
    res = run_passes(cols, 3)

    def fig(lats, walls, *_):
        per_round = [len(lats) / len(walls) / w for w in walls]  # every round makes as many
        return (statistics.median(lats) * 1000, percentile(lats, 99) * 1000, len(lats) / sum(walls),
                statistics.median(per_round), max(per_round))

    labels = [label for label, _ in cols]
    print()
    print('clients | column                       |    p50 ms |    p99 ms |  per s | rounds: median per s, best')
    print('--------+------------------------------+-----------+-----------+--------+---------------------------')
    for n in CLIENTS:
        for label in labels:
            f = fig(*res[label][n])
            print('%-7d | %-28s | %9.1f | %9.1f | %6.0f | %6.0f, %6.0f' % ((n, label) + f))
        print('--------+------------------------------+-----------+-----------+--------+---------------------------')
    print('load average after: %.2f %.2f %.2f' % os.getloadavg())
    if 'mdevctl start, to ready' in res:
        m = res['mdevctl start, to ready']
        print('mdevctl start alone (until it returns, before the device exists): p50 %s ms'
              % ', '.join('%.1f (%d clients)' % (statistics.median(m[n][2]) * 1000, n) for n in CLIENTS))
    print('vgpud and mdevctl both run under umockdev\'s preload against the same emulator; "emulator alone" is '
          'the simulator\'s own cost per vGPU.')
    print('vgpud places each vGPU itself (pack policy over all %d parents) and stores a lease before it '
          'answers; mdevctl is told the parent and the type.' % len(host.parents))
    return 0


if __name__ == '__main__':
    sys.exit(main())
