/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The planner's view of the host (layout-apply.h): alloc-host.c's cores, with each type once, the
 * devices and who leases and holds them, and the GPU indexes vgpu-device-manager counts. */

#include <errno.h>
#include <string.h>

#include "alloc-host.h"
#include "leases.h"
#include "log.h"
#include "macro.h"
#include "sysfs-mdev.h"
#include "vfio-busy.h"
#include "layout-apply.h"

void layout_host_free(LayoutHost *h)
{
        if (!h)
                return;
        g_free(h->cores);
        g_ptr_array_unref(h->strings);
        g_ptr_array_unref(h->ptr_arrays);
        g_ptr_array_unref(h->arrays);
        g_free(h);
}

static const char *keep_string(LayoutHost *h, char *s)
{
        g_ptr_array_add(h->strings, s);
        return s;
}

static GArray *keep_array(LayoutHost *h, GArray *a)
{
        g_ptr_array_add(h->arrays, a);
        return a;
}

/* "VM web1 (process 42, qemu-system-x86)" when QEMU was given "-name guest=web1,..." or "-name web1"
 * (libvirt and Proxmox name their VMs so), else "process 42 (qemu-system-x86)". */
static char *holder_label(pid_t pid, const char *comm)
{
        g_autofree char *path = g_strdup_printf("/proc/%d/cmdline", (int)pid), *cmdline = NULL;
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        gsize len = 0;

        if (g_file_get_contents(path, &cmdline, &len, NULL))
                for (gsize i = 0; i < len; i += strlen(cmdline + i) + 1)
                        g_ptr_array_add(argv, cmdline + i);
        for (guint i = 0; i + 1 < argv->len; i++) {
                const char *v = argv->pdata[i + 1], *g;
                g_autofree char *name = NULL;

                if (!g_str_equal(argv->pdata[i], "-name"))
                        continue;
                g = g_str_has_prefix(v, "guest=") ? v + 6
                    : strstr(v, ",guest=")        ? strstr(v, ",guest=") + 7
                                                  : v;
                name = g_strndup(g, strcspn(g, ","));
                if (*name)
                        return g_strdup_printf("VM %s (process %d, %s)", name, (int)pid, comm);
        }
        return g_strdup_printf("process %d (%s)", (int)pid, comm);
}

/* Who holds each of owner's leased devices, all in one pass over /proc (vfio-busy.h): uuid (borrowed
 * from the inventory) -> VfioHolder, or NULL when it cannot tell. */
static GHashTable *managed_holders(Inventory *inv, struct Leases *leases, const char *owner)
{
        g_autoptr(GPtrArray) devices = inventory_list_devices(inv);
        g_autoptr(GPtrArray) uuids = g_ptr_array_new();
        g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);
        GHashTable *holders = NULL;
        int r;

        for (guint i = 0; leases && i < devices->len; i++) {
                InvDevice *d = devices->pdata[i];
                Lease *l = leases_get(leases, d->uuid);

                if (l && g_str_equal(l->owner, owner)) {
                        g_ptr_array_add(uuids, d->uuid);
                        g_ptr_array_add(dirs, inventory_device_syspath(inv, d));
                }
        }
        g_ptr_array_add(uuids, NULL);
        g_ptr_array_add(dirs, NULL);
        r = vfio_holders_scan((char **)uuids->pdata, (char **)dirs->pdata, &holders);
        if (r < 0)
                log_warning_errno(r, "Cannot tell whether the devices of %s are in use: %m", owner);
        return holders;
}

static const char *held_by(LayoutHost *h, GHashTable *holders, const InvDevice *d)
{
        const VfioHolder *vh = holders ? g_hash_table_lookup(holders, d->uuid) : NULL;

        return vh ? keep_string(h, holder_label(vh->pid, vh->comm ? vh->comm : "?")) : NULL;
}

