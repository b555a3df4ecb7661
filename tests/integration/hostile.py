# SPDX-License-Identifier: LGPL-2.1-or-later
"""A hostile client of vgpud's private socket, run as an unprivileged user by test_hostile.py and
tests/bench/bench-hostile.py. It never reads a reply.

    hostile.py idle SOCKET N            open N connections and hold them
    hostile.py pipeline SOCKET N CALLS  N authenticated connections, CALLS ListTypes each, unread
    hostile.py trickle SOCKET N DECLARED SEND [PAUSE_MS]  N connections, each one call declaring a
                                        DECLARED-byte body, of which it sends SEND bytes in 64 KiB
                                        writes PAUSE_MS apart (default 1)
    hostile.py large SOCKET N SIZE CALLS  N connections, CALLS whole calls of SIZE bytes each

Then it prints one JSON line (what it did) and answers commands on stdin, one per line: 'count'
prints how many of its connections vgpud still holds open; end of input closes everything."""

import json
import os
import resource
import socket
import struct
import sys
import time

from gi.repository import Gio, GLib


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    return s


def authenticate(s):
    s.sendall(b'\0AUTH EXTERNAL ' + str(os.geteuid()).encode().hex().encode() + b'\r\n')
    line = b''
    while not line.endswith(b'\r\n'):
        chunk = s.recv(256)
        if not chunk:
            raise ConnectionResetError('closed during authentication')
        line += chunk
    if not line.startswith(b'OK '):
        raise ConnectionRefusedError(line.decode(errors='replace'))
    s.sendall(b'BEGIN\r\n')


def list_types_blob(serial):
    m = Gio.DBusMessage.new_method_call(None, '/org/vgpud1', 'org.vgpud1.Manager', 'ListTypes')
    m.set_serial(serial)
    return m.to_blob(Gio.DBusCapabilityFlags.NONE)


def string_call_blob(n):
    """A ListTypes call with one string argument of n bytes (its body is n + 5 bytes)."""
    m = Gio.DBusMessage.new_method_call(None, '/org/vgpud1', 'org.vgpud1.Manager', 'ListTypes')
    m.set_serial(1)
    m.set_body(GLib.Variant('(s)', ('x' * n,)))
    return bytes(m.to_blob(Gio.DBusCapabilityFlags.NONE))


def declared_call_head(declared):
    """The first bytes of a call whose body declares itself declared bytes long (one string): the
    fixed header, the header fields and the string's length; the string's bytes are for the caller."""
    blob = bytearray(string_call_blob(1))
    fields = struct.unpack_from('<I', blob, 12)[0]
    body = 16 + (fields + 7) // 8 * 8
    struct.pack_into('<I', blob, 4, declared)
    struct.pack_into('<I', blob, body, declared - 5)
    return bytes(blob[:body + 4])


def send_until_closed(s, chunks, pause=0):
    """Send each chunk of the iterable (pause seconds apart) until vgpud hangs up; returns the bytes
    sent."""
    sent = 0
    s.settimeout(30)
    try:
        for chunk in chunks:
            time.sleep(pause)
            view = memoryview(chunk)
            while view:
                n = s.send(view)
                sent += n
                view = view[n:]
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    return sent


def trickle(s, declared, send, pause_ms):
    head = declared_call_head(declared)
    piece = b'x' * 65536
    return send_until_closed(s, [head] + [piece] * (send // len(piece)), pause=pause_ms / 1000)


def large(s, size, calls):
    # as much in flight at once as an unprivileged user may (net.core.wmem_max caps it)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024 * 1024)
    blob = string_call_blob(size)
    return send_until_closed(s, [blob] * calls)


def still_open(s):
    """False once vgpud closed or shut down its end (EOF or reset). Reads what is pending."""
    s.setblocking(False)
    try:
        while s.recv(65536):
            pass
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def pipeline(s, calls):
    """Send calls ListTypes, never reading; returns how many were sent before vgpud hung up."""
    blob = bytearray(list_types_blob(1))
    batch = 64
    sent = 0
    s.settimeout(30)
    try:
        while sent < calls:
            n = min(batch, calls - sent)
            out = bytearray()
            for i in range(n):
                struct.pack_into('<I', blob, 8, sent + i + 1)  # the serial (little-endian header)
                out += blob
            s.sendall(out)
            sent += n
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    return sent


def main():
    mode, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    conns, refused = [], 0
    for _ in range(n):
        try:
            conns.append(connect(path))
        except OSError:
            refused += 1
    result = {'connected': len(conns), 'refused': refused}
    sender = {'pipeline': lambda s: pipeline(s, int(sys.argv[4])),
              'trickle': lambda s: trickle(s, int(sys.argv[4]), int(sys.argv[5]),
                                           float(sys.argv[6]) if len(sys.argv) > 6 else 1),
              'large': lambda s: large(s, int(sys.argv[4]), int(sys.argv[5]))}.get(mode)
    if sender:
        result['sent'] = []
        for s in conns:
            try:
                authenticate(s)
            except OSError:
                result['sent'].append(0)
                continue
            result['sent'].append(sender(s))
    print(json.dumps(result), flush=True)
    for line in sys.stdin:
        if line.strip() == 'count':
            print(sum(1 for s in conns if still_open(s)), flush=True)
    for s in conns:
        s.close()


if __name__ == '__main__':
    main()
