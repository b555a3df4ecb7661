/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The live inventory: sync from sysfs, derive GPU cores, boards and capacity with the model, and tell
 * the observer what changed. The definitions directory's part is in inventory-definitions.c. */

#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "macro.h"
#include "leases.h"
#include "log.h"
#include "store.h"
#include "topology.h"
#include "inventory-internal.h"

#define GPU_PREFIX        VGPUD_GPU_PATH_PREFIX
#define DEVICE_PREFIX     VGPUD_DEVICE_PATH_PREFIX
#define DEFINITION_PREFIX VGPUD_DEFINITION_PATH_PREFIX

/* Which of a Gpu's changeable properties differ after an update. */
enum {
        CHANGED_TYPES = 1u << 0,
        CHANGED_SIZE_CLASS = 1u << 1,
        CHANGED_MIXED = 1u << 2,
        CHANGED_USED = 1u << 3,
        CHANGED_CAPACITY = 1u << 4,
        CHANGED_DEVICES = 1u << 5,
        CHANGED_CORE = 1u << 6,
        CHANGED_BOARD = 1u << 7,
        CHANGED_BOARD_MODEL = 1u << 8,
};

/* Objects coming and going are worth an info line when they change, not when the daemon starts. */
#define log_object(inv, ...)                    \
        do {                                    \
                if ((inv)->quiet)               \
                        log_debug(__VA_ARGS__); \
                else                            \
                        log_info(__VA_ARGS__);  \
        } while (0)

typedef struct {
        InvObjectKind kind;
        char *path;
} PendingAdd;

static void pending_add_free(PendingAdd *a)
{
        g_free(a->path);
        g_free(a);
}

char *inventory_gpu_path(const char *parent_name)
{
        char *p = NULL;
        return sd_bus_path_encode(GPU_PREFIX, parent_name, &p) < 0 ? NULL : p;
}

char *inventory_device_path(const char *uuid)
{
        char *p = NULL;
        return sd_bus_path_encode(DEVICE_PREFIX, uuid, &p) < 0 ? NULL : p;
}

char *inventory_definition_path(const char *parent_name, const char *uuid)
{
        char *p = NULL;
        return sd_bus_path_encode_many(&p, DEFINITION_PREFIX "/%/%", parent_name, uuid) < 0 ? NULL : p;
}

static void parent_free(InvParent *p)
{
        if (!p)
                return;
        g_free(p->name);
        g_free(p->object_path);
        sysfs_parent_free(p->sys);
        if (p->models)
                g_ptr_array_unref(p->models);
        g_free(p->vendor);
        g_free(p->model);
        g_free(p->subsystem_model);
        g_free(p->core);
        g_free(p->board);
        if (p->devices)
                g_ptr_array_unref(p->devices);
        g_free(p);
}

static void device_free(InvDevice *d)
{
        if (!d)
                return;
        sysfs_device_free(d->sys);
        g_free(d);
}

Inventory *inventory_new(const char *definitions_dir)
{
        Inventory *inv = g_new0(Inventory, 1);

        inv->definitions_dir = g_strdup(definitions_dir);
        inv->parents = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)parent_free);
        inv->devices = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)device_free);
        inv->definitions = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                                 (GDestroyNotify)inventory_definition_free);
        inv->gone_cores = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        inv->device_states = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        inv->typeless = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        inv->sysfs_warnings = g_ptr_array_new_with_free_func(g_free);
        inv->store_warnings = g_ptr_array_new_with_free_func(g_free);
        inv->other_warnings = g_ptr_array_new_with_free_func(g_free);
        inv->start_failures = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        inv->warnings = g_ptr_array_new();
        inv->pci = pci_names_new();
        inv->changed = g_hash_table_new(NULL, NULL);
        inv->added = g_ptr_array_new_with_free_func((GDestroyNotify)pending_add_free);
        return inv;
}

void inventory_free(Inventory *inv)
{
        if (!inv)
                return;
        g_clear_pointer(&inv->sorted_devices, g_ptr_array_unref);
        g_hash_table_unref(inv->devices); /* parents borrow devices: drop parents' lists first */
        g_hash_table_unref(inv->parents);
        g_hash_table_unref(inv->definitions);
        g_hash_table_unref(inv->gone_cores);
        g_hash_table_unref(inv->device_states);
        g_hash_table_unref(inv->typeless);
        g_ptr_array_unref(inv->sysfs_warnings);
        g_ptr_array_unref(inv->store_warnings);
        g_ptr_array_unref(inv->other_warnings);
        g_hash_table_unref(inv->start_failures);
        g_ptr_array_unref(inv->warnings);
        pci_names_free(inv->pci);
        g_hash_table_unref(inv->changed);
        g_ptr_array_unref(inv->added);
        g_free(inv->definitions_dir);
        g_free(inv);
}

