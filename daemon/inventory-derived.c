/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the inventory derives from what it read (inventory.c brings parents and devices in line with
 * sysfs): each parent's sorted list of its devices and each device's type model, kept device by
 * device; GPU cores, boards and board models, recomputed only when a parent came, went or a core's
 * mode changed; each core's capacity, recomputed for the cores an update touched. And the change
 * bookkeeping: what the observer is told once an update is complete (inventory_finish_update()).
 * So an update costs what it changed, not what the host holds: a count refresh on a host of 2,560
 * devices touches one core. */

#include <string.h>

#include "macro.h"
#include "log.h"
#include "topology.h"
#include "inventory-internal.h"

typedef struct {
        InvObjectKind kind;
        char *path;
} PendingAdd;

static void pending_add_free(PendingAdd *a)
{
        g_free(a->path);
        g_free(a);
}

void inventory_derived_init(Inventory *inv)
{
        inv->changed = g_hash_table_new(NULL, NULL);
        inv->added = g_ptr_array_new_with_free_func((GDestroyNotify)pending_add_free);
        inv->topology_stale = true;
}

void inventory_derived_done(Inventory *inv)
{
        g_clear_pointer(&inv->sorted_devices, g_ptr_array_unref);
        g_hash_table_unref(inv->changed);
        g_ptr_array_unref(inv->added);
}

/* ---- change bookkeeping ---- */

void inventory_mark_changed(Inventory *inv, InvParent *p, unsigned mask)
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

/* ---- sorted device lists, kept device by device ---- */

/* Where a device of this uuid is or belongs in list (sorted by uuid). */
static guint device_index(GPtrArray *list, const char *uuid)
{
        guint lo = 0, hi = list->len;

        while (lo < hi) {
                guint mid = lo + (hi - lo) / 2;
                if (strcmp(((InvDevice *)list->pdata[mid])->uuid, uuid) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

bool inventory_device_list_insert(GPtrArray *list, InvDevice *d)
{
        guint i = device_index(list, d->uuid);

        if (i < list->len && g_str_equal(((InvDevice *)list->pdata[i])->uuid, d->uuid))
                return false;
        g_ptr_array_insert(list, (gint)i, d);
        return true;
}

bool inventory_device_list_remove(GPtrArray *list, InvDevice *d)
{
        guint i = device_index(list, d->uuid);

        if (i >= list->len || list->pdata[i] != d)
                return false;
        g_ptr_array_remove_index(list, i);
        return true;
}

/* The cached list of all devices (inventory_list_devices()) is shared with whoever listed it: a
 * change makes a new one (copying pointers, no comparison but the binary search). */
static void sorted_devices_change(Inventory *inv, InvDevice *d, bool add)
{
        GPtrArray *copy;

        if (!inv->sorted_devices)
                return;
        copy = g_ptr_array_copy(inv->sorted_devices, NULL, NULL);
        if (add)
                (void)inventory_device_list_insert(copy, d);
        else
                (void)inventory_device_list_remove(copy, d);
        g_ptr_array_unref(inv->sorted_devices);
        inv->sorted_devices = copy;
}

void inventory_device_attached(Inventory *inv, InvDevice *d)
{
        InvParent *p = g_hash_table_lookup(inv->parents, d->sys->parent);

        sorted_devices_change(inv, d, true);
        d->type = inventory_device_type(inv, d);
        if (p && inventory_device_list_insert(p->devices, d))
                inventory_mark_changed(inv, p, INV_CHANGED_DEVICES);
}

void inventory_device_detached(Inventory *inv, InvDevice *d)
{
        InvParent *p = g_hash_table_lookup(inv->parents, d->sys->parent);

        sorted_devices_change(inv, d, false);
        if (p && inventory_device_list_remove(p->devices, d))
                inventory_mark_changed(inv, p, INV_CHANGED_DEVICES);
}

void inventory_parent_attached(Inventory *inv, InvParent *p)
{
        GHashTableIter it;
        gpointer v;

        inv->topology_stale = true;
        g_hash_table_iter_init(&it, inv->devices);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                InvDevice *d = v;
                if (g_str_equal(d->sys->parent, p->name) && inventory_device_list_insert(p->devices, d)) {
                        d->type = inventory_device_type(inv, d);
                        inventory_mark_changed(inv, p, INV_CHANGED_DEVICES);
                }
        }
}

void inventory_parent_detached(Inventory *inv, InvParent *p)
{
        inv->topology_stale = true;
        for (guint i = 0; i < p->devices->len; i++)
                ((InvDevice *)p->devices->pdata[i])->type = NULL;
}

void inventory_parent_retyped(Inventory *inv, InvParent *p)
{
        for (guint i = 0; p->devices && i < p->devices->len; i++) {
                InvDevice *d = p->devices->pdata[i];
                d->type = inventory_device_type(inv, d);
        }
}

GPtrArray *inventory_list_devices(Inventory *inv)
{
        /* listing thousands of devices is the hot path of `vgpuctl list`: sorted once, then kept */
        if (!inv->sorted_devices) {
                GHashTableIter it;
                gpointer v;

                inv->sorted_devices = g_ptr_array_sized_new(g_hash_table_size(inv->devices));
                g_hash_table_iter_init(&it, inv->devices);
                while (g_hash_table_iter_next(&it, NULL, &v))
                        g_ptr_array_add(inv->sorted_devices, v);
                g_ptr_array_sort(inv->sorted_devices, inventory_compare_devices);
        }
        return g_ptr_array_ref(inv->sorted_devices);
}

int inventory_compare_devices(gconstpointer a, gconstpointer b)
{
        return strcmp((*(InvDevice *const *)a)->uuid, (*(InvDevice *const *)b)->uuid);
}

/* ---- cores, boards, capacity ---- */

/* Cores and boards of every parent (parents sorted by name); fills cores (core -> InvParent* members)
 * and board_cores (board -> set of its cores). */
static void recompute_topology(Inventory *inv, GPtrArray *parents, GHashTable *cores,
                               GHashTable *board_cores)
{
        g_autofree TopologyParent *in = g_new0(TopologyParent, parents->len + 1);
        g_autofree TopologyPlace *out = g_new0(TopologyPlace, parents->len + 1);
        int r;

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
                        inventory_mark_changed(inv, p, INV_CHANGED_CORE);
                }
                if (!str_eq0(p->board, board)) {
                        g_free(p->board);
                        p->board = g_strdup(board);
                        inventory_mark_changed(inv, p, INV_CHANGED_BOARD);
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
}

/* The board model of every parent, from its PCI identity and its board's number of cores. */
static void recompute_board_models(Inventory *inv, GPtrArray *parents, GHashTable *board_cores)
{
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
                        inventory_mark_changed(inv, p, INV_CHANGED_BOARD_MODEL);
                }
        }
}

