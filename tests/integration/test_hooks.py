# SPDX-License-Identifier: LGPL-2.1-or-later
"""The hypervisor hooks against the real daemon on the simulated default host: `vgpuctl hook libvirt`
with real-looking domain XML on stdin (a defined mdev hostdev started from its definition, a vgpud
metadata profile acquired as the hostdev it matches, a missing hostdev named with the exact <hostdev>
to add, a failing acquire that leaves nothing behind, release) and `vgpuctl hook proxmox` with a
real-looking /etc/pve/qemu-server/<vmid>.conf (pre-start acquires by Proxmox's UUID convention,
post-stop releases, a failing start leaves nothing behind). And the installed wrapper scripts."""

import os
import re
import subprocess
import time

import vgpudtest
from test_acquire import A16_CORES, T4, AcquireTestCase, vf
from test_lifecycle import dfn
from test_vf_hosts import L40S_2Q, L40S_4Q, L40S_VFS

import hosts  # noqa: E402  (tests/sim, on the path through vgpudtest)

NS = 'https://vgpud.org/xmlns/libvirt/1'
VM_UUID = 'c7a5fdbd-edaf-4455-926a-d65c16db1809'
H1 = '5b2f9a7e-1c3d-4e5f-8a9b-0c1d2e3f4a51'
H2 = '5b2f9a7e-1c3d-4e5f-8a9b-0c1d2e3f4a52'
H3 = '5b2f9a7e-1c3d-4e5f-8a9b-0c1d2e3f4a53'
OWNER = 'libvirt:web-01'


def hostdev(uuid):
    return ("    <hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci' display='off'>\n"
            "      <source>\n        <address uuid='%s'/>\n      </source>\n    </hostdev>\n" % uuid)


def domain_xml(hostdevs=(), vgpus=(), name='web-01'):
    """A domain as `virsh dumpxml` prints it; vgpus: attribute dicts of <vgpud:vgpu> elements."""
    meta = ''
    if vgpus:
        meta = ("    <vgpud:vgpus xmlns:vgpud=\"%s\">\n" % NS +
                ''.join('      <vgpud:vgpu %s/>\n' % ' '.join("%s='%s'" % kv for kv in v.items()) for v in vgpus) +
                '    </vgpud:vgpus>\n')
    return ("<domain type='kvm'>\n"
            "  <name>%s</name>\n"
            "  <uuid>%s</uuid>\n"
            "  <metadata>\n"
            "    <libosinfo:libosinfo xmlns:libosinfo=\"http://libosinfo.org/xmlns/libvirt/domain/1.0\">\n"
            "      <libosinfo:os id=\"http://debian.org/debian/12\"/>\n"
            "    </libosinfo:libosinfo>\n%s"
            "  </metadata>\n"
            "  <memory unit='KiB'>8388608</memory>\n"
            "  <vcpu placement='static'>4</vcpu>\n"
            "  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type><boot dev='hd'/></os>\n"
            "  <devices>\n"
            "    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
            "    <disk type='file' device='disk'>\n"
            "      <driver name='qemu' type='qcow2'/>\n"
            "      <source file='/var/lib/libvirt/images/%s.qcow2'/>\n"
            "      <target dev='vda' bus='virtio'/>\n"
            "    </disk>\n"
            "    <hostdev mode='subsystem' type='pci' managed='yes'>\n"
            "      <source><address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source>\n"
            "    </hostdev>\n%s"
            "    <graphics type='vnc' port='-1' autoport='yes'/>\n"
            "  </devices>\n"
            "</domain>\n" % (name, VM_UUID, meta, name, ''.join(hostdev(u) for u in hostdevs)))


class HookCase(AcquireTestCase):

    def hook(self, *args, input=None, env=None):
        path = os.path.join(vgpudtest.builddir(), 'client', 'vgpuctl')
        p = subprocess.run([path, 'hook'] + list(args), input=input, capture_output=True, text=True,
                           env=dict(self.env(), **(env or {})), timeout=120)
        return p.returncode, p.stdout, p.stderr

    def libvirt(self, op, xml, name='web-01'):
        sub = {'prepare': 'begin', 'start': 'begin', 'started': 'begin', 'stopped': 'end', 'release': 'end'}
        return self.hook('libvirt', name, op, sub.get(op, 'begin'), '-', input=xml)

    def owned(self, owner):
        """{uuid: slot} of owner's leases."""
        return {lease[0]: lease[2] for lease in self.leases() if lease[1] == owner}


