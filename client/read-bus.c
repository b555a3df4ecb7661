/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vgpuctl-full's vc_read_fallback() (read-source.h): D-Bus, over the private socket when there is one. */

#include "bus-client.h"
#include "inventory-client.h"
#include "read-source.h"

int vc_read_fallback(bool all, bool types, VcInventory **ret)
{
        sd_bus *bus = NULL;
        int r;

        r = vc_bus_open_read(&bus);
        if (r < 0)
                return r;
        /* mdevctl's view unless asked: libvirt runs vgpuctl as mdevctl */
        if (types)
                r = all ? vc_inventory_load_types_all(bus, ret) : vc_inventory_load_types(bus, ret);
        else
                r = all ? vc_inventory_load_listing_all(bus, ret) : vc_inventory_load_listing(bus, ret);
        sd_bus_flush_close_unref(bus);
        return r;
}
