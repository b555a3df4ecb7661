# SPDX-License-Identifier: LGPL-2.1-or-later
"""vgpuctl's allocation commands against the real daemon on the simulated default host (T4, an A16
board of 4 cores x 16 VFs, GVT-g, mtty): `acquire` (the UUID on one line, --json, every option,
errors as "Error: ..." with exit 1 and usage errors with exit 2), `release` (by UUID, owner and
slot; the released UUIDs), `plan` (the tables, the next placement, exit 1 when it does not fit, the
JSON) and `status` with its lease and orphan tables. The D-Bus calls are the reference: what
vgpuctl prints is checked against ListLeases, ListDevices, Plan and Acquire."""

import json
import re

from test_acquire import A16_CORES, T4, UUID_RE, V1, V2, AcquireTestCase

VM = 'c7a5fdbd-edaf-4455-926a-d65c16db1809'


class VgpuctlAllocCase(AcquireTestCase):

    def vgpuctl_ok(self, *args, **kwargs):
        rc, out, err = self.run_vgpuctl(*args, **kwargs)
        self.assertEqual(rc, 0, 'vgpuctl %s: %s' % (' '.join(args), err))
        return out

    def vgpuctl_fails(self, rc_want, *args):
        """vgpuctl must exit with rc_want; returns stderr."""
        rc, out, err = self.run_vgpuctl(*args)
        self.assertEqual(rc, rc_want, 'vgpuctl %s: rc %d, out %r, err %r' % (' '.join(args), rc, out, err))
        if rc_want == 1:
            self.assertTrue(err.startswith('Error: '), err)
        return err

    def lease_map(self):
        """{uuid: (owner, slot, parent, type, persist, running)}"""
        return {lease[0]: (lease[1], lease[2], lease[3], lease[4], lease[6], lease[7]) for lease in self.leases()}


