# SPDX-License-Identifier: LGPL-2.1-or-later
"""Allocation through vgpud on a private bus over the simulated host (the contract in
dbus/org.vgpud1.xml: Manager.Acquire, Release, Plan, ListLeases, Orphans, Acquired/Released,
Device.Owner/Slot): every profile form, pack and spread on the default host (T4, an A16 board of
4 cores x 16 VFs, GVT-g, mtty), SizeConflict/NoCapacity/NotFound/Exists, dry runs, idempotence,
VM-UUID derivation across restarts, persist, Release by UUID/owner/slot, Busy while a process
holds the VFIO group open, signals and properties, Plan against what Acquire then does, 64
concurrent Acquires, kill -9 in an acquire storm, a corrupt leases file and orphans. The
simulator's /dev/vfio nodes are checked first, without the daemon."""

import os
import signal
import subprocess
import time
import unittest

import vgpudtest
from gi.repository import GLib
from test_lifecycle import PATIENT_MS, U1, LifecycleTestCase, device_path, dfn, error_of, path_encode

import hosts  # noqa: E402  (tests/sim, on the path through vgpudtest)

MANAGER = 'org.vgpud1.Manager'
DEVICE = 'org.vgpud1.Device'
GPU = 'org.vgpud1.Gpu'
ERR = 'org.vgpud1.Error.'
T4 = '0000:41:00.0'
A16_CORES = hosts.A16_CORES  # 0000:63:00.0 .. 0000:66:00.0, 16 VFs each
GVT = '0000:00:02.0'
V1 = '6f1c0e2a-3b4d-4e5f-8a6b-7c8d9e0f1a2b'
V2 = '0b8e6c1d-2f3a-4b5c-9d6e-7f8091a2b3c4'
U9 = '99999999-1111-4222-8333-444455556666'
UUID_RE = r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'

# Acquire/Plan option name -> D-Bus signature (dbus/org.vgpud1.xml)
OPTION_TYPES = {'slot': 'u', 'uuid': 's', 'vm_uuid': 's', 'persist': 'b', 'dry_run': 'b',
                'timeout_ms': 'u', 'force': 'b', 'parent': 's', 'board': 's', 'numa_node': 'i',
                'policy': 's', 'mixed_size': 'b'}


def vf(core, i):
    return hosts.a16_vf_addr(core, i)


def options(**kw):
    return {k: GLib.Variant(OPTION_TYPES[k], v) for k, v in kw.items()}


class TestVfioNodes(unittest.TestCase):
    """The simulator: a created mdev gets its own IOMMU group and /dev/vfio/<group> node."""

    def setUp(self):
        self.sim = vgpudtest.SimHost('t4', log=open(os.devnull, 'w'))
        self.addCleanup(self.sim.close)
        self.addCleanup(self.sim.emulator.log.close)

    def test_created_devices_get_a_fresh_group_and_node(self):
        emu, root = self.sim.emulator, self.sim.root
        u1, u2 = hosts.make_uuid('vfio', 1), hosts.make_uuid('vfio', 2)
        self.assertTrue(emu.create(T4, 'nvidia-231', u1))
        self.assertTrue(emu.create(T4, 'nvidia-231', u2))
        g1, g2 = emu.iommu_group(u1), emu.iommu_group(u2)
        self.assertNotEqual(g1, g2)
        pci_groups = {int(os.path.basename(os.readlink(os.path.join(self.sim.sys_dir, 'bus/pci/devices', d,
                                                                    'iommu_group'))))
                      for d in os.listdir(os.path.join(self.sim.sys_dir, 'bus/pci/devices'))}
        self.assertFalse({g1, g2} & pci_groups)
        for u, g in ((u1, g1), (u2, g2)):
            link = os.path.join(self.sim.sys_dir, 'bus/mdev/devices', u, 'iommu_group')
            self.assertTrue(os.readlink(link).endswith('kernel/iommu_groups/%d' % g))
            self.assertTrue(os.path.isdir(os.path.join(link, 'devices', u)))
            self.assertEqual(emu.vfio_group_path(u), os.path.join(root, 'dev', 'vfio', str(g)))
            self.assertTrue(os.path.isfile(emu.vfio_group_path(u)))
        # a preloaded process sees the nodes as /dev/vfio/<group>
        p = subprocess.run(['ls', '/dev/vfio'], env=self.sim.env(), capture_output=True, text=True)
        self.assertEqual(sorted(p.stdout.split()), sorted([str(g1), str(g2), 'vfio']))
        path1 = emu.vfio_group_path(u1)
        emu.remove(u1)
        self.assertFalse(os.path.exists(path1))
        self.assertFalse(os.path.exists(os.path.join(self.sim.sys_dir, 'kernel/iommu_groups/%d' % g1)))
        # the same UUID again: a group number never used before
        self.assertTrue(emu.create(T4, 'nvidia-231', u1))
        self.assertNotIn(emu.iommu_group(u1), (g1, g2))
        self.assertTrue(os.path.isfile(emu.vfio_group_path(u1)))

    def test_running_devices_of_the_host_have_nodes(self):
        sim = vgpudtest.SimHost('half-full', log=open(os.devnull, 'w'))
        self.addCleanup(sim.close)
        self.addCleanup(sim.emulator.log.close)
        groups = [m.iommu_group for m in sim.host.mdevs.values()]
        self.assertEqual(len(set(groups)), len(groups))
        for u in sim.host.mdevs:
            self.assertTrue(os.path.isfile(sim.emulator.vfio_group_path(u)))


