# SPDX-License-Identifier: LGPL-2.1-or-later
"""The lifecycle through vgpud on a private bus over the simulated host: Start/Stop (signals,
attributes, every error leaving nothing behind, refused creates, a parent going away), Define/
Undefine/Modify (mdevctl's bytes, signals before the reply, a read-only directory, concurrent
modifies), definitions changed behind the daemon's back, 64 concurrent starts for few instances,
kill -9 in the middle of a storm, autostart, and polkit for callers that are not root."""

import errno
import json
import os
import signal
import subprocess
import sys
import time

import dbusmock
import vgpudtest
from vgpudtest import REPO

from gi.repository import Gio, GLib

import hosts  # noqa: E402  (tests/sim, on the path through vgpudtest)

MANAGER = 'org.vgpud1.Manager'
DEFINITION = 'org.vgpud1.Definition'
DEVICE = 'org.vgpud1.Device'
T4 = '0000:41:00.0'
T4_PATH = '/org/vgpud1/gpu/_30000_3a41_3a00_2e0'
U1 = '11111111-2d7b-4b8e-9a55-7f0e2a1d3c41'
U2 = '22222222-91d4-4f7e-8a35-2c6d1e9f4a10'
U3 = '33333333-0c1d-4e2f-8a3b-4c5d6e7f8091'
TWO_Q = 'nvidia-231'   # GRID T4-2Q, 8 per T4
FOUR_Q = 'nvidia-232'  # GRID T4-4Q, 4 per T4
ERR = 'org.vgpud1.Error.'


def path_encode(s):
    """sd_bus_path_encode(): [A-Za-z0-9] stay, but not a leading digit; the rest as _xx."""
    out = ''
    for i, c in enumerate(s):
        if c.isascii() and c.isalnum() and not (i == 0 and c.isdigit()):
            out += c
        else:
            out += '_%02x' % ord(c)
    return out


def device_path(uuid):
    return '/org/vgpud1/device/' + path_encode(uuid)


def definition_path(parent, uuid):
    return '/org/vgpud1/definition/%s/%s' % (path_encode(parent), path_encode(uuid))


def error_of(e):
    """(name, message without the GDBus.Error:<name>: prefix) of a GLib.Error from a call."""
    name = Gio.DBusError.get_remote_error(e)
    prefix = 'GDBus.Error:%s: ' % name
    return name, e.message[len(prefix):] if e.message.startswith(prefix) else e.message


def dfn(mdev_type, start='manual', attrs=None):
    d = {'mdev_type': mdev_type, 'start': start}
    if attrs is not None:
        d['attrs'] = [{k: v} for k, v in attrs]
    return json.dumps(d)


def om_paths(signals, member):
    return [args[0] for m, p, args in signals if m == member and p == '/org/vgpud1']


# timeout_ms for calls whose driver waits must not end on a loaded machine (the daemon's default is
# 10 s, for a real driver): the emulator is a thread of the test process, which 2 cores shared by many
# builds can hold up for longer. What such a test waits for is the device, not the time.
PATIENT_MS = int(vgpudtest.WAIT_TIMEOUT * 1000)


class LifecycleTestCase(vgpudtest.VgpudTestCase):
    host = 't4'

    # ------------------------------------------------------------ calls
    # A call's own deadline: the daemon's driver waits (10 s, or a call's timeout_ms up to PATIENT_MS)
    # end first, so a failure is the daemon's answer, not the client giving up.
    def manager(self, method, signature, args, timeout_ms=PATIENT_MS + 30000):
        return self.call('/org/vgpud1', MANAGER, method, args, signature, timeout_ms=timeout_ms)

    def start(self, parent, uuid, definition='', options=None):
        return self.manager('Start', '(sssa{sv})', (parent, uuid, definition, options or {}))

    def stop(self, uuid, options=None):
        return self.manager('Stop', '(sa{sv})', (uuid, options or {}))

    def define(self, parent, uuid, definition='', options=None):
        return self.manager('Define', '(sssa{sv})', (parent, uuid, definition, options or {}))

    def undefine(self, parent, uuid, options=None):
        return self.manager('Undefine', '(ssa{sv})', (parent, uuid, options or {}))

    def modify(self, parent, uuid, changes, options=None):
        return self.manager('Modify', '(ssa{sv}a{sv})', (parent, uuid, changes, options or {}))

    def assertError(self, name, fn, *args, **kwargs):
        """fn(*args) must fail with the named error; returns its message."""
        with self.assertRaises(GLib.Error) as cm:
            fn(*args, **kwargs)
        remote, msg = error_of(cm.exception)
        self.assertEqual(remote, name, msg)
        return msg

    def call_async(self, method, signature, args, results, key):
        """Send a Manager call without waiting; results[key] becomes ('ok', reply) or ('error', name, msg)."""
        def done(conn, res):
            try:
                results[key] = ('ok', conn.call_finish(res).unpack())
            except GLib.Error as e:
                results[key] = ('error',) + error_of(e)
        self.gconn.call(vgpudtest.BUS_NAME, '/org/vgpud1', MANAGER, method, GLib.Variant(signature, args),
                        None, Gio.DBusCallFlags.NONE, 60000, None, done)

    def wait_until_result(self, results, predicate, timeout=vgpudtest.WAIT_TIMEOUT):
        """Iterate until one of the results answers predicate (others may come meanwhile)."""
        ctx = GLib.MainContext.default()
        deadline = time.monotonic() + timeout
        while not any(predicate(r) for r in results.values()) and time.monotonic() < deadline:
            ctx.iteration(True)
        self.assertTrue(any(predicate(r) for r in results.values()), results)

    def wait_results(self, results, n, timeout=vgpudtest.WAIT_TIMEOUT):
        ctx = GLib.MainContext.default()
        deadline = time.monotonic() + timeout
        while len(results) < n and time.monotonic() < deadline:
            ctx.iteration(True)
        self.assertEqual(len(results), n, 'only %d of %d calls answered' % (len(results), n))

    # ------------------------------------------------------------ state
    def running(self):
        # under the emulator's lock: it removes a device's directory (which the daemon may see and
        # answer on) before it drops the device from its own list
        with self.sim.emulator.lock:
            return set(self.sim.host.mdevs)

    def listed_devices(self):
        return {d[0] for d in self.manager('ListDevices', None, None)[0]}

    def def_file(self, parent, uuid):
        return os.path.join(self.sim.definitions_dir, parent, uuid)

    def def_files(self):
        """Every file under the definitions directory but scripts.d, relative."""
        out = set()
        for parent in os.listdir(self.sim.definitions_dir):
            pdir = os.path.join(self.sim.definitions_dir, parent)
            if parent == 'scripts.d' or not os.path.isdir(pdir):
                continue
            out |= {parent + '/' + f for f in os.listdir(pdir)}
        return out

    def device_dir(self, uuid):
        return self.sim.tree.p(self.sim.host.mdevs[uuid].path)


