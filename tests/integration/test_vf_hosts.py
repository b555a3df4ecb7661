# SPDX-License-Identifier: LGPL-2.1-or-later
"""Issue 9's "Done when" on the simulated NVIDIA vGPU 17+ hosts (tests/sim: `vf`, `vf-off`), beside
test_vf.py's per-feature tests: types and mdevctl's unchanged view, a derived UUID stable across
restarts, status and plan, acquire by every profile form (id, full name, short name, size) on both
GPU models, SizeConflict and Busy on the Acquire/Release path, 64 Acquires where the VF count is the
limit (32 VFs, one each), two sizes racing for one GPU, a reboot that keeps leases and owners,
SR-IOV enabled at startup with sriov-manage and with sriov_numvfs, and mixed-size mode through NVML
([NvidiaVF] MixedSize: two sizes on one GPU, again after a reboot; without NVML a warning).

The truth about the hardware is the simulator's model (emulator.host.vf_gpus): which VF holds which
type id; every write the daemon made and what the driver answered is in emulator.vf.writes."""

import os
import time

from test_acquire import AcquireTestCase
from test_lifecycle import ERR, device_path, dfn

import hosts  # noqa: E402  (tests/sim, on the path through vgpudtest)

DEVICE = 'org.vgpud1.Device'
GPU = 'org.vgpud1.Gpu'
MANAGER = 'org.vgpud1.Manager'
L40S = hosts.L40S
RTX = hosts.RTX6000
T4 = '0000:41:00.0'
L40S_4Q, L40S_2Q, L40S_1Q = 1150, 1148, 1147


def vf_addrs(pf):
    b = next(b for b in hosts.nvidia_vf.boards().values()
             if (b.name == 'NVIDIA L40S') == (pf == L40S))
    return [hosts.vf_addr(pf, b.vf_offset, b.vf_stride, i) for i in range(b.total_vfs)]


L40S_VFS = vf_addrs(L40S)
RTX_VFS = vf_addrs(RTX)


class VfTestCase(AcquireTestCase):
    host = 'vf'

    def setUp(self):
        super().setUp()
        self.sim.emulator.vf.sriov_delay = 0.05

    # ------------------------------------------------------------ the hardware
    def held(self, pf=None):
        """{VF address: type id} of every vGPU on the simulated VF GPUs (or one of them)."""
        with self.sim.emulator.lock:
            return {vf: g.vtype.type_id for p, gpu in self.sim.host.vf_gpus.items() if pf in (None, p)
                    for vf, g in gpu.vgpus.items()}

    def refused_writes(self):
        return [w for w in self.sim.emulator.vf.writes if w[2]]

    # ------------------------------------------------------------ the daemon's view
    def vf_devices(self):
        """{uuid: properties} of the daemon's Device objects with Backend nvidia-vf."""
        out = {}
        for path, ifaces in self.get_managed_objects().items():
            props = ifaces.get(DEVICE)
            if props and props.get('Backend') == 'nvidia-vf':
                out[props['Uuid']] = props
        return out

    def running(self):
        """UUIDs of the running vGPUs: the simulator's mdevs and the daemon's VF devices (a VF vGPU's
        UUID is vgpud's; check_vf_devices() holds the daemon to the hardware)."""
        return set(self.sim.host.mdevs) | set(self.vf_devices())

    def check_vf_devices(self):
        """The daemon's VF devices are exactly the simulator's vGPUs: one per VF that holds one, at
        the type it holds. Returns their UUIDs."""
        devs = self.vf_devices()
        self.assertEqual({p['PciAddress']: p['TypeId'] for p in devs.values()},
                         {vf: 'nvidia-%d' % t for vf, t in self.held().items()})
        return set(devs)

    def tearDown(self):
        if self.daemon is not None and not self._test_failed():
            self.check_vf_devices()
        super().tearDown()

    def listed_devices(self):
        return {d[0] for d in self.manager('ListDevicesOf', '(s)', ('',))[0]}

    def vf_of(self, uuid):
        return self.get_property(device_path(uuid), DEVICE, 'PciAddress')