class TestAcquireRelease(VgpuctlAllocCase):

    def test_acquire_prints_the_uuid_and_release_gives_it_back(self):
        out = self.vgpuctl_ok('acquire', 'A16-2Q', '--owner', 'test:a')
        self.assertRegex(out, UUID_RE[:-1] + r'\n$')
        uuid = out.strip()
        self.assertIn(uuid, self.running())
        owner, slot, parent, type_id, persist, running = self.lease_map()[uuid]
        self.assertEqual((owner, slot, persist, running), ('test:a', 0, False, True))
        self.assertIn(self.core_of(parent), A16_CORES)
        # the same owner and slot: the same device
        self.assertEqual(self.vgpuctl_ok('acquire', 'A16-2Q', '--owner', 'test:a'), out)
        self.assertEqual(self.vgpuctl_ok('release', uuid), uuid + '\n')
        self.assertNotIn(uuid, self.running())
        self.assertEqual(self.leases(), [])
        # released already: the daemon's NotFound, as an error
        self.vgpuctl_fails(1, 'release', uuid)

    def test_json_uuid_slot_and_placement_options(self):
        out = self.vgpuctl_ok('acquire', 'T4-2Q', '--owner', 'test:j', '--uuid', V1.upper(), '--slot', '2',
                              '-p', T4, '--json')
        got = json.loads(out)
        self.assertEqual(sorted(got), ['device', 'parent', 'type', 'uuid'])
        self.assertEqual((got['uuid'], got['parent'], got['type']), (V1, T4, 'nvidia-231'))
        self.assertTrue(got['device'].startswith('/org/vgpud1/device/'))
        self.assertEqual(self.lease_map()[V1][:2], ('test:j', 2))
        # --vm-uuid: what the daemon derives, the same for a dry run and the real thing
        dry = self.vgpuctl_ok('acquire', '2Q', '--owner', 'test:vm', '--vm-uuid', VM, '--slot', '1', '--dry-run',
                              '--board', self.plan()[1][A16_CORES[0]][1], '--numa-node', '1', '--policy', 'spread')
        self.assertEqual(self.running(), {V1})
        self.assertEqual(set(self.lease_map()), {V1})
        real = self.vgpuctl_ok('acquire', '2Q', '--owner', 'test:vm', '--vm-uuid', VM, '--slot', '1',
                               '--numa-node', '1', '--policy', 'spread', '--json')
        self.assertEqual(json.loads(real)['uuid'], dry.strip())
        self.assertIn(self.core_of(json.loads(real)['parent']), A16_CORES)
        self.assertEqual(self.vgpuctl_ok('release', '--owner', 'test:vm'), dry)

    def test_persist_defines_until_release(self):
        uuid = self.vgpuctl_ok('acquire', 'mtty-2', '--owner', 'test:p', '--persist', '--timeout-ms', '20000',
                               '-f').strip()
        self.assertEqual([d for d in self.def_files() if d.endswith(uuid)], ['mtty/' + uuid])
        self.assertTrue(self.lease_map()[uuid][4])
        self.assertEqual(self.vgpuctl_ok('release', '--owner', 'test:p', '--force'), uuid + '\n')
        self.assertEqual(self.def_files(), set())

    def test_release_by_owner_and_slot(self):
        u0 = self.vgpuctl_ok('acquire', '1Q', '--owner', 'test:s').strip()
        u1 = self.vgpuctl_ok('acquire', '1Q', '--owner', 'test:s', '--slot', '1').strip()
        u7 = self.vgpuctl_ok('acquire', '1Q', '--owner', 'test:s', '--slot=7').strip()
        other = self.vgpuctl_ok('acquire', '1Q', '--owner', 'test:other').strip()
        self.assertEqual(len({u0, u1, u7, other}), 4)
        self.assertEqual(self.vgpuctl_ok('release', '--owner', 'test:s', '--slot', '1'), u1 + '\n')
        self.assertEqual(sorted(self.vgpuctl_ok('release', '--owner', 'test:s').split()), sorted([u0, u7]))
        self.assertEqual(set(self.lease_map()), {other})
        self.vgpuctl_fails(1, 'release', '--owner', 'test:s')

    def test_errors(self):
        before = self.snapshot()
        err = self.vgpuctl_fails(1, 'acquire', 'Z9-7Q', '--owner', 'test:e')
        self.assertEqual(err.count('\n'), 1, err)
        self.vgpuctl_ok('acquire', 'T4-2Q', '--owner', 'test:t4')
        before = self.snapshot()
        err = self.vgpuctl_fails(1, 'acquire', 'T4-4Q', '--owner', 'test:e')
        self.assertIn(T4, err)  # SizeConflict names the core
        self.assertEqual(self.snapshot(), before)
        # the client's own checks: exit 2, nothing sent
        self.assertIn('--owner <OWNER>', self.vgpuctl_fails(2, 'acquire', '2Q'))
        self.assertIn('<PROFILE>', self.vgpuctl_fails(2, 'acquire', '--owner', 'x'))
        self.vgpuctl_fails(2, 'acquire', '2Q', 'extra', '--owner', 'x')
        self.vgpuctl_fails(2, 'acquire', '2Q', '--owner', 'x', '--policy', 'random')
        self.vgpuctl_fails(2, 'acquire', '2Q', '--owner', 'x', '--slot', '-1')
        self.vgpuctl_fails(2, 'acquire', '2Q', '--owner', 'x', '--uuid', V1, '--vm-uuid', V2)
        self.vgpuctl_fails(2, 'release')
        self.vgpuctl_fails(2, 'release', V1, '--owner', 'x')
        self.vgpuctl_fails(2, 'release', V1, '--slot', '1')
        self.assertIn('Not a UUID', self.vgpuctl_fails(1, 'release', 'test:t4'))
        self.assertEqual(self.snapshot(), before)

    def test_help_lists_the_commands_but_not_as_mdevctl(self):
        top = self.vgpuctl_ok('--help')
        for name in ('acquire', 'release', 'plan', 'hook'):
            self.assertRegex(top, r'\n    %s ' % name)
        rc, out, err = self.run_vgpuctl('--help', argv0='mdevctl')
        for name in ('acquire', 'release', 'plan', 'hook', 'status'):
            self.assertNotIn('    %s ' % name, out)
        self.assertIn('--owner <OWNER>', self.vgpuctl_ok('acquire', '--help'))
        self.assertIn('<UUID|--owner <OWNER>|--idle>', self.vgpuctl_ok('help', 'release'))


