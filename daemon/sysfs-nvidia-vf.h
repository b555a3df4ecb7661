/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The NVIDIA VF backend (backend.h): vendor-specific VFIO of vGPU 17+ (kernel >= 6.8; Ada, Hopper,
 * Blackwell). Each SR-IOV VF with <root>/bus/pci/devices/<VF>/nvidia/ is a parent holding at most one
 * vGPU; its PF (physfn) is the GPU core. The driver lists only what the VF can take now
 * (creatable_vgpu_types: a header, then "%-5d : %s" lines; only the header on a full GPU or a VF that
 * holds a vGPU), so the backend remembers every type it saw per GPU model and driver version in the
 * state directory (nvidia-vf-types.conf), and the UUID it was given for each vGPU it made
 * (nvidia-vf-uuids.conf). A vGPU it did not make gets a UUID derived from the VF's address. */

#include "backend.h"

/* Parse creatable_vgpu_types: appends (id, name) pairs to ids (int) and names (char*). */
void nvidia_vf_parse_creatable(const char *text, GArray *ids, GPtrArray *names);
/* The UUID of a vGPU on VF that vgpud did not make: a name-based (version 5 layout) UUID of
 * "nvidia-vf:<address>", the same on every start. */
void nvidia_vf_derive_uuid(const char *vf, char ret[static 37]);
/* The PF's model key of the catalog, "10de:26b9 580.95.05" (g_free). */
char *nvidia_vf_model_key(Backend *b, const SysfsParent *p);
/* The type names remembered for a model key (id "nvidia-1145" -> name), borrowed; NULL when none. */
GHashTable *nvidia_vf_catalog(Backend *b, const char *model_key);
/* The VFIO group of a VF (its iommu_group), NULL when it has none (g_free). */
char *nvidia_vf_vfio_group(Backend *b, const char *vf);
/* Forget or record the UUID of the vGPU on vf (persisted); uuid NULL forgets. */
int nvidia_vf_set_uuid(Backend *b, const char *vf, const char *uuid);
/* A key file of the state directory (the backend's and nvidia-mig.c's): loaded (empty when missing or
 * state_dir is NULL; a broken one is logged and ignored), or written atomically (a crash of vgpud leaves
 * the old or the new one). durable: also across a power cut (fsync). What describes the running
 * kernel's state (the vGPUs' UUIDs, the GPU instances vgpud made) goes with it at a power cut or a
 * reboot, and needs only to outlive vgpud: written without fsync, so that a VF's create or removal
 * makes none on the loop. The type catalogue outlives reboots: durable. */
GKeyFile *nvidia_vf_state_load(const char *state_dir, const char *file);
int nvidia_vf_state_save(const char *state_dir, const char *file, GKeyFile *kf, bool durable);
