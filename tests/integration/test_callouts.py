# SPDX-License-Identifier: LGPL-2.1-or-later
"""mdevctl's callout and notifier scripts run by vgpud around Start/Stop/Define/Undefine/Modify: the
argv and stdin every script gets for each action and event, the system directory before the
definitions directory's scripts.d, a refusing pre callout blocking start and define (and "force"
going ahead), exit 2 passing the device on, post failures ignored, notifiers after success and
failure, and a hanging callout killed on its timeout while other clients are served."""

import json
import os
import stat
import time

import vgpudtest
from gi.repository import GLib

from test_lifecycle import ERR, FOUR_Q, T4, TWO_Q, U1, U2, LifecycleTestCase, dfn

FORCE = {'force': GLib.Variant('b', True)}


class CalloutTestCase(LifecycleTestCase):
    callout_timeout_ms = 20000

    def setUp(self):
        # before the daemon starts (super().setUp() starts it): its --system-scripts-dir
        self.system_scripts = None
        super().setUp()

    def daemon_argv(self):
        # never the host's /usr/lib/mdevctl/scripts.d
        self.system_scripts = os.path.join(self.workdir, 'usr-lib-mdevctl-scripts.d')
        for sub in ('callouts', 'notifiers'):
            os.makedirs(os.path.join(self.system_scripts, sub), exist_ok=True)
        return super().daemon_argv() + ['--system-scripts-dir', self.system_scripts,
                                        '--callout-timeout-ms', str(self.callout_timeout_ms)]

    @property
    def record_path(self):
        return os.path.join(self.workdir, 'callouts.record')

    def script(self, kind, name, body='exit 0', system=False):
        """Write an executable script NAME into scripts.d/KIND (callouts or notifiers) of the definitions
        directory (or of the system directory). It records one line per run: its name, its arguments
        and its stdin; then runs body ($4 is the event, $6 the action, $8 the state)."""
        base = self.system_scripts if system else os.path.join(self.sim.definitions_dir, 'scripts.d')
        path = os.path.join(base, kind, name)
        with open(path, 'w') as f:
            f.write('#!/bin/sh\n'
                    'input=$(cat)\n'
                    'printf "%%s %%s ::: %%s\\n" %s "$*" "$input" >> %s\n'
                    '%s\n' % (name, self.record_path, body))
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return path

    def records(self):
        """[(name, {'-t': .., '-e': .., ...}, stdin)] in the order the scripts ran."""
        if not os.path.exists(self.record_path):
            return []
        out = []
        with open(self.record_path) as f:
            for line in f.read().splitlines():
                head, _, stdin = line.partition(' ::: ')
                words = head.split()
                args = words[1:]
                self.assertEqual(len(args), 12, line)
                self.assertEqual(args[0::2], ['-t', '-e', '-a', '-s', '-u', '-p'], line)
                out.append((words[0], dict(zip(args[0::2], args[1::2])), stdin))
        return out

    def events(self):
        """[(name, event, action, state)] in order."""
        return [(n, a['-e'], a['-a'], a['-s']) for n, a, _ in self.records()]

    def clear_records(self):
        if os.path.exists(self.record_path):
            os.unlink(self.record_path)


