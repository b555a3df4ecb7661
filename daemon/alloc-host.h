/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The host as the placement model (model/placement.h) sees it: the inventory's parents grouped by GPU
 * core, with their types, available_instances and each core's capacity. A snapshot: build one per
 * decision, it borrows from the inventory and is invalid once the inventory changes. */

#include <stddef.h>

#include "inventory.h"
#include "placement.h"

typedef struct AllocHost {
        PlaceCore *cores; /* sorted by core id */
        size_t n_cores;
        /* storage behind the cores */
        PlaceParent *parents;
        InvParent **inv_parents; /* parallel to parents */
        const VgpuType **types;
        int *available;
} AllocHost;

AllocHost *alloc_host_new(Inventory *inv);
void alloc_host_free(AllocHost *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AllocHost, alloc_host_free)

/* The inventory's parent behind cores[core].parents[parent]. */
InvParent *alloc_host_parent(const AllocHost *h, size_t core, size_t parent);
/* The core a parent belongs to, or NULL. */
const PlaceCore *alloc_host_core_of(const AllocHost *h, const char *parent);

/* Is p alone on its GPU core (its core is itself: not one VF of an SR-IOV core)? */
bool alloc_host_parent_alone(const InvParent *p);
/* The capacity of p's GPU core (p alone on it) counting n more vGPUs of type t (its model on p)
 * among the core's devices: creations decided or written and not seen yet (reservations). From p's
 * counts as last read, which include the written ones (the kernel lowers available_instances before
 * the write to create returns, and the engine reads them again after each write); t's count is
 * lowered by the unwritten ones, the decided creations whose write is still to come. */
void alloc_host_reserved_capacity(const InvParent *p, const VgpuType *t, unsigned n, unsigned unwritten,
                                  CoreCapacity *ret);
/* A driver's available_instances less unwritten decided creations of its type (never below 0; an
 * unknown count, below 0, stays unknown). */
int alloc_available_less(int available, unsigned unwritten);

/* The names of the types running on a core, "A, B", in the order of its parents and their devices. */
char *alloc_host_core_running(Inventory *inv, const PlaceCore *c);

/* "0000:41:00.0 (4096 MiB), 0000:42:00.0 (empty)": the cores with room for a type matching profile
 * within req's restriction, each with its size class; "" when none. */
char *alloc_host_cores_that_fit(const AllocHost *h, const PlaceRequest *req);
/* "0000:41:00.0 runs 4096 MiB vGPUs (NVIDIA A40-4Q), ...": the cores within req's restriction that
 * offer a matching type but refuse it by size, with what they run. */
char *alloc_host_conflicts(const AllocHost *h, Inventory *inv, const PlaceRequest *req);

/* Does the core pass req's restriction (parent or core, board, NUMA node)? */
bool alloc_host_core_eligible(const PlaceCore *c, const PlaceRequest *req);

/* placement_choose() with the diagnosis: 0 with *ret filled, or -ENOENT (no type matches), -EXDEV
 * (every matching core runs another size: names each with what it runs), -ENOSPC (all full),
 * -EINVAL, each with *ret_message. */
int alloc_host_choose(const AllocHost *h, Inventory *inv, const PlaceRequest *req, PlaceChoice *ret,
                      char **ret_message);
