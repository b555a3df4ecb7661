# SPDX-License-Identifier: LGPL-2.1-or-later
"""`vgpuctl status`: vgpuctl's own command (mdevctl has none, so there is no oracle): one row per
GPU core, checked against what the simulated hosts hold. Uses the oracle harness for the bus and
the daemon."""

import json
import re

import oracle  # first: it puts tests/sim on sys.path
import hosts
from oracle import OracleCase

A16_VF = hosts.a16_vf_addr


def table(text):
    """Rows of the status table as dicts (columns are separated by two or more spaces)."""
    lines = text.split('\n\n')[0].splitlines()  # the core table; leases and orphans follow it
    header = re.split(r'\s{2,}', lines[0].strip())
    return {r[0]: dict(zip(header, r)) for r in (re.split(r'\s{2,}', line.strip()) for line in lines[1:])}


class Test_status_half_full(OracleCase):
    HOST = 'half-full'

    def test_table(self):
        got = self.vgpuctl(['status'], name='vgpuctl')
        self.assertEqual(got.rc, 0, got)
        rows = table(got.out.decode())
        self.assertEqual(list(rows), sorted(rows), 'rows sorted by core')
        # one row per core: the 64 A16 virtual functions collapse into their 4 cores
        self.assertEqual(set(rows), {'0000:00:02.0', '0000:41:00.0', 'mtty'} | set(hosts.A16_CORES))
        t4 = rows['0000:41:00.0']
        self.assertEqual((t4['SIZE'], t4['VGPUS'], t4['USAGE'], t4['NUMA']), ('2G', '2/8', '[###-------]', '0'))
        self.assertIn('T4', t4['MODEL'])
        a16 = rows[hosts.A16_CORES[0]]
        self.assertEqual((a16['SIZE'], a16['VGPUS']), ('4G', '1/4'))
        self.assertIn('A16', a16['BOARD'])
        self.assertEqual(rows[hosts.A16_CORES[0]]['BOARD'].split()[0], rows[hosts.A16_CORES[3]]['BOARD'].split()[0],
                         'the cores of one A16 share a board')
        idle = rows[hosts.A16_CORES[1]]
        self.assertEqual((idle['SIZE'], idle['USAGE']), ('-', '[----------]'))
        self.assertTrue(rows['mtty']['VGPUS'].startswith('1/'))
        self.assertEqual(rows['mtty']['SIZE'], 'n/a')

    def test_json(self):
        got = self.vgpuctl(['status', '--json'], name='vgpuctl')
        self.assertEqual(got.rc, 0, got)
        cores = {c['core']: c for c in json.loads(got.out)}
        t4 = cores['0000:41:00.0']
        self.assertEqual((t4['used'], t4['capacity'], t4['size'], t4['size_class_mib']), (2, 8, '2G', 2048))
        self.assertEqual(t4['parents'], ['0000:41:00.0'])
        self.assertEqual(len(cores[hosts.A16_CORES[0]]['parents']), 16)
        self.assertEqual(cores['mtty']['numa_node'], -1)

    def test_hidden_as_mdevctl_but_runs(self):
        self.assertNotIn(b'status', self.vgpuctl(['--help']).out)
        self.assertEqual(self.vgpuctl(['status']).rc, 0)


def a16_mixed():
    """An A16 whose driver lets sizes mix, with a 4Q and a 2Q on the first core."""
    core = hosts.A16_CORES[0]
    return hosts.a16(mixed_size=True, running=[(hosts.make_uuid('mixed', 1), A16_VF(core, 0), 'NVIDIA A16-4Q'),
                                               (hosts.make_uuid('mixed', 2), A16_VF(core, 1), 'NVIDIA A16-2Q')])


class Test_status_mixed(OracleCase):
    HOST = a16_mixed

    def test_mixed(self):
        got = self.vgpuctl(['status'], name='vgpuctl')
        self.assertEqual(got.rc, 0, got)
        row = table(got.out.decode())[hosts.A16_CORES[0]]
        self.assertEqual(row['SIZE'], 'mixed')
        self.assertTrue(row['VGPUS'].startswith('2/'), row)
        data = {c['core']: c for c in json.loads(self.vgpuctl(['status', '--json']).out)}
        self.assertTrue(data[hosts.A16_CORES[0]]['mixed_size'])
        self.assertEqual(data[hosts.A16_CORES[0]]['size'], 'mixed')