class TestStartStop(LifecycleTestCase):

    def test_start_and_stop_with_signals(self):
        self.recorder.clear()
        patient = {'timeout_ms': GLib.Variant('u', PATIENT_MS)}
        uuid, path = self.start(T4, U1, dfn(TWO_Q), patient)
        self.assertEqual((uuid, path), (U1, device_path(U1)))
        # the reply comes once the device exists (read right after the write to create)
        self.assertEqual(self.running(), {U1})
        self.assertIn(U1, self.listed_devices())
        props = self.get_all_properties(path, DEVICE)
        self.assertEqual((props['Parent'], props['TypeId']), (T4, TWO_Q))
        self.assertEqual(props['State'], 'active')
        self.assertTrue(self.wait_for(lambda s: path in om_paths(s, 'InterfacesAdded')))
        self.assertEqual(self.def_files(), set())  # an explicit start stores nothing
        # the object appeared "starting" and became "active" once its attributes were written
        added = [a for m, p, a in self.recorder.signals if m == 'InterfacesAdded' and a[0] == path]
        self.assertEqual(added[0][1][DEVICE]['State'], 'starting')
        self.assertTrue(self.wait_for(lambda s: self.states(s, path) == ['active']))

        self.recorder.clear()
        self.assertEqual(self.stop(U1, patient), ())
        self.assertEqual(self.running(), set())
        self.assertNotIn(U1, self.listed_devices())
        self.assertTrue(self.wait_for(lambda s: path in om_paths(s, 'InterfacesRemoved')))
        self.assertEqual(self.states(self.recorder.signals, path), ['stopping'])

    @staticmethod
    def states(signals, path):
        return [a[1]['State'] for m, p, a in signals
                if m == 'PropertiesChanged' and p == path and a[0] == DEVICE and 'State' in a[1]]

    def test_start_makes_a_uuid_and_takes_any_uuid_form(self):
        uuid, path = self.start(T4, '', dfn(TWO_Q))
        self.assertRegex(uuid, r'^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')
        self.assertEqual(path, device_path(uuid))
        uuid2, _ = self.start(T4, U2.upper().replace('-', ''), dfn(TWO_Q))
        self.assertEqual(uuid2, U2)
        self.assertEqual(self.running(), {uuid, U2})

    def test_start_from_definition_writes_attributes_in_order(self):
        attrs = [('x', 'first'), ('y', '1'), ('x', 'second')]
        self.define(T4, U1, dfn(TWO_Q, attrs=attrs))
        uuid, path = self.start('', U1)  # the only definition of U1: its parent is found
        self.assertEqual(uuid, U1)
        ddir = self.device_dir(U1)
        with open(os.path.join(ddir, 'x')) as f:
            self.assertEqual(f.read(), 'second')  # x written twice, the later value last
        with open(os.path.join(ddir, 'y')) as f:
            self.assertEqual(f.read(), '1')
        self.stop(U1)
        # with the parent given too
        self.start(T4, U1)
        self.assertEqual(self.running(), {U1})

    def test_attribute_failure_removes_the_device_and_reports_the_original_error(self):
        # mdev_type is a link to a directory: writing it fails like a driver refusing a value
        self.define(T4, U1, dfn(TWO_Q, attrs=[('ok', '1'), ('mdev_type', 'x')]))
        msg = self.assertError(ERR + 'DriverRefused', self.start, T4, U1)
        self.assertIn('mdev_type', msg)
        self.assertIn('Is a directory', msg)
        self.assertEqual(self.running(), set())
        self.assertNotIn(U1, self.listed_devices())
        self.assertEqual([e[0] for e in self.sim.emulator.events if U1 in e[1]], ['add', 'bind', 'unbind', 'remove'])

    def test_refused_create_times_out_cleanly(self):
        self.sim.emulator.refuse_next()
        t0 = time.monotonic()
        msg = self.assertError(ERR + 'Timeout', self.start, T4, U1, dfn(TWO_Q), {'timeout_ms': GLib.Variant('u', 400)})
        self.assertLess(time.monotonic() - t0, 9)  # the request's 400 ms, not the default 10 s
        self.assertIn(T4, msg)
        self.assertIn(TWO_Q, msg)
        self.assertEqual(len(self.sim.emulator.refusals), 1)
        self.assertEqual(self.running(), set())
        self.assertNotIn(U1, self.listed_devices())
        # and the next one works
        self.start(T4, U1, dfn(TWO_Q))
        self.assertEqual(self.running(), {U1})

    def test_parent_going_away_mid_start(self):
        self.sim.emulator.refuse_next()  # the device never comes: the start waits
        results = {}
        t0 = time.monotonic()
        self.call_async('Start', '(sssa{sv})', (T4, U1, dfn(TWO_Q), {}), results, 'start')
        self.assertTrue(self.sim.emulator.wait_for(lambda: len(self.sim.emulator.refusals) == 1))
        self.sim.emulator.parent_unregister(T4)
        self.wait_results(results, 1)
        self.assertEqual(results['start'][:2], ('error', ERR + 'NotFound'), results)
        self.assertIn('went away', results['start'][2])
        self.assertLess(time.monotonic() - t0, 9)  # not the 10 s timeout
        self.assertEqual(self.running(), set())

    def test_rescan_finds_a_device_whose_uevent_was_lost(self):
        sender = self.sim.emulator.sender
        send = sender.send
        sender.send = lambda props: None
        try:
            # a start needs no uevent (the device is read once the write to create returned) ...
            self.assertEqual(self.start(T4, U1, dfn(TWO_Q)), (U1, device_path(U1)))
            # ... but a device created by someone else is known only from its uevent, or a rescan
            self.assertTrue(self.sim.emulator.create(T4, TWO_Q, U2, timeout=vgpudtest.WAIT_TIMEOUT))
            time.sleep(0.2)
            self.wait_for(lambda s: False, timeout=0.1)
            self.assertEqual(self.listed_devices(), {U1})
            self.call('/org/vgpud1', 'org.vgpud1.Manager', 'Rescan')
        finally:
            sender.send = send
        self.assertEqual(self.listed_devices(), {U1, U2})

    def test_errors_leave_nothing_behind(self):
        self.start(T4, U1, dfn(TWO_Q))
        # the reply comes with the "add" uevent; the emulator's "bind" may follow it
        self.assertTrue(self.sim.emulator.wait_for(
            lambda: any(e[0] == 'bind' and U1 in e[1] for e in self.sim.emulator.events)))
        before_events = len(self.sim.emulator.events)

        msg = self.assertError(ERR + 'InvalidArgument', self.start, T4, 'not-a-uuid', dfn(TWO_Q))
        self.assertIn('not-a-uuid', msg)
        self.assertError(ERR + 'InvalidArgument', self.start, T4, U2, '{"mdev_type": ')
        self.assertError(ERR + 'InvalidArgument', self.start, '', U2, dfn(TWO_Q))  # no parent
        self.assertError(ERR + 'InvalidArgument', self.start, '../x', U2, dfn(TWO_Q))
        self.assertError(ERR + 'InvalidArgument', self.start, T4, U2, dfn(TWO_Q), {'bogus': GLib.Variant('b', True)})
        self.assertError(ERR + 'InvalidArgument', self.start, T4, U2, dfn(TWO_Q),
                         {'timeout_ms': GLib.Variant('s', '5')})
        msg = self.assertError(ERR + 'NotFound', self.start, '0000:99:00.0', U2, dfn(TWO_Q))
        self.assertIn("Unable to find parent device '0000:99:00.0'", msg)
        msg = self.assertError(ERR + 'NotFound', self.start, T4, U2, dfn('nvidia-9999'))
        self.assertIn('nvidia-231 (GRID T4-2Q)', msg)
        msg = self.assertError(ERR + 'Exists', self.start, T4, U1, dfn(TWO_Q))
        self.assertIn(U1, msg)
        self.assertError(ERR + 'NotFound', self.start, '', U2)  # not defined
        self.assertError(ERR + 'InvalidArgument', self.start, '', '')
        msg = self.assertError(ERR + 'SizeConflict', self.start, T4, U2, dfn(FOUR_Q))
        self.assertEqual(msg, 'No available instances of nvidia-232 on 0000:41:00.0: '
                              'GPU core 0000:41:00.0 runs 2048 MiB vGPUs (GRID T4-2Q); GRID T4-4Q needs 4096 MiB. '
                              'Types that fit now: nvidia-223 (GRID T4-2B, 7 left), nvidia-224 (GRID T4-2B4, 7 left), '
                              'nvidia-226 (GRID T4-2A, 7 left), nvidia-231 (GRID T4-2Q, 7 left). '
                              'It fits on no other GPU core.')
        self.assertError(ERR + 'NotFound', self.stop, U2)
        self.assertError(ERR + 'InvalidArgument', self.stop, 'nope')

        self.assertEqual(self.running(), {U1})
        self.assertEqual(self.listed_devices(), {U1})
        self.assertEqual(self.def_files(), set())
        self.assertEqual(len(self.sim.emulator.events), before_events)  # the kernel was not even asked
        self.assertEqual(self.sim.emulator.refusals, [])

    def test_no_capacity(self):
        full = {hosts.make_uuid('full', i) for i in range(8)}
        for u in full:
            self.assertTrue(self.sim.emulator.create(T4, TWO_Q, u))
        # another tool's creates: vgpud knows them from their uevents, which may still be on their way
        # (the message counts the devices vgpud knows; the kernel's refusal alone would give NoCapacity)
        self.assertTrue(self.wait_for(lambda s: full <= self.listed_devices()))
        msg = self.assertError(ERR + 'NoCapacity', self.start, T4, U1, dfn(TWO_Q))
        self.assertIn('No available instances of nvidia-231 on 0000:41:00.0: GRID T4-2Q', msg)
        self.assertIn('8 of 8', msg)
        self.assertNotIn(U1, self.running())

    def test_no_capacity_after_a_create_vgpud_has_not_heard_of(self):
        """vgpud's own creates leave its counts current, so the next start decides without reading
        them again; the last room taken by another tool whose uevent has not come yet: the kernel
        refuses the create, and vgpud reads the counts again and says NoCapacity."""
        emu = self.sim.emulator
        for i in range(7):
            self.start(T4, hosts.make_uuid('mine', i), dfn(TWO_Q))
        with emu.uevents_held():
            self.assertTrue(emu.create(T4, TWO_Q, U2))
            msg = self.assertError(ERR + 'NoCapacity', self.start, T4, U1, dfn(TWO_Q))
        self.assertIn('No available instances of nvidia-231 on 0000:41:00.0: GRID T4-2Q', msg)
        self.assertEqual([r['reason'] for r in emu.refusals], ['no available instances (EUSERS)'],
                         'decided on the counts its own last create left, not read again')
        self.assertNotIn(U1, self.running())
        self.assertEqual(len(self.running()), 8)