class TestLibvirtHook(HookCase):

    def test_defined_hostdev_is_started_from_its_definition(self):
        self.define(T4, H1, dfn('nvidia-231', 'manual', [('frame_rate_limiter', '0')]))
        xml = domain_xml(hostdevs=[H1])
        rc, out, err = self.libvirt('prepare', xml)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.running(), {H1})
        self.assertEqual(self.leases(), [])  # started, not acquired: nobody owns it
        # again (libvirt retries a start): running is fine
        self.assertEqual(self.libvirt('prepare', xml)[0], 0)
        self.assertEqual(self.running(), {H1})
        # release: the owner holds nothing, which is fine; the defined device stays
        rc, out, err = self.libvirt('release', xml)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.running(), {H1})

    def test_metadata_profile_becomes_its_hostdev(self):
        # H1 is defined (the domain's own), H2 and H3 are free: the two vGPUs take H2 and H3
        self.define(T4, H1, dfn('nvidia-231'))
        xml = domain_xml(hostdevs=[H1, H2, H3],
                         vgpus=[{'profile': 'A16-2Q'}, {'profile': 'NVIDIA A16-4Q', 'slot': '4', 'persist': 'yes',
                                                        'numa_node': '1', 'policy': 'spread'}])
        rc, out, err = self.libvirt('prepare', xml)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.running(), {H1, H2, H3})
        self.assertEqual(self.owned(OWNER), {H2: 0, H3: 4})
        for u, name in ((H2, 'NVIDIA A16-2Q'), (H3, 'NVIDIA A16-4Q')):
            self.assertEqual(self.sim.host.mdevs[u].mtype.name, name)
            self.assertIn(self.core_of(self.lease_of(u)[3]), A16_CORES)
            self.assertIn(u, out)
        self.assertTrue([d for d in self.def_files() if d.endswith(H3)], 'persist="yes" defines it')
        # prepare again: the same devices, nothing new
        rc, _, err = self.libvirt('prepare', xml)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.owned(OWNER), {H2: 0, H3: 4})
        # events that are not prepare or release do nothing
        for op in ('start', 'started', 'stopped', 'migrate', 'restore', 'reconnect', 'attach'):
            self.assertEqual(self.libvirt(op, 'not even XML')[0], 0, op)
        self.assertEqual(self.running(), {H1, H2, H3})
        rc, out, err = self.libvirt('release', xml)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.running(), {H1})
        self.assertEqual(self.leases(), [])
        self.assertFalse([d for d in self.def_files() if d.endswith(H3)])

    def test_uuid_attribute_and_the_hostdev_it_names(self):
        xml = domain_xml(hostdevs=[H1, H2], vgpus=[{'profile': 'T4-2Q', 'uuid': H2}, {'profile': 'T4-2Q'}])
        rc, out, err = self.libvirt('prepare', xml)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.owned(OWNER), {H2: 0, H1: 1})

    def test_missing_hostdev_names_the_uuid_and_the_element(self):
        before = self.snapshot()
        # the deterministic UUID the daemon gives this VM's slot 1
        want = self.acquire('A16-2Q', OWNER, vm_uuid=VM_UUID, slot=1, dry_run=True)[0]
        xml = domain_xml(hostdevs=[H1], vgpus=[{'profile': 'A16-2Q'}, {'profile': 'A16-2Q'}])
        rc, out, err = self.libvirt('prepare', xml)
        self.assertEqual(rc, 1, err)
        self.assertIn(want, err)
        self.assertIn("<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='%s'/>"
                      "</source></hostdev>" % want, err)
        self.assertIn('slot 1', err)
        self.assertEqual(self.snapshot(), before, 'nothing acquired when a hostdev is missing')
        # once the admin adds it, the same UUID is used
        rc, out, err = self.libvirt('prepare', domain_xml(hostdevs=[H1, want],
                                                          vgpus=[{'profile': 'A16-2Q'}, {'profile': 'A16-2Q'}]))
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.owned(OWNER), {H1: 0, want: 1})

    def test_failing_acquire_leaves_nothing_behind(self):
        # the T4 holds its one 16Q already: the second vGPU cannot be placed
        self.acquire('T4-16Q', 'test:other')
        before = self.snapshot()
        xml = domain_xml(hostdevs=[H1, H2], vgpus=[{'profile': 'A16-2Q'}, {'profile': 'T4-16Q'}])
        rc, out, err = self.libvirt('prepare', xml)
        self.assertEqual(rc, 1, err)
        self.assertIn('Error: ', err)
        self.assertIn('T4-16Q', err)
        self.assertIn(H2, err)
        after = self.snapshot()
        self.assertEqual(after[:3], before[:3], 'the A16-2Q acquired first is released again')
        self.assertEqual(self.owned(OWNER), {})

    def test_hostdev_nobody_provides_fails(self):
        started = self.snapshot()
        self.define(T4, H1, dfn('nvidia-231'))
        rc, out, err = self.libvirt('prepare', domain_xml(hostdevs=[H1, H2]))
        self.assertEqual(rc, 1, err)
        self.assertIn(H2, err)
        self.assertIn('neither running nor defined', err)
        self.assertEqual(self.running(), started[0], 'H1, started first, is stopped again')

    def test_domains_without_vgpus_need_no_daemon(self):
        self.stop_vgpud()
        rc, out, err = self.libvirt('prepare', domain_xml())
        self.assertEqual((rc, err), (0, ''))
        # but one with a vGPU does
        rc, out, err = self.libvirt('prepare', domain_xml(hostdevs=[H1]))
        self.assertEqual(rc, 1)
        self.assertTrue(err.startswith('Error: vgpud is not'), err)
        self.start_vgpud()

    def test_bad_input(self):
        for xml, want in (('', 'empty'), ('<domain><name>x</name>', 'not valid'),
                          ('<network/>', 'not a <domain>'),
                          (domain_xml(vgpus=[{'profile': 'A16-2Q', 'policy': 'random'}]), 'pack nor spread')):
            rc, out, err = self.libvirt('prepare', xml)
            self.assertEqual(rc, 1, (xml, err))
            self.assertIn(want, err)
            self.assertTrue(err.startswith('Error: '), err)
        rc, out, err = self.hook('libvirt', 'web-01', 'prepare')
        self.assertEqual(rc, 1)
        self.assertIn('usage', err)
        rc, out, err = self.hook('xen', 'a')
        self.assertEqual(rc, 2)
        self.assertEqual(self.running(), set())


