/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* From a layout (layout.h) and the host's GPU cores to a plan: which of the layout owner's vGPUs
 * stay, which go, which are made, and whether the result fits. Pure computation: no I/O, no D-Bus,
 * no sysfs; the daemon (layout-apply.c) fills the cores from its inventory, the unit tests from
 * scenarios.
 *
 * The layout is the whole wish of its owner: the owner's vGPUs that no selected GPU wants go; vGPUs
 * of anyone else (other owners, definitions, orphans) stay and count against the room. Per core and
 * type the owner's vGPUs held by a VM are kept first, so that a smaller count removes idle ones. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "layout.h"
#include "vgpu-type.h"

typedef struct {
        const char *uuid;
        const VgpuType *type; /* NULL: unknown */
        bool managed;         /* one of the layout owner's vGPUs (its lease) */
        const char *held_by;  /* NULL: no VM holds it; else who does ("process 42 (qemu)") */
} LayoutDevice;

typedef struct {
        const char *core; /* the core id (Gpu.Core); required */
        int index;        /* vgpu-device-manager's GPU index; -1 when it counts none (GVT-g, mtty) */
        uint16_t vendor, device, subsystem_vendor, subsystem_device;
        bool mixed_size;              /* sizes may mix on this core */
        const VgpuType *const *types; /* offered types, each id once */
        const int *available;         /* the core's summed available_instances per type, -1 unknown */
        size_t n_types;
        const LayoutDevice *devices; /* every device running on the core */
        size_t n_devices;
} LayoutCore;

typedef struct {
        char *uuid, *core, *type_id;
        char *held_by; /* NULL, or who holds it (a forced plan removes it anyway) */
} LayoutRemoval;

typedef struct {
        char *core, *type_id, *type_name;
        int index;
        uint32_t count;
} LayoutCreation;

typedef struct {
        GPtrArray *keep;   /* char* UUIDs of the owner's vGPUs that stay */
        GPtrArray *remove; /* LayoutRemoval*, by core then UUID */
        GPtrArray *create; /* LayoutCreation*, by core then type: count vGPUs of the type on the core */
        uint32_t n_create; /* sum of the counts */
} LayoutPlan;

void layout_plan_free(LayoutPlan *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LayoutPlan, layout_plan_free)

/* Plan config on cores (n of them). force: a held vGPU that must go is removed anyway. Returns 0 with
 * *ret, or a negative errno with *ret_why naming every problem found ("; "-separated), and nothing
 * planned:
 *   -EINVAL   a type no selected GPU offers, a GPU selected by two entries, a GPU index or filter
 *             selecting nothing when it was named explicitly
 *   -EBUSY    a vGPU the layout no longer wants is held by a VM (without force)
 *   -EXDEV    a core would run two framebuffer sizes without mixed-size mode
 *   -ENOSPC   a core would run more vGPUs than its type allows, or more than the driver offers
 * When problems of several kinds are found, the first one's errno counts. */
int layout_plan(const LayoutConfig *config, const LayoutCore *cores, size_t n, bool force, LayoutPlan **ret,
                char **ret_why);

/* Does the plan change anything? */
bool layout_plan_changes(const LayoutPlan *p);