class AcquireTestCase(LifecycleTestCase):
    host = 'default'

    def setUp(self):
        self.holders = []
        super().setUp()

    def tearDown(self):
        for p in self.holders:
            if p.poll() is None:
                p.kill()
            p.wait()
        super().tearDown()

    # ------------------------------------------------------------ calls
    def acquire(self, profile, owner, **opts):
        """(uuid, device object, parent, type id)."""
        return self.manager('Acquire', '(ssa{sv})', (profile, owner, options(**opts)))

    def release(self, what, **opts):
        return sorted(self.manager('Release', '(sa{sv})', (what, options(**opts)))[0])

    def plan(self, profile='', **opts):
        """(classes {size: (on cores at that size, in all)}, cores {core: entry}, next)."""
        classes, cores, nxt = self.manager('Plan', '(sa{sv})', (profile, options(**opts)))
        return ({c[0]: (c[1], c[2]) for c in classes}, {c[0]: c for c in cores}, nxt)

    def leases(self):
        return self.manager('ListLeases', None, None)[0]

    def lease_of(self, uuid):
        found = [lease for lease in self.leases() if lease[0] == uuid]
        return found[0] if found else None

    def orphans(self):
        return self.get_property('/org/vgpud1', MANAGER, 'Orphans')

    def definitions(self):
        return {(d[0], d[1]): d for d in self.manager('ListDefinitions', None, None)[0]}

    def core_of(self, parent):
        return self.get_property('/org/vgpud1/gpu/' + path_encode(parent), GPU, 'Core')

    def hold_group(self, uuid):
        """A process (as QEMU would) that holds the device's VFIO group open."""
        with open(self.sim.emulator.vfio_group_path(uuid), 'rb') as f:
            p = subprocess.Popen(['sleep', '600'], stdin=f)
        self.holders.append(p)
        return p

    def leases_file(self):
        return os.path.join(self.state_dir, 'leases')

    def leases_bytes(self):
        try:
            with open(self.leases_file(), 'rb') as f:
                return f.read()
        except FileNotFoundError:
            return None

    def settle(self, timeout=vgpudtest.WAIT_TIMEOUT):
        """Wait until leases and devices stop changing (autostart after a restart runs after the
        name is owned: give a defined lease that is not running 3 s to start); returns (leases,
        running)."""
        start = time.monotonic()
        last = None
        while True:
            now = (self.leases(), self.running(), self.listed_devices())
            pending = [x for x in now[0] if x[6] and not x[7]]
            waited = time.monotonic() - start
            if (now == last and (not pending or waited > 3)) or waited > timeout:
                return now[:2]
            last = now
            time.sleep(0.3)

    def load_leases_file(self):
        kf = GLib.KeyFile()
        kf.load_from_file(self.leases_file(), GLib.KeyFileFlags.NONE)
        return kf

    def storm_64_owners_for_8(self, prefix):
        """64 Acquires of T4-2Q at once, each for its own owner (prefix + index), where 8 fit: exactly 8
        made and leased, each device once, 56 NoCapacity, no create refused by the kernel. Returns the
        8 answers, {index: reply}."""
        results = {}
        for i in range(64):
            self.call_async('Acquire', '(ssa{sv})', ('T4-2Q', '%s%02d' % (prefix, i), {}), results, i)
        self.wait_results(results, 64)
        ok = {i: r[1] for i, r in results.items() if r[0] == 'ok'}
        self.assertEqual(len(ok), 8, results)
        self.assertEqual([r[1] for r in results.values() if r[0] == 'error'], [ERR + 'NoCapacity'] * 56)
        uuids = {r[0] for r in ok.values()}
        self.assertEqual(len(uuids), 8)
        self.assertEqual(self.running(), uuids)
        self.assertEqual(sorted((x[1], x[0]) for x in self.leases()),
                         sorted(('%s%02d' % (prefix, i), r[0]) for i, r in ok.items()))
        self.assertEqual(self.sim.emulator.refusals, [])
        return ok

    def snapshot(self):
        """What an Acquire that fails (or only plans) must not change."""
        return (self.running(), sorted(self.leases()), self.def_files(), len(self.sim.emulator.events))


