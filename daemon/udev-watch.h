/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Watches uevents with libudev on the sd-event loop and tells the inventory which parents and devices
 * to re-read. Events of one loop iteration are coalesced into one inventory update, so a burst of
 * uevents for one parent causes one re-read. */

#include <systemd/sd-event.h>

#include "inventory.h"

typedef struct UdevWatch UdevWatch;

/* source: "udev" (events after udevd processed them), "kernel" (straight from the kernel, for hosts
 * without udevd such as minimal VMs and containers), or NULL: "udev" when udevd runs, else "kernel". */
int udev_watch_new(sd_event *event, Inventory *inv, const char *source, UdevWatch **ret);

/* Called after each inventory update with the parents and devices that were re-read, and the parents
 * that appeared ("add") or registered with the mdev core (MDEV_STATE=registered). NULL-terminated. */
typedef void (*UdevWatchHook)(void *userdata, char **parents, char **devices, char **registered);
void udev_watch_set_hook(UdevWatch *w, UdevWatchHook hook, void *userdata);
/* Count every uevent in metrics (borrowed, must outlive w; NULL: none). */
struct Metrics;
void udev_watch_set_metrics(UdevWatch *w, struct Metrics *metrics);
/* Called once per loop iteration with the PCI devices that appeared or were bound to a driver ("add",
 * "bind"), NULL-terminated: an NVIDIA PF bound to nvidia may need its VFs enabled (sriov.c). After
 * uevents were lost (and sysfs read again) bound is NULL: any PCI device may have been bound. */
typedef void (*UdevWatchPciHook)(void *userdata, char **bound);
void udev_watch_set_pci_hook(UdevWatch *w, UdevWatchPciHook hook, void *userdata);
void udev_watch_free(UdevWatch *w);
