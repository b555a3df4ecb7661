# SPDX-License-Identifier: LGPL-2.1-or-later
"""Mixed-size mode asked for by definitions of VF vGPUs ("mixed_size": true in vgpud's own store) on the
simulated NVIDIA vGPU 17+ hosts (L40S, RTX PRO 6000, and the mixed host with the T4 and A16): two sizes
on one GPU by definitions, started by autostart; a simulated reboot (VFs and mode gone, SR-IOV enabled
again by vgpud) brings back the same vGPUs, UUIDs, owners and the mode; a start by hand on an empty GPU
switches it; the refusals (another size or the same size running in equal-size mode, a GPU without the
capability, no NVML, an mdev parent) each give their named error, write nothing and lose nothing.

The truth is the simulator's model (emulator.host.vf_gpus): the mode, the vGPUs, every write."""

import json
import os
import time

from gi.repository import GLib

from test_lifecycle import ERR
from test_vf_hosts import L40S, RTX, T4, VfTestCase, vf_addrs

DEFINITION = 'org.vgpud1.Definition'
GPU = 'org.vgpud1.Gpu'
MANAGER = 'org.vgpud1.Manager'
U = ['%08x-1111-4222-8333-%012x' % (i + 0x5a00, i) for i in range(8)]


def mixed_dfn(type_id, start='auto', mixed=True):
    d = {'mdev_type': 'nvidia-%d' % type_id, 'start': start}
    if mixed is not None:
        d['mixed_size'] = mixed
    return json.dumps(d)


