# SPDX-License-Identifier: LGPL-2.1-or-later
"""vgpud's live inventory on a private system bus over the simulated host: objects and properties,
the contract in dbus/org.vgpud1.xml, signals when sysfs changes, vgpuctl status, and the daemon's
own life cycle (READY, SIGTERM, a client when it is not running)."""

import os
import re
import socket
import subprocess
import time
import xml.etree.ElementTree as ET

import vgpudtest
from vgpudtest import REPO

GPU = 'org.vgpud1.Gpu'
DEVICE = 'org.vgpud1.Device'
DEFINITION = 'org.vgpud1.Definition'
MANAGER = 'org.vgpud1.Manager'
T4 = '0000:41:00.0'
T4_PATH = '/org/vgpud1/gpu/_30000_3a41_3a00_2e0'
UUID = '6c1f4a1e-2d7b-4b8e-9a55-7f0e2a1d3c41'
UUID_PATH = '/org/vgpud1/device/_36c1f4a1e_2d2d7b_2d4b8e_2d9a55_2d7f0e2a1d3c41'
ANNOTATION = 'org.freedesktop.DBus.Property.EmitsChangedSignal'


def interfaces_from_xml(text):
    """{interface: {'methods': {name: [(direction, type)]}, 'properties': {name: (type, access, emits)},
    'signals': {...}}} of an introspection document."""
    out = {}
    for iface in ET.fromstring(text).iter('interface'):
        name = iface.get('name')
        if name.startswith('org.freedesktop.DBus.'):
            continue
        d = {'methods': {}, 'properties': {}, 'signals': {}}
        for m in iface.findall('method'):
            d['methods'][m.get('name')] = [(a.get('direction', 'in'), a.get('type')) for a in m.findall('arg')]
        for s in iface.findall('signal'):
            d['signals'][s.get('name')] = [a.get('type') for a in s.findall('arg')]
        for p in iface.findall('property'):
            emits = 'true'
            for a in p.findall('annotation'):
                if a.get('name') == ANNOTATION:
                    emits = a.get('value')
            d['properties'][p.get('name')] = (p.get('type'), p.get('access'), emits)
        out[name] = d
    return out


def om_paths(signals, member):
    """Object paths announced by InterfacesAdded/InterfacesRemoved (sent on /org/vgpud1, the object
    path is their first argument)."""
    return {args[0] for m, p, args in signals if m == member and p == '/org/vgpud1'}


def gpus(objects):
    return {props[GPU]['Name']: (path, props[GPU]) for path, props in objects.items() if GPU in props}


def devices(objects):
    return {props[DEVICE]['Uuid']: (path, props[DEVICE]) for path, props in objects.items() if DEVICE in props}


class TestContract(vgpudtest.VgpudTestCase):
    host = 'default'

    def introspect(self, path):
        return self.call(path, 'org.freedesktop.DBus.Introspectable', 'Introspect')[0]

    def test_live_interfaces_match_the_xml(self):
        with open(os.path.join(REPO, 'dbus', 'org.vgpud1.xml')) as f:
            contract = interfaces_from_xml(f.read())
        self.assertEqual(set(contract), {MANAGER, GPU, DEVICE, DEFINITION})
        self.sim.emulator.create(T4, 'nvidia-231', UUID)
        self.assertTrue(self.wait_for(lambda s: UUID_PATH in om_paths(s, 'InterfacesAdded')))
        objects = self.get_managed_objects()
        definition = next(p for p, props in objects.items() if DEFINITION in props) if any(
            DEFINITION in props for props in objects.values()) else None
        live = {}
        for path in ['/org/vgpud1', T4_PATH, UUID_PATH] + ([definition] if definition else []):
            live.update(interfaces_from_xml(self.introspect(path)))
        for iface in (MANAGER, GPU, DEVICE):
            self.assertEqual(live[iface], contract[iface], iface)
        if definition:
            self.assertEqual(live[DEFINITION], contract[DEFINITION])

    def test_object_manager_lists_every_parent(self):
        objects = self.get_managed_objects()
        names = set(gpus(objects))
        self.assertEqual(names, set(self.sim.host.parents))
        self.assertNotIn('/org/vgpud1', objects)  # the manager lists its children
        self.assertEqual(self.get_property('/org/vgpud1', MANAGER, 'DefinitionsDirectory'),
                         self.sim.definitions_dir)