def table(text):
    """The rows of the first table in text (cells split at two or more spaces), as dicts."""
    lines = text.split('\n\n')[0].splitlines()
    header = re.split(r'\s{2,}', lines[0].strip())
    return [dict(zip(header, re.split(r'\s{2,}', line.strip()))) for line in lines[1:]]


class TestPlan(VgpuctlAllocCase):

    def test_tables_follow_the_daemon(self):
        self.vgpuctl_ok('acquire', 'T4-2Q', '--owner', 'test:a')
        out = self.vgpuctl_ok('plan')
        blocks = out.split('\n\n')
        self.assertEqual(len(blocks), 2, out)
        classes = {r['SIZE']: r for r in table(blocks[0])}
        want = self.plan()[0]
        self.assertEqual((classes['2G']['FITS AT SIZE'], classes['2G']['FITS IN ALL']),
                         tuple(str(x) for x in want[2048]))
        self.assertEqual(len(classes), len(want))
        cores = {r['CORE']: r for r in table(blocks[1])}
        self.assertEqual(list(cores), sorted(self.plan()[1]))
        self.assertEqual((cores[T4]['SIZE'], cores[T4]['VGPUS'], cores[T4]['FITS NOW'], cores[T4]['MIXED']),
                         ('2G', '1/8', '7x2G', 'no'))
        self.assertEqual(cores[A16_CORES[1]]['SIZE'], '-')
        self.assertIn('1x16G', cores[A16_CORES[1]]['FITS NOW'])
        self.assertIn('16x1G', cores[A16_CORES[1]]['FITS NOW'])
        self.assertIn('A16', cores[A16_CORES[1]]['BOARD'])
        self.assertRegex(cores['mtty']['FITS NOW'], r'^mtty-1:\d+ mtty-2:\d+$')

    def test_next_is_where_acquire_goes(self):
        for profile, opts in (('A16-2Q', []), ('2Q', ['--policy', 'spread']), ('8Q', ['--numa-node', '1']),
                              ('mtty-1', [])):
            out = self.vgpuctl_ok('plan', profile, *opts)
            m = re.search(r'\nNext (\S+): parent (\S+), type (\S+) \((.*)\), core (\S+)\n$', out)
            self.assertIsNotNone(m, out)
            got = json.loads(self.vgpuctl_ok('acquire', profile, '--owner', 'test:' + profile, '--json', *opts))
            self.assertEqual((m.group(1), m.group(2), m.group(3), m.group(5)),
                             (profile, got['parent'], got['type'], self.core_of(got['parent'])))

    def test_does_not_fit(self):
        self.vgpuctl_ok('acquire', 'T4-2Q', '--owner', 'test:a')
        rc, out, err = self.run_vgpuctl('plan', 'T4-4Q')
        self.assertEqual(rc, 1)
        nxt = self.plan('T4-4Q')[2]
        self.assertEqual(err, 'Error: %s\n' % nxt[6])
        self.assertIn('CORE', out)  # the tables still print
        self.assertNotIn('Next', out)
        self.vgpuctl_fails(2, 'plan', '2Q', '4Q')

    def test_json(self):
        got = json.loads(self.vgpuctl_ok('plan', '--json'))
        self.assertIsNone(got['next'])
        classes, cores, _ = self.plan()
        self.assertEqual({c['size_mib']: (c['fits_at_size'], c['fits_in_all']) for c in got['classes']}, classes)
        self.assertEqual([c['core'] for c in got['cores']], sorted(cores))
        t4 = [c for c in got['cores'] if c['core'] == T4][0]
        self.assertEqual({t['id']: t['fits'] for t in t4['types']}['nvidia-231'], 8)
        rc, out, err = self.run_vgpuctl('plan', 'Z9-7Q', '--json')
        if rc == 0:
            self.fail('a profile nothing offers fits: %s' % out)
        self.assertTrue(err.startswith('Error: '), err)
        nxt = json.loads(self.vgpuctl_ok('plan', '4Q', '-p', A16_CORES[2], '--json'))['next']
        self.assertEqual((nxt['profile'], nxt['fits'], nxt['core']), ('4Q', True, A16_CORES[2]))


