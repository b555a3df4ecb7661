# SPDX-License-Identifier: LGPL-2.1-or-later
"""The emulator's NVIDIA vGPU 17+ part: plays the nvidia driver on GPUs in vendor-specific VFIO
mode (nvidia_vf.py holds the rules), SR-IOV enabling (sriov_numvfs, the fake sriov-manage), a
reboot, and the state the fake libnvidia-ml.so.1 reports.

Writes reach it two ways:
- synchronously, through the control socket <root>/simvf.sock: the write shim
  (libvgpud-simvf.so, preloaded before umockdev's) turns a write(2) to a VF's
  nvidia/current_vgpu_type or a PF's sriov_numvfs into a request and returns the driver's answer
  as write(2)'s result (EPERM, EIO, ... as on a real host);
- asynchronously, through inotify, for a writer without the shim (a test's Python, a shell): the
  file is read back, the write applied, its error only logged and kept in `refusals`.
The fake NVML and the fake sriov-manage use the same socket. Protocol (one request line, the
reply, then the server closes): see NOTES.md.
"""

import contextlib
import errno
import json
import os
import socket
import threading
import time

import nvidia_vf

SOCKET_NAME = 'simvf.sock'

# NVML return codes (nvml.h)
NVML_SUCCESS = 0
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_IN_USE = 19
NVML_ERROR_INSUFFICIENT_RESOURCES = 23
NVML_GPU_INSTANCE_PROFILE_COUNT = 0x12
INVALID_GPU_INSTANCE_PROFILE_ID = 0xffffffff

# what nvmlDeviceGetName says, by PCI device id
NVML_NAMES = {0x1eb8: 'Tesla T4', 0x25b6: 'NVIDIA A16', 0x26b9: 'NVIDIA L40S',
              0x2bb5: 'NVIDIA RTX PRO 6000 Blackwell Server Edition'}


def kstrtol10(text):
    """Linux kstrtol(buf, 10): one optional trailing newline, optional sign; None = EINVAL."""
    if text.endswith('\n'):
        text = text[:-1]
    body = text[1:] if text[:1] in '+-' else text
    if not body.isdigit() or not body.isascii():
        return None
    return int(text)


