# SPDX-License-Identifier: LGPL-2.1-or-later
"""MIG-backed vGPU types on a simulated NVIDIA vGPU 17+ host: the RTX PRO 6000 Blackwell in VF mode with
MIG mode on (tests/sim: GPU instance profiles 1g.24gb / 2g.48gb / 4g.96gb, NVML profile ids 14 / 5 / 0,
four slices). vgpud knows which types are MIG-backed and their GPU instance profile, counts what the GPU
can still take from its GPU instances, creates a GPU instance through NVML when a vGPU finds none with
room, destroys it when the request fails or its last vGPU goes, reads back which GPU instance the driver
chose, and names MIG mode off, missing NVML and the driver's EIO."""

import errno
import json
import os

import vgpudtest
from test_lifecycle import U1, dfn
from test_vf import DEVICE, ERR, GPU, VfTestCase, devices, gpus

import hosts  # noqa: E402  (tests/sim, on the path through vgpudtest)

RTX = hosts.RTX6000
VF0, VF1 = '0000:81:00.2', '0000:81:00.3'
DC_1_12Q, DC_1_24Q, DC_2_48Q, DC_4_96Q = 'nvidia-1560', 'nvidia-1561', 'nvidia-1563', 'nvidia-1565'
BW = 'RTX Pro 6000 Blackwell DC-'  # the board of the type names: profile 'RTX Pro 6000 Blackwell DC-1-24Q'
PROFILES = {'nvidia-1560': 14, 'nvidia-1561': 14, 'nvidia-1562': 5, 'nvidia-1563': 5, 'nvidia-1564': 0,
            'nvidia-1565': 0}


class MigTestCase(VfTestCase):
    nvml = True

    def make_host(self):
        return hosts.rtx6000(mig=True)

    def gpu_instances(self):
        return self.sim.emulator.vf.gpu_instances(RTX)

    def room(self, type_id):
        """The GPU's count of a type: available_instances summed over its VFs."""
        return sum(t[4] for g in gpus(self.get_managed_objects()).values() for t in g['Types']
                   if t[0] == type_id)

    def writes(self):
        return len(self.sim.emulator.vf.writes)

    def plan(self, profile):
        """(the core's {type id: how many more fit}, next) of Manager.Plan."""
        _, cores, nxt = self.manager('Plan', '(sa{sv})', (profile, {}))
        core = {c[0]: c for c in cores}[RTX]
        return {t[0]: t[3] for t in core[8]}, nxt