class TestProfilesAndPlacement(AcquireTestCase):

    def test_every_profile_form(self):
        for n, (profile, parent, type_id) in enumerate([
                ('nvidia-231', T4, 'nvidia-231'),
                ('GRID T4-2Q', T4, 'nvidia-231'),
                ('T4-2Q', T4, 'nvidia-231'),
                ('  t4-2q ', T4, 'nvidia-231'),
                ('2Q', T4, 'nvidia-231'),  # the T4 is at 2Q already: pack keeps it there
                ('NVIDIA A16-4Q', vf(A16_CORES[0], 0), 'nvidia-713'),
                ('a16-4q', vf(A16_CORES[0], 1), 'nvidia-713'),
                ('i915-GVTg_V5_4', GVT, 'i915-GVTg_V5_4'),
                ('mtty-2', 'mtty', 'mtty-2'),
                ('Dual port serial', 'mtty', 'mtty-2')]):
            owner = 'test:profile%d' % n
            uuid, path, got_parent, got_type = self.acquire(profile, owner)
            self.assertRegex(uuid, UUID_RE)
            self.assertEqual((path, got_parent, got_type), (device_path(uuid), parent, type_id), profile)
            self.assertIn(uuid, self.running(), profile)
            m = self.sim.host.mdevs[uuid]
            self.assertEqual((m.parent.name, m.mtype.dirname), (parent, type_id), profile)
        self.assertEqual(len(self.leases()), 10)

    def test_unknown_profile_and_bad_arguments(self):
        before = self.snapshot()
        msg = self.assertError(ERR + 'NotFound', self.acquire, 'Z9-7Q', 'test:x')
        self.assertIn('Z9-7Q', msg)
        self.assertError(ERR + 'NotFound', self.acquire, 'T4-2Q', 'test:x', parent=A16_CORES[0])
        self.assertError(ERR + 'NotFound', self.acquire, '2Q', 'test:x', numa_node=7)
        self.assertError(ERR + 'NotFound', self.acquire, '2Q', 'test:x', board='0000:99:00.0')
        self.assertError(ERR + 'InvalidArgument', self.acquire, '', 'test:x')
        self.assertError(ERR + 'InvalidArgument', self.acquire, '2Q', '')
        self.assertError(ERR + 'InvalidArgument', self.acquire, '2Q', 'x' * 256)
        self.assertError(ERR + 'InvalidArgument', self.acquire, '2Q', 'bad\nowner')
        # the one name rule (common/name.c): no separator but a plain space, which libvirt domain names have
        for owner in ('bad\u2028owner', 'bad\towner', 'test:a/b', '-rf', ' test:x', '.hidden'):
            msg = self.assertError(ERR + 'InvalidArgument', self.acquire, '2Q', owner)
            self.assertIn('Invalid owner', msg)
        self.assertError(ERR + 'InvalidArgument', self.acquire, '2Q', 'test:x', policy='densest')
        self.assertError(ERR + 'InvalidArgument', self.acquire, '2Q', 'test:x', vm_uuid='not-a-uuid')
        self.assertError(ERR + 'InvalidArgument', self.acquire, '2Q', 'test:x', uuid='not-a-uuid')
        self.assertError(ERR + 'InvalidArgument', self.manager, 'Acquire', '(ssa{sv})',
                         ('2Q', 'test:x', {'slot': GLib.Variant('s', '1')}))
        self.assertError(ERR + 'InvalidArgument', self.manager, 'Acquire', '(ssa{sv})',
                         ('2Q', 'test:x', {'bogus': GLib.Variant('b', True)}))
        self.assertEqual(self.snapshot(), before)
        # 255 bytes is allowed
        self.acquire('2Q', 'y' * 255)
        # the libvirt hook's owner of a domain whose name has spaces
        self.acquire('2Q', 'libvirt:my web vm')
        self.assertIn('libvirt:my web vm', [lease[1] for lease in self.leases()])

    def test_pack_fills_the_core_at_that_size_with_least_room_first(self):
        # all empty, 8 of 2Q fit on the T4 and on each A16 core: ties go by core id
        self.assertEqual(self.acquire('2Q', 'test:a')[2:], (T4, 'nvidia-231'))
        self.assertEqual(self.acquire('2Q', 'test:b')[2:], (T4, 'nvidia-231'))
        # 8Q: the T4 runs 2Q; the A16 cores are empty with room 2 each -> the first, its first VF
        self.assertEqual(self.acquire('A16-8Q', 'test:c')[2:], (vf(A16_CORES[0], 0), 'nvidia-714'))
        # the core already at 8Q with one left beats the empty ones
        self.assertEqual(self.acquire('8Q', 'test:d')[2:], (vf(A16_CORES[0], 1), 'nvidia-714'))
        # that core is full now: the next empty core
        self.assertEqual(self.acquire('8Q', 'test:e')[2:], (vf(A16_CORES[1], 0), 'nvidia-714'))
        # 1Q: the T4 (2Q) and cores 0, 1 (8Q) refuse by size; core 2 is the first empty one
        self.assertEqual(self.acquire('1Q', 'test:f')[2:], (vf(A16_CORES[2], 0), 'nvidia-711'))
        self.assertEqual(self.acquire('1Q', 'test:g')[2:], (vf(A16_CORES[2], 1), 'nvidia-711'))
        self.assertEqual(self.core_of(vf(A16_CORES[2], 1)), A16_CORES[2])

    def test_spread_takes_the_core_with_fewest_vgpus(self):
        self.assertEqual(self.acquire('2Q', 'test:a', policy='spread')[2], T4)
        got = [self.acquire('2Q', 'test:s%d' % i, policy='spread')[2] for i in range(4)]
        self.assertEqual(got, [vf(c, 0) for c in A16_CORES])
        # every core holds one now; equal room: the core id decides
        self.assertEqual(self.acquire('2Q', 'test:t', policy='spread')[2], T4)
        self.assertEqual(self.acquire('2Q', 'test:u', policy='spread')[2], vf(A16_CORES[0], 1))
        # pack, by contrast, stays on the fullest core at 2Q (the T4: 2 of 8)
        self.assertEqual(self.acquire('2Q', 'test:v')[2], T4)

    def test_restrictions(self):
        board = self.get_property('/org/vgpud1/gpu/' + path_encode(vf(A16_CORES[3], 0)), GPU, 'Board')
        self.assertEqual(self.acquire('2Q', 'test:board', board=board)[2], vf(A16_CORES[0], 0))
        self.assertEqual(self.acquire('2Q', 'test:numa1', numa_node=1)[2], vf(A16_CORES[0], 1))
        self.assertEqual(self.acquire('2Q', 'test:numa0', numa_node=0)[2], T4)
        # a PF address selects its VFs; a VF address only that VF
        self.assertEqual(self.acquire('2Q', 'test:pf', parent=A16_CORES[2])[2], vf(A16_CORES[2], 0))
        self.assertEqual(self.acquire('2Q', 'test:vf', parent=vf(A16_CORES[3], 5))[2], vf(A16_CORES[3], 5))
        self.assertEqual(self.acquire('mtty-1', 'test:mtty', parent='mtty')[2], 'mtty')

    def test_size_conflict_names_the_core_its_size_and_where_it_fits(self):
        self.acquire('T4-2Q', 'test:a')
        before = self.snapshot()
        msg = self.assertError(ERR + 'SizeConflict', self.acquire, '4Q', 'test:b', parent=T4)
        self.assertIn(T4, msg)
        self.assertIn('2048', msg)
        self.assertRegex(msg, r'0000:6[3-6]:00\.[0-9]')  # an A16 core (or its VF) would take it
        msg = self.assertError(ERR + 'SizeConflict', self.acquire, 'T4-4Q', 'test:b')
        self.assertIn(T4, msg)
        self.assertIn('2048', msg)
        self.assertEqual(self.snapshot(), before)
        # unrestricted, 4Q goes where it fits
        self.assertEqual(self.acquire('4Q', 'test:b')[2:], (vf(A16_CORES[0], 0), 'nvidia-713'))
        self.assertEqual(self.sim.emulator.refusals, [])

    def test_no_capacity(self):
        self.acquire('T4-16Q', 'test:a')
        before = self.snapshot()
        msg = self.assertError(ERR + 'NoCapacity', self.acquire, 'T4-16Q', 'test:b')
        self.assertIn('T4-16Q', msg)
        self.assertEqual(self.snapshot(), before)
        for i in range(12):  # mtty: 24 ports, 2 per mtty-2
            self.acquire('mtty-2', 'test:m%d' % i)
        self.assertError(ERR + 'NoCapacity', self.acquire, 'mtty-1', 'test:m')
        self.assertEqual(self.sim.emulator.refusals, [])

    def test_dry_run_touches_nothing(self):
        before = self.snapshot()
        leases_before = self.leases_bytes()
        uuid, path, parent, type_id = self.acquire('2Q', 'test:dry', dry_run=True, persist=True, vm_uuid=V1)
        self.assertEqual(path, '/')
        self.assertEqual((parent, type_id), (T4, 'nvidia-231'))
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.leases_bytes(), leases_before)
        self.assertEqual(self.orphans(), [])
        # the real one does what the dry run said
        self.assertEqual(self.acquire('2Q', 'test:dry', persist=True, vm_uuid=V1), (uuid, device_path(uuid),
                                                                                   T4, 'nvidia-231'))
        # a dry run of a held slot names the held device
        self.assertEqual(self.acquire('2Q', 'test:dry', dry_run=True)[0], uuid)


