# SPDX-License-Identifier: LGPL-2.1-or-later
"""Faults and limits (issue 11): a full or read-only file system under the definitions and the
leases gives Io or ReadOnly naming the path and the errno, never NoCapacity; definitions have one
size limit on write and an existing larger file stays readable; a Release that removed the device
but could not save the lease says so and the next start converges; temp files of the leases are
removed at startup; leases are reconciled with devices and definitions at startup and after
Stop/Undefine, by vgpud's hand or another's. Each ends with every lease, definition and device
accounted for. Needs root (tmpfs mounts)."""

import json
import os
import subprocess

from gi.repository import GLib
from test_acquire import AcquireTestCase, T4
from test_lifecycle import dfn, error_of

import hosts  # noqa: E402  (tests/sim, on the path through vgpudtest)

ERR = 'org.vgpud1.Error.'
U5 = '55555555-1111-4222-8333-444455556666'
U6 = '66666666-1111-4222-8333-444455556666'
DEF_MAX = 64 * 1024  # daemon/store.h STORE_DEFINITION_MAX


class FaultTestCase(AcquireTestCase):
    fail_at = None  # VGPUD_TEST_FAIL_AT for the daemon (common/fault.h)

    def env(self):
        env = super().env()
        if self.fail_at:
            env['VGPUD_TEST_FAIL_AT'] = self.fail_at
        return env

    def mount_tmpfs(self, path, size='64k', ro=False, fill=True):
        """A small tmpfs over path (hiding what is there), full unless fill=False; undone at cleanup."""
        os.makedirs(path, exist_ok=True)
        subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s,mode=0755' % size, 'tmpfs', path], check=True)
        self.addCleanup(subprocess.run, ['umount', '-l', path], stderr=subprocess.DEVNULL)
        if fill:
            subprocess.run(['dd', 'if=/dev/zero', 'of=' + os.path.join(path, '.fill'), 'bs=4k'],
                           stderr=subprocess.DEVNULL)
        if ro:
            subprocess.run(['mount', '-o', 'remount,ro', path], check=True)

    def error(self, fn, *args):
        with self.assertRaises(GLib.Error) as cm:
            fn(*args)
        return error_of(cm.exception)

    def running(self):
        return sorted(os.listdir(os.path.join(self.sim.sys_dir, 'bus/mdev/devices')))

    def definitions(self):
        return sorted((d[0], d[1]) for d in self.manager('ListDefinitions', None, None)[0])

    def warnings(self):
        return self.get_property('/org/vgpud1', 'org.vgpud1.Manager', 'Warnings')


class TestFullAndReadOnly(FaultTestCase):
    def test_full_state_dir_makes_acquire_fail_with_io(self):
        self.mount_tmpfs(self.state_dir)
        name, msg = self.error(self.acquire, 'T4-2Q', 'test:full')
        self.assertEqual(name, ERR + 'Io', msg)
        self.assertIn('ENOSPC', msg)
        self.assertIn(os.path.join(self.state_dir, 'leases'), msg)
        self.assertEqual(self.leases(), [])
        self.assertEqual(self.running(), [])  # the lease comes first: nothing was created

    def test_full_definitions_dir_makes_define_fail_with_io(self):
        self.mount_tmpfs(self.sim.definitions_dir)
        name, msg = self.error(self.define, T4, U5, dfn('nvidia-231'))
        self.assertEqual(name, ERR + 'Io', msg)
        self.assertIn('ENOSPC', msg)
        self.assertEqual(self.definitions(), [])
        # Acquire --persist: the definition cannot be stored, the lease and device are undone
        name, msg = self.error(lambda: self.acquire('T4-2Q', 'test:persist', persist=True))
        self.assertEqual(name, ERR + 'Io', msg)
        self.assertEqual((self.leases(), self.running(), self.definitions()), ([], [], []))

    def test_read_only_definitions_dir_is_read_only(self):
        self.mount_tmpfs(self.sim.definitions_dir, ro=True, fill=False)
        name, msg = self.error(self.define, T4, U5, dfn('nvidia-231'))
        self.assertEqual(name, ERR + 'ReadOnly', msg)
        self.assertIn('EROFS', msg)

    def test_release_that_cannot_save_says_so_and_converges(self):
        uuid = self.acquire('T4-2Q', 'test:half')[0]
        self.mount_tmpfs(self.state_dir)  # hides the leases file that has the lease
        name, msg = self.error(self.release, uuid)
        self.assertEqual(name, ERR + 'Io', msg)
        self.assertIn('the device is removed, but the lease could not be saved', msg)
        self.assertNotIn(uuid, self.running())
        self.assertEqual(self.leases(), [])  # vgpud itself holds no lease for nothing
        subprocess.run(['umount', '-l', self.state_dir], check=True)
        with open(os.path.join(self.state_dir, 'leases')) as f:
            self.assertIn(uuid, f.read())  # the file still has it...
        self.restart_vgpud()
        self.assertEqual(self.leases(), [])  # ...and the next start drops it
        with open(os.path.join(self.state_dir, 'leases')) as f:
            self.assertNotIn(uuid, f.read())


