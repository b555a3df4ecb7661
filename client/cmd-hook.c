/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `vgpuctl hook libvirt DOMAIN OPERATION SUBOP EXTRA` (libvirt's QEMU hook, domain XML on stdin) and
 * `vgpuctl hook proxmox VMID PHASE` (a Proxmox VE hookscript). Before the VM starts they make sure each
 * vGPU it needs runs, acquiring those its config asks for by profile; after it stops they release
 * them. Any failure before the start releases what this run did and exits 1, so the hypervisor does
 * not start the VM half-equipped. The parsers are hook-libvirt.c and hook-proxmox.c. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "alloc-client.h"
#include "bus-client.h"
#include "change-bus.h"
#include "cli.h"
#include "errors.h"
#include "hook-libvirt.h"
#include "hook-proxmox.h"
#include "inventory-client.h"
#include "lifecycle-client.h"
#include "macro.h"

#define VC_HOOK_MAX_INPUT (64U * 1024U * 1024U)
#define PVE_CONFIG_DIR    "/etc/pve/qemu-server"
#define PVE_PCI_MAPPING   "/etc/pve/mapping/pci.cfg"
#define SYSFS_PCI_DEVICES "/sys/bus/pci/devices"

/* What one run changed, undone when it fails. */
typedef struct Undo {
        GPtrArray *acquired; /* char*: UUIDs Acquire returned */
        GPtrArray *started;  /* char*: UUIDs started from their definition */
} Undo;

static void undo_clear(Undo *u)
{
        g_clear_pointer(&u->acquired, g_ptr_array_unref);
        g_clear_pointer(&u->started, g_ptr_array_unref);
}

static void undo_init(Undo *u)
{
        u->acquired = g_ptr_array_new_with_free_func(g_free);
        u->started = g_ptr_array_new_with_free_func(g_free);
}

static void stop_device(sd_bus *bus, const char *uuid)
{
        VcChangeCall call;

        vc_change_call_init(&call, "Stop", &uuid, 1);
        vc_change_call_add_options(&call, true, false, false, false);
        if (vc_change_call_on(bus, &call, NULL) < 0)
                fprintf(stderr, "Warning: could not stop %s again\n", uuid);
}

/* Release what this run acquired and stop what it started, newest first. */
static void undo_run(sd_bus *bus, Undo *u)
{
        const uint32_t *no_slot = NULL;

        for (guint i = u->acquired->len; i > 0; i--) {
                const char *uuid = u->acquired->pdata[i - 1];
                if (vc_release(bus, uuid, no_slot, true, NULL, NULL, NULL) < 0)
                        fprintf(stderr, "Warning: could not release %s again\n", uuid);
        }
        for (guint i = u->started->len; i > 0; i--)
                stop_device(bus, u->started->pdata[i - 1]);
}

/* Release(owner) after the VM stopped; holding nothing is fine. */
static int release_owner(const char *owner)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_auto(GStrv) released = NULL;
        int r;

        r = vc_bus_open_change(&bus);
        if (r < 0)
                return r;
        r = vc_release(bus, owner, NULL, false, NULL, &error, &released);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, VGPUD_ERROR_NOT_FOUND))
                        return 0;
                return vc_alloc_log_error(&error, r, VGPUD_MANAGER_IFACE ".Release");
        }
        for (char **u = released; u && *u; u++)
                printf("vgpud: released %s (%s)\n", *u, owner);
        return 0;
}

static void request_fill(VcAcquireRequest *req, const VcVgpuRequest *v, const char *owner)
{
        *req = (VcAcquireRequest){
                .profile = v->profile,
                .owner = owner,
                .place =
                        {
                                .parent = v->parent,
                                .board = v->board,
                                .policy = v->policy,
                                .has_numa_node = v->has_numa_node,
                                .numa_node = v->numa_node,
                        },
                .has_slot = true,
                .slot = v->slot,
                .persist = v->persist,
        };
}

/* Start the stored definition of uuid, as `vgpuctl start -u UUID` does. */
static int start_defined(sd_bus *bus, const char *uuid)
{
        const char *const strings[] = {"", uuid, ""};
        VcChangeCall call;

        vc_change_call_init(&call, "Start", strings, 3);
        return vc_change_call_on(bus, &call, NULL);
}

