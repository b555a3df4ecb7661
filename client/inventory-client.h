/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vgpud's picture (inventory.h) read over D-Bus, either whole with one ObjectManager.GetManagedObjects
 * call on /org/vgpud1 (every property of every Gpu, Device and Definition: `vgpuctl status`), or as
 * fast as possible with the Manager's compact List* methods (only what `types` and `list` print). */

#include <glib.h>
#include <systemd/sd-bus.h>

#include "inventory.h"

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
 * "nvidia-vf"). vc_inventory_load_listing_all() also sets each definition's mixed_size (Definition.MixedSize
 * of each VF vGPU's definition). */
int vc_inventory_load_types_of(sd_bus *bus, const char *backend, VcInventory **ret);
#define vc_inventory_load_types_all(bus, ret) vc_inventory_load_types_of(bus, "", ret)
int vc_inventory_load_listing_all(sd_bus *bus, VcInventory **ret);

/* Parse a GetManagedObjects reply (exposed for tests). On a malformed reply returns a negative errno
 * and sets *ret_error to a description. */
int vc_inventory_parse(sd_bus_message *reply, VcInventory **ret, char **ret_error);
