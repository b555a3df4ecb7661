/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.vgpud1.Gpu: one object per mdev parent, served through a fallback vtable. */

#include <errno.h>
#include <string.h>

#include "bus.h"

/* The PCI ID database is loaded when a client first asks for names and dropped again soon after. */
#define NAMES_RELEASE_USEC (10 * 1000 * 1000ULL)

static sd_event_source *names_release;

static int on_names_release(sd_event_source *s, uint64_t usec, void *userdata)
{
        inventory_release_names(userdata);
        names_release = sd_event_source_unref(names_release);
        return 0;
}

static void names_ensure(sd_bus *bus, InvParent *p)
{
        if (inventory_parent_names(p->inventory, p) <= 0 || names_release)
                return;
        if (sd_event_add_time_relative(sd_bus_get_event(bus), &names_release, CLOCK_MONOTONIC,
                                       NAMES_RELEASE_USEC, 0, on_names_release, p->inventory) < 0)
                inventory_release_names(p->inventory);
}

static int gpu_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                    sd_bus_error *error)
{
        InvParent *p = inventory_get_parent_by_path(userdata, path);

        if (!p)
                return 0;
        *found = p;
        return 1;
}

static int gpu_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes, sd_bus_error *error)
{
        *nodes = inventory_gpu_paths(userdata);
        return 0;
}

BUS_STRING_GETTER(prop_name, InvParent, o->name)
BUS_STRING_GETTER(prop_backend, InvParent, backend_name(o->sys->backend))
BUS_STRING_GETTER(prop_sysfs_path, InvParent, o->sys->syspath)
BUS_STRING_GETTER(prop_subsystem, InvParent, o->sys->subsystem)
BUS_STRING_GETTER(prop_driver, InvParent, o->sys->driver)
BUS_STRING_GETTER(prop_core, InvParent, o->core)
BUS_STRING_GETTER(prop_board, InvParent, o->board)
BUS_STRING_GETTER(prop_board_model, InvParent, o->board_model)
BUS_GETTER(prop_vendor_id, InvParent, "q", unsigned, o->sys->vendor_id)
BUS_GETTER(prop_device_id, InvParent, "q", unsigned, o->sys->device_id)
BUS_GETTER(prop_subsystem_vendor_id, InvParent, "q", unsigned, o->sys->subsystem_vendor_id)
BUS_GETTER(prop_subsystem_device_id, InvParent, "q", unsigned, o->sys->subsystem_device_id)
BUS_GETTER(prop_numa_node, InvParent, "i", int32_t, o->sys->numa_node)
BUS_GETTER(prop_size_class, InvParent, "t", uint64_t, o->cap.size_class_mib)
BUS_GETTER(prop_mixed_size, InvParent, "b", int, o->cap.mixed_size)
BUS_GETTER(prop_core_used, InvParent, "u", uint32_t, o->cap.used)
BUS_GETTER(prop_core_capacity, InvParent, "u", uint32_t, o->cap.capacity)

/* The names from the PCI ID database, loaded on the first read. */
#define NAME_GETTER(name, field)                                                                    \
        static int name(sd_bus *bus, const char *path, const char *interface, const char *property, \
                        sd_bus_message *reply, void *userdata, sd_bus_error *error)                 \
        {                                                                                           \
                InvParent *p = userdata;                                                            \
                names_ensure(bus, p);                                                               \
                return sd_bus_message_append(reply, "s", bus_nz(p->field));                         \
        }
NAME_GETTER(prop_vendor, vendor)
NAME_GETTER(prop_model, model)
NAME_GETTER(prop_subsystem_model, subsystem_model)

int bus_append_types(sd_bus_message *m, InvParent *p)
{
        int r;

        r = sd_bus_message_open_container(m, 'a', "(ssssiuts)");
        if (r < 0)
                return r;
        for (guint i = 0; i < p->sys->types->len; i++) {
                SysfsType *t = p->sys->types->pdata[i];
                VgpuType *v = p->models->pdata[i];

                int32_t available = t->available_instances;
                uint32_t max_instances = v->max_instances;
                uint64_t framebuffer = v->framebuffer_mib;

                /* field by field: ListTypes and GetManagedObjects send every type of every parent, and
                 * parsing a format string per type costs more than the fields themselves */
                r = sd_bus_message_open_container(m, 'r', "ssssiuts");
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 's', t->id);
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 's', bus_nz(t->name));
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 's', bus_nz(t->description));
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 's', bus_nz(t->device_api));
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 'i', &available);
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 'u', &max_instances);
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 't', &framebuffer);
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 's', bus_nz(v->profile));
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

