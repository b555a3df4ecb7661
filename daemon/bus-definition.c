/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.vgpud1.Definition: one object per persistent definition. */

#include <errno.h>

#include "bus.h"

static int definition_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                           void **found, sd_bus_error *error)
{
        InvDefinition *d = inventory_get_definition_by_path(userdata, path);

        if (!d)
                return 0;
        *found = d;
        return 1;
}

static int definition_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes,
                                sd_bus_error *error)
{
        *nodes = inventory_definition_paths(userdata);
        return 0;
}

BUS_STRING_GETTER(prop_uuid, InvDefinition, o->uuid)
BUS_STRING_GETTER(prop_parent, InvDefinition, o->parent)
BUS_STRING_GETTER(prop_type_id, InvDefinition, o->type_shown)
BUS_STRING_GETTER(prop_start, InvDefinition, o->def->autostart ? "auto" : "manual")
BUS_STRING_GETTER(prop_path, InvDefinition, o->file)
BUS_GETTER(prop_mixed_size, InvDefinition, "b", int, o->def->mixed_size)

static int prop_attributes(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        InvDefinition *d = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ss)");
        if (r < 0)
                return r;
        for (guint i = 0; i < d->def->attrs->len; i++) {
                MdevAttr *a = d->def->attrs->pdata[i];
                r = sd_bus_message_append(reply, "(ss)", a->name, a->value);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

#define CONST   SD_BUS_VTABLE_PROPERTY_CONST
#define CHANGES SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE

static const sd_bus_vtable definition_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Uuid", "s", prop_uuid, 0, CONST),
        SD_BUS_PROPERTY("Parent", "s", prop_parent, 0, CONST),
        SD_BUS_PROPERTY("TypeId", "s", prop_type_id, 0, CHANGES),
        SD_BUS_PROPERTY("Start", "s", prop_start, 0, CHANGES),
        SD_BUS_PROPERTY("Attributes", "a(ss)", prop_attributes, 0, CHANGES),
        SD_BUS_PROPERTY("Path", "s", prop_path, 0, CONST),
        SD_BUS_PROPERTY("MixedSize", "b", prop_mixed_size, 0, CHANGES),
        SD_BUS_VTABLE_END,
};

int bus_definition_register(sd_bus *bus, Inventory *inv)
{
        int r;

        r = sd_bus_add_fallback_vtable(bus, NULL, VGPUD_DEFINITION_PATH_PREFIX, VGPUD_DEFINITION_IFACE,
                                       definition_vtable, definition_find, inv);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(bus, NULL, VGPUD_DEFINITION_PATH_PREFIX, definition_enumerate,
                                          inv);
}
