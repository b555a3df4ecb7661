#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark of define / modify / undefine on a real file system, against mdevctl 1.2.0 in the same
run. Prints a table; asserts nothing about speed (it does check that every command did its work).

A static tree (one parent of the "large" host, 160 vGPUs running; no emulator, no preload: these
commands do not touch the kernel) is written under /var/tmp (the disk) and bind-mounted
over /sys and /etc/mdevctl.d in a private mount namespace, so both programs see it as a real host.
vgpud runs as vgpud.service runs it: definitions in /etc/mdevctl.d, its private socket, which
vgpuctl uses when it exists. vgpud writes a temporary file, appends the change to its intent log
(one write and one fdatasync) and renames the file into place before it answers, and fsyncs the file
and the directory after (what it said it wrote survives a power cut: its next start replays the log;
common/intent-log.h); mdevctl 1.2.0 writes the file in place and never fsyncs (a power cut can leave
it empty or half-written).

1. one at a time: BENCH_RUNS rounds; in each round vgpuctl and mdevctl each define a UUID, modify
   it (`--addattr`) and undefine it, the two programs alternating command by command, so that load
   from elsewhere hits both alike. Median wall time of each command and the ratio.
2. concurrent: BENCH_CONCURRENT defines started at once (distinct UUIDs), then as many modifies,
   then as many undefines, for each program; wall time until the last returns; the median of
   BENCH_BURSTS bursts, the programs taking turns to go first (vgpud's requests that arrive while
   a batch is being made durable share the next batch's fsyncs: daemon/flusher.c).
Beside them, what one durable replace costs alone on that file system (the floor of any program
that keeps what it said it wrote over a power cut).
Both parts run twice: on the disk, then on tmpfs (/dev/shm), where an fsync costs nothing, so that
the cost of durability can be told from each program's own work (BENCH_WHERE=/var/tmp picks one).
vgpud runs with the options of its unit: its snapshot (on a tmpfs, as /run is) and its metrics file
are written as they are on a host; its state directory, where its intent log is, is on the same file
system as the definitions (on tmpfs too in the second part).
BENCH_BASELINE=BUILDDIR adds another build's vgpuctl, served by that build's own vgpud (its own bus and
private socket, the same definitions directory, so each daemon also reloads the other's and mdevctl's
changes), to the same rounds and bursts: an A/B of client and daemon under the same load.
Usage: bench-definitions.py [BUILDDIR]  (default: build). Run as root.
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, 'tests', 'sim'))

import hosts  # noqa: E402
import tree as simtree  # noqa: E402
import importlib.util  # noqa: E402

_spec = importlib.util.spec_from_file_location('bench_lifecycle', os.path.join(HERE, 'bench-lifecycle.py'))
lc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lc)  # the private bus

RUNS = int(os.environ.get('BENCH_RUNS', '21'))
CONCURRENT = int(os.environ.get('BENCH_CONCURRENT', '16'))
BURSTS = int(os.environ.get('BENCH_BURSTS', '7'))
BASELINE = os.environ.get('BENCH_BASELINE')
WHERE = os.environ.get('BENCH_WHERE', '/var/tmp,/dev/shm').split(',')
TYPE = 'nvidia-900'
COMMANDS = ['define', 'modify', 'undefine']


def argv_for(prog, cmd, u, parent):
    argv = [prog, cmd, '-u', u]
    if cmd == 'define':
        argv += ['-p', parent, '-t', TYPE]
    elif cmd == 'modify':
        argv += ['--addattr', 'bench', '--value', 'x']
    return argv


def wall(argv, env):
    """Wall time of one run, spawned directly (stdout to /dev/null)."""
    path = argv[0] if os.path.isabs(argv[0]) else shutil.which(argv[0])
    t0 = time.perf_counter()
    pid = os.posix_spawn(path, argv, env, file_actions=[(os.POSIX_SPAWN_OPEN, 1, '/dev/null', os.O_WRONLY, 0)])
    _, status = os.waitpid(pid, 0)
    dt = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError('%s failed' % ' '.join(argv))
    return dt


def concurrent(argvs, env):
    """Start every argv at once; wall time until the last one returns."""
    t0 = time.perf_counter()
    # stderr too: mdevctl 1.2.0 warns about files that concurrent undefines removed under it
    quiet = [(os.POSIX_SPAWN_OPEN, 1, '/dev/null', os.O_WRONLY, 0), (os.POSIX_SPAWN_OPEN, 2, '/dev/null', os.O_WRONLY, 0)]
    pids = [os.posix_spawn(shutil.which(a[0]) if not os.path.isabs(a[0]) else a[0], a, env, file_actions=quiet)
            for a in argvs]
    failed = 0
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        failed += os.waitstatus_to_exitcode(status) != 0
    dt = time.perf_counter() - t0
    if failed:
        raise RuntimeError('%d of %d %s failed' % (failed, len(argvs), argvs[0][1]))
    return dt