class MixedDefinitions(VfTestCase):
    """On one GPU (pf) with types small, big (two sizes) and whole VFs vfs."""
    host = 'vf'
    nvml = True
    pf = L40S
    small, big = 1150, 1152      # L40S-4Q, L40S-8Q
    small_name, big_name = 'L40S-4Q', 'L40S-8Q'
    whole = 1159                 # L40S-48Q: the whole GPU

    def setUp(self):
        super().setUp()
        self.vfs = vf_addrs(self.pf)
        self.assertFalse(self.gpu().mixed_size)  # the test starts from equal-size mode

    def gpu(self):
        return self.sim.host.vf_gpus[self.pf]

    def writes_to(self, vf):
        return [w for w in self.sim.emulator.vf.writes if '/%s/' % vf in w[0]]

    def wait_held(self, n, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.held(self.pf)) < n:
            time.sleep(0.2)
        return self.held(self.pf)

    def restart(self, reboot=False):
        self.assertEqual(self.stop_vgpud(), 0)
        if reboot:
            self.sim.emulator.reboot()
            self.assertEqual(self.held(), {})
            self.assertFalse(self.gpu().mixed_size)
        self.start_vgpud()

    def gpu_mixed_property(self, vf):
        path = [p for p, i in self.get_managed_objects().items()
                if GPU in i and i[GPU].get('Name') == vf]
        self.assertEqual(len(path), 1, vf)
        return self.get_property(path[0], GPU, 'MixedSize')

    def test_two_sizes_by_definitions_and_a_reboot(self):
        self.define(self.vfs[0], U[0], mixed_dfn(self.small))
        self.define(self.vfs[1], U[1], mixed_dfn(self.big))
        _, path = self.define(self.vfs[2], U[2], mixed_dfn(self.small, 'manual', False))
        self.assertTrue(self.get_property(self.define_path(self.vfs[0], U[0]), DEFINITION, 'MixedSize'))
        self.assertFalse(self.get_property(path, DEFINITION, 'MixedSize'))
        # start auto: a restart of the daemon starts every auto definition
        self.restart()
        self.assertEqual(self.wait_held(2), {self.vfs[0]: self.small, self.vfs[1]: self.big})
        self.assertTrue(self.gpu().mixed_size)
        self.assertTrue(self.gpu_mixed_property(self.vfs[0]))
        # modelled as mixed from then on: Acquire puts a third size-mix there, with an owner, persisted
        owned = self.acquire(self.small_name, 'test:owner', parent=self.pf, persist=True)[0]
        self.assertEqual(sorted(self.held(self.pf).values()), sorted([self.small, self.small, self.big]))
        before = {u: self.vf_of(u) for u in (U[0], U[1], owned)}

        self.restart(reboot=True)
        self.assertEqual(len(self.wait_held(3)), 3)
        leases, _ = self.settle()
        self.assertTrue(self.gpu().mixed_size)
        self.assertEqual({u: self.vf_of(u) for u in (U[0], U[1], owned)}, before)
        self.assertEqual(self.held(self.pf)[self.vfs[1]], self.big)
        self.assertEqual({x[0]: x[1] for x in leases}.get(owned), 'test:owner')
        self.assertEqual(self.refused_writes(), [])
        self.check_vf_devices()

    def define_path(self, parent, uuid):
        for path, ifaces in self.get_managed_objects().items():
            d = ifaces.get(DEFINITION)
            if d and d['Uuid'] == uuid and d['Parent'] == parent:
                return path
        self.fail('no Definition object for %s on %s' % (uuid, parent))

    def test_start_by_hand_switches_an_empty_gpu(self):
        self.define(self.vfs[0], U[0], mixed_dfn(self.big, 'manual'))
        self.start(self.vfs[0], U[0], '')
        self.assertTrue(self.gpu().mixed_size)
        self.assertEqual(self.held(self.pf), {self.vfs[0]: self.big})
        # status, plan, acquire: the GPU is mixed
        self.assertTrue(self.gpu_mixed_property(self.vfs[0]))
        self.acquire(self.small_name, 'test:a', parent=self.pf)
        self.assertEqual(sorted(self.held(self.pf).values()), sorted([self.small, self.big]))

    def status_row(self):
        rc, out, err = self.run_vgpuctl('status', '--json')
        self.assertEqual(rc, 0, err)
        rows = json.loads(out)
        rows = rows if isinstance(rows, list) else list(rows.values())
        row = [r for r in rows if r.get('core') == self.pf]
        self.assertEqual(len(row), 1, rows)
        return row[0]

    def test_full_gpu_switched_by_a_definition_stays_mixed(self):
        """The driver lists nothing on a full GPU, so only vgpud's own record (or NVML, asked again after
        a restart of vgpud) says the GPU is mixed."""
        self.assertFalse(self.status_row()['mixed_size'])
        self.define(self.vfs[0], U[0], mixed_dfn(self.whole, 'manual'))
        self.start(self.vfs[0], U[0], '')
        self.assertTrue(self.gpu().mixed_size)
        self.call('/org/vgpud1', MANAGER, 'Rescan')  # every VF read again: none lists a type now
        self.assertTrue(self.gpu_mixed_property(self.vfs[0]))
        self.assertTrue(self.status_row()['mixed_size'])
        _, cores, _ = self.plan()
        self.assertTrue(cores[self.pf][5], cores[self.pf])  # (core, board, model, numa, size, mixed, ...)
        # vgpud restarts (the host does not): NVML says so again, for the GPU its definition asks for
        self.restart()
        self.call('/org/vgpud1', MANAGER, 'Rescan')
        self.assertTrue(self.gpu_mixed_property(self.vfs[0]))
        self.assertEqual(self.held(self.pf), {self.vfs[0]: self.whole})
        # stopped again, the GPU is still in mixed-size mode (the driver keeps it until a rebind)
        self.stop(U[0])
        self.assertTrue(self.gpu().mixed_size)
        self.assertTrue(self.gpu_mixed_property(self.vfs[0]))

    def test_equal_size_gpu_with_vgpus_refuses(self):
        # another tool made a small one in equal-size mode
        self.assertEqual(self.sim.emulator.vf.set_vgpu_type(self.vfs[5], self.small), 0)
        self.define(self.vfs[0], U[0], mixed_dfn(self.big, 'manual'))
        self.define(self.vfs[1], U[1], mixed_dfn(self.small, 'manual'))
        msg = self.assertError(ERR + 'SizeConflict', self.start, self.vfs[0], U[0], '')
        self.assertIn(self.pf, msg)
        self.assertIn('mixed-size', msg)
        msg = self.assertError(ERR + 'Busy', self.start, self.vfs[1], U[1], '')
        self.assertIn(self.pf, msg)
        self.assertEqual(self.writes_to(self.vfs[0]) + self.writes_to(self.vfs[1]), [])
        self.assertFalse(self.gpu().mixed_size)
        self.assertEqual(self.held(self.pf), {self.vfs[5]: self.small})
        # nothing lost: both definitions are still there
        defs = {d[1] for d in self.manager('ListDefinitionsOf', '(s)', ('nvidia-vf',))[0]}
        self.assertTrue({U[0], U[1]} <= defs, defs)

    def test_boot_with_a_vgpu_there_warns_and_fails_the_definitions(self):
        self.define(self.vfs[0], U[0], mixed_dfn(self.big))
        self.define(self.vfs[1], U[1], mixed_dfn(self.small))
        self.assertEqual(self.stop_vgpud(), 0)
        # before vgpud is back, another tool makes a small vGPU in equal-size mode
        self.assertEqual(self.sim.emulator.vf.set_vgpu_type(self.vfs[5], self.small), 0)
        self.start_vgpud()
        deadline = time.monotonic() + 60
        warned = []
        while time.monotonic() < deadline:
            warned = [w for w in self.get_property('/org/vgpud1', MANAGER, 'Warnings')
                      if self.pf in w and (U[0] in w or U[1] in w)]
            if len(warned) >= 2:
                break
            time.sleep(0.2)
        self.assertEqual(len(warned), 2, self.get_property('/org/vgpud1', MANAGER, 'Warnings'))
        self.assertTrue(any('mixed-size' in w for w in warned), warned)
        self.assertEqual(self.held(self.pf), {self.vfs[5]: self.small})  # not placed as equal-size
        self.assertFalse(self.gpu().mixed_size)
        self.assertEqual(self.writes_to(self.vfs[0]) + self.writes_to(self.vfs[1]), [])

    def test_gpu_without_the_capability(self):
        self.sim.emulator.vf.set_heterogeneous(self.pf, False)
        self.define(self.vfs[0], U[0], mixed_dfn(self.big, 'manual'))
        msg = self.assertError(ERR + 'NotSupported', self.start, self.vfs[0], U[0], '')
        self.assertIn(self.pf, msg)
        self.assertIn('does not support mixed-size', msg)
        self.assertEqual(self.writes_to(self.vfs[0]), [])
        self.assertEqual(self.held(self.pf), {})
        # without the ask it starts, in equal-size mode
        self.define(self.vfs[1], U[1], mixed_dfn(self.big, 'manual', False))
        self.start(self.vfs[1], U[1], '')
        self.assertEqual(self.held(self.pf), {self.vfs[1]: self.big})

    def test_vgpuctl_define_mixed_size(self):
        rc, out, err = self.run_vgpuctl('define', '-u', U[3], '-p', self.vfs[3], '-t', 'nvidia-%d' % self.big,
                                        '--mixed-size')
        self.assertEqual(rc, 0, err)
        self.assertTrue(self.get_property(self.define_path(self.vfs[3], U[3]), DEFINITION, 'MixedSize'))
        rc, out, err = self.run_vgpuctl('start', '-u', U[3])
        self.assertEqual(rc, 0, err)
        self.assertTrue(self.gpu().mixed_size)
        self.assertEqual(self.held(self.pf), {self.vfs[3]: self.big})
        # with --jsonfile the file says it: the option is refused
        rc, out, err = self.run_vgpuctl('define', '-u', U[4], '-p', self.vfs[4], '--jsonfile', '/dev/null',
                                        '--mixed-size')
        self.assertNotEqual(rc, 0)
        self.assertIn('--mixed-size', err)

    def test_list_vf_shows_mixed_size(self):
        """`vgpuctl list -d --vf` shows "mixed_size": true where the definition has it, in the JSON that
        `vgpuctl define --jsonfile` takes back."""
        self.define(self.vfs[3], U[3], mixed_dfn(self.big, 'manual'))
        self.define(self.vfs[4], U[4], mixed_dfn(self.big, 'manual', None))
        rc, out, err = self.run_vgpuctl('list', '-d', '--vf', '--dumpjson')
        self.assertEqual(rc, 0, err)
        rows = {u: d for parent in json.loads(out)[0].values() for row in parent for u, d in row.items()}
        self.assertEqual(rows[U[3]], {'mdev_type': 'nvidia-%d' % self.big, 'start': 'manual', 'attrs': [],
                                      'mixed_size': True})
        self.assertNotIn('mixed_size', rows[U[4]])
        rc, out, err = self.run_vgpuctl('list', '-d', '--vf', '-v')
        self.assertEqual(rc, 0, err)
        self.assertIn('%s %s nvidia-%d manual\n  mixed_size: true\n' % (U[3], self.vfs[3], self.big), out)
        self.assertNotIn('%s %s nvidia-%d manual\n  mixed_size' % (U[4], self.vfs[4], self.big), out)
        # one UUID: the definition alone, which define takes back as it is
        rc, out, err = self.run_vgpuctl('list', '-d', '--vf', '--dumpjson', '-u', U[3])
        self.assertEqual(rc, 0, err)
        self.assertTrue(json.loads(out)['mixed_size'])
        path = os.path.join(self.workdir, 'def.json')
        with open(path, 'w') as f:
            f.write(out)
        rc, out, err = self.run_vgpuctl('define', '-u', U[5], '-p', self.vfs[5], '--jsonfile', path)
        self.assertEqual(rc, 0, err)
        self.assertTrue(self.get_property(self.define_path(self.vfs[5], U[5]), DEFINITION, 'MixedSize'))
        # running: the definition's member follows the device
        rc, out, err = self.run_vgpuctl('start', '-u', U[3])
        self.assertEqual(rc, 0, err)
        rc, out, err = self.run_vgpuctl('list', '--vf', '--dumpjson', '-u', U[3])
        self.assertEqual(rc, 0, err)
        self.assertTrue(json.loads(out)['mixed_size'])

    def test_acquire_mixed_size_persist_and_a_reboot(self):
        a = self.acquire(self.big_name, 'test:a', mixed_size=True, persist=True)[0]
        self.assertTrue(self.gpu().mixed_size)
        b = self.acquire(self.small_name, 'test:b', mixed_size=True, persist=True)[0]
        self.assertEqual(sorted(self.held(self.pf).values()), sorted([self.small, self.big]))
        defs = {d[1]: d for d in self.manager('ListDefinitionsOf', '(s)', ('nvidia-vf',))[0]}
        self.assertEqual(set(defs), {a, b})
        for u in (a, b):
            self.assertTrue(self.get_property(self.define_path(defs[u][0], u), DEFINITION, 'MixedSize'))
        before = {u: self.vf_of(u) for u in (a, b)}
        self.restart(reboot=True)
        self.assertEqual(len(self.wait_held(2)), 2)
        leases, _ = self.settle()
        self.assertTrue(self.gpu().mixed_size)
        self.assertEqual({u: self.vf_of(u) for u in (a, b)}, before)
        owners = {x[0]: x[1] for x in leases}
        self.assertEqual((owners.get(a), owners.get(b)), ('test:a', 'test:b'))
        self.assertEqual(self.refused_writes(), [])

    def test_acquire_mixed_size_not_on_an_equal_size_gpu(self):
        self.assertEqual(self.sim.emulator.vf.set_vgpu_type(self.vfs[5], self.small), 0)
        before = len(self.sim.emulator.vf.writes)
        for profile in (self.big_name, self.small_name):
            msg = self.assertError(ERR + 'Busy', self.acquire, profile, 'test:a', mixed_size=True)
            self.assertIn(self.pf, msg)
            self.assertIn('equal-size mode', msg)
        self.assertEqual(len(self.sim.emulator.vf.writes), before)  # nothing written
        self.assertFalse(self.gpu().mixed_size)
        self.assertEqual(self.held(self.pf), {self.vfs[5]: self.small})
        self.assertEqual(self.leases(), [])

    def test_modify_mixed_size(self):
        self.define(self.vfs[2], U[2], mixed_dfn(self.big, 'auto', False))
        path = self.define_path(self.vfs[2], U[2])
        self.assertFalse(self.get_property(path, DEFINITION, 'MixedSize'))
        self.modify(self.vfs[2], U[2], {'mixed_size': GLib.Variant('b', True)})
        self.assertTrue(self.get_property(path, DEFINITION, 'MixedSize'))
        self.start(self.vfs[2], U[2], '')
        self.assertTrue(self.gpu().mixed_size)
        self.modify(self.vfs[2], U[2], {'mixed_size': GLib.Variant('b', False)})
        self.assertFalse(self.get_property(path, DEFINITION, 'MixedSize'))
        with open(self.get_property(path, DEFINITION, 'Path')) as f:
            self.assertNotIn('mixed_size', f.read())

    def test_bad_mixed_size_value(self):
        bad = json.dumps({'mdev_type': 'nvidia-%d' % self.big, 'start': 'auto', 'mixed_size': 'yes'})
        msg = self.assertError(ERR + 'InvalidArgument', self.define, self.vfs[0], U[0], bad)
        self.assertIn('mixed_size is not true or false', msg)


