/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vgpud's picture as plain C structs, as `list`, `types` and `status` print it; filled from D-Bus
 * replies (inventory-client.h) or from the published snapshot (inventory-snapshot.h). No D-Bus here:
 * vgpuctl's front (front.c) links this without libsystemd.
 *
 * Strings are never NULL ("" when the daemon did not send them) and point into what the inventory
 * keeps referenced (the D-Bus replies or the snapshot): nothing is copied. Arrays are sorted as mdevctl
 * prints them: GPUs by name, types by id, devices and definitions by (parent, uuid), all in byte
 * order. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

typedef struct VcType {
        const char *id;
        const char *name;
        const char *description;
        const char *device_api;
        int32_t available_instances; /* -1 when the daemon could not read it */
        uint32_t max_instances;
        uint64_t framebuffer_mib;
        const char *profile;
} VcType;

typedef struct VcGpu {
        const char *object_path;
        const char *name;
        const char *sysfs_path;
        const char *subsystem;
        const char *driver;
        uint16_t vendor_id, device_id, subsystem_vendor_id, subsystem_device_id;
        const char *vendor, *model, *subsystem_model;
        int32_t numa_node;
        const char *core;
        const char *board;
        const char *board_model;
        uint64_t size_class;
        bool mixed_size;
        uint32_t core_used, core_capacity;
        GPtrArray *types; /* VcType* */
} VcGpu;

typedef struct VcDevice {
        const char *object_path;
        const char *uuid;
        const char *parent;
        const char *gpu;
        const char *type_id;
        const char *type_name;
        uint64_t framebuffer_mib;
        const char *sysfs_path;
        /* who uses it (Device.User, UserKind, UserPid, Idle, IdleSince; "" / 0 from an older vgpud) */
        const char *user;
        const char *user_kind;
        uint32_t user_pid;
        bool idle;
        uint64_t idle_since_usec;
        int32_t gpu_instance_id; /* Device.GpuInstanceId: the MIG GPU instance it sits on, else -1 */
} VcDevice;

typedef struct VcAttr {
        const char *name;
        const char *value;
} VcAttr;

typedef struct VcDefinition {
        const char *object_path;
        const char *uuid;
        const char *parent;
        const char *type_id;
        const char *start; /* "auto" or "manual" */
        GPtrArray *attrs;  /* VcAttr*, in order */
        const char *path;
        bool mixed_size; /* Definition.MixedSize: vgpud's "mixed_size" member (VF vGPUs only) */
} VcDefinition;

typedef struct VcInventory {
        GPtrArray *gpus;        /* VcGpu* */
        GPtrArray *devices;     /* VcDevice* */
        GPtrArray *definitions; /* VcDefinition* */
        char **warnings;        /* the Manager's Warnings when read with the definitions, else NULL */

        /* private */
        GPtrArray *keep;   /* what the strings above point into: D-Bus replies or the snapshot */
        GPtrArray *chunks; /* the memory of the structs above, handed out in order */
        size_t chunk_used; /* bytes used in the last chunk */
} VcInventory;

void vc_inventory_free(VcInventory *inv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VcInventory, vc_inventory_free)

/* For the parsers (inventory-client.c, inventory-snapshot.c). */

/* An empty inventory; keep_free drops what vc_inventory_keep() was given, when the inventory goes. */
VcInventory *vc_inventory_new(GDestroyNotify keep_free);
/* Keep p (a reply the strings point into) as long as the inventory lives. */
void vc_inventory_keep(VcInventory *inv, gpointer p);
/* size bytes (not initialized) that live as long as the inventory. */
void *vc_inventory_alloc(VcInventory *inv, size_t size);
/* A new element appended to its list: strings "", numbers 0 (a GPU's numa_node and a
 * device's gpu_instance_id -1), arrays empty. */
VcGpu *vc_inventory_add_gpu(VcInventory *inv, const char *object_path);
VcDevice *vc_inventory_add_device(VcInventory *inv, const char *object_path);
VcDefinition *vc_inventory_add_definition(VcInventory *inv, const char *object_path);
/* Put every list in mdevctl's order (a list already in order is left as it is). */
void vc_inventory_sort(VcInventory *inv);