void inventory_set_observer(Inventory *inv, const InventoryObserver *observer, void *userdata)
{
        inv->observer = observer;
        inv->userdata = userdata;
}

const char *inventory_definitions_dir(Inventory *inv)
{
        return inv->definitions_dir;
}

unsigned inventory_count(Inventory *inv, InvObjectKind kind)
{
        switch (kind) {
        case INV_OBJECT_GPU: return g_hash_table_size(inv->parents);
        case INV_OBJECT_DEVICE: return g_hash_table_size(inv->devices);
        case INV_OBJECT_DEFINITION: return g_hash_table_size(inv->definitions);
        default: return 1;
        }
}

int inventory_parent_names(Inventory *inv, InvParent *p)
{
        bool loaded = inv->names_loaded;

        if (p->vendor)
                return 0;
        if (p->sys->is_pci) {
                pci_names_lookup(inv->pci, p->sys->vendor_id, p->sys->device_id, p->sys->subsystem_vendor_id,
                                 p->sys->subsystem_device_id, &p->vendor, &p->model, &p->subsystem_model);
                inv->names_loaded = true;
        } else {
                p->vendor = g_strdup("");
                p->model = g_strdup("");
                p->subsystem_model = g_strdup("");
        }
        return inv->names_loaded && !loaded;
}

void inventory_release_names(Inventory *inv)
{
        if (!inv->names_loaded)
                return;
        pci_names_flush(inv->pci);
        inv->names_loaded = false;
        (void)malloc_trim(0);
}

void inventory_set_device_state(Inventory *inv, const char *uuid, const char *state)
{
        InvDevice *d = g_hash_table_lookup(inv->devices, uuid);

        if (state)
                g_hash_table_insert(inv->device_states, g_strdup(uuid), (gpointer)state);
        else
                g_hash_table_remove(inv->device_states, uuid);
        if (!d || g_strcmp0(d->state, state) == 0)
                return;
        d->state = state;
        if (inv->observer && inv->observer->properties_changed) {
                char *names[] = {(char *)"State", NULL};
                g_autofree char *path = inventory_device_path(d->uuid);
                inv->observer->properties_changed(inv->userdata, INV_OBJECT_DEVICE, path, names);
        }
}

bool inventory_has_parent(Inventory *inv, const char *name)
{
        return g_hash_table_contains(inv->parents, name);
}

InvParent *inventory_get_parent(Inventory *inv, const char *name)
{
        return g_hash_table_lookup(inv->parents, name);
}

InvDevice *inventory_get_device(Inventory *inv, const char *uuid)
{
        return g_hash_table_lookup(inv->devices, uuid);
}

InvParent *inventory_get_parent_by_path(Inventory *inv, const char *path)
{
        g_autofree char *name = NULL;

        if (sd_bus_path_decode(path, GPU_PREFIX, &name) <= 0 || !name)
                return NULL;
        return g_hash_table_lookup(inv->parents, name);
}

InvDevice *inventory_get_device_by_path(Inventory *inv, const char *path)
{
        g_autofree char *uuid = NULL;

        if (sd_bus_path_decode(path, DEVICE_PREFIX, &uuid) <= 0 || !uuid)
                return NULL;
        return g_hash_table_lookup(inv->devices, uuid);
}

InvDefinition *inventory_get_definition_by_path(Inventory *inv, const char *path)
{
        g_autofree char *parent = NULL, *uuid = NULL, *key = NULL;

        if (sd_bus_path_decode_many(path, DEFINITION_PREFIX "/%/%", &parent, &uuid) <= 0 || !parent || !uuid)
                return NULL;
        key = g_strconcat(parent, "/", uuid, NULL);
        return g_hash_table_lookup(inv->definitions, key);
}

char *inventory_device_syspath(Inventory *inv, const InvDevice *d)
{
        InvParent *p = g_hash_table_lookup(inv->parents, d->sys->parent);

        if (!p)
                return g_build_filename(SYSFS_MDEV_DEVICES, d->uuid, NULL);
        return g_build_filename(p->sys->syspath, d->uuid, NULL);
}

const VgpuType *inventory_device_type(Inventory *inv, const InvDevice *d)
{
        InvParent *p;

        if (!d->sys->type_id)
                return NULL;
        p = g_hash_table_lookup(inv->parents, d->sys->parent);
        if (!p)
                return NULL;
        for (guint i = 0; i < p->sys->types->len; i++) {
                SysfsType *t = p->sys->types->pdata[i];
                if (g_str_equal(t->id, d->sys->type_id))
                        return p->models->pdata[i];
        }
        return NULL;
}

