/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Proxmox VE hookscript's view of a VM config (/etc/pve/qemu-server/<vmid>.conf): the vGPUs its
 * description asks for, one `#vgpud: profile=A16-2Q[,slot=N][,parent=..][,board=..][,numa_node=..]
 * [,policy=pack|spread][,persist=1]` line each (the description is stored as the '#' lines of the main
 * section, before the first [snapshot] section), its `args:` line, Proxmox's own `hostpciN:` lines
 * (hook-proxmox-pci.h) and the host NUMA node its `numaN:` lines pin. No D-Bus. */

#include <stdint.h>
#include <glib.h>

#include "hook-proxmox-pci.h"
#include "hook-request.h"

typedef struct VcPveConfig {
        GPtrArray *vgpus;   /* VcVgpuRequest*, in order */
        char *args;         /* the value of the main section's args: line, NULL when none */
        GPtrArray *hostpci; /* VcPveHostpci*, every hostpciN line, by N */
        int numa_node;      /* the host NUMA node the numaN lines pin (vc_pve_config_numa_node()), or -1 */
} VcPveConfig;

void vc_pve_config_free(VcPveConfig *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VcPveConfig, vc_pve_config_free)

/* Parse the config's text. Returns 0, or -EINVAL with *ret_error naming the line (also when a
 * `#vgpud:` line and an mdev hostpciN line both claim slot N). */
int vc_pve_config_parse(const char *text, VcPveConfig **ret, char **ret_error);

/* A Proxmox VMID: decimal, 100 to 999999999. Returns 0 or -EINVAL. */
int vc_pve_parse_vmid(const char *s, uint32_t *ret);

/* Proxmox's UUID for mdev number slot of VM vmid: "%08d-0000-0000-0000-%012d". */
char *vc_pve_mdev_uuid(uint32_t slot, uint32_t vmid);
