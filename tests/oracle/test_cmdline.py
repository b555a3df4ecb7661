# SPDX-License-Identifier: LGPL-2.1-or-later
"""mdevctl 1.2.0's command line: rejected command lines (exit 2, nothing on stdout, a clap-style
message on stderr), option spellings that must be accepted, the help texts and -V/--version.

The help texts are compared without their first line, which names the program and its version
("mdevctl-list 1.2.0" / "vgpuctl-list 0.1.0"): the version is the one allowed difference. The
top-level help lists only the subcommands vgpuctl implements so far; it is compared with mdevctl's
minus the subcommands vgpuctl does not have (see `known_subcommands`)."""

import os
import re

import oracle  # first: it puts tests/sim on sys.path
import test_odd
from oracle import OracleCase, add_comparisons

U = '8b3a12aa-1703-570d-a077-f79975f0f8dd'

# Command lines clap rejects: (arguments, a word vgpuctl's message must contain).
BAD = [
    (['list', '-x'], "'-x'"),
    (['list', '--foo'], "'--foo'"),
    (['list', '-u'], 'requires a value'),
    (['list', '--uuid'], 'requires a value'),
    (['list', '-u', 'nope'], 'nope'),
    (['list', '-u', ''], 'Invalid value'),
    (['list', '-u', U[:-1]], 'Invalid value'),
    (['list', '-u', U + '1'], 'Invalid value'),
    (['list', '-u', U.replace('-', '', 1)], 'Invalid value'),
    (['list', '-u', U[:-1] + 'g'], 'Invalid value'),
    (['list', '-u', 'URN:UUID:' + U], 'Invalid value'),
    (['list', '-u', '-d'], 'requires a value'),
    (['list', '-p'], 'requires a value'),
    (['list', '-p', '-d'], 'requires a value'),
    (['list', '-p', 'a', '-p', 'b'], 'more than once'),
    (['list', '-d', '-d'], 'more than once'),
    (['list', '-dd'], 'more than once'),
    (['list', '--dumpjson=1'], "'1'"),
    (['list', '--defined=x'], "'x'"),
    (['list', '-d=x'], "'-='"),
    (['list', 'extra'], "'extra'"),
    (['list', '--', '-d'], "'-d'"),
    (['types', '-V'], "'-V'"),
    (['types', '--version'], "'--version'"),
    (['types', '-v'], "'-v'"),
    (['types', '-d'], "'-d'"),
    (['types', '-p'], 'requires a value'),
    (['types', '-p', 'a', '-p', 'b'], 'more than once'),
    (['types', 'extra'], "'extra'"),
    (['foo'], "'foo'"),
    (['-d', 'list'], "'-d'"),
    (['--foo'], "'--foo'"),
    (['help', 'foo'], "'foo'"),
    (['help', 'list', 'types'], "'types'"),
    (['help', '-h'], "'-h'"),
    ([], 'USAGE'),
]

# Spellings mdevctl accepts (compared like any command).
ACCEPTED = [
    ['list', '-u=' + U], ['list', '-u' + U], ['list', '-dv'], ['list', '-vd', '--dumpjson'],
    ['list', '-dpP'], ['list', '-p=a=b'], ['list', '--parent='], ['types', '--parent='],
    ['list', '--'], ['list', '-d', '--'], ['list', '--uuid', U.upper()], ['list', '-u', '{%s}' % U.upper()],
    ['list', '-u', U.replace('-', '').upper(), '--dumpjson'], ['list', '-u', 'urn:uuid:' + U],
    ['types', '-pmtty'], ['types', '-p=mtty', '--dumpjson'], ['list', '-p', '-'],
]

HELP = [['--help'], ['-h'], ['help'], ['list', '--help'], ['list', '-h'], ['types', '--help'],
        ['types', '-h'], ['help', 'list'], ['help', 'types'], ['help', 'help'], ['list', '-d', '-h'],
        ['list', '-h', '-x'], ['--help', 'list'], ['-h', 'foo']]


def known_subcommands(help_text):
    """The subcommand names listed in a top-level help text."""
    names, inside = [], False
    for line in help_text.splitlines():
        if line == 'SUBCOMMANDS:':
            inside = True
        elif inside and line.startswith('    '):
            names.append(line.split()[0])
    return names


