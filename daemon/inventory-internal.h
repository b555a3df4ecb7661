/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Inside the inventory: its state and the change bookkeeping that inventory.c (sysfs: parents,
 * devices), inventory-derived.c (device lists, cores, capacity, the announcements) and
 * inventory-definitions.c (the definitions directory, warnings) share. */

#include <stdbool.h>

#include "names.h"
#include "strutil.h"
#include "pci-names.h"
#include "inventory.h"
#include "leases.h"

/* Which of a Gpu's changeable properties differ after an update (inventory_mark_changed()). */
enum {
        INV_CHANGED_TYPES = 1u << 0,
        INV_CHANGED_SIZE_CLASS = 1u << 1,
        INV_CHANGED_MIXED = 1u << 2,
        INV_CHANGED_USED = 1u << 3,
        INV_CHANGED_CAPACITY = 1u << 4,
        INV_CHANGED_DEVICES = 1u << 5,
        INV_CHANGED_CORE = 1u << 6,
        INV_CHANGED_BOARD = 1u << 7,
        INV_CHANGED_BOARD_MODEL = 1u << 8,
};

struct Inventory {
        char *definitions_dir;
        char *own_definitions_dir; /* NULL: none (see inventory_set_own_definitions_dir()) */
        GPtrArray *backends;       /* Backend*, owned; asked in order (mdev first) */
        GHashTable *parents;       /* name -> InvParent* */
        GHashTable *devices;       /* uuid -> InvDevice* */
        GHashTable *definitions;   /* "<parent>/<uuid>" -> InvDefinition* */
        GHashTable *gone_cores;    /* uuid -> core of devices that went recently (see inventory_update()) */
        GHashTable *writing;       /* uuids whose write to create or remove is in flight: their uevents
                                      are not read (inventory_set_device_writing()) */
        GHashTable *device_states; /* uuid -> static state string set by the lifecycle */
        GPtrArray *sysfs_warnings;
        GPtrArray *store_warnings;
        GPtrArray *other_warnings;  /* inventory_add_warning(): e.g. the leases file */
        GHashTable *start_failures; /* "<parent>/<uuid>" -> warning line, for autostarts that failed */
        GHashTable *mixed_cores;    /* cores known to be in mixed-size mode (inventory_set_core_mixed()) */
        char **mixed_wanted;        /* cores the host configuration wants in mixed-size mode */
        GPtrArray *warnings;        /* both, for the bus */
        PciNames *pci;
        const InventoryObserver *observer;
        void *userdata;

        /* bookkeeping of one update */
        GHashTable *changed; /* InvParent* -> GUINT_TO_POINTER(mask) */
        GPtrArray *added;    /* (kind, path) pairs to announce after recompute */
        bool topology_stale; /* a parent came or went, a core's mode changed: recompute every core */
        bool quiet;          /* a full rescan logs objects at debug level only */
        /* On 6.1 kernels the add uevent of an mdev comes before its mdev_type link exists
         * (mdev_device_create: device_add, then mdev_create_sysfs_files). A new device read without
         * a type during an event-driven update is not published yet: it waits here, uuid -> attempts,
         * and the udev watcher asks again shortly (inventory_typeless). */
        GHashTable *typeless;
        bool defer_typeless;
        bool written;              /* this update follows a write to create/remove that returned */
        guint64 events_gen;        /* counts news: +1 at each update not only of written devices */
        GPtrArray *sorted_devices; /* cache for inventory_list_devices(); NULL when stale */
        bool names_loaded;         /* the PCI ID database is in memory */

        /* inventory-owners.c */
        Leases *leases;         /* borrowed; NULL: nobody holds anything */
        GHashTable *uses;       /* uuid (owned) -> InvDeviceUse*, of the running devices */
        GHashTable *dirty;      /* UUIDs (owned) whose use to look at again on the next check */
        bool all_dirty;         /* every device, on the next check */
        GHashTable *idle;       /* UUIDs (owned) of the idle devices, as last checked */
        bool idle_changed;      /* since Idle was last announced */
        GPtrArray *users_scans; /* the scans of the holders under way off the loop */
        char *libvirt_run_dir;  /* NULL: the default */
};

/* inventory-derived.c. init/done: its part of inventory_new()/inventory_free(). */
void inventory_derived_init(Inventory *inv);
void inventory_derived_done(Inventory *inv);
/* p's properties in mask changed during this update (announced by inventory_finish_update()). */
void inventory_mark_changed(Inventory *inv, InvParent *p, unsigned mask);
/* d has just joined inv->devices / is about to leave it (before it is freed): its parent's list, the
 * sorted list of all devices, its type model. */
void inventory_device_attached(Inventory *inv, InvDevice *d);
void inventory_device_detached(Inventory *inv, InvDevice *d);
/* p has just joined inv->parents (its known devices join its list) / is about to leave it. */
void inventory_parent_attached(Inventory *inv, InvParent *p);
void inventory_parent_detached(Inventory *inv, InvParent *p);
/* p's type models were made again: its devices' models follow. */
void inventory_parent_retyped(Inventory *inv, InvParent *p);
/* Insert d into / remove it from list (InvDevice*, sorted by uuid); false when it was there / not. */
bool inventory_device_list_insert(GPtrArray *list, InvDevice *d);
bool inventory_device_list_remove(GPtrArray *list, InvDevice *d);
int inventory_compare_devices(gconstpointer a, gconstpointer b);
/* An object to announce once the update is complete, or one that went (unannounced if it came within
 * the same update). */
void inventory_announce_added(Inventory *inv, InvObjectKind kind, const char *path);
void inventory_announce_removed(Inventory *inv, InvObjectKind kind, const char *path);
/* Recompute cores and capacity and tell the observer everything that changed during this update. */
void inventory_finish_update(Inventory *inv);

/* inventory-owners.c: the use of uuid's device may have changed (it appeared or went, its lease or its
 * definition came or went); every device is looked at again on the next check after
 * inventory_orphans_invalidate() (a new leases file, a scan of the holders). inventory_check_users()
 * looks at those, announces each device whose user changed and Manager.Idle when the set changed
 * since its last call. inventory_owners_done() frees what it keeps. */
void inventory_orphans_device_changed(Inventory *inv, const char *uuid);
void inventory_orphans_invalidate(Inventory *inv);
void inventory_check_users(Inventory *inv);
void inventory_owners_done(Inventory *inv);

/* inventory-definitions.c */
void inventory_definition_free(InvDefinition *d);
/* Read the definitions directory into the inventory (announced by the next inventory_finish_update()). */
int inventory_load_definitions(Inventory *inv);