/* Acquire v as uuid for owner and remember it in u. Prints the failure. */
static int acquire_one(sd_bus *bus, const VcVgpuRequest *v, const char *owner, const char *uuid, Undo *u)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(vc_acquired_clear) VcAcquired got = {};
        VcAcquireRequest req;
        int r;

        request_fill(&req, v, owner);
        req.uuid = uuid;
        r = vc_acquire(bus, &req, &error, &got);
        if (r < 0) {
                fprintf(stderr, "Error: vgpud could not acquire a %s vGPU (slot %u, UUID %s) for %s: %s\n",
                        v->profile, v->slot, uuid, owner,
                        sd_bus_error_is_set(&error) && error.message ? error.message : strerror(-r));
                return r;
        }
        g_ptr_array_add(u->acquired, g_strdup(got.uuid));
        printf("vgpud: slot %u: %s vGPU %s on %s (%s) for %s\n", v->slot, v->profile, got.uuid, got.parent,
               got.type, owner);
        return 0;
}

static int read_all_fd(int fd, const char *what, char **ret)
{
        g_autoptr(GString) text = g_string_new(NULL);

        for (;;) {
                char buf[65536];
                ssize_t n = read(fd, buf, sizeof buf);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return vc_error("cannot read %s: %s", what, strerror(errno));
                if (n == 0)
                        break;
                if (text->len + (size_t)n > VC_HOOK_MAX_INPUT)
                        return vc_error("%s is larger than %u bytes", what, VC_HOOK_MAX_INPUT);
                g_string_append_len(text, buf, n);
        }
        if (memchr(text->str, '\0', text->len))
                return vc_error("%s holds a NUL byte", what);
        *ret = g_string_free(g_steal_pointer(&text), false);
        return 0;
}

/* ---------------------------------------------------------------- libvirt */

static GHashTable *uuid_set(void)
{
        return g_hash_table_new(g_str_hash, g_str_equal);
}

/* ---- libvirt on NVIDIA vGPU 17+ hosts: a vGPU on a VF named by a <hostdev type='pci' managed='no'> ---- */

/* The names of the NVIDIA VFs vgpud knows (nvidia-vf Gpu objects), borrowed from *ret_inv. */
static int libvirt_vf_set(sd_bus *bus, VcInventory **ret_inv, GHashTable **ret)
{
        g_autoptr(GHashTable) set = g_hash_table_new(g_str_hash, g_str_equal);
        int r = vc_inventory_load_types_of(bus, "nvidia-vf", ret_inv);

        if (r < 0)
                return r;
        for (guint i = 0; i < (*ret_inv)->gpus->len; i++)
                g_hash_table_add(set, (gpointer)((const VcGpu *)(*ret_inv)->gpus->pdata[i])->name);
        *ret = g_steal_pointer(&set);
        return 0;
}

/* The VF each vgpud:vgpu element that no mdev hostdev serves (assigned[i] NULL) gets: the VF hostdev its
 * parent= names, else the next VF hostdev in document order that no other element took. One entry per
 * element (borrowed from d), NULL for none. */
static GPtrArray *libvirt_vf_assign(const VcDomain *d, GPtrArray *assigned, GHashTable *vfs)
{
        GPtrArray *claims = g_ptr_array_new();
        g_autoptr(GHashTable) taken = g_hash_table_new(g_str_hash, g_str_equal);

        g_ptr_array_set_size(claims, d->vgpus->len);
        for (guint i = 0; i < d->vgpus->len; i++) {
                const VcVgpuRequest *v = d->vgpus->pdata[i];
                if (!assigned->pdata[i] && v->parent && g_hash_table_contains(vfs, v->parent) &&
                    vc_domain_has_pci(d, v->parent) && g_hash_table_add(taken, v->parent))
                        claims->pdata[i] = v->parent;
        }
        for (guint i = 0; i < d->vgpus->len; i++) {
                const VcVgpuRequest *v = d->vgpus->pdata[i];
                if (assigned->pdata[i] || claims->pdata[i] || v->parent)
                        continue;
                for (guint j = 0; j < d->pci_hostdevs->len && !claims->pdata[i]; j++) {
                        char *a = d->pci_hostdevs->pdata[j];
                        if (g_hash_table_contains(vfs, a) && g_hash_table_add(taken, a))
                                claims->pdata[i] = a;
                }
        }
        return claims;
}