class TestMigInventory(MigTestCase):
    def test_mig_backed_types_and_their_room(self):
        g = gpus(self.get_managed_objects())[VF0]
        self.assertEqual(dict(g['GpuInstanceProfiles']), PROFILES)
        self.assertIn(DC_1_24Q, {t[0] for t in g['Types']})
        self.assertEqual(self.gpu_instances(), [])  # none yet: the driver lists no MIG-backed type
        # four 1g.24gb GPU instances fit, each holds one 24 GB or two 12 GB vGPUs
        self.assertEqual((self.room(DC_1_24Q), self.room(DC_1_12Q), self.room(DC_2_48Q), self.room(DC_4_96Q)),
                         (4, 8, 2, 1))
        self.assertEqual(self.room('nvidia-1517'), 0)  # time-sliced: not in MIG mode
        room, nxt = self.plan(BW + '1-24Q')
        self.assertEqual((room[DC_1_24Q], room[DC_1_12Q], room[DC_4_96Q], room['nvidia-1517']), (4, 8, 1, 0))
        self.assertTrue(nxt[0], nxt)
        self.assertEqual(nxt[2], DC_1_24Q)

    def test_acquire_creates_the_gpu_instance_and_release_destroys_it(self):
        uuid, path, parent, type_id = self.acquire(BW + '1-24Q', 'vm:1')
        self.assertEqual(type_id, DC_1_24Q)
        self.assertEqual(self.vgpu_type(parent), 1561)
        self.assertEqual(self.gpu_instances(), [(3, '1g.24gb', [parent])])
        self.assertEqual(self.get_all_properties(path, DEVICE)['GpuInstanceId'], 3)
        self.assertEqual((self.room(DC_1_24Q), self.room(DC_4_96Q)), (3, 0))
        room, nxt = self.plan(BW + '4-96Q')
        self.assertEqual((room[DC_1_24Q], room[DC_4_96Q]), (3, 0))
        self.assertFalse(nxt[0], nxt)
        self.assertEqual(self.release('vm:1'), [uuid])
        self.assertEqual(self.gpu_instances(), [])
        self.assertEqual(self.room(DC_4_96Q), 1)

    def test_status_shows_the_gpu_instance(self):
        uuid, path, parent, _ = self.acquire(BW + '1-24Q', 'vm:1')
        self.assertEqual(self.get_all_properties(path, DEVICE)['GpuInstanceId'], 3)
        rc, out, err = self.run_vgpuctl('status')
        self.assertEqual(rc, 0, err)
        table = out[out.index('\nVGPU '):].strip().splitlines()
        head = table[0].split('  ')
        head = [h.strip() for h in head if h.strip()]
        self.assertEqual(head, ['VGPU', 'PARENT', 'TYPE', 'GPU INSTANCE', 'USED BY', 'PID', 'IDLE'])
        row = [r for r in table if r.startswith(uuid)]
        self.assertEqual(len(row), 1, out)
        self.assertEqual(row[0].split()[:4], [uuid, parent, DC_1_24Q, '3'])
        rc, out, err = self.run_vgpuctl('status', '--json')
        self.assertEqual(rc, 0, err)
        devs = {d['uuid']: d for core in json.loads(out) for d in core['devices']}
        self.assertEqual(devs[uuid]['gpu_instance_id'], 3)
        self.release('vm:1')

    def test_two_12gb_vgpus_share_one_gpu_instance(self):
        u1, _, p1, _ = self.acquire(BW + '1-12Q', 'vm:1')
        u2, _, p2, _ = self.acquire(BW + '1-12Q', 'vm:2')
        self.assertEqual(self.gpu_instances(), [(3, '1g.24gb', sorted([p1, p2]))])
        self.release('vm:1')
        self.assertEqual(self.gpu_instances(), [(3, '1g.24gb', [p2])])  # still holds a vGPU
        self.release('vm:2')
        self.assertEqual(self.gpu_instances(), [])

    def test_someone_elses_gpu_instance_is_used_and_kept(self):
        self.assertEqual(self.sim.emulator.vf.create_gpu_instance(RTX, '1g.24gb'), 3)
        uuid, path, parent, _ = self.acquire(BW + '1-24Q', 'vm:1')
        self.assertEqual(self.gpu_instances(), [(3, '1g.24gb', [parent])])  # no new one
        self.release('vm:1')
        self.assertEqual(self.gpu_instances(), [(3, '1g.24gb', [])])  # not vgpud's to destroy

    def test_start_and_stop_on_a_named_vf(self):
        uuid, path = self.start(VF1, U1, dfn(DC_2_48Q))
        self.assertEqual(self.gpu_instances(), [(3, '2g.48gb', [VF1])])
        self.assertEqual(self.get_all_properties(path, DEVICE)['GpuInstanceId'], 3)
        self.stop(U1)
        self.assertEqual(self.gpu_instances(), [])

    def test_no_room_for_another_gpu_instance_before_any_write(self):
        self.acquire(BW + '2-48Q', 'vm:1')
        self.acquire(BW + '1-24Q', 'vm:2')
        writes = self.writes()
        self.assertError(ERR + 'NoCapacity', self.acquire, BW + '4-96Q', 'vm:3')
        self.assertError(ERR + 'NoCapacity', self.start, VF1, '', dfn(DC_4_96Q))
        self.assertEqual(self.writes(), writes)
        self.assertEqual(len(self.gpu_instances()), 2)

    def test_driver_eio_is_named_and_leaves_nothing_behind(self):
        self.sim.emulator.vf.fail_next_create(errno.EIO)
        self.assertError(ERR + 'NoGpuInstance', self.acquire, BW + '1-24Q', 'vm:1')
        self.assertEqual(self.gpu_instances(), [])  # the one made for it is gone again
        self.assertEqual(self.manager('ListLeases', None, None)[0], [])
        self.assertEqual(devices(self.get_managed_objects()), {})
        self.acquire(BW + '1-24Q', 'vm:1')  # and the next one works
        self.assertEqual(len(self.gpu_instances()), 1)


class TestMigConcurrency(MigTestCase):
    def test_concurrent_acquires_never_share_or_overbook_gpu_instances(self):
        results = {}
        for i in range(12):
            self.call_async('Acquire', '(ssa{sv})', (BW + '1-24Q', 'vm:%d' % i, {}), results, i)
        self.wait_results(results, 12, timeout=300)
        ok = [r[1] for r in results.values() if r[0] == 'ok']
        refused = {r[1] for r in results.values() if r[0] == 'error'}
        self.assertEqual(len(ok), 4)  # four 1g.24gb GPU instances, one 24 GB vGPU each
        self.assertEqual(refused, {ERR + 'NoCapacity'})
        gis = self.gpu_instances()
        self.assertEqual(len(gis), 4)
        self.assertEqual(sorted(vf for _, _, vfs in gis for vf in vfs), sorted(r[2] for r in ok))
        self.assertTrue(all(len(vfs) == 1 for _, _, vfs in gis), gis)
        ids = {self.get_all_properties(r[1], DEVICE)['GpuInstanceId'] for r in ok}
        self.assertEqual(ids, {gi for gi, _, _ in gis})


