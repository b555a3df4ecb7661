# SPDX-License-Identifier: LGPL-2.1-or-later
"""vgpud on simulated NVIDIA vGPU 17+ hosts (tests/sim: the L40S and the RTX PRO 6000 in VF mode, and
the mixed host): VFs as Gpu objects of the nvidia-vf backend with their PF as core, the types the driver
narrows away still known, Start/Stop/Define and autostart through current_vgpu_type (no uevent), Acquire
and Release placing on VFs, Busy while a VF's VFIO group is open, vgpuctl's mdevctl view without the VFs
and its --vf view with them, and a reboot (VFs gone, enabled again with sriov-manage, the vGPUs back with
their UUIDs)."""

import json
import os
import re
import signal
import subprocess
import time

import vgpudtest
from gi.repository import GLib
from test_hooks import domain_xml
from test_lifecycle import PATIENT_MS, U1, U2, LifecycleTestCase, definition_path, device_path, dfn

import hosts  # noqa: E402  (tests/sim, on the path through vgpudtest)

MANAGER = 'org.vgpud1.Manager'
DEVICE = 'org.vgpud1.Device'
GPU = 'org.vgpud1.Gpu'
ERR = 'org.vgpud1.Error.'
L40S = hosts.L40S
VF0, VF1 = '0000:c1:00.4', '0000:c1:00.5'
L40S_2Q, L40S_1B = 'nvidia-1148', 'nvidia-1145'


def gpus(objects):
    return {p[GPU]['Name']: p[GPU] for p in objects.values() if GPU in p}


def devices(objects):
    return {p[DEVICE]['Uuid']: p[DEVICE] for p in objects.values() if DEVICE in p}


class VfTestCase(LifecycleTestCase):
    host = 'vf'

    def acquire(self, profile, owner, **opts):
        types = {'slot': 'u', 'uuid': 's', 'persist': 'b', 'parent': 's'}
        o = {k: GLib.Variant(types[k], v) for k, v in opts.items()}
        return self.manager('Acquire', '(ssa{sv})', (profile, owner, o))

    def release(self, what):
        return self.manager('Release', '(sa{sv})', (what, {}))[0]

    def vgpu_type(self, vf):
        return self.sim.emulator.vf.vgpu_type(vf)


class TestVfInventory(VfTestCase):
    def test_vfs_are_gpus_of_their_pf(self):
        g = gpus(self.get_managed_objects())
        vfs = {n: p for n, p in g.items() if p['Backend'] == 'nvidia-vf'}
        self.assertEqual(len(vfs), 32 + 16)
        self.assertNotIn(L40S, g)  # the PF carries no vGPU itself
        self.assertEqual(vfs[VF0]['Core'], L40S)
        names = {t[1] for t in vfs[VF0]['Types']}
        self.assertIn('NVIDIA L40S-2Q', names)
        self.assertIn('NVIDIA L40S-48Q', names)
        # an L40S is not in Debian 12's pci.ids: named after its types
        self.assertIn('L40S', vfs[VF0]['Model'])

    def test_narrowed_types_stay_known(self):
        self.start(VF0, U1, dfn(L40S_2Q))
        g = gpus(self.get_managed_objects())
        # VF0 lists nothing now, the others only the 2 GB types: the rest are there with 0 left
        types = {t[0]: t for t in g[VF1]['Types']}
        self.assertEqual(types[L40S_2Q][4], 1)
        self.assertEqual(types[L40S_1B][4], 0)
        self.assertEqual({t[0] for t in g[VF0]['Types']}, set(types))
        self.assertEqual(g[VF1]['SizeClass'], 2048)

    def test_mdevctl_view_has_no_vfs_and_vf_option_has_them(self):
        self.start(VF0, U1, dfn(L40S_2Q))
        rc, out, err = self.run_vgpuctl('types')
        self.assertEqual((rc, out.strip()), (0, ''), err)
        rc, out, err = self.run_vgpuctl('list')
        self.assertEqual((rc, out.strip()), (0, ''), err)
        rc, out, err = self.run_vgpuctl('list', '--vf')
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.strip(), '%s %s %s manual' % (U1, VF0, L40S_2Q))
        rc, out, err = self.run_vgpuctl('types', '--vf', '-p', VF1)
        self.assertEqual(rc, 0, err)
        self.assertIn('Name: NVIDIA L40S-2Q', out)
        rc, out, err = self.run_vgpuctl('list', '--help')
        self.assertIn('--vf', out)


