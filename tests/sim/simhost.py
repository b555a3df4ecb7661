#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run a command on a simulated mdev host.

  simhost.py [--host NAME] [--scale F] [--keep DIR] [-v] -- CMD ARGS...
      builds the tree in a temporary directory (or DIR with --keep, which is then
      left in place), starts the kernel emulator and runs CMD with
      UMOCKDEV_DIR=<root> and the umockdev preload in its environment, plus
      SIMHOST_ROOT, SIMHOST_SYS and SIMHOST_DEFINITIONS_DIR (<root>/etc/mdevctl.d).
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


def sim_environment(root, base=None):
    """The environment a process needs to see the tree at root as /sys."""
    env = dict(os.environ if base is None else base)
    env['UMOCKDEV_DIR'] = root
    preload = env.get('LD_PRELOAD', '')
    if PRELOAD not in preload.split(':'):
        env['LD_PRELOAD'] = PRELOAD + (':' + preload if preload else '')
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
            child = subprocess.Popen(cmd, env=sim_environment(root))
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
