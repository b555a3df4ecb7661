/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's live picture of the host: mdev parents (GPUs) with their types and GPU-core state,
 * running mediated devices, and persistent definitions. It is filled from sysfs and the definitions
 * directory and reports every change to an observer (the bus glue), so that it knows nothing of
 * D-Bus itself. Each object has a stable object path, computed here so that tests and the bus agree. */

#include <stdbool.h>
#include <glib.h>

#include "capacity.h"
#include "mdev-def.h"
#include "backend.h"
#include "leases.h"
#include "vgpu-type.h"

typedef struct Inventory Inventory;

typedef struct InvParent {
        Inventory *inventory;
        char *name;
        char *object_path;
        SysfsParent *sys;
        GPtrArray *models;                      /* VgpuType*, parallel to sys->types */
        char *vendor, *model, *subsystem_model; /* PCI names: NULL until inventory_parent_names() */
        /* derived from all parents and devices by inventory_recompute() */
        char *core, *board;
        const char *board_model; /* static string or NULL */
        CoreCapacity cap;
        GPtrArray *devices; /* InvDevice* (borrowed), sorted by uuid */
        guint64 counts_gen; /* Inventory's events_gen when its types' counts were last read */
} InvParent;

typedef struct InvDevice {
        Inventory *inventory;
        char uuid[37];
        /* no object path kept: inventory_device_path(uuid) gives it (thousands of devices) */
        SysfsDevice *sys;
        const VgpuType *type; /* its type's model on its parent, NULL when unknown (set by every update) */
        const char *state;    /* static string: "starting", "stopping" while the lifecycle works on it;
                                 NULL: "active" */
        bool settled;         /* read with its core's counts right after the write that made it
                                 (inventory_device_written()): its own uevents change nothing */
} InvDevice;

typedef struct InvDefinition {
        char *key; /* "<parent>/<uuid>" */
        char *parent;
        char uuid[37];
        char *object_path;
        char *file;
        MdevDef *def;
        char *type_shown; /* def's type as TypeId and List show it: name_shown() (the file keeps it) */
        bool own_store;   /* in vgpud's own store (a VF vGPU's), not in mdevctl's directory */
} InvDefinition;

typedef enum {
        INV_OBJECT_GPU,
        INV_OBJECT_DEVICE,
        INV_OBJECT_DEFINITION,
        INV_OBJECT_MANAGER,
} InvObjectKind;

typedef struct InventoryObserver {
        /* The object at path exists now (called after it was added). */
        void (*object_added)(void *userdata, InvObjectKind kind, const char *path);
        /* The object at path is going away (called while it can still be looked up). */
        void (*object_removed)(void *userdata, InvObjectKind kind, const char *path);
        /* Properties (NULL-terminated names) of the object's interface changed. */
        void (*properties_changed)(void *userdata, InvObjectKind kind, const char *path, char **names);
} InventoryObserver;

Inventory *inventory_new(const char *definitions_dir);
void inventory_free(Inventory *inv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Inventory, inventory_free)

/* Read sysfs through this backend too (consumed); before the first scan. The backends are asked in the
 * order they were added, so a name two of them claim belongs to the first. */
void inventory_add_backend(Inventory *inv, Backend *b);
/* The backend of this name ("mdev", "nvidia-vf"), NULL when not in use. */
Backend *inventory_backend(Inventory *inv, const char *name);
/* Ask every backend: a running device by canonical UUID (-ENOENT when none has it). */
int inventory_read_device(Inventory *inv, const char *uuid, SysfsDevice **ret);
/* Is name a parent in sysfs right now (for any backend)? */
bool inventory_parent_exists(Inventory *inv, const char *name);
/* What a uevent is about, by the first backend that claims it (BACKEND_EVENT_NONE: none does). */
BackendEvent inventory_classify_uevent(Inventory *inv, const char *subsystem, const char *sysname,
                                       char **ret_name);

void inventory_set_observer(Inventory *inv, const InventoryObserver *observer, void *userdata);
const char *inventory_definitions_dir(Inventory *inv);
/* vgpud's own store of definitions, for parents whose backend keeps them there (BackendClass.own_store):
 * the same layout and format as mdevctl's directory, somewhere mdevctl does not look. NULL: none. */