static int compare_strptr(gconstpointer a, gconstpointer b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The object paths of one table's values, sorted; get() reads a value's path. */
static char **paths_of(GHashTable *table, char *(*get)(gpointer))
{
        g_autoptr(GPtrArray) out = g_ptr_array_new();
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, table);
        while (g_hash_table_iter_next(&it, NULL, &v))
                g_ptr_array_add(out, get(v));
        g_ptr_array_sort(out, compare_strptr);
        g_ptr_array_add(out, NULL);
        return (char **)g_ptr_array_free(g_steal_pointer(&out), FALSE);
}

static char *parent_path_get(gpointer v)
{
        return g_strdup(((InvParent *)v)->object_path);
}
static char *device_path_get(gpointer v)
{
        return inventory_device_path(((InvDevice *)v)->uuid);
}
static char *definition_path_get(gpointer v)
{
        return g_strdup(((InvDefinition *)v)->object_path);
}

static int compare_definitions(gconstpointer a, gconstpointer b)
{
        const InvDefinition *x = *(InvDefinition *const *)a, *y = *(InvDefinition *const *)b;
        int c = strcmp(x->parent, y->parent);
        return c != 0 ? c : strcmp(x->uuid, y->uuid);
}

static int compare_device_ptrs(gconstpointer a, gconstpointer b)
{
        return strcmp((*(InvDevice *const *)a)->uuid, (*(InvDevice *const *)b)->uuid);
}

static GPtrArray *sorted_values(GHashTable *table, GCompareFunc compare)
{
        GPtrArray *out = g_ptr_array_sized_new(g_hash_table_size(table));
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, table);
        while (g_hash_table_iter_next(&it, NULL, &v))
                g_ptr_array_add(out, v);
        g_ptr_array_sort(out, compare);
        return out;
}

static int compare_parents(gconstpointer a, gconstpointer b);

GPtrArray *inventory_list_parents(Inventory *inv)
{
        return sorted_values(inv->parents, compare_parents);
}

GPtrArray *inventory_list_devices(Inventory *inv)
{
        /* listing thousands of devices is the hot path of `vgpuctl list`: sort once per change */
        if (!inv->sorted_devices)
                inv->sorted_devices = sorted_values(inv->devices, compare_device_ptrs);
        return g_ptr_array_ref(inv->sorted_devices);
}

static void devices_changed(Inventory *inv)
{
        g_clear_pointer(&inv->sorted_devices, g_ptr_array_unref);
}

GPtrArray *inventory_list_definitions(Inventory *inv)
{
        return sorted_values(inv->definitions, compare_definitions);
}

char **inventory_gpu_paths(Inventory *inv)
{
        return paths_of(inv->parents, parent_path_get);
}

char **inventory_device_paths(Inventory *inv)
{
        return paths_of(inv->devices, device_path_get);
}

char **inventory_definition_paths(Inventory *inv)
{
        return paths_of(inv->definitions, definition_path_get);
}

/* ---- change bookkeeping ---- */

static void mark_changed(Inventory *inv, InvParent *p, unsigned mask)
{
        unsigned old = GPOINTER_TO_UINT(g_hash_table_lookup(inv->changed, p));
        g_hash_table_insert(inv->changed, p, GUINT_TO_POINTER(old | mask));
}

void inventory_announce_added(Inventory *inv, InvObjectKind kind, const char *path)
{
        PendingAdd *a = g_new0(PendingAdd, 1);
        a->kind = kind;
        a->path = g_strdup(path);
        g_ptr_array_add(inv->added, a);
}

void inventory_announce_removed(Inventory *inv, InvObjectKind kind, const char *path)
{
        /* An object added and removed within one update was never announced. */
        for (guint i = 0; i < inv->added->len; i++) {
                PendingAdd *a = inv->added->pdata[i];
                if (a->kind == kind && g_str_equal(a->path, path)) {
                        g_ptr_array_remove_index(inv->added, i);
                        return;
                }
        }
        if (inv->observer && inv->observer->object_removed)
                inv->observer->object_removed(inv->userdata, kind, path);
}

static bool types_equal(GPtrArray *a, GPtrArray *b)
{
        if (!a || !b || a->len != b->len)
                return a == b;
        for (guint i = 0; i < a->len; i++) {
                SysfsType *x = a->pdata[i], *y = b->pdata[i];
                if (!str_eq0(x->id, y->id) || !str_eq0(x->name, y->name) ||
                    !str_eq0(x->description, y->description) || !str_eq0(x->device_api, y->device_api) ||
                    x->available_instances != y->available_instances)
                        return false;
        }
        return true;
}

