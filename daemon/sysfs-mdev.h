/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The mdev backend (backend.h): mdev parents, their supported types and mediated devices. */

#include "backend.h"
#include "sysfs-util.h"

/* Relative to the sysfs root. */
#define SYSFS_MDEV_BUS_CLASS "class/mdev_bus"
#define SYSFS_MDEV_DEVICES   "bus/mdev/devices"

/* The UUIDs under <root>/bus/mdev/devices (canonical ones only), as a strv. */
int sysfs_mdev_list_device_uuids(Backend *b, char ***ret);
