# SPDX-License-Identifier: LGPL-2.1-or-later
"""The NVIDIA vGPU 17+ driver on a GPU in vendor-specific VFIO mode (no mdev bus): the rules
behind each VF's nvidia/ directory. Pure state and rules, no files: tree.py writes what this
model says and emulator_vf.py changes it when someone writes current_vgpu_type, enables SR-IOV or
asks NVML. Facts: /work/shared/vendor-vfio.md; choices where the facts are silent: NOTES.md.

- A GPU (one PF) has `total_vfs` VFs once SR-IOV is enabled (`numvfs`), none after a reboot.
- Each VF holds at most one vGPU: current_vgpu_type 0 = none.
- Time-sliced types: without mixed-size ("heterogeneous") mode every vGPU on the GPU has the same
  framebuffer size, at most `max_instance` of a type; in mixed-size mode sizes may differ. Either
  way a vGPU sits at a placement: an offset (in units of the GPU's smallest profile, 1 GiB here)
  that is a multiple of its own size, over free framebuffer; misaligned free memory is unusable.
- MIG-backed types (type.gi_profile set) sit on a GPU instance of that profile; without one the
  driver refuses with EIO.
- creatable(vf) is what creatable_vgpu_types lists: nothing once the VF has a vGPU, else the types
  a write would create now (in id order).
"""

import errno
import os
import re

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data')
GIB = 1024
DRIVER_VERSION = '580.105.08'
# GPU instance profiles of the RTX PRO 6000 Blackwell (4 slices of 24 GB): name -> (slices, framebuffer
# GiB, NVML profile id, NVML_GPU_INSTANCE_PROFILE_* index, memory MiB). Ids and sizes as
# `nvidia-smi mig -lgip` prints them on real boards (1g.24gb 14, 2g.48gb 5, 4g.96gb 0; 23.62 / 47.38 /
# 95.00 GiB); the indexes are nvml.h's 1_SLICE 0, 2_SLICE 1, 4_SLICE 3 (see HACKING.md, MIG-backed vGPUs).
GI_PROFILES = {'1g.24gb': (1, 24, 14, 0, 24192), '2g.48gb': (2, 48, 5, 1, 48512),
               '4g.96gb': (4, 96, 0, 3, 97280)}
GI_SLICES = 4


def gi_profile_by_id(profile_id):
    """The profile name of an NVML GPU instance profile id, or None."""
    for name, row in GI_PROFILES.items():
        if row[2] == profile_id:
            return name
    return None


class VgpuType:
    def __init__(self, type_id, name, fb_gib, max_instance, gi_profile=None):
        self.type_id = type_id
        self.name = name
        self.fb_gib = fb_gib
        self.max_instance = max_instance
        self.gi_profile = gi_profile

    @property
    def framebuffer(self):
        """MiB, as the mdev types' params say it."""
        return self.fb_gib * GIB

    @property
    def series(self):
        m = re.search(r'-(?:\d+-)?\d+([A-Z]+)$', self.name)
        return m.group(1) if m else ''


class Board:
    """One line of data/nvidia-vf-types.txt and its types."""

    def __init__(self, name, vendor, device, fb_mib, total_vfs, vf_offset, vf_stride, heterogeneous):
        self.name = name
        self.vendor = vendor
        self.device = device
        self.fb_mib = fb_mib
        self.total_vfs = total_vfs
        self.vf_offset = vf_offset
        self.vf_stride = vf_stride
        self.heterogeneous = heterogeneous
        self.types = []


_BOARDS = None