class TestInventory(vgpudtest.VgpudTestCase):
    host = 'default'

    def test_pci_identity_and_names(self):
        _, t4 = gpus(self.get_managed_objects())[T4]
        self.assertEqual(t4['Subsystem'], 'pci')
        self.assertEqual(t4['Driver'], 'nvidia')
        self.assertEqual((t4['VendorId'], t4['DeviceId']), (0x10de, 0x1eb8))
        self.assertEqual(t4['Vendor'], 'NVIDIA Corporation')
        self.assertEqual(t4['Model'], 'TU104GL [Tesla T4]')
        self.assertEqual(t4['NumaNode'], 0)
        self.assertEqual(t4['Core'], T4)
        self.assertEqual(t4['Board'], T4)
        self.assertEqual(t4['BoardModel'], 'Tesla T4')
        self.assertTrue(t4['SysfsPath'].startswith('/sys/devices/pci0000:00/'), t4['SysfsPath'])

    def test_a16_board_cores_and_vfs(self):
        all_gpus = gpus(self.get_managed_objects())
        a16 = {name: p for name, (_, p) in all_gpus.items() if p['DeviceId'] == 0x25b6}
        self.assertEqual(len(a16), 64)  # 4 cores x 16 VFs
        cores = {p['Core'] for p in a16.values()}
        self.assertEqual(len(cores), 4)
        boards = {p['Board'] for p in a16.values()}
        self.assertEqual(len(boards), 1)
        self.assertNotIn(boards.pop(), cores)  # the board is the PCIe switch, not a core
        for name, p in a16.items():
            self.assertNotEqual(p['Core'], name)  # a VF's core is its physical function
            self.assertEqual(p['BoardModel'], 'A16')
            self.assertEqual(p['NumaNode'], 1)
            self.assertEqual(p['SizeClass'], 0)
            self.assertEqual(p['CoreUsed'], 0)

    def test_types_carry_size_and_limits(self):
        _, t4 = gpus(self.get_managed_objects())[T4]
        types = {t[0]: t for t in t4['Types']}
        self.assertEqual([t[0] for t in t4['Types']], sorted(types))
        tid, name, desc, api, avail, maxi, fb, profile = types['nvidia-231']
        self.assertEqual((name, api, avail, maxi, fb, profile), ('GRID T4-2Q', 'vfio-pci', 8, 8, 2048, 'T4-2Q'))
        self.assertIn('framebuffer=2048M', desc)

    def test_gvtg_and_mtty(self):
        all_gpus = gpus(self.get_managed_objects())
        _, gvt = all_gpus['0000:00:02.0']
        self.assertEqual(gvt['VendorId'], 0x8086)
        self.assertTrue(all(t[0].startswith('i915-GVTg') for t in gvt['Types']))
        self.assertTrue(all(t[6] == 0 for t in gvt['Types']))  # no framebuffer size rule
        _, mtty = all_gpus['mtty']
        self.assertEqual(mtty['VendorId'], 0)
        self.assertEqual(mtty['Core'], 'mtty')
        self.assertEqual(mtty['NumaNode'], -1)
        self.assertEqual(sorted(t[0] for t in mtty['Types']), ['mtty-1', 'mtty-2'])

    def test_device_appears_and_goes_with_signals(self):
        self.recorder.clear()
        self.assertTrue(self.sim.emulator.create(T4, 'nvidia-231', UUID))
        self.assertTrue(self.wait_for(lambda s: UUID_PATH in om_paths(s, 'InterfacesAdded')))
        added = [args for m, p, args in self.recorder.of('InterfacesAdded') if args[0] == UUID_PATH][0]
        dev = added[1][DEVICE]
        self.assertEqual(dev["State"], "active")
        self.assertEqual((dev['Uuid'], dev['Parent'], dev['TypeId'], dev['TypeName'], dev['FramebufferMiB']),
                         (UUID, T4, 'nvidia-231', 'GRID T4-2Q', 2048))
        self.assertEqual(dev['Gpu'], T4_PATH)

        def gpu_changed(names):
            def check(signals):
                got = set()
                for m, p, args in signals:
                    if m == 'PropertiesChanged' and p == T4_PATH and args[0] == GPU:
                        got |= set(args[1]) | set(args[2])
                return names <= got
            return check
        self.assertTrue(self.wait_for(gpu_changed({'Devices', 'CoreUsed', 'SizeClass', 'Types'})))
        t4 = self.get_all_properties(T4_PATH, GPU)
        self.assertEqual(t4['Devices'], [UUID_PATH])
        self.assertEqual((t4['SizeClass'], t4['CoreUsed'], t4['CoreCapacity']), (2048, 1, 8))
        avail = {t[0]: t[4] for t in t4['Types']}
        self.assertEqual(avail['nvidia-231'], 7)
        self.assertEqual(avail['nvidia-223'], 7)   # T4-2B: same size
        self.assertEqual(avail['nvidia-232'], 0)   # T4-4Q: another size on this core

        self.recorder.clear()
        self.assertTrue(self.sim.emulator.remove(UUID))
        self.assertTrue(self.wait_for(lambda s: UUID_PATH in om_paths(s, 'InterfacesRemoved')))
        self.assertTrue(self.wait_for(gpu_changed({'Devices', 'CoreUsed', 'SizeClass', 'Types'})))
        t4 = self.get_all_properties(T4_PATH, GPU)
        self.assertEqual((t4['Devices'], t4['SizeClass'], t4['CoreUsed']), ([], 0, 0))
        self.assertEqual({t[0]: t[4] for t in t4['Types']}['nvidia-232'], 4)

    def test_device_whose_type_link_comes_after_its_uevent(self):
        # Linux 6.1 sends the add uevent before it creates the mdev_type link: the daemon must not
        # publish the device with an unknown type (nor drop it), but look again shortly.
        self.sim.emulator.late_type_link = 0.2
        self.recorder.clear()
        self.assertTrue(self.sim.emulator.create(T4, 'nvidia-231', UUID))
        self.assertTrue(self.wait_for(lambda s: UUID_PATH in om_paths(s, 'InterfacesAdded')))
        added = [args for m, p, args in self.recorder.of('InterfacesAdded') if args[0] == UUID_PATH]
        self.assertEqual(len(added), 1)
        self.assertEqual(added[0][1][DEVICE]['TypeId'], 'nvidia-231')
        rc, out, err = self.run_vgpuctl('list')
        self.assertEqual(out, '%s %s nvidia-231 manual\n\n' % (UUID, T4), err)

    def test_sibling_vfs_of_a16_core_follow_a_new_vgpu(self):
        all_gpus = gpus(self.get_managed_objects())
        vfs = sorted(n for n, (_, p) in all_gpus.items() if p['DeviceId'] == 0x25b6)
        first, sibling = vfs[0], vfs[1]
        core = all_gpus[first][1]['Core']
        other_core = next(n for n in vfs if all_gpus[n][1]['Core'] != core)
        two_q = next(t[0] for t in all_gpus[first][1]['Types'] if t[1] == 'NVIDIA A16-2Q')
        four_q = next(t[0] for t in all_gpus[first][1]['Types'] if t[1] == 'NVIDIA A16-4Q')
        self.assertTrue(self.sim.emulator.create(first, two_q, UUID))
        sib_path = all_gpus[sibling][0]
        self.assertTrue(self.wait_for(lambda s: any(m == 'PropertiesChanged' and p == sib_path for m, p, _ in s)))
        sib = self.get_all_properties(sib_path, GPU)
        avail = {t[0]: t[4] for t in sib['Types']}
        self.assertEqual((sib['SizeClass'], sib['CoreUsed']), (2048, 1))
        self.assertEqual(avail[four_q], 0)
        self.assertEqual(avail[two_q], 1)
        other = self.get_all_properties(all_gpus[other_core][0], GPU)
        self.assertEqual((other['SizeClass'], other['CoreUsed']), (0, 0))

    def test_parent_unregisters_and_comes_back(self):
        self.recorder.clear()
        self.sim.emulator.parent_unregister('mtty')
        mtty_path = '/org/vgpud1/gpu/mtty'
        self.assertTrue(self.wait_for(lambda s: mtty_path in om_paths(s, 'InterfacesRemoved')))
        self.assertNotIn('mtty', gpus(self.get_managed_objects()))
        self.sim.emulator.parent_register('mtty')
        self.assertTrue(self.wait_for(lambda s: mtty_path in om_paths(s, 'InterfacesAdded')))
        self.assertIn('mtty', gpus(self.get_managed_objects()))

    def test_unplugged_board_core_goes_away(self):
        all_gpus = gpus(self.get_managed_objects())
        core = sorted({p['Core'] for _, p in all_gpus.values() if p['DeviceId'] == 0x25b6})[0]
        self.sim.emulator.unplug(core)
        gone = {n for n, (_, p) in all_gpus.items() if p['Core'] == core}
        self.assertEqual(len(gone), 16)
        gone_paths = {all_gpus[n][0] for n in gone}
        self.assertTrue(self.wait_for(lambda s: gone_paths <= om_paths(s, 'InterfacesRemoved')))
        self.assertFalse(gone & set(gpus(self.get_managed_objects())))

    def test_rescan_finds_what_happened_without_events(self):
        # a device directory appearing without any uevent (as if events were lost)
        sender = self.sim.emulator.sender
        send = sender.send
        sender.send = lambda props: None
        try:
            self.assertTrue(self.sim.emulator.create(T4, 'nvidia-231', UUID))
        finally:
            sender.send = send
        time.sleep(0.2)
        self.assertNotIn(UUID, devices(self.get_managed_objects()))  # nothing told the daemon
        self.call('/org/vgpud1', MANAGER, 'Rescan')
        self.assertIn(UUID, devices(self.get_managed_objects()))

    def test_list_methods_agree_with_objects(self):
        self.assertTrue(self.sim.emulator.create(T4, 'nvidia-231', UUID))
        self.assertTrue(self.wait_for(lambda s: UUID_PATH in om_paths(s, 'InterfacesAdded')))
        objects = self.get_managed_objects()
        listed = self.call('/org/vgpud1', MANAGER, 'ListDevices')[0]
        self.assertEqual(listed, [(UUID, T4, 'nvidia-231')])
        self.assertIn(UUID_PATH, objects)  # the path the XML documents for that UUID
        types = self.call('/org/vgpud1', MANAGER, 'ListTypes')[0]
        self.assertEqual([t[0] for t in types], sorted(gpus(objects)))
        for name, path, tlist in types:
            self.assertEqual(tlist, objects[path][GPU]['Types'])



