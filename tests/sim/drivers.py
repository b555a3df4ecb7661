# SPDX-License-Identifier: LGPL-2.1-or-later
"""Vendor driver models: how many instances of each mdev type a parent offers.

Each model owns a set of parents and answers, for the current set of running
mdevs, `available(parent, mtype)` (what the type's `available_instances` file
reads) and `refusal(parent, mtype)` (why a create would fail, or None).
The rules follow the drivers:
- NvidiaCore: NVIDIA time-sliced vGPU on one GPU core (a PF, or a PF's SR-IOV
  VFs). Without mixed-size mode all vGPUs on a core share one framebuffer size;
  per size the core holds at most max_instance; a VF holds one vGPU.
- GvtBudget: i915 GVT-g, drivers/gpu/drm/i915/gvt/kvmgt.c
  intel_vgpu_get_available(): min of free low GM, high GM and fences.
- MttyPool: samples/vfio-mdev/mtty.c, one pool of 24 ports, available =
  free ports / ports per type.
- PoolModel: a per-parent pool of units (used by the synthetic "large" host).
- StaticModel: mdev core default (drivers/vfio/mdev/mdev_core.c without
  get_available): a per-parent counter of max_instances.
"""


class Model:
    """Base: parents are registered with add_parent()."""

    mdev_driver = 'vfio_mdev'

    def __init__(self):
        self.parents = []

    def add_parent(self, parent):
        self.parents.append(parent)
        parent.model = self

    def available(self, parent, mtype):
        raise NotImplementedError

    def refusal(self, parent, mtype):
        """None when a create of mtype on parent would succeed, else the reason."""
        if mtype.available_raw is not None:
            return 'available_instances is unreadable (%r)' % mtype.available_raw
        if self.available(parent, mtype) <= 0:
            return 'no available instances (EUSERS)'
        return None


class NvidiaCore(Model):
    """One NVIDIA GPU core. mtype.params: framebuffer (MiB), max_instance."""

    mdev_driver = 'nvidia-vgpu-vfio'

    def __init__(self, fb_total, sriov=False, mixed_size=False, name=''):
        super().__init__()
        self.fb_total = fb_total
        self.sriov = sriov
        self.mixed_size = mixed_size
        self.name = name

    def _held(self):
        return [m for p in self.parents for m in p.mdevs.values()]

    def core_available(self, mtype, held=None):
        """Instances of mtype the core still has room for, ignoring VF occupancy."""
        if held is None:
            held = self._held()
        fb = mtype.params['framebuffer']
        max_inst = mtype.params['max_instance']
        same = sum(1 for m in held if m.mtype.params['framebuffer'] == fb)
        if self.mixed_size:
            used = sum(m.mtype.params['framebuffer'] for m in held)
            return max(0, min((self.fb_total - used) // fb, max_inst - same))
        if any(m.mtype.params['framebuffer'] != fb for m in held):
            return 0
        return max(0, max_inst - len(held))

    def available(self, parent, mtype):
        if self.sriov:
            if parent.mdevs:
                return 0
            return 1 if self.core_available(mtype) > 0 else 0
        return self.core_available(mtype)

    def refusal(self, parent, mtype):
        r = super().refusal(parent, mtype)
        if r is None:
            return None
        if self.sriov and parent.mdevs:
            return 'the VF already hosts a vGPU'
        held = self._held()
        fb = mtype.params['framebuffer']
        if not self.mixed_size and any(m.mtype.params['framebuffer'] != fb for m in held):
            return 'the core holds vGPUs of another framebuffer size'
        return r


class GvtBudget(Model):
    """mtype.params: low_gm, high_gm (MiB), fence. Budgets as intel_vgpu_get_available()."""

    mdev_driver = 'intel_vgpu_mdev'

    def __init__(self, low_gm, high_gm, fences):
        super().__init__()
        self.low_gm = low_gm
        self.high_gm = high_gm
        self.fences = fences

    def available(self, parent, mtype):
        held = [m for p in self.parents for m in p.mdevs.values()]
        low = self.low_gm - sum(m.mtype.params['low_gm'] for m in held)
        high = self.high_gm - sum(m.mtype.params['high_gm'] for m in held)
        fence = self.fences - sum(m.mtype.params['fence'] for m in held)
        p = mtype.params
        return max(0, min(low // p['low_gm'], high // p['high_gm'], fence // p['fence']))


class MttyPool(Model):
    """mtype.params: ports. mtty_get_available(): free ports / nr_ports."""

    mdev_driver = 'mtty'

    def __init__(self, ports=24):
        super().__init__()
        self.ports = ports

    def available(self, parent, mtype):
        used = sum(m.mtype.params['ports'] for p in self.parents for m in p.mdevs.values())
        return max(0, (self.ports - used) // mtype.params['ports'])


class PoolModel(Model):
    """Per-parent pool of units; mtype.params: units."""

    mdev_driver = 'nvidia-vgpu-vfio'

    def __init__(self, units):
        super().__init__()
        self.units = units

    def available(self, parent, mtype):
        used = sum(m.mtype.params['units'] for m in parent.mdevs.values())
        return max(0, (self.units - used) // mtype.params['units'])


class StaticModel(Model):
    """mdev core default: one counter per parent (mdev_driver->max_instances)."""

    def __init__(self, max_instances, mdev_driver='vfio_mdev'):
        super().__init__()
        self.max_instances = max_instances
        self.mdev_driver = mdev_driver

    def available(self, parent, mtype):
        return max(0, self.max_instances - len(parent.mdevs))
