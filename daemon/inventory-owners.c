/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who holds which device: the leases as the inventory shows them (Device.Owner and Slot), and the
 * orphans: running devices that neither a lease nor a definition accounts for (Manager.Orphans). */

#include <string.h>

#include "inventory-internal.h"

void inventory_set_leases(Inventory *inv, Leases *leases)
{
        inv->leases = leases;
        inventory_check_orphans(inv);
}

Lease *inventory_lease(Inventory *inv, const char *uuid)
{
        return inv->leases ? leases_get(inv->leases, uuid) : NULL;
}

static bool is_orphan(Inventory *inv, const InvDevice *d)
{
        char key[512];

        if (inventory_lease(inv, d->uuid))
                return false;
        if (!d->sys->parent)
                return true;
        g_snprintf(key, sizeof(key), "%s/%s", d->sys->parent, d->uuid);
        return !g_hash_table_contains(inv->definitions, key);
}

GPtrArray *inventory_orphans(Inventory *inv)
{
        g_autoptr(GPtrArray) devices = inventory_list_devices(inv);
        GPtrArray *orphans = g_ptr_array_new();

        for (guint i = 0; i < devices->len; i++) {
                InvDevice *d = devices->pdata[i];
                if (is_orphan(inv, d))
                        g_ptr_array_add(orphans, d->uuid);
        }
        return orphans;
}

void inventory_check_orphans(Inventory *inv)
{
        char *names[] = {(char *)"Orphans", NULL};
        guint count = 0, hash = 0;
        GHashTableIter it;
        gpointer v;

        /* order-independent: no sorting of thousands of devices on every update */
        g_hash_table_iter_init(&it, inv->devices);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                InvDevice *d = v;
                if (is_orphan(inv, d)) {
                        count++;
                        hash += g_str_hash(d->uuid) * 2654435761u;
                }
        }
        if (count == inv->orphans_count && hash == inv->orphans_hash)
                return;
        inv->orphans_count = count;
        inv->orphans_hash = hash;
        if (inv->observer && inv->observer->properties_changed)
                inv->observer->properties_changed(inv->userdata, INV_OBJECT_MANAGER, VGPUD_MANAGER_PATH,
                                                  names);
}

void inventory_lease_changed(Inventory *inv, const char *uuid)
{
        char *names[] = {(char *)"Owner", (char *)"Slot", NULL};

        if (inventory_get_device(inv, uuid) && inv->observer && inv->observer->properties_changed) {
                g_autofree char *path = inventory_device_path(uuid);
                inv->observer->properties_changed(inv->userdata, INV_OBJECT_DEVICE, path, names);
        }
        inventory_check_orphans(inv);
}