class VfDriver:
    """Attached to an Emulator as emulator.vf; shares its lock, tree and uevent sender."""

    def __init__(self, emu):
        self.emu = emu
        self.host = emu.host
        self.tree = emu.tree
        self.sriov_delay = 0.2       # seconds sriov-manage -e takes per GPU
        self._sriov_failures = {}    # PF address or 'ALL' -> failures still to give
        self.numvfs_write_errno = 0  # e.g. errno.EPERM: the driver refuses sriov_numvfs writes
        self.nvml_init_error = 0     # NVML return code for nvmlInit (9: driver not loaded)
        self.create_errnos = []      # errnos the next type writes get, one each (fail_next_create)
        self.sriov_manage_calls = []  # argv lists, in call order
        self.writes = []              # (path relative to sys/, value, errno) of every handled write
        self.nvml_calls = []          # request lines
        self._type_gates = []         # (VF address or None, zero, threading.Event): type_writes_held()
        self.type_writes_held_now = 0  # writers inside such a block's write now
        self.path = os.path.join(self.tree.root, SOCKET_NAME)
        self._sock = None
        self._thread = None

    # ------------------------------------------------------------ server
    def start(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self._sock.bind(self.path)
        self._sock.listen(64)
        self._thread = threading.Thread(target=self._serve, name='simvf', daemon=True)
        self._thread.start()

    def stop(self):
        if self._sock is None:
            return
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._sock = None
        self._thread.join(5)
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def _serve(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        with conn:
            data = b''
            while not data.endswith(b'\n'):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            line = data.decode(errors='replace').rstrip('\n')
            try:
                reply, after = self.request(line)
            except Exception as e:  # say it loudly, answer something the client fails on
                self.emu._say('simvf: internal error on %r: %r' % (line, e))
                reply, after = '%d\n' % errno.EIO, None
            try:
                conn.sendall(reply.encode())
            except OSError:
                pass
        if after:
            after()

    def request(self, line):
        """(reply text, callable to run after the reply went out or None)."""
        cmd, _, rest = line.partition(' ')
        if cmd == 'write':
            path, _, hexval = rest.rpartition(' ')
            value = bytes.fromhex(hexval).decode(errors='replace')
            rel = self._rel(path)
            if rel.endswith('/create') and '/mdev_supported_types/' in rel:
                return '%d\n' % self.emu.write_create(rel, value), None  # its uevents are queued
            if rel.endswith('/remove'):
                return '%d\n' % self.emu.write_remove(rel, value), None  # an mdev's (the shim's rule)
            err, events = self.write(path, value)
            if rel.endswith('/nvidia/current_vgpu_type'):
                self._driver_type_time(rel, kstrtol10(value) == 0)
            return '%d\n' % err, (lambda: self._send(events)) if events else None
        if cmd == 'sriov-manage':
            rc, out, err, events = self.sriov_manage(json.loads(rest))
            return json.dumps({'rc': rc, 'out': out, 'err': err}) + '\n', \
                (lambda: self._send(events)) if events else None
        if cmd == 'nvml':
            return self.nvml(rest.split(' ')), None
        return '%d\n' % errno.EINVAL, None

    def _driver_type_time(self, rel, zero):
        """The rest of the driver's work in a write to current_vgpu_type, before write(2) returns
        (NVIDIA's sets the vGPU up there, or tears it down: zero): any type_writes_held() block on
        this VF and of that kind (bounded by wait_timeout)."""
        _gpu, vf = self._vf_of_path(rel)
        with self.emu.lock:
            gates = [g for a, z, g in self._type_gates if vf is not None and a in (None, vf.addr) and z == zero]
            self.type_writes_held_now += bool(gates)
        for g in gates:
            g.wait(self.emu.wait_timeout)
        with self.emu.lock:
            self.type_writes_held_now -= bool(gates)

    @contextlib.contextmanager
    def type_writes_held(self, vf_addr=None, zero=False):
        """Within the block a write of a vGPU type (zero: of 0) to vf_addr's current_vgpu_type (any
        VF's when None) through the shim makes (destroys) the vGPU, the file reads it, but its
        write(2) returns only at the block's end (a driver slow to set the vGPU up, or tear it down)."""
        gate = (vf_addr, zero, threading.Event())
        with self.emu.lock:
            self._type_gates.append(gate)
        try:
            yield
        finally:
            with self.emu.lock:
                self._type_gates.remove(gate)
            gate[2].set()

    def _send(self, events):
        for props in events:
            self.emu.sender.send(props)

    def _event(self, events, action, dev, with_driver):
        """Record a uevent of a PCI device (to be sent once the writer has its answer)."""
        props = [kv for kv in dev.uevent() if with_driver or kv[0] != 'DRIVER']
        events.append(self.emu._make_uevent(action, dev.path, 'pci', props))

    # ------------------------------------------------------------ inotify path
    def watch(self):
        """inotify watches on the VF nvidia/ directories and the VF-mode PFs."""
        for gpu in self.host.vf_gpus.values():
            self.emu._add_watch(gpu.pf.path, ('vf-pf', gpu.name))
            for vf in gpu.vfs:
                if vf.present:
                    self.emu._add_watch(vf.path + '/nvidia', ('vf', vf.addr))

    def on_close_write(self, what, name):
        """A writer without the shim: apply what the file now holds, unless it is what we wrote."""
        if what[0] == 'vf' and name == 'current_vgpu_type':
            gpu = self.host.vf_gpu_of(what[1])
            vf = gpu.vf(what[1]) if gpu else None
            if vf is None:
                return
            rel = vf.path + '/nvidia/current_vgpu_type'
        elif what[0] == 'vf-pf' and name == 'sriov_numvfs':
            gpu = self.host.vf_gpus[what[1]]
            rel = gpu.pf.path + '/sriov_numvfs'
        else:
            return
        try:
            with open(self.tree.p(rel)) as f:
                text = f.read()
        except FileNotFoundError:
            return
        if what[0] == 'vf':
            known = self.tree._vf_cache.get(what[1], {}).get('current_vgpu_type')
        else:
            known = '%d\n' % gpu.numvfs
        if text == known or text == '':
            return
        err, events = self.write(rel, text)
        self._send(events)
        if err:
            self.emu._say('write of %r to %s failed: %s' % (text, rel, os.strerror(err)))

    # ------------------------------------------------------------ writes
    def write(self, path, value):
        """Apply a write of value to path (real path in the testbed, /sys/..., or relative to
        sys/). Returns (errno, uevents to send after the answer)."""
        rel = self._rel(path)
        events = []
        with self.emu.lock:
            if rel.endswith('/nvidia/current_vgpu_type'):
                err = self._write_vgpu_type(rel, value)
            elif rel.endswith('/sriov_numvfs'):
                err = self._write_numvfs(rel, value, events)
            else:
                err = errno.EACCES
            self.writes.append((rel, value, err))
            if err:
                self.emu.refusals.append({'parent': rel, 'type': None, 'value': value,
                                          'reason': os.strerror(err)})
            self.emu.handled += 1
            self.emu.changed.notify_all()
        return err, events

    def _rel(self, path):
        for prefix in (self.tree.sys + '/', '/sys/'):
            if path.startswith(prefix):
                return path[len(prefix):]
        return path

    def _vf_of_path(self, rel):
        vf_path = rel.rsplit('/nvidia/', 1)[0]
        for gpu in self.host.vf_gpus.values():
            for vf in gpu.vfs:
                if vf.present and (vf.path == vf_path or 'bus/pci/devices/' + vf.addr == vf_path):
                    return gpu, vf
        return None, None

    def _write_vgpu_type(self, rel, value):
        gpu, vf = self._vf_of_path(rel)
        if vf is None:
            return errno.ENOENT
        type_id = kstrtol10(value)
        if type_id is None:
            return errno.EINVAL
        if type_id == 0:
            err = gpu.destroy(vf.addr)
        elif self.create_errnos and vf.addr not in gpu.vgpus:
            err = self.create_errnos.pop(0)
        else:
            err = gpu.create(vf.addr, type_id)
        if not err:
            self.tree.update_vf_gpu(gpu)
            if self.emu.verbose:
                self.emu._say('%s: current_vgpu_type %d' % (vf.addr, type_id))
        else:
            # the file still reads the VF's state (a writer without the shim put its value there)
            self.tree.update_vf(gpu, vf)
            self._rewrite(vf.path + '/nvidia/current_vgpu_type',
                          self.tree._vf_cache[vf.addr]['current_vgpu_type'])
        return err

    def _rewrite(self, rel, text):
        with open(self.tree.p(rel)) as f:
            if f.read() == text:
                return
        with open(self.tree.p(rel), 'w') as f:
            f.write(text)

    def _gpu_of_pf_path(self, rel):
        pf_path = rel.rsplit('/', 1)[0]
        for gpu in self.host.vf_gpus.values():
            if gpu.pf.path == pf_path or 'bus/pci/devices/' + gpu.pf.addr == pf_path:
                return gpu
        return None

    def _write_numvfs(self, rel, value, events):
        """drivers/pci/iov.c sriov_numvfs_store(): kstrtou16, ERANGE over the total, a no-op for the
        current value, EBUSY from one non-zero count to another."""
        gpu = self._gpu_of_pf_path(rel)
        if gpu is None:
            return errno.EACCES
        n = kstrtol10(value) if not value.strip().lower().startswith('0x') else int(value.strip(), 16)
        if n is None or n < 0 or n > 0xffff:
            return errno.EINVAL
        if n > gpu.board.total_vfs:
            return errno.ERANGE
        if n == gpu.numvfs:
            return 0
        if self.numvfs_write_errno:
            self._rewrite(gpu.pf.path + '/sriov_numvfs', '%d\n' % gpu.numvfs)
            return self.numvfs_write_errno
        if n and gpu.numvfs:
            return errno.EBUSY
        if n == 0:
            if gpu.vgpus:
                return errno.EBUSY  # the nvidia driver keeps VFs that hold vGPUs (inference)
            self.disable(gpu, events)
        else:
            self.enable(gpu, n, events)
        return 0

    # ------------------------------------------------------------ SR-IOV
    def enable(self, gpu, n, events):
        """VFs 0..n-1 appear (add, then bind to nvidia, which creates nvidia/); under the lock."""
        gpu.wipe()
        gpu.numvfs = n
        for vf in gpu.vfs[:n]:
            self.tree.add_device(vf)
            self.emu._add_watch(vf.path + '/nvidia', ('vf', vf.addr))
            self._event(events, 'add', vf, False)
            self._event(events, 'bind', vf, True)
        self.tree.set_numvfs(gpu.pf)
        self.tree.update_vf_gpu(gpu)

    def disable(self, gpu, events):
        """Every VF goes (unbind, remove), mixed-size mode and GPU instances with them."""
        present = [vf for vf in gpu.vfs if vf.present]
        gpu.wipe()
        gpu.numvfs = 0
        for vf in reversed(present):
            if events is not None:
                self._event(events, 'unbind', vf, False)
            self.tree.remove_device(vf)
            if events is not None:
                self._event(events, 'remove', vf, False)
        self.tree.set_numvfs(gpu.pf)

    def sriov_fail_next(self, n=1, pf='ALL'):
        """The next n `sriov-manage -e` runs for pf (or any, 'ALL') fail with "Cannot obtain
        unbindLock" and change nothing."""
        with self.emu.lock:
            self._sriov_failures[pf] = n

    def _take_failure(self, addr):
        for key in (addr, 'ALL'):
            if self._sriov_failures.get(key, 0) > 0:
                self._sriov_failures[key] -= 1
                return True
        return False

    def sriov_manage(self, argv):
        """The fake /usr/lib/nvidia/sriov-manage: -e|-d <ssss:bb:dd.f|ALL>. Returns (exit status,
        stdout, stderr, uevents). -e enables every VF of the GPU; on a GPU whose VFs are enabled it
        rebinds them (wiping mixed-size mode and GPU instances) unless vGPUs exist, then it leaves
        them alone. Takes sriov_delay seconds per GPU."""
        with self.emu.lock:
            self.sriov_manage_calls.append(list(argv))
        if len(argv) != 2 or argv[0] not in ('-e', '-d'):
            return 2, '', 'Usage: sriov-manage <-e|-d> <ssss:bb:dd.f|ALL>\n', []
        if argv[1] == 'ALL':
            gpus = list(self.host.vf_gpus.values())
        else:
            gpu = self.host.vf_gpus.get(argv[1].lower())
            if gpu is None:
                return 1, '', 'Error: %s is not an NVIDIA GPU with SR-IOV\n' % argv[1], []
            gpus = [gpu]
        out, err, events, rc = '', '', [], 0
        for gpu in gpus:
            time.sleep(self.sriov_delay)
            with self.emu.lock:
                if argv[0] == '-e':
                    out += 'Enabling VFs on %s\n' % gpu.name
                    if self._take_failure(gpu.name):
                        err += 'Cannot obtain unbindLock for %s\n' % gpu.name
                        rc = 1
                        continue
                    if gpu.numvfs and gpu.vgpus:
                        continue
                    if gpu.numvfs:
                        self.disable(gpu, events)
                    self.enable(gpu, gpu.board.total_vfs, events)
                else:
                    out += 'Disabling VFs on %s\n' % gpu.name
                    if gpu.vgpus:
                        err += 'Cannot disable VFs on %s: vGPUs exist\n' % gpu.name
                        rc = 1
                        continue
                    self.disable(gpu, events)
                self.emu.changed.notify_all()
        return rc, out, err, events

    def reboot(self):
        """The machine restarts: every VF is gone (SR-IOV off), with the vGPUs, GPU instances and
        mixed-size mode. No uevents (nobody is listening). mdevs go too (emulator.reboot)."""
        with self.emu.lock:
            for gpu in self.host.vf_gpus.values():
                self.disable(gpu, None)

    def driver_rebind(self, pf):
        """The nvidia driver unbound from a PF and bound again (a driver reload, a GPU reset): its
        VFs go with the driver (unbind and remove each; the driver disables SR-IOV on its way out,
        inference: the VFs are the nvidia driver's, as `sriov-manage -d` takes them), then the PF's
        own unbind and bind. The PF is back without VFs, as after a reboot, until someone enables
        them again. Refused (False) while the GPU holds vGPUs."""
        gpu = self.host.vf_gpus[pf]
        events = []
        with self.emu.lock:
            if gpu.vgpus:
                return False
            self.disable(gpu, events)
            self._event(events, 'unbind', gpu.pf, False)
            self._event(events, 'bind', gpu.pf, True)
            self.emu.changed.notify_all()
        self._send(events)
        return True

    # ------------------------------------------------------------ test API
    def set_vgpu_type(self, vf_addr, type_id):
        """Write type_id (0: destroy) to a VF's current_vgpu_type as another tool would (qemu-server,
        an admin), synchronously and without uevents; returns the driver's errno (0: done)."""
        gpu = self.host.vf_gpu_of(vf_addr)
        vf = gpu.vf(vf_addr) if gpu else None
        if vf is None:
            raise KeyError(vf_addr)
        return self.write(vf.path + '/nvidia/current_vgpu_type', '%d\n' % type_id)[0]

    def vgpu_type(self, vf_addr):
        """The type id a VF holds now, 0 for none."""
        with self.emu.lock:
            gpu = self.host.vf_gpu_of(vf_addr)
            g = gpu.vgpus.get(vf_addr) if gpu else None
            return g.vtype.type_id if g else 0

    def fail_next_create(self, err):
        """The next write of a type to an empty VF is refused with err (e.g. errno.EIO, as the driver
        answers a MIG-backed type whose GPU instance went away meanwhile), nothing changed."""
        with self.emu.lock:
            self.create_errnos.append(err)

    def set_heterogeneous(self, pf, capable):
        """Give the GPU the mixed-size capability or take it away (as an H100 NVL or P40 lacks it:
        nvidia-smi -q "Heterogeneous Time-Slice Sizes : Not Supported")."""
        with self.emu.lock:
            self.host.vf_gpus[pf].heterogeneous = bool(capable)

    def set_mixed_size(self, pf, on):
        """nvidia-smi vgpu -shm 1|0 -i <gpu>: 'ok', 'in-use' or 'not-supported'."""
        with self.emu.lock:
            gpu = self.host.vf_gpus[pf]
            r = gpu.set_mixed_size(on)
            self.tree.update_vf_gpu(gpu)
            return r

    def create_gpu_instance(self, pf, profile):
        """nvidia-smi mig -cgi <profile> on a GPU in MIG mode: the GPU instance id, None when no room."""
        with self.emu.lock:
            gpu = self.host.vf_gpus[pf]
            gi = gpu.create_gpu_instance(profile)
            self.tree.update_vf_gpu(gpu)
            return gi.gi_id if gi else None

    def destroy_gpu_instance(self, pf, gi_id):
        """nvidia-smi mig -dgi -gi <id>: 'ok', 'in-use' or 'not-found'."""
        with self.emu.lock:
            gpu = self.host.vf_gpus[pf]
            r = gpu.destroy_gpu_instance(gi_id)
            self.tree.update_vf_gpu(gpu)
            return r

    def gpu_instances(self, pf):
        """[(GPU instance id, profile name, [VFs whose vGPU sits on it])] of a GPU, by id."""
        with self.emu.lock:
            gpu = self.host.vf_gpus[pf]
            return sorted((gi.gi_id, gi.profile, sorted(a for a, g in gpu.vgpus.items() if g.gpu_instance is gi))
                          for gi in gpu.gpu_instances)

    def vfio_group_path(self, vf_addr):
        """The real path of a VF's /dev/vfio/<group>: open it to play a VM that holds the VF."""
        gpu = self.host.vf_gpu_of(vf_addr)
        vf = gpu.vf(vf_addr) if gpu else None
        if vf is None:
            raise KeyError(vf_addr)
        return self.tree.vf_group_node(vf)

    # ------------------------------------------------------------ NVML
    def _nvml_devices(self):
        """The GPUs NVML enumerates: every present NVIDIA PF bound to nvidia (VFs are not GPUs to
        NVML), in PCI address order."""
        devs = [d for d in self.host.devices
                if getattr(d, 'vendor', None) == 0x10de and d.physfn is None and d.present
                and d.driver == 'nvidia']
        return sorted(devs, key=lambda d: d.addr)

    def _nvml_device(self, bus_id):
        want = bus_id.lower()
        if len(want.split(':')[0]) == 8:
            want = want[4:]
        for d in self._nvml_devices():
            if d.addr == want:
                return d
        return None

    def _mdev_types(self, dev):
        """(parent, MdevType) pairs of a classic mdev GPU: its own types or its VFs'."""
        out = []
        for name in [dev.addr] + [vf.addr for vf in dev.vfs]:
            parent = self.host.parents.get(name)
            if parent is not None:
                out += [(parent, t) for t in parent.types.values()]
        return out

    def _all_type_rows(self):
        """{type id: (name, framebuffer MiB, max instances, GPU instance profile id)} of every
        GPU model on the host."""
        rows = {}
        for gpu in self.host.vf_gpus.values():
            for t in gpu.types.values():
                gi = nvidia_vf.GI_PROFILES[t.gi_profile][2] if t.gi_profile else INVALID_GPU_INSTANCE_PROFILE_ID
                rows[t.type_id] = (t.name, t.framebuffer, t.max_instance, gi)
        for parent in self.host.parents.values():
            for t in parent.types.values():
                if t.dirname.startswith('nvidia-') and 'framebuffer' in t.params:
                    rows[int(t.dirname[7:])] = (t.name, t.params['framebuffer'],
                                                t.params.get('max_instance', 0), 0xffffffff)
        return rows

    def nvml(self, args):
        """One NVML request: reply '<nvml return code>\\n' then data lines."""
        with self.emu.lock:
            self.nvml_calls.append(' '.join(args))
            if args[0] == 'init':
                return '%d\n' % self.nvml_init_error
            if args[0] == 'driver':
                return '0\n%s\n' % nvidia_vf.DRIVER_VERSION
            if args[0] == 'devices':
                return '0\n' + ''.join('%s\t%s\n' % (d.addr, NVML_NAMES.get(d.device, 'NVIDIA GPU'))
                                       for d in self._nvml_devices())
            if args[0] == 'type' and len(args) == 2:
                row = self._all_type_rows().get(int(args[1]))
                if row is None:
                    return '%d\n' % NVML_ERROR_INVALID_ARGUMENT
                return '0\n%s\n%d\n%d\n%d\n' % (row[0], row[1] * 1024 * 1024, row[2], row[3])
            if len(args) < 2:
                return '%d\n' % NVML_ERROR_INVALID_ARGUMENT
            dev = self._nvml_device(args[1])
            if dev is None:
                return '%d\n' % NVML_ERROR_NOT_FOUND
            gpu = self.host.vf_gpus.get(dev.addr)
            return self._nvml_device_call(args, dev, gpu)

    def _nvml_device_call(self, args, dev, gpu):
        op = args[0]
        if op == 'cap' and len(args) == 3:
            # nvmlDeviceVgpuCapability_t: 2 = HETEROGENEOUS_TIMESLICE_SIZES, the mixed-size mode
            if args[2] != '2':
                return '%d\n' % NVML_ERROR_NOT_SUPPORTED
            if gpu is not None:
                return '0\n%d\n' % int(gpu.heterogeneous)
            models = {p.model for p, _ in self._mdev_types(dev)}
            return '0\n%d\n' % int(any(getattr(m, 'mixed_size', False) for m in models))
        if op == 'hetero-get':
            if gpu is not None:
                if not gpu.heterogeneous:
                    return '%d\n' % NVML_ERROR_NOT_SUPPORTED
                return '0\n%d\n' % int(gpu.mixed_size)
            models = {p.model for p, _ in self._mdev_types(dev)}
            return '0\n%d\n' % int(any(getattr(m, 'mixed_size', False) for m in models))
        if op == 'hetero-set' and len(args) == 3:
            if gpu is None:
                return '%d\n' % NVML_ERROR_NOT_SUPPORTED
            r = gpu.set_mixed_size(args[2] == '1')
            if r == 'ok':
                self.tree.update_vf_gpu(gpu)
            return '%d\n' % {'ok': NVML_SUCCESS, 'in-use': NVML_ERROR_IN_USE,
                             'not-supported': NVML_ERROR_NOT_SUPPORTED}[r]
        if op in ('supported', 'creatable'):
            if gpu is not None:
                types = gpu.types.values() if op == 'supported' else gpu.gpu_creatable()
                ids = sorted(t.type_id for t in types)
            else:
                ids = sorted({int(t.dirname[7:]) for p, t in self._mdev_types(dev)
                              if t.dirname.startswith('nvidia-') and
                              (op == 'supported' or p.model.available(p, t) > 0)})
            return '0\n' + ''.join('%d\n' % i for i in ids)
        if op.startswith('mig-') or op.startswith('gi-'):
            return self._nvml_mig_call(args, gpu)
        if op == 'max-instances' and len(args) == 3:
            row = self._all_type_rows().get(int(args[2]))
            return '0\n%d\n' % row[2] if row else '%d\n' % NVML_ERROR_INVALID_ARGUMENT
        return '%d\n' % NVML_ERROR_INVALID_ARGUMENT

    def _nvml_mig_call(self, args, gpu):
        """MIG: the mode, GPU instance profiles, and GPU instances made and destroyed through NVML.
        Only the VF-mode GPUs here have MIG (the T4 and A16 do not: NOT_SUPPORTED)."""
        op, rest = args[0], [int(a) for a in args[2:] if a.isdigit()]
        if gpu is None or not any(t.gi_profile for t in gpu.types.values()):
            return '%d\n' % NVML_ERROR_NOT_SUPPORTED
        if op == 'mig-mode':
            return '0\n%d\n%d\n' % (int(gpu.mig), int(gpu.mig))
        if len(rest) != 1:
            return '%d\n' % NVML_ERROR_INVALID_ARGUMENT
        if not gpu.mig:
            return '%d\n' % NVML_ERROR_NOT_SUPPORTED  # "doesn't have MIG mode enabled"
        arg = rest[0]
        if op == 'gi-profile':  # by NVML_GPU_INSTANCE_PROFILE_* index
            if arg >= NVML_GPU_INSTANCE_PROFILE_COUNT:
                return '%d\n' % NVML_ERROR_INVALID_ARGUMENT
            for name, (slices, _, pid, index, mib) in nvidia_vf.GI_PROFILES.items():
                if index == arg:
                    return '0\n%d\n%d\n%d\n%d\n' % (pid, slices, nvidia_vf.GI_SLICES // slices, mib)
            return '%d\n' % NVML_ERROR_NOT_SUPPORTED
        if op == 'gi-info' or op == 'gi-destroy':
            gi = next((g for g in gpu.gpu_instances if g.gi_id == arg), None)
            if gi is None:
                return '%d\n' % (NVML_ERROR_NOT_FOUND if op == 'gi-info' else NVML_ERROR_INVALID_ARGUMENT)
            if op == 'gi-info':
                return '0\n%d %d %d %d\n' % (gi.gi_id, gi.profile_id, gi.start, gi.slices)
            r = gpu.destroy_gpu_instance(arg)
            if r == 'ok':
                self.tree.update_vf_gpu(gpu)
            return '%d\n' % (NVML_SUCCESS if r == 'ok' else NVML_ERROR_IN_USE)
        profile = nvidia_vf.gi_profile_by_id(arg)
        if profile is None:
            return '%d\n' % NVML_ERROR_INVALID_ARGUMENT
        if op == 'gi-remaining':
            return '0\n%d\n' % gpu.gi_remaining(profile)
        if op == 'gi-list':
            return '0\n' + ''.join('%d %d %d %d\n' % (g.gi_id, g.profile_id, g.start, g.slices)
                                   for g in gpu.gpu_instances if g.profile == profile)
        if op == 'gi-create':
            gi = gpu.create_gpu_instance(profile)
            if gi is None:
                return '%d\n' % NVML_ERROR_INSUFFICIENT_RESOURCES
            self.tree.update_vf_gpu(gpu)
            return '0\n%d\n' % gi.gi_id
        return '%d\n' % NVML_ERROR_INVALID_ARGUMENT