/* The type of v on the domain's VF vf, its UUID derived from the domain's UUID and the slot (the VM's
 * -uuid is the domain's); Acquire answers at once when the owner holds it there already. */
static int libvirt_vf_acquire(sd_bus *bus, const VcDomain *d, const VcVgpuRequest *v, const char *owner,
                              const char *vf, Undo *u)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(vc_acquired_clear) VcAcquired got = {};
        VcAcquireRequest req;
        int r;

        request_fill(&req, v, owner);
        req.place.parent = vf;
        req.vm_uuid = d->uuid;
        r = vc_acquire(bus, &req, &error, &got);
        if (r < 0) {
                fprintf(stderr, "Error: vgpud could not set VF %s to a %s vGPU (slot %u) for %s: %s\n", vf,
                        v->profile, v->slot, owner,
                        sd_bus_error_is_set(&error) && error.message ? error.message : strerror(-r));
                return r;
        }
        g_ptr_array_add(u->acquired, g_strdup(got.uuid));
        printf("vgpud: slot %u: %s vGPU %s on VF %s (%s) for %s\n", v->slot, v->profile, got.uuid,
               got.parent, got.type, owner);
        return 0;
}

/* The UUID each vgpud:vgpu element of d becomes (see vc_domain_assign), the deterministic one from the
 * domain's UUID when no hostdev is left. Elements that a VF hostdev serves (vf_claims[i]) are left out.
 * Prints every element that has no <hostdev> (a VF's, when vgpud would place it on a VF) and returns
 * -ENOENT then. */
static int libvirt_assign(sd_bus *bus, const VcDomain *d, const char *owner, GHashTable *running,
                          GHashTable *defined, GHashTable *held, GHashTable *vfs, GPtrArray **ret,
                          GPtrArray **ret_vf_claims)
{
        g_autoptr(GPtrArray) assigned = vc_domain_assign(d, running, defined, held);
        g_autoptr(GPtrArray) vf_claims = libvirt_vf_assign(d, assigned, vfs);
        unsigned missing = 0;
        int r;

        for (guint i = 0; i < d->vgpus->len; i++) {
                const VcVgpuRequest *v = d->vgpus->pdata[i];
                g_autofree char *hostdev = NULL;

                if (vf_claims->pdata[i])
                        continue;
                if (!assigned->pdata[i]) {
                        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                        _cleanup_(vc_acquired_clear) VcAcquired got = {};
                        VcAcquireRequest req;

                        if (!d->uuid)
                                return vc_error(
                                        "the domain has no <uuid>, and vGPU slot %u (%s) has no free "
                                        "mdev <hostdev>",
                                        v->slot, v->profile);
                        request_fill(&req, v, owner);
                        req.vm_uuid = d->uuid;
                        req.dry_run = true;
                        r = vc_acquire(bus, &req, &error, &got);
                        if (r < 0)
                                return vc_error(
                                        "vGPU slot %u (%s) has no free mdev <hostdev>, and vgpud cannot "
                                        "place it: %s",
                                        v->slot, v->profile,
                                        sd_bus_error_is_set(&error) && error.message ? error.message
                                                                                     : strerror(-r));
                        if (g_hash_table_contains(vfs, got.parent)) {
                                hostdev = vc_domain_pci_hostdev_xml(got.parent);
                                fprintf(stderr,
                                        "Error: vGPU slot %u (%s) of domain '%s' has no <hostdev>: vgpud "
                                        "would put it on the free VF %s.\n"
                                        "Add this to the domain's <devices> (virsh edit %s):\n"
                                        "    %s\n",
                                        v->slot, v->profile, d->name ? d->name : owner, got.parent,
                                        d->name ? d->name : "DOMAIN", hostdev);
                                missing++;
                                continue;
                        }
                        assigned->pdata[i] = g_strdup(got.uuid);
                }
                if (vc_domain_has_mdev(d, assigned->pdata[i]))
                        continue;
                hostdev = vc_domain_hostdev_xml(assigned->pdata[i]);
                fprintf(stderr,
                        "Error: vGPU slot %u (%s) of domain '%s' has no mdev <hostdev>: it will be %s.\n"
                        "Add this to the domain's <devices> (virsh edit %s):\n"
                        "    %s\n",
                        v->slot, v->profile, d->name ? d->name : owner, (const char *)assigned->pdata[i],
                        d->name ? d->name : "DOMAIN", hostdev);
                missing++;
        }
        if (missing > 0)
                return -ENOENT;
        *ret = g_steal_pointer(&assigned);
        *ret_vf_claims = g_steal_pointer(&vf_claims);
        return 0;
}