class TestLeases(AcquireTestCase):

    def test_idempotent_and_exists(self):
        u, path, parent, t = self.acquire('T4-2Q', 'test:vm')
        self.assertEqual(self.acquire('T4-2Q', 'test:vm'), (u, path, parent, t))
        self.assertEqual(self.acquire('T4-2Q', 'test:vm', slot=0), (u, path, parent, t))
        self.assertEqual(self.running(), {u})
        before = self.snapshot()
        msg = self.assertError(ERR + 'Exists', self.acquire, 'A16-2Q', 'test:vm')
        self.assertTrue('test:vm' in msg or u in msg, msg)
        # another owner asking for that UUID
        self.assertError(ERR + 'Exists', self.acquire, 'T4-2Q', 'test:other', uuid=u)
        self.assertEqual(self.snapshot(), before)
        # another slot is another device
        u1 = self.acquire('T4-2Q', 'test:vm', slot=1)[0]
        self.assertNotEqual(u1, u)
        self.assertEqual(sorted((lease[1], lease[2]) for lease in self.leases()), [('test:vm', 0), ('test:vm', 1)])

    def test_explicit_uuid(self):
        u = self.acquire('2Q', 'test:a', uuid=U9.upper())[0]
        self.assertEqual(u, U9)
        self.assertIn(U9, self.running())
        # a running device nobody leases cannot be taken over
        self.start(T4, U1, dfn('nvidia-231'))
        self.assertError(ERR + 'Exists', self.acquire, '2Q', 'test:b', uuid=U1)

    def test_vm_uuid_derivation_is_stable_across_restarts(self):
        u0 = self.acquire('T4-2Q', 'test:vm', vm_uuid=V1)[0]
        u1 = self.acquire('T4-2Q', 'test:vm', vm_uuid=V1, slot=1)[0]
        for u in (u0, u1):
            self.assertRegex(u, UUID_RE)
            self.assertEqual(u[14], '5', u)  # name-based, SHA-1
            self.assertIn(u[19], '89ab', u)
        self.assertNotEqual(u0, u1)
        self.assertNotIn(u0, (V1, V2))
        self.assertEqual(self.release('test:vm'), sorted([u0, u1]))
        self.restart_vgpud()
        self.assertEqual(self.acquire('T4-2Q', 'test:vm2', vm_uuid=V1, slot=1)[0], u1)
        self.assertEqual(self.acquire('T4-2Q', 'test:vm2', vm_uuid=V1)[0], u0)
        self.assertNotIn(self.acquire('T4-2Q', 'test:vm3', vm_uuid=V2)[0], (u0, u1))

    def test_persist_defines_and_release_undefines(self):
        u, _, parent, t = self.acquire('T4-2Q', 'test:p', persist=True)
        defs = self.definitions()
        self.assertIn((parent, u), defs)
        self.assertEqual(defs[(parent, u)][2:4], (t, 'auto'))
        with open(self.def_file(parent, u)) as f:
            self.assertIn('"auto"', f.read())
        lease = self.lease_of(u)
        self.assertEqual(lease[:5], (u, 'test:p', 0, parent, t))
        self.assertEqual(lease[6:], (True, True))
        self.assertEqual(self.orphans(), [])
        # not persisted: no definition
        u2 = self.acquire('T4-2Q', 'test:q')[0]
        self.assertEqual(self.lease_of(u2)[6:], (False, True))
        self.assertNotIn((T4, u2), self.definitions())

        self.assertEqual(self.release(u), [u])
        self.assertNotIn(u, self.running())
        self.assertNotIn((parent, u), self.definitions())
        self.assertFalse(os.path.exists(self.def_file(parent, u)))
        self.assertIsNone(self.lease_of(u))

    def test_persisted_lease_survives_its_device(self):
        u = self.acquire('T4-2Q', 'test:p', persist=True)[0]
        # the device goes away behind the daemon's back: the defined lease stays
        self.sim.emulator.remove(u)
        self.assertTrue(self.wait_for(lambda s: self.lease_of(u) is not None and not self.lease_of(u)[7]))
        self.assertEqual(self.lease_of(u)[1:3] + self.lease_of(u)[6:], ('test:p', 0, True, False))
        # Acquire starts it again from its definition
        self.assertEqual(self.acquire('T4-2Q', 'test:p', persist=True)[0], u)
        self.assertIn(u, self.running())
        self.assertEqual(self.lease_of(u)[6:], (True, True))

        # across a restart: the undefined lease whose device is gone is dropped, the defined one
        # kept (and its device autostarted: the definition says "auto")
        u2 = self.acquire('T4-2Q', 'test:q')[0]
        self.assertEqual(self.stop_vgpud(), 0)
        self.sim.emulator.remove(u)
        self.sim.emulator.remove(u2)
        self.start_vgpud()
        leases, running = self.settle()
        self.assertEqual([(x[0], x[1], x[6]) for x in leases], [(u, 'test:p', True)])
        self.assertEqual(running, {u} if leases[0][7] else set())
        self.assertEqual(self.acquire('T4-2Q', 'test:p', persist=True)[0], u)
        self.assertEqual(self.running(), {u})

    def test_release_by_uuid_owner_and_slot(self):
        a0 = self.acquire('2Q', 'test:a')[0]
        a1 = self.acquire('2Q', 'test:a', slot=1)[0]
        a2 = self.acquire('2Q', 'test:a', slot=2)[0]
        b0 = self.acquire('2Q', 'test:b')[0]
        self.assertEqual(self.release('test:a', slot=1), [a1])
        self.assertEqual(self.running(), {a0, a2, b0})
        self.assertEqual(self.release(b0), [b0])
        self.assertEqual(self.release(a0), [a0])
        self.assertEqual(self.release('test:a'), [a2])
        self.assertEqual(self.running(), set())
        self.assertEqual(self.leases(), [])
        self.assertError(ERR + 'NotFound', self.release, 'test:a')
        self.assertError(ERR + 'NotFound', self.release, 'test:nobody')
        self.assertError(ERR + 'NotFound', self.release, U9)
        self.acquire('2Q', 'test:c')
        self.assertError(ERR + 'NotFound', self.release, 'test:c', slot=3)
        # a device Start made is no lease
        self.start(T4, U1, dfn('nvidia-231'))
        self.assertError(ERR + 'NotFound', self.release, U1)
        self.assertIn(U1, self.running())

    def test_busy_while_the_vfio_group_is_open(self):
        # each create and remove waits for the emulator, however loaded the machine (PATIENT_MS)
        u = self.acquire('T4-2Q', 'test:vm', timeout_ms=PATIENT_MS)[0]
        holder = self.hold_group(u)
        msg = self.assertError(ERR + 'Busy', self.release, 'test:vm')
        self.assertIn(u, self.running())
        self.assertEqual(self.lease_of(u)[1], 'test:vm')
        self.assertTrue(u in msg or str(self.sim.emulator.iommu_group(u)) in msg, msg)
        self.assertError(ERR + 'Busy', self.release, u)
        # closed again: free to go
        holder.kill()
        holder.wait()
        u2 = self.acquire('T4-2Q', 'test:vm2', timeout_ms=PATIENT_MS)[0]
        self.assertEqual(self.release(u, timeout_ms=PATIENT_MS), [u])
        # force goes on while it is held
        self.hold_group(u2)
        self.assertError(ERR + 'Busy', self.release, 'test:vm2')
        self.assertEqual(self.release('test:vm2', force=True, timeout_ms=PATIENT_MS), [u2])
        self.assertEqual(self.running(), set())
        self.assertEqual(self.leases(), [])

    def test_releases_together_while_one_device_is_held(self):
        # as when many VMs stop at once: the Releases' Busy checks share passes over /proc, and
        # only the device whose group a process holds is Busy
        n = 12
        uuids = [self.acquire('1Q', 'test:many%02d' % i, timeout_ms=PATIENT_MS)[0] for i in range(n)]
        held = uuids[5]
        self.hold_group(held)
        results = {}
        for i in range(n):
            self.call_async('Release', '(sa{sv})', ('test:many%02d' % i, options(timeout_ms=PATIENT_MS)),
                            results, i)
        self.wait_results(results, n)
        for i, u in enumerate(uuids):
            if u == held:
                self.assertEqual(results[i][:2], ('error', ERR + 'Busy'), results[i])
                self.assertIn(u, results[i][2])
            else:
                self.assertEqual(results[i], ('ok', ([u],)))
        self.assertEqual(self.running(), {held})
        self.assertEqual([x[0] for x in self.leases()], [held])

    def test_a_group_opened_between_two_releases(self):
        # the second Release is asked after the group was opened: whether or not it shares the
        # first one's pass over /proc, it is answered by a pass that sees the holder
        a = self.acquire('1Q', 'test:first', timeout_ms=PATIENT_MS)[0]
        b = self.acquire('1Q', 'test:second', timeout_ms=PATIENT_MS)[0]
        results = {}
        self.call_async('Release', '(sa{sv})', ('test:first', options(timeout_ms=PATIENT_MS)), results, 0)
        self.hold_group(b)
        self.call_async('Release', '(sa{sv})', ('test:second', options(timeout_ms=PATIENT_MS)), results, 1)
        self.wait_results(results, 2)
        self.assertEqual(results[0], ('ok', ([a],)))
        self.assertEqual(results[1][:2], ('error', ERR + 'Busy'), results[1])
        self.assertIn(b, results[1][2])
        self.assertEqual(self.running(), {b})

    def test_owner_slot_properties_and_signals(self):
        self.recorder.clear()
        u, path, parent, t = self.acquire('T4-2Q', 'test:sig', slot=3)
        self.assertTrue(self.wait_for(lambda s: ('Acquired', '/org/vgpud1', (u, 'test:sig', 3)) in s))
        props = self.get_all_properties(path, DEVICE)
        self.assertEqual((props['Owner'], props['Slot'], props['Parent'], props['TypeId']), ('test:sig', 3, parent, t))
        # the same slot again: no new lease, no signal
        self.recorder.clear()
        self.acquire('T4-2Q', 'test:sig', slot=3)
        self.wait_for(lambda s: False, timeout=0.2)
        self.assertEqual(self.recorder.of('Acquired'), [])
        # a device nobody holds
        _, path1 = self.start(T4, U1, dfn('nvidia-231'))
        props = self.get_all_properties(path1, DEVICE)
        self.assertEqual((props['Owner'], props['Slot']), ('', 0))
        self.recorder.clear()
        self.assertEqual(self.release('test:sig'), [u])
        self.assertTrue(self.wait_for(lambda s: ('Released', '/org/vgpud1', (u, 'test:sig', 3)) in s))
        self.assertTrue(self.wait_for(lambda s: path in [a[0] for m, p, a in s if m == 'InterfacesRemoved']))

    def test_list_leases(self):
        t0 = int(time.time() * 1e6)
        b = self.acquire('2Q', 'test:b', slot=1)[0]
        a1 = self.acquire('4Q', 'test:a', slot=1, persist=True)[0]
        a0 = self.acquire('mtty-1', 'test:a')[0]
        t1 = int(time.time() * 1e6)
        leases = self.leases()
        self.assertEqual([(x[1], x[2], x[0]) for x in leases], [('test:a', 0, a0), ('test:a', 1, a1), ('test:b', 1, b)])
        by = {x[0]: x for x in leases}
        self.assertEqual(by[a0][3:5], ('mtty', 'mtty-1'))
        self.assertEqual(by[a1][4], 'nvidia-713')
        self.assertEqual(self.core_of(by[a1][3]), A16_CORES[0])
        self.assertEqual(by[b][3:5], (T4, 'nvidia-231'))
        for x in leases:
            self.assertTrue(t0 - 1e6 <= x[5] <= t1 + 1e6, x)
        self.assertEqual([(x[6], x[7]) for x in leases], [(False, True), (True, True), (False, True)])
        # the leases file is a key file
        self.load_leases_file()
        # and after a restart it is the same list
        self.restart_vgpud()
        self.assertEqual(self.leases(), leases)
        self.assertEqual(self.orphans(), [])
        self.assertEqual(self.get_property(device_path(a1), DEVICE, 'Owner'), 'test:a')
        self.assertEqual(self.get_property(device_path(a1), DEVICE, 'Slot'), 1)


