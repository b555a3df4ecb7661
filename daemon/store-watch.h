/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Watches the definitions directory with inotify on the sd-event loop, so definitions that mdevctl,
 * libvirt or an admin change are picked up. Events are coalesced: a burst of changes makes one reload,
 * shortly after it started, of the files the events named (of the whole directory when they name no
 * single file). Reloads only announce what differs from what the inventory holds, so the daemon's own
 * writes (already reloaded when they were made) cause no second signal. */

#include <systemd/sd-event.h>

#include "inventory.h"

typedef struct StoreWatch StoreWatch;

int store_watch_new(sd_event *event, Inventory *inv, StoreWatch **ret);
/* hook runs after each reload, from the loop (main.c: the leases are reconciled with it). */
void store_watch_set_hook(StoreWatch *w, void (*hook)(void *userdata), void *userdata);
void store_watch_free(StoreWatch *w);