/* What the host has now, as sets: running and defined mdev UUIDs (borrowed from *ret_inv, which must
 * outlive them) and owner's leases by slot. */
static int libvirt_host_state(sd_bus *bus, const char *owner, VcInventory **ret_inv, GPtrArray **ret_leases,
                              GHashTable *running, GHashTable *defined, GHashTable *held)
{
        g_autoptr(VcInventory) inv = NULL;
        g_autoptr(GPtrArray) leases = NULL;
        int r;

        r = vc_inventory_load_listing(bus, &inv);
        if (r < 0)
                return r;
        r = vc_list_leases(bus, NULL, &leases);
        if (r < 0)
                return r;
        for (guint i = 0; i < inv->devices->len; i++)
                g_hash_table_add(running, (gpointer)((const VcDevice *)inv->devices->pdata[i])->uuid);
        for (guint i = 0; i < inv->definitions->len; i++)
                g_hash_table_add(defined,
                                 (gpointer)((const VcDefinition *)inv->definitions->pdata[i])->uuid);
        for (guint i = 0; i < leases->len; i++) {
                const VcLease *l = leases->pdata[i];
                if (strcmp(l->owner, owner) == 0)
                        g_hash_table_insert(held, GUINT_TO_POINTER(l->slot), l->uuid);
        }
        *ret_inv = g_steal_pointer(&inv);
        *ret_leases = g_steal_pointer(&leases);
        return 0;
}

/* Each mdev hostdev of d that is not running: acquired for the <vgpud:vgpu> assigned to it, else
 * started from its definition; what it did goes into undo. */