PVE_CONFIG = """#Web front end%3A the team's VM
#vgpud: profile=A16-2Q
#vgpud: profile=A16-2Q,slot=3,numa_node=1,policy=spread
args: -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/00000000-0000-0000-0000-000000000101
boot: order=scsi0;net0
cores: 4
memory: 8192
meta: creation-qemu=7.2.0,ctime=1700000000
name: web-01
net0: virtio=BC:24:11:00:00:01,bridge=vmbr0
ostype: l26
scsi0: local-lvm:vm-101-disk-0,size=32G
scsihw: virtio-scsi-single
smbios1: uuid=8f4c8e1a-5b2d-4a57-9c1e-1f2e3d4c5b6a
vmgenid: 5b7c0e1e-0d3a-4a2b-9f6e-7d8c9b0a1f2e

[before-upgrade]
#vgpud: profile=T4-16Q
cores: 2
snaptime: 1700000001
"""

P0 = '00000000-0000-0000-0000-000000000101'
P3 = '00000003-0000-0000-0000-000000000101'


class TestProxmoxHook(HookCase):

    def setUp(self):
        super().setUp()
        self.pve_dir = os.path.join(self.workdir, 'qemu-server')
        os.makedirs(self.pve_dir)

    def proxmox(self, vmid, phase, config=None):
        if config is not None:
            with open(os.path.join(self.pve_dir, '%s.conf' % vmid), 'w') as f:
                f.write(config)
        return self.hook('proxmox', str(vmid), phase, env={'VGPUD_PVE_CONFIG_DIR': self.pve_dir})

    def test_pre_start_and_post_stop(self):
        rc, out, err = self.proxmox(101, 'pre-start', PVE_CONFIG)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.running(), {P0, P3})
        self.assertEqual(self.owned('proxmox:101'), {P0: 0, P3: 3})
        for u in (P0, P3):
            self.assertEqual(self.sim.host.mdevs[u].mtype.name, 'NVIDIA A16-2Q')
        # P3 is not in the args: line yet: the admin is told what to add
        self.assertIn('args: -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/' + P3, err)
        self.assertNotIn('devices/' + P0 + '\n', err)
        for phase in ('post-start', 'pre-stop'):
            self.assertEqual(self.proxmox(101, phase)[0], 0)
        self.assertEqual(self.running(), {P0, P3})
        rc, out, err = self.proxmox(101, 'post-stop')
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.running(), set())
        self.assertEqual(self.leases(), [])
        # nothing held: fine
        self.assertEqual(self.proxmox(101, 'post-stop')[0], 0)

    def test_failing_pre_start_leaves_nothing_behind(self):
        self.acquire('T4-16Q', 'test:other')
        before = self.snapshot()
        config = '#vgpud: profile=A16-2Q\n#vgpud: profile=T4-16Q\ncores: 2\n'
        rc, out, err = self.proxmox(102, 'pre-start', config)
        self.assertEqual(rc, 1, err)
        self.assertIn('T4-16Q', err)
        self.assertEqual(self.snapshot()[:3], before[:3])
        self.assertEqual(self.owned('proxmox:102'), {})

    def test_bad_configs(self):
        rc, out, err = self.proxmox(103, 'pre-start', '#vgpud: profile=A16-2Q\n#vgpud: slot=2\n')
        self.assertEqual(rc, 1)
        self.assertIn('line 2: no profile', err)
        rc, out, err = self.proxmox(104, 'pre-start')  # no such config
        self.assertEqual(rc, 1)
        self.assertIn('104.conf', err)
        rc, out, err = self.proxmox('1o1', 'pre-start')
        self.assertEqual(rc, 1)
        self.assertIn('not a Proxmox VMID', err)
        # a VM without vgpud lines: nothing to do
        self.assertEqual(self.proxmox(105, 'pre-start', 'cores: 1\n')[0], 0)
        self.assertEqual(self.running(), set())


