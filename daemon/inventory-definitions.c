/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The inventory's definitions: the Definition objects synced from the definitions directory (mdevctl's
 * /etc/mdevctl.d) and its warnings (skipped files), with their signals. */

#include <string.h>

#include "macro.h"
#include "log.h"
#include "store.h"
#include "name.h"
#include "inventory-internal.h"

void inventory_definition_free(InvDefinition *d)
{
        if (!d)
                return;
        g_free(d->key);
        g_free(d->parent);
        g_free(d->object_path);
        g_free(d->file);
        g_free(d->type_shown);
        mdev_def_free(d->def);
        g_free(d);
}

GPtrArray *inventory_warnings(Inventory *inv)
{
        return inv->warnings;
}

static int compare_lines(gconstpointer a, gconstpointer b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void rebuild_warnings(Inventory *inv)
{
        g_autoptr(GPtrArray) failures = g_ptr_array_new();
        GHashTableIter it;
        gpointer v;

        g_ptr_array_set_size(inv->warnings, 0);
        for (guint i = 0; i < inv->sysfs_warnings->len; i++)
                g_ptr_array_add(inv->warnings, inv->sysfs_warnings->pdata[i]);
        for (guint i = 0; i < inv->store_warnings->len; i++)
                g_ptr_array_add(inv->warnings, inv->store_warnings->pdata[i]);
        for (guint i = 0; i < inv->other_warnings->len; i++)
                g_ptr_array_add(inv->warnings, inv->other_warnings->pdata[i]);
        g_hash_table_iter_init(&it, inv->start_failures);
        while (g_hash_table_iter_next(&it, NULL, &v))
                g_ptr_array_add(failures, v);
        g_ptr_array_sort(failures, compare_lines);
        for (guint i = 0; i < failures->len; i++)
                g_ptr_array_add(inv->warnings, failures->pdata[i]);
}

static void warnings_changed(Inventory *inv)
{
        char *names[] = {(char *)"Warnings", NULL};

        rebuild_warnings(inv);
        if (inv->observer && inv->observer->properties_changed)
                inv->observer->properties_changed(inv->userdata, INV_OBJECT_MANAGER, VGPUD_MANAGER_PATH,
                                                  names);
}

void inventory_add_warning(Inventory *inv, const char *line)
{
        g_ptr_array_add(inv->other_warnings, g_strdup(line));
        warnings_changed(inv);
}

void inventory_set_start_failure(Inventory *inv, const char *parent, const char *uuid, const char *message)
{
        g_autofree char *key = g_strconcat(parent, "/", uuid, NULL);
        const char *old = g_hash_table_lookup(inv->start_failures, key);
        g_autofree char *line = NULL;

        if (!message) {
                if (g_hash_table_remove(inv->start_failures, key))
                        warnings_changed(inv);
                return;
        }
        line = g_strdup_printf("%s/%s/%s: autostart failed: %s", inventory_definitions_dir_for(inv, parent),
                               parent, uuid, message);
        if (old && g_str_equal(old, line))
                return;
        g_hash_table_insert(inv->start_failures, g_steal_pointer(&key), g_steal_pointer(&line));
        warnings_changed(inv);
}

/* ---- definitions ---- */

static bool attrs_equal(const MdevDef *a, const MdevDef *b)
{
        if (a->attrs->len != b->attrs->len)
                return false;
        for (guint i = 0; i < a->attrs->len; i++) {
                MdevAttr *x = a->attrs->pdata[i], *y = b->attrs->pdata[i];
                if (!str_eq0(x->name, y->name) || !str_eq0(x->value, y->value))
                        return false;
        }
        return true;
}

/* Take sd's definition into the inventory: a new Definition object, or the changed properties of the
 * one there (own_store: it is in vgpud's own store). Returns the inventory's definition. */
static InvDefinition *sync_one(Inventory *inv, StoredDef *sd, bool own_store)
{
        g_autofree char *key = g_strconcat(sd->parent, "/", sd->uuid, NULL);
        InvDefinition *d = g_hash_table_lookup(inv->definitions, key);

        if (!own_store)
                sd->def->mixed_size = false; /* vgpud's member for VF vGPUs: mdevctl ignores it, so do we */
        if (d) {
                const char *changed[5];
                size_t n = 0;

                if (!str_eq0(d->def->mdev_type, sd->def->mdev_type))
                        changed[n++] = "TypeId";
                if (d->def->autostart != sd->def->autostart)
                        changed[n++] = "Start";
                if (!attrs_equal(d->def, sd->def))
                        changed[n++] = "Attributes";
                if (d->def->mixed_size != sd->def->mixed_size)
                        changed[n++] = "MixedSize";
                changed[n] = NULL;
                mdev_def_free(d->def);
                d->def = g_steal_pointer(&sd->def);
                g_free(d->type_shown);
                d->type_shown = name_shown(d->def->mdev_type);
                if (n > 0 && inv->observer && inv->observer->properties_changed)
                        inv->observer->properties_changed(inv->userdata, INV_OBJECT_DEFINITION,
                                                          d->object_path, (char **)changed);
                return d;
        }
        d = g_new0(InvDefinition, 1);
        d->key = g_steal_pointer(&key);
        d->parent = g_strdup(sd->parent);
        memcpy(d->uuid, sd->uuid, sizeof(d->uuid));
        d->object_path = inventory_definition_path(sd->parent, sd->uuid);
        d->file = g_strdup(sd->path);
        d->own_store = own_store;
        d->def = g_steal_pointer(&sd->def);
        d->type_shown = name_shown(d->def->mdev_type);
        g_hash_table_insert(inv->definitions, d->key, d);
        inventory_announce_added(inv, INV_OBJECT_DEFINITION, d->object_path);
        inventory_orphans_device_changed(inv, d->uuid);
        return d;
}

static void sync_definitions(Inventory *inv, GPtrArray *defs, guint own_from)
{
        g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
        GHashTableIter it;
        gpointer v;

        for (guint i = 0; i < defs->len; i++) {
                StoredDef *sd = defs->pdata[i];
                g_autofree char *key = g_strconcat(sd->parent, "/", sd->uuid, NULL);

                if (g_hash_table_contains(seen, key))
                        continue; /* in both stores: mdevctl's wins */
                g_hash_table_add(seen, sync_one(inv, sd, i >= own_from)->key);
        }

        g_hash_table_iter_init(&it, inv->definitions);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                InvDefinition *d = v;
                if (g_hash_table_contains(seen, d->key))
                        continue;
                char uuid[sizeof(d->uuid)];

                memcpy(uuid, d->uuid, sizeof(uuid));
                inventory_announce_removed(inv, INV_OBJECT_DEFINITION, d->object_path);
                g_hash_table_iter_remove(&it);
                inventory_orphans_device_changed(inv, uuid);
        }
}