class TestPlan(AcquireTestCase):

    def test_figures_on_the_default_host(self):
        classes, cores, nxt = self.plan()
        # 2 GiB: 8 on the T4 + 8 on each A16 core; 1 GiB: 16 + 4 x 16
        self.assertEqual(classes[2048], (0, 40))
        self.assertEqual(classes[1024], (0, 80))
        self.assertEqual(classes[16384], (0, 5))
        self.assertEqual(sorted(cores), sorted([T4, GVT, 'mtty'] + A16_CORES))
        self.assertEqual(list(cores), sorted(cores))
        self.assertFalse(nxt[0])
        t4 = cores[T4]
        self.assertEqual((t4[3], t4[4], t4[5], t4[6]), (0, 0, False, 0))
        self.assertEqual({x[0]: x[3] for x in t4[8]}['nvidia-231'], 8)
        boards = {cores[c][1] for c in A16_CORES}
        self.assertEqual(len(boards), 1)
        self.assertNotIn(A16_CORES[0], boards)
        self.assertEqual({cores[c][3] for c in A16_CORES}, {1})

        self.acquire('T4-2Q', 'test:a')
        classes, cores, _ = self.plan()
        self.assertEqual(classes[2048], (7, 39))
        self.assertEqual(classes[1024], (0, 64))
        t4 = cores[T4]
        self.assertEqual((t4[4], t4[5], t4[6], t4[7]), (2048, False, 1, 8))
        more = {x[0]: x for x in t4[8]}
        self.assertEqual(more['nvidia-231'][1:], ('GRID T4-2Q', 2048, 7))
        self.assertEqual(more['nvidia-232'][3], 0)  # 4Q: another size
        self.assertEqual([x[0] for x in t4[8]], sorted(more))

    def test_next_agrees_with_acquire(self):
        for i, (profile, opts) in enumerate([('2Q', {}), ('2Q', {}), ('2Q', {'policy': 'spread'}),
                                             ('8Q', {}), ('8Q', {}), ('8Q', {'policy': 'spread'}),
                                             ('1Q', {'numa_node': 1}), ('mtty-2', {}),
                                             ('2Q', {'parent': A16_CORES[0]})]):
            classes, _, nxt = self.plan(profile, **opts)
            self.assertTrue(nxt[0], (profile, opts, nxt))
            before = self.running()
            uuid, _, parent, type_id = self.acquire(profile, 'test:%d' % i, **opts)
            self.assertEqual((nxt[1], nxt[2], nxt[4]), (parent, type_id, self.core_of(parent)), (profile, opts))
            self.assertEqual(self.running(), before | {uuid})
            self.assertEqual(self.sim.host.mdevs[uuid].mtype.name, nxt[3])

    def test_next_when_it_does_not_fit(self):
        self.acquire('T4-2Q', 'test:a')
        before = self.snapshot()
        nxt = self.plan('T4-4Q')[2]
        self.assertFalse(nxt[0])
        self.assertEqual(nxt[5], ERR + 'SizeConflict')
        self.assertIn(T4, nxt[6])
        self.assertEqual(self.plan('T4-16Q', parent=T4)[2][5], ERR + 'SizeConflict')
        for i in range(7):
            self.acquire('T4-2Q', 'test:f%d' % i)
        nxt = self.plan('T4-2Q')[2]
        self.assertEqual((nxt[0], nxt[5]), (False, ERR + 'NoCapacity'))
        try:  # "the reason" in next, or the call fails: either way NotFound
            nxt = self.plan('Z9-7Q')[2]
            self.assertEqual((nxt[0], nxt[5]), (False, ERR + 'NotFound'))
        except GLib.Error as e:
            self.assertEqual(error_of(e)[0], ERR + 'NotFound')
        classes = self.plan()[0]
        self.assertEqual(classes[2048], (0, 32))
        self.assertEqual(self.snapshot()[3], before[3] + 7 * 2)  # add + bind per acquire, nothing for Plan