def durable_replace_cost(d, n=51):
    """Median wall time of one durable replace in directory d, and of its two fsyncs alone (ms)."""
    whole, syncs = [], []
    for i in range(n):
        t0 = time.perf_counter()
        tmp = os.path.join(d, '.bench-floor.tmp')
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, b'{"mdev_type":"%s","start":"manual","attrs":[]}' % TYPE.encode())
        t1 = time.perf_counter()
        os.fsync(fd)
        t2 = time.perf_counter()
        os.close(fd)
        os.rename(tmp, os.path.join(d, '.bench-floor'))
        dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        t3 = time.perf_counter()
        os.fsync(dfd)
        t4 = time.perf_counter()
        os.close(dfd)
        whole.append(t4 - t0)
        syncs.append((t2 - t1) + (t4 - t3))
    os.unlink(os.path.join(d, '.bench-floor'))
    return statistics.median(whole) * 1000, statistics.median(syncs) * 1000


def log_append_cost(d, n=51):
    """Median wall time of one record appended to a log whose blocks are written already, and its
    fdatasync (what the intent log costs a batch before its answer), in directory d (ms)."""
    path, took = os.path.join(d, '.bench-log'), []
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, bytes(65536))
    os.fsync(fd)
    for i in range(n):
        t0 = time.perf_counter()
        os.pwrite(fd, b'r' * 208, 4096)
        os.fdatasync(fd)
        took.append(time.perf_counter() - t0)
    os.close(fd)
    os.unlink(path)
    return statistics.median(took) * 1000


def start_vgpud(builddir, env, tmp):
    """vgpud with its unit's options, its files under tmp (the snapshot on a tmpfs, as /run is)."""
    path = os.path.join(tmp, 'notify')
    for d in ('state', 'run', 'metrics'):
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
    subprocess.run(['mount', '-t', 'tmpfs', 'tmpfs', os.path.join(tmp, 'run')], check=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(30)
    proc = subprocess.Popen([os.path.join(builddir, 'daemon', 'vgpud'), '--state-dir', os.path.join(tmp, 'state'),
                             '--private-socket', os.path.join(tmp, 'private'),
                             '--snapshot', os.path.join(tmp, 'run', 'snapshot'),
                             '--metrics-file', os.path.join(tmp, 'metrics', 'vgpud.prom')],
                            env=dict(env, NOTIFY_SOCKET=path), stderr=subprocess.DEVNULL)
    try:
        while 'READY=1' not in sock.recv(4096).decode().split('\n'):
            pass
    finally:
        sock.close()
    return proc


def stop(procs, buses, tmp):
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)
    for bus in buses:
        bus.close()
    for name in os.listdir(tmp):
        subprocess.run(['umount', '-q', os.path.join(tmp, name, 'run')])
    shutil.rmtree(tmp, ignore_errors=True)


def defined(u):
    """The parent directory holding u's definition in /etc/mdevctl.d, or None."""
    for p in os.listdir('/etc/mdevctl.d'):
        if os.path.exists(os.path.join('/etc/mdevctl.d', p, u)):
            return p
    return None


def check(u, cmd):
    """Each command did its work (a benchmark of commands that do nothing would mislead)."""
    p = defined(u)
    if cmd == 'undefine':
        ok = p is None
    else:
        ok = p is not None
        if ok and cmd == 'modify':
            with open(os.path.join('/etc/mdevctl.d', p, u)) as f:
                ok = any(a.get('bench') == 'x' for a in json.load(f).get('attrs', []))
    if not ok:
        raise RuntimeError('%s of %s left the wrong definition' % (cmd, u))


