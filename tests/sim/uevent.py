# SPDX-License-Identifier: LGPL-2.1-or-later
"""Send udev events to processes running under the umockdev preload.

The preload turns a libudev netlink monitor into a unix datagram socket bound at
$UMOCKDEV_DIR/event<fd>; we send each event to every such socket in the
"libudev" wire format that udevd uses (systemd sd-device device-monitor.c), with
the MurmurHash2 subsystem/devtype hashes so the monitor's socket filter works.
Sends block (up to `timeout` seconds) while a receiver's queue is full, so no
event is dropped while the receiver is alive.
"""

import errno
import glob
import os
import socket
import struct
import sys
import time

UDEV_MONITOR_MAGIC = 0xfeedcafe
HEADER_SIZE = 40


def murmur_hash2(text):
    """systemd's string_hash32(): MurmurHash2 with seed 0, little-endian reads."""
    data = text.encode()
    m = 0x5bd1e995
    length = len(data)
    h = length & 0xffffffff
    i = 0
    while length - i >= 4:
        k = struct.unpack_from('<I', data, i)[0]
        k = (k * m) & 0xffffffff
        k ^= k >> 24
        k = (k * m) & 0xffffffff
        h = (h * m) & 0xffffffff
        h ^= k
        i += 4
    rest = length - i
    if rest == 3:
        h ^= data[i + 2] << 16
    if rest >= 2:
        h ^= data[i + 1] << 8
    if rest >= 1:
        h ^= data[i]
        h = (h * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    h ^= h >> 15
    return h


def encode(props):
    """One udev monitor message for the ordered property list/dict `props`."""
    items = props.items() if isinstance(props, dict) else props
    body = b''.join(('%s=%s' % (k, v)).encode() + b'\0' for k, v in items)
    d = dict(items)
    subsystem = d.get('SUBSYSTEM', '')
    devtype = d.get('DEVTYPE')
    header = (b'libudev\0' + struct.pack('!I', UDEV_MONITOR_MAGIC) +
              struct.pack('=III', HEADER_SIZE, HEADER_SIZE, len(body)) +
              struct.pack('!IIII', murmur_hash2(subsystem) if subsystem else 0,
                          murmur_hash2(devtype) if devtype else 0, 0, 0))
    return header + body


class UeventSender:
    def __init__(self, root, timeout=5.0, log=None):
        self.root = root
        self.timeout = timeout
        self.log = log or sys.stderr

    def listeners(self):
        return sorted(glob.glob(os.path.join(self.root, 'event[0-9]*')))

    def live_listeners(self):
        """Sockets a process still listens on; stale ones (closed monitors) are removed."""
        live = []
        for path in self.listeners():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_RAW)
            try:
                s.connect(path)
                live.append(path)
            except OSError as e:
                if e.errno in (errno.ECONNREFUSED, errno.ENOENT):
                    try:
                        os.unlink(path)
                    except OSError:
                        pass
            finally:
                s.close()
        return live

    def send(self, props):
        msg = encode(props)
        delivered = 0
        for path in self.listeners():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_RAW)
            s.settimeout(self.timeout)
            try:
                s.connect(path)
                s.send(msg)
                delivered += 1
            except socket.timeout:
                self.log.write('uevent: %s did not read its events for %.0f s, dropped one\n'
                               % (path, self.timeout))
            except OSError as e:
                if e.errno in (errno.ECONNREFUSED, errno.ENOENT):
                    # the monitor was closed: clean up like umockdev does
                    try:
                        os.unlink(path)
                    except OSError:
                        pass
                else:
                    raise
            finally:
                s.close()
        return delivered


def monotonic_usec():
    return int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1000000)