void inventory_set_own_definitions_dir(Inventory *inv, const char *dir);
/* Where parent's definitions belong: the own store when parent is (or was: a VF not enabled yet after a
 * reboot) a parent of such a backend, else mdevctl's directory. */
const char *inventory_definitions_dir_for(Inventory *inv, const char *parent);
/* The parents under which uuid is defined in either store, sorted (strv; empty when none). */
int inventory_find_definitions(Inventory *inv, const char *uuid, char ***ret_parents);

/* Re-read everything: parents, types, devices, definitions. */
int inventory_rescan(Inventory *inv);
/* A uevent or a hint said this parent may have changed, appeared or gone: re-read it and the types
 * of every parent on its GPU core. */
void inventory_parent_changed(Inventory *inv, const char *name);
/* Only the counts of a known parent's types may have changed (before a create): re-read its
 * available_instances and those of the other parents on its GPU core (a parent not known yet is read
 * whole). */
void inventory_parent_counts_changed(Inventory *inv, const char *name);
/* Are the counts of parent name what the kernel showed at the last news vgpud took in? True when
 * they were read after every uevent batch, rescan and re-read of parents (anything but a device's own
 * uevents after its write was read, inventory_device_written()), on a backend whose every change of
 * counts comes with a uevent (mdev: a device's add or remove; not a VF, whose type is written without
 * one) and on a parent alone on its core. A change whose uevent vgpud has not read yet is not seen:
 * the kernel still refuses a create that finds no room. */
bool inventory_parent_counts_current(Inventory *inv, const char *name);
/* A mediated device may have appeared or gone. */
void inventory_device_changed(Inventory *inv, const char *uuid);
/* The same, right after a write to create or remove that returned: the kernel made or removed the
 * device inside it (create_store(), remove_store()), so what is read now, its core's counts
 * included, is final, and the device's own uevents later re-read neither (a device created by
 * anyone else is re-read with its core at each of its uevents: a driver may count it only when it
 * binds, after the add uevent). */
void inventory_device_written(Inventory *inv, const char *uuid);
/* vgpud's own write to create or remove uuid is in flight (writing true) or has returned (false, before
 * inventory_device_written()): meanwhile the device's uevents, which the kernel sends before the write
 * returns, are not read (nor its core's counts with them): the write's result reads both once, final. A
 * rescan still reads it. */
void inventory_set_device_writing(Inventory *inv, const char *uuid, bool writing);
/* Re-read the given parents and devices (either may be NULL) in one go and announce the changes
 * once; what the udev watcher calls with the names it collected during one loop iteration. */
void inventory_update(Inventory *inv, char **parents, char **devices);
/* Look again at what no uevent announces: the vGPU each VF holds (another tool, e.g. qemu-server or an
 * admin's echo, may have written current_vgpu_type). Parents whose vGPU differs from what the inventory
 * shows are re-read with inventory_update(). One read per VF; for placement decisions. */
void inventory_recheck_unannounced(Inventory *inv);
/* How often a new device without an mdev_type link is read again before it is listed with an
 * unknown type, and how long apart (see inventory-internal.h). */
#define INVENTORY_TYPELESS_ATTEMPTS   50
#define INVENTORY_TYPELESS_RETRY_USEC (20 * 1000ULL)
/* The UUIDs of new devices waiting for their mdev_type link (free the array with g_free, not the
 * strings), or NULL when there are none. */
char **inventory_typeless(Inventory *inv);
/* Re-read the definitions directory. */
int inventory_reload_definitions(Inventory *inv);
/* Re-read only <parent>/<uuid> of the definitions directory (added, changed or gone), as after vgpud's
 * own write of it: what inventory_reload_definitions() would find when nothing else changed, without
 * reading every other file. Falls back to the whole directory while any file is skipped with a
 * warning, or when this one cannot be read. */
int inventory_reload_definition(Inventory *inv, const char *parent, const char *uuid);
struct StoredDef;
/* The same for a definition vgpud has just made durable (store_write_begin_stored()'s StoredDef,
 * taken): what inventory_reload_definition() would read, without reading it back. */