class TestProtocol(CalloutTestCase):

    def check_device(self, records, uuid, mdev_type, parent=T4):
        for name, args, _ in records:
            self.assertEqual((args['-t'], args['-u'], args['-p']), (mdev_type, uuid, parent), name)

    def assertCompactJson(self, text, want):
        self.assertEqual(json.loads(text), want)
        self.assertNotIn(' ', text)  # mdevctl's to_json(false).to_string(): compact
        self.assertNotIn('\n', text)

    def test_argv_and_stdin_for_every_action(self):
        self.script('callouts', '50-record')
        self.script('notifiers', 'notify-record')
        plain = {'mdev_type': TWO_Q, 'start': 'manual', 'attrs': []}

        self.define(T4, U1, dfn(TWO_Q))
        r = self.records()
        self.assertEqual(self.events(), [('50-record', 'pre', 'define', 'none'),
                                         ('50-record', 'post', 'define', 'success'),
                                         ('notify-record', 'notify', 'define', 'success')])
        self.check_device(r, U1, TWO_Q)
        self.assertCompactJson(r[0][2], plain)
        self.assertCompactJson(r[1][2], plain)
        self.assertEqual(r[2][2], '')  # notifiers get no stdin

        self.clear_records()
        self.modify(T4, U1, {'add_attribute': GLib.Variant('(ssi)', ('frl', '30', -1)),
                             'start': GLib.Variant('s', 'auto')})
        r = self.records()
        self.assertEqual(self.events(), [('50-record', 'pre', 'modify', 'none'),
                                         ('50-record', 'post', 'modify', 'success'),
                                         ('notify-record', 'notify', 'modify', 'success')])
        modified = {'mdev_type': TWO_Q, 'start': 'auto', 'attrs': [{'frl': '30'}]}
        self.assertCompactJson(r[0][2], modified)  # the definition as it will be

        self.clear_records()
        self.start(T4, U1)
        r = self.records()
        self.assertEqual(self.events(), [('50-record', 'pre', 'start', 'none'),
                                         ('50-record', 'post', 'start', 'success'),
                                         ('notify-record', 'notify', 'start', 'success')])
        self.check_device(r, U1, TWO_Q)
        self.assertCompactJson(r[0][2], modified)

        # live: the live event, then pre/post of the stored definition; live only: no pre/post
        self.clear_records()
        self.modify(T4, U1, {'add_attribute': GLib.Variant('(ssi)', ('frl', '60', -1))},
                    {'live': GLib.Variant('b', True)})
        self.assertEqual(self.events(), [('50-record', 'pre', 'modify', 'none'),
                                         ('50-record', 'live', 'modify', 'none'),
                                         ('50-record', 'post', 'modify', 'success'),
                                         ('notify-record', 'notify', 'modify', 'success')])
        self.clear_records()
        self.modify(T4, U1, {'delete_attribute': GLib.Variant('i', 0)},
                    {'live': GLib.Variant('b', True), 'defined': GLib.Variant('b', False)})
        r = self.records()
        self.assertEqual(self.events(), [('50-record', 'live', 'modify', 'none'),
                                         ('notify-record', 'notify', 'modify', 'success')])
        self.assertCompactJson(r[0][2], {'mdev_type': TWO_Q, 'start': 'auto', 'attrs': [{'frl': '60'}]})

        self.clear_records()
        self.stop(U1)
        r = self.records()
        self.assertEqual(self.events(), [('50-record', 'pre', 'stop', 'none'),
                                         ('50-record', 'post', 'stop', 'success'),
                                         ('notify-record', 'notify', 'stop', 'success')])
        self.check_device(r, U1, TWO_Q)
        self.assertCompactJson(r[0][2], plain)  # the device as sysfs shows it

        self.clear_records()
        self.undefine(T4, U1)
        r = self.records()
        self.assertEqual(self.events(), [('50-record', 'pre', 'undefine', 'none'),
                                         ('50-record', 'post', 'undefine', 'success'),
                                         ('notify-record', 'notify', 'undefine', 'success')])
        self.check_device(r, U1, TWO_Q)
        self.assertCompactJson(r[0][2], {'mdev_type': TWO_Q, 'start': 'auto', 'attrs': [{'frl': '30'},
                                                                                       {'frl': '60'}]})

    def test_system_directory_first_then_sorted(self):
        self.script('callouts', '90-system', 'exit 2', system=True)
        self.script('callouts', '20-b', 'exit 2')
        self.script('callouts', '10-a', 'exit 2')
        self.script('notifiers', 'zz', system=True)
        self.script('notifiers', 'aa')
        with open(os.path.join(self.sim.definitions_dir, 'scripts.d', 'callouts', 'README'), 'w') as f:
            f.write('not executable: skipped\n')
        self.define(T4, U1, dfn(TWO_Q))
        names = [(n, e) for n, e, _, _ in self.events()]
        self.assertEqual(names, [('90-system', 'pre'), ('10-a', 'pre'), ('20-b', 'pre'),
                                 ('90-system', 'post'), ('10-a', 'post'), ('20-b', 'post'),
                                 ('zz', 'notify'), ('aa', 'notify')])

    def test_exit_2_passes_the_device_to_the_next_script(self):
        self.script('callouts', '10-not-mine', 'exit 2')
        self.script('callouts', '20-mine', 'exit 0')
        self.script('callouts', '30-never')
        self.start(T4, U1, dfn(TWO_Q))
        # the owner found by pre is the only one asked for post
        self.assertEqual(self.events(), [('10-not-mine', 'pre', 'start', 'none'),
                                         ('20-mine', 'pre', 'start', 'none'),
                                         ('20-mine', 'post', 'start', 'success')])
        self.assertEqual(self.running(), {U1})


