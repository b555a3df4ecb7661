/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Proxmox VE's own PCI lines, as qemu-server reads them: `hostpciN: [host=]ID[;ID...]|mapping=NAME
 * [,mdev=TYPE][,pcie=1][,...]` in a VM config, and the cluster's resource mappings
 * (/etc/pve/mapping/pci.cfg: one section per mapping, `map node=...,path=ID[;ID...],...` lines, one per
 * device, the devices of one node being alternatives tried in order). No D-Bus, no sysfs. */

#include <stdbool.h>
#include <glib.h>

#define VC_PVE_MAX_HOSTPCI 16 /* hostpci0 .. hostpci15, as qemu-server has them */

typedef struct VcPveHostpci {
        unsigned index; /* N of hostpciN */
        unsigned line;  /* where it is in the config, from 1 */
        char *mdev;     /* the mdev= type, NULL when none (a whole device passed through) */
        char *mapping;  /* mapping=NAME, NULL when the line names host devices */
        char **hosts;   /* the host ids as written (split at ';'), NULL with a mapping */
        bool pcie;
} VcPveHostpci;

void vc_pve_hostpci_free(VcPveHostpci *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VcPveHostpci, vc_pve_hostpci_free)

/* Parse the value of a hostpciN line (index N, at line). Keys qemu-server knows and vgpud does not
 * need (rombar, romfile, x-vga, vendor-id, ...) are taken as they are; host and mapping together, or
 * neither, a PCI id qemu-server would refuse, and an mdev type with '/', '.' or ':' are -EINVAL with
 * *ret_error. */
int vc_pve_hostpci_parse(const char *value, unsigned index, unsigned line, VcPveHostpci **ret,
                         char **ret_error);

/* A PCI id as qemu-server takes it ("63:00.4", "0000:63:00.4", "0000:63:00" for the whole device) in
 * the form sysfs names it: "0000:63:00.4"; a whole device becomes its function 0 and *ret_whole is
 * set. NULL when it is not a PCI id. */
char *vc_pve_pci_id_normalize(const char *id, bool *ret_whole);

/* The devices mapping name has on node, from the text of /etc/pve/mapping/pci.cfg: one
 * NULL-terminated char** per map entry of that node (its path split at ';', normalized), in the
 * file's order. -ENOENT when there is no such mapping or it has no entry for node, -EINVAL for a map
 * entry of node that cannot be read; both with *ret_error. */
int vc_pve_mapping_parse(const char *text, const char *name, const char *node, GPtrArray **ret,
                         char **ret_error);

/* The host NUMA node a VM config pins: the one `hostnodes` of its numaN lines when every such line
 * names the same single node; else -1. */
int vc_pve_config_numa_node(const char *const *numa_values);