/* Does the parent's identity (what the Gpu object's constant properties show) differ? */
static bool identity_differs(const SysfsParent *a, const SysfsParent *b)
{
        return !str_eq0(a->syspath, b->syspath) || !str_eq0(a->subsystem, b->subsystem) ||
               !str_eq0(a->driver, b->driver) || a->vendor_id != b->vendor_id ||
               a->device_id != b->device_id || a->subsystem_vendor_id != b->subsystem_vendor_id ||
               a->subsystem_device_id != b->subsystem_device_id || a->numa_node != b->numa_node ||
               !str_eq0(a->physfn, b->physfn);
}

static GPtrArray *models_for(const SysfsParent *sys)
{
        GPtrArray *models = g_ptr_array_new_with_free_func((GDestroyNotify)vgpu_type_free);

        for (guint i = 0; i < sys->types->len; i++) {
                SysfsType *t = sys->types->pdata[i];
                g_ptr_array_add(models, vgpu_type_new(t->id, t->name, t->description));
        }
        return models;
}

static void parent_set_types_from(InvParent *p)
{
        if (p->models)
                g_ptr_array_unref(p->models);
        p->models = models_for(p->sys);
}

static InvParent *parent_new(Inventory *inv, SysfsParent *sys)
{
        InvParent *p = g_new0(InvParent, 1);

        p->inventory = inv;
        p->name = g_strdup(sys->name);
        p->object_path = inventory_gpu_path(sys->name);
        p->sys = sys;
        parent_set_types_from(p);
        p->core = g_strdup(sys->name);
        p->board = g_strdup(sys->name);
        p->devices = g_ptr_array_new();
        return p;
}

static void remove_parent(Inventory *inv, InvParent *p)
{
        inventory_announce_removed(inv, INV_OBJECT_GPU, p->object_path);
        g_hash_table_remove(inv->changed, p);
        g_hash_table_remove(inv->parents, p->name);
}

/* Bring one parent in line with sysfs. sys is consumed (NULL: the parent is gone). */
static void sync_parent(Inventory *inv, const char *name, SysfsParent *sys)
{
        InvParent *p = g_hash_table_lookup(inv->parents, name);

        if (!sys) {
                if (p) {
                        log_object(inv, "GPU %s is gone", name);
                        remove_parent(inv, p);
                }
                return;
        }
        if (p && identity_differs(p->sys, sys)) {
                log_object(inv, "GPU %s was replaced", name);
                remove_parent(inv, p);
                p = NULL;
        }
        if (!p) {
                p = parent_new(inv, sys);
                g_hash_table_insert(inv->parents, p->name, p);
                inventory_announce_added(inv, INV_OBJECT_GPU, p->object_path);
                log_debug("GPU %s: %u mdev types", name, sys->types->len);
                return;
        }
        if (!types_equal(p->sys->types, sys->types)) {
                g_ptr_array_unref(p->sys->types);
                p->sys->types = g_steal_pointer(&sys->types);
                sys->types = NULL;
                parent_set_types_from(p);
                mark_changed(inv, p, CHANGED_TYPES);
        }
        sysfs_parent_free(sys);
}

/* Re-read the types of a known parent (availability moves when a sibling gets a device). */
static void refresh_parent_types(Inventory *inv, InvParent *p)
{
        g_autoptr(GPtrArray) old = g_ptr_array_ref(p->sys->types);
        int r;

        r = sysfs_parent_refresh_types(p->sys);
        if (r < 0) {
                log_debug_errno(r, "Cannot re-read the types of %s: %m", p->name);
                return;
        }
        if (!types_equal(old, p->sys->types)) {
                parent_set_types_from(p);
                mark_changed(inv, p, CHANGED_TYPES);
        }
}

static void remove_device(Inventory *inv, InvDevice *d)
{
        g_autofree char *path = inventory_device_path(d->uuid);
        inventory_announce_removed(inv, INV_OBJECT_DEVICE, path);
        /* parents borrow device pointers: unlink before freeing, and say so */
        GHashTableIter it;
        gpointer v;
        g_hash_table_iter_init(&it, inv->parents);
        while (g_hash_table_iter_next(&it, NULL, &v))
                if (g_ptr_array_remove(((InvParent *)v)->devices, d))
                        mark_changed(inv, v, CHANGED_DEVICES);
        devices_changed(inv);
        g_hash_table_remove(inv->devices, d->uuid);
}

/* "appeared" or "is gone" for one device, at info level (debug during a quiet full scan), with its
 * journal fields: its lease's owner when it has one. */