class TestMigReboot(MigTestCase):
    def test_define_auto_and_reboot_recreate_the_gpu_instance(self):
        self.define(VF0, U1, dfn(DC_1_24Q, start='auto'))
        self.start(VF0, U1)
        self.assertEqual(self.gpu_instances(), [(3, '1g.24gb', [VF0])])
        self.stop_vgpud()
        self.sim.emulator.reboot()
        self.assertEqual(self.gpu_instances(), [])  # a reboot wipes them
        self.start_vgpud()
        emu = self.sim.emulator
        self.assertTrue(emu.wait_for(lambda: emu.vf.vgpu_type(VF0) == 1561, vgpudtest.WAIT_TIMEOUT))
        self.assertEqual(self.gpu_instances(), [(3, '1g.24gb', [VF0])])
        self.wait_for(lambda s: U1 in devices(self.get_managed_objects()), 10)
        self.assertEqual(devices(self.get_managed_objects())[U1]['GpuInstanceId'], 3)
        self.stop(U1)
        self.assertEqual(self.gpu_instances(), [])  # made again by vgpud after the reboot: its own


class TestMigModeOff(MigTestCase):
    def make_host(self):
        return hosts.rtx6000(mig=False)

    def test_named_before_any_write(self):
        g = gpus(self.get_managed_objects())[VF0]
        self.assertEqual(dict(g['GpuInstanceProfiles']), PROFILES)
        self.assertEqual(self.room(DC_1_24Q), 0)
        self.assertEqual(self.room('nvidia-1517'), 16)  # time-sliced types instead
        self.assertError(ERR + 'MigModeOff', self.acquire, BW + '1-24Q', 'vm:1')
        _, nxt = self.plan(BW + '1-24Q')
        self.assertEqual((nxt[0], nxt[5]), (False, ERR + 'MigModeOff'), nxt)
        self.assertError(ERR + 'MigModeOff', self.start, VF0, '', dfn(DC_1_24Q))
        self.assertEqual(self.writes(), 0)
        self.assertEqual(self.manager('ListLeases', None, None)[0], [])


class TestMigWithoutNvml(MigTestCase):
    nvml = False

    def test_existing_gpu_instance_is_used_and_a_new_one_is_named(self):
        # an admin made one 1g.24gb GPU instance: the driver lists its types, vgpud can use it
        self.assertEqual(self.sim.emulator.vf.create_gpu_instance(RTX, '1g.24gb'), 3)
        self.restart_vgpud()
        uuid, path = self.start(VF0, U1, dfn(DC_1_24Q))
        self.assertEqual(self.get_all_properties(path, DEVICE)['GpuInstanceId'], 3)
        writes = self.writes()
        # the GPU instance is full: another would need NVML
        self.assertError(ERR + 'NvmlUnavailable', self.start, VF1, '', dfn(DC_1_24Q))
        self.assertEqual(self.writes(), writes)
        self.assertEqual(self.gpu_instances(), [(3, '1g.24gb', [VF0])])


class TestMigCrashLeftover(MigTestCase):
    def vfs_identity(self):
        """What vgpud records with the GPU instances it makes: its PF's first VF directory's inode and
        change time (a rebind makes them anew)."""
        st = os.stat(os.path.join(self.sim.sys_dir, 'bus/pci/devices', RTX, 'virtfn0'))
        return '%d.%d.%d' % (st.st_ino, st.st_ctime_ns // 10**9, st.st_ctime_ns % 10**9)

    def test_an_empty_gpu_instance_vgpud_made_is_destroyed_at_start(self):
        # what a crash between making a GPU instance and writing its vGPU leaves behind
        self.stop_vgpud()
        self.assertEqual(self.sim.emulator.vf.create_gpu_instance(RTX, '1g.24gb'), 3)
        self.assertEqual(self.sim.emulator.vf.create_gpu_instance(RTX, '1g.24gb'), 4)
        with open(os.path.join(self.state_dir, 'nvidia-vf-gpu-instances.conf'), 'w') as f:
            f.write('[%s]\nvfs=%s\n3=14\n' % (RTX, self.vfs_identity()))  # vgpud's; 4 is someone else's
        self.start_vgpud()
        self.assertEqual(self.gpu_instances(), [(4, '1g.24gb', [])])

    def test_after_a_rebind_a_gpu_instance_of_the_same_id_is_not_vgpuds(self):
        uuid, _, parent, _ = self.acquire(BW + '1-24Q', 'vm:1')
        self.assertEqual(self.gpu_instances(), [(3, '1g.24gb', [parent])])
        self.stop_vgpud()
        emu = self.sim.emulator
        self.assertEqual(emu.vf.set_vgpu_type(parent, 0), 0)  # another tool removed the vGPU
        self.assertEqual(emu.vf.sriov_manage(['-e', RTX])[0], 0)  # the rebind wipes GPU instance 3
        self.assertEqual(self.gpu_instances(), [])
        self.assertEqual(emu.vf.create_gpu_instance(RTX, '1g.24gb'), 3)  # an admin's, with the same id
        self.start_vgpud()
        self.assertEqual(self.gpu_instances(), [(3, '1g.24gb', [])])  # kept: not the one vgpud made
        with open(os.path.join(self.state_dir, 'nvidia-vf-gpu-instances.conf')) as f:
            self.assertNotIn('3=', f.read())