def boards():
    """{board name: Board} from data/nvidia-vf-types.txt."""
    global _BOARDS
    if _BOARDS is None:
        _BOARDS = {}
        board = None
        with open(os.path.join(DATA_DIR, 'nvidia-vf-types.txt')) as f:
            for line in f:
                if line.startswith('::: '):
                    cols = [c.strip() for c in line[4:].split('|')]
                    vendor, device = (int(x, 16) for x in cols[1].split(':'))
                    board = Board(cols[0], vendor, device, int(cols[2]), int(cols[3]), int(cols[4]),
                                  int(cols[5]), cols[6] == 'heterogeneous')
                    _BOARDS[board.name] = board
                elif line.startswith('| '):
                    cols = [c.strip() for c in line.strip().strip('|').split('|')]
                    board.types.append(VgpuType(int(cols[0]), cols[1], int(cols[2]), int(cols[3]),
                                                None if cols[4] == '-' else cols[4]))
    return _BOARDS


class Vgpu:
    """The vGPU a VF holds."""

    def __init__(self, vtype, placement, gpu_instance=None):
        self.vtype = vtype
        self.placement = placement
        self.gpu_instance = gpu_instance


class GpuInstance:
    def __init__(self, gi_id, profile, start):
        self.gi_id = gi_id
        self.profile = profile
        self.start = start  # first slice
        self.slices, self.fb_gib, self.profile_id = GI_PROFILES[profile][:3]