class TestWrappers(vgpudtest.VgpudTestCase):
    start_daemon = False
    polkit = None

    def test_installed_wrappers_exec_vgpuctl_hook(self):
        dest = os.path.join(self.workdir, 'dest')
        p = subprocess.run(['meson', 'install', '-C', vgpudtest.builddir(), '--destdir', dest, '--no-rebuild',
                            '--quiet'], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        found = {}
        for root, _, files in os.walk(dest):
            for f in files:
                if root.endswith(os.path.join('vgpud', 'hooks')):
                    found[f] = os.path.join(root, f)
        self.assertEqual(sorted(found), ['libvirt-qemu', 'proxmox-hookscript'])
        for name, kind in (('libvirt-qemu', 'libvirt'), ('proxmox-hookscript', 'proxmox')):
            st = os.stat(found[name])
            self.assertEqual(st.st_mode & 0o777, 0o755)
            with open(found[name]) as f:
                text = f.read()
            self.assertTrue(text.startswith('#!/bin/sh\n'))
            self.assertRegex(text, r'\nexec "/\S+/bin/vgpuctl" hook %s "\$@"\n' % kind)
            # the wrapper passes its arguments and stdin through (vgpuctl swapped for a recorder)
            fake = os.path.join(self.workdir, 'vgpuctl-' + kind)
            with open(fake, 'w') as f:
                f.write('#!/bin/sh\nprintf "%s|" "$@"\ncat\n')
            os.chmod(fake, 0o755)
            script = os.path.join(self.workdir, name)
            with open(script, 'w') as f:
                f.write(re.sub(r'exec "\S+"', 'exec "%s"' % fake, text))
            os.chmod(script, 0o755)
            p = subprocess.run([script, 'a b', 'prepare'], input='<domain/>', capture_output=True, text=True)
            self.assertEqual(p.stdout, 'hook|%s|a b|prepare|<domain/>' % kind)


def a16_vfs():
    """Every VF of the A16 board, core by core: what Proxmox's GUI puts in a mapping of all of them."""
    return [vf(core, i) for core in A16_CORES for i in range(16)]


def pci_mapping(name, paths, node='pve1', other_node=None):
    """/etc/pve/mapping/pci.cfg as Proxmox writes it: one `map` line per device of a node."""
    lines = ['%s\n' % name, '\tdescription all A16 VFs\n', '\tmdev 1\n']
    for p in paths:
        lines.append('\tmap id=10de:25b6,iommugroup=%d,node=%s,path=%s,subsystem-id=10de:14a9\n'
                     % (100 + len(lines), node, p))
    for p in other_node or ():
        lines.append('\tmap id=10de:25b6,node=pve2,path=%s,subsystem-id=10de:14a9\n' % p)
    return ''.join(lines) + '\nT4\n\tmap id=10de:1eb8,iommugroup=7,node=pve1,path=0000:41:00.0\n'


def pve_vm(vmid, hostpci, numa=''):
    """A VM config as the Terraform provider (bpg/proxmox) leaves it, with hostpciN lines."""
    return ('agent: 1\nbios: ovmf\nboot: order=scsi0\ncores: 4\ncpu: host\n%s'
            'machine: q35\nmemory: 8192\nmeta: creation-qemu=9.0.2,ctime=1760000000\nname: vm-%d\n'
            'net0: virtio=BC:24:11:3A:00:%02X,bridge=vmbr0\n%s'
            'scsi0: local-zfs:vm-%d-disk-0,size=64G\nsmbios1: uuid=3d6f1c2a-0b5e-4e8f-9a1d-%012d\n'
            % (''.join('hostpci%d: %s\n' % (i, v) for i, v in hostpci), vmid, vmid % 256, numa, vmid, vmid))


class TestProxmoxMdevLines(HookCase):
    """Proxmox's own `hostpciN: mapping=...,mdev=...` and host lines: vgpud places in front of
    qemu-server's "first free" and makes the vGPU with the UUID qemu-server then adopts."""

    def setUp(self):
        super().setUp()
        self.pve_dir = os.path.join(self.workdir, 'qemu-server')
        os.makedirs(self.pve_dir)
        self.mapping_file = os.path.join(self.workdir, 'pci.cfg')
        with open(self.mapping_file, 'w') as f:
            f.write(pci_mapping('A16-pool', a16_vfs(), other_node=[vf(A16_CORES[3], 15)]))
        self.t = {n: hosts.nvidia_type_by_name(self.sim.host, vf(A16_CORES[0], 0), 'NVIDIA A16-' + n)
                  for n in ('2Q', '4Q', '16Q')}

    def proxmox(self, vmid, phase, config=None):
        if config is not None:
            with open(os.path.join(self.pve_dir, '%s.conf' % vmid), 'w') as f:
                f.write(config)
        return self.hook('proxmox', str(vmid), phase,
                         env={'VGPUD_PVE_CONFIG_DIR': self.pve_dir, 'VGPUD_PVE_MAPPING_FILE': self.mapping_file,
                              'VGPUD_PVE_NODE': 'pve1'})

    def first_free(self, candidates, type_dirname):
        """qemu-server's choice: the first device with an instance of the type left, or None."""
        for c in candidates:
            if self.sim.emulator.available(c, type_dirname) >= 1:
                return c
        return None

    def empty_cores(self):
        busy = {self.core_of(m.parent.name) for m in self.sim.host.mdevs.values()}
        return sorted(set(A16_CORES) - busy)

    def wait_listed(self, want):
        deadline = time.monotonic() + vgpudtest.WAIT_TIMEOUT
        while self.listed_devices() != want and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.listed_devices(), want)

    def test_mapping_placement_where_first_free_strands_and_fails(self):
        c63, c64, c65, c66 = A16_CORES
        self.acquire('A16-4Q', 'test:other', slot=0, parent=c64)
        self.acquire('A16-2Q', 'test:other', slot=1, parent=c65)
        self.acquire('A16-2Q', 'test:other', slot=2, parent=c66)
        before = self.running()
        self.assertEqual(self.empty_cores(), [c63])

        # Proxmox alone: a 4Q takes the first VF with an instance left, on the one empty core...
        ff = self.first_free(a16_vfs(), self.t['4Q'])
        self.assertEqual(ff, vf(c63, 0))
        stray = hosts.make_uuid('first-free', 1)
        self.assertTrue(self.sim.emulator.create(ff, self.t['4Q'], stray))
        self.assertEqual(self.empty_cores(), [])  # stranded: core 63 now runs 4096 MiB vGPUs
        # ...and the next VM's 16Q has no device left: qemu-server's "could not create mediated device"
        self.assertIsNone(self.first_free(a16_vfs(), self.t['16Q']))
        self.sim.emulator.remove(stray)
        self.wait_listed(before)

        # with vgpud in front: the 4Q joins core 64 (already at that size), the 16Q gets core 63
        p101, p102 = '00000000-0000-0000-0000-000000000101', '00000000-0000-0000-0000-000000000102'
        rc, out, err = self.proxmox(101, 'pre-start', pve_vm(101, [(0, 'mapping=A16-pool,mdev=%s,pcie=1'
                                                                   % self.t['4Q'])]))
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.core_of(self.sim.host.mdevs[p101].parent.name), c64)
        rc, out, err = self.proxmox(102, 'pre-start', pve_vm(102, [(0, 'mapping=A16-pool,mdev=%s'
                                                                   % self.t['16Q'])]))
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.core_of(self.sim.host.mdevs[p102].parent.name), c63)
        for u, t, vmid in ((p101, '4Q', 101), (p102, '16Q', 102)):
            m = self.sim.host.mdevs[u]
            self.assertEqual(m.mtype.dirname, self.t[t])
            # what qemu-server's pci_create_mdev_device checks before it adopts the device
            d = os.path.join(self.sim.sys_dir, 'bus/pci/devices', m.parent.name, u)
            self.assertTrue(os.path.isdir(d), d)
            self.assertEqual(os.path.basename(os.readlink(os.path.join(d, 'mdev_type'))), self.t[t])
            self.assertEqual(self.owned('proxmox:%d' % vmid), {u: 0})
            self.assertIn(u, out if vmid == 102 else self.proxmox(vmid, 'pre-start')[1])  # idempotent

        # nothing fits: vgpud's sentence instead of EINVAL, and nothing made
        snap = self.snapshot()
        rc, out, err = self.proxmox(103, 'pre-start', pve_vm(103, [(1, 'mapping=A16-pool,mdev=%s'
                                                                   % self.t['16Q'])]))
        self.assertEqual(rc, 1)
        self.assertIn('hostpci1 (mapping A16-pool, mdev=%s)' % self.t['16Q'], err)
        self.assertIn('No room for', err)
        self.assertIn('runs 4096 MiB vGPUs (NVIDIA A16-4Q)', err)
        self.assertIn('runs 2048 MiB vGPUs (NVIDIA A16-2Q)', err)
        self.assertEqual(self.snapshot()[:3], snap[:3])

        rc, out, err = self.proxmox(101, 'post-stop')
        self.assertEqual(rc, 0, err)
        self.assertNotIn(p101, self.running())
        self.assertEqual(self.owned('proxmox:101'), {})
        self.assertIn(p102, self.running())

    def test_host_lists_numa_and_bad_lines(self):
        c63, c64 = A16_CORES[:2]
        self.acquire('A16-4Q', 'test:other', parent=vf(c64, 1))
        hostlist = '%s;%s' % (vf(c63, 0), vf(c64, 0))
        self.assertEqual(self.first_free(hostlist.split(';'), self.t['4Q']), vf(c63, 0))  # strands 63
        t4_4q = hosts.nvidia_type_by_name(self.sim.host, T4, 'GRID T4-4Q')
        rc, out, err = self.proxmox(110, 'pre-start', pve_vm(110, [(0, '%s,mdev=%s' % (hostlist, self.t['4Q'])),
                                                                   (2, 'host=41:00.0,mdev=%s,rombar=0' % t4_4q),
                                                                   (3, 'mapping=T4,x-vga=1')]))
        self.assertEqual(rc, 0, err)
        p0, p2 = '00000000-0000-0000-0000-000000000110', '00000002-0000-0000-0000-000000000110'
        self.assertEqual(self.sim.host.mdevs[p0].parent.name, vf(c64, 0))
        self.assertEqual(self.sim.host.mdevs[p2].parent.name, T4)
        self.assertEqual(self.owned('proxmox:110'), {p0: 0, p2: 2})
        self.assertIn('cannot use mediated device with multifunction device', err)  # the warning
        self.assertEqual(self.proxmox(110, 'post-stop')[0], 0)
        self.assertEqual(self.owned('proxmox:110'), {})

        # a VM pinned to host NUMA node 0 cannot have the A16 (node 1): said, nothing made
        snap = self.snapshot()
        numa = 'numa: 1\nnuma0: cpus=0-3,hostnodes=0,memory=8192,policy=bind\n'
        rc, out, err = self.proxmox(111, 'pre-start', pve_vm(111, [(0, 'mapping=A16-pool,mdev=%s' % self.t['2Q'])],
                                                           numa))
        self.assertEqual(rc, 1)
        self.assertIn('on NUMA node 0', err)
        self.assertEqual(self.snapshot()[:3], snap[:3])

        for vmid, line, want in ((112, 'mapping=nope,mdev=%s' % self.t['2Q'], "no PCI mapping 'nope'"),
                                 (113, 'mapping=A16-pool,host=41:00.0,mdev=x', 'both host and mapping'),
                                 (114, '41:00.0;zz:00.0,mdev=%s' % t4_4q, "'zz:00.0' is not a PCI id")):
            rc, out, err = self.proxmox(vmid, 'pre-start', pve_vm(vmid, [(0, line)]))
            self.assertEqual(rc, 1, line)
            self.assertIn(want, err)
        # another node's entries are not this node's devices
        with open(self.mapping_file, 'w') as f:
            f.write(pci_mapping('A16-pool', [], other_node=a16_vfs()))
        rc, out, err = self.proxmox(115, 'pre-start', pve_vm(115, [(0, 'mapping=A16-pool,mdev=%s' % self.t['2Q'])]))
        self.assertEqual(rc, 1)
        self.assertIn("has no device on node 'pve1'", err)
        self.assertEqual(self.snapshot()[:3], snap[:3])


