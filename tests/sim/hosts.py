# SPDX-License-Identifier: LGPL-2.1-or-later
"""Descriptions of simulated mdev hosts: PCI topology, mdev parents and types,
running mdevs and mdevctl definitions. tree.py writes one as a sysfs tree and
emulator.py keeps it up to date.

Data (tests/sim/data/) comes from the project's reference fixtures:
- nvidia-types.txt: NVIDIA type tables (driver 510.47.03 vgpuConfig.xml),
- nvidia-max-instances.txt: max instances per GPU core (NVIDIA vgpu-device-manager).
GVT-g and mtty values come from Linux 6.1 (drivers/gpu/drm/i915/gvt/vgpu.c,
kvmgt.c; samples/vfio-mdev/mtty.c).

Hosts: HOSTS maps a name to a function returning a Host; see build_host().
"""

import json
import os
import re
import uuid as uuidlib

import drivers
import nvidia_vf

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data')
PCI_ROOT = 'devices/pci0000:00'


class PciFunction:
    """One PCI function. `upstream` is the bridge it sits behind (None: root bus)."""

    def __init__(self, addr, vendor, device, subsys_vendor, subsys_device, pci_class,
                 driver=None, numa_node=-1, upstream=None, revision=0xa1):
        self.addr = addr
        self.vendor = vendor
        self.device = device
        self.subsys_vendor = subsys_vendor
        self.subsys_device = subsys_device
        self.pci_class = pci_class
        self.driver = driver
        self.numa_node = numa_node
        self.upstream = upstream
        self.revision = revision
        self.physfn = None
        self.vfs = []
        self.total_vfs = None  # sriov_totalvfs when it differs from len(vfs) being present
        self.present = True

    @property
    def name(self):
        return self.addr

    @property
    def subsystem(self):
        return 'pci'

    @property
    def path(self):
        """sysfs path relative to the sys/ directory."""
        if self.upstream is None:
            return '%s/%s' % (PCI_ROOT, self.addr)
        return '%s/%s' % (self.upstream.path, self.addr)

    def uevent(self):
        props = []
        if self.driver:
            props.append(('DRIVER', self.driver))
        props += [('PCI_CLASS', '%X' % self.pci_class),
                  ('PCI_ID', '%04X:%04X' % (self.vendor, self.device)),
                  ('PCI_SUBSYS_ID', '%04X:%04X' % (self.subsys_vendor, self.subsys_device)),
                  ('PCI_SLOT_NAME', self.addr),
                  ('MODALIAS', 'pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X' % (
                      self.vendor, self.device, self.subsys_vendor, self.subsys_device,
                      self.pci_class >> 16, (self.pci_class >> 8) & 0xff, self.pci_class & 0xff))]
        return props


class VirtualDevice:
    """A device under devices/virtual/<cls>/<name> (the mtty sample's parent)."""

    def __init__(self, cls, name):
        self.cls = cls
        self.addr = name
        self.driver = None
        self.present = True

    @property
    def name(self):
        return self.addr

    @property
    def subsystem(self):
        return self.cls

    @property
    def path(self):
        return 'devices/virtual/%s/%s' % (self.cls, self.addr)

    def uevent(self):
        return []


class MdevType:
    """One mdev_supported_types/<dirname>. name/description None = no such file.
    available_raw, when set, is written verbatim instead of the model's number."""

    def __init__(self, dirname, name, description, device_api='vfio-pci', params=None,
                 available_raw=None):
        self.dirname = dirname
        self.name = name
        self.description = description
        self.device_api = device_api
        self.params = params or {}
        self.available_raw = available_raw


class Parent:
    """An mdev parent: a device plus its types. registered=False: no mdev_supported_types."""

    def __init__(self, device, types, registered=True):
        self.device = device
        self.types = {t.dirname: t for t in types}
        self.registered = registered
        self.mdevs = {}
        self.model = None

    @property
    def name(self):
        return self.device.name

    @property
    def path(self):
        return self.device.path


class Mdev:
    def __init__(self, uuid, parent, mtype, iommu_group):
        self.uuid = uuid
        self.parent = parent
        self.mtype = mtype
        self.iommu_group = iommu_group

    @property
    def path(self):
        return '%s/%s' % (self.parent.path, self.uuid)


class Definition:
    """etc/mdevctl.d/<parent>/<filename> holding `text` verbatim."""

    def __init__(self, parent, filename, text):
        self.parent = parent
        self.filename = filename
        self.text = text


