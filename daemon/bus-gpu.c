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

static const char *nz(const char *s)
{
        return s ? s : "";
}

static int prop_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                       sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        InvParent *p = userdata;
        const char *v = NULL;

        if (g_str_equal(property, "Vendor") || g_str_equal(property, "Model") ||
            g_str_equal(property, "SubsystemModel"))
                names_ensure(bus, p);
        switch (property[0]) {
        case 'N': v = p->name; break;                                        /* Name */
        case 'D': v = p->sys->driver; break;                                 /* Driver */
        case 'V': v = p->vendor; break;                                      /* Vendor */
        case 'M': v = p->model; break;                                       /* Model */
        case 'C': v = p->core; break;                                        /* Core */
        case 'B': v = property[5] == 'M' ? p->board_model : p->board; break; /* Board, BoardModel */
        case 'S':
                if (property[1] == 'y')
                        v = p->sys->syspath; /* SysfsPath */
                else if (property[9] == 'M')
                        v = p->subsystem_model; /* SubsystemModel */
                else
                        v = p->sys->subsystem; /* Subsystem */
                break;
        default: return -EINVAL;
        }
        return sd_bus_message_append(reply, "s", nz(v));
}

static int prop_ids(sd_bus *bus, const char *path, const char *interface, const char *property,
                    sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        InvParent *p = userdata;
        uint16_t v;

        if (property[0] == 'V')
                v = p->sys->vendor_id;
        else if (property[0] == 'D')
                v = p->sys->device_id;
        else if (property[9] == 'V')
                v = p->sys->subsystem_vendor_id;
        else
                v = p->sys->subsystem_device_id;
        return sd_bus_message_append(reply, "q", v);
}

static int prop_numa(sd_bus *bus, const char *path, const char *interface, const char *property,
                     sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        InvParent *p = userdata;
        return sd_bus_message_append(reply, "i", (int32_t)p->sys->numa_node);
}

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
                        r = sd_bus_message_append_basic(m, 's', nz(t->name));
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 's', nz(t->description));
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 's', nz(t->device_api));
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 'i', &available);
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 'u', &max_instances);
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 't', &framebuffer);
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 's', nz(v->profile));
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

static int prop_capacity(sd_bus *bus, const char *path, const char *interface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        InvParent *p = userdata;

        if (g_str_equal(property, "SizeClass"))
                return sd_bus_message_append(reply, "t", (uint64_t)p->cap.size_class_mib);
        if (g_str_equal(property, "MixedSize"))
                return sd_bus_message_append(reply, "b", (int)p->cap.mixed_size);
        if (g_str_equal(property, "CoreUsed"))
                return sd_bus_message_append(reply, "u", (uint32_t)p->cap.used);
        return sd_bus_message_append(reply, "u", (uint32_t)p->cap.capacity);
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
        SD_BUS_PROPERTY("Name", "s", prop_string, 0, CONST),
        SD_BUS_PROPERTY("SysfsPath", "s", prop_string, 0, CONST),
        SD_BUS_PROPERTY("Subsystem", "s", prop_string, 0, CONST),
        SD_BUS_PROPERTY("Driver", "s", prop_string, 0, CONST),
        SD_BUS_PROPERTY("VendorId", "q", prop_ids, 0, CONST),
        SD_BUS_PROPERTY("DeviceId", "q", prop_ids, 0, CONST),
        SD_BUS_PROPERTY("SubsystemVendorId", "q", prop_ids, 0, CONST),
        SD_BUS_PROPERTY("SubsystemDeviceId", "q", prop_ids, 0, CONST),
        SD_BUS_PROPERTY("Vendor", "s", prop_string, 0, CONST),
        SD_BUS_PROPERTY("Model", "s", prop_string, 0, CONST),
        SD_BUS_PROPERTY("SubsystemModel", "s", prop_string, 0, CONST),
        SD_BUS_PROPERTY("NumaNode", "i", prop_numa, 0, CONST),
        SD_BUS_PROPERTY("Core", "s", prop_string, 0, CHANGES),
        SD_BUS_PROPERTY("Board", "s", prop_string, 0, CHANGES),
        SD_BUS_PROPERTY("BoardModel", "s", prop_string, 0, CHANGES),
        SD_BUS_PROPERTY("Types", "a(ssssiuts)", prop_types, 0, CHANGES),
        SD_BUS_PROPERTY("SizeClass", "t", prop_capacity, 0, CHANGES),
        SD_BUS_PROPERTY("MixedSize", "b", prop_capacity, 0, CHANGES),
        SD_BUS_PROPERTY("CoreUsed", "u", prop_capacity, 0, CHANGES),
        SD_BUS_PROPERTY("CoreCapacity", "u", prop_capacity, 0, CHANGES),
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
