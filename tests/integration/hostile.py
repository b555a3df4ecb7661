# SPDX-License-Identifier: LGPL-2.1-or-later
"""A hostile client of vgpud's private socket, run as an unprivileged user by test_hostile.py and
tests/bench/bench-hostile.py. It never reads a reply.

    hostile.py idle SOCKET N            open N connections and hold them
    hostile.py pipeline SOCKET N CALLS  N authenticated connections, CALLS ListTypes each, unread

Then it prints one JSON line (what it did) and answers commands on stdin, one per line: 'count'
prints how many of its connections vgpud still holds open; end of input closes everything."""

import json
import os
import resource
import socket
import struct
import sys

from gi.repository import Gio


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
    if mode == 'pipeline':
        calls = int(sys.argv[4])
        result['sent'] = []
        for s in conns:
            try:
                authenticate(s)
            except OSError:
                result['sent'].append(0)
                continue
            result['sent'].append(pipeline(s, calls))
    print(json.dumps(result), flush=True)
    for line in sys.stdin:
        if line.strip() == 'count':
            print(sum(1 for s in conns if still_open(s)), flush=True)
    for s in conns:
        s.close()


if __name__ == '__main__':
    main()