/* The core's types, each id once (SR-IOV: every VF offers them), with the summed known counts. */
static void core_types(LayoutHost *h, const PlaceCore *pc, LayoutCore *c)
{
        GPtrArray *types = g_ptr_array_new();
        GArray *avail = keep_array(h, g_array_new(false, false, sizeof(int)));

        for (size_t p = 0; p < pc->n_parents; p++)
                for (size_t t = 0; t < pc->parents[p].n_types; t++) {
                        const VgpuType *ty = pc->parents[p].types[t];
                        int a = pc->parents[p].available ? pc->parents[p].available[t] : -1;
                        guint k;

                        if (!ty || !ty->id)
                                continue;
                        for (k = 0; k < types->len; k++)
                                if (g_str_equal(((VgpuType *)types->pdata[k])->id, ty->id))
                                        break;
                        if (k == types->len) {
                                g_ptr_array_add(types, (gpointer)ty);
                                g_array_append_val(avail, a);
                        } else if (a >= 0)
                                g_array_index(avail, int, k) = MAX(g_array_index(avail, int, k), 0) + a;
                }
        g_ptr_array_add(h->ptr_arrays, types);
        c->types = (const VgpuType *const *)types->pdata;
        c->n_types = types->len;
        c->available = GARRAY_ELEMENTS(avail, int);
}

static void core_devices(LayoutHost *h, const AllocHost *ah, size_t core, struct Leases *leases,
                         const char *owner, GHashTable *holders, LayoutCore *c)
{
        GArray *devs = keep_array(h, g_array_new(false, true, sizeof(LayoutDevice)));

        for (size_t p = 0; p < ah->cores[core].n_parents; p++) {
                InvParent *ip = alloc_host_parent(ah, core, p);

                for (guint i = 0; i < ip->devices->len; i++) {
                        InvDevice *d = ip->devices->pdata[i];
                        Lease *l = leases ? leases_get(leases, d->uuid) : NULL;
                        LayoutDevice ld = {.uuid = d->uuid, .type = d->type};

                        ld.managed = l && g_str_equal(l->owner, owner);
                        if (ld.managed)
                                ld.held_by = held_by(h, holders, d);
                        g_array_append_val(devs, ld);
                }
        }
        c->devices = GARRAY_ELEMENTS(devs, LayoutDevice);
        c->n_devices = devs->len;
}

LayoutHost *layout_host_new(Inventory *inv, struct Leases *leases, const char *owner)
{
        g_autoptr(AllocHost) ah = alloc_host_new(inv);
        g_autoptr(GPtrArray) gpus = NULL;
        g_autoptr(GHashTable) holders = managed_holders(inv, leases, owner);
        LayoutHost *h = g_new0(LayoutHost, 1);
        int r;

        h->strings = g_ptr_array_new_with_free_func(g_free);
        h->ptr_arrays = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
        h->arrays = g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
        r = sysfs_list_nvidia_gpus(&gpus);
        if (r < 0) {
                log_warning_errno(r, "Cannot list the PCI GPUs: %m");
                gpus = g_ptr_array_new();
        }
        h->cores = g_new0(LayoutCore, MAX(ah->n_cores, 1));
        h->n_cores = ah->n_cores;
        for (size_t i = 0; i < ah->n_cores; i++) {
                LayoutCore *c = &h->cores[i];
                InvParent *first = alloc_host_parent(ah, i, 0);

                c->core = keep_string(h, g_strdup(ah->cores[i].core));
                c->index = -1;
                c->mixed_size = ah->cores[i].cap.mixed_size;
                c->vendor = first->sys->vendor_id;
                c->device = first->sys->device_id;
                c->subsystem_vendor = first->sys->subsystem_vendor_id;
                c->subsystem_device = first->sys->subsystem_device_id;
                for (guint g = 0; g < gpus->len; g++) {
                        SysfsPciGpu *gpu = gpus->pdata[g];

                        if (g_str_equal(gpu->address, c->core)) {
                                c->index = (int)g;
                                c->vendor = gpu->vendor_id;
                                c->device = gpu->device_id;
                                c->subsystem_vendor = gpu->subsystem_vendor_id;
                                c->subsystem_device = gpu->subsystem_device_id;
                        }
                }
                core_types(h, &ah->cores[i], c);
                core_devices(h, ah, i, leases, owner, holders, c);
        }
        return h;
}
