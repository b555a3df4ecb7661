/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.vgpud1.Device: one object per running vGPU (a mediated device, or a vGPU on an NVIDIA VF). */

#include <errno.h>

#include "bus.h"
#include "leases.h"
#include "sysfs-util.h"

static int device_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                       sd_bus_error *error)
{
        InvDevice *d = inventory_get_device_by_path(userdata, path);

        if (!d)
                return 0;
        *found = d;
        return 1;
}

static int device_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes,
                            sd_bus_error *error)
{
        *nodes = inventory_device_paths(userdata);
        return 0;
}

BUS_STRING_GETTER(prop_uuid, InvDevice, o->uuid)
BUS_STRING_GETTER(prop_parent, InvDevice, o->sys->parent)
BUS_STRING_GETTER(prop_type_id, InvDevice, o->sys->type_id)
BUS_STRING_GETTER(prop_type_name, InvDevice, o->type ? o->type->name : NULL)
BUS_STRING_GETTER(prop_state, InvDevice, o->state ? o->state : "active")
BUS_STRING_GETTER(prop_backend, InvDevice, backend_name(o->sys->backend))
/* the VF that carries a VF vGPU; a mediated device has none */
BUS_STRING_GETTER(prop_pci_address, InvDevice,
                  o->sys->backend->class->read_parent_device ? o->sys->parent : NULL)

static int prop_vfio_group(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        InvDevice *d = userdata;
        g_autofree char *syspath = inventory_device_syspath(d->inventory, d);
        g_autofree char *group = sysfs_link_basename(syspath, "iommu_group");

        return sd_bus_message_append(reply, "s", bus_nz(group));
}

static int prop_gpu(sd_bus *bus, const char *path, const char *interface, const char *property,
                    sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        InvDevice *d = userdata;
        g_autofree char *gpu = inventory_gpu_path(d->sys->parent);

        return sd_bus_message_append(reply, "o", gpu ? gpu : "/");
}

static int prop_sysfs_path(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        InvDevice *d = userdata;
        g_autofree char *syspath = inventory_device_syspath(d->inventory, d);

        return sd_bus_message_append(reply, "s", bus_nz(syspath));
}

static int prop_owner(sd_bus *bus, const char *path, const char *interface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        InvDevice *d = userdata;
        Lease *lease = inventory_lease(d->inventory, d->uuid);

        return sd_bus_message_append(reply, "s", lease ? lease->owner : "");
}

static int prop_framebuffer(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const VgpuType *t = ((InvDevice *)userdata)->type;
        return sd_bus_message_append(reply, "t", (uint64_t)(t ? t->framebuffer_mib : 0));
}

static int prop_slot(sd_bus *bus, const char *path, const char *interface, const char *property,
                     sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        InvDevice *d = userdata;
        Lease *lease = inventory_lease(d->inventory, d->uuid);
        return sd_bus_message_append(reply, "u", lease ? lease->slot : 0);
}

/* Who uses it (inventory-owners.c); u is NULL only for a device that is going. */
#define USE(o) inventory_device_use((o)->inventory, (o)->uuid)
BUS_STRING_GETTER(prop_user, InvDevice, USE(o) ? USE(o)->user : NULL)
BUS_STRING_GETTER(prop_user_kind, InvDevice, USE(o) ? inventory_user_kind_to_string(USE(o)->kind) : NULL)
BUS_GETTER(prop_user_pid, InvDevice, "u", uint32_t, USE(o) ? USE(o)->pid : 0)
BUS_GETTER(prop_idle, InvDevice, "b", int, USE(o) && USE(o)->idle)
BUS_GETTER(prop_idle_since, InvDevice, "t", uint64_t, USE(o) ? USE(o)->idle_since_usec : 0)
BUS_GETTER(prop_gpu_instance_id, InvDevice, "i", int32_t, o->sys->gpu_instance_id)
#undef USE

#define CONST SD_BUS_VTABLE_PROPERTY_CONST

static const sd_bus_vtable device_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Uuid", "s", prop_uuid, 0, CONST),
        SD_BUS_PROPERTY("Parent", "s", prop_parent, 0, CONST),
        SD_BUS_PROPERTY("Gpu", "o", prop_gpu, 0, CONST),
        SD_BUS_PROPERTY("TypeId", "s", prop_type_id, 0, CONST),
        SD_BUS_PROPERTY("TypeName", "s", prop_type_name, 0, CONST),
        SD_BUS_PROPERTY("FramebufferMiB", "t", prop_framebuffer, 0, CONST),
        SD_BUS_PROPERTY("SysfsPath", "s", prop_sysfs_path, 0, CONST),
        SD_BUS_PROPERTY("Backend", "s", prop_backend, 0, CONST),
        SD_BUS_PROPERTY("PciAddress", "s", prop_pci_address, 0, CONST),
        SD_BUS_PROPERTY("VfioGroup", "s", prop_vfio_group, 0, CONST),
        SD_BUS_PROPERTY("GpuInstanceId", "i", prop_gpu_instance_id, 0, CONST),
        SD_BUS_PROPERTY("State", "s", prop_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Owner", "s", prop_owner, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Slot", "u", prop_slot, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("User", "s", prop_user, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("UserKind", "s", prop_user_kind, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("UserPid", "u", prop_user_pid, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Idle", "b", prop_idle, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("IdleSince", "t", prop_idle_since, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END,
};

int bus_device_register(sd_bus *bus, Inventory *inv)
{
        int r;

        r = sd_bus_add_fallback_vtable(bus, NULL, VGPUD_DEVICE_PATH_PREFIX, VGPUD_DEVICE_IFACE,
                                       device_vtable, device_find, inv);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(bus, NULL, VGPUD_DEVICE_PATH_PREFIX, device_enumerate, inv);
}
