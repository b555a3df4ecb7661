/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The live inventory: sync from sysfs, derive GPU cores, boards and capacity with the model, and tell
 * the observer what changed. The definitions directory's part is in inventory-definitions.c. */

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

/* Objects coming and going are worth an info line when they change, not when the daemon starts. */
#define log_object(inv, ...)                    \
        do {                                    \
                if ((inv)->quiet)               \
                        log_debug(__VA_ARGS__); \
                else                            \
                        log_info(__VA_ARGS__);  \
        } while (0)

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
        inv->backends = g_ptr_array_new_with_free_func((GDestroyNotify)backend_free);
        inv->parents = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)parent_free);
        inv->devices = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)device_free);
        inv->definitions = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                                 (GDestroyNotify)inventory_definition_free);
        inv->gone_cores = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        inv->writing = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        inv->events_gen = 1; /* a parent's counts_gen 0: never read by refresh_parent_types() */
        inv->device_states = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        inv->typeless = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        inv->sysfs_warnings = g_ptr_array_new_with_free_func(g_free);
        inv->store_warnings = g_ptr_array_new_with_free_func(g_free);
        inv->other_warnings = g_ptr_array_new_with_free_func(g_free);
        inv->start_failures = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        inv->mixed_cores = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        inv->warnings = g_ptr_array_new();
        inv->pci = pci_names_new();
        inventory_derived_init(inv);
        return inv;
}

void inventory_free(Inventory *inv)
{
        if (!inv)
                return;
        inventory_derived_done(inv);
        g_hash_table_unref(inv->devices); /* parents borrow devices: drop parents' lists first */
        g_hash_table_unref(inv->parents);
        g_hash_table_unref(inv->definitions);
        g_hash_table_unref(inv->gone_cores);
        g_hash_table_unref(inv->writing);
        g_hash_table_unref(inv->device_states);
        g_hash_table_unref(inv->typeless);
        g_ptr_array_unref(inv->sysfs_warnings);
        g_ptr_array_unref(inv->store_warnings);
        g_ptr_array_unref(inv->other_warnings);
        g_hash_table_unref(inv->start_failures);
        g_hash_table_unref(inv->mixed_cores);
        g_strfreev(inv->mixed_wanted);
        g_ptr_array_unref(inv->warnings);
        pci_names_free(inv->pci);
        inventory_owners_done(inv);
        g_free(inv->definitions_dir);
        g_free(inv->own_definitions_dir);
        g_ptr_array_unref(inv->backends);
        g_free(inv);
}

void inventory_add_backend(Inventory *inv, Backend *b)
{
        g_ptr_array_add(inv->backends, b);
}

Backend *inventory_backend(Inventory *inv, const char *name)
{
        for (guint i = 0; i < inv->backends->len; i++) {
                Backend *b = inv->backends->pdata[i];
                if (g_str_equal(b->class->name, name))
                        return b;
        }
        return NULL;
}

int inventory_read_device(Inventory *inv, const char *uuid, SysfsDevice **ret)
{
        for (guint i = 0; i < inv->backends->len; i++) {
                Backend *b = inv->backends->pdata[i];
                if (b->class->read_device(b, uuid, ret) >= 0)
                        return 0;
        }
        return -ENOENT;
}

bool inventory_parent_exists(Inventory *inv, const char *name)
{
        for (guint i = 0; i < inv->backends->len; i++) {
                Backend *b = inv->backends->pdata[i];
                if (b->class->parent_exists(b, name))
                        return true;
        }
        return false;
}

BackendEvent inventory_classify_uevent(Inventory *inv, const char *subsystem, const char *sysname,
                                       char **ret_name)
{
        for (guint i = 0; i < inv->backends->len; i++) {
                Backend *b = inv->backends->pdata[i];
                BackendEvent e = b->class->uevent(b, subsystem, sysname, ret_name);
                if (e != BACKEND_EVENT_NONE)
                        return e;
        }
        return BACKEND_EVENT_NONE;
}