class TestConcurrentAcquire(AcquireTestCase):

    def test_64_owners_for_8_slots(self):
        self.storm_64_owners_for_8('test:vm')

    def test_64_owners_for_8_slots_while_the_kernel_is_silent(self):
        """All 64 answered before the kernel has sent a uevent (a create is complete when its write
        returns): 8 devices made and leased, 56 NoCapacity; the late uevents change nothing."""
        emu = self.sim.emulator
        results = {}
        with emu.uevents_held() as held:
            for i in range(64):
                self.call_async('Acquire', '(ssa{sv})', ('T4-2Q', 'test:silent%02d' % i, {}), results, i)
            self.wait_results(results, 64)
            self.assertEqual(sorted(r[1] for r in results.values() if r[0] != 'ok'), [ERR + 'NoCapacity'] * 56)
            self.assertEqual(len(self.sim.host.mdevs), 8)
            self.assertEqual(len([e for e in held if dict(e)['ACTION'] == 'add']), 8)  # really silent
        ok = {i: r[1] for i, r in results.items() if r[0] == 'ok'}
        self.assertEqual(len(ok), 8, results)
        self.assertEqual(self.running(), {r[0] for r in ok.values()})
        self.assertEqual(sorted((x[1], x[0]) for x in self.leases()),
                         sorted(('test:silent%02d' % i, r[0]) for i, r in ok.items()))
        self.assertEqual(emu.refusals, [])

    def test_64_owners_for_8_slots_while_each_create_is_slow(self):
        """Each driver's create takes a while inside its write, after the device's uevents went out
        (vgpud hears of the device before its write returns): still 8 devices made and leased, each
        once, and 56 NoCapacity, none of them refused while a create was still in flight."""
        emu = self.sim.emulator
        emu.create_delay = 0.05
        uuids = {r[0] for r in self.storm_64_owners_for_8('test:slow').values()}
        self.assertEqual(len([e for e in emu.events if e[0] == 'add' and e[1].rsplit('/', 1)[-1] in uuids]), 8)

    def test_64_calls_of_one_owner_and_slot(self):
        results = {}
        for i in range(64):
            self.call_async('Acquire', '(ssa{sv})', ('2Q', 'test:one', options(slot=2)), results, i)
        self.wait_results(results, 64)
        self.assertEqual({r[0] for r in results.values()}, {'ok'}, results)
        replies = {r[1] for r in results.values()}
        self.assertEqual(len(replies), 1, replies)
        self.assertEqual(self.running(), {replies.pop()[0]})
        self.assertEqual(len(self.leases()), 1)

    def test_kill_9_during_an_acquire_storm(self):
        results = {}
        n = 0
        acquire_of = {}  # owner -> the call number of its Acquire
        release_of = {}  # the call number of a Release -> the call number of the Acquire it releases
        for i in range(60):
            opts = options(persist=(i % 3 == 0), slot=i % 2)
            self.call_async('Acquire', '(ssa{sv})', ('1Q', 'test:storm%02d' % i, opts), results, n)
            acquire_of[i] = n
            n += 1
            if i % 5 == 4:
                self.call_async('Release', '(sa{sv})', ('test:storm%02d' % (i - 2), {}), results, n)
                release_of[n] = acquire_of[i - 2]
                n += 1
        ctx = GLib.MainContext.default()
        deadline = time.monotonic() + 30
        while len(results) < n // 3 and time.monotonic() < deadline:
            ctx.iteration(True)
        self.daemon.send_signal(signal.SIGKILL)
        self.daemon.wait()
        self.daemon = None
        self.recorder.close()
        self.recorder = None
        self.assertLess(len(results), n, 'the storm was over before the kill: nothing was tested')
        answered = {r[1][0] for r in results.values() if r[0] == 'ok' and len(r[1]) == 4}
        released = {u for r in results.values() if r[0] == 'ok' and len(r[1]) == 1 for u in r[1][0]}
        # a Release the kill interrupted may have removed the device: its lease then goes at the start
        releasing = {results[a][1][0] for k, a in release_of.items()
                     if k not in results and a in results and results[a][0] == 'ok'}
        if os.path.exists(self.leases_file()):
            self.load_leases_file()  # written crash-safely: never half a file

        self.start_vgpud()
        self.load_leases_file()
        leases, running = self.settle()
        leased = {x[0] for x in leases}
        defined = {d[1] for d in self.definitions().values()}
        orphans = set(self.orphans())
        self.assertEqual(self.listed_devices(), running)
        for u in running:
            self.assertTrue(u in leased or u in defined or u in orphans, u)
        # an Acquire that was answered holds its lease unless it was released since, or its Release
        # was under way (then it holds the lease with its device, or neither)
        self.assertEqual(answered - released - releasing - leased, set())
        for u in releasing - leased:
            self.assertNotIn(u, running)
        self.assertEqual(released & leased, set())
        self.assertEqual(len(leased), len(leases))
        self.assertEqual(len({(x[1], x[2]) for x in leases}), len(leases))
        for x in leases:
            self.assertTrue(x[7] or x[6], x)  # a lease without a definition has its device
            self.assertEqual(x[7], x[0] in running, x)
        self.assertFalse(orphans & leased)
        # and it goes on working
        u = self.acquire('1Q', 'test:after')[0]
        self.assertIn(u, self.running())
        for owner in sorted({x[1] for x in leases}):
            self.release(owner)
        self.assertEqual(self.release('test:after'), [u])
        self.assertEqual(self.leases(), [])
        self.assertEqual(self.running() & leased, set())
        self.assertTrue(orphans <= self.running())
        self.load_leases_file()