class MixedDefinitionsRtx(MixedDefinitions):
    pf = RTX
    small, big = 1520, 1522      # RTX Pro 6000 Blackwell DC-4Q, -8Q
    small_name, big_name = 'RTX Pro 6000 Blackwell DC-4Q', 'RTX Pro 6000 Blackwell DC-8Q'
    whole = 1528                 # DC-96Q


class MixedDefinitionsWithoutNvml(VfTestCase):
    """No libnvidia-ml.so.1: a definition that asks for mixed-size mode does not start, and says why."""
    host = 'vf'
    nvml = False

    def test_named_error_and_nothing_done(self):
        vfs = vf_addrs(L40S)
        self.define(vfs[0], U[0], mixed_dfn(1152, 'manual'))
        msg = self.assertError(ERR + 'NvmlUnavailable', self.start, vfs[0], U[0], '')
        self.assertIn('needs NVML', msg)
        self.assertIn('libnvidia-ml.so.1', msg)
        self.assertEqual(self.held(), {})
        self.assertEqual(self.sim.emulator.vf.writes, [])


class MixedDefinitionsMixedHost(MixedDefinitions):
    """The host mixing the T4 and A16 (mdev) with the L40S and RTX PRO 6000 (VF)."""
    host = 'mixed'

    test_start_by_hand_switches_an_empty_gpu = None
    test_full_gpu_switched_by_a_definition_stays_mixed = None
    test_gpu_without_the_capability = None
    test_bad_mixed_size_value = None
    test_vgpuctl_define_mixed_size = None
    test_modify_mixed_size = None
    test_boot_with_a_vgpu_there_warns_and_fails_the_definitions = None

    def test_mdev_parent_refuses_mixed_size(self):
        msg = self.assertError(ERR + 'InvalidArgument', self.define, T4, U[7],
                               mixed_dfn(231, 'manual'))
        self.assertIn('mediated-device parent', msg)
        self.define(T4, U[7], mixed_dfn(231, 'manual', None))
        msg = self.assertError(ERR + 'InvalidArgument', self.modify, T4, U[7],
                               {'mixed_size': GLib.Variant('b', True)})
        self.assertIn('mediated-device parent', msg)
        self.undefine(T4, U[7])
        self.assertEqual(self.manager('ListDefinitionsOf', '(s)', ('mdev',))[0], [])
