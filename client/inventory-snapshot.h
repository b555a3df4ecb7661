/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vgpud's picture (inventory.h) from the snapshot it publishes (common/snapshot.h): what
 * Manager.ListTypes, ListDevices and ListDefinitions return, without D-Bus and without libsystemd. */

#include "inventory.h"

/* Where this vgpuctl finds the snapshot: vc_vgpud_path() of $VGPUD_SNAPSHOT. NULL: do not use one. */
const char *vc_snapshot_path(void);

/* As vc_inventory_load_types() or (types false) vc_inventory_load_listing() (inventory-client.h), from
 * the snapshot at path. Prints nothing: a negative errno (common/snapshot.h: -ESRCH, -ENOENT, -EBADMSG)
 * means "ask vgpud over D-Bus instead". */
int vc_inventory_load_snapshot(const char *path, bool types, VcInventory **ret);

/* The same from a snapshot file's bytes already read: -EBADMSG when malformed. */
int vc_inventory_from_snapshot(GBytes *data, bool types, VcInventory **ret);
