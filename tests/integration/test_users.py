# SPDX-License-Identifier: LGPL-2.1-or-later
"""Who uses each vGPU, whoever made it (dbus/org.vgpud1.xml: Device.User, UserKind, UserPid, Idle,
IdleSince; Manager.ScanUsers, Idle, Orphans, ReleaseIdle), on the simulated default host: devices made
as mdevctl makes them (a write to create), by `vgpuctl start`, by Acquire, from a definition and with
a Proxmox UUID; held by fake VMs (a QEMU with -name guest=, a Proxmox QEMU with -id, a process that a
libvirt runtime status file names) and by a plain process. Only the truly idle ones are idle, `status`
shows every user, and `release --idle` removes exactly the idle ones."""

import os
import subprocess

from gi.repository import GLib

from test_acquire import DEVICE, ERR, MANAGER, T4, AcquireTestCase
from test_lifecycle import device_path, dfn
from test_vgpuctl_alloc import table

import hosts  # noqa: E402  (tests/sim, on the path through vgpudtest)

LIBVIRT_STATUS = """<!--
WARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE
OVERWRITTEN AND LOST. Changes to this xml configuration should be made using:
  virsh edit %(name)s
or other application using the libvirt API.
-->

<domstatus state='running' reason='booted' pid='%(pid)d'>
  <taint flag='high-privileges'/>
  <monitor path='/var/lib/libvirt/qemu/domain-3-%(name)s/monitor.sock' type='unix'/>
  <vcpus>
    <vcpu id='0' pid='%(vcpu)d'/>
  </vcpus>
  <domain type='kvm' id='3'>
    <name>%(name)s</name>
    <uuid>c7a5fdbd-edaf-4455-926a-d65c16db1809</uuid>
    <memory unit='KiB'>8388608</memory>
  </domain>
</domstatus>
"""


def u(n):
    return hosts.make_uuid('users', n)