static int libvirt_bring_up_mdevs(sd_bus *bus, const VcDomain *d, const char *domain_name, const char *owner,
                                  GHashTable *running, GHashTable *defined, GPtrArray *assigned, Undo *undo)
{
        int r;

        for (guint j = 0; j < d->mdevs->len; j++) {
                const char *uuid = d->mdevs->pdata[j];
                const VcVgpuRequest *claim = NULL;

                for (guint i = 0; i < assigned->len; i++)
                        if (assigned->pdata[i] && strcmp(assigned->pdata[i], uuid) == 0)
                                claim = d->vgpus->pdata[i];
                if (g_hash_table_contains(running, uuid))
                        continue;
                if (claim)
                        r = acquire_one(bus, claim, owner, uuid, undo);
                else if (g_hash_table_contains(defined, uuid)) {
                        r = start_defined(bus, uuid);
                        if (r >= 0) {
                                g_ptr_array_add(undo->started, g_strdup(uuid));
                                printf("vgpud: started %s from its definition\n", uuid);
                        }
                } else
                        r = vc_error("mdev %s of domain '%s' is neither running nor defined, and no "
                                     "<vgpud:vgpu> element asks for it",
                                     uuid, domain_name);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int libvirt_prepare(const char *domain_name)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        g_autoptr(VcDomain) d = NULL;
        g_autoptr(VcInventory) inv = NULL, vf_inv = NULL;
        g_autoptr(GPtrArray) leases = NULL, assigned = NULL, vf_claims = NULL;
        g_autoptr(GHashTable) running = uuid_set(), defined = uuid_set(), vfs = NULL;
        g_autoptr(GHashTable) held = g_hash_table_new(g_direct_hash, g_direct_equal);
        g_autofree char *xml = NULL, *why = NULL, *owner = NULL;
        _cleanup_(undo_clear) Undo undo = {};
        int r;

        r = read_all_fd(STDIN_FILENO, "the domain XML on stdin", &xml);
        if (r < 0)
                return r;
        r = vc_domain_parse(xml, -1, &d, &why);
        if (r < 0)
                return vc_error("%s", why);
        if (d->mdevs->len == 0 && d->vgpus->len == 0)
                return 0; /* nothing for vgpud: do not even need it running */
        owner = g_strconcat("libvirt:", domain_name, NULL);

        r = vc_bus_open_change(&bus);
        if (r < 0)
                return r;
        r = libvirt_host_state(bus, owner, &inv, &leases, running, defined, held);
        if (r < 0)
                return r;
        r = libvirt_vf_set(bus, &vf_inv, &vfs);
        if (r < 0)
                return r;
        r = libvirt_assign(bus, d, owner, running, defined, held, vfs, &assigned, &vf_claims);
        if (r < 0)
                return r;

        undo_init(&undo);
        for (guint i = 0; vf_claims && i < vf_claims->len; i++) {
                if (!vf_claims->pdata[i])
                        continue;
                r = libvirt_vf_acquire(bus, d, d->vgpus->pdata[i], owner, vf_claims->pdata[i], &undo);
                if (r < 0)
                        break;
        }
        if (r >= 0)
                r = libvirt_bring_up_mdevs(bus, d, domain_name, owner, running, defined, assigned, &undo);
        if (r < 0) {
                undo_run(bus, &undo);
                return r;
        }
        return 0;
}

static int hook_libvirt(int argc, char **argv)
{
        const char *op;

        if (argc != 4)
                return vc_error(
                        "usage: vgpuctl hook libvirt DOMAIN OPERATION SUB-OPERATION EXTRA (as libvirt "
                        "calls /etc/libvirt/hooks/qemu), got %d arguments",
                        argc);
        if (!*argv[0])
                return vc_error("the domain name is empty");
        op = argv[1];
        if (strcmp(op, "prepare") == 0)
                return libvirt_prepare(argv[0]);
        if (strcmp(op, "release") == 0) {
                g_autofree char *owner = g_strconcat("libvirt:", argv[0], NULL);
                return release_owner(owner);
        }
        return 0;
}

/* ---------------------------------------------------------------- Proxmox */

static int pve_read_config(uint32_t vmid, VcPveConfig **ret)
{
        const char *dir = getenv("VGPUD_PVE_CONFIG_DIR");
        g_autofree char *path = NULL, *text = NULL, *why = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        path = g_strdup_printf("%s/%u.conf", dir && *dir ? dir : PVE_CONFIG_DIR, vmid);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return vc_error("cannot open the config of VM %u, %s: %s", vmid, path, strerror(errno));
        r = read_all_fd(fd, path, &text);
        if (r < 0)
                return r;
        r = vc_pve_config_parse(text, ret, &why);
        if (r < 0)
                return vc_error("%s: %s", path, why);
        return 0;
}

/* This node's name as Proxmox knows it (PVE::INotify::nodename: the host name up to the first dot);
 * VGPUD_PVE_NODE replaces it. */
static char *pve_node_name(void)
{
        const char *env = getenv("VGPUD_PVE_NODE");
        struct utsname u;

        if (env && *env)
                return g_strdup(env);
        if (uname(&u) < 0)
                return g_strdup("localhost");
        return g_strndup(u.nodename, strcspn(u.nodename, "."));
}

/* The alternatives of h (one char** of ids each): its mapping's devices on this node (the mapping file
 * VGPUD_PVE_MAPPING_FILE replaces /etc/pve/mapping/pci.cfg), or its host list. */
static int pve_alternatives(const VcPveHostpci *h, GPtrArray **ret)
{
        const char *path = getenv("VGPUD_PVE_MAPPING_FILE");
        g_autofree char *node = NULL, *text = NULL, *why = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!h->mapping) {
                *ret = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
                g_ptr_array_add(*ret, g_strdupv(h->hosts));
                return 0;
        }
        path = path && *path ? path : PVE_PCI_MAPPING;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return vc_error("hostpci%u: cannot read the PCI mappings, %s: %s", h->index, path,
                                strerror(errno));
        r = read_all_fd(fd, path, &text);
        if (r < 0)
                return r;
        node = pve_node_name();
        r = vc_pve_mapping_parse(text, h->mapping, node, ret, &why);
        if (r < 0)
                return vc_error("hostpci%u: %s (%s)", h->index, why, path);
        return 0;
}

/* Every id of the alternatives, once, in order. */
static GPtrArray *pve_candidates(GPtrArray *alternatives)
{
        GPtrArray *ids = g_ptr_array_new();

        for (guint i = 0; i < alternatives->len; i++)
                for (char **id = alternatives->pdata[i]; *id; id++)
                        if (!g_ptr_array_find_with_equal_func(ids, *id, g_str_equal, NULL))
                                g_ptr_array_add(ids, *id);
        g_ptr_array_add(ids, NULL);
        return ids;
}