static bool warnings_equal(GPtrArray *a, GPtrArray *b)
{
        if (a->len != b->len)
                return false;
        for (guint i = 0; i < a->len; i++)
                if (!g_str_equal(a->pdata[i], b->pdata[i]))
                        return false;
        return true;
}

int inventory_load_definitions(Inventory *inv)
{
        g_autoptr(GPtrArray) defs = NULL, warnings = NULL;
        guint own_from = G_MAXUINT; /* defs from here on are from the own store */
        int r;

        r = store_load_all(inv->definitions_dir, &defs, &warnings);
        if (r < 0)
                return log_error_errno(r, "Cannot read definitions in %s: %m", inv->definitions_dir);
        if (inv->own_definitions_dir) {
                g_autoptr(GPtrArray) own = NULL, own_warnings = NULL;

                r = store_load_all(inv->own_definitions_dir, &own, &own_warnings);
                if (r < 0)
                        return log_error_errno(r, "Cannot read definitions in %s: %m",
                                               inv->own_definitions_dir);
                g_ptr_array_extend_and_steal(warnings, g_steal_pointer(&own_warnings));
                own_from = defs->len;
                g_ptr_array_extend_and_steal(defs, g_steal_pointer(&own));
        }
        for (guint i = 0; i < warnings->len; i++)
                if (!g_ptr_array_find_with_equal_func(inv->store_warnings, warnings->pdata[i], g_str_equal,
                                                      NULL))
                        log_warning("%s", (char *)warnings->pdata[i]);
        sync_definitions(inv, defs, own_from);
        if (!warnings_equal(inv->store_warnings, warnings)) {
                g_ptr_array_unref(inv->store_warnings);
                inv->store_warnings = g_steal_pointer(&warnings);
                warnings_changed(inv);
        }
        return 0;
}

int inventory_reload_definitions(Inventory *inv)
{
        int r = inventory_load_definitions(inv);
        inventory_finish_update(inv);
        return r;
}

/* Take what reading <parent>/<uuid> gave (r, and sd when r >= 0) into the inventory. */
static int apply_one(Inventory *inv, const char *parent, const char *uuid, int r, StoredDef *sd)
{
        if (r == -ENOENT) {
                g_autofree char *key = g_strconcat(parent, "/", uuid, NULL);
                InvDefinition *d = g_hash_table_lookup(inv->definitions, key);

                if (d) {
                        inventory_announce_removed(inv, INV_OBJECT_DEFINITION, d->object_path);
                        g_hash_table_remove(inv->definitions, key);
                        inventory_orphans_device_changed(inv, uuid);
                }
        } else if (r < 0 || !name_is_valid(sd->def->mdev_type)) {
                return inventory_reload_definitions(inv); /* with its warning, as a full read gives it */
        } else {
                sync_one(inv, sd, inventory_definitions_dir_for(inv, parent) != inv->definitions_dir);
        }
        inventory_finish_update(inv);
        return 0;
}

int inventory_reload_definition(Inventory *inv, const char *parent, const char *uuid)
{
        g_autoptr(StoredDef) sd = NULL;
        g_autofree char *why = NULL;
        int r;

        /* a file that was skipped with a warning may be the one that changed: read them all again */
        if (inv->store_warnings->len > 0)
                return inventory_reload_definitions(inv);
        r = store_load_one(inventory_definitions_dir_for(inv, parent), parent, uuid, &sd, &why);
        return apply_one(inv, parent, uuid, r, sd);
}

int inventory_put_definition(Inventory *inv, StoredDef *sd)
{
        g_autoptr(StoredDef) owned = sd;

        if (inv->store_warnings->len > 0)
                return inventory_reload_definitions(inv);
        return apply_one(inv, owned->parent, owned->uuid, 0, owned);
}