/* The capacity of one core (members: its InvParent*), given to each member. */
static void recompute_core_capacity(Inventory *inv, GPtrArray *members)
{
        g_autoptr(GArray) offers = g_array_new(FALSE, TRUE, sizeof(CapacityOffer));
        g_autoptr(GPtrArray) dev_types = g_ptr_array_new();
        CoreCapacity cap = {};
        const char *core = ((InvParent *)members->pdata[0])->core;

        for (guint i = 0; i < members->len; i++) {
                InvParent *p = members->pdata[i];
                for (guint j = 0; j < p->sys->types->len; j++) {
                        SysfsType *t = p->sys->types->pdata[j];
                        CapacityOffer o = {.type = p->models->pdata[j],
                                           .available_instances = t->available_instances};
                        g_array_append_val(offers, o);
                }
                for (guint j = 0; j < p->devices->len; j++)
                        g_ptr_array_add(dev_types, (gpointer)((InvDevice *)p->devices->pdata[j])->type);
        }
        core_capacity_compute(GARRAY_ELEMENTS(offers, CapacityOffer), offers->len,
                              (const VgpuType *const *)dev_types->pdata, dev_types->len,
                              core && g_hash_table_contains(inv->mixed_cores, core), &cap);
        for (guint i = 0; i < members->len; i++) {
                InvParent *p = members->pdata[i];
                unsigned m = 0;
                if (p->cap.size_class_mib != cap.size_class_mib)
                        m |= INV_CHANGED_SIZE_CLASS;
                if (p->cap.mixed_size != cap.mixed_size)
                        m |= INV_CHANGED_MIXED;
                if (p->cap.used != cap.used)
                        m |= INV_CHANGED_USED;
                if (p->cap.capacity != cap.capacity)
                        m |= INV_CHANGED_CAPACITY;
                p->cap = cap;
                if (m)
                        inventory_mark_changed(inv, p, m);
        }
}

/* A core whose parents all went lost its mode with them (SR-IOV rebind, reboot); one switched before
 * its VFs were read is kept until they were there. */