class TestVfInventory(VfTestCase):

    def test_gpus_and_types(self):
        objs = self.get_managed_objects()
        gpus = {props['Name']: props for ifaces in objs.values() for i, props in ifaces.items() if i == GPU}
        self.assertEqual(set(gpus), set(L40S_VFS) | set(RTX_VFS))
        for vf in L40S_VFS:
            self.assertEqual((gpus[vf]['Backend'], gpus[vf]['Core']), ('nvidia-vf', L40S))
        for vf in RTX_VFS:
            self.assertEqual((gpus[vf]['Backend'], gpus[vf]['Core']), ('nvidia-vf', RTX))
        parents = {p[0]: p for p in self.manager('ListTypesOf', '(s)', ('nvidia-vf',))[0]}
        self.assertEqual(set(parents), set(L40S_VFS) | set(RTX_VFS))
        types = {t[0]: t for t in parents[L40S_VFS[0]][2]}
        self.assertEqual(len(types), 23)
        self.assertIn('nvidia-1159', types)
        self.assertEqual(types['nvidia-1159'][1], 'NVIDIA L40S-48Q')
        self.assertEqual(types['nvidia-1159'][6], 48 * 1024)
        # mdevctl's view (ListTypes, what `vgpuctl types` prints as mdevctl): no mdev parent here
        self.assertEqual(self.manager('ListTypes', None, None)[0], [])
        for args in (['types'], ['list'], ['types', '--dumpjson'], ['list', '--dumpjson']):
            rc, out, err = self.run_vgpuctl(*args)
            self.assertEqual((rc, out), self.run_mdevctl(*args)[:2], (args, err))
        self.assertNotIn('L40S', self.run_vgpuctl('types')[1])
        self.assertError(ERR + 'InvalidArgument', self.manager, 'ListTypesOf', '(s)', ('nonsense',))

    def test_running_vgpu_found_and_derived_uuid_is_stable(self):
        self.sim.emulator.vf.write(self.sim.host.vf_gpus[L40S].vfs[3].path + '/nvidia/current_vgpu_type',
                                   '%d' % L40S_4Q)
        self.restart_vgpud()
        devs = self.vf_devices()
        self.assertEqual([p['PciAddress'] for p in devs.values()], [L40S_VFS[3]])
        (uuid, props), = devs.items()
        self.assertEqual(props['TypeId'], 'nvidia-%d' % L40S_4Q)
        group = os.path.basename(os.readlink(os.path.join(self.sim.sys_dir, 'bus/pci/devices', L40S_VFS[3],
                                                          'iommu_group')))
        self.assertEqual(props['VfioGroup'], group)
        self.restart_vgpud()
        self.assertEqual(list(self.vf_devices()), [uuid])

    def test_status_and_plan(self):
        rc, out, err = self.run_vgpuctl('status')
        self.assertEqual(rc, 0, err)
        self.assertIn(L40S, out)
        self.assertIn(RTX, out)
        classes, cores, nxt = self.plan('L40S-4Q')
        self.assertTrue(nxt[0], nxt)
        self.assertEqual(self.core_of(nxt[1]), L40S)
        self.assertIn(nxt[1], L40S_VFS)
        self.assertEqual(self.held(), {})  # Plan writes nothing
        rc, out, err = self.run_vgpuctl('plan', 'L40S-4Q')
        self.assertEqual(rc, 0, err)
        self.assertIn(L40S, out)


