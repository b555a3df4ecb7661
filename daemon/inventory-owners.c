/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who holds and who uses which device: the leases as the inventory shows them (Device.Owner and Slot),
 * each running device's user (Device.User and friends: lease, process, Proxmox UUID, definition) and
 * the idle devices (Manager.Idle): running, with no lease, no definition and no process holding them.
 * The processes come from inventory_scan_users() (vfio-busy.c); everything else is known at once, so
 * a lease or definition change is reflected without a scan. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inventory-internal.h"
#include "log.h"
#include "vfio-busy.h"
#include "vfio-busy-worker.h"

static void use_free(InvDeviceUse *u)
{
        if (!u)
                return;
        g_free(u->user);
        g_free(u->comm);
        g_free(u->vm);
        g_free(u);
}

/* A scan of the holders under way off the loop, and who waits for it. */
typedef struct UsersWaiter {
        InvUsersScanned done;
        void *userdata;
} UsersWaiter;

typedef struct UsersScan {
        Inventory *inv;
        char **uuids;    /* the devices asked about */
        GArray *waiters; /* UsersWaiter */
} UsersScan;

/* Tell everyone waiting for scan (r), then free it. */
static void users_scan_end(UsersScan *scan, int r)
{
        for (guint i = 0; i < scan->waiters->len; i++) {
                const UsersWaiter *w = &g_array_index(scan->waiters, UsersWaiter, i);
                w->done(r, w->userdata);
        }
        g_array_unref(scan->waiters);
        g_strfreev(scan->uuids);
        g_free(scan);
}

static void users_scan_wait(UsersScan *scan, InvUsersScanned done, void *userdata)
{
        UsersWaiter w = {.done = done, .userdata = userdata};

        if (done)
                g_array_append_val(scan->waiters, w);
}

static GHashTable *uses(Inventory *inv)
{
        if (!inv->uses)
                inv->uses = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)use_free);
        return inv->uses;
}

void inventory_owners_done(Inventory *inv)
{
        g_clear_pointer(&inv->uses, g_hash_table_unref);
        g_clear_pointer(&inv->dirty, g_hash_table_unref);
        g_clear_pointer(&inv->idle, g_hash_table_unref);
        g_clear_pointer(&inv->libvirt_run_dir, g_free);
        /* the worker is gone first (the engine's): no answer comes; each waiting caller is told */
        while (inv->users_scans && inv->users_scans->len > 0) {
                UsersScan *scan = g_ptr_array_steal_index(inv->users_scans, inv->users_scans->len - 1);
                users_scan_end(scan, -ECANCELED);
        }
        g_clear_pointer(&inv->users_scans, g_ptr_array_unref);
}

void inventory_orphans_device_changed(Inventory *inv, const char *uuid)
{
        if (!inv->dirty)
                inv->dirty = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_hash_table_add(inv->dirty, g_strdup(uuid));
}

void inventory_orphans_invalidate(Inventory *inv)
{
        inv->all_dirty = true;
}

void inventory_set_leases(Inventory *inv, Leases *leases)
{
        inv->leases = leases;
        inventory_orphans_invalidate(inv);
        inventory_check_users(inv);
}

void inventory_set_libvirt_run_dir(Inventory *inv, const char *dir)
{
        g_free(inv->libvirt_run_dir);
        inv->libvirt_run_dir = g_strdup(dir);
}

LeaseVerdict inventory_lease_verdict(Inventory *inv, const Lease *l, char **ret_definition)
{
        g_autoptr(SysfsDevice) d = NULL;
        g_autofree char *def =
                g_build_filename(inventory_definitions_dir_for(inv, l->parent), l->parent, l->uuid, NULL);
        bool running = inventory_get_device(inv, l->uuid) || inventory_read_device(inv, l->uuid, &d) >= 0;
        LeaseVerdict v = lease_verdict(l, running, l->defined && access(def, F_OK) == 0);

        if (ret_definition)
                *ret_definition = g_steal_pointer(&def);
        return v;
}

