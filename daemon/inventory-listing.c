/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a listing holds (inventory.h: inventory_listing_*()): the one rule that Manager.List*,
 * List*Of (bus-manager.c) and the snapshot for read commands (snapshot-writer.c) share, so that the
 * two ways of reading can never disagree about which parents, devices and definitions they show. */

#include "inventory-internal.h"
#include "strutil.h"

/* Does an object of backend b belong in a listing of backend (NULL or "": all)? */
static bool listed(const Backend *b, const char *backend)
{
        return str_empty(backend) || g_str_equal(backend_name(b), backend);
}

GPtrArray *inventory_listing_parents(Inventory *inv, const char *backend)
{
        GPtrArray *parents = inventory_list_parents(inv); /* a new array: kept in place */
        guint n = 0;

        for (guint i = 0; i < parents->len; i++)
                if (listed(((InvParent *)parents->pdata[i])->sys->backend, backend))
                        parents->pdata[n++] = parents->pdata[i];
        g_ptr_array_set_size(parents, n);
        return parents;
}

GPtrArray *inventory_listing_devices(Inventory *inv, const char *backend)
{
        g_autoptr(GPtrArray) all = inventory_list_devices(inv); /* the shared sorted cache: not changed */
        GPtrArray *devices = g_ptr_array_sized_new(all->len);

        for (guint i = 0; i < all->len; i++)
                if (listed(((InvDevice *)all->pdata[i])->sys->backend, backend))
                        g_ptr_array_add(devices, all->pdata[i]);
        return devices;
}

GPtrArray *inventory_listing_definitions(Inventory *inv, const char *backend)
{
        Backend *b = str_empty(backend) ? NULL : inventory_backend(inv, backend);
        GPtrArray *defs = inventory_list_definitions(inv); /* a new array: kept in place */
        guint n = 0;

        /* a definition belongs to the backend whose store holds it (mdevctl's, or vgpud's own) */
        for (guint i = 0; i < defs->len; i++)
                if (!b || ((InvDefinition *)defs->pdata[i])->own_store == b->class->own_store)
                        defs->pdata[n++] = defs->pdata[i];
        g_ptr_array_set_size(defs, n);
        return defs;
}
