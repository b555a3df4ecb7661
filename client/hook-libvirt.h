/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The libvirt QEMU hook's view of a domain: its name, UUID, the UUIDs of its mdev hostdevs and the
 * vGPUs its vgpud metadata asks for, read from the domain XML libvirt passes on stdin (GMarkup, with
 * the namespace matched by URI, not prefix). And which hostdev each requested vGPU becomes. No D-Bus.
 *
 *   <metadata>
 *     <vgpud:vgpus xmlns:vgpud="https://vgpud.org/xmlns/libvirt/1">
 *       <vgpud:vgpu profile="A16-2Q" slot="0" uuid="..." parent="..." board="..." numa_node="1"
 *                   policy="pack" persist="yes"/>
 *     </vgpud:vgpus>
 *   </metadata>
 *   <devices>
 *     <hostdev mode="subsystem" type="mdev" model="vfio-pci">
 *       <source><address uuid="..."/></source>
 *     </hostdev>
 *     <hostdev mode="subsystem" type="pci" managed="no">      (an NVIDIA VF, vGPU 17+)
 *       <source><address domain="0x0000" bus="0xc1" slot="0x00" function="0x4"/></source>
 *     </hostdev>
 *   </devices>
 */

#include <glib.h>

#include "hook-request.h"

#define VC_LIBVIRT_NS "https://vgpud.org/xmlns/libvirt/1"

typedef struct VcDomain {
        char *name; /* <name>; NULL when missing */
        char *uuid; /* <uuid>, canonical; NULL when missing */
        GPtrArray
                *mdevs; /* char*: the canonical UUIDs of <hostdev mode='subsystem' type='mdev'>, in order */
        GPtrArray *vgpus; /* VcVgpuRequest*, in order */
        /* "0000:c1:00.4": the PCI addresses of <hostdev mode='subsystem' type='pci'>, in order (an NVIDIA
         * VF among them carries a vGPU of its own: vgpud sets its type at prepare) */
        GPtrArray *pci_hostdevs;
} VcDomain;

void vc_domain_free(VcDomain *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VcDomain, vc_domain_free)

/* Parse a domain XML document. Returns 0, or -EINVAL with *ret_error (malformed XML with its line, an mdev
 * hostdev without a UUID, a bad vgpud attribute, two vGPUs in one slot ...). */
int vc_domain_parse(const char *xml, gssize len, VcDomain **ret, char **ret_error);

/* Whether uuid is one of the domain's mdev hostdevs. */
bool vc_domain_has_mdev(const VcDomain *d, const char *uuid);

/* Which hostdev each vGPU element becomes: its uuid attribute; else the UUID the owner already holds
 * in its slot (held: GUINT_TO_POINTER(slot) -> uuid) when that is a hostdev; else the next hostdev
 * UUID in document order that is neither running nor defined (sets of UUIDs) nor taken by another
 * element. Returns one entry per vGPU element (char*, NULL when none is left: the caller then uses the
 * deterministic UUID). running, defined, held may be NULL. */
GPtrArray *vc_domain_assign(const VcDomain *d, GHashTable *running, GHashTable *defined, GHashTable *held);

/* The <hostdev> element an admin adds for uuid. */
char *vc_domain_hostdev_xml(const char *uuid);
/* The <hostdev type='pci' managed='no'> element an admin adds for the VF at a PCI address
 * ("0000:c1:00.4"): the VF stays bound to nvidia, which is why libvirt must not manage it. */
char *vc_domain_pci_hostdev_xml(const char *address);
/* Whether address is one of the domain's PCI hostdevs. */
bool vc_domain_has_pci(const VcDomain *d, const char *address);
