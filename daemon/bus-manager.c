/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.vgpud1.Manager at /org/vgpud1, the object manager, and the observer that turns inventory
 * changes into InterfacesAdded/InterfacesRemoved/PropertiesChanged. */

#include <errno.h>

#include "config.h"
#include "errors.h"
#include "log.h"
#include "bus.h"

const char *bus_interface_of(InvObjectKind kind)
{
        switch (kind) {
        case INV_OBJECT_GPU: return "org.vgpud1.Gpu";
        case INV_OBJECT_DEVICE: return "org.vgpud1.Device";
        case INV_OBJECT_DEFINITION: return "org.vgpud1.Definition";
        case INV_OBJECT_MANAGER: return "org.vgpud1.Manager";
        }
        return NULL;
}

static void on_object_added(void *userdata, InvObjectKind kind, const char *path)
{
        Manager *m = userdata;
        int r = sd_bus_emit_object_added(m->bus, path);
        if (r < 0)
                log_warning_errno(r, "Cannot announce %s: %m", path);
}

static void on_object_removed(void *userdata, InvObjectKind kind, const char *path)
{
        Manager *m = userdata;
        int r = sd_bus_emit_object_removed(m->bus, path);
        if (r < 0)
                log_warning_errno(r, "Cannot announce removal of %s: %m", path);
}

static void on_properties_changed(void *userdata, InvObjectKind kind, const char *path, char **names)
{
        Manager *m = userdata;
        int r = sd_bus_emit_properties_changed_strv(m->bus, path, bus_interface_of(kind), names);
        if (r < 0)
                log_warning_errno(r, "Cannot announce property changes of %s: %m", path);
}

static const InventoryObserver bus_observer = {
        .object_added = on_object_added,
        .object_removed = on_object_removed,
        .properties_changed = on_properties_changed,
};

static int prop_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", VGPUD_VERSION);
}

static int prop_definitions_dir(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", inventory_definitions_dir(m->inventory));
}

static int prop_warnings(sd_bus *bus, const char *path, const char *interface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        GPtrArray *w = inventory_warnings(m->inventory);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        for (guint i = 0; i < w->len; i++) {
                r = sd_bus_message_append(reply, "s", (const char *) w->pdata[i]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int method_rescan(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        int r;

        r = inventory_rescan(m->inventory);
        if (r < 0)
                return vgpud_bus_error_set(error, r, "Rescan failed: %s", g_strerror(-r));
        return sd_bus_reply_method_return(msg, NULL);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", prop_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("DefinitionsDirectory", "s", prop_definitions_dir, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Warnings", "as", prop_warnings, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Rescan", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_rescan, 0),
        SD_BUS_VTABLE_END,
};

int bus_setup(Manager *m)
{
        int r;

        r = sd_bus_add_object_manager(m->bus, NULL, VGPUD_MANAGER_PATH);
        if (r < 0)
                return log_error_errno(r, "Cannot add the object manager: %m");
        r = sd_bus_add_object_vtable(m->bus, NULL, VGPUD_MANAGER_PATH, "org.vgpud1.Manager", manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Cannot add the Manager vtable: %m");
        r = bus_gpu_register(m->bus, m->inventory);
        if (r < 0)
                return log_error_errno(r, "Cannot add the Gpu vtable: %m");
        r = bus_device_register(m->bus, m->inventory);
        if (r < 0)
                return log_error_errno(r, "Cannot add the Device vtable: %m");
        r = bus_definition_register(m->bus, m->inventory);
        if (r < 0)
                return log_error_errno(r, "Cannot add the Definition vtable: %m");
        inventory_set_observer(m->inventory, &bus_observer, m);
        return 0;
}
