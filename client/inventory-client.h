/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vgpud's picture as plain C structs, read either whole with one ObjectManager.GetManagedObjects call
 * on /org/vgpud1 (every property of every Gpu, Device and Definition: `vgpuctl status`), or as fast as
 * possible with the Manager's compact List* methods (only what `types` and `list` print).
 *
 * Strings are never NULL ("" when the daemon did not send them) and point into the D-Bus replies, which
 * the inventory keeps referenced: nothing is copied. Arrays are sorted as mdevctl prints them: GPUs by
 * name, types by id, devices and definitions by (parent, uuid), all in byte order. */

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <systemd/sd-bus.h>

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
} VcDefinition;

typedef struct VcInventory {
        GPtrArray *gpus;        /* VcGpu* */
        GPtrArray *devices;     /* VcDevice* */
        GPtrArray *definitions; /* VcDefinition* */
        char **warnings;        /* the Manager's Warnings when read with the definitions, else NULL */

        /* private */
        GPtrArray *replies; /* sd_bus_message*: the replies the strings above point into */
        GPtrArray *chunks;  /* the memory of the structs above, handed out in order */
        size_t chunk_used;  /* bytes used in the last chunk */
} VcInventory;

void vc_inventory_free(VcInventory *inv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VcInventory, vc_inventory_free)

/* Fetch everything from vgpud with GetManagedObjects. Prints an error and returns a negative errno on
 * failure. */
int vc_inventory_load(sd_bus *bus, VcInventory **ret);

/* Fetch the GPUs and their types with Manager.ListTypes: each VcGpu has only object_path, name and
 * types set (other strings "", numbers 0, numa_node -1). Devices and definitions stay empty. */
int vc_inventory_load_types(sd_bus *bus, VcInventory **ret);

/* Fetch the running devices (Manager.ListDevices: uuid, parent, type_id and object_path set) and the
 * definitions with the Warnings (Manager.ListDefinitions), both calls sent at once. GPUs stay empty. */
int vc_inventory_load_listing(sd_bus *bus, VcInventory **ret);

/* As vc_inventory_load_types() and vc_inventory_load_listing(), with every backend's GPUs, devices and
 * definitions (ListTypesOf(""), ListDevicesOf(""), ListDefinitionsOf("")): also the vGPUs on NVIDIA
 * VFs, which mdevctl does not show. vc_inventory_load_types_of(): the GPUs of one backend ("mdev",
 * "nvidia-vf"). */
int vc_inventory_load_types_of(sd_bus *bus, const char *backend, VcInventory **ret);
#define vc_inventory_load_types_all(bus, ret) vc_inventory_load_types_of(bus, "", ret)
int vc_inventory_load_listing_all(sd_bus *bus, VcInventory **ret);

/* Parse a GetManagedObjects reply (exposed for tests). On a malformed reply returns a negative errno
 * and sets *ret_error to a description. */
int vc_inventory_parse(sd_bus_message *reply, VcInventory **ret, char **ret_error);