class TestVfAcquire(VfTestCase):

    def test_every_profile_form(self):
        seen = set()
        for n, profile in enumerate(['nvidia-1150', 'NVIDIA L40S-4Q', 'L40S-4Q', ' l40s-4q ', '4Q']):
            uuid, path, parent, type_id = self.acquire(profile, 'test:p%d' % n)
            self.assertEqual((path, type_id), (device_path(uuid), 'nvidia-1150'), profile)
            self.assertIn(parent, L40S_VFS, profile)
            self.assertNotIn(parent, seen)
            seen.add(parent)
            self.assertEqual(self.held()[parent], L40S_4Q)
            props = self.get_all_properties(path, DEVICE)
            self.assertEqual((props['Backend'], props['PciAddress'], props['Owner']),
                             ('nvidia-vf', parent, 'test:p%d' % n))
            self.assertIn(uuid, self.running())
        self.assertEqual(self.refused_writes(), [])
        # Blackwell by its own names
        uuid, _, parent, type_id = self.acquire('RTX Pro 6000 Blackwell DC-3Q', 'test:bw')
        self.assertEqual((type_id, self.held()[parent]), ('nvidia-1519', 1519))
        self.assertIn(parent, RTX_VFS)
        # release by owner, by UUID
        self.assertEqual(self.release('test:bw'), [uuid])
        self.assertNotIn(parent, self.held())
        u0 = self.lease_of_owner('test:p0')
        self.assertEqual(self.release(u0), [u0])
        self.assertEqual(len(self.held()), 4)

    def lease_of_owner(self, owner):
        return [x[0] for x in self.leases() if x[1] == owner][0]

    def test_size_conflict_before_any_write(self):
        self.acquire('L40S-4Q', 'test:a')
        writes = len(self.sim.emulator.vf.writes)
        msg = self.assertError(ERR + 'SizeConflict', self.acquire, 'L40S-2Q', 'test:b')
        self.assertIn(L40S, msg)
        self.assertEqual(len(self.sim.emulator.vf.writes), writes)
        self.assertEqual(self.refused_writes(), [])

    def test_busy_while_a_vm_holds_the_vf(self):
        uuid, _, vf, _ = self.acquire('L40S-8Q', 'test:vm')
        group = self.get_property(device_path(uuid), DEVICE, 'VfioGroup')
        with open(os.path.join(self.sim.root, 'dev', 'vfio', group), 'rb'):
            self.assertError(ERR + 'Busy', self.release, 'test:vm')
            self.assertEqual(self.held(), {vf: 1152})
        self.assertEqual(self.release('test:vm'), [uuid])
        self.assertEqual(self.held(), {})



class TestVfStorm(VfTestCase):

    def test_64_acquires_for_32_vfs(self):
        results = {}
        for i in range(64):
            self.call_async('Acquire', '(ssa{sv})', ('L40S-1Q', 'test:vm%02d' % i, {}), results, i)
        self.wait_results(results, 64, timeout=120)
        ok = {i: r[1] for i, r in results.items() if r[0] == 'ok'}
        errors = [r[1] for r in results.values() if r[0] == 'error']
        self.assertEqual(len(ok), 32, results)
        self.assertEqual(errors, [ERR + 'NoCapacity'] * 32)
        parents = [r[2] for r in ok.values()]
        self.assertEqual(sorted(parents), sorted(L40S_VFS))  # one per VF, never two
        self.assertEqual(self.held(), {vf: L40S_1Q for vf in L40S_VFS})
        self.assertEqual(self.refused_writes(), [])
        self.assertEqual(len(self.running()), 32)

    def test_two_sizes_race_for_one_gpu(self):
        results = {}
        for i in range(64):
            profile = 'L40S-4Q' if i % 2 else 'L40S-2Q'
            self.call_async('Acquire', '(ssa{sv})', (profile, 'test:vm%02d' % i, {}), results, i)
        self.wait_results(results, 64, timeout=120)
        ok = [r[1] for r in results.values() if r[0] == 'ok']
        sizes = {t for t in self.held(L40S).values()}
        self.assertEqual(len(sizes), 1, self.held())
        winner = sizes.pop()
        self.assertEqual(len(ok), {L40S_4Q: 12, L40S_2Q: 24}[winner])
        self.assertEqual({r[1] for r in results.values() if r[0] == 'error'} -
                         {ERR + 'NoCapacity', ERR + 'SizeConflict'}, set())
        self.assertEqual(self.refused_writes(), [])