class TestFullGpuAtStart(VfTestCase):
    """An L40S already full (one 48 GB vGPU another tool made) when vgpud first starts: the driver lists
    no type on any VF, vgpud has remembered none yet."""

    def make_host(self):
        return hosts.l40s(running=[(0, 'NVIDIA L40S-48Q')])

    def types_of(self, vf):
        return {t[0]: t for t in gpus(self.get_managed_objects())[vf]['Types']}

    def test_without_nvml_only_the_running_type_and_no_name(self):
        self.assertEqual(self.types_of(VF1), {})  # lists nothing, nothing remembered
        types = self.types_of(VF0)
        self.assertEqual(list(types), ['nvidia-1159'])  # the one it runs
        self.assertEqual(types['nvidia-1159'][1], '')  # its name is nowhere to be read
        dev = devices(self.get_managed_objects())
        self.assertEqual([d['TypeId'] for d in dev.values()], ['nvidia-1159'])


class TestFullGpuAtStartWithNvml(TestFullGpuAtStart):
    nvml = True

    def test_without_nvml_only_the_running_type_and_no_name(self):
        pass  # not this class's question

    def test_nvml_names_every_type(self):
        types = self.types_of(VF1)
        self.assertGreater(len(types), 20)
        self.assertEqual(types['nvidia-1159'][1], 'NVIDIA L40S-48Q')
        self.assertEqual({t[4] for t in types.values()}, {0})  # a full GPU: nothing creatable
        dev = devices(self.get_managed_objects())
        self.assertEqual([d['TypeName'] for d in dev.values()], ['NVIDIA L40S-48Q'])
        # and they are remembered: the next start knows them without NVML
        self.assertTrue(os.path.isfile(os.path.join(self.state_dir, 'nvidia-vf-types.conf')))


