#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tests of the simulated mdev host (tests/sim) and of the harness parts that do
not need vgpud: tree layout, libudev's view under the umockdev preload, the
kernel emulator's rules and uevents, mdevctl 1.2.0 against the emulator, the
simhost runner, and the private bus with the polkit mock.

Run: /usr/bin/python3 tests/integration/test_sim.py [-v] [TestClass.test_name]
(needs root or unprivileged user namespaces for the mdevctl runs)."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import vgpudtest  # noqa: E402
from vgpudtest import Gio, GLib, SimHost, UdevMonitor, hosts, run_mdevctl, tree  # noqa: E402

T4 = '0000:41:00.0'
T4_PATH = 'devices/pci0000:00/0000:00:03.1/0000:41:00.0'
VF0 = '0000:63:00.4'
VF1 = '0000:63:00.5'
U1 = '11111111-2222-3333-4444-555555555555'
U2 = '11111111-2222-3333-4444-555555555556'
U3 = '11111111-2222-3333-4444-555555555557'
U4 = '11111111-2222-3333-4444-555555555558'
SIMHOST = os.path.join(vgpudtest.SIM_DIR, 'simhost.py')

# T4 (16 GiB): type -> framebuffer GiB, from the 510.47.03 table
T4_FB = {'nvidia-222': 1, 'nvidia-223': 2, 'nvidia-224': 2, 'nvidia-225': 1, 'nvidia-226': 2,
         'nvidia-227': 4, 'nvidia-228': 8, 'nvidia-229': 16, 'nvidia-230': 1, 'nvidia-231': 2,
         'nvidia-232': 4, 'nvidia-233': 8, 'nvidia-234': 16, 'nvidia-252': 1, 'nvidia-319': 4,
         'nvidia-320': 8, 'nvidia-321': 16}


def read(sim, rel):
    with open(os.path.join(sim.sys_dir, rel)) as f:
        return f.read()


def sim_run(sim, argv, **kw):
    return subprocess.run(argv, env=sim.env(), capture_output=True, text=True, timeout=30, **kw)


class SimTestCase(unittest.TestCase):
    host = 't4'

    def setUp(self):
        self.sim = SimHost(self.host, log=open(os.devnull, 'w'))
        self.emu = self.sim.emulator

    def tearDown(self):
        self.sim.emulator.log.close()
        self.sim.close()

    def avail(self, parent, tdir):
        return self.emu.available(parent, tdir)

    def avail_all(self, parent):
        return {t: self.avail(parent, t) for t in self.sim.host.parents[parent].types}


