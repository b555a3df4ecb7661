# SPDX-License-Identifier: LGPL-2.1-or-later
"""The kernel emulator: plays the mdev core and the vendor drivers on a written
tree. A thread watches every type's `create` and every mdev's `remove` with
inotify; on a write it validates like Linux 6.1 (drivers/vfio/mdev/mdev_sysfs.c
create_store/remove_store, mdev_core.c mdev_device_create), changes the tree,
recomputes available_instances through the host's driver models and sends the
uevents udevd would broadcast (see NOTES.md for the exact sequences).

Writes cannot fail under umockdev: a refused create simply produces no device;
the reason is logged on stderr and kept in Emulator.refusals.
Test helpers: create()/remove() (another tool writing the files),
parent_unregister()/parent_register(), unplug()/plug(), refuse_next(),
vfio_group_path() (the node a VM would hold open), create_delay and
creates_held() (a driver slow to return from create), remove_waits_for_holders
(a remove blocks while a VM holds the device).
"""

import contextlib
import ctypes
import ctypes.util
import errno
import os
import queue
import re
import select
import struct
import sys
import threading
import time

from emulator_vf import VfDriver
from uevent import UeventSender, monotonic_usec

IN_CLOSE_WRITE = 0x00000008
IN_IGNORED = 0x00008000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

UUID_RE = re.compile(r'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')

_libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
_libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]


def _kstrtoul(text):
    """Linux kstrtoul(buf, 0): one optional trailing newline, optional '+',
    base from the prefix (0x hex, 0 octal). None when the kernel says EINVAL."""
    if text.endswith('\n'):
        text = text[:-1]
    if text.startswith('+'):
        text = text[1:]
    try:
        if text[:2].lower() == '0x':
            return int(text[2:], 16) if re.fullmatch(r'[0-9a-fA-F]+', text[2:]) else None
        if not re.fullmatch(r'[0-9]+', text):
            return None
        return int(text, 8) if text.startswith('0') else int(text, 10)
    except ValueError:
        return None


def _flushing(method):
    """A test API call returns once the uevents it caused have gone out, so that a request the test
    makes next reaches the daemon after them."""
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        finally:
            self.flush_uevents()
    call.__name__, call.__doc__ = method.__name__, method.__doc__
    return call