static bool pve_is_nvidia_vf(const char *id)
{
        g_autofree char *path = g_strdup_printf("%s/%s/nvidia", SYSFS_PCI_DEVICES, id);
        struct stat st;

        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A line whose first device is an NVIDIA VF with the per-VF interface (nvidia/): qemu-server writes
 * the type to the VF's current_vgpu_type itself, tries the alternatives in order and writes 0 at
 * cleanup. vgpud therefore neither makes nor removes anything there (one writer per VF, so neither
 * undoes the other's work); it only checks, as a dry run over the same devices, that the type fits,
 * and stops the start with its sentence when the size rule or the room says no. */
static int pve_nvidia_vf_line(sd_bus *bus, uint32_t vmid, const VcPveHostpci *h, GPtrArray *ids,
                              int numa_node)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(vc_acquired_clear) VcAcquired got = {};
        g_autofree char *owner = g_strdup_printf("proxmox:%u", vmid);
        VcAcquireRequest req = {
                .profile = h->mdev,
                .owner = owner,
                .place = {.parents = (const char *const *)ids->pdata,
                          .has_numa_node = numa_node >= 0,
                          .numa_node = numa_node},
                .has_slot = true,
                .slot = h->index,
                .dry_run = true,
        };
        int r;

        r = vc_acquire(bus, &req, &error, &got);
        if (r >= 0) {
                printf("vgpud: hostpci%u: %s fits on these VFs (e.g. %s); qemu-server sets the type on "
                       "the VF itself\n",
                       h->index, h->mdev, got.parent);
                return 0;
        }
        if (sd_bus_error_has_names(&error, VGPUD_ERROR_SIZE_CONFLICT, VGPUD_ERROR_NO_CAPACITY))
                return vc_error("VM %u, hostpci%u (%s): %s", vmid, h->index, h->mdev, error.message);
        fprintf(stderr,
                "Warning: VM %u, hostpci%u: vgpud cannot check %s on these VFs (%s); qemu-server "
                "chooses on its own\n",
                vmid, h->index, h->mdev,
                sd_bus_error_is_set(&error) && error.message ? error.message : strerror(-r));
        return 0;
}

/* A hostpciN line with mdev=: vgpud chooses the parent among the line's devices with its placement
 * rules and makes the vGPU there with Proxmox's UUID for (N, VMID), leased to proxmox:VMID in slot N,
 * so that qemu-server's own start finds it ("already existed, using it") instead of taking the first
 * device with a free instance. When nothing fits, vgpud's sentence stops the start. */
static int pve_hostpci_line(sd_bus *bus, uint32_t vmid, const VcPveHostpci *h, int numa_node,
                            GHashTable *running, Undo *u)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(vc_acquired_clear) VcAcquired got = {};
        g_autoptr(GPtrArray) alternatives = NULL, ids = NULL;
        g_autofree char *owner = g_strdup_printf("proxmox:%u", vmid);
        g_autofree char *uuid = vc_pve_mdev_uuid(h->index, vmid);
        g_autofree char *what =
                h->mapping ? g_strdup_printf("mapping %s", h->mapping) : g_strjoinv(";", h->hosts);
        VcAcquireRequest req;
        int r;

        r = pve_alternatives(h, &alternatives);
        if (r < 0)
                return r;
        ids = pve_candidates(alternatives);
        if (pve_is_nvidia_vf(((char **)alternatives->pdata[0])[0]))
                return pve_nvidia_vf_line(bus, vmid, h, ids, numa_node);
        if (g_hash_table_contains(running, uuid)) {
                printf("vgpud: hostpci%u: %s runs already; qemu-server uses it\n", h->index, uuid);
                return 0;
        }
        req = (VcAcquireRequest){
                .profile = h->mdev,
                .owner = owner,
                .place = {.parents = (const char *const *)ids->pdata,
                          .has_numa_node = numa_node >= 0,
                          .numa_node = numa_node},
                .has_slot = true,
                .slot = h->index,
                .uuid = uuid,
        };
        r = vc_acquire(bus, &req, &error, &got);
        if (r < 0)
                return vc_error("VM %u, hostpci%u (%s, mdev=%s): %s", vmid, h->index, what, h->mdev,
                                sd_bus_error_is_set(&error) && error.message ? error.message : strerror(-r));
        g_ptr_array_add(u->acquired, g_strdup(got.uuid));
        printf("vgpud: hostpci%u: %s vGPU %s on %s for %s; qemu-server uses it\n", h->index, got.type,
               got.uuid, got.parent, owner);
        for (guint i = 0; i < alternatives->len; i++)
                if (g_strv_length(alternatives->pdata[i]) > 1)
                        fprintf(stderr,
                                "Warning: VM %u, hostpci%u names several devices in one entry (%s): "
                                "qemu-server refuses mdev with that (\"cannot use mediated device with "
                                "multifunction device\"); write hostpci%u: %s,mdev=%s, or a resource "
                                "mapping with one device per map line\n",
                                vmid, h->index, what, h->index, got.parent, h->mdev);
        return 0;
}

