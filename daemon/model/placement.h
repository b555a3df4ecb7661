/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where the next vGPU goes. Given the host's GPU cores (each with its parents, their offered types
 * and available_instances, and the core's CoreCapacity), a profile and a policy, choose a parent
 * and a type, or say why nothing fits. Pure computation: no I/O, no D-Bus, no allocation that
 * outlives a call. The daemon (ops-acquire.c) fills the input from its inventory; the unit tests
 * from scenarios. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capacity.h"
#include "vgpu-type.h"

/* One mdev parent of a core, with what it offers. */
typedef struct {
        const char *name;             /* parent name, e.g. "0000:41:00.4"; required */
        const VgpuType *const *types; /* the offered types (entries may be NULL: ignored); each id once,
                                         as sysfs lists them (a repeated id counts once) */
        const int *available;         /* available_instances of types[i]; -1 (any negative) unknown;
                                         NULL: all unknown */
        size_t n_types;
} PlaceParent;

/* One GPU core: a physical function with its VFs, or any other parent on its own. */
typedef struct {
        const char *core;  /* the core id (Gpu.Core); required */
        const char *board; /* the board id (Gpu.Board); NULL: same as core */
        int numa_node;     /* -1 unknown */
        CoreCapacity cap;  /* as core_capacity_compute() found it */
        const PlaceParent *parents;
        size_t n_parents;
        bool switchable; /* its mixed-size mode can be switched on while it is empty (an NVIDIA VF GPU) */
} PlaceCore;

typedef enum {
        PLACE_PACK,   /* the core already running vGPUs (used > 0) with the least room left for the
                         type; else the empty core with the least room for it (best fit: big empty
                         cores stay free for other sizes); ties: the core id */
        PLACE_SPREAD, /* the core with the fewest vGPUs (used), then the most room; ties: the core id */
} PlacePolicy;

typedef struct {
        const char *profile; /* required; vgpu_type_matches_profile() decides which types answer */
        const char *parent;  /* NULL/"": any; else only this parent, or every parent of the core whose id
                                this is (a PF address selects its VFs) */
        const char *const *parents; /* NULL: any; else, as well, only the parents named here and every
                                       parent of a core whose id is named, NULL-terminated (a
                                       hypervisor's list of alternatives, e.g. a Proxmox mapping) */
        const char *board; /* NULL/"": any; else only cores whose board (or, without one, core) is this */
        int numa_node;     /* -1: any; else only cores on this node */
        PlacePolicy policy;
        bool mixed_size; /* only switchable cores in mixed-size mode, or empty (to be switched first) */
} PlaceRequest;

/* The outcome of placement_choose(). On success core, parent and type index the choice in the input
 * (cores[core].parents[parent].types[type]) and room is how many vGPUs of that type the chosen core
 * could take before this one (>= 1), through the parents the request allows (with req->parent naming
 * one VF, the driver's part of the room is that VF's count). The counts describe the cores that passed
 * the restriction (parent, board, NUMA node) and offer a matching type, whatever the result:
 *   n_matching   cores offering a matching type
 *   n_conflict   of those, cores where core_capacity_check() says -EXDEV for every matching type
 *   n_full       of those, the others with no room for any matching type */
typedef struct {
        size_t core, parent, type;
        uint32_t room;
        size_t n_matching, n_conflict, n_full;
} PlaceChoice;

/* How many more vGPUs of type t the core can take now (0 when none). The least of:
 *   - the model: 0 when core_capacity_check(&c->cap, t) fails; for a time-sliced NVIDIA type on a core
 *     that is not mixed-size, t->max_instances - used when max_instances is known (the core is empty
 *     or at t's size); else capacity - used when capacity is known;
 *   - the driver: the sum over the core's parents of the known available_instances of every offered
 *     type with t's id (by pointer when the id is NULL);
 * where an unknown bound does not count; when both are unknown, 1 if the model allows one (it can be
 * tried), else 0. NULL c or t: 0. */
uint32_t placement_room(const PlaceCore *c, const VgpuType *t);

/* Choose where a vGPU of req->profile goes.
 * Among the matching types of each eligible core, the one with the most room on that core counts
 * (ties: the first one offered); cores are then ordered by req->policy. Within the chosen core the
 * parent is the first, in the order given, that offers the type with available_instances > 0 (or
 * unknown when no parent of the core knows it).
 * Returns 0 with *ret filled, or:
 *   -EINVAL    cores NULL with n > 0, req or ret NULL, an empty (or all white space) profile, a
 *              policy out of range, a core without its id, a parent without its name, parents or
 *              types NULL with a count > 0 (*ret is then untouched)
 *   -ENOENT    no eligible core offers a matching type (n_matching == 0)
 *   -EXDEV     no core has room, and every matching core refused by size (n_conflict == n_matching)
 *   -ENOSPC    no core has room, otherwise (full cores; conflicts too when some are only full)
 * *ret's counts are filled on every return but -EINVAL. */
int placement_choose(const PlaceCore *cores, size_t n, const PlaceRequest *req, PlaceChoice *ret);
/* Can a vGPU that asks for mixed-size mode go on core c (PlaceRequest.mixed_size): switchable, and in
 * mixed-size mode already or empty (the mode is switched before its first vGPU)? */
bool placement_core_mixed_ok(const PlaceCore *c);

/* For Plan: the most room a core has for any offered time-sliced type of framebuffer size class
 * size_mib (vgpu_type_size_class() == size_mib > 0), 0 when it offers none or none fits. */
uint32_t placement_room_for_size(const PlaceCore *c, uint64_t size_mib);

/* "pack" / "spread" -> 0 with *ret set; anything else (NULL, "") -EINVAL. */
int placement_policy_from_string(const char *s, PlacePolicy *ret);
/* "pack" / "spread"; NULL for any other value. */
const char *placement_policy_to_string(PlacePolicy p);
