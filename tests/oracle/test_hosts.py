# SPDX-License-Identifier: LGPL-2.1-or-later
"""Byte-for-byte comparison of vgpuctl + vgpud with mdevctl 1.2.0 on the simulated hosts of
tests/sim/hosts.py: `types` and `list` in all their forms, the -u/-p filters (match, no match,
upper-case, hyphen-less, urn: and braced UUIDs, --opt=value), and lsmdev. Each host is one test
class (one tree, one daemon); each command line is one test."""

import oracle
from oracle import OracleCase, add_comparisons, build_host

NO_UUID = '00000000-dead-beef-0000-000000000000'


def commands_for(host):
    """The command lines compared for a host, derived from what it contains."""
    parents = sorted(host.parents)
    running = sorted(host.mdevs)
    defined = sorted({(d.parent, d.filename) for d in host.definitions})
    cmds = [
        ['types'], ['types', '--dumpjson'],
        ['types', '-p', 'nosuchparent'], ['types', '-p', 'nosuchparent', '--dumpjson'],
        ['list'], ['list', '-v'], ['list', '-d'], ['list', '-d', '-v'], ['list', '-dv'],
        ['list', '--dumpjson'], ['list', '-d', '--dumpjson'], ['list', '-v', '--dumpjson'],
        ['list', '-u', NO_UUID], ['list', '-u', NO_UUID, '--dumpjson'],
        ['list', '-d', '-u', NO_UUID, '--dumpjson'],
        ['list', '-p', 'nosuchparent'], ['list', '-p', 'nosuchparent', '--dumpjson'],
        ('lsmdev', []), ('lsmdev', ['-d']), ('lsmdev', ['--dumpjson']), ('lsmdev', ['-d', '-v']),
    ]
    for p in parents[:1] + parents[-1:]:
        cmds += [['types', '-p', p], ['types', '--parent=' + p, '--dumpjson'],
                 ['list', '-p', p], ['list', '-p', p, '--dumpjson'], ['list', '-d', '-p', p],
                 ['list', '--parent=' + p, '-d', '--dumpjson']]
    for u in running[:1] + running[-1:]:
        cmds += [['list', '-u', u], ['list', '-u', u, '--dumpjson'], ['list', '-v', '-u', u.upper()],
                 ['list', '-u', u.replace('-', ''), '--dumpjson'], ['list', '--uuid=urn:uuid:' + u],
                 ['list', '-u', '{%s}' % u, '--dumpjson'], ['list', '-u=' + u.upper()],
                 ['list', '-d', '-u', u, '--dumpjson'], ('lsmdev', ['-u', u, '--dumpjson'])]
    for p, u in defined[:2]:
        cmds += [['list', '-d', '-u', u], ['list', '-d', '-u', u, '--dumpjson'],
                 ['list', '-d', '-v', '-u', u.upper().replace('-', '')],
                 ['list', '-d', '-p', p, '-u', u, '--dumpjson']]
    return cmds


def host_class(name):
    cls = type('Test_%s' % name.replace('-', '_'), (OracleCase,), {'HOST': name, '__doc__':
                                                                    'mdevctl oracle on host %r' % name})
    return add_comparisons(cls, commands_for(build_host(name)))


# The odd and large hosts have their own modules (test_odd.py, test_large.py).
for _name in ('default', 't4', 'a16', 'gvtg', 'mtty', 'half-full'):
    _cls = host_class(_name)
    globals()[_cls.__name__] = _cls
del _cls, _name, oracle
