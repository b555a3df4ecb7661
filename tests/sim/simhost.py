#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run a command on a simulated mdev host.

  simhost.py [--host NAME] [--scale F] [--keep DIR] [-v] -- CMD ARGS...
      builds the tree in a temporary directory (or DIR with --keep, which is then
      left in place), starts the kernel emulator and runs CMD with
      UMOCKDEV_DIR=<root> and the umockdev preload in its environment, plus
      SIMHOST_ROOT, SIMHOST_SYS, SIMHOST_DEFINITIONS_DIR (<root>/etc/mdevctl.d) and
      SIMHOST_SRIOV_MANAGE (the fake sriov-manage). With a build directory ($VGPUD_BUILDDIR,
      default <repo>/build) the write shim libvgpud-simvf.so is preloaded first; --nvml puts the
      fake libnvidia-ml.so.1 on LD_LIBRARY_PATH.
      SIGINT/SIGTERM/SIGHUP are passed on to CMD; exits with CMD's status.
  simhost.py [--host NAME] [--scale F] --write-tree DIR
      writes the tree into DIR and exits (no emulator).
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import emulator  # noqa: E402
import hosts  # noqa: E402
import tree  # noqa: E402

PRELOAD = 'libumockdev-preload.so.0'
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRIOV_MANAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'sriov-manage')


def builddir():
    return os.environ.get('VGPUD_BUILDDIR', os.path.join(REPO, 'build'))


def simvf_library():
    """The write shim (tests/sim/simvf-preload.c): $VGPUD_SIM_SHIM (a build without the tests, e.g.
    the sanitizer's, borrows the main build's), else the build directory's; None if not built."""
    path = os.environ.get('VGPUD_SIM_SHIM') or os.path.join(builddir(), 'tests', 'sim', 'libvgpud-simvf.so')
    return path if os.path.exists(path) else None


def fake_nvml_dir():
    """The directory holding the fake libnvidia-ml.so.1, or None if not built."""
    path = os.path.join(builddir(), 'tests', 'sim', 'nvml')
    return path if os.path.exists(os.path.join(path, 'libnvidia-ml.so.1')) else None


def sim_environment(root, base=None, nvml=False):
    """The environment a process needs to see the tree at root as /sys: umockdev's preload, after
    the write shim when it is built (it must come first: see simvf-preload.c). nvml=True puts the fake
    libnvidia-ml.so.1 on LD_LIBRARY_PATH."""
    env = dict(os.environ if base is None else base)
    env['UMOCKDEV_DIR'] = root
    preload = [p for p in env.get('LD_PRELOAD', '').split(':') if p]
    if PRELOAD not in preload:
        preload.insert(0, PRELOAD)
    shim = simvf_library()
    if shim is not None and shim not in preload:
        preload.insert(0, shim)
    env['LD_PRELOAD'] = ':'.join(preload)
    if nvml:
        if fake_nvml_dir() is None:
            raise RuntimeError('the fake libnvidia-ml.so.1 is not built (meson -Dtests=true)')
        paths = [p for p in env.get('LD_LIBRARY_PATH', '').split(':') if p]
        env['LD_LIBRARY_PATH'] = ':'.join([fake_nvml_dir()] + paths)
    env['SIMHOST_SRIOV_MANAGE'] = SRIOV_MANAGE
    env['SIMHOST_ROOT'] = root
    env['SIMHOST_SYS'] = os.path.join(root, 'sys')
    env['SIMHOST_DEFINITIONS_DIR'] = os.path.join(root, 'etc', 'mdevctl.d')
    return env


def main(argv=None):
    ap = argparse.ArgumentParser(description='Run a command on a simulated mdev host.')
    ap.add_argument('--host', default='default', help='one of: ' + ', '.join(sorted(hosts.HOSTS)))
    ap.add_argument('--scale', type=float, default=1.0, help='size factor for --host large')
    ap.add_argument('--keep', metavar='DIR', help='build the tree in DIR and leave it there')
    ap.add_argument('--write-tree', metavar='DIR', help='write the tree into DIR and exit')
    ap.add_argument('-v', '--verbose', action='store_true', help='log every create/remove')
    ap.add_argument('--nvml', action='store_true', help='the fake libnvidia-ml.so.1 on the library path')
    ap.add_argument('cmd', nargs=argparse.REMAINDER, help='-- CMD ARGS...')
    args = ap.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ['--'] else args.cmd

    try:
        host = hosts.build_host(args.host, args.scale)
    except ValueError as e:
        ap.error(str(e))

    if args.write_tree:
        tree.write_tree(host, args.write_tree)
        return 0
    if not cmd:
        ap.error('no command given (simhost.py [options] -- CMD ARGS...)')

    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        root = os.path.abspath(args.keep)
    else:
        root = tree.make_root('simhost.')
    try:
        tr = tree.write_tree(host, root)
        emu = emulator.Emulator(tr, verbose=args.verbose).start()
        try:
            child = subprocess.Popen(cmd, env=sim_environment(root, nvml=args.nvml))
        except OSError as e:
            sys.stderr.write('simhost: cannot run %s: %s\n' % (cmd[0], e.strerror))
            emu.stop()
            return 127

        def relay(signum, _frame):
            child.send_signal(signum)
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, relay)
        rc = child.wait()
        emu.stop()
        return rc if rc >= 0 else 128 - rc
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