class TestFailedFsync(FaultTestCase):
    """Without the intent log ([Storage] IntentLog=false) definitions are made durable in place before
    their answer, sharing fsyncs in batches (daemon/flusher.c): a failure fails exactly its request."""

    def test_a_failing_fsync_fails_exactly_its_define(self):
        self.stop_vgpud()
        self.write_config('[Storage]\nIntentLog=false\n')
        self.fail_at = 'fsync-%s:ENOSPC' % U6  # common/fault.h: that file's fsync fails
        self.start_vgpud()
        uuids = [hosts.make_uuid('fsync', i) for i in range(7)]
        results = {}
        for u in uuids[:4] + [U6] + uuids[4:]:
            self.call_async('Define', '(sssa{sv})', (T4, u, dfn('nvidia-231'), {}), results, u)
        self.wait_results(results, 8)
        self.assertEqual(results[U6][:2], ('error', ERR + 'Io'), results[U6])
        self.assertIn('ENOSPC', results[U6][2])
        self.assertIn(os.path.join(self.sim.definitions_dir, T4, U6), results[U6][2])
        self.assertEqual({results[u][0] for u in uuids}, {'ok'}, results)
        self.assertEqual(self.definitions(), sorted((T4, u) for u in uuids))
        self.assertFalse(os.path.exists(os.path.join(self.sim.definitions_dir, T4, U6)))
        self.assertEqual([f for f in os.listdir(os.path.join(self.sim.definitions_dir, T4)) if f.startswith('.')], [])
        # a Modify of one that was written, failing the same way for U6, leaves the others alone
        self.assertEqual(self.error(self.define, T4, U6, dfn('nvidia-231'))[0], ERR + 'Io')
        self.modify(T4, uuids[0], {'add_attribute': GLib.Variant('(ssi)', ('a', '1', -1))})
        with open(os.path.join(self.sim.definitions_dir, T4, uuids[0])) as f:
            self.assertEqual(json.load(f)['attrs'], [{'a': '1'}])


