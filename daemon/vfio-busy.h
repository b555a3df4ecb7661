/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Is a vGPU in use? A VM (QEMU) holds the device's VFIO group open: /dev/vfio/<group>, where <group> is
 * the iommu_group link in the device's sysfs directory (a mediated device's, or the VF's). This looks for
 * a process with that node open. */

#include <sys/types.h>

/* Returns 0 when no process has the device's VFIO group open (also when it has no group or no node),
 * 1 when one has, with its pid, its command name (g_free) and the group number, or a negative errno
 * when it cannot tell. Processes vgpud may not look into are not seen. */
int vfio_group_holder(const char *device_dir, pid_t *ret_pid, char **ret_comm, char **ret_group);