def definition_text(mdev_type, start='manual', attrs=()):
    """Definition file content as mdevctl 1.2.0 writes it (2-space JSON, no newline)."""
    obj = {'mdev_type': mdev_type, 'start': start, 'attrs': [{k: v} for k, v in attrs]}
    return json.dumps(obj, indent=2, ensure_ascii=False)


class Host:
    def __init__(self, name):
        self.name = name
        self.devices = []      # PciFunction / VirtualDevice, parents before children
        self.parents = {}      # name -> Parent
        self.mdevs = {}        # uuid -> Mdev
        self.definitions = []
        self.vf_gpus = {}      # PF address -> nvidia_vf.NvidiaVfGpu (GPUs in vendor-specific VFIO mode)
        # IOMMU groups of mediated devices: fresh numbers from 100 on, above the PCI functions'
        # groups (tree.py numbers those 1, 2, ... in device order), never reused after a removal
        self.next_iommu_group = 100

    def add_device(self, dev):
        self.devices.append(dev)
        return dev

    def add_parent(self, parent, model):
        self.parents[parent.name] = parent
        model.add_parent(parent)
        return parent

    def add_mdev(self, uuid, parent_name, type_dirname):
        parent = self.parents[parent_name]
        m = Mdev(uuid, parent, parent.types[type_dirname], self.fresh_iommu_group())
        parent.mdevs[uuid] = m
        self.mdevs[uuid] = m
        return m

    def fresh_iommu_group(self):
        """A group number no device has had yet (a mediated device's own group, as vfio's
        emulated IOMMU gives it one; it has /dev/vfio/<N>)."""
        npci = sum(1 for d in self.devices if isinstance(d, PciFunction))
        group = max(self.next_iommu_group, npci + 1)
        self.next_iommu_group = group + 1
        return group

    def remove_mdev(self, uuid):
        m = self.mdevs.pop(uuid)
        del m.parent.mdevs[uuid]
        return m

    def define(self, parent, uuid, mdev_type, start='manual', attrs=()):
        self.definitions.append(Definition(parent, uuid, definition_text(mdev_type, start, attrs)))

    def vf_gpu_of(self, addr):
        """The NvidiaVfGpu whose PF or VF is addr, or None."""
        for gpu in self.vf_gpus.values():
            if gpu.pf.addr == addr or any(v.addr == addr for v in gpu.vfs):
                return gpu
        return None

    def models(self):
        seen = []
        for p in self.parents.values():
            if p.model not in seen:
                seen.append(p.model)
        return seen

    def merge(self, other):
        self.devices += other.devices
        self.parents.update(other.parents)
        self.vf_gpus.update(other.vf_gpus)
        for m in other.mdevs.values():
            m.iommu_group = self.fresh_iommu_group()
        self.mdevs.update(other.mdevs)
        self.definitions += other.definitions


# ---------------------------------------------------------------- data tables

def _load_nvidia_types():
    boards = {}
    board = None
    with open(os.path.join(DATA_DIR, 'nvidia-types.txt')) as f:
        for line in f:
            if line.startswith('::: '):
                board = line[4:].strip()
                boards[board] = []
            elif line.startswith('| nvidia-'):
                cols = [c.strip() for c in line.strip().strip('|').split('|')]
                fb = cols[2]
                mib = int(float(fb[:-1]) * 1024)
                boards[board].append({'id': cols[0], 'name': cols[1], 'framebuffer': mib,
                                      'heads': int(cols[3]), 'max_resolution': cols[4],
                                      'frl': int(cols[5])})
    return boards


def _load_max_instances():
    table = {}
    with open(os.path.join(DATA_DIR, 'nvidia-max-instances.txt')) as f:
        for line in f:
            m = re.match(r'^([^#:\s]+): (\d+)$', line.strip())
            if m:
                table[m.group(1)] = int(m.group(2))
    return table


_NV_TYPES = None
_NV_MAX = None


