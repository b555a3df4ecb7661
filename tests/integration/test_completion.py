# SPDX-License-Identifier: LGPL-2.1-or-later
"""bash completion for vgpuctl (completion/vgpuctl) against the real daemon on the simulated
default host (T4, an A16 board, GVT-g, mtty): bash with the completion loaded, COMP_WORDS and
COMP_CWORD set as readline sets them, _vgpuctl called, COMPREPLY read back. What it completes is
checked against the daemon's own answers on the bus (ListTypes, ListDevices, ListDefinitions,
ListLeases), and under the names mdevctl and lsmdev."""

import os
import shlex
import subprocess

import vgpudtest

COMPLETION = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'completion', 'vgpuctl')
MDEVCTL_COMMANDS = {'define', 'help', 'list', 'modify', 'start', 'stop', 'types', 'undefine'}


class TestCompletion(vgpudtest.VgpudTestCase):

    def setUp(self):
        super().setUp()
        # vgpuctl and its mdevctl/lsmdev links on PATH, as the package installs them
        self.bindir = os.path.join(self.workdir, 'bin')
        os.makedirs(self.bindir)
        for name in ('vgpuctl', 'mdevctl', 'lsmdev'):
            os.symlink(os.path.join(vgpudtest.builddir(), 'client', 'vgpuctl'), os.path.join(self.bindir, name))

    def complete(self, *words):
        """COMPREPLY for a command line whose last word is the one being completed."""
        script = ('source %s || exit 99\n' % shlex.quote(COMPLETION) +
                  'COMP_WORDS=(%s)\n' % ' '.join(shlex.quote(w) for w in words) +
                  'COMP_CWORD=%d\n' % (len(words) - 1) +
                  'COMP_LINE=%s\nCOMP_POINT=${#COMP_LINE}\n' % shlex.quote(' '.join(words)) +
                  'complete -p %s >/dev/null || exit 98\n' % shlex.quote(words[0]) +
                  '_vgpuctl "%s" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"\n' % words[0] +
                  'printf "%s\\n" "${COMPREPLY[@]}"\n')
        env = self.env()
        env['PATH'] = self.bindir + ':' + env.get('PATH', '/usr/bin:/bin')
        p = subprocess.run(['bash', '--norc', '--noprofile', '-c', script], capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, '', 'the completion must print nothing of its own')
        return sorted(w for w in p.stdout.split('\n') if w)

    def list_types(self):
        """{parent: [(type id, name)]} from the daemon"""
        (parents,) = self.call('/org/vgpud1', 'org.vgpud1.Manager', 'ListTypes')
        return {p[0]: [(t[0], t[1]) for t in p[2]] for p in parents}

    def running(self):
        (devices,) = self.call('/org/vgpud1', 'org.vgpud1.Manager', 'ListDevices')
        return sorted(d[0] for d in devices)

    def vgpuctl_ok(self, *args):
        rc, out, err = self.run_vgpuctl(*args)
        self.assertEqual(rc, 0, err)
        return out.strip()

    def test_commands(self):
        _, top, _ = self.run_vgpuctl('help')
        commands = self.complete('vgpuctl', '')
        self.assertGreaterEqual(len(commands), 12)
        for c in ('acquire', 'define', 'list', 'plan', 'release', 'start', 'status', 'stop', 'types', 'hook'):
            self.assertIn(c, commands)
            self.assertIn('    %s ' % c, top)
        self.assertEqual(self.complete('vgpuctl', 'st'), ['start', 'status', 'stop'])
        self.assertEqual(self.complete('vgpuctl', 'help', 'ty'), ['types'])
        self.assertEqual(self.complete('vgpuctl', 'hook', ''), ['libvirt', 'proxmox'])

    def test_options_come_from_the_help(self):
        opts = self.complete('vgpuctl', 'list', '--')
        # mdevctl's options of list, and vgpuctl's own --vf (NVIDIA VF vGPUs too)
        self.assertEqual(opts, ['--defined', '--dumpjson', '--help', '--parent', '--uuid', '--verbose', '--version',
                                '--vf'])
        self.assertIn('-d', self.complete('vgpuctl', 'list', '-'))
        acquire = self.complete('vgpuctl', 'acquire', '--')
        for o in ('--owner', '--persist', '--slot', '--vm-uuid', '--policy', '--dry-run', '--numa-node'):
            self.assertIn(o, acquire)
        self.assertEqual(self.complete('vgpuctl', 'acquire', 'A16-2Q', '--policy', ''), ['pack', 'spread'])

    def test_parents_and_types_from_the_daemon(self):
        types = self.list_types()
        self.assertGreaterEqual(len(types), 3)
        self.assertEqual(self.complete('vgpuctl', 'list', '-p', ''), sorted(types))
        self.assertEqual(self.complete('vgpuctl', 'types', '--parent', ''), sorted(types))
        for parent in sorted(types)[:3]:
            self.assertEqual(self.complete('vgpuctl', 'start', '-p', parent, '-t', ''),
                             sorted({t for t, _ in types[parent]}), parent)
        every = {t for ts in types.values() for t, _ in ts}
        self.assertEqual(self.complete('vgpuctl', 'define', '--type', ''), sorted(every))
        # a PROFILE: type ids and names (quoted for the shell: names have spaces)
        profiles = self.complete('vgpuctl', 'acquire', '')
        names = {n for ts in types.values() for _, n in ts if n}
        self.assertTrue(names)
        self.assertEqual({p.replace('\\ ', ' ') for p in profiles}, every | names)
        self.assertEqual(self.complete('vgpuctl', 'plan', 'nvidia-'),
                         sorted({t for t in every if t.startswith('nvidia-')}))

    def test_uuids_and_owners_from_the_daemon(self):
        parent = 'mtty'
        self.assertIn(parent, self.list_types())
        running = self.vgpuctl_ok('start', '-p', parent, '-t', 'mtty-2')
        defined = self.vgpuctl_ok('define', '-p', parent, '-t', 'mtty-1')
        leased = self.vgpuctl_ok('acquire', 'mtty-2', '--owner', 'test:completion', '-p', parent)
        self.assertEqual(self.complete('vgpuctl', 'stop', '-u', ''), self.running())
        self.assertIn(running, self.running())
        self.assertEqual(self.complete('vgpuctl', 'undefine', '--uuid', ''), [defined])
        self.assertEqual(self.complete('vgpuctl', 'start', '-u', ''), sorted(set(self.running()) | {defined}))
        self.assertEqual(self.complete('vgpuctl', 'release', '--owner', ''), ['test:completion'])
        self.assertEqual(self.complete('vgpuctl', 'release', ''), [leased])
        self.assertEqual(self.complete('vgpuctl', 'stop', '-u', running[:6]), [running])

    def test_mdevctl_and_lsmdev_names(self):
        self.assertEqual(set(self.complete('mdevctl', '')), MDEVCTL_COMMANDS)
        self.assertIn('--dumpjson', self.complete('lsmdev', '--'))
        self.assertEqual(self.complete('lsmdev', '-p', ''), sorted(self.list_types()))

    def test_no_daemon_completes_nothing(self):
        self.stop_vgpud()
        self.assertEqual(self.complete('vgpuctl', 'list', '-p', ''), [])
        self.assertEqual(self.complete('vgpuctl', 'stop', '-u', ''), [])
        # commands and options need no daemon
        self.assertIn('status', self.complete('vgpuctl', ''))
