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

import vgpudtest
from test_acquire import A16_CORES, T4, AcquireTestCase
from test_lifecycle import dfn

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