int inventory_put_definition(Inventory *inv, struct StoredDef *sd);
/* The lifecycle's state of a device (a static string, "starting" or "stopping"; NULL: none, "active"),
 * also for a device that has yet to appear; its object shows it and signals the change. */
void inventory_set_device_state(Inventory *inv, const char *uuid, const char *state);
/* Is this a parent we know? */
bool inventory_has_parent(Inventory *inv, const char *name);

/* Lookups for the bus glue; NULL when unknown. */
InvParent *inventory_get_parent_by_path(Inventory *inv, const char *path);
InvDevice *inventory_get_device_by_path(Inventory *inv, const char *path);
InvDefinition *inventory_get_definition_by_path(Inventory *inv, const char *path);
InvParent *inventory_get_parent(Inventory *inv, const char *name);
InvDevice *inventory_get_device(Inventory *inv, const char *uuid);
/* A device's sysfs directory (g_free it): its parent's directory plus its UUID. */
char *inventory_device_syspath(Inventory *inv, const InvDevice *d);
/* The backend of a device (never NULL). */
static inline Backend *inventory_device_backend(const InvDevice *d)
{
        return d->sys->backend;
}
/* The model of a device's type (via its parent), or NULL. */
const VgpuType *inventory_device_type(Inventory *inv, const InvDevice *d);

/* Borrowed pointers, sorted: parents by name, devices by uuid, definitions by parent then uuid
 * (g_ptr_array_unref the array, not the elements). */
GPtrArray *inventory_list_parents(Inventory *inv);
GPtrArray *inventory_list_devices(Inventory *inv);
GPtrArray *inventory_list_definitions(Inventory *inv);
/* The same, kept to what a listing of one backend shows ("mdev": mdevctl's view; NULL or "": all):
 * parents and devices of that backend, definitions in that backend's store. Manager.List* and the
 * snapshot for read commands both list through these (inventory-listing.c). */
GPtrArray *inventory_listing_parents(Inventory *inv, const char *backend);
GPtrArray *inventory_listing_devices(Inventory *inv, const char *backend);
GPtrArray *inventory_listing_definitions(Inventory *inv, const char *backend);

/* NULL-terminated arrays of object paths (g_strfreev). */
char **inventory_gpu_paths(Inventory *inv);
char **inventory_device_paths(Inventory *inv);
char **inventory_definition_paths(Inventory *inv);

/* How many objects of a kind there are. */
unsigned inventory_count(Inventory *inv, InvObjectKind kind);

/* Fill the parent's PCI names (looked up when first asked for, not at startup: the PCI ID database
 * is large). Returns 1 when this loaded the database, which inventory_release_names() drops again. */
int inventory_parent_names(Inventory *inv, InvParent *p);
void inventory_release_names(Inventory *inv);

/* An autostart of parent/uuid failed with message (NULL: it started, forget the failure). Failures are
 * part of the Warnings until then, so that vgpuctl shows them. */
void inventory_set_start_failure(Inventory *inv, const char *parent, const char *uuid, const char *message);

/* Owners (inventory-owners.c). The leases are borrowed and must outlive the inventory; NULL: none. */
struct Leases;
void inventory_set_leases(Inventory *inv, struct Leases *leases);
/* The lease of a device (or of a UUID not running), NULL when nobody holds it. */
struct Lease *inventory_lease(Inventory *inv, const char *uuid);
/* What lease l is worth now (lease_verdict()): whether its device runs (read from sysfs when the
 * inventory has not seen it yet) and, for a lease that has one, whether its definition's file is
 * there; *ret_definition (g_free, may be NULL): that file's path, for the messages. */
LeaseVerdict inventory_lease_verdict(Inventory *inv, const struct Lease *l, char **ret_definition);
/* The lease of uuid was made, changed or dropped: announce the device's Owner and Slot, its user, and
 * Idle. */
void inventory_lease_changed(Inventory *inv, const char *uuid);

/* Who uses a running device, first that applies: its lease's owner; else the process holding its VFIO
 * group (at the last inventory_scan_users()); else the Proxmox VM its UUID names by qemu-server's
 * convention (%08d-0000-0000-0000-%012d: hostpci index, VMID); else its definition. */