static void log_device_event(Inventory *inv, const SysfsDevice *sys, bool appeared)
{
        Lease *lease = inventory_lease(inv, sys->uuid);
        LogFields f = {.uuid = sys->uuid,
                       .parent = sys->parent,
                       .type = sys->type_id,
                       .owner = lease ? lease->owner : NULL};
        int level = inv->quiet ? LOG_DEBUG : LOG_INFO;

        if (appeared)
                log_event(level, LOG_ID_DEVICE_APPEARED, &f, "Mediated device %s (%s on %s) appeared",
                          sys->uuid, sys->type_id ? sys->type_id : "unknown type", sys->parent);
        else
                log_event(level, LOG_ID_DEVICE_GONE, &f, "Mediated device %s is gone", sys->uuid);
}

/* Bring one device in line with sysfs; sys consumed (NULL: gone). */
static void sync_device(Inventory *inv, const char *uuid, SysfsDevice *sys)
{
        InvDevice *d = g_hash_table_lookup(inv->devices, uuid);

        if (!sys) {
                g_hash_table_remove(inv->typeless, uuid);
                if (d) {
                        log_device_event(inv, d->sys, false);
                        remove_device(inv, d);
                }
                return;
        }
        if (!d && !sys->type_id && inv->defer_typeless) {
                unsigned attempts = GPOINTER_TO_UINT(g_hash_table_lookup(inv->typeless, uuid)) + 1;

                if (attempts <= INVENTORY_TYPELESS_ATTEMPTS) {
                        g_hash_table_insert(inv->typeless, g_strdup(uuid), GUINT_TO_POINTER(attempts));
                        sysfs_device_free(sys);
                        return;
                }
                log_warning(
                        "Mediated device %s on %s has no mdev_type link; listing it with an unknown type",
                        uuid, sys->parent);
        }
        g_hash_table_remove(inv->typeless, uuid);
        if (d && (!str_eq0(d->sys->parent, sys->parent) || !str_eq0(d->sys->type_id, sys->type_id))) {
                remove_device(inv, d);
                d = NULL;
        }
        if (d) {
                sysfs_device_free(sys);
                return;
        }
        d = g_new0(InvDevice, 1);
        d->inventory = inv;
        memcpy(d->uuid, sys->uuid, sizeof(d->uuid));
        d->sys = sys;
        d->state = g_hash_table_lookup(inv->device_states, uuid);
        g_hash_table_insert(inv->devices, d->uuid, d);
        devices_changed(inv);
        g_autofree char *path = inventory_device_path(d->uuid);
        inventory_announce_added(inv, INV_OBJECT_DEVICE, path);
        log_device_event(inv, sys, true);
}

static int compare_devices(gconstpointer a, gconstpointer b)
{
        return strcmp((*(InvDevice *const *)a)->uuid, (*(InvDevice *const *)b)->uuid);
}

static int compare_parents(gconstpointer a, gconstpointer b)
{
        return strcmp((*(InvParent *const *)a)->name, (*(InvParent *const *)b)->name);
}

static bool device_lists_equal(GPtrArray *a, GPtrArray *b)
{
        if (a->len != b->len)
                return false;
        for (guint i = 0; i < a->len; i++)
                if (a->pdata[i] != b->pdata[i])
                        return false;
        return true;
}