class TestParentNames(LifecycleTestCase):
    host = 'default'

    def test_did_you_mean(self):
        msg = self.assertError(ERR + 'NotFound', self.start, 'MTTY', U1, dfn('mtty-1'))
        self.assertIn("Did you mean 'mtty'?", msg)
        uuid, _ = self.start('mtty', U1, dfn('mtty-1'))
        self.assertEqual(self.running(), {U1})


class TestDefinitions(LifecycleTestCase):

    def test_define_modify_undefine(self):
        self.recorder.clear()
        uuid, path = self.define(T4, U1, dfn(TWO_Q, attrs=[('a', '1')]))
        self.assertEqual((uuid, path), (U1, definition_path(T4, U1)))
        with open(self.def_file(T4, U1)) as f:
            self.assertEqual(f.read(), hosts.definition_text(TWO_Q, 'manual', [('a', '1')]))
        # the object is there when the reply comes (its signal follows it: test_replies_come_before_signals)
        objects = self.get_managed_objects()
        self.assertEqual(objects[path][DEFINITION]['TypeId'], TWO_Q)
        self.assertTrue(self.wait_for(lambda s: path in om_paths(s, 'InterfacesAdded')))
        time.sleep(0.3)  # the inotify reload of the daemon's own write: no second signal
        self.wait_for(lambda s: False, timeout=0.2)
        self.assertEqual(om_paths(self.recorder.signals, 'InterfacesAdded').count(path), 1)

        msg = self.assertError(ERR + 'Exists', self.define, T4, U1, dfn(TWO_Q))
        self.assertIn('already defined', msg)

        self.recorder.clear()
        self.modify(T4, U1, {'start': GLib.Variant('s', 'auto'),
                             'add_attribute': GLib.Variant('(ssi)', ('b', '2', -1))})
        with open(self.def_file(T4, U1)) as f:
            self.assertEqual(f.read(), hosts.definition_text(TWO_Q, 'auto', [('a', '1'), ('b', '2')]))
        self.assertTrue(self.wait_for(lambda s: any(m == 'PropertiesChanged' and p == path and 'Start' in a[1]
                                                     for m, p, a in s)))
        self.assertEqual(self.get_property(path, DEFINITION, 'Start'), 'auto')
        self.modify('', U1, {'delete_attribute': GLib.Variant('i', 0), 'type': GLib.Variant('s', FOUR_Q)})
        with open(self.def_file(T4, U1)) as f:
            self.assertEqual(f.read(), hosts.definition_text(FOUR_Q, 'auto', [('b', '2')]))
        self.modify(T4, U1, {'definition': GLib.Variant('s', '{"mdev_type":"nvidia-222","start":"manual"}')})
        with open(self.def_file(T4, U1)) as f:
            self.assertEqual(f.read(), hosts.definition_text('nvidia-222'))

        self.recorder.clear()
        self.undefine(T4, U1)
        self.assertFalse(os.path.exists(os.path.join(self.sim.definitions_dir, T4)))
        self.assertNotIn(path, self.get_managed_objects())
        self.assertTrue(self.wait_for(lambda s: path in om_paths(s, 'InterfacesRemoved')))
        self.assertError(ERR + 'NotFound', self.undefine, T4, U1)
        self.assertError(ERR + 'NotFound', self.undefine, '', U1)

        # a whole definition for a UUID that is not defined creates it (mdevctl 1.3.0's modify --jsonfile),
        # but only where the parent is named; other changes need an existing definition
        whole = {'definition': GLib.Variant('s', '{"mdev_type":"nvidia-231","start":"auto"}')}
        self.assertError(ERR + 'NotFound', self.modify, '', U1, whole)
        self.assertError(ERR + 'NotFound', self.modify, T4, U1, {'start': GLib.Variant('s', 'auto')})
        self.assertFalse(os.path.exists(self.def_file(T4, U1)))
        self.modify(T4, U1, whole)
        with open(self.def_file(T4, U1)) as f:
            self.assertEqual(f.read(), hosts.definition_text(TWO_Q, 'auto'))
        self.assertIn(path, self.get_managed_objects())
        self.undefine(T4, U1)

    def test_define_a_running_device_and_make_uuids(self):
        self.start(T4, U1, dfn(TWO_Q))
        uuid, path = self.define('', U1)
        self.assertEqual(path, definition_path(T4, U1))
        with open(self.def_file(T4, U1)) as f:
            self.assertEqual(f.read(), hosts.definition_text(TWO_Q))
        self.assertError(ERR + 'NotFound', self.define, '', U2)  # not running, no definition given
        uuid, path = self.define('mtty', '', dfn('mtty-1'))  # the parent need not exist
        self.assertTrue(os.path.exists(self.def_file('mtty', uuid)))

    def test_modify_and_define_errors_change_nothing(self):
        self.define(T4, U1, dfn(TWO_Q, attrs=[('a', '1')]))
        self.define('mtty', U2, dfn('mtty-1'))
        self.define(T4, U2, dfn(TWO_Q))
        before = {f: open(os.path.join(self.sim.definitions_dir, f)).read() for f in self.def_files()}
        msg = self.assertError(ERR + 'InvalidArgument', self.modify, T4, U1,
                               {'add_attribute': GLib.Variant('(ssi)', ('b', '2', 5))})
        self.assertIn('Attribute index 5 is invalid', msg)
        self.assertError(ERR + 'InvalidArgument', self.modify, T4, U1, {'delete_attribute': GLib.Variant('i', 1)})
        self.assertError(ERR + 'InvalidArgument', self.modify, T4, U1, {'start': GLib.Variant('s', 'sometimes')})
        self.assertError(ERR + 'InvalidArgument', self.modify, T4, U1, {'colour': GLib.Variant('s', 'red')})
        self.assertError(ERR + 'InvalidArgument', self.modify, T4, U1, {'type': GLib.Variant('s', '../x')})
        self.assertError(ERR + 'InvalidArgument', self.modify, T4, U1,
                         {'add_attribute': GLib.Variant('(ssi)', ('../x', '2', -1))})
        self.assertError(ERR + 'InvalidArgument', self.modify, T4, U1, {'definition': GLib.Variant('s', '[]')})
        msg = self.assertError(ERR + 'InvalidArgument', self.modify, '', U2, {'start': GLib.Variant('s', 'auto')})
        self.assertIn('Multiple definitions', msg)
        self.assertError(ERR + 'NotFound', self.modify, '', U3, {'start': GLib.Variant('s', 'auto')})
        self.assertError(ERR + 'NotFound', self.modify, T4, U1, {}, {'live': GLib.Variant('b', True)})
        self.assertError(ERR + 'InvalidArgument', self.define, '../evil', U3, dfn(TWO_Q))
        self.assertError(ERR + 'InvalidArgument', self.define, 'a/b', U3, dfn(TWO_Q))
        self.assertError(ERR + 'InvalidArgument', self.define, '.hidden', U3, dfn(TWO_Q))
        self.assertError(ERR + 'InvalidArgument', self.define, T4, U3, dfn('../x'))
        self.assertError(ERR + 'InvalidArgument', self.define, '', U3, dfn(TWO_Q))
        # a definition of the UUID on the parent with another type: as mdevctl, no explicit start over it
        msg = self.assertError(ERR + 'Exists', self.start, T4, U1, dfn(FOUR_Q))
        self.assertIn('already exists on parent %s with type %s' % (T4, TWO_Q), msg)
        self.assertEqual(self.running(), set())
        after = {f: open(os.path.join(self.sim.definitions_dir, f)).read() for f in self.def_files()}
        self.assertEqual(after, before)
        self.assertFalse(os.path.exists(os.path.join(os.path.dirname(self.sim.definitions_dir), 'evil')))
        # undefine without a parent takes every one
        self.undefine('', U2)
        self.assertEqual(self.def_files(), {T4 + '/' + U1})

    def test_corrupt_definition(self):
        os.makedirs(os.path.join(self.sim.definitions_dir, T4))
        with open(self.def_file(T4, U1), 'w') as f:
            f.write('{"mdev_type": "nvidia-231", "start": "auto"')
        msg = self.assertError(ERR + 'Corrupt', self.modify, T4, U1, {'start': GLib.Variant('s', 'manual')})
        self.assertIn('EOF while parsing', msg)
        self.assertError(ERR + 'Corrupt', self.start, T4, U1)
        with open(self.def_file(T4, U1)) as f:
            self.assertEqual(f.read(), '{"mdev_type": "nvidia-231", "start": "auto"')  # never touched
        self.undefine(T4, U1)  # but it can go
        self.assertEqual(self.def_files(), set())

    def test_modify_live_writes_the_running_device(self):
        self.define(T4, U1, dfn(TWO_Q))
        self.start(T4, U1)
        self.modify(T4, U1, {'add_attribute': GLib.Variant('(ssi)', ('frl', '30', -1))},
                    {'live': GLib.Variant('b', True)})
        with open(os.path.join(self.device_dir(U1), 'frl')) as f:
            self.assertEqual(f.read(), '30')
        with open(self.def_file(T4, U1)) as f:
            self.assertEqual(json.load(f)['attrs'], [{'frl': '30'}])
        self.modify(T4, U1, {'add_attribute': GLib.Variant('(ssi)', ('frl', '60', -1))},
                    {'live': GLib.Variant('b', True), 'defined': GLib.Variant('b', False)})
        with open(os.path.join(self.device_dir(U1), 'frl')) as f:
            self.assertEqual(f.read(), '60')
        with open(self.def_file(T4, U1)) as f:
            self.assertEqual(json.load(f)['attrs'], [{'frl': '30'}])  # the definition kept

    def test_forty_concurrent_modifies_keep_every_attribute(self):
        self.define(T4, U1, dfn(TWO_Q))
        results = {}
        for i in range(40):
            self.call_async('Modify', '(ssa{sv}a{sv})',
                            (T4, U1, {'add_attribute': GLib.Variant('(ssi)', ('attr%d' % i, str(i), -1))}, {}),
                            results, i)
        self.wait_results(results, 40)
        self.assertTrue(all(r[0] == 'ok' for r in results.values()), results)
        with open(self.def_file(T4, U1)) as f:
            attrs = json.load(f)['attrs']
        self.assertEqual(attrs, [{'attr%d' % i: str(i)} for i in range(40)])  # all, in arrival order
        self.assertEqual(len(self.get_property(definition_path(T4, U1), DEFINITION, 'Attributes')), 40)

    def test_changes_behind_the_daemons_back_are_picked_up(self):
        path = definition_path(T4, U1)
        os.makedirs(os.path.join(self.sim.definitions_dir, T4))
        with open(self.def_file(T4, U1), 'w') as f:
            f.write(hosts.definition_text(TWO_Q))
        self.assertTrue(self.wait_for(lambda s: path in om_paths(s, 'InterfacesAdded')))
        self.recorder.clear()
        tmp = self.def_file(T4, '.tmp')
        with open(tmp, 'w') as f:
            f.write(hosts.definition_text(TWO_Q, 'auto'))
        os.rename(tmp, self.def_file(T4, U1))
        self.assertTrue(self.wait_for(lambda s: any(m == 'PropertiesChanged' and p == path for m, p, _ in s)))
        self.assertEqual(self.get_property(path, DEFINITION, 'Start'), 'auto')
        os.unlink(self.def_file(T4, U1))
        self.assertTrue(self.wait_for(lambda s: path in om_paths(s, 'InterfacesRemoved')))


    def test_own_writes_are_not_read_again(self):
        """The rename of vgpud's own Define or Modify is not taken for someone else's change (its job
        put what it wrote into the inventory): no reload of that file; another tool's write is."""
        os.makedirs(os.path.join(self.sim.definitions_dir, T4), exist_ok=True)  # watched from the start
        self.stop_vgpud()
        self.start_vgpud(['-v'])
        self.define(T4, U1, dfn(TWO_Q))
        self.modify(T4, U1, {'start': GLib.Variant('s', 'auto')})
        # another tool's file after them: its reload is logged once the burst with vgpud's renames
        # (inotify keeps the order) has been read
        with open(self.def_file(T4, U2), 'w') as f:
            f.write(dfn(TWO_Q))
        self.assertTrue(self.wait_for(lambda s: 'The definition %s/%s changed' % (T4, U2) in self.daemon_log()))
        self.assertNotIn('The definition %s/%s changed' % (T4, U1), self.daemon_log())
        self.assertEqual(self.get_property(definition_path(T4, U1), DEFINITION, 'Start'), 'auto')
        # someone else's change of vgpud's file is read
        with open(self.def_file(T4, U1), 'w') as f:
            f.write(dfn(FOUR_Q))
        self.assertTrue(self.wait_for(lambda s: 'The definition %s/%s changed' % (T4, U1) in self.daemon_log()))
        self.assertTrue(self.wait_for(
            lambda s: self.get_property(definition_path(T4, U1), DEFINITION, 'TypeId') == FOUR_Q))

    def test_replies_come_before_signals(self):
        """A Definition's signals go out at the end of the dispatch that answers the Define or Modify,
        after the reply (the client runs meanwhile); the object is there for the reply already."""
        path = definition_path(T4, U1)
        order = []  # what reaches this connection, in the order it comes

        def on_message(_conn, msg, incoming):
            if incoming and msg.get_message_type() == Gio.DBusMessageType.METHOD_RETURN:
                order.append('reply')
            elif incoming and msg.get_message_type() == Gio.DBusMessageType.SIGNAL:
                body = msg.get_body()
                first = body.unpack()[0] if body is not None and body.n_children() > 0 else None
                if msg.get_path() == path or first == path:
                    order.append(msg.get_member())
            return msg

        self.recorder.clear()
        fid = self.gconn.add_filter(on_message)
        try:
            self.define(T4, U1, dfn(TWO_Q))
            self.assertIn(path, self.get_managed_objects())
            self.assertTrue(self.wait_for(lambda s: path in om_paths(s, 'InterfacesAdded')))
            # the Define's reply, then (after GetManagedObjects' reply, or before it) the signal
            self.assertEqual(order[0], 'reply', order)
            self.assertIn('InterfacesAdded', order)
            del order[:]
            self.modify(T4, U1, {'start': GLib.Variant('s', 'auto')})
            self.assertTrue(self.wait_for(lambda s: any(m == 'PropertiesChanged' and p == path for m, p, _ in s)))
            self.assertEqual(order[0], 'reply', order)
            self.assertIn('PropertiesChanged', order)
        finally:
            self.gconn.remove_filter(fid)