typedef enum {
        INV_USER_NONE,
        INV_USER_LEASE,
        INV_USER_PROCESS,
        INV_USER_PROXMOX,
        INV_USER_DEFINITION,
} InvUserKind;

typedef struct InvDeviceUse {
        InvUserKind kind;
        char *user;               /* the owner; the holder's VM ("libvirt:web-01", "proxmox:101",
                                     "qemu:NAME") or "pid N (comm)"; "proxmox:VMID"; "definition"; "" */
        pid_t pid;                /* the process holding its VFIO group at the last scan, 0: none */
        char *comm, *vm;          /* that process's command name and VM; NULL when none */
        bool idle;                /* running with no lease, no definition and no process holding it */
        uint64_t idle_since_usec; /* CLOCK_REALTIME: since when it is idle (last seen in use, or first
                                     seen); 0 while in use */
} InvDeviceUse;

/* Where libvirt's runtime status files are (NULL: /run/libvirt/qemu), for the holders' VMs. */
void inventory_set_libvirt_run_dir(Inventory *inv, const char *dir);
/* Look for the processes holding the running devices' VFIO groups now (one pass over /proc), and
 * announce what changed. 0 or a negative errno (the previous holders are kept then). */
int inventory_scan_users(Inventory *inv);
struct VfioBusyWorker;
/* r: 0 once a scan's answer is applied and announced, a negative errno when its pass failed (logged;
 * the previous holders are kept), -ECANCELED when the inventory is freed first. */
typedef void (*InvUsersScanned)(int r, void *userdata);
/* The same, its pass over /proc made by worker (vfio-busy-worker.h) off the loop, by a pass that
 * begins after this call: what it finds is applied and announced from the loop when it comes (devices
 * gone meanwhile skipped, ones that came meanwhile left to the next scan). done (may be NULL) runs
 * exactly once, from the loop (never from inside this call), or while the inventory is freed. */
void inventory_scan_users_off_loop(Inventory *inv, struct VfioBusyWorker *worker, InvUsersScanned done,
                                   void *userdata);
/* Wait for the latest of those scans under way: done as above. false, and nothing done, when none is. */
bool inventory_users_scan_join(Inventory *inv, InvUsersScanned done, void *userdata);
/* How many such scans are under way. */
unsigned inventory_users_scans(Inventory *inv);
/* The usage of a running device, NULL when it is not running. */
const InvDeviceUse *inventory_device_use(Inventory *inv, const char *uuid);
/* "lease", "process", "proxmox", "definition" or "" (nobody). */
const char *inventory_user_kind_to_string(InvUserKind k);
/* The idle running devices: char* UUIDs (borrowed), sorted. */
GPtrArray *inventory_idle(Inventory *inv);
/* Add a warning line (e.g. about the leases file) to Warnings. */
void inventory_add_warning(Inventory *inv, const char *line);

/* Mixed-size mode of a GPU core (an NVIDIA PF of VF vGPUs) as vgpud knows it: set once vgpud switched it
 * on through NVML or read it there. The capacity model counts the core as mixed while it is set (status,
 * Plan, Acquire); setting it recomputes and announces what changed. It is dropped when the core has no
 * parent left: the rebind of SR-IOV enabling and a reboot wipe the mode with the VFs. */
void inventory_set_core_mixed(Inventory *inv, const char *core, bool on);
bool inventory_core_mixed(Inventory *inv, const char *core);
/* The cores (PF addresses) the host configuration ([NvidiaVF] MixedSize) wants in mixed-size mode; copied
 * (NULL: none). */
void inventory_set_mixed_size_wanted(Inventory *inv, char **cores);
bool inventory_mixed_size_wanted(Inventory *inv, const char *core);

/* Problems found while reading (char*, one per line). */
GPtrArray *inventory_warnings(Inventory *inv);

/* Object path helpers (g_free the result). */
char *inventory_gpu_path(const char *parent_name);
char *inventory_device_path(const char *uuid);
char *inventory_definition_path(const char *parent_name, const char *uuid);