class TestVfLifecycle(VfTestCase):
    def test_start_is_ready_before_the_reply_and_stop_clears(self):
        uuid, path = self.start(VF0, U1, dfn(L40S_2Q))
        self.assertEqual(self.vgpu_type(VF0), 1148)
        dev = self.get_all_properties(path, DEVICE)
        self.assertEqual((dev['Backend'], dev['PciAddress'], dev['Parent'], dev['TypeName']),
                         ('nvidia-vf', VF0, VF0, 'NVIDIA L40S-2Q'))
        self.assertNotEqual(dev['VfioGroup'], '')
        self.stop(U1)
        self.assertEqual(self.vgpu_type(VF0), 0)
        self.assertNotIn(U1, devices(self.get_managed_objects()))

    def test_size_conflict_before_any_write(self):
        self.start(VF0, U1, dfn(L40S_2Q))
        writes = len(self.sim.emulator.vf.writes)
        self.assertError(ERR + 'SizeConflict', self.start, VF1, '', dfn(L40S_1B))
        self.assertEqual(len(self.sim.emulator.vf.writes), writes)

    def answered_meanwhile(self, zero, method, signature, args):
        """method's call (async) while the emulator holds VF0's driver inside its write to
        current_vgpu_type (NVIDIA's sets the vGPU up there, or tears it down: zero): once the write is
        in, a Define and a read are answered while it is still held (vgpud makes it off its loop; the
        emulator lets it go after its wait_timeout). The call's result once the write returned."""
        vf = self.sim.emulator.vf
        results = {}
        with vf.type_writes_held(VF0, zero=zero):
            self.call_async(method, signature, args, results, 'slow')
            self.assertTrue(self.sim.emulator.wait_for(lambda: (vf.vgpu_type(VF0) == 0) == zero,
                                                       vgpudtest.WAIT_TIMEOUT), 'VF0 was not written')
            self.assertEqual(self.define(VF1, U2, dfn(L40S_2Q)), (U2, definition_path(VF1, U2)))
            self.assertIn(VF0, gpus(self.get_managed_objects()))
            self.assertEqual(vf.type_writes_held_now, 1)
            self.assertNotIn('slow', results)
        self.wait_results(results, 1)
        return results['slow']

    def test_a_slow_vgpu_write_holds_up_nothing_else(self):
        patient = {'timeout_ms': GLib.Variant('u', PATIENT_MS)}
        self.assertEqual(self.answered_meanwhile(False, 'Start', '(sssa{sv})', (VF0, U1, dfn(L40S_2Q), patient)),
                         ('ok', (U1, device_path(U1))))
        self.assertEqual(self.vgpu_type(VF0), 1148)

    def test_a_slow_vgpu_removal_holds_up_nothing_else(self):
        self.start(VF0, U1, dfn(L40S_2Q))
        patient = {'timeout_ms': GLib.Variant('u', PATIENT_MS)}
        self.assertEqual(self.answered_meanwhile(True, 'Stop', '(sa{sv})', (U1, patient)), ('ok', ()))
        self.assertNotIn(U1, devices(self.get_managed_objects()))

    def test_busy_while_the_vfio_group_is_open(self):
        self.start(VF0, U1, dfn(L40S_2Q))
        with open(self.sim.emulator.vf.vfio_group_path(VF0)):
            # the Busy check's pass off the loop (daemon/vfio-busy-worker.c) names the holder
            msg = self.assertError(ERR + 'Busy', self.stop, U1)
            self.assertIn('process %d (' % os.getpid(), msg)
        self.assertEqual(self.vgpu_type(VF0), 1148)
        self.stop(U1)

    def test_definitions_in_vgpuds_store_and_autostart_after_restart(self):
        self.define(VF0, U1, dfn(L40S_2Q, start='auto'))
        own = os.path.join(self.state_dir, 'nvidia-vf-definitions', VF0, U1)
        self.assertTrue(os.path.isfile(own))
        self.assertFalse(os.path.exists(os.path.join(self.sim.definitions_dir, VF0)))  # not mdevctl's
        self.restart_vgpud()
        self.assertTrue(self.sim.emulator.wait_for(lambda: self.sim.emulator.vf.vgpu_type(VF0) == 1148, 20))
        self.wait_for(lambda s: U1 in devices(self.get_managed_objects()), 10)
        self.assertIn(U1, devices(self.get_managed_objects()))

    def test_acquire_sees_a_vgpu_another_tool_made(self):
        # qemu-server (or an admin) writes current_vgpu_type itself: no uevent tells vgpud
        self.assertEqual(self.sim.emulator.vf.set_vgpu_type(VF0, 1145), 0)  # an L40S-1B, 1 GB
        self.assertError(ERR + 'SizeConflict', self.acquire, 'L40S-2Q', 'vm:1')
        uuid, _, parent, _ = self.acquire('L40S-1B', 'vm:1')
        self.assertNotEqual(parent, VF0)
        orphans = self.get_property('/org/vgpud1', MANAGER, 'Orphans')
        self.assertEqual(len(orphans), 1)  # the other tool's vGPU, under the UUID derived from VF0

    def test_another_tools_vgpu_shows_without_any_request(self):
        # no uevent, no request: the periodic look finds it (within 10 s) as an orphan Device
        self.assertEqual(self.sim.emulator.vf.set_vgpu_type(VF1, 1148), 0)
        deadline = time.monotonic() + 30
        while not self.get_property('/org/vgpud1', MANAGER, 'Orphans') and time.monotonic() < deadline:
            time.sleep(0.2)
        orphans = self.get_property('/org/vgpud1', MANAGER, 'Orphans')
        self.assertEqual(len(orphans), 1)
        self.assertEqual(devices(self.get_managed_objects())[orphans[0]]['PciAddress'], VF1)
        self.assertEqual(self.sim.emulator.vf.set_vgpu_type(VF1, 0), 0)
        deadline = time.monotonic() + 30
        while self.get_property('/org/vgpud1', MANAGER, 'Orphans') and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(self.get_property('/org/vgpud1', MANAGER, 'Orphans'), [])

    def test_acquire_picks_a_vf_and_release_frees_it(self):
        uuid, path, parent, type_id = self.acquire('L40S-2Q', 'vm:1')
        self.assertTrue(parent.startswith('0000:c1:'), parent)
        self.assertEqual(type_id, L40S_2Q)
        self.assertEqual(self.vgpu_type(parent), 1148)
        uuid2, _, parent2, _ = self.acquire('NVIDIA L40S-2Q', 'vm:2')
        self.assertNotEqual(parent2, parent)
        self.assertEqual(sorted(self.release('vm:1') + self.release('vm:2')), sorted([uuid, uuid2]))
        self.assertEqual((self.vgpu_type(parent), self.vgpu_type(parent2)), (0, 0))


