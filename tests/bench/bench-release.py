#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark of Release on the simulated host (tests/sim): Release-to-gone latency (p50, p99) and
Releases per second with 1, 8 and 64 concurrent clients, against mdevctl 1.2.0's nearest
equivalent, `mdevctl stop -u UUID` (timed until the device is gone), in the same run. Prints a
table with the load average beside every row; asserts nothing.

Host: bench-acquire.py's ("large", 16 parents, 2,560 vGPUs running at scale 1; BENCH_SCALE changes
it). A round is BENCH_PER_ROUND (64) devices made untimed first (vgpud: one Acquire per owner;
mdevctl: the emulator creates them) and then released by the clients, each its own devices;
BENCH_ROUNDS rounds per row. Every Release runs vgpud's Busy check (is a process holding the
device's VFIO group?), which is what this measures beside the removal itself.

- vgpuctl release: each Release is one `vgpuctl release --owner O` process (over vgpud's private
  socket, as root where vgpud.service runs); it returns once the device is gone and the lease's
  removal is durable.
- vgpud in-process: each client thread holds one D-Bus connection and calls Release on it.
- mdevctl stop: each client runs `mdevctl stop -u UUID` under the preload (the write shim answers its
  write to `remove` inside write(2), as the kernel does) and waits until the device is gone.