class TestSharedDefinitionBatches(LifecycleTestCase):
    """Defines that share a durable batch are answered together: the snapshot is written once for the
    batch, before the replies (each reply wrote it before: one write per request). Each batch's fsync
    of the intent log is slowed (VGPUD_TEST_SLOW_AT) so that the defines sent after the first make a
    batch behind it; vgpud -v logs the batches and the snapshot's writes."""
    FIRST = '00000000-0000-4000-8000-000000000000'

    def env(self):
        env = super().env()
        env['VGPUD_TEST_SLOW_AT'] = 'fsync-intent-log:300'
        return env

    def test_a_batch_writes_the_snapshot_once(self):
        self.stop_vgpud()
        self.start_vgpud(['-v'])
        uuids = [self.FIRST] + ['00000000-0000-4000-8000-00000000000%d' % i for i in range(1, 8)]
        results = {}
        for u in uuids:
            self.call_async('Define', '(sssa{sv})', (T4, u, dfn(TWO_Q), {}), results, u)
        self.wait_results(results, len(uuids))
        self.assertEqual({r[0] for r in results.values()}, {'ok'}, results)
        log = self.daemon_log().splitlines()
        first = next(i for i, line in enumerate(log) if 'Durable: ' in line)
        batches = [line for line in log[first:] if 'Durable: ' in line]
        writes = [line for line in log[first:] if 'Wrote ' in line and 'snapshot' in line]
        self.assertLess(len(batches), len(uuids), batches)  # they did share batches
        # one write per answered batch at most (two batches answered in one dispatch share one)
        self.assertGreater(len(writes), 0, 'vgpud -v logs no write: nothing was counted')
        self.assertLessEqual(len(writes), len(batches), (batches, writes))
        # and each reply came once its definition was in the snapshot
        listed = subprocess.run([os.path.join(vgpudtest.builddir(), 'client', 'vgpuctl'), 'list', '-d'],
                                capture_output=True, text=True, env=self.env(), timeout=60).stdout
        for u in uuids:
            self.assertIn(u, listed)