class TestSharedLeaseBatches(AcquireTestCase):
    """An Acquire gives up the engine's turn while its lease is made durable (its placement is a
    reservation the next decision counts): the leases of concurrent Acquires share the flusher's
    batches. Each batch's fsync of the intent log is slowed (VGPUD_TEST_SLOW_AT) so that they would,
    and vgpud -v logs each batch."""

    def env(self):
        env = super().env()
        env['VGPUD_TEST_SLOW_AT'] = 'fsync-intent-log:300'
        return env

    def test_8_acquires_share_their_lease_batches(self):
        self.stop_vgpud()
        self.start_vgpud(['-v'])
        results = {}
        for i in range(8):
            self.call_async('Acquire', '(ssa{sv})', ('T4-2Q', 'test:batch%d' % i, {}), results, i)
        self.wait_results(results, 8)
        self.assertEqual({r[0] for r in results.values()}, {'ok'}, results)
        uuids = {r[1][0] for r in results.values()}
        self.assertEqual(len(uuids), 8)
        self.assertEqual(self.running(), uuids)
        self.assertEqual({x[0] for x in self.leases()}, uuids)
        batches = [line for line in self.daemon_log().splitlines()
                   if 'Durable: ' in line and 'leases' in line]
        self.assertGreater(len(batches), 0, 'vgpud -v logs no batch: nothing was counted')
        # keeping the turn until its lease is durable gives one batch per Acquire
        self.assertLess(len(batches), 8, batches)
        self.assertEqual(self.sim.emulator.refusals, [])

    def test_64_owners_for_8_slots_decided_before_their_leases_are_durable(self):
        """The 8 rooms are handed out while the first leases are still being made durable (nothing is
        written to create yet): the other 56 are NoCapacity by the decided creations alone, before they
        write a lease (placed on a room already decided, they would fail only at the create, a lease
        written and taken back)."""
        self.stop_vgpud()
        self.start_vgpud(['-v'])
        self.storm_64_owners_for_8('test:slow')
        # vgpud -v: "Durable: N changes in one batch (leases, leases, ...)"
        lease_saves = sum(line[line.index('(') + 1:line.rindex(')')].split(', ').count('leases')
                          for line in self.daemon_log().splitlines() if 'Durable: ' in line)
        self.assertEqual(lease_saves, 8)