/* The running devices' UUIDs (strings owned by inv). */
static GHashTable *running_set(const VcInventory *inv)
{
        GHashTable *set = uuid_set();

        for (guint i = 0; i < inv->devices->len; i++)
                g_hash_table_add(set, (gpointer)((const VcDevice *)inv->devices->pdata[i])->uuid);
        return set;
}

static bool pve_has_mdev_lines(const VcPveConfig *conf)
{
        for (guint i = 0; i < conf->hostpci->len; i++)
                if (((const VcPveHostpci *)conf->hostpci->pdata[i])->mdev)
                        return true;
        return false;
}

static int proxmox_pre_start(uint32_t vmid)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        g_autoptr(VcPveConfig) conf = NULL;
        g_autoptr(VcInventory) inv = NULL;
        g_autoptr(GHashTable) running = NULL;
        g_autofree char *owner = g_strdup_printf("proxmox:%u", vmid);
        _cleanup_(undo_clear) Undo undo = {};
        int r;

        r = pve_read_config(vmid, &conf);
        if (r < 0)
                return r;
        if (conf->vgpus->len == 0 && !pve_has_mdev_lines(conf))
                return 0;
        for (guint i = 0; i < conf->vgpus->len; i++) {
                const VcVgpuRequest *v = conf->vgpus->pdata[i];
                if (v->slot > 99999999)
                        return vc_error(
                                "VM %u: slot %u does not fit Proxmox's mdev UUIDs (at most 99999999)", vmid,
                                v->slot);
        }

        r = vc_bus_open_change(&bus);
        if (r < 0)
                return r;
        r = vc_inventory_load_listing(bus, &inv);
        if (r < 0)
                return r;
        running = running_set(inv);
        undo_init(&undo);
        for (guint i = 0; i < conf->vgpus->len; i++) {
                const VcVgpuRequest *v = conf->vgpus->pdata[i];
                g_autofree char *uuid = vc_pve_mdev_uuid(v->slot, vmid);
                g_autofree char *sysfsdev = g_strdup_printf("sysfsdev=/sys/bus/mdev/devices/%s", uuid);

                r = acquire_one(bus, v, owner, uuid, &undo);
                if (r < 0) {
                        undo_run(bus, &undo);
                        return r;
                }
                if (!conf->args || !strstr(conf->args, sysfsdev))
                        fprintf(stderr,
                                "Warning: VM %u does not pass %s to QEMU: add to its config\n"
                                "    args: -device vfio-pci,%s\n",
                                vmid, uuid, sysfsdev);
        }
        for (guint i = 0; i < conf->hostpci->len; i++) {
                const VcPveHostpci *h = conf->hostpci->pdata[i];

                if (!h->mdev)
                        continue;
                r = pve_hostpci_line(bus, vmid, h, conf->numa_node, running, &undo);
                if (r < 0) {
                        undo_run(bus, &undo);
                        return r;
                }
        }
        return 0;
}

static int hook_proxmox(int argc, char **argv)
{
        uint32_t vmid;

        if (argc != 2)
                return vc_error("usage: vgpuctl hook proxmox VMID PHASE (as Proxmox VE calls a hookscript), "
                                "got %d arguments",
                                argc);
        if (vc_pve_parse_vmid(argv[0], &vmid) < 0)
                return vc_error("'%s' is not a Proxmox VMID (100 to 999999999)", argv[0]);
        if (strcmp(argv[1], "pre-start") == 0)
                return proxmox_pre_start(vmid);
        if (strcmp(argv[1], "post-stop") == 0) {
                g_autofree char *owner = g_strdup_printf("proxmox:%u", vmid);
                return release_owner(owner);
        }
        return 0;
}

