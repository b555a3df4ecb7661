# SPDX-License-Identifier: LGPL-2.1-or-later
"""Declarative layouts (issue 14): vgpud's configuration file (vgpud.conf, daemon/config.c)."""

import os
import subprocess

import vgpudtest


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