class TestReadOnly(LifecycleTestCase):

    def setUp(self):
        super().setUp()
        d = self.sim.definitions_dir
        self.define(T4, U1, dfn(TWO_Q))
        subprocess.run(['mount', '--bind', d, d], check=True)
        self.addCleanup(subprocess.run, ['umount', d], check=True)
        subprocess.run(['mount', '-o', 'remount,bind,ro', d], check=True)

    def test_read_only_definitions_directory(self):
        before = open(self.def_file(T4, U1)).read()
        msg = self.assertError(ERR + 'ReadOnly', self.define, T4, U2, dfn(TWO_Q))
        self.assertIn('read-only', msg)
        self.assertError(ERR + 'ReadOnly', self.modify, T4, U1, {'start': GLib.Variant('s', 'auto')})
        self.assertError(ERR + 'ReadOnly', self.undefine, T4, U1)
        self.assertEqual(open(self.def_file(T4, U1)).read(), before)
        self.assertEqual(self.def_files(), {T4 + '/' + U1})
        self.assertEqual(self.get_property(definition_path(T4, U1), DEFINITION, 'Start'), 'manual')
        # starting from a definition needs no writing
        self.start(T4, U1)
        self.assertEqual(self.running(), {U1})


class TestOverlap(LifecycleTestCase):
    """Independent requests overlap their waits for the kernel; requests about one device wait."""
    host = 'default'

    def test_a_start_waiting_for_the_kernel_holds_up_only_its_own_device(self):
        emu = self.sim.emulator
        emu.refuse_next(1)  # the kernel is slow with U1: its start waits until the device shows up below
        results = {}
        self.call_async('Start', '(sssa{sv})', (T4, U1, dfn(TWO_Q), {'timeout_ms': GLib.Variant('u', 120000)}),
                        results, 'slow')
        self.assertTrue(emu.wait_for(lambda: len(emu.refusals) == 1, vgpudtest.WAIT_TIMEOUT),
                        'the create of U1 was not written')
        # another GPU goes ahead meanwhile
        self.assertEqual(self.start('mtty', U2, dfn('mtty-1')), (U2, device_path(U2)))
        self.assertNotIn('slow', results, 'the start of U1 ended before its device existed')
        # a request about U1 waits for the start of U1 (run now, it would find nothing to stop)
        self.call_async('Stop', '(sa{sv})', (U1, {}), results, 'stop')
        self.assertTrue(emu.create(T4, TWO_Q, U1, timeout=vgpudtest.WAIT_TIMEOUT))
        self.wait_results(results, 2)
        self.assertEqual(results['slow'], ('ok', (U1, device_path(U1))))
        self.assertEqual(results['stop'], ('ok', ()))
        self.assertEqual(self.running(), {U2})


    def test_creations_on_one_gpu_overlap(self):
        """Creations of one type on one GPU are all written before the kernel shows the first."""
        emu = self.sim.emulator
        uuids = [hosts.make_uuid('overlap', i) for i in range(4)]
        results = {}
        with emu.uevents_held():
            for u in uuids:
                self.call_async('Start', '(sssa{sv})', (T4, u, dfn(TWO_Q), {}), results, u)
            self.assertTrue(emu.wait_for(lambda: all(u in self.sim.host.mdevs for u in uuids),
                                         vgpudtest.WAIT_TIMEOUT),
                            'each creation waited for the one before it to be seen')
        self.wait_results(results, 4)
        self.assertEqual(results, {u: ('ok', (u, device_path(u))) for u in uuids})
        self.assertEqual(self.running(), set(uuids))

    def test_a_refused_creation_releases_its_reservation(self):
        """The kernel refuses one of nine creations on a T4 (8 x 2Q): its room goes back, the other
        eight are all written while none is seen yet, and all succeed."""
        emu = self.sim.emulator
        uuids = [hosts.make_uuid('refused', i) for i in range(9)]
        results = {}
        with emu.uevents_held():
            emu.fail_next(errno.EIO)
            for u in uuids:
                self.call_async('Start', '(sssa{sv})', (T4, u, dfn(TWO_Q), {}), results, u)
            # the refusal comes back from the write, no uevent needed (the writes that work, too)
            self.wait_until_result(results, lambda r: r[0] == 'error')
            self.assertTrue(emu.wait_for(lambda: len(self.sim.host.mdevs) == 8, vgpudtest.WAIT_TIMEOUT),
                            'the refused creation kept its room')
        self.wait_results(results, 9)
        refused = [u for u, r in results.items() if r[0] == 'error']
        self.assertEqual(len(refused), 1, results)
        self.assertEqual(results[refused[0]][1], ERR + 'DriverRefused')
        self.assertIn('Input/output error', results[refused[0]][2])
        self.assertEqual(self.running(), set(uuids) - set(refused))
        self.assertEqual([r['reason'] for r in emu.refusals], ['failed on request (EIO)'])

    def test_64_starts_on_one_gpu_while_the_kernel_is_silent(self):
        """64 starts for 8 rooms, all answered before the kernel has sent a single uevent: 8 started
        (each read from sysfs once its write to create returned), 56 NoCapacity."""
        emu = self.sim.emulator
        uuids = [hosts.make_uuid('silent', i) for i in range(64)]
        results = {}
        with emu.uevents_held() as held:
            for u in uuids:
                self.call_async('Start', '(sssa{sv})', (T4, u, dfn(TWO_Q), {}), results, u)
            self.wait_results(results, 64)
            ok = {u for u, r in results.items() if r[0] == 'ok'}
            self.assertEqual(len(ok), 8, results)
            self.assertEqual(sorted(r[1] for r in results.values() if r[0] != 'ok'), [ERR + 'NoCapacity'] * 56)
            self.assertEqual(self.running(), ok)
            self.assertEqual(self.listed_devices(), ok)
            self.assertEqual(len([e for e in held if dict(e)['ACTION'] == 'add']), 8)  # really silent
        self.assertEqual(emu.refusals, [])
        self.assertEqual(self.listed_devices(), ok)