/* ---------------------------------------------------------------- command */

static int main_hook(const VcContext *ctx, const VcCommand *cmd, int argc, char **argv)
{
        int r;

        if (argc >= 1 && (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0)) {
                vc_print_help(ctx, strcmp(argv[0], "-h") == 0 ? cmd->help_short : cmd->help_long);
                return 0;
        }
        if (argc < 1) {
                vc_usage_error(ctx, cmd->usage,
                               "The following required arguments were not provided:\n    <HYPERVISOR>");
                return 2;
        }
        if (strcmp(argv[0], "libvirt") == 0)
                r = hook_libvirt(argc - 1, argv + 1);
        else if (strcmp(argv[0], "proxmox") == 0)
                r = hook_proxmox(argc - 1, argv + 1);
        else {
                g_autofree char *msg = g_strdup_printf("'%s' is not a hook (libvirt, proxmox)", argv[0]);
                vc_usage_error(ctx, cmd->usage, msg);
                return 2;
        }
        fflush(stdout);
        return r < 0 ? 1 : 0;
}

#define HOOK_USAGE "{bin} hook <libvirt DOMAIN OPERATION SUB-OPERATION EXTRA | proxmox VMID PHASE>"

const VcCommand vc_command_hook = {
        .name = "hook",
        .about = "Run as a libvirt QEMU hook or a Proxmox VE hookscript",
        .usage = HOOK_USAGE,
        .vgpuctl_only = true,
        .main = main_hook,
        .help_short = "vgpuctl-hook \n"
                      "Run as a libvirt QEMU hook or a Proxmox VE hookscript\n"
                      "\n"
                      "USAGE:\n"
                      "    {bin} hook libvirt DOMAIN OPERATION SUB-OPERATION EXTRA < domain.xml\n"
                      "    {bin} hook proxmox VMID PHASE\n"
                      "\n"
                      "OPTIONS:\n"
                      "    -h, --help    Print help information\n",
        .help_long = "vgpuctl-hook \n"
                     "Run as a libvirt QEMU hook or a Proxmox VE hookscript\n"
                     "\n"
                     "libvirt (installed as /etc/libvirt/hooks/qemu.d/vgpud): at \"prepare\" every mdev\n"
                     "<hostdev> of the domain is made to run (from its definition), and each\n"
                     "<vgpud:vgpu profile=\"...\"/> in the domain's <metadata> (namespace\n"
                     "https://vgpud.org/xmlns/libvirt/1) is acquired as one of those hostdevs for owner\n"
                     "libvirt:DOMAIN; at \"release\" that owner's vGPUs are released.\n"
                     "\n"
                     "Proxmox VE (qm set VMID --hookscript ...): at \"pre-start\" each\n"
                     "\"#vgpud: profile=...\" line of the VM's description is acquired as\n"
                     "SSSSSSSS-0000-0000-0000-VVVVVVVVVVVV (slot, VMID) for owner proxmox:VMID; at\n"
                     "\"post-stop\" they are released. Each hostpciN line with mdev=TYPE (mapping=NAME\n"
                     "from /etc/pve/mapping/pci.cfg, or host devices) is made, among its devices, where\n"
                     "vgpud's placement puts it, as NNNNNNNN-0000-0000-0000-VVVVVVVVVVVV (N, VMID), so\n"
                     "that qemu-server uses it; NVIDIA VFs with nvidia/ are only checked (qemu-server sets\n"
                     "their type). VGPUD_PVE_CONFIG_DIR, VGPUD_PVE_MAPPING_FILE and VGPUD_PVE_NODE\n"
                     "replace /etc/pve/qemu-server, the mapping file and the node name.\n"
                     "\n"
                     "When anything fails before the VM starts, what this run acquired is released and the\n"
                     "exit status is 1, so the VM does not start.\n"
                     "\n"
                     "USAGE:\n"
                     "    {bin} hook libvirt DOMAIN OPERATION SUB-OPERATION EXTRA < domain.xml\n"
                     "    {bin} hook proxmox VMID PHASE\n"
                     "\n"
                     "OPTIONS:\n"
                     "    -h, --help\n"
                     "            Print help information\n",
};