class TestVfReboot(VfTestCase):
    """A reboot: the daemon stops, every VF goes (and with it every vGPU), the daemon starts, enables
    SR-IOV (the fake sriov-manage, which fails once) and brings back the defined and persistent
    vGPUs with their UUIDs and owners."""

    def test_reboot_restores_vgpus_uuids_and_owners(self):
        u_def = '3c4d5e6f-7081-4293-a4b5-c6d7e8f90a1b'
        self.define(L40S_VFS[7], u_def, dfn('nvidia-1150', 'auto'))
        self.start(L40S_VFS[7], u_def, '')
        kept = self.acquire('L40S-4Q', 'test:kept', persist=True)[0]
        gone = self.acquire('L40S-4Q', 'test:gone')[0]
        bw = self.acquire('RTX Pro 6000 Blackwell DC-8Q', 'test:bw', persist=True)[0]
        before = {u: self.vf_of(u) for u in (u_def, kept, bw)}
        self.assertEqual(self.stop_vgpud(), 0)

        self.sim.emulator.reboot()
        self.assertEqual(self.held(), {})
        self.sim.emulator.vf.sriov_fail_next(1)
        self.start_vgpud()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(self.held()) < 3:
            time.sleep(0.2)
        leases, running = self.settle()
        # sriov-manage enabled the VFs, after a retry: the first run failed ("unbindLock")
        calls = self.sim.emulator.vf.sriov_manage_calls
        self.assertGreaterEqual(len(calls), 2, calls)
        self.assertTrue(all(c[0] == '-e' for c in calls), calls)
        self.assertIn('unbindLock', self.daemon_log())
        for pf, vfs in ((L40S, 32), (RTX, 16)):
            with open(os.path.join(self.sim.sys_dir, 'bus/pci/devices', pf, 'sriov_numvfs')) as f:
                self.assertEqual(f.read(), '%d\n' % vfs)
        self.assertEqual(sorted(self.held().values()), sorted([L40S_4Q, L40S_4Q, 1522]))
        self.assertEqual(set(self.vf_devices()), {u_def, kept, bw})
        self.assertEqual(self.vf_of(u_def), before[u_def])  # a definition names its VF
        owners = {x[0]: x[1] for x in leases}
        self.assertEqual((owners.get(kept), owners.get(bw)), ('test:kept', 'test:bw'))
        self.assertNotIn(gone, owners)
        self.assertEqual(self.refused_writes(), [])


class TestVfDriverRebind(VfTestCase):
    """The nvidia driver bound to a GPU again while vgpud runs (a driver reload): its VFs went with
    the driver, and the PF's "bind" uevent makes vgpud enable them again (sriov.c), as at startup."""

    def rebind_and_wait(self):
        calls = len(self.sim.emulator.vf.sriov_manage_calls)
        self.assertTrue(self.sim.emulator.vf.driver_rebind(RTX))
        self.assertTrue(self.sim.emulator.wait_for(lambda: self.sim.host.vf_gpus[RTX].numvfs == 16, 60),
                        'the VFs were not enabled again')
        self.assertEqual(self.sim.emulator.vf.sriov_manage_calls[calls:], [['-e', RTX]])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(self.manager('ListTypesOf', '(s)', ('nvidia-vf',))[0]) == 48:
                break
            time.sleep(0.2)
        self.assertIn(self.acquire('RTX Pro 6000 Blackwell DC-8Q', 'test:after')[2], RTX_VFS)

    def test_vfs_enabled_again_after_the_driver_rebinds(self):
        self.rebind_and_wait()


class TestVfDriverRebindUeventsLost(TestVfDriverRebind):
    """The same with every uevent lost (VGPUD_TEST_FAIL_AT=uevent-receive:ENOBUFS): the PF's "bind"
    never reaches vgpud, which reads sysfs again and looks at every PCI device for VFs to enable."""

    def env(self):
        env = super().env()
        env['VGPUD_TEST_FAIL_AT'] = 'uevent-receive:ENOBUFS'
        return env

    def test_vfs_enabled_again_after_the_driver_rebinds(self):
        self.rebind_and_wait()
        self.assertIn('Uevents were lost', self.daemon_log())