class TestFailedSyncWithIntentLog(FaultTestCase):
    """With the intent log (the default, common/intent-log.h) a change is durable once its record is.
    A log whose fsync keeps failing fails the changes with Io (none may be made in place while the log
    could still put an older one over it); a failing fsync in place after the answer leaves the
    records in the log, which the next start replays, the later changes in their order too."""

    def define_all(self, uuids):
        results = {}
        for u in uuids:
            self.call_async('Define', '(sssa{sv})', (T4, u, dfn('nvidia-231'), {}), results, u)
        self.wait_results(results, len(uuids))
        self.assertEqual({r[0] for r in results.values()}, {'ok'}, results)

    def test_a_failing_log_fails_the_changes(self):
        self.stop_vgpud()
        self.fail_at = 'fsync-intent-log:EIO'
        self.start_vgpud()
        for u in [hosts.make_uuid('log', i) for i in range(3)]:
            name, msg = self.error(self.define, T4, u, dfn('nvidia-231'))
            self.assertEqual(name, ERR + 'Io', msg)
            self.assertIn('EIO', msg)
        self.assertEqual(self.definitions(), [])
        self.assertEqual(os.listdir(os.path.join(self.sim.definitions_dir, T4)), [])  # no temporary file
        self.assertIn('The intent log failed', self.daemon_log())
        # nothing of them is replayed by the next start, and changes work again
        self.fail_at = None
        self.restart_vgpud()
        self.assertEqual(self.definitions(), [])
        self.assertNotIn('Put ', self.daemon_log())
        self.define_all([U6])
        self.assertIn((T4, U6), self.definitions())

    def test_a_read_only_state_directory_does_without_the_log(self):
        self.stop_vgpud()
        os.unlink(os.path.join(self.state_dir, 'intent-log'))
        self.mount_tmpfs(self.state_dir, ro=True, fill=False)
        self.start_vgpud()
        self.assertIn('Cannot use the intent log', self.daemon_log())
        self.define_all([U6])  # durable in place
        self.assertIn((T4, U6), self.definitions())

    def test_a_failing_sync_in_place_is_replayed_at_the_next_start(self):
        self.stop_vgpud()
        self.fail_at = 'fsync-%s:EIO' % U6  # after the answer: the log has the record already
        self.start_vgpud()
        self.define_all([hosts.make_uuid('before', i) for i in range(3)])  # synced in place, retired
        self.define_all([U6])
        after = [hosts.make_uuid('after', i) for i in range(3)]
        self.define_all(after)  # through the log, which keeps them
        # the warning comes with the first answer after the failure (U6's sync may have waited for the
        # batch of these three, when they came while it was due)
        self.define_all([U5])
        self.assertIn('The intent log failed', self.daemon_log())
        path = os.path.join(self.sim.definitions_dir, T4, U6)
        with open(path) as f:
            written = f.read()
        self.stop_vgpud()
        os.unlink(path)  # as a power cut could: the rename was never synced
        os.unlink(os.path.join(self.sim.definitions_dir, T4, after[-1]))
        self.fail_at = None
        self.start_vgpud()
        self.assertIn((T4, U6), self.definitions())
        self.assertIn((T4, after[-1]), self.definitions())
        with open(path) as f:
            self.assertEqual(f.read(), written)
        self.assertIn('Put 5 changes the intent log', self.daemon_log())
        # retired: another tool's undefine is not undone by the start after
        os.unlink(path)
        self.restart_vgpud()
        self.assertNotIn((T4, U6), self.definitions())


class TestLostUevents(FaultTestCase):
    """When the kernel drops uevents for a full socket buffer, libudev reports ENOBUFS and vgpud reads
    all of sysfs again (daemon/udev-watch.c): what happened meanwhile is seen, and a parent that came
    back starts its auto definitions. VGPUD_TEST_FAIL_AT=uevent-receive:ENOBUFS drops every uevent
    vgpud receives and reports the overflow (common/fault.h): without the rescan it would see none
    of these changes."""
    fail_at = 'uevent-receive:ENOBUFS'

    def listed(self):
        return {d[0] for d in self.manager('ListDevices', None, None)[0]}

    def test_a_device_made_and_removed_by_another_tool_is_seen(self):
        self.assertTrue(self.sim.emulator.create(T4, 'nvidia-231', U5))  # as mdevctl or echo would
        self.assertTrue(self.wait_for(lambda s: U5 in self.listed()))
        self.assertIn('Uevents were lost', self.daemon_log())
        self.sim.emulator.remove(U5)
        self.assertTrue(self.wait_for(lambda s: U5 not in self.listed()))

    def test_a_parent_that_registers_again_starts_its_auto_definitions(self):
        self.define(T4, U6, dfn('nvidia-231', start='auto'))
        self.sim.emulator.parent_unregister(T4)
        self.assertTrue(self.sim.emulator.wait_for(lambda: not self.sim.host.mdevs))
        self.assertTrue(self.wait_for(lambda s: T4 not in {p[0] for p in self.manager('ListTypes', None, None)[0]}))
        self.sim.emulator.parent_register(T4)
        self.assertTrue(self.sim.emulator.wait_for(lambda: U6 in self.sim.host.mdevs))
        self.assertTrue(self.wait_for(lambda s: U6 in self.listed()))


