#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark of vgpud under hostile local users (issue 11): root's Acquire latency (p50, p99) over the
bus, idle and then while other users hold 1,000 connections to the private socket and have sent
100,000 calls they never read the replies of; vgpud's RSS and descriptors in each phase. Prints a
table; asserts nothing (tests/integration/test_hostile.py asserts the bounds).

Host: the default simulated host (tests/sim/hosts.py: T4, an A16 board, GVT-g, mtty); profile T4-1Q.
A sample is one Acquire of a vGPU for a new owner, to ready, then its Release (untimed);
BENCH_SAMPLES samples per phase (default 60). The attack: BENCH_UIDS unprivileged uids (default 63,
numbered from 60000) each open BENCH_CONNS/BENCH_UIDS connections (1,000 in all; vgpud keeps at most
16 per uid and 256 in all, and closes the rest as they come), and 8 of them each pipeline
BENCH_CALLS/8 ListTypes (100,000 in all) on one more connection, never reading. Then, once they have
left, buffered input (issue 11): 4 other uids each hold 16 connections with 0.9 MiB of a call in progress
(58 MiB asked; vgpud keeps 8 MiB of messages in progress for all users but root), and 4 others each send
16 calls of 4 MiB on 4 connections (vgpud drops a connection whose message passes 1 MiB). The peak
column is VmHWM: the most vgpud ever held resident, up to the end of that phase.
Usage: bench-hostile.py [BUILDDIR]  (default: build). Run as root.
"""

import importlib.util
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, 'tests', 'sim'))

import hosts  # noqa: E402
import simhost  # noqa: E402

_spec = importlib.util.spec_from_file_location('bench_lifecycle', os.path.join(HERE, 'bench-lifecycle.py'))
lc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lc)

SAMPLES = int(os.environ.get('BENCH_SAMPLES', '60'))
UIDS = int(os.environ.get('BENCH_UIDS', '63'))
CONNS = int(os.environ.get('BENCH_CONNS', '1000'))
CALLS = int(os.environ.get('BENCH_CALLS', '100000'))
HOSTILE = os.path.join(TOP, 'tests', 'integration', 'hostile.py')
PROFILE = 'T4-1Q'


def percentile(values, p):
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def status(pid):
    """(RSS MiB, peak RSS MiB, descriptors)."""
    with open('/proc/%d/status' % pid) as f:
        fields = dict(line.split(':', 1) for line in f)
    kib = {k: int(fields[k].split()[0]) for k in ('VmRSS', 'VmHWM')}
    return kib['VmRSS'] / 1024, kib['VmHWM'] / 1024, len(os.listdir('/proc/%d/fd' % pid))


def acquire_samples(conn, tag):
    from gi.repository import Gio, GLib
    lat = []
    for k in range(SAMPLES):
        t0 = time.perf_counter()
        conn.call_sync('org.vgpud1', '/org/vgpud1', 'org.vgpud1.Manager', 'Acquire',
                       GLib.Variant('(ssa{sv})', (PROFILE, 'bench:%s-%d' % (tag, k), {})), None,
                       Gio.DBusCallFlags.NONE, 120000, None)
        lat.append(time.perf_counter() - t0)
        conn.call_sync('org.vgpud1', '/org/vgpud1', 'org.vgpud1.Manager', 'Release',
                       GLib.Variant('(sa{sv})', ('bench:%s-%d' % (tag, k), {})), None,
                       Gio.DBusCallFlags.NONE, 120000, None)
    return lat


def attack(sock):
    """Start the hostile users; returns their processes once each holds its connections."""
    procs = []
    per = max(1, CONNS // UIDS)
    for i in range(UIDS):
        uid = 60000 + i
        args = ['idle', sock, str(per)]
        if i < 8:
            args = ['pipeline', sock, str(per), str(CALLS // 8 // per)]
        procs.append(subprocess.Popen(['setpriv', '--reuid=%d' % uid, '--regid=%d' % uid, '--clear-groups',
                                       '/usr/bin/python3', HOSTILE] + args,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    reports = [json.loads(p.stdout.readline() or '{}') for p in procs]
    return procs, reports


def attack_input(sock):
    """The buffered-input attackers (uids from 61000); returns their processes and reports."""
    procs = []
    for i in range(8):
        uid = 61000 + i
        args = ['trickle', sock, '16', str(2 * 14 * 65536), str(14 * 65536)] if i < 4 else \
            ['large', sock, '4', str(4 << 20), '16']
        procs.append(subprocess.Popen(['setpriv', '--reuid=%d' % uid, '--regid=%d' % uid, '--clear-groups',
                                       '/usr/bin/python3', HOSTILE] + args,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    reports = [json.loads(p.stdout.readline() or '{}') for p in procs]
    return procs, reports


def main():
    builddir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else 'build')
    from gi.repository import Gio
    sim = lc.Sim(hosts.build_host('default', 1.0))
    tmp = tempfile.mkdtemp(prefix='vgpud-bench-hostile.')
    os.chmod(tmp, 0o755)
    bus = lc.Bus(tmp)
    state = os.path.join(tmp, 'state')
    os.makedirs(state)
    sock = os.path.join(tmp, 'private')
    env = simhost.sim_environment(sim.root)
    env['DBUS_SYSTEM_BUS_ADDRESS'] = bus.address
    log = open(os.path.join(tmp, 'vgpud.log'), 'w')
    proc = subprocess.Popen([os.path.join(builddir, 'daemon', 'vgpud'), '--definitions-dir', sim.definitions_dir,
                             '--state-dir', state, '--private-socket', sock], env=env, stdout=log, stderr=log)
    procs = []
    try:
        lc.wait_for(lambda: bus.has_owner('org.vgpud1'), 30, 0.02)
        conn = Gio.DBusConnection.new_for_address_sync(
            bus.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
            Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        acquire_samples(conn, 'warm')[:1]
        idle = acquire_samples(conn, 'idle')
        idle_st = status(proc.pid)
        lines_before = open(log.name).read().count('\n')
        t0 = time.perf_counter()
        procs, reports = attack(sock)
        attack_s = time.perf_counter() - t0
        hostile = acquire_samples(conn, 'hostile')
        hostile_st = status(proc.pid)
        held = 0
        for p in procs:
            p.stdin.write('count\n')
            p.stdin.flush()
            held += int(p.stdout.readline())
        lines = open(log.name).read().count('\n') - lines_before
        sent = sum(sum(r.get('sent', [])) for r in reports)
        connected = sum(r.get('connected', 0) for r in reports)
        for p in procs:  # the next attack gets the connections these held (256 for all users but root)
            p.stdin.close()
            p.wait(60)
        procs, more_reports = attack_input(sock)
        buffered = acquire_samples(conn, 'input')
        input_st = status(proc.pid)
        input_sent = sum(sum(r.get('sent', [])) for r in more_reports)
        print('vgpud under hostile users (%d samples per phase, profile %s, default host)' % (SAMPLES, PROFILE))
        print('| phase | root Acquire p50 | p99 | vgpud RSS | peak RSS | descriptors |')
        print('|---|---|---|---|---|---|')
        for name, lat, st in (('idle', idle, idle_st), ('hostile', hostile, hostile_st),
                              ('buffered input', buffered, input_st)):
            print('| %s | %.1f ms | %.1f ms | %.1f MiB | %.1f MiB | %d |' % (
                name, statistics.median(lat) * 1e3, percentile(lat, 99) * 1e3, st[0], st[1], st[2]))
        print('attack: %d uids, %d connections made (%.1f s), %d unread calls sent before vgpud hung up; '
              'vgpud held %d connections at the end; %d log lines' % (UIDS, connected, attack_s, sent, held, lines))
        print('buffered input: %.1f MiB sent by 8 uids before vgpud hung up on them' % (input_sent / 2**20))
        print('p99 ratio hostile/idle: %.2fx, buffered input/idle: %.2fx' % (
            percentile(hostile, 99) / percentile(idle, 99), percentile(buffered, 99) / percentile(idle, 99)))
    finally:
        for p in procs:
            if p.poll() is None:
                p.stdin.close()
        for p in procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
        lc.stop(proc)
        log.close()
        bus.close()
        sim.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