class TestVfOff(VfTestCase):
    """A host right after boot: no VFs yet. The daemon enables SR-IOV by itself: with sriov-manage."""
    host = 'vf-off'

    def wait_numvfs(self):
        """Until both GPUs have their VFs and the daemon has taken them in (their add/bind uevents
        come after sriov-manage or the sriov_numvfs write returned, as on a real kernel)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.sim.host.vf_gpus[L40S].numvfs and self.sim.host.vf_gpus[RTX].numvfs:
                parents = self.manager('ListTypesOf', '(s)', ('nvidia-vf',))[0]
                if len(parents) == 48:
                    return
            time.sleep(0.2)
        self.fail('the VFs did not come up in the daemon within 60 s')

    def test_sriov_enabled_at_startup(self):
        self.wait_numvfs()
        self.assertEqual(sorted(c[1] for c in self.sim.emulator.vf.sriov_manage_calls), sorted([L40S, RTX]))
        self.assertEqual(self.sim.host.vf_gpus[L40S].numvfs, 32)
        self.assertEqual(self.sim.host.vf_gpus[RTX].numvfs, 16)
        uuid, _, parent, _ = self.acquire('L40S-4Q', 'test:a')
        self.assertIn(parent, L40S_VFS)


class TestVfOffNoSriovManage(TestVfOff):
    """Without sriov-manage vgpud writes sriov_numvfs (the kernel answers it synchronously)."""
    sriov_manage = None

    def test_sriov_enabled_at_startup(self):
        self.wait_numvfs()
        self.assertEqual(self.sim.emulator.vf.sriov_manage_calls, [])
        numvfs = [w for w in self.sim.emulator.vf.writes if w[0].endswith('/sriov_numvfs')]
        self.assertEqual(sorted(w[1].strip() for w in numvfs), ['16', '32'])
        self.assertEqual([w[2] for w in numvfs], [0, 0])
        self.assertIn(self.acquire('L40S-4Q', 'test:a')[2], L40S_VFS)


class TestMixedSize(VfTestCase):
    """vgpud.conf [NvidiaVF] MixedSize names the L40S: after SR-IOV enabling and before the first
    type write vgpud switches it to mixed-size mode through NVML; then two sizes share it. The
    RTX PRO 6000 stays in equal-size mode."""
    host = 'vf-off'
    nvml = True

    def setUp(self):
        self.start_daemon = False
        super().setUp()
        self.write_config('[NvidiaVF]\nMixedSize=%s\n' % L40S)
        self.start_vgpud()

    def wait_mixed(self):
        gpu = self.sim.host.vf_gpus[L40S]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (gpu.numvfs and gpu.mixed_size):
            time.sleep(0.2)
        self.assertTrue(gpu.mixed_size, 'vgpud did not switch the L40S to mixed-size mode')

    def test_two_sizes_on_one_gpu(self):
        self.wait_mixed()
        self.assertFalse(self.sim.host.vf_gpus[RTX].mixed_size)
        a = self.acquire('L40S-4Q', 'test:a')
        b = self.acquire('L40S-8Q', 'test:b')
        self.assertEqual(sorted(self.held(L40S).values()), [L40S_4Q, 1152])
        self.assertEqual(self.core_of(a[2]), self.core_of(b[2]))
        self.acquire('RTX Pro 6000 Blackwell DC-4Q', 'test:c')
        self.assertError(ERR + 'SizeConflict', self.acquire, 'RTX Pro 6000 Blackwell DC-8Q', 'test:d')
        self.assertEqual(self.refused_writes(), [])

    def test_mixed_size_again_after_a_reboot(self):
        self.wait_mixed()
        self.define(L40S_VFS[0], '4d5e6f70-8192-43a4-b5c6-d7e8f90a1b2c', dfn('nvidia-1150', 'auto'))
        self.define(L40S_VFS[1], '5e6f7081-92a3-44b5-86d7-e8f90a1b2c3d', dfn('nvidia-1152', 'auto'))
        self.assertEqual(self.stop_vgpud(), 0)
        self.sim.emulator.reboot()
        self.start_vgpud()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(self.held()) < 2:
            time.sleep(0.2)
        self.assertTrue(self.sim.host.vf_gpus[L40S].mixed_size)
        self.assertEqual(self.held(), {L40S_VFS[0]: L40S_4Q, L40S_VFS[1]: 1152})
        self.assertEqual(self.refused_writes(), [])


class TestMixedSizeWithoutNvml(TestMixedSize):
    """MixedSize asked for, but no libnvidia-ml.so.1: vgpud says so, and the GPU keeps one size."""
    nvml = False

    def test_two_sizes_on_one_gpu(self):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.sim.host.vf_gpus[L40S].numvfs:
            time.sleep(0.2)
        self.assertFalse(self.sim.host.vf_gpus[L40S].mixed_size)
        # a warning on the bus (Manager.Warnings) that names the GPU and the missing library
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            warned = [w for w in self.get_property('/org/vgpud1', MANAGER, 'Warnings')
                      if L40S in w and 'libnvidia-ml' in w]
            if warned:
                break
            time.sleep(0.2)
        self.assertTrue(warned, self.get_property('/org/vgpud1', MANAGER, 'Warnings'))
        self.acquire('L40S-4Q', 'test:a')
        self.assertError(ERR + 'SizeConflict', self.acquire, 'L40S-8Q', 'test:b')

    test_mixed_size_again_after_a_reboot = None  # the mode was never on: nothing to restore