Lease *inventory_lease(Inventory *inv, const char *uuid)
{
        return inv->leases ? leases_get(inv->leases, uuid) : NULL;
}

const char *inventory_user_kind_to_string(InvUserKind k)
{
        switch (k) {
        case INV_USER_LEASE: return "lease";
        case INV_USER_PROCESS: return "process";
        case INV_USER_PROXMOX: return "proxmox";
        case INV_USER_DEFINITION: return "definition";
        case INV_USER_NONE:
        default: return "";
        }
}

static bool is_defined(Inventory *inv, const InvDevice *d)
{
        char key[512];

        if (!d->sys->parent)
                return false;
        g_snprintf(key, sizeof(key), "%s/%s", d->sys->parent, d->uuid);
        return g_hash_table_contains(inv->definitions, key);
}

/* The VMID of a UUID made by qemu-server's convention, "%08d-0000-0000-0000-%012d", or 0. */
static unsigned long proxmox_vmid(const char *uuid)
{
        unsigned long vmid;

        if (strspn(uuid, "0123456789") != 8 || strncmp(uuid + 8, "-0000-0000-0000-", 16) != 0 ||
            strspn(uuid + 24, "0123456789") != 12 || uuid[36] != '\0')
                return 0;
        vmid = strtoul(uuid + 24, NULL, 10);
        return vmid >= 100 && vmid <= 999999999 ? vmid : 0;
}

/* Fill u's kind, user and idle from what is known now (u's process from the last scan). */
static void use_compute(Inventory *inv, const InvDevice *d, InvDeviceUse *u)
{
        Lease *l = inventory_lease(inv, d->uuid);
        bool defined = is_defined(inv, d);
        unsigned long vmid = proxmox_vmid(d->uuid);

        g_free(u->user);
        if (l) {
                u->kind = INV_USER_LEASE;
                u->user = g_strdup(l->owner);
        } else if (u->pid > 0) {
                u->kind = INV_USER_PROCESS;
                u->user = u->vm ? g_strdup(u->vm) : g_strdup_printf("pid %d (%s)", (int)u->pid, u->comm);
        } else if (vmid > 0) {
                u->kind = INV_USER_PROXMOX;
                u->user = g_strdup_printf("proxmox:%lu", vmid);
        } else if (defined) {
                u->kind = INV_USER_DEFINITION;
                u->user = g_strdup("definition");
        } else {
                u->kind = INV_USER_NONE;
                u->user = g_strdup("");
        }
        u->idle = !l && !defined && u->pid == 0;
}

/* Recompute one device's use; true when what its object shows changed since the last time. */
static bool device_check(Inventory *inv, const InvDevice *d, uint64_t now)
{
        InvDeviceUse *u = g_hash_table_lookup(uses(inv), d->uuid), old;
        g_autofree char *old_user = NULL;
        bool fresh = !u;

        if (!u) {
                u = g_new0(InvDeviceUse, 1);
                g_hash_table_insert(inv->uses, g_strdup(d->uuid), u);
        }
        old = *u;
        old_user = g_strdup(u->user);
        use_compute(inv, d, u);
        if (u->idle && (fresh || !old.idle))
                u->idle_since_usec = now; /* first seen, or last seen in use until now */
        else if (!u->idle)
                u->idle_since_usec = 0;
        /* a new device is announced whole (InterfacesAdded), with these */
        return !fresh && (old.kind != u->kind || old.idle != u->idle || old.pid != u->pid ||
                          g_strcmp0(old_user, u->user) != 0);
}

/* Look at one device (or a UUID that is not running any more) again: its use, the idle set, and its
 * object's properties when they changed. */
