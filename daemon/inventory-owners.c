/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who holds which device: the leases as the inventory shows them (Device.Owner and Slot), and the
 * orphans: running devices that neither a lease nor a definition accounts for (Manager.Orphans), kept
 * as a set that each device's change, lease or not, updates; only new definitions or a new lease file
 * look at every device again. */

#include <string.h>

#include "inventory-internal.h"

void inventory_set_leases(Inventory *inv, Leases *leases)
{
        inv->leases = leases;
        inventory_orphans_invalidate(inv);
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

/* Is uuid's device an orphan now: in the set or out of it. */
static void orphan_update(Inventory *inv, const char *uuid)
{
        InvDevice *d = inventory_get_device(inv, uuid);
        bool now = d && is_orphan(inv, d);

        if (now == g_hash_table_contains(inv->orphans, uuid))
                return;
        if (now)
                g_hash_table_add(inv->orphans, g_strdup(uuid));
        else
                g_hash_table_remove(inv->orphans, uuid);
        inv->orphans_changed = true;
}

void inventory_orphans_device_changed(Inventory *inv, const char *uuid)
{
        if (inv->orphans)
                orphan_update(inv, uuid);
}

void inventory_orphans_invalidate(Inventory *inv)
{
        g_clear_pointer(&inv->orphans, g_hash_table_unref);
}

/* Every device once: after the first scan, new leases or changed definitions. */
static void orphans_compute(Inventory *inv)
{
        g_autoptr(GHashTable) old = g_steal_pointer(&inv->orphans);
        GHashTableIter it;
        gpointer v;

        inv->orphans = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_hash_table_iter_init(&it, inv->devices);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                InvDevice *d = v;
                if (is_orphan(inv, d))
                        g_hash_table_add(inv->orphans, g_strdup(d->uuid));
        }
        if (!old || g_hash_table_size(old) != g_hash_table_size(inv->orphans))
                inv->orphans_changed = true;
        else {
                g_hash_table_iter_init(&it, old);
                while (g_hash_table_iter_next(&it, &v, NULL))
                        if (!g_hash_table_contains(inv->orphans, v)) {
                                inv->orphans_changed = true;
                                break;
                        }
        }
}

void inventory_check_orphans(Inventory *inv)
{
        char *names[] = {(char *)"Orphans", NULL};

        if (!inv->orphans)
                orphans_compute(inv);
        if (!inv->orphans_changed)
                return;
        inv->orphans_changed = false;
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
        inventory_orphans_device_changed(inv, uuid);
        inventory_check_orphans(inv);
}
