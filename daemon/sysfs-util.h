/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small sysfs readers and the one sysfs writer that both backends use. Only libc calls on the given
 * paths (open, read, readlink, access, opendir), so that umockdev's preload can redirect them to a test
 * bed, and so that a unit test can point them at a temporary tree; symlinks are resolved by hand. */

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

/* Join a symlink target to the directory holding the link and collapse "." and "..". */
char *sysfs_path_resolve(const char *dir, const char *link_target);
/* DDDD:BB:DD.F */
bool sysfs_is_pci_address(const char *s);

/* Resolve the symlink at dir/name to an absolute path; a negative errno when it is no symlink. */
int sysfs_resolve_link(const char *dir, const char *name, char **ret);
/* The basename of what dir/name points to, or NULL. */
char *sysfs_link_basename(const char *dir, const char *name);
/* A small attribute without its final newline; NULL when it cannot be read. */
char *sysfs_read_attr(const char *dir, const char *name);
/* A decimal int attribute, fallback when missing or not a number. */
int sysfs_read_int(const char *dir, const char *name, int fallback);
/* A hexadecimal 16-bit attribute ("0x10de"), 0 when missing or odd. */
uint16_t sysfs_read_hex16(const char *dir, const char *name);
/* Parse a whole string (surrounding white space allowed) as a long in base; false when it is not one. */
bool sysfs_parse_long(const char *s, int base, long *ret);
/* The PCI addresses along a .../devices/pci0000:00/... path, top bridge first (NULL-terminated). */
char **sysfs_pci_path_from_syspath(const char *syspath);

/* Write value to a sysfs file in one write() and close it, as the kernel's store functions (and the
 * simulator, which acts on close) want; extra_flags e.g. O_CREAT. 0 or a negative errno. */
int sysfs_write(const char *path, const char *value, int extra_flags);

/* NVIDIA GPUs as NVIDIA's vgpu-device-manager counts them for its "devices: [indexes]": the PCI functions
 * under /sys/bus/pci/devices with vendor 0x10de and class 0x0300xx (VGA) or 0x0302xx (3D) that are not
 * SR-IOV virtual functions (no physfn link), in PCI address order; the index is the position. Fills
 * *ret with SysfsPciGpu* (empty when there are none). */
typedef struct SysfsPciGpu {
        char *address;
        uint16_t vendor_id, device_id, subsystem_vendor_id, subsystem_device_id;
} SysfsPciGpu;
void sysfs_pci_gpu_free(SysfsPciGpu *g);
int sysfs_list_nvidia_gpus(GPtrArray **ret);