Both programs run under umockdev's preload against the same emulator (bench-acquire.py's harness);
BENCH_BASELINE=BUILDDIR runs another build's vgpud in the same passes, BENCH_REPEAT passes rotate
the columns' order, BENCH_ONLY=vgpuctl,dbus,mdevctl picks columns. vgpud's CPU time per Release
(all its threads, /proc/PID/stat) is printed for each of its columns.
Usage: bench-release.py [BUILDDIR]  (default: build). Run as root.
"""

import importlib.util
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, 'tests', 'sim'))

import hosts  # noqa: E402
import simhost  # noqa: E402

_spec = importlib.util.spec_from_file_location('bench_acquire', os.path.join(HERE, 'bench-acquire.py'))
ba = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ba)  # its clients, its D-Bus calls, and bench-lifecycle's host and vgpud (ba.lc)
lc = ba.lc

# bench-acquire's BENCH_SCALE, BENCH_ROUNDS, BENCH_PER_ROUND, BENCH_CLIENTS and BENCH_REPEAT
SCALE, ROUNDS, PER_ROUND, CLIENTS, REPEAT = ba.SCALE, ba.ROUNDS, ba.PER_ROUND, ba.CLIENTS, ba.REPEAT
PROFILE = ba.PROFILE
SETUP_CLIENTS = 8  # the untimed Acquires that make each round's devices


def cpu_seconds(pid):
    """utime + stime of every thread of pid."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def bench_vgpud(builddir, how):
    """how: 'vgpuctl' or 'dbus'. Returns {clients: (latencies, [round walls], [load], [cpu per Release])}."""
    out = {}
    with ba.vgpud_on(builddir, lc.Sim(hosts.large(SCALE))) as v:
        sim = v.sim
        setup = [ba.connect(v.bus.address) for _ in range(SETUP_CLIENTS)]
        base = sim.count()
        for n in CLIENTS:
            per = max(1, PER_ROUND // n)
            conns = [ba.connect(v.bus.address) for _ in range(n)] if how == 'dbus' else None
            lats, walls, loads, cpus = [], [], [], []
            for r in range(ROUNDS):
                def owner(c, k, r=r, n=n):
                    return 'bench-release:%d-%d-%d-%d' % (n, r, c, k)

                def make(i, k, n=n, per=per, owner=owner):
                    idx = i + SETUP_CLIENTS * k  # the i-th setup client's k-th device
                    if idx >= n * per:
                        return 0
                    ba.acquire(setup[i], owner(idx // per, idx % per))
                    return 0

                ba.run_clients(SETUP_CLIENTS, -(-n * per // SETUP_CLIENTS), make)
                if sim.count() != base + n * per:
                    raise RuntimeError('%d devices after %d Acquires' % (sim.count() - base, n * per))

                def work(c, k, owner=owner):
                    return ba.timed_request(v, how, conns[c] if conns else None, 'release', owner(c, k))

                loads.append(os.getloadavg()[0])
                cpu0 = cpu_seconds(v.proc.pid)
                lat, wall = ba.run_clients(n, per, work)
                cpus.append((cpu_seconds(v.proc.pid) - cpu0) / (n * per))
                if sim.count() != base:
                    raise RuntimeError('%d devices left after the Releases' % (sim.count() - base))
                lats += lat
                walls.append(wall)
            out[n] = (lats, walls, loads, cpus)
            for c in conns or ():
                c.close_sync(None)
        for c in setup:
            c.close_sync(None)
    return out


def bench_mdevctl():
    """mdevctl stop -u UUID under the preload, then wait until the device is gone."""
    sim = lc.Sim(hosts.large(SCALE))
    env = simhost.sim_environment(sim.root)
    try:
        parents = sorted(sim.host.parents)
        out = {}
        for n in CLIENTS:
            per = max(1, PER_ROUND // n)
            lats, walls, loads = [], [], []
            for r in range(ROUNDS):
                made = {}
                for i in range(n * per):
                    u = hosts.make_uuid('bench-stop-%d-%d' % (n, r), i)
                    sim.emulator.create(parents[i % len(parents)], PROFILE, u)
                    made[(i // per, i % per)] = u

                def work(c, k, made=made):
                    u = made[(c, k)]
                    t0 = time.perf_counter()
                    p = subprocess.run(['mdevctl', 'stop', '-u', u], env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                    if p.returncode != 0:
                        raise RuntimeError(p.stderr.strip())
                    if not sim.emulator.wait_for(lambda: u not in sim.host.mdevs, 10):
                        raise RuntimeError('mdevctl stopped %s, but it is still there' % u)
                    return time.perf_counter() - t0

                loads.append(os.getloadavg()[0])
                lat, wall = ba.run_clients(n, per, work)
                lats += lat
                walls.append(wall)
            out[n] = (lats, walls, loads, [])
    finally:
        sim.close()
    return out


def columns(builddir):
    only = ba.bench_only(['vgpuctl', 'dbus', 'mdevctl'])
    cols = ba.vgpud_columns(builddir, only, (('vgpuctl', 'vgpuctl release'), ('dbus', 'vgpud in-process')),
                            bench_vgpud)
    if 'mdevctl' in only:
        cols.append(('mdevctl stop, to gone', bench_mdevctl))
    return cols


def main():
    builddir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, 'build'))
    if ba.cannot_run(builddir, 'Release'):
        return 1
    host = hosts.large(SCALE)
    cols = columns(builddir)
    print('Release-to-gone on the simulated host: "large" at scale %g (%d parents, %d vGPUs running), '
          'type %s; %d processes on this machine' % (SCALE, len(host.parents), len(host.mdevs), PROFILE,
                                                     sum(1 for d in os.listdir('/proc') if d.isdigit())))
    print('%d rounds of %d Releases per row and column (each device made untimed before its round); '
          '%d pass(es) over the columns in rotated order; load average before: %.2f'
          % (ROUNDS * REPEAT, PER_ROUND, REPEAT, os.getloadavg()[0]))
    sys.stdout.flush()
    res = ba.run_passes(cols, 4)

    print()
    print('clients | column                       |  p50 ms |  p99 ms | per s | rounds: median, best per s '
          '| vgpud CPU/Release | load avg')
    line = '--------+------------------------------+---------+---------+-------+-----------------------------' \
           '+-------------------+---------'
    print(line)
    for n in CLIENTS:
        for label, _ in cols:
            lats, walls, loads, cpus = res[label][n]
            per_round = [len(lats) / len(walls) / w for w in walls]
            cpu = '%.2f ms' % (statistics.median(cpus) * 1000) if cpus else '-'
            print('%-7d | %-28s | %7.1f | %7.1f | %5.0f | %12.0f, %6.0f         | %17s | %.1f-%.1f'
                  % (n, label, statistics.median(lats) * 1000, ba.percentile(lats, 99) * 1000,
                     len(lats) / sum(walls), statistics.median(per_round), max(per_round), cpu,
                     min(loads), max(loads)))
        print(line)
    print('load average after: %.2f %.2f %.2f' % os.getloadavg())
    print('vgpud and mdevctl both run under umockdev\'s preload against the same emulator; vgpud checks '
          'that no process holds each device\'s VFIO group and drops its lease durably, mdevctl does '
          'neither.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