def inner(builddir, tree):
    """Runs inside the private mount namespace."""
    subprocess.run(['mount', '--bind', os.path.join(tree, 'sys'), '/sys'], check=True)
    subprocess.run(['mount', '--bind', os.path.join(tree, 'etc', 'mdevctl.d'), '/etc/mdevctl.d'], check=True)
    # vgpud's state directory (its intent log) on the same file system as the definitions, as on a host
    tmp = tempfile.mkdtemp(prefix='vgpud-bench.', dir=os.path.dirname(tree))
    parent = sorted(os.listdir('/sys/class/mdev_bus'))[0]
    # each build's vgpud its own bus and files; vgpuctl finds the private socket as under vgpud.service
    daemons = [('vgpuctl', builddir, os.path.join(tmp, 'this'))]
    if BASELINE:
        daemons.append(('baseline', os.path.abspath(BASELINE), os.path.join(tmp, 'baseline')))
    progs, envs, buses, procs = [], {}, [], []
    try:
        for name, build, dtmp in daemons:
            os.makedirs(dtmp)
            buses.append(lc.Bus(dtmp))
            envs[name] = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=buses[-1].address,
                              VGPUD_SOCKET=os.path.join(dtmp, 'private'))
            procs.append(start_vgpud(build, envs[name], dtmp))
            progs.append((name, os.path.join(build, 'client', 'vgpuctl')))
            if name == 'vgpuctl':
                progs.append(('mdevctl', 'mdevctl'))
                envs['mdevctl'] = envs[name]
    except BaseException:
        stop(procs, buses, tmp)
        raise
    names = [name for name, _ in progs]
    # a host's directories are old: vgpud reads a callout directory changed in the last 2 s at every
    # request (daemon/callouts.c), the tree's were made just now
    time.sleep(2.1)
    try:
        times = {(prog, cmd): [] for prog in names for cmd in COMMANDS}
        for r in range(RUNS):
            us = {prog: str(uuidlib.uuid4()) for prog in names}
            for cmd in COMMANDS:
                for prog, path in progs[r % len(progs):] + progs[:r % len(progs)]:
                    times[(prog, cmd)].append(wall(argv_for(path, cmd, us[prog], parent), envs[prog]))
                    check(us[prog], cmd)
        bursts = {(prog, cmd): [] for prog in names for cmd in COMMANDS}
        for b in range(BURSTS):
            for prog, path in progs[b % len(progs):] + progs[:b % len(progs)]:
                us = [str(uuidlib.uuid4()) for _ in range(CONCURRENT)]
                for cmd in COMMANDS:
                    bursts[(prog, cmd)].append(concurrent([argv_for(path, cmd, u, parent) for u in us], envs[prog]))
                    for u in us:
                        check(u, cmd)
        burst = {k: statistics.median(v) for k, v in bursts.items()}
        floor = durable_replace_cost(os.path.join('/etc/mdevctl.d', parent)) + (log_append_cost(tmp),)
    finally:
        stop(procs, buses, tmp)
    fs = subprocess.run(['stat', '-f', '-c', '%T', '/etc/mdevctl.d'], stdout=subprocess.PIPE, text=True).stdout.strip()
    def row(cmd, values, unit_fmt):
        cells = ''.join(unit_fmt % (values[prog] * 1000) for prog in names)
        ratios = ''.join(' %7.2fx' % (values['mdevctl'] / values[prog]) for prog in names if prog != 'mdevctl')
        return '  %-10s%s%s' % (cmd, cells, ratios)

    header = ''.join('%12s' % n for n in names)
    header += ''.join('%8s' % ('ratio' if n == 'vgpuctl' else 'r.' + n[:4]) for n in names if n != 'mdevctl')
    print('definitions on %s (%s), one parent of the large host; median of %d interleaved rounds' % (tree, fs, RUNS))
    print('  %-10s%s' % ('command', header))
    for cmd in COMMANDS:
        print(row(cmd, {prog: statistics.median(times[(prog, cmd)]) for prog in names}, '%10.2fms'))
    print('  (one durable replace alone here, as vgpud makes it without its intent log: write a temporary')
    print('   file, fsync it, rename, fsync the directory: %.2f ms, of which the two fsyncs %.2f ms; one' % floor[:2])
    print('   append to the intent log and its fdatasync, what vgpud waits for instead: %.2f ms; medians of 51)'
          % floor[2])
    print('%d at once, until the last returns (median of %d bursts, the programs taking turns first):' % (
        CONCURRENT, BURSTS))
    for cmd in COMMANDS:
        print(row(cmd, {prog: burst[(prog, cmd)] for prog in names}, '%10.1fms'))
    print('(ratio: mdevctl\'s time over vgpuctl\'s (r.base: over the baseline\'s, with its own vgpud),')
    print(' above 1: faster than mdevctl; vgpud fsyncs, mdevctl does not; load average %s)' % ' '.join(open('/proc/loadavg').read().split()[:3]))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == '--inner':
        inner(sys.argv[2], sys.argv[3])
        return 0
    builddir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, 'build'))
    if not os.path.exists(os.path.join(builddir, 'daemon', 'vgpud')):
        print('build first: %s/daemon/vgpud is missing' % builddir, file=sys.stderr)
        return 1
    if not shutil.which('mdevctl'):
        print('mdevctl is not installed (scripts/setup-deps.sh test installs it)', file=sys.stderr)
        return 1
    if os.geteuid() != 0:
        print('run as root (private mount namespace)', file=sys.stderr)
        return 1
    os.makedirs('/etc/mdevctl.d', exist_ok=True)
    # the disk, then tmpfs: there an fsync costs nothing, so what remains is each program's own work
    for where in WHERE:
        tree = tempfile.mkdtemp(prefix='vgpud-bench-tree.', dir=where)
        try:
            simtree.write_tree(hosts.large(1 / 16), tree)
            sys.stdout.flush()
            subprocess.run(['unshare', '-m', '--propagation', 'private', '--', sys.executable,
                            os.path.abspath(__file__), '--inner', builddir, tree], check=True)
        finally:
            shutil.rmtree(tree, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