/* Derive cores, boards, per-parent device lists and per-core capacity from the raw data. */
static void recompute(Inventory *inv)
{
        g_autoptr(GPtrArray) parents = inventory_list_parents(inv);
        g_autofree TopologyParent *in = g_new0(TopologyParent, parents->len + 1);
        g_autofree TopologyPlace *out = g_new0(TopologyPlace, parents->len + 1);
        g_autoptr(GHashTable) cores =
                g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)g_ptr_array_unref);
        g_autoptr(GHashTable) board_cores =
                g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)g_hash_table_unref);
        GHashTableIter it;
        gpointer k, v;
        int r;

        /* topology */
        for (guint i = 0; i < parents->len; i++) {
                InvParent *p = parents->pdata[i];
                in[i] = (TopologyParent){
                        .name = p->name,
                        .physfn = p->sys->physfn,
                        .pci_path = (const char *const *)p->sys->pci_path,
                        .pci_path_len = p->sys->pci_path ? g_strv_length(p->sys->pci_path) : 0,
                        .vendor_id = p->sys->vendor_id,
                        .device_id = p->sys->device_id,
                        .subsystem_vendor_id = p->sys->subsystem_vendor_id,
                        .subsystem_device_id = p->sys->subsystem_device_id,
                };
        }
        r = topology_resolve(in, parents->len, out);
        for (guint i = 0; i < parents->len; i++) {
                InvParent *p = parents->pdata[i];
                const char *core = r >= 0 && out[i].core ? out[i].core : p->name;
                const char *board = r >= 0 && out[i].board ? out[i].board : core;

                if (!str_eq0(p->core, core)) {
                        g_free(p->core);
                        p->core = g_strdup(core);
                        mark_changed(inv, p, CHANGED_CORE);
                }
                if (!str_eq0(p->board, board)) {
                        g_free(p->board);
                        p->board = g_strdup(board);
                        mark_changed(inv, p, CHANGED_BOARD);
                }
                if (r >= 0)
                        topology_place_clear(&out[i]);

                GPtrArray *members = g_hash_table_lookup(cores, p->core);
                if (!members) {
                        members = g_ptr_array_new();
                        g_hash_table_insert(cores, p->core, members);
                }
                g_ptr_array_add(members, p);

                GHashTable *bc = g_hash_table_lookup(board_cores, p->board);
                if (!bc) {
                        bc = g_hash_table_new(g_str_hash, g_str_equal);
                        g_hash_table_insert(board_cores, p->board, bc);
                }
                g_hash_table_add(bc, p->core);
        }

        /* board names */
        for (guint i = 0; i < parents->len; i++) {
                InvParent *p = parents->pdata[i];
                GHashTable *bc = g_hash_table_lookup(board_cores, p->board);
                const char *bm = NULL;

                if (p->sys->is_pci)
                        bm = topology_board_model(p->sys->vendor_id, p->sys->device_id,
                                                  p->sys->subsystem_vendor_id, p->sys->subsystem_device_id,
                                                  bc ? g_hash_table_size(bc) : 1);
                if (!str_eq0(bm, p->board_model)) {
                        p->board_model = bm;
                        mark_changed(inv, p, CHANGED_BOARD_MODEL);
                }
        }

        /* device lists */
        g_autoptr(GHashTable) new_lists =
                g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)g_ptr_array_unref);
        g_hash_table_iter_init(&it, inv->devices);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                InvDevice *d = v;
                InvParent *p = g_hash_table_lookup(inv->parents, d->sys->parent);
                GPtrArray *list;

                d->type = inventory_device_type(inv, d);
                if (!p)
                        continue;
                list = g_hash_table_lookup(new_lists, p);
                if (!list) {
                        list = g_ptr_array_new();
                        g_hash_table_insert(new_lists, p, list);
                }
                g_ptr_array_add(list, d);
        }
        for (guint i = 0; i < parents->len; i++) {
                InvParent *p = parents->pdata[i];
                GPtrArray *list = g_hash_table_lookup(new_lists, p);

                if (list) {
                        g_hash_table_steal(new_lists, p);
                        g_ptr_array_sort(list, compare_devices);
                } else
                        list = g_ptr_array_new();
                if (!device_lists_equal(p->devices, list))
                        mark_changed(inv, p, CHANGED_DEVICES);
                g_ptr_array_unref(p->devices);
                p->devices = list;
        }

        /* capacity per core */
        g_hash_table_iter_init(&it, cores);
        while (g_hash_table_iter_next(&it, &k, &v)) {
                GPtrArray *members = v;
                g_autoptr(GArray) offers = g_array_new(FALSE, TRUE, sizeof(CapacityOffer));
                g_autoptr(GPtrArray) dev_types = g_ptr_array_new();
                CoreCapacity cap = {};

                for (guint i = 0; i < members->len; i++) {
                        InvParent *p = members->pdata[i];
                        for (guint j = 0; j < p->sys->types->len; j++) {
                                SysfsType *t = p->sys->types->pdata[j];
                                CapacityOffer o = {.type = p->models->pdata[j],
                                                   .available_instances = t->available_instances};
                                g_array_append_val(offers, o);
                        }
                        for (guint j = 0; j < p->devices->len; j++)
                                g_ptr_array_add(dev_types,
                                                (gpointer)((InvDevice *)p->devices->pdata[j])->type);
                }
                core_capacity_compute((const CapacityOffer *)offers->data, offers->len,
                                      (const VgpuType *const *)dev_types->pdata, dev_types->len, false,
                                      &cap);
                for (guint i = 0; i < members->len; i++) {
                        InvParent *p = members->pdata[i];
                        unsigned m = 0;
                        if (p->cap.size_class_mib != cap.size_class_mib)
                                m |= CHANGED_SIZE_CLASS;
                        if (p->cap.mixed_size != cap.mixed_size)
                                m |= CHANGED_MIXED;
                        if (p->cap.used != cap.used)
                                m |= CHANGED_USED;
                        if (p->cap.capacity != cap.capacity)
                                m |= CHANGED_CAPACITY;
                        p->cap = cap;
                        if (m)
                                mark_changed(inv, p, m);
                }
        }
}