class TreeTest(SimTestCase):
    host = 'default'

    def test_t4_pci_device(self):
        self.assertEqual(os.readlink(os.path.join(self.sim.sys_dir, 'bus/pci/devices', T4)),
                         '../../../' + T4_PATH)
        self.assertEqual(os.readlink(os.path.join(self.sim.sys_dir, 'class/mdev_bus', T4)),
                         '../../' + T4_PATH)
        for attr, val in (('vendor', '0x10de\n'), ('device', '0x1eb8\n'), ('class', '0x030200\n'),
                          ('numa_node', '0\n')):
            self.assertEqual(read(self.sim, T4_PATH + '/' + attr), val)
        self.assertEqual(os.path.basename(os.readlink(
            os.path.join(self.sim.sys_dir, T4_PATH, 'driver'))), 'nvidia')
        self.assertIn('PCI_SLOT_NAME=0000:41:00.0\n', read(self.sim, T4_PATH + '/uevent'))

    def test_t4_types(self):
        tdir = T4_PATH + '/mdev_supported_types/nvidia-231/'
        self.assertEqual(read(self.sim, tdir + 'name'), 'GRID T4-2Q\n')
        self.assertEqual(read(self.sim, tdir + 'description'),
                         'num_heads=4, frl_config=60, framebuffer=2048M, '
                         'max_resolution=7680x4320, max_instance=8')
        self.assertEqual(read(self.sim, tdir + 'device_api'), 'vfio-pci\n')
        self.assertEqual(read(self.sim, tdir + 'available_instances'), '8\n')
        self.assertEqual(read(self.sim, tdir + 'create'), '')
        self.assertEqual(sorted(self.sim.host.parents[T4].types), sorted(T4_FB))
        for t, fb in T4_FB.items():
            self.assertEqual(self.avail(T4, t), 16 // fb, t)

    def test_a16_topology(self):
        parents = [p for p in self.sim.host.parents if p.startswith('0000:6')]
        self.assertEqual(len(parents), 64)
        pf = 'devices/pci0000:00/0000:00:01.1/0000:61:00.0/0000:62:00.0/0000:63:00.0'
        self.assertEqual(read(self.sim, pf + '/subsystem_device'), '0x14a9\n')
        self.assertEqual(read(self.sim, pf + '/sriov_numvfs'), '16\n')
        self.assertEqual(os.readlink(os.path.join(self.sim.sys_dir, pf, 'virtfn0')), '../0000:63:00.4')
        self.assertEqual(os.readlink(os.path.join(self.sim.sys_dir, pf, 'virtfn15')), '../0000:63:02.3')
        vf = os.path.join(self.sim.sys_dir, 'bus/pci/devices', VF0)
        self.assertEqual(os.path.basename(os.path.realpath(os.path.join(vf, 'physfn'))), '0000:63:00.0')
        self.assertEqual(read(self.sim, 'bus/pci/devices/%s/numa_node' % VF0), '1\n')
        self.assertFalse(os.path.exists(os.path.join(self.sim.sys_dir, pf, 'mdev_supported_types')))
        self.assertEqual(len(os.listdir(os.path.join(vf, 'mdev_supported_types'))), 15)
        self.assertEqual(read(self.sim, 'bus/pci/devices/0000:61:00.0/vendor'), '0x10b5\n')

    def test_gvtg_types(self):
        base = 'bus/pci/devices/0000:00:02.0/mdev_supported_types/'
        self.assertEqual(sorted(os.listdir(os.path.join(self.sim.sys_dir, base))),
                         ['i915-GVTg_V5_1', 'i915-GVTg_V5_2', 'i915-GVTg_V5_4', 'i915-GVTg_V5_8'])
        self.assertEqual(read(self.sim, base + 'i915-GVTg_V5_4/name'), 'GVTg_V5_4\n')
        self.assertEqual(read(self.sim, base + 'i915-GVTg_V5_4/description'),
                         'low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\n'
                         'resolution: 1920x1200\nweight: 4\n')
        self.assertEqual(read(self.sim, base + 'i915-GVTg_V5_8/description'),
                         'low_gm_size: 64MB\nhigh_gm_size: 384MB\nfence: 4\n'
                         'resolution: 1024x768\nweight: 2\n')
        self.assertEqual(self.avail_all('0000:00:02.0'), {
            'i915-GVTg_V5_8': 7, 'i915-GVTg_V5_4': 5, 'i915-GVTg_V5_2': 2, 'i915-GVTg_V5_1': 1})

    def test_mtty(self):
        self.assertEqual(os.readlink(os.path.join(self.sim.sys_dir, 'class/mdev_bus/mtty')),
                         '../../devices/virtual/mtty/mtty')
        base = 'devices/virtual/mtty/mtty/mdev_supported_types/'
        self.assertEqual(read(self.sim, base + 'mtty-1/name'), 'Single port serial\n')
        self.assertEqual(read(self.sim, base + 'mtty-2/name'), 'Dual port serial\n')
        self.assertFalse(os.path.exists(os.path.join(self.sim.sys_dir, base, 'mtty-1/description')))
        self.assertEqual(self.avail_all('mtty'), {'mtty-1': 24, 'mtty-2': 12})

    def test_definitions_dirs(self):
        for d in ('callouts', 'notifiers'):
            self.assertTrue(os.path.isdir(os.path.join(self.sim.definitions_dir, 'scripts.d', d)))

    def test_running_device_layout(self):
        self.assertTrue(self.emu.create(T4, 'nvidia-231', U1))
        dev = os.path.join(self.sim.sys_dir, T4_PATH, U1)
        self.assertEqual(os.readlink(os.path.join(dev, 'mdev_type')),
                         '../mdev_supported_types/nvidia-231')
        self.assertEqual(os.path.realpath(os.path.join(self.sim.sys_dir, 'bus/mdev/devices', U1)), dev)
        self.assertEqual(os.path.realpath(os.path.join(
            self.sim.sys_dir, T4_PATH, 'mdev_supported_types/nvidia-231/devices', U1)), dev)
        self.assertTrue(os.path.isfile(os.path.join(dev, 'remove')))
        self.assertTrue(os.path.isfile(os.path.join(dev, 'nvidia/vgpu_params')))
        self.assertEqual(os.path.basename(os.readlink(os.path.join(dev, 'subsystem'))), 'mdev')
        self.assertEqual(read(self.sim, T4_PATH + '/' + U1 + '/uevent'), 'DRIVER=nvidia-vgpu-vfio\n')
        self.assertTrue(os.path.isdir(os.path.join(dev, 'iommu_group', 'devices', U1)))


class HostsTest(unittest.TestCase):
    def test_half_full(self):
        with tempfile.TemporaryDirectory(dir=tree.sim_tmpdir()) as d:
            h = hosts.build_host('half-full')
            tree.write_tree(h, d)
            t = os.path.join(d, 'sys', T4_PATH, 'mdev_supported_types')
            with open(os.path.join(t, 'nvidia-231/available_instances')) as f:
                self.assertEqual(f.read(), '6\n')
            with open(os.path.join(t, 'nvidia-230/available_instances')) as f:
                self.assertEqual(f.read(), '0\n')
            self.assertEqual(len(os.listdir(os.path.join(d, 'sys/bus/mdev/devices'))), 5)
            with open(os.path.join(d, 'etc/mdevctl.d', T4, hosts.make_uuid('half', 1))) as f:
                text = f.read()
            self.assertEqual(text, '{\n  "mdev_type": "nvidia-231",\n  "start": "auto",\n'
                                   '  "attrs": []\n}')

    def test_large_scales(self):
        for scale, parents, devices in ((1 / 16, 1, 160), (1 / 4, 4, 640), (1, 16, 2560)):
            with tempfile.TemporaryDirectory(dir=tree.sim_tmpdir()) as d:
                h = hosts.build_host('large', scale)
                tree.write_tree(h, d)
                self.assertEqual(len(os.listdir(os.path.join(d, 'sys/class/mdev_bus'))), parents)
                self.assertEqual(len(os.listdir(os.path.join(d, 'sys/bus/mdev/devices'))), devices)
                p0 = os.path.join(d, 'sys/class/mdev_bus/0000:81:00.0/mdev_supported_types')
                self.assertEqual(len(os.listdir(p0)), 20)
                with open(os.path.join(p0, 'nvidia-900/available_instances')) as f:
                    self.assertEqual(int(f.read()), 256 - 160)
                ndefs = sum(len(fs) for _, _, fs in os.walk(os.path.join(d, 'etc/mdevctl.d')))
                self.assertEqual(ndefs, devices // 10 + 4 * parents)

    def test_unknown_host(self):
        with self.assertRaises(ValueError):
            hosts.build_host('nosuchhost')


class NvidiaRulesTest(SimTestCase):
    host = 't4'

    def test_size_homogeneity(self):
        self.assertTrue(self.emu.create(T4, 'nvidia-231', U1))
        got = self.avail_all(T4)
        self.assertEqual(got, {t: (7 if fb == 2 else 0) for t, fb in T4_FB.items()})
        # another 2G type is fine, a 1G type is refused
        self.assertTrue(self.emu.create(T4, 'nvidia-226', U2))
        self.assertEqual(self.avail(T4, 'nvidia-231'), 6)
        self.assertFalse(self.emu.create(T4, 'nvidia-230', U3))
        self.assertIn('framebuffer size', self.emu.refusals[-1]['reason'])
        self.assertTrue(self.emu.remove(U1))
        self.assertTrue(self.emu.remove(U2))
        self.assertEqual(self.avail_all(T4), {t: 16 // fb for t, fb in T4_FB.items()})

    def test_fill_up(self):
        for i in range(2):
            self.assertTrue(self.emu.create(T4, 'nvidia-233', '%s%d' % (U1[:-1], i)))
        self.assertEqual(self.avail(T4, 'nvidia-233'), 0)
        self.assertFalse(self.emu.create(T4, 'nvidia-233', U3))
        self.assertIn('no available instances', self.emu.refusals[-1]['reason'])

    def test_mixed_size_mode(self):
        self.sim.close()
        self.sim = SimHost(hosts.t4(mixed_size=True), log=open(os.devnull, 'w'))
        self.emu = self.sim.emulator
        self.assertTrue(self.emu.create(T4, 'nvidia-231', U1))   # 2Q
        self.assertEqual(self.avail(T4, 'nvidia-230'), 14)       # 1Q: 14 GiB left
        self.assertEqual(self.avail(T4, 'nvidia-233'), 1)        # 8Q
        self.assertEqual(self.avail(T4, 'nvidia-234'), 0)        # 16Q
        self.assertTrue(self.emu.create(T4, 'nvidia-233', U2))
        self.assertEqual(self.avail(T4, 'nvidia-230'), 6)


class A16RulesTest(SimTestCase):
    host = 'a16'

    def test_vf_hosts_one_vgpu(self):
        # 713 = A16-4Q; the 4 GiB types are 713 (4Q), 718 (4A), 721 (4C)
        self.assertTrue(self.emu.create(VF0, 'nvidia-713', U1))
        self.assertEqual(set(self.avail_all(VF0).values()), {0})
        vf1 = self.avail_all(VF1)
        self.assertEqual({t for t, n in vf1.items() if n}, {'nvidia-713', 'nvidia-718', 'nvidia-721'})
        self.assertEqual(set(vf1.values()), {0, 1})
        self.assertEqual(set(self.avail_all('0000:64:00.4').values()), {1})
        self.assertFalse(self.emu.create(VF0, 'nvidia-713', U2))
        self.assertIn('VF already hosts', self.emu.refusals[-1]['reason'])

    def test_core_capacity(self):
        vfs = [hosts.a16_vf_addr('0000:63:00.0', i) for i in range(5)]
        for i, vf in enumerate(vfs[:4]):
            self.assertTrue(self.emu.create(vf, 'nvidia-713', '%s%d' % (U1[:-1], i)))
        self.assertEqual(set(self.avail_all(vfs[4]).values()), {0})
        self.assertFalse(self.emu.create(vfs[4], 'nvidia-713', U2))
        self.assertEqual(set(self.avail_all('0000:65:00.4').values()), {1})


class OtherDriversTest(SimTestCase):
    host = 'default'

    def test_gvtg_budget(self):
        self.assertTrue(self.emu.create('0000:00:02.0', 'i915-GVTg_V5_4', U1))
        self.assertEqual(self.avail_all('0000:00:02.0'), {
            'i915-GVTg_V5_8': 5, 'i915-GVTg_V5_4': 4, 'i915-GVTg_V5_2': 2, 'i915-GVTg_V5_1': 1})
        self.assertTrue(self.emu.create('0000:00:02.0', 'i915-GVTg_V5_1', U2))
        self.assertEqual(set(self.avail_all('0000:00:02.0').values()), {0})

    def test_mtty_pool(self):
        self.assertTrue(self.emu.create('mtty', 'mtty-2', U1))
        self.assertEqual(self.avail_all('mtty'), {'mtty-1': 22, 'mtty-2': 11})
        for i in range(11):
            self.assertTrue(self.emu.create('mtty', 'mtty-2', '%s%02d' % (U2[:-2], i)))
        self.assertEqual(self.avail_all('mtty'), {'mtty-1': 0, 'mtty-2': 0})
        self.assertFalse(self.emu.create('mtty', 'mtty-1', U3))


class EmulatorTest(SimTestCase):
    host = 't4'

    def write(self, rel, text):
        with open(os.path.join(self.sim.sys_dir, rel), 'w') as f:
            f.write(text)

    def test_create_forms(self):
        # echo-style newline and upper case are accepted, the device is lower case
        self.write(T4_PATH + '/mdev_supported_types/nvidia-231/create', U1.upper() + '\n')
        self.assertTrue(self.emu.wait_for(lambda: U1 in self.sim.host.mdevs))
        self.assertEqual(read(self.sim, T4_PATH + '/mdev_supported_types/nvidia-231/create'), '')
        self.assertTrue(os.path.isdir(os.path.join(self.sim.sys_dir, 'bus/mdev/devices', U1)))

    def test_refusals(self):
        self.assertFalse(self.emu.create(T4, 'nvidia-231', 'not-a-uuid'))
        self.assertIn('EINVAL', self.emu.refusals[-1]['reason'])
        self.assertFalse(self.emu.create(T4, 'nvidia-231', 'g' + U1[1:]))
        self.assertIn('not a UUID', self.emu.refusals[-1]['reason'])
        self.assertTrue(self.emu.create(T4, 'nvidia-231', U1))
        self.assertFalse(self.emu.create(T4, 'nvidia-231', U1))
        self.assertIn('EEXIST', self.emu.refusals[-1]['reason'])
        self.emu.refuse_next(1)
        self.assertFalse(self.emu.create(T4, 'nvidia-231', U2))
        self.assertTrue(self.emu.create(T4, 'nvidia-231', U2))
        self.assertEqual(len(self.emu.refusals), 4)
        self.assertEqual(sorted(self.sim.host.mdevs), [U1, U2])

    def test_remove_values(self):
        self.assertTrue(self.emu.create(T4, 'nvidia-231', U1))
        rm = T4_PATH + '/' + U1 + '/remove'
        self.write(rm, '0')
        self.write(rm, 'yes')
        self.assertTrue(self.emu.wait_for(lambda: self.emu.refusals))
        self.assertIn(U1, self.sim.host.mdevs)
        self.write(rm, '1\n')
        self.assertTrue(self.emu.wait_for(lambda: U1 not in self.sim.host.mdevs))
        self.assertFalse(os.path.exists(os.path.join(self.sim.sys_dir, T4_PATH, U1)))
        self.assertFalse(os.path.lexists(os.path.join(self.sim.sys_dir, 'bus/mdev/devices', U1)))
        self.assertEqual(os.listdir(os.path.join(
            self.sim.sys_dir, T4_PATH, 'mdev_supported_types/nvidia-231/devices')), [])
        self.assertEqual(self.avail(T4, 'nvidia-230'), 16)

    def test_sixteen_creates_in_a_row(self):
        # how fast the emulator answers is a figure for tests/bench (bench-acquire's "emulator alone"
        # column), never an assertion here
        for i in range(16):
            self.assertTrue(self.emu.create(T4, 'nvidia-230', '%s%02d' % (U1[:-2], i)))
        self.assertEqual(self.avail(T4, 'nvidia-230'), 0)

    def test_unregister_register(self):
        self.assertTrue(self.emu.create(T4, 'nvidia-231', U1))
        self.emu.parent_unregister(T4)
        self.assertFalse(os.path.lexists(os.path.join(self.sim.sys_dir, 'class/mdev_bus', T4)))
        self.assertFalse(os.path.exists(os.path.join(self.sim.sys_dir, T4_PATH, 'mdev_supported_types')))
        self.assertEqual(self.sim.host.mdevs, {})
        self.emu.parent_register(T4)
        self.assertEqual(self.avail(T4, 'nvidia-231'), 8)
        self.assertTrue(self.emu.create(T4, 'nvidia-231', U2))   # watches are back


class UeventTest(SimTestCase):
    """What a libudev monitor under the preload receives."""
    host = 'default'

    def test_create_remove_events(self):
        mon = UdevMonitor(self.sim)
        self.assertTrue(self.emu.create(T4, 'nvidia-231', U1))
        self.assertTrue(self.emu.remove(U1))
        events = mon.stop()
        dev = '/' + T4_PATH + '/' + U1
        self.assertEqual([(a, p) for a, p, _ in events],
                         [('add', dev), ('bind', dev), ('unbind', dev), ('remove', dev)])
        for _, _, props in events:
            self.assertEqual(props['SUBSYSTEM'], 'mdev')
            self.assertNotIn('MDEV_TYPE', props)
        self.assertEqual(events[1][2]['DRIVER'], 'nvidia-vgpu-vfio')
        self.assertNotIn('DRIVER', events[0][2])
        seq = [int(p['SEQNUM']) for _, _, p in events]
        self.assertEqual(seq, sorted(seq))

    def test_registration_events(self):
        mon = UdevMonitor(self.sim)
        self.emu.parent_unregister('mtty')
        self.emu.parent_register('mtty')
        events = mon.stop()
        self.assertEqual([(a, p, e['SUBSYSTEM'], e['MDEV_STATE']) for a, p, e in events],
                         [('change', '/devices/virtual/mtty/mtty', 'mtty', 'unregistered'),
                          ('change', '/devices/virtual/mtty/mtty', 'mtty', 'registered')])

    def test_unplug_a16_core(self):
        vf = hosts.a16_vf_addr('0000:64:00.0', 3)
        self.assertTrue(self.emu.create(vf, 'nvidia-712', U1))
        mon = UdevMonitor(self.sim)
        self.emu.unplug('0000:64:00.0')
        events = mon.stop()
        actions = [(a, p.rsplit('/', 1)[1], e.get('MDEV_STATE')) for a, p, e in events]
        i = actions.index(('unbind', U1, None))
        self.assertEqual(actions[i:i + 5], [('unbind', U1, None), ('remove', U1, None),
                                            ('change', vf, 'unregistered'), ('unbind', vf, None),
                                            ('remove', vf, None)])
        self.assertEqual(actions[:3], [('change', '0000:64:02.3', 'unregistered'),
                                       ('unbind', '0000:64:02.3', None),
                                       ('remove', '0000:64:02.3', None)])
        self.assertEqual(actions[-2:], [('unbind', '0000:64:00.0', None),
                                        ('remove', '0000:64:00.0', None)])
        self.assertEqual(sum(1 for a in actions if a[0] == 'remove'), 1 + 16 + 1)
        mdev_bus = os.listdir(os.path.join(self.sim.sys_dir, 'class/mdev_bus'))
        self.assertEqual(sum(1 for p in mdev_bus if p.startswith('0000:64:')), 0)
        self.assertEqual(len(mdev_bus), 1 + 48 + 2)
        self.assertFalse(os.path.lexists(os.path.join(self.sim.sys_dir, 'bus/pci/devices', vf)))
        mon = UdevMonitor(self.sim)
        self.emu.plug('0000:64:00.0')
        events = mon.stop()
        self.assertEqual(sum(1 for a, _, e in events if e.get('MDEV_STATE') == 'registered'), 16)
        self.assertTrue(self.emu.create(vf, 'nvidia-712', U2))

    def test_libudev_view(self):
        """udevadm (libudev) under the preload resolves devices, parents, drivers."""
        self.assertTrue(self.emu.create(T4, 'nvidia-231', U1))
        p = sim_run(self.sim, ['udevadm', 'info', '--query=property',
                               '/sys/bus/mdev/devices/' + U1])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('SUBSYSTEM=mdev\n', p.stdout)
        self.assertIn('DRIVER=nvidia-vgpu-vfio\n', p.stdout)
        self.assertIn('DEVPATH=/%s/%s\n' % (T4_PATH, U1), p.stdout)
        p = sim_run(self.sim, ['udevadm', 'info', '--attribute-walk', '/sys/class/mdev_bus/mtty'])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('SUBSYSTEM=="mtty"', p.stdout)
        p = sim_run(self.sim, ['udevadm', 'info', '--attribute-walk', '/sys/bus/mdev/devices/' + U1])
        self.assertIn('ATTRS{vendor}=="0x10de"', p.stdout)
        self.assertIn('DRIVERS=="nvidia"', p.stdout)
        p = sim_run(self.sim, ['realpath', '/sys/bus/mdev/devices/%s/mdev_type' % U1])
        self.assertEqual(p.stdout, '/%s/mdev_supported_types/nvidia-231\n' % ('sys/' + T4_PATH))


class MdevctlTest(SimTestCase):
    """mdevctl 1.2.0 (the oracle) driving the emulator through the bind-mounted tree."""
    host = 'default'

    def mdevctl(self, *args, **kw):
        return run_mdevctl(self.sim.root, *args, **kw)

    def test_start_stop(self):
        rc, out, err = self.mdevctl('start', '-p', T4, '-t', 'nvidia-231', '-u', U1)
        self.assertEqual((rc, out), (0, ''), err)
        self.assertTrue(self.emu.wait_for(lambda: U1 in self.sim.host.mdevs))
        self.assertEqual(self.avail(T4, 'nvidia-231'), 7)
        self.assertEqual(self.avail(T4, 'nvidia-232'), 0)
        rc, out, err = self.mdevctl('list')
        self.assertEqual(out, '%s %s nvidia-231 manual\n\n' % (U1, T4))
        rc, out, err = self.mdevctl('start', '-p', T4, '-t', 'nvidia-232', '-u', U2)
        self.assertEqual(rc, 1)
        self.assertEqual(err, 'Error: No available instances of nvidia-232 on %s\n' % T4)
        rc, out, err = self.mdevctl('stop', '-u', U1)
        self.assertEqual(rc, 0, err)
        self.assertTrue(self.emu.wait_for(lambda: U1 not in self.sim.host.mdevs))
        self.assertEqual(self.mdevctl('list')[1], '\n')
        self.assertEqual(self.avail(T4, 'nvidia-232'), 4)

    def test_types_output(self):
        rc, out, err = self.mdevctl('types', '-p', '0000:00:02.0')
        self.assertEqual(rc, 0, err)
        self.assertIn('  i915-GVTg_V5_4\n    Available instances: 5\n    Device API: vfio-pci\n'
                      '    Name: GVTg_V5_4\n    Description: low_gm_size: 128MB, high_gm_size: '
                      '512MB, fence: 4, resolution: 1920x1200, weight: 4\n', out)
        rc, out, err = self.mdevctl('types', '-p', 'mtty', '--dumpjson')
        self.assertEqual(json.loads(out), [{'mtty': [
            {'mtty-1': {'available_instances': 24, 'device_api': 'vfio-pci',
                        'name': 'Single port serial'}},
            {'mtty-2': {'available_instances': 12, 'device_api': 'vfio-pci',
                        'name': 'Dual port serial'}}]}])

    def test_define_and_autostart(self):
        rc, out, err = self.mdevctl('define', '-p', 'mtty', '-t', 'mtty-2', '-u', U1, '--auto')
        self.assertEqual(rc, 0, err)
        self.assertTrue(os.path.isfile(os.path.join(self.sim.definitions_dir, 'mtty', U1)))
        rc, out, err = self.mdevctl('start-parent-mdevs', 'mtty')
        self.assertEqual(rc, 0, err)
        self.assertTrue(self.emu.wait_for(lambda: U1 in self.sim.host.mdevs))
        self.assertEqual(self.avail('mtty', 'mtty-1'), 22)
        rc, out, err = self.mdevctl('list')
        self.assertEqual(out, '%s mtty mtty-2 auto (defined)\n\n' % U1)

    def test_attribute_on_start(self):
        rc, out, err = self.mdevctl('start', '-p', T4, '-u', U1, '--jsonfile', '/dev/stdin',
                                    input='{"mdev_type":"nvidia-231","start":"manual",'
                                          '"attrs":[{"nvidia/vgpu_params":"frame_rate_limiter=0"}]}')
        # mdevctl does not wait for the device: the attribute write races the emulator
        # and fails (no such file) when it wins; either way mdevctl's result is defined.
        if rc == 0:
            self.assertEqual(read(self.sim, T4_PATH + '/%s/nvidia/vgpu_params' % U1),
                             'frame_rate_limiter=0')
        else:
            self.assertIn('Error', err)


class OddHostTest(unittest.TestCase):
    def oracle(self, host, *args):
        with tempfile.TemporaryDirectory(dir=tree.sim_tmpdir()) as d:
            tree.write_tree(host, d)
            return run_mdevctl(d, *args)

    def test_garbage_breaks_types(self):
        rc, out, err = self.oracle(hosts.odd(), 'types')
        self.assertEqual(rc, 1)
        self.assertIn('invalid digit', err)

    def test_types(self):
        rc, out, err = self.oracle(hosts.odd(garbage_available=False), 'types')
        self.assertEqual(rc, 0, err)
        self.assertIn('  odd-multiline\n    Available instances: 2\n    Device API: vfio-pci\n'
                      '    Name: Multi line\n    Description: first line  , second line\t,   '
                      'third line\n', out)
        self.assertIn('  odd-noname\n    Available instances: 2\n    Device API: vfio-pci\n'
                      '    Description: a type without a name file\n', out)
        self.assertIn('  odd-emptyname\n    Available instances: 2\n    Device API: vfio-pci\n'
                      '  odd-multiline', out)
        self.assertIn('0000:0b:00.0\n', out)

    def test_definitions(self):
        rc, out, err = self.oracle(hosts.odd(), 'list', '-d')
        self.assertEqual(rc, 1)
        rc, out, err = self.oracle(hosts.odd(corrupt_definition=False), 'list', '-d')
        self.assertEqual(rc, 0, err)
        shared = hosts.make_uuid('odd', 3)
        self.assertIn('%s 0000:0a:00.0 odd-normal manual\n' % shared, out)
        self.assertIn('%s 0000:0b:00.0 odd-other auto\n' % shared, out)
        self.assertIn("Can't determine uuid for file 'not-a-uuid'", err)


class SimhostCliTest(unittest.TestCase):
    def run_simhost(self, *args):
        return subprocess.run([sys.executable, SIMHOST] + list(args), capture_output=True,
                              text=True, timeout=60)

    def test_command_sees_tree(self):
        p = self.run_simhost('--host', 'mtty', '--', 'sh', '-c',
                             'cat /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-1/name; '
                             'test -d "$SIMHOST_DEFINITIONS_DIR/scripts.d/callouts"; exit 7')
        self.assertEqual(p.returncode, 7, p.stderr)
        self.assertEqual(p.stdout, 'Single port serial\n')

    def test_emulator_runs(self):
        p = self.run_simhost('--host', 't4', '--', 'sh', '-c',
                             'echo %s > /sys/class/mdev_bus/%s/mdev_supported_types/nvidia-231/create; '
                             'for i in $(seq 100); do test -e /sys/bus/mdev/devices/%s && break; '
                             'sleep 0.02; done; cat /sys/class/mdev_bus/%s/mdev_supported_types/'
                             'nvidia-231/available_instances' % (U1, T4, U1, T4))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, '7\n')

    def test_write_tree_and_errors(self):
        with tempfile.TemporaryDirectory(dir=tree.sim_tmpdir()) as d:
            p = self.run_simhost('--host', 'large', '--scale', '0.0625', '--write-tree', d)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(len(os.listdir(os.path.join(d, 'sys/bus/mdev/devices'))), 160)
        p = self.run_simhost('--host', 'nosuch', '--', 'true')
        self.assertEqual(p.returncode, 2)
        self.assertIn('unknown host', p.stderr)
        p = self.run_simhost('--host', 'mtty')
        self.assertEqual(p.returncode, 2)
        p = self.run_simhost('--host', 'mtty', '--', '/nonexistent/cmd')
        self.assertEqual(p.returncode, 127)


class HarnessBusTest(vgpudtest.VgpudTestCase):
    """The private system bus and the polkit mock, without the daemon."""
    host = 'mtty'
    start_daemon = False

    def check(self, action):
        subject = GLib.Variant('(sa{sv})', ('unix-process', {
            'pid': GLib.Variant('u', os.getpid()), 'start-time': GLib.Variant('t', 0)}))
        reply = self.gconn.call_sync(
            'org.freedesktop.PolicyKit1', '/org/freedesktop/PolicyKit1/Authority',
            'org.freedesktop.PolicyKit1.Authority', 'CheckAuthorization',
            GLib.Variant.new_tuple(subject, GLib.Variant('s', action),
                                   GLib.Variant('a{ss}', {}), GLib.Variant('u', 1),
                                   GLib.Variant('s', '')),
            None, Gio.DBusCallFlags.NONE, 5000, None)
        return reply.unpack()[0][0]

    def test_polkit_mock(self):
        self.assertTrue(self.check('org.vgpud1.manage'))
        self.polkit_set_allowed(['org.vgpud1.read'])
        self.assertFalse(self.check('org.vgpud1.manage'))
        self.assertTrue(self.check('org.vgpud1.read'))

    def test_private_bus(self):
        self.assertNotEqual(self.bus_address, os.environ.get('VGPUD_REAL_SYSTEM_BUS', ''))
        self.assertTrue(self.dbus_con.name_has_owner('org.freedesktop.PolicyKit1'))
        self.assertFalse(self.dbus_con.name_has_owner(vgpudtest.BUS_NAME))
        env = self.env()
        self.assertEqual(env['UMOCKDEV_DIR'], self.sim.root)
        self.assertIn('libumockdev-preload.so.0', env['LD_PRELOAD'])
        self.assertEqual(self.run_mdevctl('types', '-p', 'mtty')[0], 0)


@unittest.skipUnless(os.access(os.path.join(vgpudtest.builddir(), 'daemon', 'vgpud'), os.X_OK),
                     'vgpud not built in $VGPUD_BUILDDIR')
class HarnessDaemonTest(vgpudtest.VgpudTestCase):
    """The harness around a real vgpud: started under the preload, owns the name, listens
    on its own uevent socket, stops with status 0."""
    host = 't4'

    def test_daemon_lifecycle(self):
        self.assertTrue(self.dbus_con.name_has_owner(vgpudtest.BUS_NAME))
        self.assertEqual(len(self.daemon_monitors), 1, 'vgpud should bind one uevent socket')
        self.assertIsInstance(self.get_managed_objects(), dict)
        self.assertEqual(self.stop_vgpud(), 0)
        self.start_vgpud()
        self.assertTrue(self.dbus_con.name_has_owner(vgpudtest.BUS_NAME))
        self.assertEqual(len(self.daemon_monitors), 1, 'the restarted vgpud has no uevent socket')


if __name__ == '__main__':
    unittest.main(verbosity=2)
