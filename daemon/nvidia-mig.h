/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* MIG-backed vGPU types on NVIDIA VF hosts (vGPU 17+), the VF backend's helper. A MIG-backed type sits
 * on a GPU instance (GI) of one profile; the driver chooses the GI when the type is written to a VF's
 * current_vgpu_type and answers EIO when none of that profile has room. vgpud therefore creates a GI
 * through NVML when no existing one has room (within the GPU's remaining capacity), writes the type,
 * destroys the GI it created when the write fails, and destroys a GI it created once its last vGPU is
 * gone. It never switches MIG mode (that needs a GPU reset). All NVML use goes through nvml.c.
 *
 * What the GPU can still take of a MIG-backed type: the room left in its GIs of the type's profile that
 * hold only vGPUs of the type's framebuffer size, plus, per GI NVML can still create, as many vGPUs as
 * one GI holds (the GI's memory over the type's size, rounded: profile memory is a little below the
 * nominal size). That room is given out as available_instances 1 on the first so many empty VFs (in
 * address order), so that the VFs' counts add up to the GPU's.
 *
 * The GIs vgpud made are remembered in the state directory (nvidia-vf-gpu-instances.conf, [<PF>]
 * vfs=<the VFs they were made under> <GI id>=<profile id>) and forgotten when the PF's VFs are gone or
 * enabled again (a rebind or a reboot wipes every GI). Runs only from the event loop; NVML is asked only for
 * GPUs whose types are MIG-backed. */

#include <stdbool.h>
#include <glib.h>

#include "backend.h"

typedef struct NvidiaMig NvidiaMig;

NvidiaMig *nvidia_mig_new(const char *state_dir);
void nvidia_mig_free(NvidiaMig *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NvidiaMig, nvidia_mig_free)

/* Forget what was read about the GPU instances and MIG mode of pf (NULL: of every GPU, and which types
 * NVML could not give a profile for: a full scan). */
void nvidia_mig_forget(NvidiaMig *m, const char *pf);
/* At every full scan: forget the GIs vgpud made on PFs that have no VFs now (a reboot, SR-IOV disabled:
 * the rebind that enables them wipes every GI, so a GI of the same id later is not vgpud's), and destroy
 * those it made that hold no vGPU (a crash between making one and writing its vGPU). Never runs while a
 * create is under way: both run from the loop, and a create is done when it returns. */
void nvidia_mig_prune(NvidiaMig *m, Backend *b);

/* The MIG side of a VF's types (p->types as read from creatable_vgpu_types and the catalogue), for a
 * GPU of model model_key: marks MIG-backed ones (by the name, "DC-1-24Q": slices before the size; the
 * profile from NVML, G_MAXUINT when NVML cannot tell), sets their available_instances from the room
 * described above and their refusal: -EMEDIUMTYPE with MIG mode off; without NVML the driver's list
 * stands (an existing GI with room is used) and a type it does not list gets -ELIBACC. Time-sliced
 * types are left alone; so is every type of a GPU without MIG-backed ones (no NVML call then). */
void nvidia_mig_adjust_types(NvidiaMig *m, Backend *b, const SysfsParent *p, const char *model_key);

/* Whether a type id was seen MIG-backed (on any GPU of this run). */
bool nvidia_mig_type_is_mig(NvidiaMig *m, const char *type_id);

/* Before type t is written to VF p, with fresh reads: -EMEDIUMTYPE (MIG mode off) before anything is
 * done; 0 with *ret_created = -1 when the driver lists t on p (a GI with room exists); else a GI is
 * created (-ELIBACC without NVML, -ENOSPC when the GPU has no room for another GI of the profile) and
 * *ret_created is its id. Time-sliced types: 0, nothing done. */
int nvidia_mig_prepare(NvidiaMig *m, Backend *b, const SysfsParent *p, const SysfsType *t, int *ret_created);
/* The write that followed a prepare failed: destroy the GI that prepare created (created >= 0). */
void nvidia_mig_undo(NvidiaMig *m, const char *pf, int created);
/* A vGPU that sat on GI gi_id of pf is gone: destroy that GI when vgpud made it and no vGPU of the PF's
 * VFs sits on it any more. */
void nvidia_mig_vgpu_gone(NvidiaMig *m, Backend *b, const char *pf, int gi_id);
