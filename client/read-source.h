/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where `list` and `types` get vgpud's picture: the snapshot vgpud publishes (inventory-snapshot.h)
 * while that vgpud runs, else vc_read_fallback(). all: every backend's (--vf), which the snapshot does
 * not hold. On failure prints the error and returns a negative errno. */

#include <stdbool.h>

#include "inventory.h"

int vc_read_types(bool all, VcInventory **ret);
int vc_read_listing(bool all, VcInventory **ret);

/* Without the snapshot: vgpud over D-Bus in vgpuctl-full (read-bus.c); in the front, which has no
 * D-Bus (front.c), vgpuctl-full exec()ed with the same command line (returns only on failure). types:
 * the GPUs and their types, else the devices and definitions. */
int vc_read_fallback(bool all, bool types, VcInventory **ret);