class TestStatus(VgpuctlAllocCase):

    def test_leases_and_users_under_the_core_table(self):
        out = self.vgpuctl_ok('status')
        self.assertNotIn('OWNER', out)  # no leases, no devices: the table alone
        self.assertEqual(len(out.split('\n\n')), 1)
        u = self.vgpuctl_ok('acquire', 'T4-2Q', '--owner', 'libvirt:web-01', '--slot', '3').strip()
        idle = '7e57ab1e-0000-4000-8000-000000000001'
        self.assertTrue(self.sim.emulator.create(A16_CORES[0][:-1] + '4', 'nvidia-' + self.a16_2q(), idle))
        self.assertTrue(self.wait_for(lambda s: idle in self.orphans()))
        out = self.vgpuctl_ok('status')
        blocks = out.split('\n\n')
        self.assertEqual(len(blocks), 3, out)
        leases = table(blocks[1])
        self.assertEqual(leases, [{'OWNER': 'libvirt:web-01', 'SLOT': '3', 'UUID': u, 'TYPE': 'nvidia-231',
                                   'PARENT': T4, 'RUNNING': 'yes'}])
        vgpus = {r['VGPU']: r for r in table(blocks[2])}
        self.assertEqual(sorted(vgpus), sorted([u, idle]))
        self.assertEqual((vgpus[u]['USED BY'], vgpus[u]['IDLE']), ('lease libvirt:web-01', '-'))
        self.assertEqual(vgpus[idle]['USED BY'], 'nobody')
        self.assertRegex(vgpus[idle]['IDLE'], r'^\d+[smhd]')
        # the core table is as it was: one row per core
        self.assertEqual({r['CORE'] for r in table(blocks[0])}, set(self.plan()[1]))

        data = json.loads(self.vgpuctl_ok('status', '--json'))
        cores = {c['core']: c for c in data}
        self.assertEqual([(x['owner'], x['slot'], x['uuid'], x['running']) for x in cores[T4]['leases']],
                         [('libvirt:web-01', 3, u, True)])
        self.assertEqual(cores[A16_CORES[0]]['idle'], [idle])
        self.assertEqual(cores[A16_CORES[0]]['orphans'], [idle])  # the old name, kept
        self.assertEqual(cores[A16_CORES[0]]['leases'], [])
        self.assertEqual([(d['uuid'], d['user_kind'], d['user'], d['idle']) for d in cores[T4]['devices']],
                         [(u, 'lease', 'libvirt:web-01', False)])
        self.assertGreater(cores[A16_CORES[0]]['devices'][0]['idle_since_usec'], 0)
        for key in ('core', 'model', 'board', 'numa_node', 'size', 'used', 'capacity', 'parents'):
            self.assertIn(key, cores[T4])

    def a16_2q(self):
        """The type number of A16-2Q on the first A16 VF."""
        _, _, _, type_id = self.acquire('A16-2Q', 'test:probe', dry_run=True)
        return type_id.split('-')[1]