/* Recompute and tell the observer everything that changed during this update. */
void inventory_finish_update(Inventory *inv)
{
        static const struct {
                unsigned bit;
                const char *name;
        } names[] = {
                {CHANGED_TYPES, "Types"},
                {CHANGED_SIZE_CLASS, "SizeClass"},
                {CHANGED_MIXED, "MixedSize"},
                {CHANGED_USED, "CoreUsed"},
                {CHANGED_CAPACITY, "CoreCapacity"},
                {CHANGED_DEVICES, "Devices"},
                {CHANGED_CORE, "Core"},
                {CHANGED_BOARD, "Board"},
                {CHANGED_BOARD_MODEL, "BoardModel"},
        };
        g_autoptr(GPtrArray) added = NULL;
        g_autoptr(GHashTable) fresh = g_hash_table_new(g_str_hash, g_str_equal);
        GHashTableIter it;
        gpointer k, v;

        recompute(inv);

        added = g_steal_pointer(&inv->added);
        inv->added = g_ptr_array_new_with_free_func((GDestroyNotify)pending_add_free);
        for (guint i = 0; i < added->len; i++)
                g_hash_table_add(fresh, ((PendingAdd *)added->pdata[i])->path);

        if (inv->observer && inv->observer->object_added)
                for (guint i = 0; i < added->len; i++) {
                        PendingAdd *a = added->pdata[i];
                        inv->observer->object_added(inv->userdata, a->kind, a->path);
                }

        g_hash_table_iter_init(&it, inv->changed);
        while (g_hash_table_iter_next(&it, &k, &v)) {
                InvParent *p = k;
                unsigned mask = GPOINTER_TO_UINT(v);
                const char *changed[ELEMENTSOF(names) + 1];
                size_t n = 0;

                if (g_hash_table_contains(fresh, p->object_path))
                        continue; /* announced whole */
                for (size_t i = 0; i < ELEMENTSOF(names); i++)
                        if (mask & names[i].bit)
                                changed[n++] = names[i].name;
                changed[n] = NULL;
                if (n > 0 && inv->observer && inv->observer->properties_changed)
                        inv->observer->properties_changed(inv->userdata, INV_OBJECT_GPU, p->object_path,
                                                          (char **)changed);
        }
        g_hash_table_remove_all(inv->changed);
        inventory_check_orphans(inv);
}

/* ---- updates ---- */

static int rescan(Inventory *inv)
{
        g_auto(GStrv) names = NULL, uuids = NULL;
        g_autoptr(GPtrArray) devs = NULL;
        g_autoptr(GHashTable) present = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(g_free);
        GHashTableIter it;
        gpointer k;
        int r;

        r = sysfs_list_parents(&names);
        if (r < 0)
                return log_error_errno(r, "Cannot list %s: %m", SYSFS_MDEV_BUS_CLASS);
        for (char **n = names; *n; n++) {
                SysfsParent *sys = NULL;

                r = sysfs_read_parent(*n, &sys);
                if (r < 0) {
                        log_debug_errno(r, "Skipping parent %s: %m", *n);
                        continue;
                }
                g_hash_table_add(present, *n);
                sync_parent(inv, *n, sys);
        }
        g_hash_table_iter_init(&it, inv->parents);
        while (g_hash_table_iter_next(&it, &k, NULL))
                if (!g_hash_table_contains(present, k))
                        g_ptr_array_add(gone, g_strdup(k));
        for (guint i = 0; i < gone->len; i++)
                sync_parent(inv, gone->pdata[i], NULL);

        /* devices: one readdir per type's devices/ directory; whatever /sys/bus/mdev/devices holds
         * beyond that (a device whose type directory is odd) is read one by one */
        devs = g_ptr_array_new_with_free_func((GDestroyNotify)sysfs_device_free);
        g_hash_table_iter_init(&it, inv->parents);
        while (g_hash_table_iter_next(&it, NULL, &k))
                (void)sysfs_parent_list_devices(((InvParent *)k)->sys, devs);
        g_hash_table_remove_all(present);
        for (guint i = 0; i < devs->len; i++)
                g_hash_table_add(present, ((SysfsDevice *)devs->pdata[i])->uuid);
        r = sysfs_list_device_uuids(&uuids);
        if (r < 0)
                return log_error_errno(r, "Cannot list %s: %m", SYSFS_MDEV_DEVICES);
        for (char **u = uuids; *u; u++) {
                SysfsDevice *d;
                if (g_hash_table_contains(present, *u) || sysfs_read_device(*u, &d) < 0)
                        continue;
                g_ptr_array_add(devs, d);
                g_hash_table_add(present, d->uuid);
        }

        g_ptr_array_set_size(gone, 0);
        g_hash_table_iter_init(&it, inv->devices);
        while (g_hash_table_iter_next(&it, &k, NULL))
                if (!g_hash_table_contains(present, k))
                        g_ptr_array_add(gone, g_strdup(k));
        for (guint i = 0; i < gone->len; i++)
                sync_device(inv, gone->pdata[i], NULL);
        /* hand each device over; the array gives up ownership one by one */
        g_hash_table_remove_all(present);
        g_ptr_array_set_free_func(devs, NULL);
        for (guint i = 0; i < devs->len; i++) {
                SysfsDevice *d = devs->pdata[i];
                char uuid[37];
                memcpy(uuid, d->uuid, sizeof(uuid));
                sync_device(inv, uuid, d);
        }

        (void)inventory_load_definitions(inv);
        return 0;
}

