# SPDX-License-Identifier: LGPL-2.1-or-later
"""The fault tier (issue 11): EIO on a sysfs write and a driver that never answers; vgpud killed with SIGKILL at every step of Acquire, Release and
Define, by the test-only crash points of common/fault.h (VGPUD_TEST_CRASH_AT), then started again. Each
case ends with everything accounted for: no temporary file left, every definition readable, every lease
backed by its running device or (Defined) by its definition, every running device leased, defined or
reported in Orphans, and the operation either done or undone as a whole. Run as the "faults" suite
(meson test --setup all --suite faults), not in the integration tier."""

import os
import signal
import time

from gi.repository import GLib
from test_acquire import AcquireTestCase, T4, options
from test_lifecycle import dfn

U7 = '77777777-1111-4222-8333-444455556666'


class CrashTestCase(AcquireTestCase):
    host = 't4'
    crash_at = None
    fail_at = None
    slow_at = None

    def env(self):
        env = super().env()
        if self.crash_at:
            env['VGPUD_TEST_CRASH_AT'] = self.crash_at
        if self.fail_at:
            env['VGPUD_TEST_FAIL_AT'] = self.fail_at
        if self.slow_at:
            env['VGPUD_TEST_SLOW_AT'] = self.slow_at
        return env

    def crash_during(self, point, call):
        """Restart vgpud armed at point, run call (which the crash interrupts), start vgpud again."""
        self.stop_vgpud()
        self.crash_at = point
        self.start_vgpud()
        try:
            call()
        except GLib.Error:
            pass  # the connection went with the daemon
        deadline = time.monotonic() + 120
        while self.daemon.poll() is None:
            self.assertLess(time.monotonic(), deadline, 'vgpud never reached %s' % point)
            time.sleep(0.05)
        self.assertEqual(self.daemon.returncode, -signal.SIGKILL, 'vgpud did not crash at %s' % point)
        self.daemon = None
        self.crash_at = None
        self.start_vgpud()

    def files(self, top):
        out = []
        for d, _dirs, names in os.walk(top):
            out += [os.path.join(d, n) for n in names]
        return out

    def accounted(self):
        """Everything on disk and in sysfs is accounted for; returns (leases, running, definitions)."""
        temp = [f for f in self.files(self.state_dir) + self.files(self.sim.definitions_dir)
                if os.path.basename(f).startswith('.')]
        self.assertEqual(temp, [], 'temporary files left')
        self.assertEqual(self.get_property('/org/vgpud1', 'org.vgpud1.Manager', 'Warnings'), [])
        running = set(self.running())
        defs = {(d[0], d[1]) for d in self.manager('ListDefinitions', None, None)[0]}
        leases = self.leases()
        for lease in leases:
            uuid, parent, defined = lease[0], lease[3], lease[6]
            self.assertTrue(uuid in running or (defined and (parent, uuid) in defs),
                            'lease of %s holds nothing' % uuid)
        defined_uuids = {u for _p, u in defs}
        leased = {lease[0] for lease in leases}
        orphans = set(self.orphans())
        for uuid in running:
            self.assertTrue(uuid in leased or uuid in defined_uuids or uuid in orphans, uuid)
        return leased, running, defined_uuids

    def running(self):
        return sorted(os.listdir(os.path.join(self.sim.sys_dir, 'bus/mdev/devices')))


class TestCrashAcquire(CrashTestCase):
    def test_each_step_of_acquire(self):
        for point, persist in (('write-temp-leases', False), ('logged', False), ('acquire-leased', False),
                               ('created', False),
                               ('write-temp-definition', True), ('acquire-defined', True),
                               ('created', True)):
            with self.subTest(point=point, persist=persist):
                self.crash_during(point, lambda: self.acquire('T4-2Q', 'test:crash', persist=persist))
                leased, running, defined = self.accounted()
                # all or nothing: a lease that survived has its device (or comes back from its definition)
                for uuid in leased:
                    self.release(uuid)
                for uuid in running - leased:
                    self.stop(uuid)
                self.assertEqual(self.accounted(), (set(), set(), set()))


