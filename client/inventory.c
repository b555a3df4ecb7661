/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The inventory's memory and order (inventory.h), whoever fills it. The structs live in a few large
 * chunks owned by the inventory, not in one allocation each. The daemon sorts its lists already; they
 * are only reordered here when they are not in mdevctl's order (devices come by UUID and are grouped by
 * parent in linear time). */

#include <string.h>

#include "inventory.h"
#include "macro.h"

static void vc_gpu_free(VcGpu *g)
{
        g_ptr_array_unref(g->types);
}

static void vc_definition_free(VcDefinition *d)
{
        g_ptr_array_unref(d->attrs);
}

void vc_inventory_free(VcInventory *inv)
{
        if (!inv)
                return;
        g_clear_pointer(&inv->gpus, g_ptr_array_unref);
        g_clear_pointer(&inv->devices, g_ptr_array_unref);
        g_clear_pointer(&inv->definitions, g_ptr_array_unref);
        g_clear_pointer(&inv->warnings, g_strfreev);
        g_clear_pointer(&inv->chunks, g_ptr_array_unref);
        /* Last: the strings above point into these. */
        g_clear_pointer(&inv->keep, g_ptr_array_unref);
        g_free(inv);
}

VcInventory *vc_inventory_new(GDestroyNotify keep_free)
{
        VcInventory *inv = g_new0(VcInventory, 1);

        inv->gpus = g_ptr_array_new_with_free_func((GDestroyNotify)vc_gpu_free);
        inv->devices = g_ptr_array_new();
        inv->definitions = g_ptr_array_new_with_free_func((GDestroyNotify)vc_definition_free);
        inv->keep = g_ptr_array_new_with_free_func(keep_free);
        inv->chunks = g_ptr_array_new_with_free_func(g_free);
        return inv;
}

void vc_inventory_keep(VcInventory *inv, gpointer p)
{
        g_ptr_array_add(inv->keep, p);
}

#define CHUNK_SIZE (64 * 1024)

void *vc_inventory_alloc(VcInventory *inv, size_t size)
{
        void *p;

        size = (size + 15) & ~(size_t)15;
        if (inv->chunks->len == 0 || inv->chunk_used + size > CHUNK_SIZE) {
                g_ptr_array_add(inv->chunks, g_malloc(MAX(size, (size_t)CHUNK_SIZE)));
                inv->chunk_used = 0;
        }
        p = (char *)inv->chunks->pdata[inv->chunks->len - 1] + inv->chunk_used;
        inv->chunk_used += size;
        return p;
}

VcGpu *vc_inventory_add_gpu(VcInventory *inv, const char *path)
{
        static const VcGpu empty = {
                .name = "",
                .sysfs_path = "",
                .subsystem = "",
                .driver = "",
                .vendor = "",
                .model = "",
                .subsystem_model = "",
                .core = "",
                .board = "",
                .board_model = "",
        };
        VcGpu *g = vc_inventory_alloc(inv, sizeof(VcGpu));

        *g = empty;
        g->types = g_ptr_array_new();
        g->object_path = path;
        g->numa_node = -1;
        g_ptr_array_add(inv->gpus, g);
        return g;
}

/* Thousands of these for `list`: a copy of a template. */
VcDevice *vc_inventory_add_device(VcInventory *inv, const char *path)
{
        static const VcDevice empty = {
                .object_path = "",
                .uuid = "",
                .parent = "",
                .gpu = "",
                .type_id = "",
                .type_name = "",
                .sysfs_path = "",
                .user = "",
                .user_kind = "",
                .gpu_instance_id = -1,
        };
        VcDevice *d = vc_inventory_alloc(inv, sizeof(VcDevice));

        *d = empty;
        d->object_path = path;
        g_ptr_array_add(inv->devices, d);
        return d;
}

VcDefinition *vc_inventory_add_definition(VcInventory *inv, const char *path)
{
        static const VcDefinition empty = {
                .uuid = "",
                .parent = "",
                .type_id = "",
                .start = "",
                .path = "",
        };
        VcDefinition *d = vc_inventory_alloc(inv, sizeof(VcDefinition));

        *d = empty;
        d->attrs = g_ptr_array_new();
        d->object_path = path;
        g_ptr_array_add(inv->definitions, d);
        return d;
}

static gint compare_gpus(gconstpointer a, gconstpointer b)
{
        const VcGpu *x = *(VcGpu *const *)a, *y = *(VcGpu *const *)b;
        return strcmp(x->name, y->name);
}

static gint compare_types(gconstpointer a, gconstpointer b)
{
        const VcType *x = *(VcType *const *)a, *y = *(VcType *const *)b;
        return strcmp(x->id, y->id);
}

static gint compare_strings(gconstpointer a, gconstpointer b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static gint compare_devices(gconstpointer a, gconstpointer b)
{
        const VcDevice *x = *(VcDevice *const *)a, *y = *(VcDevice *const *)b;
        int c = strcmp(x->parent, y->parent);
        return c != 0 ? c : strcmp(x->uuid, y->uuid);
}

static gint compare_definitions(gconstpointer a, gconstpointer b)
{
        const VcDefinition *x = *(VcDefinition *const *)a, *y = *(VcDefinition *const *)b;
        int c = strcmp(x->parent, y->parent);
        return c != 0 ? c : strcmp(x->uuid, y->uuid);
}

/* Sort a only when it is not in order already (the daemon sends most lists sorted). */
static void sort_if_needed(GPtrArray *a, GCompareFunc compare)
{
        for (guint i = 1; i < a->len; i++)
                if (compare(&a->pdata[i - 1], &a->pdata[i]) > 0) {
                        g_ptr_array_sort(a, compare);
                        return;
                }
}

/* Put the devices in (parent, uuid) order. They come sorted by UUID (ListDevices) or in any order
 * (GetManagedObjects): group them by parent in one pass (keeping their order), sort the few parent
 * names, and sort a group only when it is not in UUID order. */
static void sort_devices(GPtrArray *devices)
{
        g_autoptr(GHashTable) groups = NULL;
        g_autoptr(GPtrArray) names = NULL;
        guint k = 0;

        if (devices->len < 2)
                return;
        groups = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)g_ptr_array_unref);
        names = g_ptr_array_new();
        for (guint i = 0; i < devices->len; i++) {
                VcDevice *d = devices->pdata[i];
                GPtrArray *group = g_hash_table_lookup(groups, d->parent);

                if (!group) {
                        group = g_ptr_array_new();
                        g_hash_table_insert(groups, (gpointer)d->parent, group);
                        g_ptr_array_add(names, (gpointer)d->parent);
                }
                g_ptr_array_add(group, d);
        }
        g_ptr_array_sort(names, compare_strings);
        for (guint i = 0; i < names->len; i++) {
                GPtrArray *group = g_hash_table_lookup(groups, names->pdata[i]);

                sort_if_needed(group, compare_devices);
                memcpy(devices->pdata + k, group->pdata, group->len * sizeof(gpointer));
                k += group->len;
        }
}

void vc_inventory_sort(VcInventory *inv)
{
        sort_if_needed(inv->gpus, compare_gpus);
        for (guint i = 0; i < inv->gpus->len; i++) {
                VcGpu *g = inv->gpus->pdata[i];
                sort_if_needed(g->types, compare_types);
        }
        sort_devices(inv->devices);
        sort_if_needed(inv->definitions, compare_definitions);
}