static void check_one(Inventory *inv, const char *uuid, uint64_t now)
{
        static char *device_names[] = {(char *)"User", (char *)"UserKind",  (char *)"UserPid",
                                       (char *)"Idle", (char *)"IdleSince", NULL};
        InvDevice *d = g_hash_table_lookup(inv->devices, uuid);
        const InvDeviceUse *u;
        bool was_idle = g_hash_table_contains(inv->idle, uuid);

        if (!d) {
                g_hash_table_remove(uses(inv), uuid);
                if (g_hash_table_remove(inv->idle, uuid))
                        inv->idle_changed = true;
                return;
        }
        if (device_check(inv, d, now) && inv->observer && inv->observer->properties_changed) {
                g_autofree char *path = inventory_device_path(d->uuid);
                inv->observer->properties_changed(inv->userdata, INV_OBJECT_DEVICE, path, device_names);
        }
        u = g_hash_table_lookup(inv->uses, d->uuid);
        if (u->idle != was_idle) {
                if (u->idle)
                        g_hash_table_add(inv->idle, g_strdup(d->uuid));
                else
                        g_hash_table_remove(inv->idle, d->uuid);
                inv->idle_changed = true;
        }
}

void inventory_check_users(Inventory *inv)
{
        char *manager_names[] = {(char *)"Idle", (char *)"Orphans", NULL};
        uint64_t now = (uint64_t)g_get_real_time();
        GHashTableIter it;
        gpointer k;

        if (!inv->idle) {
                inv->idle = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
                inv->all_dirty = true;
        }
        if (inv->all_dirty) {
                g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(g_free);

                g_hash_table_iter_init(&it, uses(inv));
                while (g_hash_table_iter_next(&it, &k, NULL))
                        if (!g_hash_table_contains(inv->devices, k))
                                g_ptr_array_add(gone, g_strdup(k));
                for (guint i = 0; i < gone->len; i++)
                        check_one(inv, gone->pdata[i], now);
                g_hash_table_iter_init(&it, inv->devices);
                while (g_hash_table_iter_next(&it, &k, NULL))
                        check_one(inv, k, now);
                inv->all_dirty = false;
        } else if (inv->dirty) {
                g_hash_table_iter_init(&it, inv->dirty);
                while (g_hash_table_iter_next(&it, &k, NULL))
                        check_one(inv, k, now);
        }
        if (inv->dirty)
                g_hash_table_remove_all(inv->dirty);
        if (!inv->idle_changed)
                return;
        inv->idle_changed = false;
        if (inv->observer && inv->observer->properties_changed)
                inv->observer->properties_changed(inv->userdata, INV_OBJECT_MANAGER, "/org/vgpud1",
                                                  manager_names);
}

/* The question of a scan: every running device's UUID and sysfs directory (NULL-terminated). */
static void users_question(Inventory *inv, char ***ret_uuids, char ***ret_dirs)
{
        g_autoptr(GPtrArray) devices = inventory_list_devices(inv);
        GPtrArray *uuids = g_ptr_array_new(), *dirs = g_ptr_array_new();

        for (guint i = 0; i < devices->len; i++) {
                InvDevice *d = devices->pdata[i];
                g_ptr_array_add(uuids, g_strdup(d->uuid));
                g_ptr_array_add(dirs, inventory_device_syspath(inv, d));
        }
        g_ptr_array_add(uuids, NULL);
        g_ptr_array_add(dirs, NULL);
        *ret_uuids = (char **)g_ptr_array_free(uuids, FALSE);
        *ret_dirs = (char **)g_ptr_array_free(dirs, FALSE);
}

/* A scan's answer (holders: uuid -> VfioHolder) for the devices asked about; a device gone since is
 * skipped, one that came since is left to the next scan (it is not held until then, as a new device). */
