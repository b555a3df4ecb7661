# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write a hosts.Host as a sysfs-like tree under a root directory:
<root>/sys/... (devices, bus/pci, bus/mdev, class/mdev_bus, kernel/iommu_groups),
<root>/dev (vfio/vfio and one vfio/<group> per mediated device) and <root>/etc/mdevctl.d/
(definitions, scripts.d/{callouts,notifiers}).

The layout follows Linux 6.1 (drivers/vfio/mdev/mdev_sysfs.c, drivers/base) and is
read the same way by libudev under the umockdev preload and by mdevctl with the
tree bind-mounted over /sys. All paths in this module are relative to <root>/sys
unless they say otherwise; symlinks are relative, as in sysfs.
"""

import os
import shutil
import tempfile


def sim_tmpdir():
    """Where to put simulated trees: $VGPUD_SIM_TMPDIR, else /dev/shm (tmpfs: writing
    the a16 host's ~7,000 files on a loaded disk takes seconds), else the default."""
    d = os.environ.get('VGPUD_SIM_TMPDIR')
    if d:
        return d
    if os.path.isdir('/dev/shm') and os.access('/dev/shm', os.W_OK | os.X_OK):
        return '/dev/shm'
    return None


def make_root(prefix='vgpud-sim.'):
    return tempfile.mkdtemp(prefix=prefix, dir=sim_tmpdir())


class Tree:
    """A written tree. `root` holds sys/, dev/ and etc/mdevctl.d/."""

    def __init__(self, root, host):
        self.root = os.path.abspath(root)
        self.sys = os.path.join(self.root, 'sys')
        self.dev = os.path.join(self.root, 'dev')
        self.definitions_dir = os.path.join(self.root, 'etc', 'mdevctl.d')
        self.host = host
        self._avail_cache = {}
        self._vf_cache = {}
        self._pci_groups = {}

    # ------------------------------------------------------------ primitives
    def p(self, rel):
        return os.path.join(self.sys, rel)

    def write(self, rel, content, mode=0o644):
        path = self.p(rel)
        with open(path, 'w') as f:
            f.write(content)
        if mode != 0o644:
            os.chmod(path, mode)

    def mkdir(self, rel):
        os.makedirs(self.p(rel), exist_ok=True)

    def link(self, rel, target_rel):
        """Symlink sys/rel -> sys/target_rel, written relative like sysfs does."""
        path = self.p(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        target = os.path.relpath(target_rel, os.path.dirname(rel))
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink(target, path)

    def unlink(self, rel):
        try:
            os.unlink(self.p(rel))
        except FileNotFoundError:
            pass

    def rmtree(self, rel):
        shutil.rmtree(self.p(rel), ignore_errors=True)

    # ------------------------------------------------------------ whole tree
    def write_all(self):
        os.makedirs(self.sys, exist_ok=True)
        os.makedirs(os.path.join(self.dev, 'vfio'), exist_ok=True)
        # the container node (a character device on a real host; a plain file here)
        with open(os.path.join(self.dev, 'vfio', 'vfio'), 'w'):
            pass
        for d in ('devices/pci0000:00', 'devices/virtual', 'bus/pci/devices', 'bus/pci/drivers',
                  'bus/mdev/devices', 'bus/mdev/drivers', 'class/mdev_bus', 'kernel/iommu_groups'):
            self.mkdir(d)
        self.write('devices/pci0000:00/uevent', '')
        self.write('bus/mdev/drivers_autoprobe', '1\n')
        self.write('bus/pci/drivers_autoprobe', '1\n')
        for dev in self.host.devices:
            if dev.present:
                self.add_device(dev)
        for parent in self.host.parents.values():
            if parent.registered:
                self.add_types(parent)
        for m in self.host.mdevs.values():
            self.add_mdev(m)
        self.update_available()
        self.write_definitions()

    def write_definitions(self):
        for d in ('scripts.d/callouts', 'scripts.d/notifiers'):
            os.makedirs(os.path.join(self.definitions_dir, d), exist_ok=True)
        for defn in self.host.definitions:
            pdir = os.path.join(self.definitions_dir, defn.parent)
            os.makedirs(pdir, exist_ok=True)
            with open(os.path.join(pdir, defn.filename), 'w') as f:
                f.write(defn.text)

    # ------------------------------------------------------------ devices
    def add_device(self, dev):
        path = dev.path
        self.mkdir(path)
        self.write(path + '/uevent', ''.join('%s=%s\n' % kv for kv in dev.uevent()))
        if dev.subsystem == 'pci':
            self._add_pci(dev)
        else:
            self.link(path + '/subsystem', 'class/' + dev.cls)
            self.link('class/%s/%s' % (dev.cls, dev.name), path)
        dev.present = True

    def _add_pci(self, dev):
        path = dev.path
        for attr, val in (('vendor', '0x%04x' % dev.vendor), ('device', '0x%04x' % dev.device),
                          ('subsystem_vendor', '0x%04x' % dev.subsys_vendor),
                          ('subsystem_device', '0x%04x' % dev.subsys_device),
                          ('class', '0x%06x' % dev.pci_class), ('revision', '0x%02x' % dev.revision),
                          ('numa_node', str(dev.numa_node)), ('enable', '1'),
                          ('current_link_speed', '16.0 GT/s PCIe'), ('current_link_width', '16')):
            self.write('%s/%s' % (path, attr), val + '\n')
        self.write(path + '/remove', '', 0o200 if os.geteuid() == 0 else 0o644)
        self.link(path + '/subsystem', 'bus/pci')
        self.link('bus/pci/devices/' + dev.addr, path)
        if dev.driver:
            self.mkdir('bus/pci/drivers/' + dev.driver)
            self.link(path + '/driver', 'bus/pci/drivers/' + dev.driver)
            self.link('bus/pci/drivers/%s/%s' % (dev.driver, dev.addr), path)
        group = self._pci_groups.setdefault(dev.addr, len(self._pci_groups) + 1)
        self.link('kernel/iommu_groups/%d/devices/%s' % (group, dev.addr), path)
        self.link(path + '/iommu_group', 'kernel/iommu_groups/%d' % group)
        if dev.vfs:
            self._add_sriov(dev)
        if dev.physfn is not None:
            self.link(path + '/physfn', dev.physfn.path)
        gpu = self.host.vf_gpu_of(dev.addr)
        if gpu is not None and dev.physfn is not None:
            self._add_vf_nvidia(gpu, dev)

    def _add_sriov(self, dev):
        """A PF's SR-IOV attributes and its virtfnN links (only the VFs that are present)."""
        path = dev.path
        present = [vf for vf in dev.vfs if vf.present]
        gpu = self.host.vf_gpu_of(dev.addr)
        self.write(path + '/sriov_totalvfs', '%d\n' % (dev.total_vfs or len(dev.vfs)))
        self.write(path + '/sriov_numvfs', '%d\n' % len(present))
        if gpu is not None:
            self.write(path + '/sriov_offset', '%d\n' % gpu.board.vf_offset)
            self.write(path + '/sriov_stride', '%d\n' % gpu.board.vf_stride)
            self.write(path + '/sriov_vf_device', '%04x\n' % dev.device)
            self.write(path + '/sriov_drivers_autoprobe', '1\n')
        else:
            self.write(path + '/sriov_offset', '4\n')
            self.write(path + '/sriov_stride', '1\n')
        for i, vf in enumerate(dev.vfs):
            if vf.present:
                self.link('%s/virtfn%d' % (path, i), vf.path)
            else:
                self.unlink('%s/virtfn%d' % (path, i))

    def set_numvfs(self, pf):
        """Rewrite a PF's sriov_numvfs and virtfnN links after VFs came or went."""
        self._add_sriov(pf)

    # ------------------------------------------------------------ NVIDIA VF mode
    def pci_group(self, addr):
        return self._pci_groups.get(addr)

    def vf_group_node(self, vf):
        """The real path of a VF's /dev/vfio/<group> (nvidia-vfio-pci registers every VF)."""
        return os.path.join(self.dev, 'vfio', str(self._pci_groups[vf.addr]))

    def _add_vf_nvidia(self, gpu, vf):
        """The nvidia/ directory the driver creates on a VF at probe, and the VF's VFIO group node."""
        d = vf.path + '/nvidia'
        self.mkdir(d)
        self.write(d + '/vgpu_params', '\n')
        self.write(d + '/warm_update', '0\n')
        self._vf_cache.pop(vf.addr, None)
        self.update_vf(gpu, vf)
        os.chmod(self.p(d + '/creatable_vgpu_types'), 0o444)
        os.makedirs(os.path.join(self.dev, 'vfio'), exist_ok=True)
        with open(self.vf_group_node(vf), 'w'):
            pass
        os.chmod(self.vf_group_node(vf), 0o600)

    def vf_files(self, gpu, vf):
        """What the VF's nvidia/ files read now: {name: content}. gpu_instance_id and placement_id
        are empty while the VF has no vGPU (a read then fails with ENXIO; see NOTES.md)."""
        g = gpu.vgpus.get(vf.addr)
        # the driver prints "%-5d : %s" per type; the name it gets from RM ends in a newline
        text = 'ID    : vGPU Name\n' + ''.join('%-5d : %s\n' % (t.type_id, t.name)
                                              for t in gpu.creatable(vf.addr))
        return {'creatable_vgpu_types': text,
                'current_vgpu_type': '%d\n' % (g.vtype.type_id if g else 0),
                'gpu_instance_id': '' if g is None else '%d\n' % (g.gpu_instance.gi_id if g.gpu_instance else 0),
                'placement_id': '' if g is None else '%d\n' % g.placement}

    def update_vf(self, gpu, vf):
        """Rewrite the VF's nvidia/ files whose content changed. Returns how many were written."""
        cache = self._vf_cache.setdefault(vf.addr, {})
        written = 0
        for name, text in self.vf_files(gpu, vf).items():
            if cache.get(name) == text:
                continue
            path = self.p('%s/nvidia/%s' % (vf.path, name))
            mode = None
            if name == 'creatable_vgpu_types' and os.path.exists(path):
                mode = os.stat(path).st_mode & 0o777
                os.chmod(path, 0o644)
            with open(path, 'w') as f:
                f.write(text)
            if mode is not None:
                os.chmod(path, mode)
            cache[name] = text
            written += 1
        return written

    def update_vf_gpu(self, gpu):
        """Rewrite the nvidia/ files of every present VF of the GPU."""
        return sum(self.update_vf(gpu, vf) for vf in gpu.vfs if vf.present)

    def remove_device(self, dev):
        """Hot-unplug: the device directory and every link to it go."""
        path = dev.path
        if dev.subsystem == 'pci':
            self.unlink('bus/pci/devices/' + dev.addr)
            if dev.driver:
                self.unlink('bus/pci/drivers/%s/%s' % (dev.driver, dev.addr))
            group = self._pci_groups.get(dev.addr)
            if group is not None:
                self.rmtree('kernel/iommu_groups/%d' % group)
                if dev.physfn is not None and self.host.vf_gpu_of(dev.addr) is not None:
                    try:
                        os.unlink(self.vf_group_node(dev))
                    except FileNotFoundError:
                        pass
                    self._vf_cache.pop(dev.addr, None)
        else:
            self.unlink('class/%s/%s' % (dev.cls, dev.name))
        self.unlink('class/mdev_bus/' + dev.name)
        self.rmtree(path)
        dev.present = False

    # ------------------------------------------------------------ parents and types
    def add_types(self, parent):
        base = parent.path + '/mdev_supported_types'
        self.mkdir(base)
        for t in parent.types.values():
            tdir = '%s/%s' % (base, t.dirname)
            self.mkdir(tdir + '/devices')
            if t.name is not None:
                self.write(tdir + '/name', t.name + '\n' if t.name else '')
            if t.description is not None:
                self.write(tdir + '/description', t.description)
            self.write(tdir + '/device_api', t.device_api + '\n')
            self.write(tdir + '/available_instances', '0\n')
            self.write(tdir + '/create', '', 0o200 if os.geteuid() == 0 else 0o644)
            self._avail_cache.pop((parent.name, t.dirname), None)
        self.link('class/mdev_bus/' + parent.name, parent.path)
        parent.registered = True

    def remove_types(self, parent):
        self.unlink('class/mdev_bus/' + parent.name)
        self.rmtree(parent.path + '/mdev_supported_types')
        for t in parent.types.values():
            self._avail_cache.pop((parent.name, t.dirname), None)
        parent.registered = False

    def type_dir(self, parent, mtype):
        return '%s/mdev_supported_types/%s' % (parent.path, mtype.dirname)

    def update_available(self, models=None):
        """Rewrite available_instances files whose value changed. Returns the number written."""
        written = 0
        for model in models if models is not None else self.host.models():
            for parent in model.parents:
                if not parent.registered or not parent.device.present:
                    continue
                for t in parent.types.values():
                    if t.available_raw is not None:
                        val = t.available_raw
                    else:
                        val = '%d\n' % model.available(parent, t)
                    key = (parent.name, t.dirname)
                    if self._avail_cache.get(key) == val:
                        continue
                    self.write(self.type_dir(parent, t) + '/available_instances', val)
                    self._avail_cache[key] = val
                    written += 1
        return written

    # ------------------------------------------------------------ mdevs
    def vfio_group_node(self, m):
        """The real path of the device's VFIO group node, <root>/dev/vfio/<group>. Under the
        preload a process sees it as /dev/vfio/<group>; it is a regular file (real ones are
        character devices), so a test opens it to play a VM that holds the group."""
        return os.path.join(self.dev, 'vfio', str(m.iommu_group))

    def mdev_uevent(self, m):
        return 'DRIVER=%s\n' % m.parent.model.mdev_driver

    def add_mdev(self, m):
        path = m.path
        drv = m.parent.model.mdev_driver
        self.mkdir(path)
        self.write(path + '/uevent', self.mdev_uevent(m))
        self.write(path + '/remove', '', 0o200 if os.geteuid() == 0 else 0o644)
        self.link(path + '/subsystem', 'bus/mdev')
        self.mkdir('bus/mdev/drivers/' + drv)
        self.link(path + '/driver', 'bus/mdev/drivers/' + drv)
        self.link('bus/mdev/drivers/%s/%s' % (drv, m.uuid), path)
        self.link('kernel/iommu_groups/%d/devices/%s' % (m.iommu_group, m.uuid), path)
        self.link(path + '/iommu_group', 'kernel/iommu_groups/%d' % m.iommu_group)
        os.makedirs(os.path.join(self.dev, 'vfio'), exist_ok=True)
        with open(self.vfio_group_node(m), 'w'):
            pass
        os.chmod(self.vfio_group_node(m), 0o600)
        if drv == 'nvidia-vgpu-vfio':
            self.mkdir(path + '/nvidia')
            self.write(path + '/nvidia/vgpu_params', '')
        self.link(path + '/mdev_type', self.type_dir(m.parent, m.mtype))
        self.link(self.type_dir(m.parent, m.mtype) + '/devices/' + m.uuid, path)
        self.link('bus/mdev/devices/' + m.uuid, path)

    def remove_mdev(self, m):
        drv = m.parent.model.mdev_driver
        self.unlink('bus/mdev/devices/' + m.uuid)
        self.unlink('bus/mdev/drivers/%s/%s' % (drv, m.uuid))
        self.unlink(self.type_dir(m.parent, m.mtype) + '/devices/' + m.uuid)
        self.rmtree('kernel/iommu_groups/%d' % m.iommu_group)
        try:
            os.unlink(self.vfio_group_node(m))
        except FileNotFoundError:
            pass
        self.rmtree(m.path)


def write_tree(host, root):
    """Write host into root (created if needed) and return the Tree."""
    t = Tree(root, host)
    t.write_all()
    return t