def nvidia_types(board, core_fb):
    """MdevType list for a board ('GRID T4', 'NVIDIA A16', ...) with core_fb MiB per core.
    max_instance comes from the vgpu-device-manager table; types it lacks (A and B
    series) get core_fb / framebuffer, capped at 32 as the drivers print."""
    global _NV_TYPES, _NV_MAX
    if _NV_TYPES is None:
        _NV_TYPES = _load_nvidia_types()
        _NV_MAX = _load_max_instances()
    out = []
    for row in _NV_TYPES[board]:
        short = row['name'].split(' ', 1)[1]
        max_inst = _NV_MAX.get(short, min(32, core_fb // row['framebuffer']))
        desc = 'num_heads=%d, frl_config=%d, framebuffer=%dM, max_resolution=%s, max_instance=%d' % (
            row['heads'], row['frl'], row['framebuffer'], row['max_resolution'], max_inst)
        out.append(MdevType(row['id'], row['name'], desc,
                            params={'framebuffer': row['framebuffer'], 'max_instance': max_inst}))
    return out


def nvidia_type_by_name(host, parent_name, type_name):
    """dirname of the type whose `name` is type_name ('GRID T4-2Q') on a parent."""
    for t in host.parents[parent_name].types.values():
        if t.name == type_name:
            return t.dirname
    raise KeyError(type_name)


def make_uuid(seed, n):
    """A deterministic UUID for test data."""
    return str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, 'vgpud-sim/%s/%d' % (seed, n)))


# ---------------------------------------------------------------- hosts

def _root_port(host, addr, device=0x1483, numa_node=0):
    return host.add_device(PciFunction(addr, 0x1022, device, 0x1022, 0x1453, 0x060400,
                                       driver='pcieport', numa_node=numa_node))


def t4(mixed_size=False, running=()):
    """Tesla T4 at 0000:41:00.0. running: (uuid, type name) pairs created up front."""
    h = Host('t4')
    rp = _root_port(h, '0000:00:03.1')
    gpu = h.add_device(PciFunction('0000:41:00.0', 0x10de, 0x1eb8, 0x10de, 0x12a2, 0x030200,
                                   driver='nvidia', numa_node=0, upstream=rp))
    core = drivers.NvidiaCore(16384, sriov=False, mixed_size=mixed_size, name='0000:41:00.0')
    h.add_parent(Parent(gpu, nvidia_types('GRID T4', 16384)), core)
    for u, tname in running:
        h.add_mdev(u, gpu.addr, nvidia_type_by_name(h, gpu.addr, tname))
    return h


A16_CORES = ['0000:63:00.0', '0000:64:00.0', '0000:65:00.0', '0000:66:00.0']