class TestSilentKernel(LifecycleTestCase):
    """A create is complete when the write to create returns (Linux's create_store() registers the
    device, its links and its driver inside the system call): a start does not wait for the uevent,
    and the uevent that comes later changes nothing."""
    host = 'default'

    def settle_uevents(self):
        """Return once the daemon has taken in every uevent sent so far: a device created behind its
        back after them is announced after them."""
        self.markers = getattr(self, 'markers', 0) + 1
        marker = hosts.make_uuid('marker', self.markers - 1)
        self.assertTrue(self.sim.emulator.create('mtty', 'mtty-1', marker, timeout=vgpudtest.WAIT_TIMEOUT))
        self.assertTrue(self.wait_for(lambda s: device_path(marker) in om_paths(s, 'InterfacesAdded')))

    def assert_started_once(self, uuid):
        path = device_path(uuid)
        self.assertEqual(om_paths(self.recorder.signals, 'InterfacesAdded').count(path), 1)
        self.assertNotIn(path, om_paths(self.recorder.signals, 'InterfacesRemoved'))
        props = self.get_all_properties(path, DEVICE)
        self.assertEqual((props['TypeId'], props['State']), (TWO_Q, 'active'))
        self.assertEqual(self.listed_devices() & {uuid}, {uuid})

    def test_a_start_completes_with_its_uevent_withheld(self):
        emu = self.sim.emulator
        self.recorder.clear()
        with emu.uevents_held() as held:
            self.assertEqual(self.start(T4, U1, dfn(TWO_Q)), (U1, device_path(U1)))
            self.assertTrue(self.wait_for(lambda s: device_path(U1) in om_paths(s, 'InterfacesAdded')))
            self.assert_started_once(U1)
            self.assertIn(('ACTION', 'add'), held[0])  # the kernel's add was held back
            self.assertTrue(any(v.endswith('/' + U1) for k, v in held[0] if k == 'DEVPATH'), held[0])
        self.settle_uevents()
        self.assert_started_once(U1)  # the late add and bind changed nothing
        self.assertEqual([a for m, p, a in self.recorder.signals
                          if m == 'PropertiesChanged' and p == device_path(U1)
                          and 'State' in a[1] and a[1]['State'] != 'active'], [])
        # remove_store() is synchronous too: the stop ends with the device gone, its uevents held
        with emu.uevents_held() as held:
            self.assertEqual(self.stop(U1), ())
            self.assertEqual(self.running(), {hosts.make_uuid('marker', 0)})
            self.assertNotIn(U1, self.listed_devices())
            self.assertTrue(self.wait_for(lambda s: device_path(U1) in om_paths(s, 'InterfacesRemoved')))
            self.assertIn(('ACTION', 'remove'), held[-1])
        self.settle_uevents()
        self.assertNotIn(U1, self.listed_devices())
        self.assertEqual(om_paths(self.recorder.signals, 'InterfacesAdded').count(device_path(U1)), 1)

    def test_a_start_whose_type_link_comes_after_the_uevent(self):
        """Linux 6.1 sends add before it makes the mdev_type link, but create_store() returns after
        both: the device read right after the write has its type."""
        emu = self.sim.emulator
        emu.late_type_link = 0.3
        self.recorder.clear()
        with emu.uevents_held():
            self.assertEqual(self.start(T4, U1, dfn(TWO_Q)), (U1, device_path(U1)))
            self.assertTrue(self.wait_for(lambda s: device_path(U1) in om_paths(s, 'InterfacesAdded')))
            self.assert_started_once(U1)
        self.settle_uevents()
        self.assert_started_once(U1)

    def test_an_acquire_completes_with_its_uevent_withheld_and_a_stop_after_it(self):
        emu = self.sim.emulator
        self.recorder.clear()
        with emu.uevents_held() as held:
            uuid = self.manager('Acquire', '(ssa{sv})', ('T4-2Q', 'test:silent', {}))[0]
            path = device_path(uuid)
            self.assertTrue(self.wait_for(lambda s: path in om_paths(s, 'InterfacesAdded')))
            self.assert_started_once(uuid)
            self.assertTrue(held)
        self.settle_uevents()
        self.assert_started_once(uuid)
        self.manager('Release', '(sa{sv})', ('test:silent', {}))
        self.assertNotIn(uuid, self.running())


class TestSlowKernel(LifecycleTestCase):
    """vgpud writes create and remove off its loop: while a driver takes its time inside a write to
    create (NVIDIA's create sets up the vGPU there), or the kernel holds a write to remove (a VM still
    has the device open), the daemon answers everything else."""
    host = 'default'

    def state(self, uuid):
        return self.get_property(device_path(uuid), DEVICE, 'State')

    def test_a_slow_create_holds_up_nothing_else(self):
        emu = self.sim.emulator
        results = {}
        with emu.creates_held(T4):
            self.call_async('Start', '(sssa{sv})', (T4, U1, dfn(TWO_Q), {'timeout_ms': GLib.Variant('u', PATIENT_MS)}),
                            results, 'slow')
            # the device and its uevents are there; the driver has not returned from the write yet
            self.assertTrue(emu.wait_for(lambda: U1 in self.sim.host.mdevs, vgpudtest.WAIT_TIMEOUT),
                            'the create of U1 was not written')
            emu.flush_uevents()
            # meanwhile: a start on another GPU, an Acquire there, reads
            self.assertEqual(self.start('mtty', U2, dfn('mtty-1')), (U2, device_path(U2)))
            acquired = self.manager('Acquire', '(ssa{sv})', ('A16-4Q', 'test:meanwhile', {}))[0]
            listed = self.listed_devices()
            self.assertEqual(listed & {U2, acquired}, {U2, acquired})
            # ... and the start of U1 is still inside its write: vgpud reads U1 (not from its uevents,
            # which came already) once the write returned
            self.assertNotIn(U1, listed)
            # a request about U1 waits for its start
            self.call_async('Stop', '(sa{sv})', (U1, {}), results, 'stop')
        self.wait_results(results, 2)
        self.assertEqual(results['slow'], ('ok', (U1, device_path(U1))))
        self.assertEqual(results['stop'], ('ok', ()))
        self.assertEqual(self.running(), {U2, acquired})
        self.assertEqual(om_paths(self.recorder.signals, 'InterfacesAdded').count(device_path(U1)), 1)

    def test_an_acquire_waiting_for_a_create_that_never_returns_ends_at_its_timeout(self):
        # the T4's last room is taken by a create its driver holds: an Acquire that finds no room then
        # waits for that create's result (a create in flight may be counted twice), keeping its place
        # at the head of the queue, but not past its own timeout; then it is refused and the requests
        # behind it go on, while the create is still held
        emu = self.sim.emulator
        uuids = ['%d4444444-5d7b-4b8e-9a55-7f0e2a1d3c4%d' % (i, i) for i in range(1, 5)]
        for u in uuids[:3]:
            self.assertEqual(self.start(T4, u, dfn(FOUR_Q)), (u, device_path(u)))
        results = {}
        with emu.creates_held(T4):
            self.call_async('Start', '(sssa{sv})', (T4, uuids[3], dfn(FOUR_Q), {'timeout_ms': GLib.Variant('u', PATIENT_MS)}),
                            results, 'held')
            self.assertTrue(emu.wait_for(lambda: uuids[3] in self.sim.host.mdevs, vgpudtest.WAIT_TIMEOUT),
                            'the create of the fourth T4-4Q was not written')
            emu.flush_uevents()
            started = time.monotonic()
            self.call_async('Acquire', '(ssa{sv})', ('T4-4Q', 'test:late', {'timeout_ms': GLib.Variant('u', 1500)}),
                            results, 'acquire')
            self.call_async('Define', '(sssa{sv})', (T4, U1, dfn(TWO_Q), {}), results, 'behind')
            self.wait_until_result(results, lambda r: 'acquire' in results and 'behind' in results)
            waited = time.monotonic() - started
            self.assertNotIn('held', results)  # the driver still holds its create
        self.assertEqual(results['acquire'][:2], ('error', ERR + 'NoCapacity'), results)
        self.assertGreaterEqual(waited, 1.4)  # it waited for the create, up to its timeout
        self.assertEqual(results['behind'], ('ok', (U1, definition_path(T4, U1))))
        self.wait_results(results, 3)
        self.assertEqual(results['held'], ('ok', (uuids[3], device_path(uuids[3]))))
        self.assertEqual(self.running(), set(uuids))

    def test_a_remove_the_kernel_holds_freezes_nothing(self):
        emu = self.sim.emulator
        emu.remove_waits_for_holders = True
        self.assertEqual(self.start(T4, U1, dfn(TWO_Q)), (U1, device_path(U1)))
        with open(emu.vfio_group_path(U1), 'rb') as f:  # a VM holds the device
            vm = subprocess.Popen(['sleep', '600'], stdin=f)
        try:
            results = {}
            self.call_async('Stop', '(sa{sv})', (U1, {'timeout_ms': GLib.Variant('u', PATIENT_MS)}), results,
                            'stop')
            self.assertTrue(emu.wait_for(lambda: emu.handled > 1, vgpudtest.WAIT_TIMEOUT),
                            'the remove of U1 was not written')
            # the kernel waits for the VM; the daemon answers a start, an Acquire and reads
            self.assertEqual(self.start('mtty', U2, dfn('mtty-1')), (U2, device_path(U2)))
            acquired = self.manager('Acquire', '(ssa{sv})', ('T4-2Q', 'test:meanwhile', {}))[0]
            self.assertIn(U1, self.listed_devices())
            self.assertEqual(self.state(U1), 'stopping')  # Stop has not answered
        finally:
            vm.kill()
            vm.wait()
        self.wait_results(results, 1)
        self.assertEqual(results['stop'], ('ok', ()))
        self.assertEqual(self.running(), {U2, acquired})