class NvidiaVfGpu:
    """One GPU in VF mode. pf: its hosts.PciFunction; vfs: every VF it can have (PciFunction,
    present only while SR-IOV is enabled), in virtfn order."""

    def __init__(self, board, pf, vfs, mixed_size=False, mig=False):
        self.board = board
        self.pf = pf
        self.vfs = vfs
        self.types = {t.type_id: t for t in board.types}
        self.numvfs = len(vfs)
        self.mixed_size = mixed_size
        self.heterogeneous = board.heterogeneous  # the mixed-size capability (a test may take it away)
        self.mig = mig
        self.gpu_instances = []
        self.vgpus = {}  # vf address -> Vgpu

    @property
    def name(self):
        return self.pf.addr

    @property
    def units(self):
        return self.board.fb_mib // GIB

    def vf(self, addr):
        for v in self.vfs[:self.numvfs]:
            if v.addr == addr:
                return v
        return None

    # ------------------------------------------------------------ rules
    def _free_placement(self, vtype):
        """The lowest offset (GiB) aligned to the type's size over free framebuffer, else None."""
        used = set()
        for g in self.vgpus.values():
            if g.gpu_instance is None:
                used.update(range(g.placement, g.placement + g.vtype.fb_gib))
        size = vtype.fb_gib
        for start in range(0, self.units - size + 1, size):
            if not used.intersection(range(start, start + size)):
                return start
        return None

    def _free_gpu_instance(self, vtype):
        for gi in self.gpu_instances:
            if gi.profile != vtype.gi_profile:
                continue
            on = [g for g in self.vgpus.values() if g.gpu_instance is gi]
            if any(g.vtype.fb_gib != vtype.fb_gib for g in on):
                continue  # a GPU instance holds one framebuffer size
            if (len(on) + 1) * vtype.fb_gib <= gi.fb_gib:
                return gi
        return None

    def placement_for(self, vtype):
        """(placement, gpu instance) where a vGPU of vtype would go now, or an errno."""
        if vtype.gi_profile is not None:
            gi = self._free_gpu_instance(vtype) if self.mig else None
            if gi is None:
                return errno.EIO  # "Failed to add vgpu create request": no GPU instance for it
            on = [g for g in self.vgpus.values() if g.gpu_instance is gi]
            return (gi.start * (self.units // 4) + len(on) * vtype.fb_gib, gi)
        if self.mig:
            return errno.EIO
        held = [g for g in self.vgpus.values() if g.gpu_instance is None]
        if not self.mixed_size and any(g.vtype.fb_gib != vtype.fb_gib for g in held):
            return errno.EIO
        if sum(1 for g in held if g.vtype is vtype) >= vtype.max_instance:
            return errno.EIO
        start = self._free_placement(vtype)
        if start is None:
            return errno.EIO
        return (start, None)

    def creatable(self, vf_addr):
        """The types creatable_vgpu_types of this VF lists now."""
        if vf_addr in self.vgpus or self.vf(vf_addr) is None:
            return []
        return [t for t in sorted(self.types.values(), key=lambda t: t.type_id)
                if self._listed(t) and not isinstance(self.placement_for(t), int)]

    def _listed(self, vtype):
        """MIG-backed types are offered in MIG mode, time-sliced ones otherwise."""
        return (vtype.gi_profile is not None) == self.mig

    def gpu_creatable(self):
        """Types some free VF could take now (NVML's creatable list for the GPU)."""
        if not any(v.addr not in self.vgpus for v in self.vfs[:self.numvfs]):
            return []
        return [t for t in sorted(self.types.values(), key=lambda t: t.type_id)
                if self._listed(t) and not isinstance(self.placement_for(t), int)]

    # ------------------------------------------------------------ changes
    def create(self, vf_addr, type_id):
        """current_vgpu_type <- type_id (non-zero). 0 or an errno."""
        if self.vf(vf_addr) is None:
            return errno.ENODEV
        if vf_addr in self.vgpus:
            return errno.EPERM  # "vGPU device already created with type ID"
        vtype = self.types.get(type_id)
        if vtype is None:
            return errno.EIO
        where = self.placement_for(vtype)
        if isinstance(where, int):
            return where
        self.vgpus[vf_addr] = Vgpu(vtype, where[0], where[1])
        return 0

    def destroy(self, vf_addr):
        """current_vgpu_type <- 0. 0 or an errno."""
        if self.vf(vf_addr) is None:
            return errno.ENODEV
        if vf_addr not in self.vgpus:
            return errno.EPERM  # "No vGPU exists on current device"
        del self.vgpus[vf_addr]
        return 0

    def set_mixed_size(self, on):
        """nvmlDeviceSetVgpuHeterogeneousMode: 'ok', 'in-use' or 'not-supported'."""
        if not self.heterogeneous:
            return 'not-supported'
        if self.vgpus:
            return 'in-use'
        self.mixed_size = bool(on)
        return 'ok'

    def _free_gi_starts(self, profile):
        """Aligned first slices where a GPU instance of the profile could go now."""
        slices = GI_PROFILES[profile][0]
        used = set()
        for gi in self.gpu_instances:
            used.update(range(gi.start, gi.start + gi.slices))
        return [start for start in range(0, GI_SLICES - slices + 1, slices)
                if not used.intersection(range(start, start + slices))]

    def gi_remaining(self, profile):
        """nvmlDeviceGetGpuInstanceRemainingCapacity: how many more of the profile fit."""
        return len(self._free_gi_starts(profile)) if self.mig else 0

    def create_gpu_instance(self, profile):
        """nvidia-smi mig -cgi <profile>: a new GPU instance (MIG mode only), or None when the
        slices are taken. Its id: the lowest free one from 3 up (the first is 3 on real hosts)."""
        if not self.mig:
            raise ValueError('MIG mode is off on ' + self.name)
        starts = self._free_gi_starts(profile)
        if not starts:
            return None
        taken = {g.gi_id for g in self.gpu_instances}
        gi_id = next(i for i in range(3, 64) if i not in taken)
        gi = GpuInstance(gi_id, profile, starts[0])
        self.gpu_instances.append(gi)
        return gi

    def destroy_gpu_instance(self, gi_id):
        """nvmlGpuInstanceDestroy: 'ok', 'in-use' (a vGPU sits on it) or 'not-found'."""
        gi = next((g for g in self.gpu_instances if g.gi_id == gi_id), None)
        if gi is None:
            return 'not-found'
        if any(g.gpu_instance is gi for g in self.vgpus.values()):
            return 'in-use'
        self.gpu_instances.remove(gi)
        return 'ok'

    def wipe(self):
        """What a reboot or sriov-manage's rebind leaves: no vGPUs, GPU instances, mixed-size mode."""
        self.vgpus.clear()
        self.gpu_instances = []
        self.mixed_size = False