class TestUsers(AcquireTestCase):

    def setUp(self):
        super().setUp()
        self.libvirt_dir = os.path.join(self.workdir, 'libvirt-qemu')
        os.makedirs(self.libvirt_dir)
        # no periodic scan: what the test sees comes from ScanUsers and ReleaseIdle, not from timing
        self.write_config('[Users]\nLibvirtRunDirectory=%s\nScanIntervalSec=0\n' % self.libvirt_dir)
        self.restart_vgpud()
        self.t = hosts.nvidia_type_by_name(self.sim.host, T4, 'GRID T4-1Q')

    def hold(self, uuid, *vm_args):
        """A process holding the device's VFIO group, its command line ending in vm_args (as QEMU's)."""
        with open(self.sim.emulator.vfio_group_path(uuid), 'rb') as f:
            p = subprocess.Popen(['/usr/bin/python3', '-c', 'import time; time.sleep(600)'] + list(vm_args),
                                 stdin=f)
        self.holders.append(p)
        return p

    def user(self, uuid):
        path = device_path(uuid)
        return tuple(self.get_property(path, DEVICE, n) for n in ('UserKind', 'User', 'UserPid', 'Idle'))

    def idle(self):
        return self.get_property('/org/vgpud1', MANAGER, 'Idle')

    def make_devices(self):
        """Nine T4 vGPUs, made in every way there is; returns {name: uuid}."""
        d = {name: u(i) for i, name in enumerate(['qemu', 'proxmox_vm', 'libvirt', 'sleep', 'started', 'lease',
                                                   'defined', 'proxmox_uuid', 'mdevctl'])}
        d['proxmox_uuid'] = '00000001-0000-0000-0000-000000000107'
        for name in ('qemu', 'proxmox_vm', 'libvirt', 'sleep', 'mdevctl', 'proxmox_uuid'):
            self.assertTrue(self.sim.emulator.create(T4, self.t, d[name]), name)  # as mdevctl start does
        for name in ('started',):
            rc, out, err = self.run_vgpuctl('start', '-u', d[name], '-p', T4, '-t', self.t)
            self.assertEqual(rc, 0, err)
        d['lease'] = self.acquire('T4-1Q', 'ci:job7', parent=T4)[0]
        self.define(T4, d['defined'], dfn(self.t))
        self.start(T4, d['defined'])
        self.assertTrue(self.wait_for(lambda s: set(d.values()) <= self.listed_devices(), timeout=10))
        return d

    def test_every_device_shows_its_user_and_only_idle_ones_go(self):
        d = self.make_devices()
        qemu = self.hold(d['qemu'], '-name', 'guest=vm-a,debug-threads=on', '-uuid', d['qemu'])
        pve = self.hold(d['proxmox_vm'], '-id', '105', '-name', 'render-05,debug-threads=on')
        lv = self.hold(d['libvirt'], '-name', 'guest=web-01,debug-threads=on')
        plain = self.hold(d['sleep'])
        with open(os.path.join(self.libvirt_dir, 'web-01.xml'), 'w') as f:
            f.write(LIBVIRT_STATUS % {'name': 'web-01', 'pid': lv.pid, 'vcpu': lv.pid + 1})
        held_by_lease = self.hold(d['lease'])
        self.manager('ScanUsers', None, None)

        want = {
            'qemu': ('process', 'qemu:vm-a', qemu.pid, False),
            'proxmox_vm': ('process', 'proxmox:105', pve.pid, False),
            'libvirt': ('process', 'libvirt:web-01', lv.pid, False),
            'sleep': ('process', 'pid %d (python3)' % plain.pid, plain.pid, False),
            'started': ('', '', 0, True),
            'lease': ('lease', 'ci:job7', held_by_lease.pid, False),
            'defined': ('definition', 'definition', 0, False),
            'proxmox_uuid': ('proxmox', 'proxmox:107', 0, True),
            'mdevctl': ('', '', 0, True),
        }
        for name, w in want.items():
            self.assertEqual(self.user(d[name]), w, name)
        idle = sorted(d[n] for n in ('started', 'proxmox_uuid', 'mdevctl'))
        self.assertEqual(self.idle(), idle)
        self.assertEqual(self.get_property('/org/vgpud1', MANAGER, 'Orphans'), idle)  # the old name
        for name in ('started', 'mdevctl'):
            self.assertGreater(self.get_property(device_path(d[name]), DEVICE, 'IdleSince'), 0)
        self.assertEqual(self.get_property(device_path(d['qemu']), DEVICE, 'IdleSince'), 0)

        # status: every running vGPU with its user
        rc, out, err = self.run_vgpuctl('status')
        self.assertEqual(rc, 0, err)
        rows = {r['VGPU']: r for r in table(out.split('\n\n')[2])}
        self.assertEqual(sorted(rows), sorted(d.values()))
        self.assertEqual(rows[d['libvirt']]['USED BY'], 'process libvirt:web-01')
        self.assertEqual(rows[d['libvirt']]['PID'], str(lv.pid))
        self.assertEqual(rows[d['proxmox_uuid']]['USED BY'], 'proxmox:107 (UUID)')
        self.assertEqual(rows[d['lease']]['USED BY'], 'lease ci:job7')
        self.assertEqual(rows[d['defined']]['USED BY'], 'definition')
        self.assertEqual(rows[d['mdevctl']]['USED BY'], 'nobody')
        self.assertEqual({n for n, r in rows.items() if r['IDLE'] != '-'}, set(idle))

        # release --idle: nothing idle for an hour yet; a dry run lists; then exactly the idle ones go
        before = self.running()
        rc, out, err = self.run_vgpuctl('release', '--idle', '--older-than', '1h')
        self.assertEqual((rc, out), (0, ''), err)
        rc, out, err = self.run_vgpuctl('release', '--idle', '--dry-run')
        self.assertEqual((rc, sorted(out.split())), (0, idle), err)
        self.assertEqual(self.running(), before)
        rc, out, err = self.run_vgpuctl('release', '--idle')
        self.assertEqual((rc, sorted(out.split())), (0, idle), err)
        self.assertEqual(self.running(), before - set(idle))
        self.assertEqual(self.idle(), [])

        # a VM that stops leaves its vGPU idle, since then
        qemu.kill()
        qemu.wait()
        self.manager('ScanUsers', None, None)
        self.assertEqual(self.user(d['qemu']), ('', '', 0, True))
        self.assertEqual(self.idle(), [d['qemu']])
        rc, out, err = self.run_vgpuctl('release', '--idle', '--older-than', '5m')
        self.assertEqual((rc, out), (0, ''), err)
        self.assertIn(d['qemu'], self.running())

    def test_release_idle_looks_again_and_leaves_a_device_taken_since_the_scan(self):
        d = self.make_devices()
        self.manager('ScanUsers', None, None)
        idle = set(self.idle())
        self.assertEqual(idle, set(d.values()) - {d['lease'], d['defined']})  # nobody holds any yet
        # the scan said idle; a VM opens it before the release: the release looks again and leaves it
        self.hold(d['mdevctl'], '-name', 'guest=late')
        released = sorted(self.manager('ReleaseIdle', '(a{sv})', ({},))[0])
        self.assertEqual(released, sorted(idle - {d['mdevctl']}))
        self.assertIn(d['mdevctl'], self.running())
        self.assertEqual(self.user(d['mdevctl'])[:2], ('process', 'qemu:late'))

    def test_the_periodic_scan_sees_a_holder_come_and_go(self):
        # [Users] ScanIntervalSec: vgpud looks by itself (its pass over /proc off the loop, through
        # the Busy check's worker) and what it finds shows without ScanUsers
        self.write_config('[Users]\nLibvirtRunDirectory=%s\nScanIntervalSec=1\n' % self.libvirt_dir)
        self.restart_vgpud()
        d = u(0)
        self.assertTrue(self.sim.emulator.create(T4, self.t, d))
        self.assertTrue(self.wait_for(lambda s: d in self.listed_devices(), timeout=10))
        self.assertTrue(self.wait_for(lambda s: self.user(d) == ('', '', 0, True)), self.user(d))
        p = self.hold(d, '-name', 'guest=tick')
        self.assertTrue(self.wait_for(lambda s: self.user(d) == ('process', 'qemu:tick', p.pid, False)),
                        self.user(d))
        self.assertEqual(self.idle(), [])
        p.kill()
        p.wait()
        self.assertTrue(self.wait_for(lambda s: self.user(d) == ('', '', 0, True)), self.user(d))
        self.assertEqual(self.idle(), [d])

    def test_scan_users_called_together_answer_once_the_scan_is_applied(self):
        # ScanUsers' pass is made off the loop; calls within its 20 ms wait for the same scan: each
        # caller, when answered, reads what the scan found (whether a call joined the first one's scan
        # or came after it is the loop's timing: this checks the answers, not which way they came)
        d = self.make_devices()
        p = self.hold(d['mdevctl'], '-name', 'guest=together')
        seen = {}

        def done(conn, res, k):
            try:
                conn.call_finish(res)
                seen[k] = self.user(d['mdevctl'])
            except GLib.Error as e:
                seen[k] = ('error', e.message)
        for k in range(6):
            self.gconn.call('org.vgpud1', '/org/vgpud1', MANAGER, 'ScanUsers', None, None, 0, 60000, None,
                            done, k)
        self.assertTrue(self.wait_for(lambda s: len(seen) == 6), seen)
        for k in range(6):
            self.assertEqual(seen[k], ('process', 'qemu:together', p.pid, False), k)

    def test_bad_release_idle_arguments(self):
        for args, want in ((['release', '--idle', '--older-than', '5x'], 'duration'),
                           (['release', '--idle', '--owner', 'a'], "cannot be used with"),
                           (['release', '--older-than', '5m', '--owner', 'a'], "go with '--idle'")):
            rc, out, err = self.run_vgpuctl(*args)
            self.assertEqual(rc, 2, args)
            self.assertIn(want, err)
        self.assertError(ERR + 'InvalidArgument', self.manager, 'ReleaseIdle', '(a{sv})', ({'older': GLib.Variant('t', 5)},))
