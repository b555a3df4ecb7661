/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's context: one event loop, one bus connection, the inventory, the udev and definitions
 * watchers and the lifecycle engine. */

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "inventory.h"
#include "ops.h"
#include "store-watch.h"
#include "udev-watch.h"

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        Inventory *inventory;
        UdevWatch *udev;
        StoreWatch *store_watch;
        Ops *ops;
        char *definitions_dir;
        char *state_dir;
        char *udev_source; /* "udev", "kernel" or NULL for automatic */
} Manager;
