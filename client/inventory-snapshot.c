/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The published snapshot into VcInventory (inventory-snapshot.h): one pass of a cursor over the file's
 * bytes, which the inventory keeps; every string points into them. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "inventory-snapshot.h"
#include "names.h"
#include "snapshot.h"

const char *vc_snapshot_path(void)
{
        return vc_vgpud_path("VGPUD_SNAPSHOT", VGPUD_SNAPSHOT);
}

/* ListTypes: a(soa(ssssiuts)) */
static void read_parents(VgpudSnapshotCursor *c, VcInventory *inv, bool keep)
{
        uint32_t n = vgpud_snapshot_get_count(c, 2 + 4);

        for (uint32_t i = 0; i < n; i++) {
                const char *name = vgpud_snapshot_get_str(c);
                const char *path = vgpud_snapshot_get_str(c);
                uint32_t n_types = vgpud_snapshot_get_count(c, 5 + 4 + 4 + 8);
                VcGpu *g = keep ? vc_inventory_add_gpu(inv, path) : NULL;

                if (g)
                        g->name = name;
                for (uint32_t j = 0; j < n_types; j++) {
                        VcType t;

                        t.id = vgpud_snapshot_get_str(c);
                        t.name = vgpud_snapshot_get_str(c);
                        t.description = vgpud_snapshot_get_str(c);
                        t.device_api = vgpud_snapshot_get_str(c);
                        t.available_instances = vgpud_snapshot_get_i32(c);
                        t.max_instances = vgpud_snapshot_get_u32(c);
                        t.framebuffer_mib = vgpud_snapshot_get_u64(c);
                        t.profile = vgpud_snapshot_get_str(c);
                        if (g)
                                g_ptr_array_add(g->types,
                                                memcpy(vc_inventory_alloc(inv, sizeof t), &t, sizeof t));
                }
        }
}

/* ListDevices: a(sss) */
static void read_devices(VgpudSnapshotCursor *c, VcInventory *inv)
{
        uint32_t n = vgpud_snapshot_get_count(c, 3);

        for (uint32_t i = 0; i < n; i++) {
                VcDevice *d = vc_inventory_add_device(inv, "");

                d->uuid = vgpud_snapshot_get_str(c);
                d->parent = vgpud_snapshot_get_str(c);
                d->type_id = vgpud_snapshot_get_str(c);
        }
}

/* ListDefinitions: a(ssssa(ss)o), then the Warnings (as) */
static void read_definitions(VgpudSnapshotCursor *c, VcInventory *inv)
{
        uint32_t n = vgpud_snapshot_get_count(c, 4 + 4 + 1);

        for (uint32_t i = 0; i < n; i++) {
                const char *parent = vgpud_snapshot_get_str(c);
                const char *uuid = vgpud_snapshot_get_str(c);
                const char *type_id = vgpud_snapshot_get_str(c);
                const char *start = vgpud_snapshot_get_str(c);
                uint32_t n_attrs = vgpud_snapshot_get_count(c, 2);
                VcDefinition *d = vc_inventory_add_definition(inv, "");

                d->parent = parent;
                d->uuid = uuid;
                d->type_id = type_id;
                d->start = start;
                for (uint32_t j = 0; j < n_attrs; j++) {
                        VcAttr *a = vc_inventory_alloc(inv, sizeof(VcAttr));

                        a->name = vgpud_snapshot_get_str(c);
                        a->value = vgpud_snapshot_get_str(c);
                        g_ptr_array_add(d->attrs, a);
                }
                d->object_path = vgpud_snapshot_get_str(c);
        }
        n = vgpud_snapshot_get_count(c, 1);
        inv->warnings = g_new0(char *, n + 1);
        for (uint32_t i = 0; i < n; i++)
                inv->warnings[i] = g_strdup(vgpud_snapshot_get_str(c));
}

int vc_inventory_from_snapshot(GBytes *data, bool types, VcInventory **ret)
{
        g_autoptr(VcInventory) inv = vc_inventory_new((GDestroyNotify)g_bytes_unref);
        VgpudSnapshotCursor c;
        int r;

        r = vgpud_snapshot_cursor_init(&c, data);
        if (r < 0)
                return r;
        vc_inventory_keep(inv, g_bytes_ref(data)); /* the strings point into it */
        /* the types come first: walked over (a few hundred) when only the listing is wanted */
        read_parents(&c, inv, types);
        if (!types) {
                read_devices(&c, inv);
                read_definitions(&c, inv);
        }
        r = vgpud_snapshot_done(&c, !types);
        if (r < 0)
                return r;
        vc_inventory_sort(inv);
        *ret = g_steal_pointer(&inv);
        return 0;
}

int vc_inventory_load_snapshot(const char *path, bool types, VcInventory **ret)
{
        g_autoptr(GBytes) data = NULL;
        int r;

        r = vgpud_snapshot_read(path, &data);
        if (r < 0)
                return r;
        return vc_inventory_from_snapshot(data, types, ret);
}
