/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* read-source.h: the snapshot first, the fallback when it cannot be used. */

#include "inventory-snapshot.h"
#include "read-source.h"

static int read_inventory(bool all, bool types, VcInventory **ret)
{
        const char *snapshot = all ? NULL : vc_snapshot_path();

        /* any failure (vgpud not running, no file, a damaged one) means: ask vgpud */
        if (snapshot && vc_inventory_load_snapshot(snapshot, types, ret) >= 0)
                return 0;
        return vc_read_fallback(all, types, ret);
}

int vc_read_types(bool all, VcInventory **ret)
{
        return read_inventory(all, true, ret);
}

int vc_read_listing(bool all, VcInventory **ret)
{
        return read_inventory(all, false, ret);
}