class TestDefinitionSize(FaultTestCase):
    host = 't4'

    def test_define_over_the_limit_is_invalid_argument(self):
        big = dfn('nvidia-231', attrs=[('x', 'a' * DEF_MAX)])
        name, msg = self.error(self.define, T4, U5, big)
        self.assertEqual(name, ERR + 'InvalidArgument', msg)
        self.assertLess(len(msg), 1000)
        self.assertFalse(os.path.exists(os.path.join(self.sim.definitions_dir, T4, U5)))
        self.define(T4, U5, dfn('nvidia-231', attrs=[('x', 'a' * 1000)]))  # a normal one is fine

    def test_modify_over_the_limit_leaves_the_file(self):
        self.define(T4, U5, dfn('nvidia-231'))
        path = os.path.join(self.sim.definitions_dir, T4, U5)
        with open(path, 'rb') as f:
            before = f.read()
        changes = {'add_attribute': GLib.Variant('(ssi)', ('x', 'a' * DEF_MAX, -1))}
        name, msg = self.error(self.manager, 'Modify', '(ssa{sv}a{sv})', (T4, U5, changes, {}))
        self.assertEqual(name, ERR + 'InvalidArgument', msg)
        with open(path, 'rb') as f:
            self.assertEqual(f.read(), before)

    def test_an_existing_oversize_file_stays_usable(self):
        # written by another tool: valid JSON, 2 MiB of it whitespace
        path = os.path.join(self.sim.definitions_dir, T4, U6)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(json.dumps({'mdev_type': 'nvidia-231', 'start': 'manual'}) + ' ' * (2 << 20))
        self.restart_vgpud()
        self.assertIn((T4, U6), self.definitions())
        self.assertTrue(any(U6 in w and 'larger than vgpud writes' in w for w in self.warnings()))
        self.start(T4, U6)
        self.assertIn(U6, self.running())
        self.assertEqual(os.path.getsize(path), len(json.dumps({'mdev_type': 'nvidia-231', 'start':
                                                                'manual'})) + (2 << 20))


class TestLeaseReconciliation(FaultTestCase):
    def test_startup_removes_leases_temp_files(self):
        self.stop_vgpud()
        tmp = [os.path.join(self.state_dir, '.leases.' + s) for s in ('a1b2c3', 'zz9y8x')]
        for t in tmp:
            with open(t, 'w') as f:
                f.write('[partial')
        other = os.path.join(self.state_dir, '.leases.keep')  # not a name the writer makes
        open(other, 'w').close()
        self.start_vgpud()
        self.assertEqual([t for t in tmp if os.path.exists(t)], [])
        self.assertTrue(os.path.exists(other))

    def test_startup_drops_a_defined_lease_with_nothing_behind_it(self):
        self.stop_vgpud()
        with open(os.path.join(self.state_dir, 'leases'), 'w') as f:
            f.write('[%s]\nOwner=test:ghost\nSlot=0\nParent=%s\nType=nvidia-231\nAcquired=1\n'
                    'Defined=true\n' % (U5, T4))
        self.start_vgpud()
        self.assertEqual(self.leases(), [])
        self.assertIn('its device and its definition are gone', self.daemon_log())

    def test_stop_of_a_leased_device_drops_its_lease(self):
        uuid = self.acquire('T4-2Q', 'test:stopped')[0]
        self.stop(uuid)
        self.assertTrue(self.wait_for(lambda s: self.leases() == [], timeout=60))
        self.assertIn('Dropping the lease of %s' % uuid, self.daemon_log())

    def test_removed_by_another_tool_drops_the_lease(self):
        uuid = self.acquire('T4-2Q', 'test:gone')[0]
        self.sim.emulator.remove(uuid)  # as mdevctl stop or an admin's echo 1 > remove would
        self.assertTrue(self.wait_for(lambda s: self.leases() == [], timeout=60))

    def test_undefine_of_a_persisted_lease(self):
        uuid, _dev, parent, _t = self.acquire('T4-2Q', 'test:persist', persist=True)
        self.assertTrue(self.lease_of(uuid)[6])
        self.undefine(parent, uuid)
        # still running: the lease stays, without the promise of a definition
        self.assertTrue(self.wait_for(lambda s: self.lease_of(uuid) and not self.lease_of(uuid)[6],
                                      timeout=60))
        self.stop(uuid)
        self.assertTrue(self.wait_for(lambda s: self.leases() == [], timeout=60))
        self.assertEqual((self.running(), self.definitions()), ([], []))

    def test_definition_removed_behind_the_daemons_back(self):
        uuid, _dev, parent, _t = self.acquire('T4-2Q', 'test:persist', persist=True)
        self.stop_vgpud()
        self.sim.emulator.remove(uuid)
        os.unlink(os.path.join(self.sim.definitions_dir, parent, uuid))
        self.start_vgpud()
        self.assertEqual(self.leases(), [])


