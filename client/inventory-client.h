/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vgpud's whole picture as plain C structs, read with one ObjectManager.GetManagedObjects call on
 * /org/vgpud1: every Gpu (with its types), Device and Definition. Strings are never NULL ("" when the
 * daemon did not send the property). Arrays are sorted as mdevctl prints them: GPUs by name, types by
 * id, devices and definitions by (parent, uuid), all in byte order. */

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <systemd/sd-bus.h>

typedef struct VcType {
        char *id;
        char *name;
        char *description;
        char *device_api;
        int32_t available_instances; /* -1 when the daemon could not read it */
        uint32_t max_instances;
        uint64_t framebuffer_mib;
        char *profile;
} VcType;

typedef struct VcGpu {
        char *object_path;
        char *name;
        char *sysfs_path;
        char *subsystem;
        char *driver;
        uint16_t vendor_id, device_id, subsystem_vendor_id, subsystem_device_id;
        char *vendor, *model, *subsystem_model;
        int32_t numa_node;
        char *core;
        char *board;
        char *board_model;
        uint64_t size_class;
        bool mixed_size;
        uint32_t core_used, core_capacity;
        GPtrArray *types; /* VcType* */
} VcGpu;

typedef struct VcDevice {
        char *object_path;
        char *uuid;
        char *parent;
        char *gpu;
        char *type_id;
        char *type_name;
        uint64_t framebuffer_mib;
        char *sysfs_path;
} VcDevice;

typedef struct VcAttr {
        char *name;
        char *value;
} VcAttr;

typedef struct VcDefinition {
        char *object_path;
        char *uuid;
        char *parent;
        char *type_id;
        char *start;      /* "auto" or "manual" */
        GPtrArray *attrs; /* VcAttr*, in order */
        char *path;
} VcDefinition;

typedef struct VcInventory {
        GPtrArray *gpus;        /* VcGpu* */
        GPtrArray *devices;     /* VcDevice* */
        GPtrArray *definitions; /* VcDefinition* */
} VcInventory;

void vc_inventory_free(VcInventory *inv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VcInventory, vc_inventory_free)

/* Fetch everything from vgpud. Prints an error and returns a negative errno on failure. */
int vc_inventory_load(sd_bus *bus, VcInventory **ret);

/* Parse a GetManagedObjects reply (exposed for tests). On a malformed reply returns a negative errno
 * and sets *ret_error to a description. */
int vc_inventory_parse(sd_bus_message *reply, VcInventory **ret, char **ret_error);

/* Lookups by parent and UUID (binary search on the sorted arrays); NULL when absent. */
const VcDefinition *vc_inventory_find_definition(const VcInventory *inv, const char *parent,
                                                 const char *uuid);
const VcDevice *vc_inventory_find_device(const VcInventory *inv, const char *parent, const char *uuid);