def a16_vf_addr(core, i):
    """VF i (0..15) of an A16 core: functions .4 onwards (VF offset 4, stride 1)."""
    fn = 4 + i
    bus = core[:8]
    return '%s%02x.%d' % (bus, fn // 8, fn % 8)


def a16(mixed_size=False, running=()):
    """A16 board: PLX switch, 4 PFs (cores) with 16 VFs each; VFs are the mdev parents.
    running: (uuid, vf address, type name)."""
    h = Host('a16')
    rp = _root_port(h, '0000:00:01.1', numa_node=1)
    up = h.add_device(PciFunction('0000:61:00.0', 0x10b5, 0x8747, 0x10b5, 0x8747, 0x060400,
                                  driver='pcieport', numa_node=1, upstream=rp, revision=0xca))
    for n, core_addr in enumerate(A16_CORES):
        dp = h.add_device(PciFunction('0000:62:%02x.0' % n, 0x10b5, 0x8747, 0x10b5, 0x8747,
                                      0x060400, driver='pcieport', numa_node=1, upstream=up,
                                      revision=0xca))
        pf = h.add_device(PciFunction(core_addr, 0x10de, 0x25b6, 0x10de, 0x14a9, 0x030200,
                                      driver='nvidia', numa_node=1, upstream=dp))
        core = drivers.NvidiaCore(16384, sriov=True, mixed_size=mixed_size, name=core_addr)
        for i in range(16):
            vf = h.add_device(PciFunction(a16_vf_addr(core_addr, i), 0x10de, 0x25b6, 0x10de,
                                          0x14a9, 0x030200, driver='nvidia', numa_node=1,
                                          upstream=dp))
            vf.physfn = pf
            pf.vfs.append(vf)
            h.add_parent(Parent(vf, nvidia_types('NVIDIA A16', 16384)), core)
    for u, vf, tname in running:
        h.add_mdev(u, vf, nvidia_type_by_name(h, vf, tname))
    return h


# intel_vgpu_configs[] of Linux 6.1 drivers/gpu/drm/i915/gvt/vgpu.c: low/high GM in MiB,
# fences, weight, resolution, name suffix.
GVT_CONFIGS = [(64, 384, 4, 2, '1024x768', '8'),
               (128, 512, 4, 4, '1920x1200', '4'),
               (256, 1024, 4, 8, '1920x1200', '2'),
               (512, 2048, 4, 16, '1920x1200', '1')]


def gvtg(aperture_mib=1024, running=()):
    """Intel UHD 630 (8086:3e92, gen 9 -> GVTg_V5_*) with GVT-g at 0000:00:02.0.
    Budget as intel_vgpu_get_available(): aperture - 128 MiB low GM, (4096 - aperture)
    - 384 MiB high GM, 32 - 4 fences. running: (uuid, type dirname)."""
    h = Host('gvtg')
    igd = h.add_device(PciFunction('0000:00:02.0', 0x8086, 0x3e92, 0x1028, 0x0869, 0x030000,
                                   driver='i915', numa_node=-1, revision=0x00))
    low, high = aperture_mib - 128, (4096 - aperture_mib) - 384
    types = []
    for lo, hi, fence, weight, res, suffix in GVT_CONFIGS:
        if low // lo == 0:
            break
        name = 'GVTg_V5_%s' % suffix
        desc = ('low_gm_size: %dMB\nhigh_gm_size: %dMB\nfence: %d\nresolution: %s\n'
                'weight: %d\n' % (lo, hi, fence, res, weight))
        # the type has no pretty_name: `name` reads the sysfs name
        types.append(MdevType('i915-' + name, name, desc,
                              params={'low_gm': lo, 'high_gm': hi, 'fence': fence}))
    h.add_parent(Parent(igd, types), drivers.GvtBudget(low, high, 32 - 4))
    for u, tdir in running:
        h.add_mdev(u, igd.addr, tdir)
    return h


def mtty(running=()):
    """The mtty sample (Linux 6.1): parent devices/virtual/mtty/mtty, 24 ports, types
    mtty-1 ("Single port serial") and mtty-2 ("Dual port serial"), no description."""
    h = Host('mtty')
    dev = h.add_device(VirtualDevice('mtty', 'mtty'))
    types = [MdevType('mtty-1', 'Single port serial', None, params={'ports': 1}),
             MdevType('mtty-2', 'Dual port serial', None, params={'ports': 2})]
    h.add_parent(Parent(dev, types), drivers.MttyPool(24))
    for u, tdir in running:
        h.add_mdev(u, 'mtty', tdir)
    return h


def default():
    """What the demo shows without a GPU: t4 + a16 + gvtg + mtty."""
    h = t4()
    for other in (a16(), gvtg(), mtty()):
        h.merge(other)
    h.name = 'default'
    return h


def half_full():
    """default with vGPUs already running: the T4 holds two 2Q (of 8), one A16 VF
    holds a 4Q, GVT-g one V5_4, mtty one dual port; two of them are defined."""
    h = default()
    t4p = '0000:41:00.0'
    h.add_mdev(make_uuid('half', 1), t4p, nvidia_type_by_name(h, t4p, 'GRID T4-2Q'))
    h.add_mdev(make_uuid('half', 2), t4p, nvidia_type_by_name(h, t4p, 'GRID T4-2Q'))
    vf = a16_vf_addr(A16_CORES[0], 0)
    h.add_mdev(make_uuid('half', 3), vf, nvidia_type_by_name(h, vf, 'NVIDIA A16-4Q'))
    h.add_mdev(make_uuid('half', 4), '0000:00:02.0', 'i915-GVTg_V5_4')
    h.add_mdev(make_uuid('half', 5), 'mtty', 'mtty-2')
    h.define(t4p, make_uuid('half', 1), 'nvidia-231', 'auto')
    h.define('mtty', make_uuid('half', 5), 'mtty-2', 'manual', [('foo', 'bar')])
    h.name = 'half-full'
    return h


def odd(corrupt_definition=True, garbage_available=True):
    """Edge cases for the mdevctl oracle. Parent 0000:0a:00.0 has types without a
    name file, with an empty name and description, a multi-line description with
    trailing whitespace, a non-PCI device_api and (garbage_available) a type whose
    available_instances reads "lots" (mdevctl 1.2.0 `types` then fails for every
    parent). Parent 0000:0b:00.0 has an empty mdev_supported_types. Definitions:
    odd attribute strings, one UUID under both parents, an upper-case UUID file
    name, a non-UUID file name, a parent that does not exist, start "Auto", and
    (corrupt_definition) an unparsable file (1.2.0 `list -d` then fails)."""
    h = Host('odd')
    rp = _root_port(h, '0000:00:1c.0', device=0x1483)
    a = h.add_device(PciFunction('0000:0a:00.0', 0x1af4, 0x1050, 0x1af4, 0x1100, 0x030000,
                                 driver='odd_mdev', numa_node=0, upstream=rp))
    b = h.add_device(PciFunction('0000:0b:00.0', 0x1af4, 0x1050, 0x1af4, 0x1100, 0x030000,
                                 driver='odd_mdev', numa_node=0, upstream=rp))
    types = [
        MdevType('odd-noname', None, 'a type without a name file'),
        MdevType('odd-emptyname', '', ''),
        MdevType('odd-multiline', 'Multi line', 'first line  \nsecond line\t\n  third line   \n\n'),
        MdevType('odd-normal', 'Normal type', 'nothing special'),
        MdevType('odd-ccw', 'Other API', 'a non-PCI device API', device_api='vfio-ccw'),
    ]
    if garbage_available:
        types.append(MdevType('odd-garbage', 'Garbage count', 'available_instances is not a number',
                              available_raw='lots\n'))
    h.add_parent(Parent(a, types), drivers.StaticModel(4, 'odd_mdev'))
    h.add_parent(Parent(b, []), drivers.StaticModel(4, 'odd_mdev'))
    u_run = make_uuid('odd', 1)
    h.add_mdev(u_run, a.addr, 'odd-normal')
    h.add_mdev(make_uuid('odd', 2), a.addr, 'odd-multiline')
    h.define(a.addr, u_run, 'odd-normal', 'auto',
             [('quote"s', 'back\\slash'), ('unicode', 'caf\u00e9 \u2603'), ('empty', ''),
              ('spaces', '  padded  '), ('newline', 'two\nlines'), ('dup', '1'), ('dup', '2')])
    shared = make_uuid('odd', 3)
    h.define(a.addr, shared, 'odd-normal', 'manual')
    h.define(b.addr, shared, 'odd-other', 'auto')
    h.define(a.addr, make_uuid('odd', 4).upper(), 'odd-normal', 'manual')
    h.define(a.addr, 'not-a-uuid', 'odd-normal', 'manual')
    h.define('0000:99:00.0', make_uuid('odd', 5), 'gone-type', 'auto')
    h.define(a.addr, make_uuid('odd', 6), 'odd-normal', 'Auto')
    if corrupt_definition:
        h.definitions.append(Definition(a.addr, make_uuid('odd', 7), '{"mdev_type": "odd-normal", '))
    return h


LARGE_UNITS = [1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 8, 8, 8, 8, 16, 16, 16, 16]


def large(scale=1.0):
    """16 parents x 20 types x 2,560 running devices at scale 1 (parents and devices
    scale together: 1/16 is 1 parent and 160 devices). Each parent has a pool of 256
    units; devices use the 1-unit types. 10% of the devices are defined, plus 4
    definitions per parent that are not running."""
    h = Host('large')
    nparents = max(1, int(round(16 * scale)))
    ndevices = int(round(2560 * scale))
    rp = _root_port(h, '0000:00:01.0')
    names = []
    for p in range(nparents):
        addr = '0000:%02x:00.0' % (0x81 + p)
        dev = h.add_device(PciFunction(addr, 0x10de, 0x26b9, 0x10de, 0x1851, 0x030200,
                                       driver='nvidia', numa_node=p % 2, upstream=rp))
        types = []
        for i, units in enumerate(LARGE_UNITS):
            fb = 1024 * units
            types.append(MdevType('nvidia-%d' % (900 + i), 'NVIDIA SIM-%dQ%s' % (units, 'ABCD'[i % 4]),
                                  'num_heads=4, frl_config=60, framebuffer=%dM, '
                                  'max_resolution=7680x4320, max_instance=%d' % (fb, 256 // units),
                                  params={'units': units}))
        h.add_parent(Parent(dev, types), drivers.PoolModel(256))
        names.append(addr)
    for n in range(ndevices):
        parent = names[n % nparents]
        u = make_uuid('large', n)
        tdir = 'nvidia-%d' % (900 + n % 4)
        h.add_mdev(u, parent, tdir)
        if n % 10 == 0:
            h.define(parent, u, tdir, 'auto' if n % 20 == 0 else 'manual', [('n', str(n))])
    for p, parent in enumerate(names):
        for k in range(4):
            h.define(parent, make_uuid('large-def', p * 4 + k), 'nvidia-%d' % (904 + k), 'manual')
    return h


# ---------------------------------------------------------------- NVIDIA vGPU 17+ (VF mode)

def vf_addr(pf_addr, offset, stride, i):
    """The address of VF i of a PF: routing id = PF's + offset + i * stride (same bus)."""
    dev, fn = int(pf_addr[8:10], 16), int(pf_addr[11])
    devfn = (dev << 3 | fn) + offset + i * stride
    return '%s%02x.%d' % (pf_addr[:8], devfn >> 3, devfn & 7)


def _vf_gpu(h, board_name, pf_addr, root_port, numa_node, sriov=True, mixed_size=False, mig=False,
            running=()):
    """A GPU in vendor-specific VFIO mode: PF plus its VFs (present only with sriov), both bound to
    nvidia; running: (VF index, type name) vGPUs set up front (needs sriov)."""
    board = nvidia_vf.boards()[board_name]
    rp = _root_port(h, root_port, numa_node=numa_node)
    pf = h.add_device(PciFunction(pf_addr, board.vendor, board.device, board.vendor, 0x0000, 0x030200,
                                  driver='nvidia', numa_node=numa_node, upstream=rp))
    pf.total_vfs = board.total_vfs
    vfs = []
    for i in range(board.total_vfs):
        vf = h.add_device(PciFunction(vf_addr(pf_addr, board.vf_offset, board.vf_stride, i), board.vendor,
                                      board.device, board.vendor, 0x0000, 0x030200, driver='nvidia',
                                      numa_node=numa_node, upstream=rp))
        vf.physfn = pf
        vf.present = sriov
        pf.vfs.append(vf)
        vfs.append(vf)
    gpu = nvidia_vf.NvidiaVfGpu(board, pf, vfs, mixed_size=mixed_size, mig=mig)
    gpu.numvfs = len(vfs) if sriov else 0
    h.vf_gpus[pf_addr] = gpu
    for i, tname in running:
        vtype = next(t for t in board.types if t.name == tname)
        rc = gpu.create(vfs[i].addr, vtype.type_id)
        if rc:
            raise ValueError('cannot set up %s on VF %d of %s: errno %d' % (tname, i, pf_addr, rc))
    return gpu


L40S = '0000:c1:00.0'
RTX6000 = '0000:81:00.0'


def l40s(sriov=True, mixed_size=False, running=()):
    """NVIDIA L40S (10de:26b9, 48 GB, 32 VFs from .0.4) at 0000:c1:00.0. running: (VF index, name)."""
    h = Host('l40s')
    _vf_gpu(h, 'NVIDIA L40S', L40S, '0000:00:07.1', 1, sriov=sriov, mixed_size=mixed_size, running=running)
    return h


def rtx6000(sriov=True, mixed_size=False, mig=False, running=()):
    """RTX PRO 6000 Blackwell Server Edition (10de:2bb5, 96 GB, 16 VFs from .0.2) at 0000:81:00.0;
    mig=True: MIG mode on (MIG-backed types only; GPU instances via the emulator)."""
    h = Host('rtx6000')
    _vf_gpu(h, 'NVIDIA RTX Pro 6000 Blackwell DC', RTX6000, '0000:00:05.1', 0, sriov=sriov,
            mixed_size=mixed_size, mig=mig, running=running)
    return h


def vf(sriov=True):
    """A VF host: the L40S and the RTX PRO 6000 (sriov=False: as after a reboot, no VFs yet)."""
    h = l40s(sriov=sriov)
    h.merge(rtx6000(sriov=sriov))
    h.name = 'vf'
    return h


def mixed(sriov=True):
    """Classic mdev GPUs and VF-mode GPUs on one host: T4, A16 board, L40S, RTX PRO 6000."""
    h = t4()
    for other in (a16(), l40s(sriov=sriov), rtx6000(sriov=sriov)):
        h.merge(other)
    h.name = 'mixed'
    return h


HOSTS = {
    'default': default,
    't4': t4,
    'a16': a16,
    'gvtg': gvtg,
    'mtty': mtty,
    'odd': odd,
    'large': large,
    'half-full': half_full,
    'l40s': l40s,
    'rtx6000': rtx6000,
    'rtx6000-mig': lambda: _renamed(rtx6000(mig=True), 'rtx6000-mig'),
    'vf': vf,
    'vf-off': lambda: _renamed(vf(sriov=False), 'vf-off'),
    'mixed': mixed,
}


def _renamed(h, name):
    h.name = name
    return h


def build_host(name, scale=1.0):
    """The Host called `name` (see HOSTS); scale only applies to "large"."""
    if name not in HOSTS:
        raise ValueError('unknown host %r (known: %s)' % (name, ', '.join(sorted(HOSTS))))
    if name == 'large':
        return large(scale)
    return HOSTS[name]()