int inventory_rescan(Inventory *inv)
{
        int r;

        inv->quiet = true;
        r = rescan(inv);
        inventory_finish_update(inv); /* also after a failure: announce what did change */
        inv->quiet = false;
        (void)malloc_trim(0); /* the scan's temporary memory goes back */
        return r;
}

/* Re-read the types of every known parent on the given core. */
static void refresh_core(Inventory *inv, const char *core, GHashTable *done)
{
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, inv->parents);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                InvParent *p = v;
                if (!str_eq0(p->core, core) || g_hash_table_contains(done, p->name))
                        continue;
                g_hash_table_add(done, p->name);
                refresh_parent_types(inv, p);
        }
}

char **inventory_typeless(Inventory *inv)
{
        if (g_hash_table_size(inv->typeless) == 0)
                return NULL;
        return (char **)g_hash_table_get_keys_as_array(inv->typeless, NULL);
}

void inventory_update(Inventory *inv, char **parents, char **devices)
{
        g_autoptr(GPtrArray) cores = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GHashTable) done = g_hash_table_new(g_str_hash, g_str_equal);

        inv->defer_typeless = true;

        for (char **n = parents; n && *n; n++) {
                InvParent *old = g_hash_table_lookup(inv->parents, *n);
                SysfsParent *sys = NULL;

                if (old)
                        g_ptr_array_add(cores, g_strdup(old->core));
                if (sysfs_read_parent(*n, &sys) < 0)
                        sys = NULL;
                sync_parent(inv, *n, sys);
                InvParent *p = g_hash_table_lookup(inv->parents, *n);
                if (p) {
                        g_hash_table_add(done, p->name);
                        if (p->sys->physfn)
                                g_ptr_array_add(cores, g_strdup(p->sys->physfn));
                }
        }
        for (char **u = devices; u && *u; u++) {
                InvDevice *old = g_hash_table_lookup(inv->devices, *u);
                SysfsDevice *sys = NULL;
                InvParent *p = NULL;

                if (old && (p = g_hash_table_lookup(inv->parents, old->sys->parent)))
                        g_ptr_array_add(cores, g_strdup(p->core));
                if (sysfs_read_device(*u, &sys) < 0)
                        sys = NULL;
                /* A device's directory goes before the driver updates available_instances and sends
                 * "remove": the "unbind" before it may find the device gone but the counts not yet
                 * changed. Remember its core, so the later event re-reads the counts. */
                if (old && !sys && p) {
                        if (g_hash_table_size(inv->gone_cores) > 4096)
                                g_hash_table_remove_all(inv->gone_cores);
                        g_hash_table_insert(inv->gone_cores, g_strdup(*u), g_strdup(p->core));
                } else if (!old) {
                        char *core = g_hash_table_lookup(inv->gone_cores, *u);
                        if (core)
                                g_ptr_array_add(cores, g_strdup(core));
                        g_hash_table_remove(inv->gone_cores, *u);
                }
                if (sys && (p = g_hash_table_lookup(inv->parents, sys->parent)))
                        g_ptr_array_add(cores, g_strdup(p->core));
                sync_device(inv, *u, sys);
        }
        for (guint i = 0; i < cores->len; i++)
                refresh_core(inv, cores->pdata[i], done);
        inventory_finish_update(inv);
        inv->defer_typeless = false;
}

void inventory_parent_changed(Inventory *inv, const char *name)
{
        char *names[] = {(char *)name, NULL};
        inventory_update(inv, names, NULL);
}

void inventory_device_changed(Inventory *inv, const char *uuid)
{
        char *uuids[] = {(char *)uuid, NULL};
        inventory_update(inv, NULL, uuids);
}