SYSTEM_LIKE_BUS = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%(sock)s</listen>
  <auth>EXTERNAL</auth>
  <!-- the defaults of Debian's /usr/share/dbus-1/system.conf -->
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <include>%(policy)s</include>
</busconfig>
"""


class TestBusPolicy(vgpudtest.VgpudTestCase):
    """dbus/org.vgpud1.conf on a bus with the system bus's defaults: only root owns org.vgpud1,
    anyone reads."""
    host = 't4'
    polkit = None
    start_daemon = False

    def setUp(self):
        super().setUp()
        os.chmod(self.workdir, 0o755)
        self.sock = os.path.join(self.workdir, 'system_bus_socket')
        conf = os.path.join(self.workdir, 'system.conf')
        with open(conf, 'w') as f:
            f.write(SYSTEM_LIKE_BUS % {'sock': self.sock, 'policy': os.path.join(REPO, 'dbus', 'org.vgpud1.conf')})
        self.bus = subprocess.Popen(['dbus-daemon', '--config-file', conf, '--nofork', '--nopidfile'],
                                    stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + vgpudtest.WAIT_TIMEOUT
        while not os.path.exists(self.sock) and time.monotonic() < deadline:
            time.sleep(0.01)
        os.chmod(self.sock, 0o777)
        self.benv = dict(self.env(), DBUS_SYSTEM_BUS_ADDRESS='unix:path=' + self.sock)

    def tearDown(self):
        self.bus.terminate()
        self.bus.wait()
        super().tearDown()

    def as_nobody(self, *argv):
        return subprocess.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] + list(argv),
                              env=self.benv, capture_output=True, text=True, timeout=30)

    def test_only_root_owns_the_name_and_anyone_reads(self):
        vgpud = os.path.join(vgpudtest.builddir(), 'daemon', 'vgpud')
        vgpuctl = os.path.join(vgpudtest.builddir(), 'client', 'vgpuctl')
        p = self.as_nobody('dbus-send', '--system', '--print-reply', '--dest=org.freedesktop.DBus',
                           '/org/freedesktop/DBus', 'org.freedesktop.DBus.RequestName', 'string:org.vgpud1',
                           'uint32:0')
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('AccessDenied', p.stderr)
        daemon = subprocess.Popen([vgpud, '--definitions-dir', self.sim.definitions_dir, '--state-dir',
                                   self.state_dir], env=self.benv, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + vgpudtest.WAIT_TIMEOUT
            while time.monotonic() < deadline:
                if subprocess.run([vgpuctl, 'list'], env=self.benv, capture_output=True).returncode == 0:
                    break
                time.sleep(0.02)
            p = self.as_nobody(vgpuctl, 'types', '-p', T4)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn('GRID T4-2Q', p.stdout)
            p = self.as_nobody(vgpuctl, 'status')
            self.assertEqual(p.returncode, 0, p.stderr)
        finally:
            daemon.terminate()
            self.assertEqual(daemon.wait(vgpudtest.WAIT_TIMEOUT), 0)


class TestStatus(vgpudtest.VgpudTestCase):
    host = 'default'

    def row(self, out, core):
        for line in out.splitlines():
            if line.startswith(core + ' '):
                return line
        self.fail('no row for %s in:\n%s' % (core, out))

    def test_status_rows_follow_the_host(self):
        rc, out, err = self.run_vgpuctl('status')
        self.assertEqual(rc, 0, err)
        header = out.splitlines()[0]
        for column in ('CORE', 'MODEL', 'BOARD', 'NUMA'):
            self.assertIn(column, header)
        self.assertIn('0/16', self.row(out, T4))
        self.assertEqual(len([line for line in out.splitlines() if 'A2 / A16' in line]), 4)  # one row per core
        self.assertTrue(self.sim.emulator.create(T4, 'nvidia-231', UUID))
        self.assertTrue(self.wait_for(lambda s: UUID_PATH in om_paths(s, 'InterfacesAdded')))
        rc, out, err = self.run_vgpuctl('status')
        row = self.row(out, T4)
        self.assertIn('1/8', row)
        self.assertRegex(row, r'\b2G\b')

    def test_status_json(self):
        rc, out, err = self.run_vgpuctl('status', '--json')
        self.assertEqual(rc, 0, err)
        import json
        data = json.loads(out)
        self.assertTrue(any(T4 in json.dumps(entry) for entry in data))


class TestOdd(vgpudtest.VgpudTestCase):
    host = 'odd'

    def test_odd_files_degrade_not_drop(self):
        objects = self.get_managed_objects()
        parents = gpus(objects)
        self.assertEqual(set(parents), {'0000:0a:00.0', '0000:0b:00.0'})
        types = {t[0]: t for t in parents['0000:0a:00.0'][1]['Types']}
        self.assertEqual(types['odd-garbage'][4], -1)     # "lots" is not a number
        self.assertEqual(types['odd-noname'][1], '')      # no name file
        self.assertEqual(parents['0000:0b:00.0'][1]['Types'], [])

    def test_corrupt_and_foreign_definitions_are_warned_and_skipped(self):
        # the autostart of 0000:0b:00.0's definition (its type does not exist) fails shortly after READY
        # and adds a warning: compare the two listings only once it has
        deadline = time.monotonic() + 20
        while not any('autostart failed' in w for w in self.get_property('/org/vgpud1', MANAGER, 'Warnings')):
            self.assertLess(time.monotonic(), deadline, 'the autostart never failed')
            time.sleep(0.05)
        objects = self.get_managed_objects()
        warnings = self.get_property('/org/vgpud1', MANAGER, 'Warnings')
        self.assertTrue(any('not-a-uuid' in w for w in warnings), warnings)
        self.assertTrue(any('not a valid definition' in w for w in warnings), warnings)
        defs = [props[DEFINITION] for props in objects.values() if DEFINITION in props]
        self.assertGreaterEqual(len(defs), 4)   # the good ones are all there
        self.assertIn('/org/vgpud1/definition/', next(p for p, props in objects.items() if DEFINITION in props))
        listed, listed_warnings = self.call('/org/vgpud1', MANAGER, 'ListDefinitions')
        self.assertEqual(listed_warnings, warnings)
        self.assertEqual(len(listed), len(defs))
        self.assertIn('not a valid definition', self.daemon_log())


class TestLifecycle(vgpudtest.VgpudTestCase):
    host = 't4'
    start_daemon = False

    def test_ready_only_once_the_name_is_owned(self):
        path = os.path.join(self.workdir, 'notify')
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(vgpudtest.WAIT_TIMEOUT)
        env = dict(self.env(), NOTIFY_SOCKET=path)
        log = open(self.log_path, 'a')
        p = subprocess.Popen(self.daemon_argv(), env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            msgs = []
            while 'READY=1' not in msgs:
                msgs += sock.recv(4096).decode().split('\n')
            self.assertTrue(self.dbus_con.name_has_owner('org.vgpud1'))
            p.terminate()
            self.assertEqual(p.wait(vgpudtest.WAIT_TIMEOUT), 0)
            msgs += sock.recv(4096).decode().split('\n')
            self.assertIn('STOPPING=1', msgs)
        finally:
            if p.poll() is None:
                p.kill()
            log.close()
            sock.close()

    def test_client_without_daemon(self):
        rc, out, err = self.run_vgpuctl('list')
        self.assertEqual(rc, 1)
        self.assertEqual(out, '')
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertRegex(err, r'(?i)vgpud.*not running')

    def test_sigint_exits_cleanly(self):
        self.start_vgpud()
        import signal
        self.assertEqual(self.stop_vgpud(sig=signal.SIGINT), 0)

    def test_bad_options(self):
        p = subprocess.run([os.path.join(vgpudtest.builddir(), 'daemon', 'vgpud'), '--udev-source=bogus'],
                           env=self.env(), capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn('--udev-source', p.stderr)
        p = subprocess.run([os.path.join(vgpudtest.builddir(), 'daemon', 'vgpud'), '--version'],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertTrue(re.match(r'vgpud \d', p.stdout))


class TestPrivateSocket(vgpudtest.VgpudTestCase):
    """--private-socket: the same objects over direct connections, as vgpud.service runs it."""
    host = 't4'
    start_daemon = False

    def setUp(self):
        super().setUp()
        os.chmod(self.workdir, 0o755)
        self.sock = os.path.join(self.workdir, 'private')
        self.start_vgpud(['--private-socket', self.sock])
        self.assertTrue(self.sim.emulator.create(T4, 'nvidia-231', UUID))
        # the daemon has the device before any test looks: a state, not a signal within a time
        deadline = time.monotonic() + 300
        while UUID not in devices(self.get_managed_objects()):
            self.assertLess(time.monotonic(), deadline, 'vgpud never saw the device')
            time.sleep(0.05)

    def vgpuctl(self, *args, bus='unix:path=/nonexistent/bus', socket_path=None, user=None):
        env = dict(self.env(), DBUS_SYSTEM_BUS_ADDRESS=bus, VGPUD_SOCKET=socket_path or self.sock)
        argv = [os.path.join(vgpudtest.builddir(), 'client', 'vgpuctl')] + list(args)
        if user:
            argv = ['setpriv', '--reuid=%d' % user, '--regid=%d' % user, '--clear-groups'] + argv
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)

    def test_reads_need_no_broker_and_print_the_same(self):
        for args in (['types'], ['list'], ['list', '--dumpjson'], ['list', '-d'], ['status']):
            over_bus = self.run_vgpuctl(*args)
            direct = self.vgpuctl(*args)  # the bus address leads nowhere: only the socket can answer
            self.assertEqual(direct.returncode, 0, direct.stderr)
            self.assertEqual((direct.returncode, direct.stdout), (over_bus[0], over_bus[1]), args)
        self.assertIn(UUID, self.vgpuctl('list').stdout)

    def test_anyone_reads_nobody_else_changes(self):
        p = self.vgpuctl('types', '-p', T4, user=65534)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('GRID T4-2Q', p.stdout)
        # a direct (peer-to-peer) connection: no Hello, no destination
        stop = (
            'import sys\n'
            'from gi.repository import Gio, GLib\n'
            'c = Gio.DBusConnection.new_for_address_sync(sys.argv[1], '
            'Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT, None, None)\n'
            'try:\n'
            '    c.call_sync(None, "/org/vgpud1", "org.vgpud1.Manager", "Stop", '
            'GLib.Variant("(sa{sv})", (sys.argv[2], {})), None, 0, 600000, None)\n'
            '    print("ok")\n'
            'except GLib.Error as e:\n'
            '    print(Gio.DBusError.get_remote_error(e))\n')
        argv = ['/usr/bin/python3', '-c', stop, 'unix:path=' + self.sock, UUID]
        p = subprocess.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] + argv,
                           capture_output=True, text=True, timeout=900)
        self.assertEqual(p.stdout.strip(), 'org.freedesktop.DBus.Error.AccessDenied', p.stderr)
        self.assertIn(UUID, devices(self.get_managed_objects()))  # nothing changed
        p = subprocess.run(argv, capture_output=True, text=True, timeout=900)  # root may
        self.assertEqual(p.stdout.strip(), 'ok', p.stderr)
        # Stop answers once the kernel's remove event is seen: the device is gone, no waiting
        self.assertNotIn(UUID, devices(self.get_managed_objects()))

    def test_objects_after_a_manager_call_on_one_connection(self):
        # a private connection registers the Manager's vtable for a Manager call and everything else
        # when a message needs it (bus-private.c objects_for()): each order on one connection
        # reaches every object, as over the system bus
        script = (
            'import sys\n'
            'from gi.repository import Gio, GLib\n'
            'def conn():\n'
            '    return Gio.DBusConnection.new_for_address_sync(sys.argv[1], '
            'Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT, None, None)\n'
            'def call(c, path, iface, method, args=None):\n'
            '    return c.call_sync(None, path, iface, method, args, None, 0, 600000, None).unpack()\n'
            'first = conn()\n'
            'uuids = [d[0] for d in call(first, "/org/vgpud1", "org.vgpud1.Manager", "ListDevices")[0]]\n'
            'objs = call(first, "/org/vgpud1", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")[0]\n'
            'path = [p for p, i in objs.items() if "org.vgpud1.Device" in i][0]\n'
            'uuid = call(first, path, "org.freedesktop.DBus.Properties", "Get", '
            'GLib.Variant("(ss)", ("org.vgpud1.Device", "Uuid")))[0]\n'
            'xml = call(first, "/org/vgpud1", "org.freedesktop.DBus.Introspectable", "Introspect")[0]\n'
            'other = conn()\n'
            'xml2 = call(other, "/org/vgpud1", "org.freedesktop.DBus.Introspectable", "Introspect")[0]\n'
            'uuids2 = [d[0] for d in call(other, "/org/vgpud1", "org.vgpud1.Manager", "ListDevices")[0]]\n'
            # a first Manager call registers that method alone; a second call of it, another Manager
            # method, a property and the introspection then reach the whole Manager
            'third = conn()\n'
            'again = [d[0] for d in call(third, "/org/vgpud1", "org.vgpud1.Manager", "ListDevices")[0]]\n'
            'again += [d[0] for d in call(third, "/org/vgpud1", "org.vgpud1.Manager", "ListDevices")[0]]\n'
            'xml3 = call(third, "/org/vgpud1", "org.freedesktop.DBus.Introspectable", "Introspect")[0]\n'
            'types = call(third, "/org/vgpud1", "org.vgpud1.Manager", "ListTypes")[0]\n'
            'ver = call(third, "/org/vgpud1", "org.freedesktop.DBus.Properties", "Get", '
            'GLib.Variant("(ss)", ("org.vgpud1.Manager", "Version")))[0]\n'
            'fourth = conn()\n'
            'types4 = call(fourth, "/org/vgpud1", "org.vgpud1.Manager", "ListTypes")[0]\n'
            'ver4 = call(fourth, "/org/vgpud1", "org.freedesktop.DBus.Properties", "Get", '
            'GLib.Variant("(ss)", ("org.vgpud1.Manager", "Version")))[0]\n'
            'print(sys.argv[2] in uuids, uuid == sys.argv[2], uuids == uuids2, xml == xml2,\n'
            '      "org.vgpud1.Manager" in xml, "org.freedesktop.DBus.ObjectManager" in xml,\n'
            '      again == uuids2 * 2, xml3 == xml2, types == types4 and len(types) > 0, ver == ver4 and ver != "")\n')
        p = subprocess.run(['/usr/bin/python3', '-c', script, 'unix:path=' + self.sock, UUID],
                           capture_output=True, text=True, timeout=900)
        self.assertEqual(p.stdout.split(), ['True'] * 10, p.stderr)

    def test_missing_socket_falls_back_to_the_bus(self):
        p = self.vgpuctl('list', bus=self.bus_address, socket_path=os.path.join(self.workdir, 'nope'))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(UUID, p.stdout)

    def test_socket_goes_with_the_daemon(self):
        self.assertTrue(os.path.exists(self.sock))
        self.assertEqual(self.stop_vgpud(), 0)
        self.assertFalse(os.path.exists(self.sock))
