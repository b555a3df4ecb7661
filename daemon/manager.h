/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's context: one event loop, one bus connection, the inventory and the udev watcher. */

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "inventory.h"
#include "udev-watch.h"

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        Inventory *inventory;
        UdevWatch *udev;
        char *definitions_dir;
        char *state_dir;
        char *udev_source; /* "udev", "kernel" or NULL for automatic */
} Manager;
