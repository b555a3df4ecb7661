#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark of the read side: vgpuctl against Debian's mdevctl 1.2.0 on the same fake trees, and
vgpud's start-to-READY time and memory. Prints tables; asserts nothing (targets are in the issue,
the figures go into HACKING.md).

For each size (a small host of 3 parents: a T4, a GVT-g iGPU and mtty with 4 vGPUs running and 3
defined; then 1/16, 1/4 and all of 16 parents x 20 types x 2,560 running devices) the tree is
written once, then, in a private mount namespace with the tree bind-mounted over /sys and
/etc/mdevctl.d (so both tools read it as real sysfs, without umockdev's preload):
  - vgpud is started BENCH_STARTS times with NOTIFY_SOCKET set: time from exec to READY=1, and
    its VmRSS right after READY and after serving a full listing;
  - `vgpuctl list`, `list --dumpjson`, `types`, `list -d` (from the snapshot vgpud publishes, as
    with vgpud.service; and without it, over vgpud's private socket) and the same mdevctl commands
    are run BENCH_RUNS times each, interleaved (one of each per round, so that load from elsewhere
    hits all alike): median wall time and the ratio, and the ratio of the fastest runs; the outputs
    are compared byte for byte. BENCH_BASELINE=BUILDDIR adds another build's vgpuctl (e.g. main
    before a change) to the same rounds, over the private socket;
  - the floor under any client (tests/bench/bench-client-floor.c): a program that only connects to
    the private socket, and one that links libsystemd and makes one Ping call over it.
Usage: bench-inventory.py [BUILDDIR]  (default: build). Run as root. BENCH_SIZES=small,1/16,1/4,1
selects sizes.
"""

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
RUNS = int(os.environ.get('BENCH_RUNS', '9'))
STARTS = int(os.environ.get('BENCH_STARTS', '7'))
COMMANDS = [['list'], ['list', '--dumpjson'], ['types'], ['list', '-d']]
BASELINE = os.path.abspath(os.environ['BENCH_BASELINE']) if os.environ.get('BENCH_BASELINE') else None
SCALES = [(None, 'small (3 parents)'), (1 / 16, '1/16'), (1 / 4, '1/4'), (1.0, '1')]
# BENCH_SIZES=small,1/16 runs only these sizes
if os.environ.get('BENCH_SIZES'):
    SCALES = [(s, label) for s, label in SCALES if label.split()[0] in os.environ['BENCH_SIZES'].split(',')]

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


def small_host():
    """3 parents (a T4, GVT-g, mtty) with 4 vGPUs running, 3 of them defined: the usual small box."""
    sys.path.insert(0, os.path.join(TOP, 'tests', 'sim'))
    import hosts
    h = hosts.t4()
    for other in (hosts.gvtg(), hosts.mtty()):
        h.merge(other)
    t4p = '0000:41:00.0'
    q2 = hosts.nvidia_type_by_name(h, t4p, 'GRID T4-2Q')
    for n in range(2):
        h.add_mdev(hosts.make_uuid('small', n), t4p, q2)
        h.define(t4p, hosts.make_uuid('small', n), q2, 'auto')
    h.add_mdev(hosts.make_uuid('small', 2), '0000:00:02.0', 'i915-GVTg_V5_4')
    h.add_mdev(hosts.make_uuid('small', 3), 'mtty', 'mtty-2')
    h.define('mtty', hosts.make_uuid('small', 3), 'mtty-2', 'manual', [('foo', 'bar')])
    h.name = 'small'
    return h


def write_tree(scale, path):
    if scale is not None:
        subprocess.run([sys.executable, os.path.join(TOP, 'tests', 'sim', 'simhost.py'), '--host', 'large',
                        '--scale', str(scale), '--write-tree', path], check=True, stdout=subprocess.DEVNULL)
        return
    sys.path.insert(0, os.path.join(TOP, 'tests', 'sim'))
    import tree as simtree
    simtree.write_tree(small_host(), path)


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def wall(argv, env):
    """Wall time of one run, spawned directly with stdout to /dev/null: subprocess.run's pipes and
    helper threads would add the same half millisecond to every command and blur the ratios."""
    path = argv[0] if os.path.isabs(argv[0]) else shutil.which(argv[0])
    t0 = time.perf_counter()
    pid = os.posix_spawn(path, argv, env, file_actions=[(os.POSIX_SPAWN_OPEN, 1, '/dev/null', os.O_WRONLY, 0)])
    _, status = os.waitpid(pid, 0)
    dt = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError('%s failed' % ' '.join(argv))
    return dt


def timed(argv, env):
    t0 = time.perf_counter()
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError('%s failed (%d): %s' % (' '.join(argv), p.returncode, p.stderr.decode()))
    return dt, p.stdout


def start_vgpud(builddir, env, tmp):
    """Start vgpud; return (process, seconds to READY=1)."""
    path = os.path.join(tmp, 'notify')
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(30)
    env = dict(env, NOTIFY_SOCKET=path)
    t0 = time.perf_counter()
    proc = subprocess.Popen([os.path.join(builddir, 'daemon', 'vgpud'), '--state-dir', tmp,
                             '--private-socket', os.path.join(tmp, 'private'),
                             '--snapshot', os.path.join(tmp, 'snapshot')],
                            env=env, stderr=subprocess.DEVNULL)
    try:
        while True:
            msg = sock.recv(4096).decode()
            if 'READY=1' in msg.split('\n'):
                return proc, time.perf_counter() - t0
    finally:
        sock.close()


def stop(proc):
    proc.terminate()
    proc.wait(timeout=10)


def inner(builddir, tree, label):
    """Runs inside the private mount namespace."""
    subprocess.run(['mount', '--bind', os.path.join(tree, 'sys'), '/sys'], check=True)
    subprocess.run(['mount', '--bind', os.path.join(tree, 'etc', 'mdevctl.d'), '/etc/mdevctl.d'], check=True)
    tmp = tempfile.mkdtemp(prefix='vgpud-bench.')
    bus_sock = os.path.join(tmp, 'bus')
    with open(os.path.join(tmp, 'bus.conf'), 'w') as f:
        f.write(BUS_CONF % bus_sock)
    bus = subprocess.Popen(['dbus-daemon', '--config-file', os.path.join(tmp, 'bus.conf'), '--nofork',
                            '--nopidfile'], stderr=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(bus_sock):
            break
        time.sleep(0.01)
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS='unix:path=' + bus_sock)
    vgpuctl = os.path.join(builddir, 'client', 'vgpuctl')
    try:
        ready = []
        for _ in range(STARTS):
            proc, dt = start_vgpud(builddir, env, tmp)
            ready.append(dt)
            rss_ready = rss_kib(proc.pid)
            stop(proc)
        proc, _ = start_vgpud(builddir, env, tmp)
        rows = []
        # as vgpud.service runs: vgpuctl reads the snapshot; without it, over the private socket
        private = os.path.join(tmp, 'private')
        fast_env = dict(env, VGPUD_SOCKET=private, VGPUD_SNAPSHOT=os.path.join(tmp, 'snapshot'))
        socket_env = dict(env, VGPUD_SOCKET=private, VGPUD_SNAPSHOT='')
        floors = [[os.path.join(builddir, 'tests', 'bench', 'bench-floor-connect'), private],
                  [os.path.join(builddir, 'tests', 'bench', 'bench-floor-sdbus'), private]]
        programs = [([vgpuctl], fast_env), ([vgpuctl], socket_env), (['mdevctl'], env)]
        if BASELINE:
            programs.append(([os.path.join(BASELINE, 'client', 'vgpuctl')], socket_env))
        for cmd in COMMANDS:
            outputs = [timed(prog + cmd, e)[1] for prog, e in programs]
            same = all(o == outputs[2] for o in outputs)
            times = [[] for _ in programs]
            for _ in range(RUNS):
                for (prog, e), t in zip(programs, times):
                    t.append(wall(prog + cmd, e))
            rows.append((' '.join(cmd), [statistics.median(t) for t in times], [min(t) for t in times], same))
        floor = [statistics.median(wall(f, env) for _ in range(RUNS)) for f in floors]
        rss_served = rss_kib(proc.pid)
        stop(proc)
    finally:
        bus.terminate()
        bus.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    print('size %s:' % label)
    heads = ['vgpuctl', 'no snapshot', 'mdevctl'] + (['baseline'] if BASELINE else [])
    print('  %-16s' % 'command' + ''.join('%13s' % h for h in heads) +
          '%8s %8s %11s' % ('ratio', 'of mins', 'no snapsh.') + ('%9s' % 'baseline' if BASELINE else '') +
          '  same output')
    for name, med, mins, same in rows:
        ratios = [med[2] / med[0], mins[2] / mins[0], med[2] / med[1]] + ([med[2] / med[3]] if BASELINE else [])
        print('  %-16s' % name + ''.join('%11.2fms' % (m * 1000) for m in med) +
              '%7.1fx %7.1fx %10.1fx' % tuple(ratios[:3]) + ('%8.1fx' % ratios[3] if BASELINE else '') +
              '  %s' % ('yes' if same else 'NO'))
    print('  (ratio: mdevctl\'s median over vgpuctl\'s; "of mins": of the fastest runs, less touched by load;')
    print('   "no snapshot": vgpuctl over the private socket (D-Bus); "baseline": BENCH_BASELINE\'s vgpuctl)')
    print('  floor: connect to the private socket only %.2f ms; with libsystemd, sd-bus and one Ping %.2f ms'
          % (floor[0] * 1000, floor[1] * 1000))
    print('  vgpud start to READY: median %.1f ms (min %.1f, max %.1f, %d starts)' %
          (statistics.median(ready) * 1000, min(ready) * 1000, max(ready) * 1000, len(ready)))
    print('  vgpud RSS: %.1f MiB after READY, %.1f MiB after serving %d listings' %
          (rss_ready / 1024, rss_served / 1024, len(COMMANDS) * RUNS))
    sys.stdout.flush()


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == '--inner':
        inner(sys.argv[2], sys.argv[3], sys.argv[4])
        return 0
    builddir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, 'build'))
    if BASELINE and not os.access(os.path.join(BASELINE, 'client', 'vgpuctl'), os.X_OK):
        print('BENCH_BASELINE: %s/client/vgpuctl is missing' % BASELINE, file=sys.stderr)
        return 1
    if not os.path.exists(os.path.join(builddir, 'daemon', 'vgpud')):
        print('build first: %s/daemon/vgpud is missing' % builddir, file=sys.stderr)
        return 1
    if not shutil.which('mdevctl'):
        print('mdevctl is not installed (scripts/setup-deps.sh test installs it)', file=sys.stderr)
        return 1
    os.makedirs('/etc/mdevctl.d', exist_ok=True)
    print('vgpud read-side benchmark: median of %d runs per command, %d daemon starts' % (RUNS, STARTS))
    print('trees: a small host (3 parents), and 16 parents x 20 types x 2,560 running devices at size 1 '
          '(tests/sim/hosts.py: large)')
    for scale, label in SCALES:
        tree = tempfile.mkdtemp(prefix='vgpud-bench-tree.')
        try:
            write_tree(scale, tree)
            subprocess.run(['unshare', '-m', '--propagation', 'private', '--', sys.executable,
                            os.path.abspath(__file__), '--inner', builddir, tree, label], check=True)
        finally:
            shutil.rmtree(tree, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