/* The parent of this name from the first backend that has it; -ENOENT when none does. */
static int read_parent(Inventory *inv, const char *name, SysfsParent **ret)
{
        for (guint i = 0; i < inv->backends->len; i++) {
                Backend *b = inv->backends->pdata[i];
                if (b->class->parent_exists(b, name))
                        return b->class->read_parent(b, name, ret);
        }
        return -ENOENT;
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

void inventory_set_own_definitions_dir(Inventory *inv, const char *dir)
{
        g_free(inv->own_definitions_dir);
        inv->own_definitions_dir = g_strdup(dir);
}

const char *inventory_definitions_dir_for(Inventory *inv, const char *parent)
{
        InvParent *p = parent ? g_hash_table_lookup(inv->parents, parent) : NULL;
        g_autofree char *dir = NULL;

        if (!inv->own_definitions_dir || !store_parent_name_is_valid(parent))
                return inv->definitions_dir;
        if (p)
                return p->sys->backend->class->own_store ? inv->own_definitions_dir : inv->definitions_dir;
        for (guint i = 0; i < inv->backends->len; i++) {
                Backend *b = inv->backends->pdata[i];
                if (b->class->parent_exists(b, parent))
                        return b->class->own_store ? inv->own_definitions_dir : inv->definitions_dir;
        }
        dir = g_build_filename(inv->own_definitions_dir, parent, NULL);
        return access(dir, F_OK) == 0 ? inv->own_definitions_dir : inv->definitions_dir;
}

static int compare_strptr(gconstpointer a, gconstpointer b);

int inventory_find_definitions(Inventory *inv, const char *uuid, char ***ret_parents)
{
        g_auto(GStrv) mine = NULL, own = NULL;
        g_autoptr(GStrvBuilder) all = g_strv_builder_new();
        int r;

        r = store_find(inv->definitions_dir, uuid, &mine);
        if (r >= 0 && inv->own_definitions_dir)
                r = store_find(inv->own_definitions_dir, uuid, &own);
        if (r < 0)
                return r;
        g_strv_builder_addv(all, (const char **)mine);
        if (own)
                g_strv_builder_addv(all, (const char **)own);
        *ret_parents = g_strv_builder_end(all);
        qsort(*ret_parents, g_strv_length(*ret_parents), sizeof(char *), compare_strptr);
        return 0;
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

/* A GPU the PCI ID database does not know yet (Debian 12's does not know the L40S) is named after its
 * vGPU types: "NVIDIA L40S-8Q" -> "NVIDIA L40S". */
static void model_from_types(InvParent *p)
{
        for (guint i = 0; i < p->models->len; i++) {
                const VgpuType *t = p->models->pdata[i];
                if (t->board && t->name &&
                    (g_str_has_prefix(t->name, "NVIDIA ") || g_str_has_prefix(t->name, "GRID "))) {
                        g_free(p->model);
                        p->model = g_strdup_printf(
                                "%s %s", g_str_has_prefix(t->name, "GRID ") ? "GRID" : "NVIDIA", t->board);
                        return;
                }
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
        if (str_empty(p->model))
                model_from_types(p);
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
        Backend *b = d->sys->backend;

        return b->class->device_syspath(b, d->sys, p ? p->sys : NULL);
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

static int compare_parents(gconstpointer a, gconstpointer b)
{
        return strcmp((*(InvParent *const *)a)->name, (*(InvParent *const *)b)->name);
}

GPtrArray *inventory_list_parents(Inventory *inv)
{
        return sorted_values(inv->parents, compare_parents);
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
        return a->backend != b->backend || !str_eq0(a->syspath, b->syspath) ||
               !str_eq0(a->subsystem, b->subsystem) || !str_eq0(a->driver, b->driver) ||
               a->vendor_id != b->vendor_id || a->device_id != b->device_id ||
               a->subsystem_vendor_id != b->subsystem_vendor_id ||
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

/* Do two type lists differ in more than their counts (what the models are made of)? */
static bool kinds_differ(GPtrArray *a, GPtrArray *b)
{
        if (!a || !b || a->len != b->len)
                return true;
        for (guint i = 0; i < a->len; i++) {
                SysfsType *x = a->pdata[i], *y = b->pdata[i];
                if (!str_eq0(x->id, y->id) || !str_eq0(x->name, y->name) ||
                    !str_eq0(x->description, y->description))
                        return true;
        }
        return false;
}

/* The models of p's types, when old (its previous types, NULL: none) differ in more than counts; its
 * devices' models follow. */
static void parent_set_types_from(InvParent *p, GPtrArray *old)
{
        if (p->models && !kinds_differ(old, p->sys->types))
                return;
        if (p->models)
                g_ptr_array_unref(p->models);
        p->models = models_for(p->sys);
        inventory_parent_retyped(p->inventory, p);
}

static InvParent *parent_new(Inventory *inv, SysfsParent *sys)
{
        InvParent *p = g_new0(InvParent, 1);

        p->inventory = inv;
        p->name = g_strdup(sys->name);
        p->object_path = inventory_gpu_path(sys->name);
        p->sys = sys;
        parent_set_types_from(p, NULL);
        p->core = g_strdup(sys->name);
        p->board = g_strdup(sys->name);
        p->devices = g_ptr_array_new();
        return p;
}

static void remove_parent(Inventory *inv, InvParent *p)
{
        inventory_parent_detached(inv, p);
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
                inventory_parent_attached(inv, p);
                inventory_announce_added(inv, INV_OBJECT_GPU, p->object_path);
                log_debug("GPU %s: %u %s types", name, sys->types->len, backend_name(sys->backend));
                return;
        }
        if (!types_equal(p->sys->types, sys->types)) {
                g_autoptr(GPtrArray) old = p->sys->types;

                p->sys->types = g_steal_pointer(&sys->types);
                parent_set_types_from(p, old);
                inventory_mark_changed(inv, p, INV_CHANGED_TYPES);
        }
        sysfs_parent_free(sys);
}

/* Re-read the types of a known parent (availability moves when a sibling gets a device). */
static void refresh_parent_types(Inventory *inv, InvParent *p)
{
        g_autoptr(GPtrArray) old = g_ptr_array_ref(p->sys->types);
        int r;

        r = (p->sys->backend)->class->refresh_types(p->sys->backend, p->sys);
        if (r < 0) {
                log_debug_errno(r, "Cannot re-read the types of %s: %m", p->name);
                return;
        }
        p->counts_gen = inv->events_gen;
        if (!types_equal(old, p->sys->types)) {
                parent_set_types_from(p, old);
                inventory_mark_changed(inv, p, INV_CHANGED_TYPES);
        }
}

static const char *device_noun(const SysfsDevice *d)
{
        return d->backend->class->read_parent_device ? "vGPU" : "Mediated device";
}

static void remove_device(Inventory *inv, InvDevice *d)
{
        g_autofree char *path = inventory_device_path(d->uuid);
        inventory_announce_removed(inv, INV_OBJECT_DEVICE, path);
        inventory_device_detached(inv, d); /* the lists borrow it: out of them before it is freed */
        g_autofree char *uuid = g_strdup(d->uuid);
        g_hash_table_remove(inv->devices, d->uuid);
        inventory_orphans_device_changed(inv, uuid);
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
                log_event(level, LOG_ID_DEVICE_APPEARED, &f, "%s %s (%s on %s) appeared", device_noun(sys),
                          sys->uuid, sys->type_id ? sys->type_id : "unknown type", sys->parent);
        else
                log_event(level, LOG_ID_DEVICE_GONE, &f, "%s %s is gone", device_noun(sys), sys->uuid);
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
        inventory_device_attached(inv, d);
        inventory_orphans_device_changed(inv, d->uuid);
        g_autofree char *path = inventory_device_path(d->uuid);
        inventory_announce_added(inv, INV_OBJECT_DEVICE, path);
        log_device_event(inv, sys, true);
}

/* A parent that holds at most one device (a VF) shows it when it is read: bring the device of the
 * parent called name in line (gone with the parent, replaced when its UUID changed). */
static void sync_parent_device(Inventory *inv, const char *name)
{
        InvParent *p = g_hash_table_lookup(inv->parents, name);
        g_autoptr(GPtrArray) old = g_ptr_array_new_with_free_func(g_free);
        SysfsDevice *sys = NULL;
        GHashTableIter it;
        gpointer v;

        if (p && !p->sys->backend->class->read_parent_device)
                return;
        g_hash_table_iter_init(&it, inv->devices);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                InvDevice *d = v;
                if (d->sys->backend->class->read_parent_device && g_str_equal(d->sys->parent, name))
                        g_ptr_array_add(old, g_strdup(d->uuid));
        }
        if (p && p->sys->backend->class->read_parent_device(p->sys->backend, p->sys, &sys) < 0)
                sys = NULL;
        for (guint i = 0; i < old->len; i++)
                if (!sys || !g_str_equal(sys->uuid, old->pdata[i]))
                        sync_device(inv, old->pdata[i], NULL);
        if (sys) {
                char uuid[37];
                memcpy(uuid, sys->uuid, sizeof(uuid));
                sync_device(inv, uuid, sys);
        }
}

/* ---- updates ---- */

/* Every parent of every backend; those no backend lists any more go. */
static int rescan_parents(Inventory *inv)
{
        g_autoptr(GHashTable) present = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(g_free);
        GHashTableIter it;
        gpointer k;
        int r;

        for (guint i = 0; i < inv->backends->len; i++) {
                Backend *b = inv->backends->pdata[i];
                g_auto(GStrv) names = NULL;

                r = b->class->list_parents(b, &names);
                if (r < 0)
                        return log_error_errno(r, "Cannot list the %s parents under %s: %m", b->class->name,
                                               b->root);
                for (char **n = names; *n; n++) {
                        SysfsParent *sys = NULL;

                        if (g_hash_table_contains(present, *n))
                                continue; /* an earlier backend has it */
                        r = b->class->read_parent(b, *n, &sys);
                        if (r < 0) {
                                log_debug_errno(r, "Skipping parent %s: %m", *n);
                                continue;
                        }
                        g_hash_table_add(present, g_strdup(*n));
                        sync_parent(inv, *n, sys);
                }
        }
        g_hash_table_iter_init(&it, inv->parents);
        while (g_hash_table_iter_next(&it, &k, NULL))
                if (!g_hash_table_contains(present, k))
                        g_ptr_array_add(gone, g_strdup(k));
        for (guint i = 0; i < gone->len; i++)
                sync_parent(inv, gone->pdata[i], NULL);
        return 0;
}

/* Every running device, from each backend for its parents; those no backend shows any more go. */
static int rescan_devices(Inventory *inv)
{
        g_autoptr(GPtrArray) devs = g_ptr_array_new_with_free_func((GDestroyNotify)sysfs_device_free);
        g_autoptr(GHashTable) present = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(g_free);
        GHashTableIter it;
        gpointer k, v;
        int r;

        for (guint i = 0; i < inv->backends->len; i++) {
                Backend *b = inv->backends->pdata[i];
                g_autoptr(GPtrArray) mine = g_ptr_array_new();

                g_hash_table_iter_init(&it, inv->parents);
                while (g_hash_table_iter_next(&it, NULL, &v))
                        if (((InvParent *)v)->sys->backend == b)
                                g_ptr_array_add(mine, ((InvParent *)v)->sys);
                r = b->class->list_devices(b, mine, devs);
                if (r < 0)
                        return log_error_errno(r, "Cannot list the %s devices under %s: %m", b->class->name,
                                               b->root);
        }
        for (guint i = 0; i < devs->len; i++)
                g_hash_table_add(present, ((SysfsDevice *)devs->pdata[i])->uuid);
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
        return 0;
}

static int rescan(Inventory *inv)
{
        int r;

        r = rescan_parents(inv);
        if (r < 0)
                return r;
        r = rescan_devices(inv);
        if (r < 0)
                return r;
        (void)inventory_load_definitions(inv);
        return 0;
}

int inventory_rescan(Inventory *inv)
{
        int r;

        inv->quiet = true;
        inv->events_gen++;
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
        bool news = parents && *parents;

        inv->defer_typeless = true;

        for (char **n = parents; n && *n; n++) {
                InvParent *old = g_hash_table_lookup(inv->parents, *n);
                SysfsParent *sys = NULL;

                if (old)
                        g_ptr_array_add(cores, g_strdup(old->core));
                if (read_parent(inv, *n, &sys) < 0)
                        sys = NULL;
                sync_parent(inv, *n, sys);
                sync_parent_device(inv, *n);
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

                if (!inv->written && g_hash_table_contains(inv->writing, *u))
                        continue; /* its write's result reads it, with its core's final counts */
                if (inventory_read_device(inv, *u, &sys) < 0)
                        sys = NULL;
                if (old && sys && old->settled && str_eq0(old->sys->parent, sys->parent) &&
                    str_eq0(old->sys->type_id, sys->type_id)) {
                        /* its own uevents, after the write that made it was read with its core's counts */
                        sysfs_device_free(sys);
                        continue;
                }
                news = true;
                if (old && (p = g_hash_table_lookup(inv->parents, old->sys->parent)))
                        g_ptr_array_add(cores, g_strdup(p->core));
                /* A device's directory goes before the driver updates available_instances and sends
                 * "remove": the "unbind" before it may find the device gone but the counts not yet
                 * changed. Remember its core, so the later event re-reads the counts (not after a
                 * write to remove that returned: the counts read now are final). */
                if (old && !sys && p && !inv->written) {
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
                if (inv->written && (old = g_hash_table_lookup(inv->devices, *u)))
                        old->settled = true;
        }
        if (news && !inv->written)
                inv->events_gen++; /* before the re-reads below, which see what the news did */
        for (guint i = 0; i < cores->len; i++)
                refresh_core(inv, cores->pdata[i], done);
        inventory_finish_update(inv);
        inv->defer_typeless = false;
}

void inventory_recheck_unannounced(Inventory *inv)
{
        g_autoptr(GPtrArray) stale = g_ptr_array_new_with_free_func(g_free);
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, inv->parents);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                InvParent *p = v;
                Backend *b = p->sys->backend;
                const InvDevice *known = p->devices->len > 0 ? p->devices->pdata[0] : NULL;
                g_autoptr(SysfsDevice) d = NULL;

                if (!b->class->read_parent_device)
                        continue;
                if (b->class->read_parent_device(b, p->sys, &d) < 0)
                        d = NULL;
                if (!d != !known ||
                    (d && known &&
                     (!g_str_equal(d->uuid, known->uuid) || !str_eq0(d->type_id, known->sys->type_id))))
                        g_ptr_array_add(stale, g_strdup(p->name));
        }
        if (stale->len == 0)
                return;
        log_debug("%u VFs changed without a uevent", stale->len);
        g_ptr_array_add(stale, NULL);
        inventory_update(inv, (char **)stale->pdata, NULL);
}

void inventory_parent_changed(Inventory *inv, const char *name)
{
        char *names[] = {(char *)name, NULL};
        inventory_update(inv, names, NULL);
}

void inventory_parent_counts_changed(Inventory *inv, const char *name)
{
        InvParent *p = g_hash_table_lookup(inv->parents, name);

        g_autoptr(GHashTable) done = g_hash_table_new(g_str_hash, g_str_equal);

        if (!p) {
                inventory_parent_changed(inv, name);
                return;
        }
        refresh_parent_types(inv, p);
        g_hash_table_add(done, p->name);
        refresh_core(inv, p->core, done); /* its siblings on an SR-IOV core */
        inventory_finish_update(inv);
}

bool inventory_parent_counts_current(Inventory *inv, const char *name)
{
        const InvParent *p = g_hash_table_lookup(inv->parents, name);

        return p && p->counts_gen == inv->events_gen && !p->sys->backend->class->read_parent_device &&
               (!p->core || g_str_equal(p->core, p->name));
}

void inventory_device_written(Inventory *inv, const char *uuid)
{
        char *uuids[] = {(char *)uuid, NULL};

        inv->written = true;
        inventory_update(inv, NULL, uuids);
        inv->written = false;
}

void inventory_set_device_writing(Inventory *inv, const char *uuid, bool writing)
{
        if (writing)
                g_hash_table_add(inv->writing, g_strdup(uuid));
        else
                g_hash_table_remove(inv->writing, uuid);
}

void inventory_device_changed(Inventory *inv, const char *uuid)
{
        char *uuids[] = {(char *)uuid, NULL};
        inventory_update(inv, NULL, uuids);
}