class TestCrashConcurrentAcquires(CrashTestCase):
    """Concurrent Acquires decide while their leases are made durable (and share batches: each fsync of
    the leases is slowed so that they do); vgpud killed at the first write to create. Every device the
    kernel has then is in the leases file as the kill left it: no create before its lease."""

    def test_kill_9_at_the_first_create(self):
        for persist in (False, True):
            with self.subTest(persist=persist):
                self.stop_vgpud()
                self.crash_at, self.slow_at = 'created', 'fsync-leases:200'
                self.start_vgpud()
                results = {}
                for i in range(8):
                    self.call_async('Acquire', '(ssa{sv})', ('T4-2Q', 'test:crash%d' % i,
                                                            options(persist=persist)), results, i)
                deadline = time.monotonic() + 120
                while self.daemon.poll() is None:
                    self.assertLess(time.monotonic(), deadline, 'vgpud never reached created')
                    time.sleep(0.05)
                self.assertEqual(self.daemon.returncode, -signal.SIGKILL)
                self.daemon = None
                running = set(self.running())
                self.assertTrue(running, 'killed before any create: nothing was tested')
                leased = set(self.load_leases_file().get_groups()[0])
                self.assertLessEqual(running, leased, 'a device was created before its lease was durable')
                self.crash_at = self.slow_at = None
                self.start_vgpud()
                leased, running, _defined = self.accounted()
                for uuid in leased:
                    self.release(uuid)
                for uuid in running - leased:
                    self.stop(uuid)
                self.assertEqual(self.accounted(), (set(), set(), set()))


class TestCrashRelease(CrashTestCase):
    def test_each_step_of_release(self):
        for point, persist in (('removed', False), ('write-temp-leases', False), ('removed', True),
                               ('release-undefined', True)):
            with self.subTest(point=point, persist=persist):
                uuid = self.acquire('T4-2Q', 'test:crash', persist=persist)[0]
                self.crash_during(point, lambda: self.release(uuid))
                leased, running, defined = self.accounted()
                self.assertNotIn(uuid, running)  # the device went before the crash
                if uuid in leased:  # a persisted lease comes back from its definition: release again
                    self.release(uuid)
                self.assertEqual(self.accounted(), (set(), set(), set()))


class TestCrashDefine(CrashTestCase):
    def test_each_step_of_define(self):
        for point in ('write-temp-definition', 'logged', 'defined'):
            with self.subTest(point=point):
                self.crash_during(point, lambda: self.define(T4, U7, dfn('nvidia-231')))
                _leased, _running, defined = self.accounted()
                if point == 'logged':  # its record was durable, nothing renamed: the start replays it
                    self.assertIn(U7, defined)
                    self.assertIn('Put 1 change the intent log', self.daemon_log())
                if U7 in defined:
                    self.undefine(T4, U7)
                self.assertEqual(self.accounted(), (set(), set(), set()))


class TestDriverFaults(CrashTestCase):
    """EIO on a sysfs write, and a driver that never answers: named by meaning, nothing left behind."""

    def test_eio_on_a_sysfs_write(self):
        self.stop_vgpud()
        self.fail_at = 'sysfs-write:EIO'
        self.start_vgpud()
        for persist in (False, True):
            with self.assertRaises(GLib.Error) as cm:
                self.acquire('T4-2Q', 'test:eio', persist=persist)
            self.assertIn('DriverRefused', str(cm.exception))
            self.assertIn('Input/output error', str(cm.exception))
            self.assertEqual(self.accounted(), (set(), set(), set()))
        with self.assertRaises(GLib.Error) as cm:
            self.start(T4, U7, dfn('nvidia-231'))
        self.assertIn('DriverRefused', str(cm.exception))
        self.assertEqual(self.accounted(), (set(), set(), set()))

    def test_a_driver_that_never_answers(self):
        for persist in (False, True):
            self.sim.emulator.refuse_next()
            with self.assertRaises(GLib.Error) as cm:
                self.acquire('T4-2Q', 'test:silent', persist=persist, timeout_ms=400)
            self.assertIn('Timeout', str(cm.exception))
            self.assertEqual(self.accounted(), (set(), set(), set()))
        # and the next one works
        uuid = self.acquire('T4-2Q', 'test:silent')[0]
        self.assertEqual(self.accounted(), ({uuid}, {uuid}, set()))
