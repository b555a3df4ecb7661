/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Applying a vgpu-device-manager layout (model/layout.h) to the host: parse, plan against a snapshot
 * of the inventory (model/layout-plan.h, fed by layout_host_cores()), then carry the plan out as
 * requests of the lifecycle engine: one Release per vGPU that goes, then one Acquire (persist, owner
 * = the layout's owner, the next free slot, placed on the planned core) per vGPU that comes. Nothing
 * is touched when the plan is refused; a request that fails half way stops the rest, and applying
 * again continues from what is there. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "inventory.h"
#include "layout-plan.h"
#include "ops.h"

struct Leases;

/* The host as the planner sees it (a snapshot: free before the inventory changes). */
typedef struct LayoutHost {
        LayoutCore *cores;
        size_t n_cores;
        /* storage behind the cores */
        GPtrArray *strings;    /* char* */
        GPtrArray *ptr_arrays; /* GPtrArray* */
        GPtrArray *arrays;     /* GArray* */
} LayoutHost;

/* Build the snapshot: the inventory's cores (alloc-host.c's grouping), each core's offered types
 * once with their summed available_instances, its running devices, which of them owner leases and
 * which a process holds (vfio-busy.c), and vgpu-device-manager's GPU index (sysfs-mdev.c). */
LayoutHost *layout_host_new(Inventory *inv, struct Leases *leases, const char *owner);
void layout_host_free(LayoutHost *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LayoutHost, layout_host_free)

/* How an apply ended: r 0 or a negative errno with message (the plan's reasons, or the request that
 * failed); plan is NULL when the file or the plan was refused. made: the UUIDs created. */
typedef void (*LayoutApplyDone)(int r, const char *message, const LayoutPlan *plan, char **made,
                                void *userdata);

typedef struct {
        const char *owner;
        bool force;   /* remove held vGPUs the layout no longer wants */
        bool dry_run; /* plan only */
} LayoutApplyOptions;

/* Apply config of the YAML text. done runs exactly once, from the loop, never from inside this call
 * (or from layout_apply_cancel_waiting()). */
void layout_apply(sd_event *event, Ops *ops, Inventory *inv, struct Leases *leases, const char *text,
                  size_t len, const char *config, const LayoutApplyOptions *o, LayoutApplyDone done,
                  void *userdata);

/* At shutdown, before the engine goes: every apply still waiting to plan ends with -ECANCELED (those
 * already running end through the engine's own cancellation). */
void layout_apply_cancel_waiting(void);