class Emulator:
    # how long wait_for(), create() and remove() wait by default: long enough for a loaded
    # machine (a wait returns as soon as its state is there); the integration harness sets it
    # from vgpudtest.WAIT_TIMEOUT
    wait_timeout = 60

    def __init__(self, tree, log=None, verbose=False):
        self.tree = tree
        self.host = tree.host
        self.log = log or sys.stderr
        self.verbose = verbose
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.sender = UeventSender(tree.root, log=self.log)
        # uevents go out from a thread of their own, in order: like the kernel, the emulator never
        # waits for a listener to read them (a send blocks while a listener's queue is full, and the
        # listener may be the process waiting inside a write the emulator answers)
        self._outbox = queue.Queue()
        self._sender_thread = None
        self.refusals = []       # dicts: parent, type, value, reason
        self.events = []         # (action, devpath, props) in send order
        self._refuse_next = 0
        self._fail_next = []     # errnos the next creates fail with, through the write shim
        # seconds between a device's add/bind uevents and its mdev_type and type devices/ links, as on
        # 6.1 where mdev_device_create() runs device_add() before mdev_create_sysfs_files(); 0: none.
        # A writer through the shim gets its answer only once the links are there (create_store()
        # returns after mdev_device_create()); a listener to the uevents may see the device first.
        self.late_type_link = 0.0
        # seconds a driver's create takes after device_add() (the add and bind uevents are out, the
        # device and its counts are there) before write(2) returns: NVIDIA's vGPU create sets up the
        # vGPU's resources inside create_store(), tens of ms. Through the shim only; 0: none.
        self.create_delay = 0.0
        self._create_gates = []  # (parent name or None, threading.Event): creates_held()
        # as vfio_unregister_group_dev() does: a write to remove returns only once no process holds
        # the device's VFIO group open (the kernel asks the holder to let go and waits; through the
        # shim only). Off by default: a test that removes a held device says so.
        self.remove_waits_for_holders = False
        self.handled = 0         # create/remove writes processed so far
        self._seqnum = 1000
        self._usec = {}
        self._watches = {}       # wd -> ('create', parent, type) | ('remove', uuid)
        self._ifd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self._ifd < 0:
            raise OSError(ctypes.get_errno(), 'inotify_init1')
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC)
        self._thread = None
        self._stopping = False
        with self.lock:
            for parent in self.host.parents.values():
                if parent.registered:
                    self._watch_types(parent)
            for m in self.host.mdevs.values():
                self._watch_mdev(m)
        # the nvidia driver of GPUs in VF mode, SR-IOV, NVML (emulator_vf.py)
        self.vf = VfDriver(self)
        with self.lock:
            self.vf.watch()

    # ------------------------------------------------------------ lifecycle
    def start(self):
        self._sender_thread = threading.Thread(target=self._send_loop, name='uevent-sender', daemon=True)
        self._sender_thread.start()
        self.vf.start()
        self._thread = threading.Thread(target=self._run, name='mdev-emulator', daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._thread is None:
            return
        self.vf.stop()
        self._stopping = True
        os.write(self._wake_w, b'x')
        self._thread.join(5)
        self._thread = None
        self._outbox.put(None)
        self._sender_thread.join(10)
        self._sender_thread = None
        os.close(self._ifd)
        os.close(self._wake_r)
        os.close(self._wake_w)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _say(self, msg):
        self.log.write('emulator: %s\n' % msg)
        self.log.flush()

    # ------------------------------------------------------------ inotify
    def _add_watch(self, rel, what):
        wd = _libc.inotify_add_watch(self._ifd, self.tree.p(rel).encode(), IN_CLOSE_WRITE)
        if wd < 0:
            raise OSError(ctypes.get_errno(), 'inotify_add_watch ' + rel)
        self._watches[wd] = what

    def _watch_types(self, parent):
        for t in parent.types.values():
            self._add_watch(self.tree.type_dir(parent, t), ('create', parent.name, t.dirname))

    def _watch_mdev(self, m):
        self._add_watch(m.path, ('remove', m.uuid))

    def _run(self):
        buf_size = 64 * 1024
        while not self._stopping:
            r, _, _ = select.select([self._ifd, self._wake_r], [], [])
            if self._wake_r in r:
                break
            try:
                data = os.read(self._ifd, buf_size)
            except BlockingIOError:
                continue
            off = 0
            while off < len(data):
                wd, mask, _cookie, length = struct.unpack_from('iIII', data, off)
                name = data[off + 16:off + 16 + length].rstrip(b'\0').decode()
                off += 16 + length
                try:
                    self._dispatch(wd, mask, name)
                except Exception as e:  # keep the kernel alive, but say it loudly
                    self._say('internal error handling %s: %r' % (name, e))

    def _dispatch(self, wd, mask, name):
        with self.lock:
            what = self._watches.get(wd)
            if mask & IN_IGNORED:
                self._watches.pop(wd, None)
                return
            if what is None or not mask & IN_CLOSE_WRITE:
                return
            if what[0] == 'create' and name == 'create':
                self._on_create_write(what[1], what[2])
            elif what[0] == 'remove' and name == 'remove':
                self._on_remove_write(what[1])
            elif what[0] in ('vf', 'vf-pf'):
                self.vf.on_close_write(what, name)

    def _take(self, rel):
        """Read a written attribute and empty it again. Read-only open, so that we
        cause no IN_CLOSE_WRITE ourselves; truncate() only raises IN_MODIFY. A write
        landing between the read and the truncate would be lost: writers here wait
        for the result of a write before the next one, as the kernel makes them."""
        path = self.tree.p(rel)
        try:
            with open(path, 'r', errors='replace') as f:
                text = f.read()
            if text:
                os.truncate(path, 0)
        except FileNotFoundError:
            return ''
        return text

    # ------------------------------------------------------------ create / remove
    def _refuse(self, parent, mtype, value, reason):
        """Record a refused create; returns the errno a writer through the shim gets: the one the
        reason names in parentheses, else EUSERS (the driver counts no instance of that type, as
        mdev_device_create() answers then)."""
        self.refusals.append({'parent': parent, 'type': mtype, 'value': value, 'reason': reason})
        self._say('refused create %r on %s/%s: %s' % (value, parent, mtype, reason))
        self.changed.notify_all()
        return self._refuse_errno(reason)

    def write_create(self, rel, value):
        """A write(2) to a type's create file through the write shim (simvf-preload.c), handled
        inside the system call as Linux 6.1's create_store() does: the device exists when it
        returns 0, else the errno the writer gets. Every write on its own, however close together
        (a file read back later would merge or lose them). The uevents go out through the sender
        thread: the writer may be their listener."""
        head, _, _ = rel.rpartition('/create')
        parent_path, _, type_dirname = head.rpartition('/mdev_supported_types/')
        with self.lock:
            self.handled += 1
            self.changed.notify_all()
            parent = next((p for p in self.host.parents.values() if p.path == parent_path), None)
            if parent is None:
                return self._refuse(parent_path, type_dirname, value, 'no such parent (ENODEV)')
            if len(value) not in (36, 37):
                return self._refuse(parent.name, type_dirname, value, 'bad length (EINVAL)')
            if self._fail_next:
                err = self._fail_next.pop(0)
                return self._refuse(parent.name, type_dirname, value,
                                    'failed on request (%s)' % errno.errorcode[err])
            links = []
            made = self.do_create(parent.name, type_dirname, value, late_links=links)
            late = self.late_type_link
        if made is not None:
            for make in links:  # mdev_create_sysfs_files() after device_add(), before the write returns
                time.sleep(late)
                make()
            self._driver_create_time(parent.name)
            return 0
        with self.lock:
            if self.refusals and self.refusals[-1]['reason'] == 'refused on request (EIO)':
                return 0  # refuse_next(): the driver took the write, the device never comes
            return self._refuse_errno(self.refusals[-1]['reason'])

    def _driver_create_time(self, parent_name):
        """The rest of the driver's create, before write(2) returns: create_delay, and any
        creates_held() block on this parent (bounded by wait_timeout)."""
        if self.create_delay:
            time.sleep(self.create_delay)
        with self.lock:
            gates = [g for p, g in self._create_gates if p in (None, parent_name)]
        for g in gates:
            g.wait(self.wait_timeout)

    @contextlib.contextmanager
    def creates_held(self, parent_name=None):
        """Within the block a create written through the shim on parent_name (any when None) makes
        the device and sends its uevents, but its write(2) returns only at the block's end (a
        driver slow to finish its create)."""
        gate = (parent_name, threading.Event())
        with self.lock:
            self._create_gates.append(gate)
        try:
            yield
        finally:
            with self.lock:
                self._create_gates.remove(gate)
            gate[1].set()

    def _group_held(self, node):
        """Does any process hold the VFIO group node open?"""
        for pid in os.listdir('/proc'):
            if not pid.isdigit():
                continue
            try:
                fds = os.listdir('/proc/%s/fd' % pid)
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink('/proc/%s/fd/%s' % (pid, fd)) == node:
                        return True
                except OSError:
                    pass
        return False

    def _wait_for_holders(self, node):
        """vfio_unregister_group_dev(): wait until nobody holds the group (polled; bounded by
        wait_timeout, after which the remove goes on as if the VM had let go)."""
        deadline = time.monotonic() + self.wait_timeout
        while self._group_held(node) and time.monotonic() < deadline:
            time.sleep(0.02)

    @staticmethod
    def _refuse_errno(reason):
        named = re.search(r'\((E[A-Z]+)\)', reason)
        return getattr(errno, named.group(1), errno.EUSERS) if named else errno.EUSERS

    def _on_create_write(self, parent_name, type_dirname):
        raw = self._take('%s/mdev_supported_types/%s/create' % (
            self.host.parents[parent_name].path, type_dirname))
        if raw == '':
            return
        self.handled += 1
        self.changed.notify_all()
        # create_store() takes 36 or 37 bytes; several writes racing into the file
        # before we read it show up as several whitespace separated UUIDs.
        if len(raw) in (36, 37):
            values = [raw]
        else:
            values = raw.split()
            if not values or any(len(v) != 36 for v in values):
                self._refuse(parent_name, type_dirname, raw, 'bad length (EINVAL)')
                return
        for v in values:
            self.do_create(parent_name, type_dirname, v)

    def do_create(self, parent_name, type_dirname, value, late_links=None):
        """The kernel's create path for one written value. Returns the uuid or None. With
        late_type_link, the links come late_type_link seconds after the uevents: from a timer, or
        from the writer through the shim when it passes late_links (a list, given the function
        that makes them), which calls it before its write returns."""
        with self.lock:
            parent = self.host.parents.get(parent_name)
            if parent is None or not parent.device.present or not parent.registered:
                self._refuse(parent_name, type_dirname, value, 'no such parent (ENODEV)')
                return None
            mtype = parent.types.get(type_dirname)
            if mtype is None:
                self._refuse(parent_name, type_dirname, value, 'no such type (ENOENT)')
                return None
            if not UUID_RE.match(value[:36]):
                self._refuse(parent_name, type_dirname, value, 'not a UUID (EINVAL)')
                return None
            uuid = value[:36].lower()
            if self._refuse_next > 0:
                self._refuse_next -= 1
                self._refuse(parent_name, type_dirname, value, 'refused on request (EIO)')
                return None
            if uuid in self.host.mdevs:
                self._refuse(parent_name, type_dirname, value, 'duplicate UUID (EEXIST)')
                return None
            reason = parent.model.refusal(parent, mtype)
            if reason is not None:
                self._refuse(parent_name, type_dirname, value, reason)
                return None
            m = self.host.add_mdev(uuid, parent_name, type_dirname)
            self.tree.add_mdev(m)
            late = self.late_type_link
            if late:
                type_link = self.tree.type_dir(m.parent, m.mtype) + '/devices/' + m.uuid
                self.tree.unlink(m.path + '/mdev_type')
                self.tree.unlink(type_link)
            self._watch_mdev(m)
            self.tree.update_available([parent.model])
            if self.verbose:
                self._say('created %s (%s on %s)' % (uuid, type_dirname, parent_name))
            self._uevent('add', m.path, 'mdev')
            self._uevent('bind', m.path, 'mdev', [('DRIVER', parent.model.mdev_driver)])
            if late:
                def links(m=m, type_link=type_link):
                    with self.lock:
                        if self.host.mdevs.get(m.uuid) is not m:
                            return  # removed meanwhile: mdev_device_create() would have failed
                        self.tree.link(m.path + '/mdev_type', self.tree.type_dir(m.parent, m.mtype))
                        self.tree.link(type_link, m.path)
                if late_links is not None:
                    late_links.append(links)
                else:
                    timer = threading.Timer(late, links)
                    timer.daemon = True
                    timer.start()
            self.changed.notify_all()
            return uuid

    def _on_remove_write(self, uuid):
        m = self.host.mdevs.get(uuid)
        if m is None:
            return
        raw = self._take(m.path + '/remove')
        if raw == '':
            return
        self.handled += 1
        self.changed.notify_all()
        val = _kstrtoul(raw)
        if val is None:
            self._refuse(m.parent.name, m.mtype.dirname, raw, 'remove: not a number (EINVAL)')
            return
        if val:
            self.do_remove(uuid)

    def write_remove(self, rel, value):
        """A write(2) to an mdev's remove file through the write shim, handled inside the system
        call as remove_store() does: the device is gone (and its instance counted free) when it
        returns 0, else the errno the writer gets."""
        dev_path = rel[:-len('/remove')]
        with self.lock:
            m = next((m for m in self.host.mdevs.values() if m.path == dev_path), None)
            if m is None:
                return errno.ENODEV
            self.handled += 1
            self.changed.notify_all()
            val = _kstrtoul(value)
            if val is None:
                self._refuse(m.parent.name, m.mtype.dirname, value, 'remove: not a number (EINVAL)')
                return errno.EINVAL
            node = os.path.realpath(self.tree.vfio_group_node(m)) if val and self.remove_waits_for_holders else None
        if node is not None:
            self._wait_for_holders(node)
        with self.lock:
            if val:
                self.do_remove(m.uuid)
            return 0

    def do_remove(self, uuid):
        """The kernel's remove path: unbind, sysfs removal, remove uevent."""
        with self.lock:
            m = self.host.mdevs.get(uuid)
            if m is None:
                return False
            self._uevent('unbind', m.path, 'mdev')
            self.tree.remove_mdev(m)
            self.host.remove_mdev(uuid)
            self.tree.update_available([m.parent.model])
            self._uevent('remove', m.path, 'mdev')
            self._usec.pop(m.path, None)
            if self.verbose:
                self._say('removed %s' % uuid)
            self.changed.notify_all()
            return True

    # ------------------------------------------------------------ uevents
    def _make_uevent(self, action, devpath, subsystem, extra=()):
        """Number and record a uevent (under the lock); returns its properties for sending."""
        self._seqnum += 1
        usec = self._usec.setdefault(devpath, monotonic_usec())
        if action == 'remove':
            self._usec.pop(devpath, None)
        props = [('ACTION', action), ('DEVPATH', '/' + devpath), ('SUBSYSTEM', subsystem)]
        props += list(extra)
        props += [('SEQNUM', str(self._seqnum)), ('USEC_INITIALIZED', str(usec))]
        self.events.append((action, '/sys/' + devpath, dict(props)))
        return props

    def _uevent(self, action, devpath, subsystem, extra=()):
        """Number, record and queue a uevent for the sender thread (to whatever sender.send is now)."""
        self._outbox.put((self.sender.send, self._make_uevent(action, devpath, subsystem, extra)))

    def _send_loop(self):
        while True:
            item = self._outbox.get()
            try:
                if item is None:
                    return
                send, props = item
                send(props)
            except Exception as e:  # keep sending, but say it loudly
                self._say('internal error sending a uevent: %r' % e)
            finally:
                self._outbox.task_done()

    def flush_uevents(self):
        """Wait until every uevent queued so far has gone out."""
        self._outbox.join()

    def _device_props(self, dev, with_driver=True):
        return [kv for kv in dev.uevent() if with_driver or kv[0] != 'DRIVER']

    # ------------------------------------------------------------ test API
    def refuse_next(self, n=1):
        """Refuse the next n creates without a word: the write succeeds, the device never comes
        (a driver that never answers; recorded in refusals as EIO)."""
        with self.lock:
            self._refuse_next = n

    @contextlib.contextmanager
    def uevents_held(self):
        """Within the block the kernel makes and removes devices but its uevents stay back (a kernel or
        udevd slow to announce); at its end they go out in order."""
        held = []
        with self.lock:
            send, self.sender.send = self.sender.send, held.append
        try:
            yield held
        finally:
            with self.lock:
                self.sender.send = send
                self._outbox.join()  # what was queued while held is in held now
                for props in held:
                    self._outbox.put((send, props))

    def fail_next(self, err=errno.EIO, n=1):
        """The next n creates written through the shim fail with err, as a driver's error comes
        back from write(2) (a write without the shim is merely refused)."""
        with self.lock:
            self._fail_next += [err] * n

    @_flushing
    def create(self, parent_name, type_dirname, uuid, wait=True, timeout=None):
        """Write uuid to the type's `create` file, as another tool would. With wait,
        returns True once the device exists, False when the write was refused."""
        parent = self.host.parents[parent_name]
        path = self.tree.p('%s/mdev_supported_types/%s/create' % (parent.path, type_dirname))
        with self.lock:
            nref, handled = len(self.refusals), self.handled
        with open(path, 'w') as f:
            f.write(uuid)
        if wait:
            if not self.wait_for(lambda: self.handled > handled, timeout):
                raise TimeoutError('the emulator did not handle the write to ' + path)
            with self.lock:
                return len(self.refusals) == nref and uuid[:36].lower() in self.host.mdevs
        return None

    @_flushing
    def remove(self, uuid, wait=True, timeout=None):
        """Write 1 to the device's `remove` file, as another tool would."""
        m = self.host.mdevs[uuid]
        with open(self.tree.p(m.path + '/remove'), 'w') as f:
            f.write('1')
        if wait:
            if not self.wait_for(lambda: uuid not in self.host.mdevs, timeout):
                raise TimeoutError('the emulator did not remove ' + uuid)
            return True
        return None

    @_flushing
    def parent_unregister(self, parent_name):
        """mdev_unregister_parent(): drop the parent's mdevs, types and class link,
        then `change` MDEV_STATE=unregistered."""
        with self.lock:
            parent = self.host.parents[parent_name]
            for uuid in sorted(parent.mdevs):
                self.do_remove(uuid)
            if parent.registered:
                self.tree.remove_types(parent)
            self._uevent('change', parent.path, parent.device.subsystem,
                         self._device_props(parent.device) + [('MDEV_STATE', 'unregistered')])
            self.changed.notify_all()

    @_flushing
    def parent_register(self, parent_name):
        """mdev_register_parent(): types and class link back, then `change`
        MDEV_STATE=registered."""
        with self.lock:
            parent = self.host.parents[parent_name]
            if not parent.registered:
                self.tree.add_types(parent)
                self._watch_types(parent)
                self.tree.update_available([parent.model])
            self._uevent('change', parent.path, parent.device.subsystem,
                         self._device_props(parent.device) + [('MDEV_STATE', 'registered')])
            self.changed.notify_all()

    def _subtree(self, addr):
        """The device called addr and everything below it (VFs, devices behind it),
        children first."""
        out = []
        for dev in self.host.devices:
            d = dev
            while d is not None:
                if d.name == addr or (getattr(d, 'physfn', None) is not None and
                                      d.physfn.name == addr):
                    out.append(dev)
                    break
                d = getattr(d, 'upstream', None)
        return list(reversed(out))

    @_flushing
    def unplug(self, addr):
        """Hot-unplug a device and everything below it: for each mdev parent its
        driver unregisters (mdevs go, MDEV_STATE=unregistered), then `unbind` and
        `remove` of the device itself."""
        with self.lock:
            devs = self._subtree(addr)
            if not devs:
                raise KeyError(addr)
            for dev in devs:
                if not dev.present:
                    continue
                if dev.name in self.host.parents and self.host.parents[dev.name].registered:
                    self.parent_unregister(dev.name)
                if dev.driver:
                    self._uevent('unbind', dev.path, dev.subsystem,
                                 self._device_props(dev, with_driver=False))
                self.tree.remove_device(dev)
                self._uevent('remove', dev.path, dev.subsystem,
                             self._device_props(dev, with_driver=False))
                self._usec.pop(dev.path, None)
            self.changed.notify_all()

    @_flushing
    def plug(self, addr):
        """Undo unplug(): the devices come back (add, bind) and parents register."""
        with self.lock:
            devs = list(reversed(self._subtree(addr)))
            for dev in devs:
                if dev.present:
                    continue
                self.tree.add_device(dev)
                self._uevent('add', dev.path, dev.subsystem, self._device_props(dev, False))
                if dev.driver:
                    self._uevent('bind', dev.path, dev.subsystem, self._device_props(dev))
                parent = self.host.parents.get(dev.name)
                if parent is not None:
                    parent.registered = False
                    self.parent_register(dev.name)
            self.changed.notify_all()

    @_flushing
    def reboot(self):
        """The host restarts (stop the daemon first): every mdev and every VF of a GPU in VF mode is
        gone, with mixed-size mode and GPU instances; definitions and the daemon's state directory
        stay. No uevents (nobody listens during a reboot). A16 VFs (mdev parents) stay: see NOTES.md."""
        with self.lock:
            for uuid in sorted(self.host.mdevs):
                m = self.host.mdevs[uuid]
                self.tree.remove_mdev(m)
                self.host.remove_mdev(uuid)
            self.tree.update_available()
            self.vf.reboot()
            self.changed.notify_all()

    def wait_for(self, predicate, timeout=None):
        """Wait until predicate() (evaluated under the lock) is true, at most timeout seconds
        (default: wait_timeout)."""
        deadline = time.monotonic() + (self.wait_timeout if timeout is None else timeout)
        with self.changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
            return True

    def iommu_group(self, uuid):
        """The IOMMU group number of a running mediated device."""
        with self.lock:
            return self.host.mdevs[uuid].iommu_group

    def vfio_group_path(self, uuid):
        """The real path of a running device's /dev/vfio/<group> in the testbed: open it (in
        any process) to play a VM that holds the device; it goes away with the device."""
        with self.lock:
            return self.tree.vfio_group_node(self.host.mdevs[uuid])

    def available(self, parent_name, type_dirname):
        """What the type's available_instances file reads now (as an int)."""
        parent = self.host.parents[parent_name]
        with open(self.tree.p(self.tree.type_dir(parent, parent.types[type_dirname]) +
                              '/available_instances')) as f:
            return int(f.read())