class TestConcurrency(LifecycleTestCase):

    def test_64_concurrent_starts_for_8_instances(self):
        results = {}
        uuids = [hosts.make_uuid('storm', i) for i in range(64)]
        for u in uuids:
            self.call_async('Start', '(sssa{sv})', (T4, u, dfn(TWO_Q), {}), results, u)
        self.wait_results(results, 64)
        ok = [u for u, r in results.items() if r[0] == 'ok']
        errors = [r[1] for r in results.values() if r[0] == 'error']
        self.assertEqual(len(ok), 8, results)
        self.assertEqual(errors, [ERR + 'NoCapacity'] * 56)
        self.assertEqual(self.running(), set(ok))
        self.assertEqual(self.listed_devices(), set(ok))
        self.assertEqual(self.sim.emulator.refusals, [])  # the daemon never asked the kernel in vain

    def test_16_concurrent_defines_are_durable_and_listed(self):
        # they share the flusher's batches (daemon/flusher.c); each is answered only once its file is
        # durable, and only then listed
        uuids = [hosts.make_uuid('burst', i) for i in range(16)]
        results = {}
        for i, u in enumerate(uuids):
            parent = T4 if i % 2 == 0 else 'mtty'
            self.call_async('Define', '(sssa{sv})', (parent, u, dfn(TWO_Q if parent == T4 else 'mtty-1'), {}),
                            results, u)
        self.wait_results(results, 16)
        self.assertEqual({r[0] for r in results.values()}, {'ok'}, results)
        listed = {d[1]: d for d in self.manager('ListDefinitions', None, None)[0]}
        for i, u in enumerate(uuids):
            parent = T4 if i % 2 == 0 else 'mtty'
            with open(self.def_file(parent, u)) as f:
                self.assertEqual(json.load(f)['mdev_type'], TWO_Q if parent == T4 else 'mtty-1')
            self.assertEqual(listed[u][0], parent)
        self.assertEqual([f for f in self.def_files() if os.path.basename(f).startswith('.')], [])
        # eight modifies of one definition at once keep their order
        results = {}
        for k in range(8):
            self.call_async('Modify', '(ssa{sv}a{sv})',
                            (T4, uuids[0], {'add_attribute': GLib.Variant('(ssi)', ('a%d' % k, str(k), -1))}, {}),
                            results, k)
        self.wait_results(results, 8)
        self.assertEqual({r[0] for r in results.values()}, {'ok'}, results)
        with open(self.def_file(T4, uuids[0])) as f:
            attrs = [list(a.keys())[0] for a in json.load(f)['attrs']]
        self.assertEqual(attrs, ['a%d' % k for k in range(8)])
        # and sixteen undefines at once leave nothing, on disk or listed
        results = {}
        for u in uuids:
            self.call_async('Undefine', '(ssa{sv})', ('', u, {}), results, u)
        self.wait_results(results, 16)
        self.assertEqual({r[0] for r in results.values()}, {'ok'}, results)
        self.assertEqual(self.def_files() & {p + '/' + u for p in (T4, 'mtty') for u in uuids}, set())
        listed = {d[1] for d in self.manager('ListDefinitions', None, None)[0]}
        self.assertEqual(listed & set(uuids), set())

    def test_kill_9_during_a_storm(self):
        for i in range(10):
            self.define(T4, hosts.make_uuid('kill', i), dfn(TWO_Q, attrs=[('n', str(i))]))
        results = {}
        what = {}  # call -> what an OK answer promises is on disk
        n = 0
        for round_ in range(10):
            for i in range(10):
                u = hosts.make_uuid('kill', i)
                self.call_async('Modify', '(ssa{sv}a{sv})',
                                (T4, u, {'add_attribute': GLib.Variant('(ssi)', ('r%d' % round_, 'x' * 200, -1))},
                                 {}), results, n)
                what[n] = (T4, u, 'r%d' % round_)
                n += 1
            self.call_async('Define', '(sssa{sv})', ('mtty', hosts.make_uuid('killdef', round_), dfn('mtty-1'), {}),
                            results, n)
            what[n] = ('mtty', hosts.make_uuid('killdef', round_), None)
            n += 1
            self.call_async('Start', '(sssa{sv})', (T4, hosts.make_uuid('kill', round_), '', {}), results, n)
            n += 1
        ctx = GLib.MainContext.default()
        deadline = time.monotonic() + 10
        while len(results) < n // 3 and time.monotonic() < deadline:
            ctx.iteration(True)
        self.daemon.send_signal(signal.SIGKILL)
        self.daemon.wait()
        self.daemon = None
        self.recorder.close()
        self.recorder = None
        self.assertLess(len(results), n, 'the storm was over before the kill: nothing was tested')
        # every Define and Modify answered OK is in its file (vgpud answers once it is durable)
        answered = [what[k] for k, r in results.items() if r[0] == 'ok' and k in what]
        self.assertGreater(len(answered), 0, 'nothing was answered before the kill: nothing was tested')
        for parent, u, attr in answered:
            with open(self.def_file(parent, u)) as fh:
                data = json.load(fh)
            if attr:
                self.assertIn(attr, [list(a.keys())[0] for a in data.get('attrs', [])], (u, attr))

        for f in self.def_files():
            name = os.path.basename(f)
            if name.startswith('.'):
                continue  # a temp file of the interrupted write: never read
            with open(os.path.join(self.sim.definitions_dir, f)) as fh:
                data = json.load(fh)
            self.assertIn('mdev_type', data)
        self.start_vgpud()
        self.assertEqual([f for f in self.def_files() if os.path.basename(f).startswith('.')], [])  # cleaned
        warnings = self.get_property('/org/vgpud1', MANAGER, 'Warnings')
        self.assertEqual([w for w in warnings if 'not a valid definition' in w], [])
        self.assertEqual(self.listed_devices(), self.running())
        # and every running one shows up on the bus as an object
        objects = self.get_managed_objects()
        self.assertEqual({p[DEVICE]['Uuid'] for p in objects.values() if DEVICE in p}, self.running())