def normalize_help(text, keep=None):
    """Drop the first line (program and version); in SUBCOMMANDS keep only `keep` and collapse the
    padding between name and description (it depends on the longest name)."""
    out, inside = [], False
    for line in text.splitlines()[1:]:
        if line == 'SUBCOMMANDS:':
            inside = True
        elif inside and line.startswith('    '):
            name, about = line.split(None, 1)
            if keep is not None and name not in keep:
                continue
            line = '    %s  %s' % (name, about)
        out.append(line)
    return '\n'.join(out)


class Test_cmdline(OracleCase):
    HOST = 'odd'

    @classmethod
    def make_reference(cls, root):
        # The odd tree without what mdevctl 1.2.0 chokes on: see test_odd.py.
        return test_odd.odd_reference(root, os.path.join(cls.tmp, 'reference'))

    def test_bad_command_lines(self):
        for args, word in BAD:
            with self.subTest(args=args):
                want = self.mdevctl(self.reference, args)
                got = self.vgpuctl(args)
                self.assertEqual(want.rc, 2, want)
                self.assertEqual((got.rc, got.out), (2, want.out), got)
                err = got.err.decode()
                self.assertIn(word, err, got)
                self.assertTrue(err.startswith('error: ') or args == [], got)

    def test_help_texts(self):
        mine = self.vgpuctl(['--help']).out.decode()
        keep = set(known_subcommands(mine))
        self.assertIn('list', keep)
        self.assertIn('types', keep)
        self.assertNotIn('status', keep, 'vgpuctl-only commands are hidden when invoked as mdevctl')
        for args in HELP:
            with self.subTest(args=args):
                want = self.mdevctl(self.reference, args)
                got = self.vgpuctl(args)
                self.assertEqual(got.rc, want.rc, got)
                self.assertEqual(normalize_help(got.out.decode(), keep), normalize_help(want.out.decode(), keep))
                self.assertRegex(got.out.decode().splitlines()[0] if got.out else '', r'^vgpuctl')

    def test_no_subcommand_help_on_stderr(self):
        want = self.mdevctl(self.reference, [])
        got = self.vgpuctl([])
        self.assertEqual((want.rc, want.out), (2, b''))
        self.assertEqual((got.rc, got.out), (2, b''))
        keep = set(known_subcommands(got.err.decode()))
        self.assertEqual(normalize_help(got.err.decode(), keep), normalize_help(want.err.decode(), keep))

    def test_lsmdev_help(self):
        for args in (['-h'], ['--help']):
            want = self.mdevctl(self.reference, args, prog=oracle.LSMDEV)
            got = self.vgpuctl(args, name='lsmdev')
            self.assertEqual((got.rc, normalize_help(got.out.decode())), (want.rc, normalize_help(want.out.decode())))

    def test_version(self):
        """-V/--version say vgpuctl's own version (the one documented difference), with mdevctl's
        exit codes; `types` has no -V in mdevctl."""
        for args in (['-V'], ['--version'], ['list', '-V'], ['list', '--version']):
            with self.subTest(args=args):
                want = self.mdevctl(self.reference, args)
                got = self.vgpuctl(args)
                self.assertEqual((want.rc, got.rc), (0, 0))
                self.assertRegex(got.out.decode(), r'^vgpuctl(-list)? \d+\.\d+\.\d+\n$')
        got = self.vgpuctl(['-V'], name='lsmdev')
        self.assertEqual(got.rc, 0)
        self.assertRegex(got.out.decode(), r'^vgpuctl \d+\.\d+\.\d+\n$')

    def test_vgpuctl_name_shows_own_commands(self):
        got = self.vgpuctl(['--help'], name='vgpuctl')
        self.assertEqual(got.rc, 0)
        self.assertIn('status', known_subcommands(got.out.decode()))
        self.assertRegex(got.out.decode(), re.compile(r'^USAGE:\n    vgpuctl <SUBCOMMAND>$', re.M))


add_comparisons(Test_cmdline, ACCEPTED)
