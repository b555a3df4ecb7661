#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tests of the simulated NVIDIA vGPU 17+ hosts (tests/sim: nvidia_vf.py, emulator_vf.py, the write
shim, the fake sriov-manage and the fake libnvidia-ml.so.1), without vgpud: the tree against the
real formats (/work/shared/vendor-vfio.md), the driver's answers to writes, the narrowing of
creatable_vgpu_types, SR-IOV enabling, a reboot, NVML.

Run: VGPUD_BUILDDIR=$PWD/build /usr/bin/python3 tests/integration/test_sim_vf.py [-v]"""

import ctypes
import errno
import json
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import vgpudtest  # noqa: E402
from vgpudtest import SimHost, UdevMonitor, hosts, simhost  # noqa: E402

L40S = hosts.L40S
RTX = hosts.RTX6000
T4 = '0000:41:00.0'
SYS = '/sys/bus/pci/devices/'
L40S_TYPES = 23
CREATABLE_LINE = re.compile(r'^(\d+) *: (.+)$')

# a process under the preload writing like vgpud does (open(2), one write(2), close(2))
WRITER = '''
import os, sys
out = []
for path, value in zip(sys.argv[1::2], sys.argv[2::2]):
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
        out.append(0)
    except OSError as e:
        out.append(e.errno)
    finally:
        os.close(fd)
print(' '.join(map(str, out)))
'''
READER = '''
import os, sys
out = []
for path in sys.argv[1:]:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        out.append(os.read(fd, 4096).decode())
    except OSError as e:
        out.append(-e.errno)
    finally:
        os.close(fd)
print(repr(out))
'''


def vfs_of(pf, n):
    board = next(b for b in hosts.nvidia_vf.boards().values()
                 if (pf == L40S) == (b.name == 'NVIDIA L40S'))
    return [hosts.vf_addr(pf, board.vf_offset, board.vf_stride, i) for i in range(n)]


L40S_VFS = vfs_of(L40S, 32)
RTX_VFS = vfs_of(RTX, 16)


def parse_creatable(text):
    lines = text.split('\n')
    assert lines[0] == 'ID    : vGPU Name', lines[0]
    assert lines[-1] == ''
    out = []
    for line in lines[1:-1]:
        m = CREATABLE_LINE.match(line)
        assert m and line[:5] == '%-5d' % int(m.group(1)), line
        out.append((int(m.group(1)), m.group(2)))
    return out


@unittest.skipIf(simhost.simvf_library() is None, 'the write shim is not built (set VGPUD_BUILDDIR)')
class VfSimTestCase(unittest.TestCase):
    host = 'vf'

    def setUp(self):
        self.sim = SimHost(self.make_host(), log=open(os.devnull, 'w'))
        self.emu = self.sim.emulator
        self.emu.vf.sriov_delay = 0.01
        self.addCleanup(self.sim.close)
        self.addCleanup(self.sim.emulator.log.close)

    def make_host(self):
        return hosts.build_host(self.host)

    def read(self, rel):
        with open(os.path.join(self.sim.sys_dir, 'bus/pci/devices', rel)) as f:
            return f.read()

    def creatable(self, vf):
        return parse_creatable(self.read(vf + '/nvidia/creatable_vgpu_types'))

    def py(self, script, *args, nvml=False):
        p = subprocess.run(['/usr/bin/python3', '-c', script] + list(args), capture_output=True,
                           text=True, env=self.sim.env(nvml=nvml), timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def write(self, *pairs):
        """Write (path, value) pairs as vgpud does; the errnos, 0 for success."""
        args = []
        for path, value in pairs:
            args += [path if path.startswith('/') else SYS + path, value]
        return [int(x) for x in self.py(WRITER, *args).split()]

    def set_type(self, vf, type_id):
        return self.write((vf + '/nvidia/current_vgpu_type', '%d\n' % type_id))[0]


class TreeTest(VfSimTestCase):
    def test_pf_and_vfs(self):
        for pf, vfs, dev in ((L40S, L40S_VFS, '0x26b9'), (RTX, RTX_VFS, '0x2bb5')):
            self.assertEqual(self.read(pf + '/device'), dev + '\n')
            self.assertFalse(os.path.exists(os.path.join(self.sim.sys_dir, 'bus/pci/devices', pf, 'nvidia')))
            self.assertEqual(self.read(pf + '/sriov_totalvfs'), '%d\n' % len(vfs))
            self.assertEqual(self.read(pf + '/sriov_numvfs'), '%d\n' % len(vfs))
            groups = set()
            for i, vf in enumerate(vfs):
                base = os.path.join(self.sim.sys_dir, 'bus/pci/devices')
                self.assertEqual(os.path.realpath(os.path.join(base, pf, 'virtfn%d' % i)),
                                 os.path.realpath(os.path.join(base, vf)))
                self.assertEqual(os.path.realpath(os.path.join(base, vf, 'physfn')),
                                 os.path.realpath(os.path.join(base, pf)))
                self.assertEqual(os.path.basename(os.readlink(os.path.join(base, vf, 'driver'))), 'nvidia')
                self.assertEqual(self.read(vf + '/device'), dev + '\n')
                group = os.path.basename(os.readlink(os.path.join(base, vf, 'iommu_group')))
                groups.add(group)
                self.assertTrue(os.path.isfile(os.path.join(self.sim.root, 'dev', 'vfio', group)))
            self.assertEqual(len(groups), len(vfs))
        # the Blackwell's VF offset is 2, as on the real host (PF 04:00.0, virtfn0 04:00.2)
        self.assertEqual(RTX_VFS[0], '0000:81:00.2')
        self.assertEqual(L40S_VFS[:2], ['0000:c1:00.4', '0000:c1:00.5'])

    def test_nvidia_directory(self):
        d = os.path.join(self.sim.sys_dir, 'bus/pci/devices', L40S_VFS[0], 'nvidia')
        self.assertEqual(sorted(os.listdir(d)), ['creatable_vgpu_types', 'current_vgpu_type', 'gpu_instance_id',
                                                 'placement_id', 'vgpu_params', 'warm_update'])
        self.assertEqual(os.stat(os.path.join(d, 'creatable_vgpu_types')).st_mode & 0o777, 0o444)
        self.assertEqual(self.read(L40S_VFS[0] + '/nvidia/current_vgpu_type'), '0\n')
        self.assertEqual(self.read(L40S_VFS[0] + '/nvidia/vgpu_params'), '\n')
        self.assertEqual(self.read(L40S_VFS[0] + '/nvidia/warm_update'), '0\n')
        types = self.creatable(L40S_VFS[0])
        self.assertEqual(len(types), L40S_TYPES)
        self.assertEqual(types[0], (1145, 'NVIDIA L40S-1B'))
        self.assertIn((1159, 'NVIDIA L40S-48Q'), types)
        self.assertEqual(types[-1], (2164, 'NVIDIA L40S-3B'))
        self.assertEqual([t for t, _ in types], sorted(t for t, _ in types))
        self.assertEqual(self.read(L40S_VFS[0] + '/nvidia/creatable_vgpu_types').split('\n')[1],
                         '1145  : NVIDIA L40S-1B')
        sizes = {int(re.search(r'-(\d+)[ABQ]$', n).group(1)) for _, n in types}
        self.assertEqual(sizes, {1, 2, 3, 4, 6, 8, 12, 16, 24, 48})

    def test_hosts(self):
        off = hosts.build_host('vf-off')
        self.assertTrue(all(not v.present for g in off.vf_gpus.values() for v in g.vfs))
        mixed = hosts.build_host('mixed')
        self.assertEqual(sorted(mixed.vf_gpus), [RTX, L40S])
        self.assertIn(T4, mixed.parents)
        self.assertIn(hosts.a16_vf_addr(hosts.A16_CORES[0], 0), mixed.parents)
        # no IOMMU group is shared between a PCI function and a mediated device
        self.assertGreater(mixed.fresh_iommu_group(), len([d for d in mixed.devices
                                                           if isinstance(d, hosts.PciFunction)]))
        with self.assertRaises(ValueError):
            hosts.l40s(running=[(0, 'NVIDIA L40S-4Q'), (1, 'NVIDIA L40S-2Q')])


class DriverTest(VfSimTestCase):
    def test_create_and_destroy(self):
        vf0, vf1 = L40S_VFS[:2]
        self.assertEqual(self.set_type(vf0, 1150), 0)
        self.assertEqual(self.read(vf0 + '/nvidia/current_vgpu_type'), '1150\n')
        self.assertEqual(self.read(vf0 + '/nvidia/placement_id'), '0\n')
        self.assertEqual(self.creatable(vf0), [])
        self.assertEqual(self.set_type(vf0, 1150), errno.EPERM)      # the VF has one
        self.assertEqual(self.set_type(vf0, 1147), errno.EPERM)
        self.assertEqual(self.set_type(vf1, 0), errno.EPERM)         # nothing to destroy
        self.assertEqual(self.write((vf1 + '/nvidia/current_vgpu_type', 'x'))[0], errno.EINVAL)
        self.assertEqual(self.write((vf1 + '/nvidia/current_vgpu_type', '0x10'))[0], errno.EINVAL)
        self.assertEqual(self.set_type(vf1, 99999), errno.EIO)      # not a type of this GPU
        self.assertEqual(self.set_type(vf1, 1150), 0)
        self.assertEqual(self.read(vf1 + '/nvidia/placement_id'), '4\n')
        self.assertEqual(self.set_type(vf0, 0), 0)
        self.assertEqual(self.read(vf0 + '/nvidia/current_vgpu_type'), '0\n')
        self.assertEqual([w[2] for w in self.emu.vf.writes],
                         [0, errno.EPERM, errno.EPERM, errno.EPERM, errno.EINVAL, errno.EINVAL, errno.EIO, 0, 0])

    def test_relative_to_a_directory_fd(self):
        """openat(<fd of nvidia/>, "current_vgpu_type") is seen by the shim as well."""
        script = ('import os, sys\n'
                  'd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)\n'
                  'out = []\n'
                  'for v in ("1150", "1150"):\n'
                  '    fd = os.open("current_vgpu_type", os.O_WRONLY | os.O_TRUNC, dir_fd=d)\n'
                  '    try:\n'
                  '        os.write(fd, v.encode()); out.append(0)\n'
                  '    except OSError as e:\n'
                  '        out.append(e.errno)\n'
                  '    os.close(fd)\n'
                  'fd = os.open("gpu_instance_id", os.O_RDONLY, dir_fd=d)\n'
                  'print(out, os.read(fd, 64))\n')
        self.assertEqual(self.py(script, SYS + L40S_VFS[1] + '/nvidia').strip(),
                         "[0, %d] b'0\\n'" % errno.EPERM)

    def test_enxio_until_a_vgpu_exists(self):
        vf = L40S_VFS[3]
        paths = [SYS + vf + '/nvidia/gpu_instance_id', SYS + vf + '/nvidia/placement_id']
        self.assertEqual(eval(self.py(READER, *paths)), [-errno.ENXIO, -errno.ENXIO])
        self.set_type(vf, 1159)
        self.assertEqual(eval(self.py(READER, *paths)), ['0\n', '0\n'])

    def test_narrowing(self):
        vfs = L40S_VFS
        self.assertEqual(self.set_type(vfs[0], 1150), 0)  # 4Q: only 4 GB types remain
        self.assertEqual(self.creatable(vfs[1]), [(1150, 'NVIDIA L40S-4Q'), (1160, 'NVIDIA L40S-4A')])
        self.assertEqual(self.set_type(vfs[1], 1148), errno.EIO)   # another size
        self.assertEqual(self.set_type(vfs[1], 1160), 0)           # 4A: same size, other series
        for vf in vfs[2:12]:
            self.assertEqual(self.set_type(vf, 1150), 0)
        # 12 x 4 GB = 48 GB: full; every VF prints only the header
        self.assertEqual(self.set_type(vfs[12], 1150), errno.EIO)
        for vf in vfs:
            self.assertEqual(self.creatable(vf), [])
        self.assertEqual(self.set_type(vfs[5], 0), 0)
        self.assertEqual(self.creatable(vfs[20]), [(1150, 'NVIDIA L40S-4Q'), (1160, 'NVIDIA L40S-4A')])
        for vf in vfs[:12]:
            if vf != vfs[5]:
                self.assertEqual(self.set_type(vf, 0), 0)
        self.assertEqual(len(self.creatable(vfs[0])), L40S_TYPES)

    def test_max_instances(self):
        # 1Q: 32 per GPU = one per VF
        results = self.write(*[(vf + '/nvidia/current_vgpu_type', '1147') for vf in L40S_VFS])
        self.assertEqual(results, [0] * 32)
        # RTX PRO 6000: 16 VFs limit the 2Q count (96 GB would hold 48)
        results = self.write(*[(vf + '/nvidia/current_vgpu_type', '1517') for vf in RTX_VFS])
        self.assertEqual(results, [0] * 16)

    def test_mixed_size_mode(self):
        gpu = self.emu.host.vf_gpus[L40S]
        self.assertEqual(gpu.set_mixed_size(True), 'ok')
        self.sim.tree.update_vf_gpu(gpu)
        vfs = L40S_VFS
        self.assertEqual(self.set_type(vfs[0], 1159 - 5), 0)   # 16Q at 0
        self.assertEqual(self.set_type(vfs[1], 1150), 0)       # 4Q at 16
        self.assertEqual(self.read(vfs[1] + '/nvidia/placement_id'), '16\n')
        names = [n for _, n in self.creatable(vfs[2])]
        self.assertIn('NVIDIA L40S-16Q', names)
        self.assertIn('NVIDIA L40S-8Q', names)
        self.assertNotIn('NVIDIA L40S-48Q', names)
        self.assertIn('NVIDIA L40S-24Q', names)         # 24 GB go at offset 0 or 24: 24 is free
        self.assertEqual(self.set_type(vfs[2], 1155), 0)
        self.assertEqual(self.read(vfs[2] + '/nvidia/placement_id'), '24\n')
        # 20 GB free (20-23 and 4 GB from 16-19 taken): 16 GB fits nowhere aligned, 4 GB does
        names = [n for _, n in self.creatable(vfs[3])]
        self.assertNotIn('NVIDIA L40S-16Q', names)
        self.assertIn('NVIDIA L40S-4Q', names)
        self.assertEqual(gpu.set_mixed_size(False), 'in-use')

    def test_mig_backed_types(self):
        vf = RTX_VFS[0]
        self.assertEqual(self.set_type(vf, 1561), errno.EIO)  # MIG mode off: no GPU instance
        mig = hosts.rtx6000(mig=True)
        gpu = mig.vf_gpus[RTX]
        names = [t.name for t in gpu.creatable(RTX_VFS[0])]
        self.assertEqual(names, [])                             # no GPU instance yet
        self.assertEqual(gpu.create(RTX_VFS[0], 1561), errno.EIO)
        gi = gpu.create_gpu_instance('1g.24gb')
        self.assertEqual(gi.gi_id, 3)
        self.assertIn('NVIDIA RTX Pro 6000 Blackwell DC-1-24Q', [t.name for t in gpu.creatable(RTX_VFS[0])])
        self.assertEqual(gpu.create(RTX_VFS[0], 1561), 0)
        self.assertEqual(gpu.create(RTX_VFS[1], 1561), errno.EIO)  # the instance is full
        self.assertEqual(gpu.create(RTX_VFS[1], 1517), errno.EIO)  # time-sliced: not in MIG mode

    def test_no_uevent_for_type_writes(self):
        mon = UdevMonitor(self.sim)
        self.assertEqual(self.set_type(L40S_VFS[0], 1150), 0)
        self.assertEqual(self.set_type(L40S_VFS[0], 0), 0)
        self.assertEqual(mon.stop(), [])
        self.assertEqual(self.emu.events, [])

    def test_writer_without_the_shim(self):
        """A plain file write (no shim) is applied asynchronously; errors are only logged."""
        path = os.path.join(self.sim.sys_dir, 'bus/pci/devices', L40S_VFS[0], 'nvidia/current_vgpu_type')
        with open(path, 'w') as f:
            f.write('1150\n')
        self.assertTrue(self.emu.wait_for(lambda: L40S_VFS[0] in self.emu.host.vf_gpus[L40S].vgpus))
        with open(path, 'w') as f:
            f.write('1147\n')
        self.assertTrue(self.emu.wait_for(lambda: len(self.emu.vf.writes) == 2))
        self.assertEqual(self.emu.vf.writes[1][2], errno.EPERM)
        self.assertTrue(self.emu.wait_for(lambda: open(path).read() == '1150\n'))


class TestApiTest(VfSimTestCase):
    """The emulator's helpers for tests: another tool's writes, mixed-size mode, GPU instances."""

    def test_helpers(self):
        vf = self.emu.vf
        self.assertEqual(vf.set_vgpu_type(L40S_VFS[2], 1150), 0)
        self.assertEqual(vf.vgpu_type(L40S_VFS[2]), 1150)
        self.assertEqual(self.read(L40S_VFS[2] + '/nvidia/current_vgpu_type'), '1150\n')
        self.assertEqual(vf.set_vgpu_type(L40S_VFS[2], 1150), errno.EPERM)
        self.assertEqual(vf.set_mixed_size(L40S, True), 'in-use')
        self.assertEqual(vf.set_vgpu_type(L40S_VFS[2], 0), 0)
        self.assertEqual(vf.vgpu_type(L40S_VFS[2]), 0)
        self.assertEqual(vf.set_mixed_size(L40S, True), 'ok')
        self.assertEqual(len(self.creatable(L40S_VFS[2])), L40S_TYPES)
        self.assertEqual(vf.vfio_group_path(L40S_VFS[2]),
                         os.path.join(self.sim.root, 'dev', 'vfio', os.path.basename(os.readlink(
                             os.path.join(self.sim.sys_dir, 'bus/pci/devices', L40S_VFS[2], 'iommu_group')))))
        with self.assertRaises(ValueError):
            vf.create_gpu_instance(RTX, '1g.24gb')  # MIG mode is off
        self.assertEqual(self.emu.events, [])


class MigTest(VfSimTestCase):
    def make_host(self):
        return hosts.rtx6000(mig=True)

    def test_gpu_instances(self):
        vf = self.emu.vf
        self.assertEqual(self.creatable(RTX_VFS[0]), [])
        self.assertEqual(self.set_type(RTX_VFS[0], 1561), errno.EIO)
        self.assertEqual(vf.create_gpu_instance(RTX, '2g.48gb'), 3)
        self.assertEqual([n for _, n in self.creatable(RTX_VFS[0])],
                         ['NVIDIA RTX Pro 6000 Blackwell DC-2-24Q', 'NVIDIA RTX Pro 6000 Blackwell DC-2-48Q'])
        self.assertEqual(self.set_type(RTX_VFS[0], 1562), 0)
        self.assertEqual(self.read(RTX_VFS[0] + '/nvidia/gpu_instance_id'), '3\n')
        self.assertEqual(self.set_type(RTX_VFS[1], 1562), 0)    # two 24 GB vGPUs on the 48 GB instance
        self.assertEqual(self.set_type(RTX_VFS[2], 1562), errno.EIO)
        self.assertEqual(vf.create_gpu_instance(RTX, '2g.48gb'), 4)
        self.assertIsNone(vf.create_gpu_instance(RTX, '1g.24gb'))  # all 4 slices taken


class SriovTest(VfSimTestCase):
    host = 'vf-off'

    def sriov_manage(self, *args):
        p = subprocess.run([simhost.SRIOV_MANAGE] + list(args), capture_output=True, text=True,
                           env=self.sim.env(), timeout=60)
        return p.returncode, p.stdout, p.stderr

    def test_after_boot(self):
        self.assertEqual(self.read(L40S + '/sriov_numvfs'), '0\n')
        self.assertEqual(self.read(L40S + '/sriov_totalvfs'), '32\n')
        base = os.path.join(self.sim.sys_dir, 'bus/pci/devices')
        self.assertFalse(os.path.exists(os.path.join(base, L40S_VFS[0])))
        self.assertFalse(os.path.lexists(os.path.join(base, L40S, 'virtfn0')))
        self.assertEqual(os.listdir(os.path.join(self.sim.root, 'dev', 'vfio')), ['vfio'])

    def test_sriov_numvfs(self):
        mon = UdevMonitor(self.sim)
        self.assertEqual(self.write((L40S + '/sriov_numvfs', '33')), [errno.ERANGE])
        self.assertEqual(self.write((L40S + '/sriov_numvfs', 'x')), [errno.EINVAL])
        self.assertEqual(self.write((L40S + '/sriov_numvfs', '32')), [0])
        self.assertEqual(self.read(L40S + '/sriov_numvfs'), '32\n')
        self.assertEqual(len(self.creatable(L40S_VFS[31])), L40S_TYPES)
        self.assertEqual(self.write((L40S + '/sriov_numvfs', '32')), [0])   # the same count: no-op
        self.assertEqual(self.write((L40S + '/sriov_numvfs', '16')), [errno.EBUSY])
        events = mon.stop()
        self.assertEqual([(a, p) for a, p, _ in events[:2]],
                         [('add', '/devices/pci0000:00/0000:00:07.1/' + L40S_VFS[0]),
                          ('bind', '/devices/pci0000:00/0000:00:07.1/' + L40S_VFS[0])])
        self.assertEqual(len(events), 64)
        self.assertEqual(events[1][2]['DRIVER'], 'nvidia')
        self.assertNotIn('DRIVER', events[0][2])
        self.assertEqual(self.set_type(L40S_VFS[0], 1150), 0)
        self.assertEqual(self.write((L40S + '/sriov_numvfs', '0')), [errno.EBUSY])
        self.assertEqual(self.set_type(L40S_VFS[0], 0), 0)
        self.assertEqual(self.write((L40S + '/sriov_numvfs', '0')), [0])
        self.assertEqual(self.read(L40S + '/sriov_numvfs'), '0\n')

    def test_numvfs_refused_by_driver(self):
        self.emu.vf.numvfs_write_errno = errno.EPERM
        self.assertEqual(self.write((L40S + '/sriov_numvfs', '32')), [errno.EPERM])
        self.assertEqual(self.read(L40S + '/sriov_numvfs'), '0\n')

    def test_sriov_manage(self):
        self.emu.vf.sriov_fail_next(1)
        rc, out, err = self.sriov_manage('-e', L40S)
        self.assertEqual((rc, err), (1, 'Cannot obtain unbindLock for %s\n' % L40S))
        self.assertEqual(self.read(L40S + '/sriov_numvfs'), '0\n')
        rc, out, err = self.sriov_manage('-e', L40S)
        self.assertEqual((rc, out, err), (0, 'Enabling VFs on %s\n' % L40S, ''))
        self.assertEqual(self.read(L40S + '/sriov_numvfs'), '32\n')
        self.assertEqual(self.read(RTX + '/sriov_numvfs'), '0\n')
        # mixed-size mode set after enabling is wiped by another -e (a rebind) on an idle GPU
        gpu = self.emu.host.vf_gpus[L40S]
        gpu.set_mixed_size(True)
        self.assertEqual(self.sriov_manage('-e', 'ALL')[0], 0)
        self.assertFalse(gpu.mixed_size)
        self.assertEqual(self.read(RTX + '/sriov_numvfs'), '16\n')
        # ... but not once a vGPU exists: -e leaves the GPU alone
        self.assertEqual(self.set_type(L40S_VFS[0], 1150), 0)
        self.assertEqual(self.sriov_manage('-e', L40S)[0], 0)
        self.assertEqual(self.read(L40S_VFS[0] + '/nvidia/current_vgpu_type'), '1150\n')
        self.assertEqual(self.sriov_manage('-x', L40S)[0], 2)
        self.assertEqual(self.sriov_manage('-e', T4)[0], 1)
        self.assertEqual(self.emu.vf.sriov_manage_calls[0], ['-e', L40S])

    def test_reboot(self):
        self.assertEqual(self.sriov_manage('-e', 'ALL')[0], 0)
        self.assertEqual(self.set_type(L40S_VFS[0], 1150), 0)
        self.emu.reboot()
        self.assertEqual(self.read(L40S + '/sriov_numvfs'), '0\n')
        self.assertEqual(self.emu.host.vf_gpus[L40S].vgpus, {})
        self.assertEqual(self.sriov_manage('-e', 'ALL')[0], 0)
        self.assertEqual(self.read(L40S_VFS[0] + '/nvidia/current_vgpu_type'), '0\n')


class MixedRebootTest(VfSimTestCase):
    host = 'mixed'

    def test_reboot_drops_mdevs_and_vfs(self):
        u = hosts.make_uuid('vf-reboot', 1)
        self.assertTrue(self.emu.create(T4, 'nvidia-231', u))
        self.assertEqual(self.set_type(L40S_VFS[0], 1150), 0)
        self.emu.reboot()
        self.assertEqual(self.emu.host.mdevs, {})
        self.assertFalse(os.path.exists(os.path.join(self.sim.sys_dir, 'bus/mdev/devices', u)))
        self.assertEqual(self.emu.available(T4, 'nvidia-231'), 8)
        self.assertEqual(self.read(L40S + '/sriov_numvfs'), '0\n')


@unittest.skipIf(simhost.fake_nvml_dir() is None, 'the fake libnvidia-ml.so.1 is not built')
class NvmlTest(VfSimTestCase):
    host = 'mixed'

    NVML = r'''
import ctypes, json, sys
n = ctypes.CDLL('libnvidia-ml.so.1')
class Mode(ctypes.Structure):
    _fields_ = [('version', ctypes.c_uint), ('mode', ctypes.c_uint)]
V1 = 8 | 1 << 24
out = {'init': n.nvmlInit_v2()}
c = ctypes.c_uint()
out['count'] = (n.nvmlDeviceGetCount_v2(ctypes.byref(c)), c.value)
names = []
for i in range(c.value):
    h = ctypes.c_void_p()
    n.nvmlDeviceGetHandleByIndex_v2(i, ctypes.byref(h))
    buf = ctypes.create_string_buffer(96)
    n.nvmlDeviceGetName(h, buf, 96)
    names.append(buf.value.decode())
out['names'] = names
h = ctypes.c_void_p()
out['by_bus'] = n.nvmlDeviceGetHandleByPciBusId_v2(sys.argv[1].encode(), ctypes.byref(h))
out['by_bus_missing'] = n.nvmlDeviceGetHandleByPciBusId_v2(b'0000:99:00.0', ctypes.byref(ctypes.c_void_p()))
small = ctypes.create_string_buffer(4)
out['name_small'] = n.nvmlDeviceGetName(h, small, 4)
m = Mode(V1, 0)
out['hetero_get'] = (n.nvmlDeviceGetVgpuHeterogeneousMode(h, ctypes.byref(m)), m.mode)
out['hetero_bad_version'] = n.nvmlDeviceGetVgpuHeterogeneousMode(h, ctypes.byref(Mode(1, 0)))
out['hetero_set'] = n.nvmlDeviceSetVgpuHeterogeneousMode(h, ctypes.byref(Mode(V1, int(sys.argv[2]))))
def ids(fn):
    c = ctypes.c_uint(0)
    rc0 = fn(h, ctypes.byref(c), None)
    arr = (ctypes.c_uint * c.value)()
    rc = fn(h, ctypes.byref(c), arr)
    return rc0, rc, list(arr)
out['supported'] = ids(n.nvmlDeviceGetSupportedVgpus)
out['creatable'] = ids(n.nvmlDeviceGetCreatableVgpus)
buf = ctypes.create_string_buffer(64)
size = ctypes.c_uint(64)
fb = ctypes.c_ulonglong()
out['type'] = (n.nvmlVgpuTypeGetName(int(sys.argv[3]), buf, ctypes.byref(size)), buf.value.decode(), size.value,
               n.nvmlVgpuTypeGetFramebufferSize(int(sys.argv[3]), ctypes.byref(fb)), fb.value)
size = ctypes.c_uint(3)
out['type_small'] = (n.nvmlVgpuTypeGetName(int(sys.argv[3]), buf, ctypes.byref(size)), size.value)
out['shutdown'] = (n.nvmlShutdown(), n.nvmlShutdown())
print(json.dumps(out))
'''

    def nvml(self, bus, mode, type_id):
        return json.loads(self.py(self.NVML, bus, str(mode), str(type_id), nvml=True))

    def test_devices_and_types(self):
        r = self.nvml('00000000:C1:00.0', 1, 1159)
        self.assertEqual(r['init'], 0)
        self.assertEqual(r['count'], [0, 7])   # T4, 4 A16 cores, RTX PRO 6000, L40S
        self.assertEqual(r['names'], ['Tesla T4', 'NVIDIA A16', 'NVIDIA A16', 'NVIDIA A16', 'NVIDIA A16',
                                      'NVIDIA RTX PRO 6000 Blackwell Server Edition', 'NVIDIA L40S'])
        self.assertEqual(r['by_bus'], 0)
        self.assertEqual(r['by_bus_missing'], 6)            # NVML_ERROR_NOT_FOUND
        self.assertEqual(r['name_small'], 7)                # NVML_ERROR_INSUFFICIENT_SIZE
        self.assertEqual(r['hetero_get'], [0, 0])
        self.assertEqual(r['hetero_bad_version'], 25)       # NVML_ERROR_ARGUMENT_VERSION_MISMATCH
        self.assertEqual(r['hetero_set'], 0)
        self.assertTrue(self.emu.host.vf_gpus[L40S].mixed_size)
        self.assertEqual(r['supported'][:2], [7, 0])
        self.assertEqual(len(r['supported'][2]), L40S_TYPES)
        self.assertEqual(r['creatable'][2], r['supported'][2])
        self.assertEqual(r['type'], [0, 'NVIDIA L40S-48Q', 16, 0, 48 << 30])
        self.assertEqual(r['type_small'], [7, 16])
        self.assertEqual(r['shutdown'], [0, 1])             # NVML_ERROR_UNINITIALIZED the second time

    def test_in_use_and_creatable(self):
        self.assertEqual(self.set_type(L40S_VFS[0], 1150), 0)
        r = self.nvml('0000:c1:00.0', 1, 1150)
        self.assertEqual(r['hetero_set'], 19)               # NVML_ERROR_IN_USE while a vGPU exists
        self.assertEqual(r['creatable'][2], [1150, 1160])
        self.assertFalse(self.emu.host.vf_gpus[L40S].mixed_size)
        r = self.nvml(T4, 1, 231)                           # a classic mdev GPU
        self.assertEqual(r['hetero_set'], 3)                # NVML_ERROR_NOT_SUPPORTED
        self.assertIn(231, r['supported'][2])
        self.assertEqual(r['type'][1], 'GRID T4-2Q')

    def test_no_driver(self):
        self.emu.vf.nvml_init_error = 9
        r = self.py('import ctypes; print(ctypes.CDLL("libnvidia-ml.so.1").nvmlInit_v2())', nvml=True)
        self.assertEqual(r.strip(), '9')                    # NVML_ERROR_DRIVER_NOT_LOADED


if __name__ == '__main__':
    unittest.main()