static void users_answer(Inventory *inv, char **uuids, GHashTable *holders)
{
        for (char **uuid = uuids; *uuid; uuid++) {
                const VfioHolder *h = g_hash_table_lookup(holders, *uuid);
                InvDeviceUse *u;

                if (!inventory_get_device(inv, *uuid))
                        continue;
                u = g_hash_table_lookup(uses(inv), *uuid);
                if (!u) {
                        u = g_new0(InvDeviceUse, 1);
                        u->idle_since_usec = (uint64_t)g_get_real_time();
                        g_hash_table_insert(inv->uses, g_strdup(*uuid), u);
                }
                if (h && h->pid == u->pid && u->vm)
                        continue; /* the same process: its VM is known */
                g_clear_pointer(&u->comm, g_free);
                g_clear_pointer(&u->vm, g_free);
                u->pid = h ? h->pid : 0;
                if (h) {
                        u->comm = g_strdup(h->comm);
                        u->vm = vfio_holder_vm(h->pid, inv->libvirt_run_dir);
                }
        }
        inventory_orphans_invalidate(inv);
        inventory_check_users(inv);
}

int inventory_scan_users(Inventory *inv)
{
        g_auto(GStrv) uuids = NULL, dirs = NULL;
        g_autoptr(GHashTable) holders = NULL;
        int r;

        users_question(inv, &uuids, &dirs);
        r = vfio_holders_scan(uuids, dirs, &holders);
        if (r < 0)
                return r;
        users_answer(inv, uuids, holders);
        return 0;
}

static void on_users_scanned(int r, GHashTable *holders, void *userdata)
{
        UsersScan *scan = userdata;
        Inventory *inv = scan->inv;

        g_ptr_array_remove(inv->users_scans, scan);
        if (r < 0)
                log_warning_errno(r, "Cannot look for the processes holding vGPUs: %m");
        else
                users_answer(inv, scan->uuids, holders);
        users_scan_end(scan, r);
}

void inventory_scan_users_off_loop(Inventory *inv, VfioBusyWorker *worker, InvUsersScanned done,
                                   void *userdata)
{
        UsersScan *scan = g_new0(UsersScan, 1);
        g_auto(GStrv) dirs = NULL;

        scan->inv = inv;
        scan->waiters = g_array_new(FALSE, FALSE, sizeof(UsersWaiter));
        users_scan_wait(scan, done, userdata);
        users_question(inv, &scan->uuids, &dirs);
        if (!inv->users_scans)
                inv->users_scans = g_ptr_array_new();
        g_ptr_array_add(inv->users_scans, scan);
        vfio_busy_ask(worker, scan->uuids, dirs, on_users_scanned, scan);
}

bool inventory_users_scan_join(Inventory *inv, InvUsersScanned done, void *userdata)
{
        if (!inv->users_scans || inv->users_scans->len == 0)
                return false;
        users_scan_wait(inv->users_scans->pdata[inv->users_scans->len - 1], done, userdata);
        return true;
}

unsigned inventory_users_scans(Inventory *inv)
{
        return inv->users_scans ? inv->users_scans->len : 0;
}

const InvDeviceUse *inventory_device_use(Inventory *inv, const char *uuid)
{
        InvDevice *d = inventory_get_device(inv, uuid);

        if (!d)
                return NULL;
        if (!g_hash_table_contains(uses(inv), uuid))
                (void)device_check(inv, d, (uint64_t)g_get_real_time());
        return g_hash_table_lookup(inv->uses, uuid);
}

GPtrArray *inventory_idle(Inventory *inv)
{
        g_autoptr(GPtrArray) devices = inventory_list_devices(inv);
        GPtrArray *idle = g_ptr_array_new();

        for (guint i = 0; i < devices->len; i++) {
                InvDevice *d = devices->pdata[i];
                const InvDeviceUse *u = inventory_device_use(inv, d->uuid);
                if (u && u->idle)
                        g_ptr_array_add(idle, d->uuid);
        }
        return idle;
}

void inventory_lease_changed(Inventory *inv, const char *uuid)
{
        char *names[] = {(char *)"Owner", (char *)"Slot", NULL};

        if (inventory_get_device(inv, uuid) && inv->observer && inv->observer->properties_changed) {
                g_autofree char *path = inventory_device_path(uuid);
                inv->observer->properties_changed(inv->userdata, INV_OBJECT_DEVICE, path, names);
        }
        inventory_orphans_device_changed(inv, uuid);
        inventory_check_users(inv);
}
