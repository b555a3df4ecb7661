/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Is a vGPU in use? A VM (QEMU) holds the device's VFIO group open: /dev/vfio/<group>, where <group> is
 * the iommu_group link in the device's sysfs directory (a mediated device's, or the VF's). This looks for
 * a process with that node open. */

#include <sys/types.h>
#include <glib.h>

/* One holder of a VFIO group. */
typedef struct VfioHolder {
        pid_t pid;
        char *comm;  /* its command name */
        char *group; /* the IOMMU group number */
} VfioHolder;

void vfio_holder_free(VfioHolder *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VfioHolder, vfio_holder_free)

/* The holders of many devices' VFIO groups in one pass over /proc: keys NULL-terminated (e.g. UUIDs),
 * device_dirs parallel to it (each device's sysfs directory: a mediated device's, or a VF's); *ret maps
 * each held device's key (the strings of keys) to its VfioHolder (the first process found). 0 or a
 * negative errno when /proc cannot be read. */
int vfio_holders_scan(char **keys, char **device_dirs, GHashTable **ret);

/* What VM a process is, or NULL: "libvirt:DOMAIN" when a libvirt runtime status file in
 * libvirt_run_dir (NULL: /run/libvirt/qemu) names its pid, else "proxmox:VMID" for a Proxmox QEMU
 * (`-id VMID`), else "qemu:NAME" for QEMU's `-name guest=NAME` (or `-name NAME`). */
char *vfio_holder_vm(pid_t pid, const char *libvirt_run_dir);

/* Is a vGPU in use? A VM (QEMU) holds the device's VFIO group open: /dev/vfio/<group>, where <group> is
 * the iommu_group link in the device's sysfs directory (a mediated device's, or the VF's).
 * Returns 0 when no process has the device's VFIO group open (also when it has no group or no node),
 * 1 when one has, with its pid, its command name (g_free) and the group number, or a negative errno
 * when it cannot tell. Processes vgpud may not look into are not seen. */
int vfio_group_holder(const char *device_dir, pid_t *ret_pid, char **ret_comm, char **ret_group);