class TestNames(FaultTestCase):
    host = 't4'

    def test_parents_and_types_that_would_forge_paths_or_lines(self):
        for parent in ('a\nb', ' ', '-rf', '.hidden', 'a/b', 'x' * 256, 'tab\there', '\x1b[31m'):
            name, msg = self.error(self.define, parent, U5, dfn('nvidia-231'))
            self.assertEqual(name, ERR + 'InvalidArgument', (parent, msg))
            self.assertNotIn('\n', msg)
        for mdev_type in ('a b', 'x\ny', '-t'):
            name, msg = self.error(self.define, T4, U5, dfn(mdev_type))
            self.assertEqual(name, ERR + 'InvalidArgument', (mdev_type, msg))
        self.assertEqual(self.definitions(), [])
        self.define('x' * 255, U5, dfn('nvidia-231'))  # the limit itself is a name

    def test_error_messages_quote_a_bounded_prefix(self):
        name, msg = self.error(self.define, 'p' * (1 << 20) + '\n', U5, dfn('nvidia-231'))
        self.assertEqual(name, ERR + 'InvalidArgument')
        self.assertLess(len(msg), 200)
        self.assertIn('p' * 64 + '..."', msg)

    def test_a_type_that_breaks_the_name_rule_is_kept_and_shown_escaped(self):
        """A definition file written by another tool (mdevctl reads it) whose type holds a newline that
        would forge a line of `list -d`, or a space that would forge a field: kept as it is, reported in
        Warnings, listed with the type escaped, and not started."""
        forged = 'nvidia-231\n%s %s nvidia-231 auto' % (U5, T4)
        files = {U6: forged, U5: 'nvidia 231'}
        contents = {}
        for uuid, mdev_type in files.items():
            path = os.path.join(self.sim.definitions_dir, T4, uuid)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            contents[path] = json.dumps({'mdev_type': mdev_type, 'start': 'manual'})
            with open(path, 'w') as f:
                f.write(contents[path])
        self.restart_vgpud()
        self.assertEqual([d for d in self.definitions() if d[0] == T4], sorted((T4, u) for u in files))
        for uuid in files:
            self.assertTrue(any(uuid in w and 'not a valid name' in w for w in self.warnings()),
                            self.warnings())
        self.assertFalse(any('\n' in w for w in self.warnings()))
        rc, out, err = self.run_vgpuctl('list', '-d', '-p', T4)
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(line.split()[0] for line in out.splitlines() if line), sorted(files), out)
        # escaped, and at most 64 bytes of it (name_prefix)
        self.assertIn('%s %s nvidia-231\\n%s\\x20%s\\x20nvi... manual\n' % (U6, T4, U5, T4), out)
        self.assertIn('%s %s nvidia\\x20231 manual' % (U5, T4), out)
        name, _msg = self.error(self.start, T4, U6)
        self.assertNotEqual(name, ERR + 'Failed')
        self.assertEqual(self.running(), [])
        for path, text in contents.items():
            with open(path) as f:
                self.assertEqual(f.read(), text)

    def test_a_parent_directory_that_breaks_the_name_rule_is_skipped(self):
        """A directory in the definitions directory whose name holds a newline (made by hand; no parent
        has such a name) would forge a line of `list -d`: skipped with a warning, left as it is."""
        bad = os.path.join(self.sim.definitions_dir, '%s\n%s %s nvidia-231 auto' % (T4, U5, T4))
        os.makedirs(bad)
        with open(os.path.join(bad, U6), 'w') as f:
            f.write(json.dumps({'mdev_type': 'nvidia-231', 'start': 'manual'}))
        self.restart_vgpud()
        self.assertEqual(self.definitions(), [])
        self.assertTrue(any('not a valid parent name' in w and '\\n' in w for w in self.warnings()),
                        self.warnings())
        self.assertFalse(any('\n' in w for w in self.warnings()))
        rc, out, err = self.run_vgpuctl('list', '-d')
        self.assertEqual((rc, out.strip()), (0, ''), err)
        self.assertTrue(os.path.exists(os.path.join(bad, U6)))