class TestVfRecordsWithoutFsync(VfTestCase):
    """The UUIDs of the running vGPUs (and the GPU instances vgpud made) describe what a power cut or a
    reboot wipes anyway, and need only outlive vgpud: written atomically, with no fsync on the loop
    (common/fault.h fails any fsync of the UUIDs' file here)."""

    def env(self):
        env = super().env()
        env['VGPUD_TEST_FAIL_AT'] = 'fsync-nvidia-vf-uuids.conf:EIO'
        return env

    def uuids_file(self):
        with open(os.path.join(self.state_dir, 'nvidia-vf-uuids.conf')) as f:
            return f.read()

    def test_start_and_stop_record_without_an_fsync(self):
        self.start(VF0, U1, dfn(L40S_2Q))
        self.assertIn(U1, self.uuids_file())
        self.restart_vgpud()  # what outlives vgpud: the vGPU on VF0 is U1 again
        self.assertEqual(devices(self.get_managed_objects())[U1]['Parent'], VF0)
        self.stop(U1)
        self.assertNotIn(U1, self.uuids_file())


class TestVfConcurrency(VfTestCase):
    def test_64_concurrent_acquires_fill_the_gpu_once(self):
        results = {}
        for i in range(64):
            self.call_async('Acquire', '(ssa{sv})', ('L40S-2Q', 'vm:%d' % i, {}), results, i)
        self.wait_results(results, 64, timeout=300)
        ok = [r[1] for r in results.values() if r[0] == 'ok']
        refused = {r[1] for r in results.values() if r[0] == 'error'}
        self.assertEqual(len(ok), 24)  # 48 GB in 2 GB vGPUs
        self.assertEqual(refused, {ERR + 'NoCapacity'})
        parents = [reply[2] for reply in ok]
        self.assertEqual(len(set(parents)), 24)  # never two on one VF
        gpu = self.sim.emulator.host.vf_gpus[L40S]
        self.assertEqual(sorted(v for v in parents), sorted(gpu.vgpus))
        self.assertEqual({self.vgpu_type(p) for p in parents}, {1148})

    def test_kill_9_during_an_acquire_storm_loses_nothing(self):
        results = {}
        for i in range(40):
            self.call_async('Acquire', '(ssa{sv})', ('L40S-1Q', 'storm:%02d' % i, {}), results, i)
        ctx = GLib.MainContext.default()
        deadline = time.monotonic() + 60
        while len(results) < 10 and time.monotonic() < deadline:
            ctx.iteration(True)
        self.daemon.send_signal(signal.SIGKILL)
        self.daemon.wait()
        self.daemon = None
        self.recorder.close()
        self.recorder = None
        self.assertLess(len(results), 40, 'the storm was over before the kill: nothing was tested')
        answered = {r[1][0] for r in results.values() if r[0] == 'ok'}

        self.start_vgpud()
        gpu = self.sim.emulator.host.vf_gpus[L40S]
        with self.sim.emulator.lock:
            on_vfs = set(gpu.vgpus)
        listed = {d[1]: d[0] for d in self.manager('ListDevicesOf', '(s)', ('nvidia-vf',))[0]}
        self.assertEqual(set(listed), on_vfs)  # every vGPU the driver holds is a Device
        leases = {l[0]: l for l in self.manager('ListLeases', None, None)[0]}
        orphans = set(self.get_property('/org/vgpud1', MANAGER, 'Orphans'))
        for vf, uuid in listed.items():
            self.assertTrue(uuid in leases or uuid in orphans, (vf, uuid))
        self.assertEqual(answered - set(leases), set())  # an answered Acquire kept its lease
        for uuid, l in leases.items():
            self.assertTrue(l[7] and listed.get(l[3]) == uuid, l)  # and its vGPU, under its UUID
        # and it goes on working
        uuid, _, parent, _ = self.acquire('L40S-1Q', 'after')
        self.assertEqual(self.vgpu_type(parent), 1147)


class TestVfReboot(VfTestCase):
    def test_reboot_brings_back_vfs_and_vgpus(self):
        self.define(VF0, U1, dfn(L40S_2Q, start='auto'))
        self.start(VF0, U1)
        self.stop_vgpud()
        self.sim.emulator.reboot()
        self.assertEqual(self.sim.emulator.host.vf_gpus[L40S].numvfs, 0)
        self.sim.emulator.vf.sriov_fail_next(1)  # "Cannot obtain unbindLock" once
        self.start_vgpud()
        emu = self.sim.emulator
        self.assertTrue(emu.wait_for(lambda: emu.vf.vgpu_type(VF0) == 1148, 60))
        self.assertGreaterEqual(len(emu.vf.sriov_manage_calls), 3)  # both GPUs, one retried
        self.wait_for(lambda s: U1 in devices(self.get_managed_objects()), 10)
        self.assertEqual(devices(self.get_managed_objects())[U1]['PciAddress'], VF0)