static int prop_types(sd_bus *bus, const char *path, const char *interface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return bus_append_types(reply, userdata);
}

/* MIG-backed types: type id -> GPU instance profile id */
static int prop_gpu_instance_profiles(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply, void *userdata,
                                      sd_bus_error *error)
{
        InvParent *p = userdata;
        int r = sd_bus_message_open_container(reply, 'a', "{su}");

        for (guint i = 0; r >= 0 && i < p->sys->types->len; i++) {
                const SysfsType *t = p->sys->types->pdata[i];
                if (t->mig_backed)
                        r = sd_bus_message_append(reply, "{su}", t->id, t->gpu_instance_profile);
        }
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int prop_devices(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        InvParent *p = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        for (guint i = 0; i < p->devices->len; i++) {
                InvDevice *d = p->devices->pdata[i];
                g_autofree char *device_path = inventory_device_path(d->uuid);
                r = sd_bus_message_append(reply, "o", device_path);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

#define CONST   SD_BUS_VTABLE_PROPERTY_CONST
#define CHANGES SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE

static const sd_bus_vtable gpu_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", prop_name, 0, CONST),
        SD_BUS_PROPERTY("Backend", "s", prop_backend, 0, CONST),
        SD_BUS_PROPERTY("SysfsPath", "s", prop_sysfs_path, 0, CONST),
        SD_BUS_PROPERTY("Subsystem", "s", prop_subsystem, 0, CONST),
        SD_BUS_PROPERTY("Driver", "s", prop_driver, 0, CONST),
        SD_BUS_PROPERTY("VendorId", "q", prop_vendor_id, 0, CONST),
        SD_BUS_PROPERTY("DeviceId", "q", prop_device_id, 0, CONST),
        SD_BUS_PROPERTY("SubsystemVendorId", "q", prop_subsystem_vendor_id, 0, CONST),
        SD_BUS_PROPERTY("SubsystemDeviceId", "q", prop_subsystem_device_id, 0, CONST),
        SD_BUS_PROPERTY("Vendor", "s", prop_vendor, 0, CONST),
        SD_BUS_PROPERTY("Model", "s", prop_model, 0, CONST),
        SD_BUS_PROPERTY("SubsystemModel", "s", prop_subsystem_model, 0, CONST),
        SD_BUS_PROPERTY("NumaNode", "i", prop_numa_node, 0, CONST),
        SD_BUS_PROPERTY("Core", "s", prop_core, 0, CHANGES),
        SD_BUS_PROPERTY("Board", "s", prop_board, 0, CHANGES),
        SD_BUS_PROPERTY("BoardModel", "s", prop_board_model, 0, CHANGES),
        SD_BUS_PROPERTY("Types", "a(ssssiuts)", prop_types, 0, CHANGES),
        SD_BUS_PROPERTY("GpuInstanceProfiles", "a{su}", prop_gpu_instance_profiles, 0, CHANGES),
        SD_BUS_PROPERTY("SizeClass", "t", prop_size_class, 0, CHANGES),
        SD_BUS_PROPERTY("MixedSize", "b", prop_mixed_size, 0, CHANGES),
        SD_BUS_PROPERTY("CoreUsed", "u", prop_core_used, 0, CHANGES),
        SD_BUS_PROPERTY("CoreCapacity", "u", prop_core_capacity, 0, CHANGES),
        SD_BUS_PROPERTY("Devices", "ao", prop_devices, 0, CHANGES),
        SD_BUS_VTABLE_END,
};

int bus_gpu_register(sd_bus *bus, Inventory *inv)
{
        int r;

        r = sd_bus_add_fallback_vtable(bus, NULL, VGPUD_GPU_PATH_PREFIX, VGPUD_GPU_IFACE, gpu_vtable,
                                       gpu_find, inv);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(bus, NULL, VGPUD_GPU_PATH_PREFIX, gpu_enumerate, inv);
}