class TestAutostart(LifecycleTestCase):
    # U1 auto (2Q), U2 auto (4Q: cannot run next to U1), U3 manual
    def make_host(self):
        h = hosts.build_host('t4')
        h.define(T4, U1, TWO_Q, 'auto', [('x', '1')])
        h.define(T4, U2, FOUR_Q, 'auto')
        h.define(T4, U3, TWO_Q, 'manual')
        return h

    def wait_log(self, text, count=1, timeout=vgpudtest.WAIT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while self.daemon_log().count(text) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.daemon_log().count(text)

    def test_autostart_at_startup_and_when_the_parent_registers(self):
        self.assertTrue(self.sim.emulator.wait_for(lambda: U1 in self.sim.host.mdevs))
        self.assertEqual(self.wait_log('Autostart of the definition %s/%s failed' % (T4, U2)), 1)
        self.assertEqual(self.running(), {U1})
        with open(os.path.join(self.device_dir(U1), 'x')) as f:
            self.assertEqual(f.read(), '1')
        self.assertIn('needs 4096 MiB', self.daemon_log())  # the failure says why

        self.sim.emulator.parent_unregister(T4)
        self.assertTrue(self.sim.emulator.wait_for(lambda: not self.sim.host.mdevs))
        adds_before = len([e for e in self.sim.emulator.events if e[0] == 'add' and U1 in e[1]])
        self.sim.emulator.parent_register(T4)
        self.sim.emulator.parent_register(T4)  # a second event for the same parent: still one attempt
        self.assertTrue(self.sim.emulator.wait_for(lambda: U1 in self.sim.host.mdevs))
        self.assertEqual(self.wait_log('Autostart of the definition %s/%s failed' % (T4, U2), 2), 2)
        time.sleep(0.5)
        adds = len([e for e in self.sim.emulator.events if e[0] == 'add' and U1 in e[1]])
        self.assertEqual(adds - adds_before, 1)
        self.assertEqual(self.daemon_log().count('Autostart of the definition %s/%s failed' % (T4, U2)), 2)
        self.assertEqual(self.sim.emulator.refusals, [])
        self.assertEqual(self.running(), {U1})

    def test_autostart_failure_shows_in_vgpuctl_until_it_starts(self):
        self.assertEqual(self.wait_log('Autostart of the definition %s/%s failed' % (T4, U2)), 1)
        failed = [w for w in self.get_property('/org/vgpud1', MANAGER, 'Warnings') if 'autostart failed' in w]
        self.assertEqual(len(failed), 1)
        self.assertIn('%s/%s' % (T4, U2), failed[0])
        self.assertIn('needs 4096 MiB', failed[0])
        rc, out, err = self.run_vgpuctl('list', '-d')
        self.assertEqual(rc, 0, err)
        self.assertIn('Warning: ', err)
        self.assertIn('autostart failed', err)
        # once the core is free and the definition started (by anyone), the warning goes
        self.stop(U1)
        self.start('', U2)
        self.assertEqual([w for w in self.get_property('/org/vgpud1', MANAGER, 'Warnings')
                          if 'autostart failed' in w], [])


# ---------------------------------------------------------------- callers that are not root

OPEN_BUS = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%(sock)s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

# Runs as uid 65534: one call to the Manager, prints the reply as JSON or "ERROR <name> <message>".
NOBODY_CALL = r'''
import json, sys
from gi.repository import Gio, GLib
addr, method, sig, args = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
conn = Gio.DBusConnection.new_for_address_sync(addr, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
                                               Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
try:
    r = conn.call_sync('org.vgpud1', '/org/vgpud1', 'org.vgpud1.Manager', method,
                       GLib.Variant(sig, tuple(args)) if sig else None, None, 0, 30000, None)
    print(json.dumps(r.unpack()))
except GLib.Error as e:
    name = Gio.DBusError.get_remote_error(e)
    prefix = 'GDBus.Error:%s: ' % name
    print('ERROR %s %s' % (name, e.message[len(prefix):] if e.message.startswith(prefix) else e.message))
'''


class TestUnprivileged(LifecycleTestCase):
    """uid 65534 on a bus that admits it, with the polkitd mock on the same bus."""
    polkit = None
    start_daemon = False

    def setUp(self):
        super().setUp()
        os.chmod(self.workdir, 0o755)
        sock = os.path.join(self.workdir, 'open_bus_socket')
        conf = os.path.join(self.workdir, 'open-bus.conf')
        with open(conf, 'w') as f:
            f.write(OPEN_BUS % {'sock': sock})
        self.bus = subprocess.Popen(['dbus-daemon', '--config-file', conf, '--nofork', '--nopidfile'],
                                    stderr=subprocess.DEVNULL)
        for _ in range(500):
            if os.path.exists(sock):
                break
            time.sleep(0.01)
        os.chmod(sock, 0o777)
        self.addr = 'unix:path=' + sock
        self.benv = dict(self.env(), DBUS_SYSTEM_BUS_ADDRESS=self.addr)
        self.polkit_mock = None
        self.conn = Gio.DBusConnection.new_for_address_sync(
            self.addr, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
            Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        log = open(self.log_path, 'a')
        self.vgpud = subprocess.Popen(self.daemon_argv(), env=self.benv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.wait_name('org.vgpud1')

    def tearDown(self):
        rc = None
        if self.vgpud.poll() is None:
            self.vgpud.terminate()
            rc = self.vgpud.wait(30)
        if self.polkit_mock is not None:
            self.polkit_mock.terminate()
            self.polkit_mock.wait()
        self.conn.close_sync(None)
        self.bus.terminate()
        self.bus.wait()
        super().tearDown()
        self.assertEqual(rc, 0, 'vgpud exited with %s on SIGTERM' % rc)

    def wait_name(self, name):
        for _ in range(500):
            r = self.conn.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                                    'NameHasOwner', GLib.Variant('(s)', (name,)), None, 0, 5000, None)
            if r.unpack()[0]:
                return
            time.sleep(0.02)
        self.fail('%s did not appear on the bus' % name)

    def start_polkit_mock(self):
        self.polkit_mock = subprocess.Popen([sys.executable, '-m', 'dbusmock', '--template', 'polkitd', '--system'],
                                            env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.addr),
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_name('org.freedesktop.PolicyKit1')

    def polkit_allow(self, allow):
        self.conn.call_sync('org.freedesktop.PolicyKit1', '/org/freedesktop/PolicyKit1/Authority',
                            dbusmock.MOCK_IFACE, 'AllowUnknown', GLib.Variant('(b)', (allow,)), None, 0, 5000, None)

    def as_nobody(self, method, sig='', args=()):
        p = subprocess.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups',
                            '/usr/bin/python3', '-c', NOBODY_CALL, self.addr, method, sig, json.dumps(list(args))],
                           capture_output=True, text=True, timeout=60, cwd='/')
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.strip()
        if out.startswith('ERROR '):
            _, name, msg = out.split(' ', 2)
            return ('error', name, msg)
        return ('ok', json.loads(out))

    def polkit_details(self):
        """The details of every CheckAuthorization the mock saw, in order."""
        r = self.conn.call_sync('org.freedesktop.PolicyKit1', '/org/freedesktop/PolicyKit1/Authority',
                                dbusmock.MOCK_IFACE, 'GetMethodCalls', GLib.Variant('(s)', ('CheckAuthorization',)),
                                None, 0, 5000, None)
        return [(args[1], args[2]) for _, args in r.unpack()[0]]

    def test_polkit_is_told_what_each_request_is_about(self):
        self.start_polkit_mock()
        self.polkit_allow(True)
        self.assertEqual(self.as_nobody('Define', '(sssa{sv})', (T4, U1, dfn(TWO_Q), {}))[0], 'ok')
        # the definition gives parent and type; Stop finds them on the running device
        self.assertEqual(self.as_nobody('Start', '(sssa{sv})', ('', U1, '', {}))[0], 'ok')
        self.assertEqual(self.as_nobody('Stop', '(sa{sv})', (U1, {}))[0], 'ok')
        about = {'parent': T4, 'type': TWO_Q, 'uuid': U1}
        self.assertEqual(self.polkit_details(), [('org.vgpud1.definition.change', about),
                                                 ('org.vgpud1.device.start', about),
                                                 ('org.vgpud1.device.stop', about)])

    def test_denied_changes_nothing_and_reads_still_work(self):
        denied = 'org.freedesktop.DBus.Error.AccessDenied'
        # no polkit on the bus at all: denied
        r = self.as_nobody('Define', '(sssa{sv})', (T4, U1, dfn(TWO_Q), {}))
        self.assertEqual(r[:2], ('error', denied), r)
        # polkit says no
        self.start_polkit_mock()
        self.polkit_allow(False)
        for method, sig, args in (('Define', '(sssa{sv})', (T4, U1, dfn(TWO_Q), {})),
                                  ('Start', '(sssa{sv})', (T4, U1, dfn(TWO_Q), {})),
                                  ('Modify', '(ssa{sv}a{sv})', (T4, U1, {}, {})),
                                  ('Undefine', '(ssa{sv})', (T4, U1, {})),
                                  ('Stop', '(sa{sv})', (U1, {}))):
            r = self.as_nobody(method, sig, args)
            self.assertEqual(r[:2], ('error', denied), (method, r))
        self.assertEqual(self.def_files(), set())
        self.assertEqual(self.running(), set())
        r = self.as_nobody('ListDevices')
        self.assertEqual(r, ('ok', [[]]))
        r = self.as_nobody('ListDefinitions')
        self.assertEqual(r[0], 'ok', r)
        # polkit says yes: the same caller may
        self.polkit_allow(True)
        r = self.as_nobody('Start', '(sssa{sv})', (T4, U1, dfn(TWO_Q), {}))
        self.assertEqual(r, ('ok', [U1, device_path(U1)]))
        self.assertEqual(self.running(), {U1})
        self.assertIn('denied', open(self.log_path).read())
