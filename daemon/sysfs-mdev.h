/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading mdev parents, their supported types and mediated devices from sysfs into plain structs.
 * Nothing here knows D-Bus or the vGPU rules; every reader tolerates missing or odd files (a field
 * becomes NULL / -1) and fails only when the object itself is gone (-ENOENT). And the three writes of
 * the mdev core: create, remove, a device's attribute. */

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#define SYSFS_MDEV_BUS_CLASS "/sys/class/mdev_bus"
#define SYSFS_MDEV_DEVICES   "/sys/bus/mdev/devices"

typedef struct SysfsType {
        char *id;                /* directory name, e.g. "nvidia-222" */
        char *name;              /* "name" file without its final newline; NULL when missing */
        char *description;       /* "description" file without its final newline; NULL when missing */
        char *device_api;        /* NULL when missing */
        int available_instances; /* -1 when missing or not a number */
} SysfsType;

typedef struct SysfsParent {
        char *name;      /* as under /sys/class/mdev_bus, e.g. "0000:41:00.0" or "mtty" */
        char *syspath;   /* resolved device directory, "/sys/devices/..." */
        char *subsystem; /* e.g. "pci"; NULL when unknown */
        char *driver;    /* bound driver; NULL when none */
        bool is_pci;
        uint16_t vendor_id, device_id, subsystem_vendor_id, subsystem_device_id;
        int numa_node;    /* -1 when unknown */
        char *physfn;     /* the physical function's address when this is an SR-IOV VF */
        char **pci_path;  /* PCI addresses from the top bridge down to this device; NULL if not PCI */
        GPtrArray *types; /* SysfsType*, sorted by id */
} SysfsParent;

typedef struct SysfsDevice {
        char uuid[37];
        /* Interned (g_intern_string): thousands of devices share a few parent and type names. */
        const char *parent;  /* parent name: the directory that holds the device */
        const char *type_id; /* basename of what mdev_type points to; NULL when unknown */
        /* No path: a device's directory is always <parent's directory>/<uuid>, and keeping it for
         * thousands of devices would cost more than working it out when asked. */
} SysfsDevice;

void sysfs_type_free(SysfsType *t);
void sysfs_parent_free(SysfsParent *p);
void sysfs_device_free(SysfsDevice *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SysfsType, sysfs_type_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SysfsParent, sysfs_parent_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SysfsDevice, sysfs_device_free)

/* Names of all mdev parents, sorted (a NULL-terminated strv, empty when there are none). */
int sysfs_list_parents(char ***ret);
/* Is there an mdev parent of this name right now? */
bool sysfs_parent_exists(const char *name);
/* Read one parent with its identity and types; -ENOENT when it is not an mdev parent (any more). */
int sysfs_read_parent(const char *name, SysfsParent **ret);
/* Re-read only the parent's types (names, availability), replacing p->types. */
int sysfs_parent_refresh_types(SysfsParent *p);

/* All running mediated devices (SysfsDevice*), in directory order. */
int sysfs_list_devices(GPtrArray **ret);
/* The devices of one parent, from each type's devices/ directory (one readdir per type instead of
 * two readlinks per device); appended to out as SysfsDevice*. */
int sysfs_parent_list_devices(const SysfsParent *p, GPtrArray *out);
/* The UUIDs under /sys/bus/mdev/devices (canonical ones only), as a strv. */
int sysfs_list_device_uuids(char ***ret);
/* One device by canonical UUID; -ENOENT when it does not exist. */
int sysfs_read_device(const char *uuid, SysfsDevice **ret);

/* Writes, each one write() that the kernel (or vendor driver) acts on; a negative errno when it
 * refuses. Create the device uuid of type_id on parent (it appears with a uevent later); remove a
 * device (it goes with a uevent); write one attribute of a running device (name checked by the
 * caller). */
int sysfs_mdev_create(const char *parent, const char *type_id, const char *uuid);
int sysfs_mdev_remove(const char *uuid);
int sysfs_mdev_write_attr(const char *uuid, const char *name, const char *value);

/* NVIDIA GPUs as NVIDIA's vgpu-device-manager counts them for its "devices: [indexes]": the PCI functions
 * under /sys/bus/pci/devices with vendor 0x10de and class 0x0300xx (VGA) or 0x0302xx (3D) that are not
 * SR-IOV virtual functions (no physfn link), in PCI address order; the index is the position. Fills
 * *ret with SysfsPciGpu* (empty when there are none). */
typedef struct SysfsPciGpu {
        char *address;
        uint16_t vendor_id, device_id, subsystem_vendor_id, subsystem_device_id;
} SysfsPciGpu;
void sysfs_pci_gpu_free(SysfsPciGpu *g);
int sysfs_list_nvidia_gpus(GPtrArray **ret);

/* Helpers, exposed for the unit tests. */
char *sysfs_path_resolve(const char *dir, const char *link_target);
bool sysfs_is_pci_address(const char *s);
