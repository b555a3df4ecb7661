#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark of Acquire on a simulated NVIDIA vGPU 17+ host (tests/sim's "vf" host: an L40S with 32
VFs and an RTX PRO 6000 with 16): Acquire-to-ready latency (p50, p99) and Acquires per second with 1,
8 and 24 concurrent clients over D-Bus, each Acquire for a distinct owner. A round fills the L40S with
L40S-2Q vGPUs (24 fit on its 48 GB; BENCH_PER_ROUND), each one a write to a VF's current_vgpu_type
that reads back at once (no uevent to wait for); everything is released (untimed) between rounds;
BENCH_ROUNDS rounds per row. Prints a table; asserts nothing about speed.

BENCH_BASELINE=BUILDDIR runs another build the same way, the two alternating BENCH_RUNS times (default
2: A B A B) in one sitting, and prints each run's row beside the other's with the load average, so that
a change is compared like with like on a shared machine. The state directory (the leases, fsynced) is
under $TMPDIR, /tmp by default: put it on the disk whose cost is to be measured.

Usage: bench-acquire-vf.py [BUILDDIR]  (default: build). Run as root.
"""

import importlib.util
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, 'tests', 'sim'))

import hosts  # noqa: E402


def _load(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


acq = _load('bench_acquire', 'bench-acquire.py')  # clients, percentiles, D-Bus calls
lc = acq.lc                                        # the simulated host (vgpud on it: acq.vgpud_on)

ROUNDS = int(os.environ.get('BENCH_ROUNDS', '3'))
PER_ROUND = int(os.environ.get('BENCH_PER_ROUND', '24'))
CLIENTS = [1, 8, 24]
PROFILE = 'L40S-2Q'


def vgpus(sim):
    with sim.emulator.lock:
        return sum(len(g.vgpus) for g in sim.host.vf_gpus.values())


def bench(builddir):
    out = {}
    with acq.vgpud_on(builddir, lc.Sim(hosts.vf()), 'vgpud-bench-vf.') as v:
        sim = v.sim
        admin = acq.connect(v.bus.address)
        for n in CLIENTS:
            per = max(1, PER_ROUND // n)
            conns = [acq.connect(v.bus.address) for _ in range(n)]
            lats, walls = [], []
            for r in range(ROUNDS):
                def owner(c, k, r=r, n=n):
                    return 'bench:%d-%d-%d-%d' % (n, r, c, k)

                def work(c, k, owner=owner):
                    t0 = time.perf_counter()
                    acq.acquire(conns[c], owner(c, k), PROFILE)
                    return time.perf_counter() - t0

                lat, wall = acq.run_clients(n, per, work)
                if vgpus(sim) != n * per:
                    raise RuntimeError('%d vGPUs after %d Acquires' % (vgpus(sim), n * per))
                lats += lat
                walls.append(wall)
                for c in range(n):
                    for k in range(per):
                        acq.release(admin, owner(c, k))
                if vgpus(sim) != 0:
                    raise RuntimeError('%d vGPUs left after the releases' % vgpus(sim))
            out[n] = (lats, walls, n * per)
            for c in conns:
                c.close_sync(None)
        admin.close_sync(None)
    return out


def loadavg():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


def row(name, n, lats, walls, count):
    return '| %s | %d | %.1f ms | %.1f ms | %.0f |' % (name, n, 1000 * acq.percentile(lats, 50),
                                                     1000 * acq.percentile(lats, 99),
                                                     count / statistics.median(walls))


def main():
    builddir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else 'build')
    baseline = os.environ.get('BENCH_BASELINE')
    builds = [('this build', builddir)]
    if baseline:
        builds.append(('baseline', os.path.abspath(baseline)))
    runs = int(os.environ.get('BENCH_RUNS', '2')) if baseline else 1
    results = []  # (run, name, load before, load after, out)
    for run in range(runs):
        for name, path in builds:
            before = loadavg()
            out = bench(path)
            results.append((run, name, before, loadavg(), out))
    print('Acquire on the simulated VF host (L40S-2Q, %d per round, %d rounds)' % (PER_ROUND, ROUNDS))
    print('| build | clients | p50 | p99 | Acquires per s |')
    print('|---|---|---|---|---|')
    for n in CLIENTS:
        for run, name, before, after, out in results:
            lats, walls, count = out[n]
            label = name if runs == 1 else '%s, run %d (load %s -> %s)' % (name, run + 1, before, after)
            print(row(label, n, lats, walls, count))


if __name__ == '__main__':
    main()