class TestVfLibvirtHook(VfTestCase):
    """The libvirt hook on a VF host: the vgpud metadata's profile goes onto the VF that the domain's
    <hostdev type='pci' managed='no'> names; a missing hostdev is answered with the element to add."""

    def libvirt(self, op, xml):
        path = os.path.join(vgpudtest.builddir(), 'client', 'vgpuctl')
        sub = {'prepare': 'begin', 'release': 'end'}
        p = subprocess.run([path, 'hook', 'libvirt', 'web-01', op, sub[op], '-'], input=xml,
                           capture_output=True, text=True, env=self.env(), timeout=120)
        return p.returncode, p.stdout, p.stderr

    def domain(self, vf=None):
        xml = domain_xml(vgpus=[{'profile': 'L40S-2Q', 'slot': '0'}])
        if vf:
            d, rest = vf.split(':', 1)
            b, rest = rest.split(':')
            s, f = rest.split('.')
            xml = xml.replace('  </devices>', "    <hostdev mode='subsystem' type='pci' managed='no'>\n"
                              "      <source><address domain='0x%s' bus='0x%s' slot='0x%s' function='0x%s'/>"
                              "</source>\n    </hostdev>\n  </devices>" % (d, b, s, f))
        return xml

    def test_prepare_sets_the_type_on_the_named_vf_and_release_clears_it(self):
        rc, out, err = self.libvirt('prepare', self.domain())
        self.assertNotEqual(rc, 0)
        m = re.search(r"<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' "
                      r"bus='0x(..)' slot='0x(..)' function='0x(.)'/></source></hostdev>", err)
        self.assertIsNotNone(m, err)
        vf = '0000:%s:%s.%s' % m.groups()
        self.assertTrue(vf.startswith('0000:c1:'), vf)
        self.assertEqual(self.vgpu_type(vf), 0)  # nothing was made
        rc, out, err = self.libvirt('prepare', self.domain(vf))
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.vgpu_type(vf), 1148)
        leases = self.manager('ListLeases', None, None)[0]
        self.assertEqual([(l[1], l[3]) for l in leases], [('libvirt:web-01', vf)])
        rc, out, err = self.libvirt('prepare', self.domain(vf))  # again: idempotent
        self.assertEqual((rc, self.vgpu_type(vf)), (0, 1148), err)
        rc, out, err = self.libvirt('release', self.domain(vf))
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.vgpu_type(vf), 0)


class TestMixedHost(VfTestCase):
    """T4, an A16 board and the two VF-mode GPUs on one host: one pool for status, plan and acquire."""
    host = 'mixed'

    def test_one_pool(self):
        uuid, _, parent, _ = self.acquire('L40S-2Q', 'vm:vf')
        self.assertEqual(self.vgpu_type(parent), 1148)
        uuid2, _, parent2, _ = self.acquire('T4-2Q', 'vm:mdev')
        self.assertEqual(parent2, '0000:41:00.0')
        rc, out, err = self.run_vgpuctl('status')
        self.assertEqual(rc, 0, err)
        for core in (L40S, '0000:41:00.0', hosts.RTX6000):
            self.assertIn(core, out)
        # no MIG-backed vGPU runs: the vGPU table (both are in it) has no GPU INSTANCE column
        self.assertIn(uuid, out)
        self.assertIn(uuid2, out)
        self.assertNotIn('GPU INSTANCE', out)
        rc, out, err = self.run_vgpuctl('status', '--json')
        self.assertEqual(rc, 0, err)
        devs = [d for core in json.loads(out) for d in core['devices']]
        self.assertEqual(sorted(d['uuid'] for d in devs), sorted([uuid, uuid2]))
        self.assertFalse([d for d in devs if 'gpu_instance_id' in d], devs)
        rc, out, err = self.run_vgpuctl('list')  # mdevctl's view: the T4's mdev only
        self.assertEqual((rc, out.split()[:2]), (0, [uuid2, parent2]), err)
        self.assertNotIn(uuid, out)
        rc, out, err = self.run_vgpuctl('list', '--vf')
        self.assertIn(uuid, out)
        self.assertIn(uuid2, out)
