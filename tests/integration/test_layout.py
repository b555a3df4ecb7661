# SPDX-License-Identifier: LGPL-2.1-or-later
"""Declarative layouts (issue 14): vgpud's configuration file (vgpud.conf, daemon/config.c)."""

import json
import os
import subprocess
import time

import vgpudtest
from gi.repository import GLib
from test_acquire import A16_CORES, ERR, MANAGER, T4, AcquireTestCase


class TestConfigFile(vgpudtest.VgpudTestCase):
    start_daemon = False

    def start_refused(self, text):
        """vgpud must refuse this vgpud.conf before it touches the bus; returns its log."""
        self.write_config(text)
        p = subprocess.run(self.daemon_argv(), env=self.env(), capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertFalse(self.dbus_con.name_has_owner(vgpudtest.BUS_NAME))
        return p.stderr

    def test_unknown_group_key_and_value_refused(self):
        self.assertIn('vgpud.conf: unknown group [Layouts]', self.start_refused('[Layouts]\nFile=/x\n'))
        self.assertIn('vgpud.conf: unknown key Confg in [Layout]',
                      self.start_refused('[Layout]\nFile=/x.yaml\nConfg=a\n'))
        self.assertIn("vgpud.conf: [Layout] File: 'x.yaml' is not an absolute path",
                      self.start_refused('[Layout]\nFile=x.yaml\nConfig=a\n'))

    def test_missing_explicit_file_refused(self):
        argv = self.daemon_argv()
        argv[argv.index('--config') + 1] = os.path.join(self.workdir, 'absent.conf')
        p = subprocess.run(argv, env=self.env(), capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn('absent.conf', p.stderr)

    def test_empty_file_starts(self):
        self.write_config('# nothing\n')
        self.start_vgpud()
        self.restart_vgpud()


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(REPO, 'docs', 'examples', 'vgpu-layouts.yaml')

# A layout file of the tests' own: counts that keep the tier quick (each vGPU is one Acquire).
LAYOUTS = '''version: v1
vgpu-configs:
  a16-8q:
    - devices: all
      device-filter: "0x25B610DE:0x14A910DE"
      vgpu-devices: {"A16-8Q": 2}
  a16-8q-one:
    - devices: all
      device-filter: "0x25B610DE:0x14A910DE"
      vgpu-devices: {"A16-8Q": 1}
  a16-16q:
    - devices: [1, 2, 3, 4]
      vgpu-devices: {"NVIDIA A16-16Q": 1}
  t4-4q:
    - devices: [0]
      vgpu-devices: {"T4-4Q": 1}
  mixed:
    - devices: [0]
      vgpu-devices: {"T4-8Q": 1}
    - devices: [1]
      vgpu-devices: {"A16-4Q": 1}
    - devices: all
      vgpu-devices: {"mtty-2": 1}
  none:
    - devices: all
      vgpu-devices: {}
'''


class LayoutTestCase(AcquireTestCase):
    host = 'default'

    def write_layouts(self, text=LAYOUTS, name='layouts.yaml'):
        path = os.path.join(self.workdir, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def apply(self, config, *args, path=None, rc=0):
        """vgpuctl apply --json; returns the parsed answer (rc 0) or stderr."""
        rc_got, out, err = self.run_vgpuctl('apply', path or self.write_layouts(), '--config', config, '--json',
                                            *args, timeout=300)
        self.assertEqual(rc_got, rc, 'apply %s %s: %s%s' % (config, args, out, err))
        if rc != 0:
            self.assertTrue(err.startswith('Error: '), err)
            return err
        return json.loads(out)

    def layout_leases(self, owner='layout'):
        """{uuid: (parent, type id, persist, running)} of owner."""
        return {lease[0]: (lease[3], lease[4], lease[6], lease[7]) for lease in self.leases() if lease[1] == owner}

    def cores_of_leases(self, owner='layout'):
        out = {}
        for uuid, (parent, type_id, _, _) in self.layout_leases(owner).items():
            out.setdefault((self.core_of(parent), type_id), set()).add(uuid)
        return {k: len(v) for k, v in out.items()}


class TestApply(LayoutTestCase):

    def test_dry_run_apply_and_again(self):
        before = self.snapshot()
        plan = self.apply('a16-8q', '--dry-run')
        self.assertEqual(self.snapshot(), before)
        self.assertTrue(plan['dry_run'] and plan['changed'])
        self.assertEqual([(c['core'], c['index'], c['count']) for c in plan['create']],
                         [(core, i + 1, 2) for i, core in enumerate(A16_CORES)])  # the T4 is GPU 0
        self.assertEqual((plan['remove'], plan['made'], plan['kept']), ([], [], []))

        done = self.apply('a16-8q')
        self.assertEqual(len(done['made']), 8)
        self.assertEqual(set(done['made']), set(self.layout_leases()))
        self.assertTrue(set(done['made']) <= self.running())
        self.assertEqual(self.cores_of_leases(), {(core, plan['create'][0]['type']): 2 for core in A16_CORES})
        for uuid, (parent, type_id, persist, running) in self.layout_leases().items():
            self.assertTrue(persist and running)
            self.assertIn(parent + '/' + uuid, self.def_files())  # persistent: start auto

        # the same layout again changes nothing
        before = self.snapshot()
        again = self.apply('a16-8q')
        self.assertFalse(again['changed'])
        self.assertEqual(sorted(again['kept']), sorted(done['made']))
        self.assertEqual(again['made'], [])
        self.assertEqual(self.snapshot(), before)

    def test_from_another_layout_and_to_none(self):
        first = self.apply('a16-8q')
        second = self.apply('a16-16q')
        self.assertEqual(sorted(r['uuid'] for r in second['remove']), sorted(first['made']))
        self.assertEqual(len(second['made']), 4)
        self.assertEqual(set(self.layout_leases()), set(second['made']))
        self.assertFalse(set(first['made']) & self.running())
        self.assertEqual(len(self.def_files()), 4)
        # several models and mtty in one layout: GPU 0 is the T4, mtty has no index
        mixed = self.apply('mixed')
        self.assertEqual(sorted((c['index'] if c['index'] is not None else -1, c['count']) for c in mixed['create']),
                         [(-1, 1), (0, 1), (1, 1)])
        self.assertEqual(len(mixed['made']), 3)
        cores = {self.core_of(p) for p, _, _, _ in self.layout_leases().values()}
        self.assertEqual(cores, {T4, A16_CORES[0], 'mtty'})
        self.assertEqual(mixed['kept'], [])  # GPU 1 wants a 4Q now: its 16Q goes, as the others'
        self.assertEqual(len(mixed['remove']), 4)
        gone = self.apply('none')
        self.assertEqual(self.layout_leases(), {})
        self.assertEqual(len(gone['remove']), 3)
        self.assertEqual(self.def_files(), set())

    def test_vgpus_in_use_are_never_destroyed(self):
        first = self.apply('a16-8q')
        held = sorted(first['made'])[0]
        self.hold_group(held)
        others_before = self.running()
        # a smaller count of the same type: the held one stays, idle ones go
        fewer = self.apply('a16-8q-one')
        self.assertIn(held, fewer['kept'])
        self.assertNotIn(held, [r['uuid'] for r in fewer['remove']])
        self.assertEqual(len(fewer['remove']), 4)
        # another type would destroy it: Busy, naming the process, and nothing changes
        before = self.snapshot()
        err = self.apply('a16-16q', rc=1)
        self.assertIn('is in use by', err)
        self.assertIn(held, err)
        self.assertEqual(self.snapshot(), before)
        # unless forced
        forced = self.apply('a16-16q', '--force')
        self.assertIn(held, [r['uuid'] for r in forced['remove']])
        self.assertTrue([r for r in forced['remove'] if r['uuid'] == held][0]['held_by'].startswith('process '))
        self.assertTrue(others_before)

    def test_others_count_and_a_refusal_changes_nothing(self):
        other = self.acquire('T4-2Q', 'vm:other')[0]
        before = self.snapshot()
        err = self.apply('t4-4q', rc=1)
        self.assertIn('GPU 0 (0000:41:00.0) would run vGPUs of 2 sizes', err)
        self.assertIn('not in mixed-size mode', err)
        self.assertEqual(self.snapshot(), before)
        # the error is the daemon's named one on the bus too
        with self.assertRaises(GLib.Error) as e:
            self.manager('ApplyLayout', '(ssa{sv})', (LAYOUTS, 't4-4q', {}))
        self.assertIn(ERR + 'SizeConflict', str(e.exception))
        # the layout never touches another owner's vGPU
        self.apply('none')
        self.assertIn(other, self.running())

    def test_invalid_files_and_options(self):
        bad = self.write_layouts('version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      vgpu-devices: {A16-8Q: 0}\n',
                                 'bad.yaml')
        err = self.apply('a', path=bad, rc=1)
        self.assertIn("Invalid layout file: 5:30: the count of 'A16-8Q' must be a number from 1", err)
        unknown = self.write_layouts('version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      vgpus: {}\n',
                                     'unknown.yaml')
        self.assertIn("5:7: unknown field 'vgpus'", self.apply('a', path=unknown, rc=1))
        self.assertIn('has no config "nope"', self.apply('nope', rc=1))
        self.assertIn("offers no type 'T4-4Q'", self.apply('x', path=self.write_layouts(
            'version: v1\nvgpu-configs:\n  x:\n    - devices: [1]\n      vgpu-devices: {T4-4Q: 1}\n', 'x.yaml'),
            rc=1))
        rc, _, err = self.run_vgpuctl('apply', self.write_layouts())
        self.assertEqual(rc, 2, err)
        with self.assertRaises(GLib.Error) as e:
            self.manager('ApplyLayout', '(ssa{sv})', (LAYOUTS, 'a16-8q', {'colour': GLib.Variant('s', 'red')}))
        self.assertIn(ERR + 'InvalidArgument', str(e.exception))
        self.assertEqual(self.layout_leases(), {})

    def test_published_examples_parse_and_plan(self):
        """Every config of docs/examples/vgpu-layouts.yaml: those for the T4 and the A16 plan on the
        default host, those for boards it lacks say no GPU offers their type."""
        with open(EXAMPLES) as f:
            names = [line.strip()[:-1] for line in f if line.startswith('    ') and not line.startswith('     ')
                     and line.strip().endswith(':')]
        self.assertGreater(len(names), 40)
        planned = 0
        for name in names:
            rc, out, err = self.run_vgpuctl('apply', EXAMPLES, '--config', name, '--dry-run', '--json')
            if name.startswith(('A40-', 'L40S-')):
                self.assertEqual(rc, 1, name)
                self.assertIn("no GPU offers any of the entry's types", err)
                continue
            if name == 'A16-2Q-4Q':  # indexes 0-3 are an A16-only node's; here the T4 is GPU 0
                self.assertEqual(rc, 1, name)
                self.assertIn('no GPU with index 0 matches the device-filter', err)
                continue
            self.assertEqual(rc, 0, '%s: %s' % (name, err))
            planned += 1
            plan = json.loads(out)
            if name.startswith('T4-') and name != 'T4-A16-mixed-host':
                self.assertEqual([c['core'] for c in plan['create']], [T4], name)
            if name.startswith('A16-') and name not in ('A16-2Q-4Q',):
                self.assertEqual([c['core'] for c in plan['create']], A16_CORES, name)
        self.assertGreater(planned, 15)
        self.assertEqual(self.layout_leases(), {})


class TestApplyA16Node(LayoutTestCase):
    """An A16-only node, where the example's indexes 0-3 are the board's four GPUs."""
    host = 'a16'

    def test_indexes_and_subsystem_filter(self):
        plan = self.apply('A16-2Q-4Q', '--dry-run', path=EXAMPLES)
        self.assertEqual([(c['core'], c['index'], c['count']) for c in plan['create']],
                         [(A16_CORES[0], 0, 8), (A16_CORES[1], 1, 8), (A16_CORES[2], 2, 4), (A16_CORES[3], 3, 4)])
        done = self.apply('A16-16Q', path=EXAMPLES)
        self.assertEqual(len(done['made']), 4)
        self.assertEqual(sorted(core for core, _ in self.cores_of_leases()), A16_CORES)
        self.assertFalse(self.apply('A16-16Q', path=EXAMPLES)['changed'])


class ConfiguredLayoutCase(LayoutTestCase):
    """[Layout] in vgpud.conf (the tests' layouts file, config a16-8q)."""
    start_daemon = False

    def setUp(self):
        super().setUp()
        self.layouts = self.write_layouts()
        self.write_config('[Layout]\nFile=%s\nConfig=a16-8q\n' % self.layouts)

    def layout_props(self):
        return tuple(self.get_property('/org/vgpud1', MANAGER, p)
                     for p in ('LayoutState', 'LayoutMessage', 'LayoutVgpus'))

    def wait_state(self, state, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            props = self.layout_props()
            if props[0] == state:
                return props
            time.sleep(0.2)
        self.fail('layout state %r, not %r' % (self.layout_props(), state))

    def device_changes(self):
        """The emulator's add and remove events of mediated devices so far (creates and removes)."""
        return [(a, p) for a, p, props in list(self.sim.emulator.events)
                if a in ('add', 'remove') and props.get('SUBSYSTEM') == 'mdev']

    def replace_layouts(self, text):
        """As an editor (or a ConfigMap update) does: a new file renamed over the old one."""
        tmp = self.layouts + '.new'
        with open(tmp, 'w') as f:
            f.write(text)
        os.rename(tmp, self.layouts)


class TestConfiguredLayout(ConfiguredLayoutCase):
    """Applied at start, on a change of the file, after a restart and a simulated reboot, with no
    command."""

    def test_applied_at_start_and_when_the_file_changes(self):
        self.start_vgpud()
        self.assertEqual(self.get_property('/org/vgpud1', MANAGER, 'LayoutFile'), self.layouts)
        self.assertEqual(self.get_property('/org/vgpud1', MANAGER, 'LayoutConfig'), 'a16-8q')
        state, message, vgpus = self.wait_state('applied')
        self.assertEqual(vgpus, 8)
        self.assertEqual(len(self.layout_leases()), 8)
        self.assertIn('8 vGPUs', message)
        rc, out, err = self.run_vgpuctl('status')
        self.assertEqual(rc, 0, err)
        self.assertIn('Layout a16-8q (%s): applied, 8 vGPUs' % self.layouts, out)
        rc, out, err = self.run_vgpuctl('metrics')
        self.assertEqual(rc, 0, err)
        for line in ('vgpud_layout_state{config="a16-8q",state="pending"} 0',
                     'vgpud_layout_state{config="a16-8q",state="applied"} 1',
                     'vgpud_layout_state{config="a16-8q",state="failed"} 0',
                     'vgpud_layout_vgpus{config="a16-8q"} 8'):
            self.assertIn(line + '\n', out)

        # a change of the file: the config now wants one per GPU
        self.replace_layouts(LAYOUTS.replace('vgpu-devices: {"A16-8Q": 2}', 'vgpu-devices: {"A16-8Q": 1}'))
        self.assertTrue(self.wait_for(lambda s: len(self.layout_leases()) == 4, timeout=60))
        self.assertEqual(self.wait_state('applied')[2], 4)

        # a broken file: failed, with the line and column, and nothing touched
        before = self.snapshot()
        self.replace_layouts(LAYOUTS.replace('    - devices: all\n      device-filter: "0x25B610DE:0x14A910DE"\n'
                                             '      vgpu-devices: {"A16-8Q": 2}',
                                             '    - devices: all\n      vgpu-devices: {"A16-8Q": two}', 1))
        state, message, _ = self.wait_state('failed')
        self.assertIn("Invalid layout file: 5:32: the count of 'A16-8Q'", message)
        self.assertEqual(self.snapshot(), before)
        rc, out, err = self.run_vgpuctl('status')
        self.assertIn("Layout a16-8q (%s): failed, Invalid layout file: 5:32:" % self.layouts, out)
        rc, out, err = self.run_vgpuctl('metrics')
        self.assertIn('vgpud_layout_state{config="a16-8q",state="failed"} 1\n', out)

    def test_restart_and_reboot_end_in_the_layout(self):
        self.start_vgpud()
        self.wait_state('applied')
        uuids = set(self.layout_leases())
        self.assertEqual(len(uuids), 8)
        # creates and removes: a device's add comes before vgpud knows of it, so all 8 are counted by
        # now; its other events (bind) may still be on their way from the emulator's thread
        changes = self.device_changes()
        self.assertEqual(len(changes), 8)

        # a restart: nothing to do
        self.restart_vgpud()
        self.assertEqual(self.wait_state('applied')[2], 8)
        self.assertEqual(set(self.layout_leases()), uuids)
        self.assertEqual(self.device_changes(), changes)  # no create, no remove

        # a reboot: the devices are gone; the definitions bring them back, the layout is satisfied
        self.assertEqual(self.stop_vgpud(), 0)
        for u in list(self.sim.host.mdevs):
            self.sim.emulator.remove(u)
        self.assertEqual(self.running(), set())
        self.start_vgpud()
        self.assertEqual(self.wait_state('applied')[2], 8)
        self.assertTrue(self.wait_for(lambda s: uuids <= self.running(), timeout=60))
        self.assertEqual(set(self.layout_leases()), uuids)
        self.assertEqual(self.running(), uuids)


class TestConfiguredLayoutRetry(ConfiguredLayoutCase):
    """A layout refused because a VM holds a vGPU it no longer wants is applied once the VM lets go."""

    def setUp(self):
        super().setUp()
        self.write_config('[Layout]\nFile=%s\nConfig=a16-8q\nRetrySec=1\n' % self.layouts)

    def test_converges_once_the_vm_lets_go(self):
        self.start_vgpud()
        self.wait_state('applied')
        held = sorted(self.layout_leases())[0]
        holder = self.hold_group(held)
        before = self.snapshot()
        self.replace_layouts(LAYOUTS.replace('vgpu-devices: {"A16-8Q": 2}', 'vgpu-devices: {"A16-16Q": 1}', 1))
        state, message, _ = self.wait_state('failed')
        self.assertIn('is in use by', message)
        self.assertIn(held, message)
        time.sleep(2.5)  # retried at least once meanwhile: still refused, nothing touched
        self.assertEqual(self.layout_props()[0], 'failed')
        self.assertEqual(self.snapshot(), before)
        holder.kill()
        holder.wait()
        self.assertEqual(self.wait_state('applied')[2], 4)
        self.assertNotIn(held, self.running())
        self.assertEqual(len(self.layout_leases()), 4)


class TestApplyL40SNode(LayoutTestCase):
    """An NVIDIA vGPU 17+ node (the L40S in VF mode: each vGPU on a VF of its own): the published L40S
    layouts plan, apply, change nothing the second time, and give way to another layout."""
    host = 'l40s'
    nvml = True

    def test_published_l40s_layouts_apply(self):
        plan = self.apply('L40S-8Q', '--dry-run', path=EXAMPLES)
        self.assertEqual(sum(c['count'] for c in plan['create']), 6)
        self.assertEqual(self.layout_leases(), {})
        done = self.apply('L40S-8Q', path=EXAMPLES)
        self.assertEqual(len(done['made']), 6)
        leases = self.layout_leases()
        self.assertEqual(set(leases), set(done['made']))
        self.assertTrue(all(persist and running for _, _, persist, running in leases.values()))
        self.assertEqual(len({parent for parent, _, _, _ in leases.values()}), 6)  # one vGPU per VF
        self.assertFalse(self.apply('L40S-8Q', path=EXAMPLES)['changed'])
        # another size: the 8Q vGPUs go first, then the GPU takes 4Q ones
        other = self.apply('L40S-4Q', path=EXAMPLES)
        self.assertEqual(sorted(r['uuid'] for r in other['remove']), sorted(done['made']))
        self.assertEqual(len(other['made']), 12)
        self.assertEqual(set(self.layout_leases()), set(other['made']))
        self.assertFalse(self.apply('L40S-4Q', path=EXAMPLES)['changed'])
