# SPDX-License-Identifier: LGPL-2.1-or-later
"""Byte-for-byte comparison of vgpuctl + vgpud with mdevctl 1.2.0 on the simulated hosts of
tests/sim/hosts.py: `types` and `list` in all their forms, the -u/-p filters (match, no match,
upper-case, hyphen-less, urn: and braced UUIDs, --opt=value), and lsmdev. Each host is one test
class (one tree, one daemon); each command line is one test."""

import oracle  # first: it puts tests/sim on sys.path
import hosts
from oracle import OracleCase, add_comparisons, build_host

NO_UUID = '00000000-dead-beef-0000-000000000000'


def busy():
    """half-full plus more state: several devices per parent in non-sorted creation order, running
    devices with and without definitions, definitions that are not running (auto and manual), one
    with attributes in a deliberate order, one UUID defined on two parents, one for a parent that
    is not there, and a definition of a running UUID under another parent."""
    h = hosts.half_full()
    t4p = '0000:41:00.0'
    u = [hosts.make_uuid('busy', n) for n in range(12)]
    for n in (5, 1, 3):
        h.add_mdev(u[n], t4p, hosts.nvidia_type_by_name(h, t4p, 'GRID T4-2Q'))
    vf = hosts.a16_vf_addr(hosts.A16_CORES[1], 3)
    h.add_mdev(u[2], vf, hosts.nvidia_type_by_name(h, vf, 'NVIDIA A16-2B'))
    h.add_mdev(u[4], 'mtty', 'mtty-1')
    h.define(t4p, u[5], hosts.nvidia_type_by_name(h, t4p, 'GRID T4-2Q'), 'auto',
             [('zeta', '1'), ('alpha', '2'), ('mid', 'x y')])
    h.define(t4p, u[6], hosts.nvidia_type_by_name(h, t4p, 'GRID T4-4Q'), 'auto')
    h.define(t4p, u[7], hosts.nvidia_type_by_name(h, t4p, 'GRID T4-1B'), 'manual')
    h.define(vf, u[2], hosts.nvidia_type_by_name(h, vf, 'NVIDIA A16-2B'), 'manual', [('k', 'v')])
    h.define('mtty', u[8], 'mtty-1', 'auto')
    h.define('0000:00:02.0', u[8], 'i915-GVTg_V5_8', 'manual')
    h.define('0000:de:ad.0', u[9], 'nvidia-999', 'auto')
    h.define('mtty', u[1], 'mtty-2', 'auto')  # u[1] runs on the T4, not on mtty
    h.name = 'busy'
    return h


def mixed_running():
    """The mixed host (T4, A16 board, L40S and RTX PRO 6000 in VF mode) with vGPUs on both kinds:
    mdevctl sees only the mediated devices, and so must `vgpuctl types`/`list`."""
    h = hosts.mixed()
    t4p = '0000:41:00.0'
    u = [hosts.make_uuid('mixed', n) for n in range(3)]
    h.add_mdev(u[0], t4p, hosts.nvidia_type_by_name(h, t4p, 'GRID T4-4Q'))
    vf = hosts.a16_vf_addr(hosts.A16_CORES[2], 1)
    h.add_mdev(u[1], vf, hosts.nvidia_type_by_name(h, vf, 'NVIDIA A16-8Q'))
    h.define(t4p, u[0], hosts.nvidia_type_by_name(h, t4p, 'GRID T4-4Q'), 'auto')
    h.define(t4p, u[2], hosts.nvidia_type_by_name(h, t4p, 'GRID T4-4Q'), 'manual')
    for pf, n, type_id in ((hosts.L40S, 3, 1152), (hosts.RTX6000, 2, 1525)):
        gpu = h.vf_gpus[pf]
        for vf in gpu.vfs[:n]:
            assert gpu.create(vf.addr, type_id) == 0
    h.name = 'mixed-running'
    return h


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


def host_class(name, spec):
    cls = type('Test_%s' % name.replace('-', '_'), (OracleCase,), {'HOST': spec, '__doc__':
                                                                    'mdevctl oracle on host %r' % name})
    return add_comparisons(cls, commands_for(build_host(spec)))


# The odd and large hosts have their own modules (test_odd.py, test_large.py).
for _name, _spec in ([(n, n) for n in ('default', 't4', 'a16', 'gvtg', 'mtty', 'half-full', 'mixed')] +
                     [('busy', busy), ('mixed-running', mixed_running)]):
    _cls = host_class(_name, _spec)
    globals()[_cls.__name__] = _cls
del _cls, _name, _spec
