# SPDX-License-Identifier: LGPL-2.1-or-later
"""A client of vgpud on the system bus, run as an unprivileged user by test_hostile.py: one connection
(one unique name) that sends Acquire calls when told and collects their answers, never waiting for one.

    bus_client.py ADDRESS PROFILE OWNER

Commands on stdin, one per line: 'send N' sends N Acquire (dry run) calls; 'answers' prints a JSON
list of the answers so far ([null] for a success, [name, message] for an error), in the order they
came. End of input ends it."""

import json
import sys

from gi.repository import Gio, GLib


def main():
    address, profile, owner = sys.argv[1:4]
    conn = Gio.DBusConnection.new_for_address_sync(
        address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
        None, None)
    answers = []
    loop = GLib.MainLoop()

    def done(c, res):
        try:
            c.call_finish(res)
            answers.append(None)
        except GLib.Error as e:
            name = Gio.DBusError.get_remote_error(e)
            prefix = 'GDBus.Error:%s: ' % name
            answers.append([name, e.message[len(prefix):] if e.message.startswith(prefix) else e.message])

    def command(channel, condition):
        line = sys.stdin.readline()
        if not line:
            loop.quit()
            return False
        words = line.split()
        if words[0] == 'send':
            for _ in range(int(words[1])):
                conn.call('org.vgpud1', '/org/vgpud1', 'org.vgpud1.Manager', 'Acquire',
                          GLib.Variant('(ssa{sv})', (profile, owner, {'dry_run': GLib.Variant('b', True)})),
                          None, Gio.DBusCallFlags.NONE, 600000, None, done)
            conn.flush_sync(None)
            print('sent', flush=True)
        elif words[0] == 'answers':
            print(json.dumps(answers), flush=True)
        return True

    GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()), GLib.PRIORITY_DEFAULT, GLib.IO_IN | GLib.IO_HUP,
                      command)
    print('ready', flush=True)
    loop.run()


if __name__ == '__main__':
    main()