class TestProxmoxVfLines(HookCase):
    """`hostpciN: mapping=...,mdev=nvidia-NNN` on an NVIDIA vGPU 17+ host (VFs with nvidia/): qemu-server
    writes current_vgpu_type itself, so the hookscript only checks that the type fits among the mapping's
    VFs (stopping the start with vgpud's sentence when it does not) and writes nothing, at pre-start or
    at post-stop: the two never undo each other's work."""
    host = 'l40s'

    def setUp(self):
        super().setUp()
        self.pve_dir = os.path.join(self.workdir, 'qemu-server')
        os.makedirs(self.pve_dir)
        self.mapping_file = os.path.join(self.workdir, 'pci.cfg')
        lines = ['L40S-pool\n', '\tdescription the L40S VFs\n']
        for i, p in enumerate(L40S_VFS):
            lines.append('\tmap id=10de:26b9,iommugroup=%d,node=pve1,path=%s\n' % (200 + i, p))
        with open(self.mapping_file, 'w') as f:
            f.write(''.join(lines))

    def proxmox(self, vmid, phase, config=None):
        if config is not None:
            with open(os.path.join(self.pve_dir, '%s.conf' % vmid), 'w') as f:
                f.write(config)
        return self.hook('proxmox', str(vmid), phase,
                         env={'VGPUD_PVE_CONFIG_DIR': self.pve_dir, 'VGPUD_PVE_MAPPING_FILE': self.mapping_file,
                              'VGPUD_PVE_NODE': 'pve1'})

    def held(self):
        """{VF: type id} of the vGPUs the simulated driver holds."""
        with self.sim.emulator.lock:
            return {vf: g.vtype.type_id for gpu in self.sim.host.vf_gpus.values() for vf, g in gpu.vgpus.items()}

    def test_vf_lines_are_checked_and_left_to_qemu_server(self):
        line = [(0, 'mapping=L40S-pool,mdev=nvidia-%d,pcie=1' % L40S_4Q)]
        rc, out, err = self.proxmox(201, 'pre-start', pve_vm(201, line))
        self.assertEqual(rc, 0, err)
        self.assertIn('qemu-server sets the type on the VF itself', out)
        self.assertEqual(self.held(), {})  # nothing written: qemu-server chooses the VF and writes
        self.assertEqual(self.leases(), [])

        # qemu-server put a 2Q vGPU on the GPU: a 4Q no longer fits, and the start stops with the reason
        self.assertEqual(self.sim.emulator.vf.set_vgpu_type(L40S_VFS[0], L40S_2Q), 0)
        rc, out, err = self.proxmox(202, 'pre-start', pve_vm(202, line))
        self.assertEqual(rc, 1, out)
        self.assertIn('VM 202, hostpci0', err)
        self.assertEqual(self.held(), {L40S_VFS[0]: L40S_2Q})

        # post-stop leaves qemu-server's vGPU to qemu-server's own cleanup
        rc, out, err = self.proxmox(201, 'post-stop')
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.held(), {L40S_VFS[0]: L40S_2Q})