class TestStateAndOrphans(AcquireTestCase):

    def test_corrupt_leases_file(self):
        u = self.acquire('T4-2Q', 'test:a')[0]
        p = self.acquire('T4-2Q', 'test:p', persist=True)[0]
        self.assertEqual(self.stop_vgpud(), 0)
        garbage = b'[lease \x01\n= no key\n\xff\xfe'
        with open(self.leases_file(), 'wb') as f:
            f.write(garbage)
        self.start_vgpud()
        warnings = self.get_property('/org/vgpud1', MANAGER, 'Warnings')
        self.assertTrue([w for w in warnings if 'leases' in w], warnings)
        kept = []
        for name in os.listdir(self.state_dir):
            with open(os.path.join(self.state_dir, name), 'rb') as f:
                if f.read() == garbage:
                    kept.append(name)
        self.assertTrue([k for k in kept if k != 'leases'], os.listdir(self.state_dir))
        self.assertEqual(self.leases(), [])
        # the device Acquire defined is accounted for by its definition; the other is an orphan
        self.assertEqual(self.orphans(), [u])
        self.assertEqual(self.get_property(device_path(u), DEVICE, 'Owner'), '')
        self.assertEqual(self.running(), {u, p})
        # and leases work again
        u2 = self.acquire('T4-2Q', 'test:b')[0]
        self.load_leases_file()
        self.assertEqual(self.release('test:b'), [u2])

    def test_device_behind_the_daemons_back_is_an_orphan(self):
        self.assertEqual(self.orphans(), [])
        self.recorder.clear()
        self.assertTrue(self.sim.emulator.create(T4, 'nvidia-231', U9))
        self.assertTrue(self.wait_for(
            lambda s: [a for m, p, a in s if m == 'PropertiesChanged' and p == '/org/vgpud1'
                       and 'Orphans' in a[1] and U9 in a[1]['Orphans']]))
        self.assertEqual(self.orphans(), [U9])
        self.assertError(ERR + 'NotFound', self.release, U9)
        # it counts against capacity: the T4 runs 2Q now
        self.assertError(ERR + 'SizeConflict', self.acquire, 'T4-4Q', 'test:a')
        # defining it accounts for it
        self.define('', U9)
        self.assertTrue(self.wait_for(lambda s: self.orphans() == []))
        # and the daemon never removes an orphan on its own, across a restart too
        self.assertTrue(self.sim.emulator.create(T4, 'nvidia-231', U1))
        self.restart_vgpud()
        self.assertEqual(self.orphans(), [U1])
        self.assertEqual(self.running(), {U1, U9})

    def test_adopted_after_restart(self):
        u = self.acquire('2Q', 'test:a', slot=4)[0]
        self.restart_vgpud()
        self.assertEqual(self.orphans(), [])
        self.assertEqual(self.get_property(device_path(u), DEVICE, 'Owner'), 'test:a')
        self.assertEqual(self.get_property(device_path(u), DEVICE, 'Slot'), 4)
        self.assertEqual(self.acquire('2Q', 'test:a', slot=4)[0], u)
        self.assertEqual(self.release('test:a'), [u])


if __name__ == '__main__':
    unittest.main()