class TestRefusal(CalloutTestCase):

    def setUp(self):
        super().setUp()
        self.script('callouts', '10-not-mine', 'exit 2')
        self.refuser = self.script('callouts', '20-license',
                                   '[ "$4" = pre ] && { echo "no vGPU license for $2" >&2; exit 1; }; exit 0')
        self.script('notifiers', 'n')

    def test_pre_failure_blocks_start(self):
        handled = self.sim.emulator.handled
        msg = self.assertError(ERR + 'Failed', self.start, T4, U1, dfn(TWO_Q))
        self.assertIn(self.refuser, msg)
        self.assertIn('no vGPU license for %s' % TWO_Q, msg)
        self.assertIn('exit status 1', msg)
        self.assertEqual(self.running(), set())
        self.assertNotIn(U1, self.listed_devices())
        self.assertEqual(self.sim.emulator.handled, handled)  # no write to create
        # no post; the notifiers still hear of it, with state none
        self.assertEqual(self.events(), [('10-not-mine', 'pre', 'start', 'none'),
                                         ('20-license', 'pre', 'start', 'none'),
                                         ('n', 'notify', 'start', 'none')])

    def test_pre_failure_blocks_define(self):
        msg = self.assertError(ERR + 'Failed', self.define, T4, U1, dfn(TWO_Q))
        self.assertIn('20-license', msg)
        self.assertFalse(os.path.exists(self.def_file(T4, U1)))
        self.assertEqual(self.def_files(), set())

    def test_pre_failure_blocks_stop_undefine_modify(self):
        os.chmod(self.refuser, 0o644)  # not executable: skipped
        self.define(T4, U1, dfn(TWO_Q))
        self.start(T4, U1)
        os.chmod(self.refuser, 0o755)
        self.assertError(ERR + 'Failed', self.stop, U1)
        self.assertEqual(self.running(), {U1})
        self.assertError(ERR + 'Failed', self.modify, T4, U1, {'start': GLib.Variant('s', 'auto')})
        with open(self.def_file(T4, U1)) as f:
            self.assertEqual(json.load(f)['start'], 'manual')
        self.assertError(ERR + 'Failed', self.undefine, T4, U1)
        self.assertTrue(os.path.exists(self.def_file(T4, U1)))

    def test_force_goes_ahead(self):
        self.define(T4, U1, dfn(TWO_Q), FORCE)
        self.assertTrue(os.path.exists(self.def_file(T4, U1)))
        self.clear_records()
        self.start(T4, U1, '', FORCE)
        self.assertEqual(self.running(), {U1})
        # the refusing script owns the device: it alone is asked for post, which it accepts
        self.assertEqual(self.events(), [('10-not-mine', 'pre', 'start', 'none'),
                                         ('20-license', 'pre', 'start', 'none'),
                                         ('20-license', 'post', 'start', 'success'),
                                         ('n', 'notify', 'start', 'success')])
        self.assertIn('forced', self.daemon_log())

    def test_timeout_option_is_checked(self):
        # --callout-timeout-ms must be a positive number
        rc = self.stop_vgpud()
        self.assertEqual(rc, 0)
        argv = [a for a in self.daemon_argv()]
        argv[argv.index('--callout-timeout-ms') + 1] = 'soon'
        import subprocess
        p = subprocess.run(argv, env=self.env(), capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn('--callout-timeout-ms', p.stderr)


class TestPostAndNotifiers(CalloutTestCase):

    def test_post_failure_is_ignored(self):
        self.script('callouts', '10-post-fails', '[ "$4" = post ] && { echo broken >&2; exit 1; }; exit 0')
        self.start(T4, U1, dfn(TWO_Q))
        self.assertEqual(self.running(), {U1})
        self.assertEqual([e[1] for e in self.events()], ['pre', 'post'])
        self.assertIn('broken', self.daemon_log())

    def test_notifiers_run_after_success_and_failure(self):
        self.script('callouts', '10-record')
        self.script('notifiers', 'a-fails', 'exit 1')
        self.script('notifiers', 'b-hears', 'exit 0')
        self.start(T4, U1, dfn(TWO_Q))
        self.assertEqual(self.events(), [('10-record', 'pre', 'start', 'none'),
                                         ('10-record', 'post', 'start', 'success'),
                                         ('a-fails', 'notify', 'start', 'success'),
                                         ('b-hears', 'notify', 'start', 'success')])
        # a change that fails after pre: post and the notifiers hear "failure"
        self.clear_records()
        self.assertError(ERR + 'Exists', self.start, T4, U1, dfn(TWO_Q))
        self.assertEqual(self.events(), [('10-record', 'pre', 'start', 'none'),
                                         ('10-record', 'post', 'start', 'failure'),
                                         ('a-fails', 'notify', 'start', 'failure'),
                                         ('b-hears', 'notify', 'start', 'failure')])
        self.clear_records()
        self.assertError(ERR + 'NotFound', self.start, T4, U2, dfn('nvidia-nosuch'))
        self.assertEqual([e[1:] for e in self.events()], [('pre', 'start', 'none'),
                                                          ('post', 'start', 'failure'),
                                                          ('notify', 'start', 'failure'),
                                                          ('notify', 'start', 'failure')])
        # a request that does not even say what it is about runs none
        self.clear_records()
        self.assertError(ERR + 'InvalidArgument', self.start, T4, 'not-a-uuid', dfn(TWO_Q))
        self.assertEqual(self.events(), [])


class TestHangingCallout(CalloutTestCase):
    callout_timeout_ms = 1500

    def test_hanging_callout_is_killed_and_reads_go_on(self):
        marker = 'sleep 29.%d' % os.getpid()
        self.script('callouts', '10-hangs', '[ "$4" = pre ] && { %s & wait; }; exit 0' % marker)
        self.script('notifiers', 'n')
        handled = self.sim.emulator.handled
        results = {}
        t0 = time.monotonic()
        self.call_async('Start', '(sssa{sv})', (T4, U1, dfn(FOUR_Q), {}), results, 'start')
        deadline = time.monotonic() + vgpudtest.WAIT_TIMEOUT
        while not os.path.exists(self.record_path) and time.monotonic() < deadline:
            GLib.MainContext.default().iteration(False)
            time.sleep(0.01)
        self.assertTrue(os.path.exists(self.record_path), 'the callout did not start')
        # other clients are served while it hangs
        t1 = time.monotonic()
        types = self.manager('ListTypes', None, None)[0]
        self.assertLess(time.monotonic() - t1, 1.0)
        self.assertTrue(types)
        self.assertNotIn('start', results)
        self.wait_results(results, 1)
        elapsed = time.monotonic() - t0
        self.assertEqual(results['start'][:2], ('error', ERR + 'Failed'), results)
        self.assertIn('10-hangs', results['start'][2])
        self.assertIn('did not finish', results['start'][2])
        self.assertGreaterEqual(elapsed, 1.4)
        self.assertLess(elapsed, 25)  # killed at its 1.5 s timeout, not after its 29 s sleep
        self.assertEqual(self.running(), set())
        self.assertEqual(self.sim.emulator.handled, handled)
        self.assertEqual([e[1] for e in self.events()], ['pre', 'notify'])
        # the script's own child went with it (its process group was killed)
        time.sleep(0.2)
        left = []
        for pid in os.listdir('/proc'):
            if pid.isdigit():
                try:
                    with open('/proc/%s/cmdline' % pid, 'rb') as f:
                        if f.read().replace(b'\0', b' ').strip() == marker.encode():
                            left.append(pid)
                except OSError:
                    pass
        self.assertEqual(left, [])
        # and the engine goes on with the next request
        os.unlink(os.path.join(self.sim.definitions_dir, 'scripts.d', 'callouts', '10-hangs'))
        self.start(T4, U1, dfn(FOUR_Q))
        self.assertEqual(self.running(), {U1})


if __name__ == '__main__':
    import unittest
    unittest.main()