static void forget_gone_mixed_cores(Inventory *inv, GHashTable *cores)
{
        GHashTableIter it;
        gpointer k, v;

        g_hash_table_iter_init(&it, inv->mixed_cores);
        while (g_hash_table_iter_next(&it, &k, &v))
                if (g_hash_table_contains(cores, k))
                        g_hash_table_iter_replace(&it, GINT_TO_POINTER(1));
                else if (v) {
                        log_info("GPU %s is gone: its mixed-size mode is forgotten", (char *)k);
                        g_hash_table_iter_remove(&it);
                }
}

/* The derived data that the update changed: cores, boards and every core's capacity when a parent
 * came or went (topology_stale), else the capacity of the cores whose parents' types, devices or
 * core changed. */
static void recompute(Inventory *inv)
{
        g_autoptr(GPtrArray) parents = inventory_list_parents(inv);
        g_autoptr(GHashTable) cores =
                g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)g_ptr_array_unref);
        g_autoptr(GHashTable) dirty = g_hash_table_new(g_str_hash, g_str_equal);
        bool all = inv->topology_stale;
        GHashTableIter it;
        gpointer k, v;

        if (all) {
                g_autoptr(GHashTable) board_cores = g_hash_table_new_full(
                        g_str_hash, g_str_equal, NULL, (GDestroyNotify)g_hash_table_unref);

                recompute_topology(inv, parents, cores, board_cores);
                recompute_board_models(inv, parents, board_cores);
                forget_gone_mixed_cores(inv, cores);
                inv->topology_stale = false;
        } else {
                g_hash_table_iter_init(&it, inv->changed);
                while (g_hash_table_iter_next(&it, &k, &v))
                        if (GPOINTER_TO_UINT(v) &
                            (INV_CHANGED_TYPES | INV_CHANGED_DEVICES | INV_CHANGED_CORE))
                                g_hash_table_add(dirty, ((InvParent *)k)->core);
                for (guint i = 0; i < parents->len; i++) {
                        InvParent *p = parents->pdata[i];
                        GPtrArray *members;

                        if (!g_hash_table_contains(dirty, p->core))
                                continue;
                        members = g_hash_table_lookup(cores, p->core);
                        if (!members) {
                                members = g_ptr_array_new();
                                g_hash_table_insert(cores, p->core, members);
                        }
                        g_ptr_array_add(members, p);
                }
        }
        g_hash_table_iter_init(&it, cores);
        while (g_hash_table_iter_next(&it, NULL, &v))
                recompute_core_capacity(inv, v);
}

void inventory_set_core_mixed(Inventory *inv, const char *core, bool on)
{
        if (on == g_hash_table_contains(inv->mixed_cores, core))
                return;
        if (on)
                g_hash_table_insert(inv->mixed_cores, g_strdup(core), NULL); /* parents not seen yet */
        else
                g_hash_table_remove(inv->mixed_cores, core);
        inv->topology_stale = true; /* every core's capacity, and the mode's bookkeeping */
        inventory_finish_update(inv);
}

void inventory_set_mixed_size_wanted(Inventory *inv, char **cores)
{
        g_strfreev(inv->mixed_wanted);
        inv->mixed_wanted = g_strdupv(cores);
}

bool inventory_mixed_size_wanted(Inventory *inv, const char *core)
{
        return core && inv->mixed_wanted && g_strv_contains((const char *const *)inv->mixed_wanted, core);
}

bool inventory_core_mixed(Inventory *inv, const char *core)
{
        return core && g_hash_table_contains(inv->mixed_cores, core);
}

/* Recompute and tell the observer everything that changed during this update. */
void inventory_finish_update(Inventory *inv)
{
        static const struct {
                unsigned bit;
                const char *name;
        } names[] = {
                {INV_CHANGED_TYPES, "Types"},
                {INV_CHANGED_SIZE_CLASS, "SizeClass"},
                {INV_CHANGED_MIXED, "MixedSize"},
                {INV_CHANGED_USED, "CoreUsed"},
                {INV_CHANGED_CAPACITY, "CoreCapacity"},
                {INV_CHANGED_DEVICES, "Devices"},
                {INV_CHANGED_CORE, "Core"},
                {INV_CHANGED_BOARD, "Board"},
                {INV_CHANGED_BOARD_MODEL, "BoardModel"},
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
        inventory_check_users(inv);
}
