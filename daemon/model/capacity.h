/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a GPU core holds and can still take, by NVIDIA's time-sliced rule: all vGPUs on one core have
 * the same framebuffer size (unless the core is in mixed-size mode), and at most max_instances of
 * them. Pure computation on types and counts: no I/O. The driver's available_instances remain the
 * final word; this model explains a refusal and plans placements. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgpu-type.h"

typedef struct {
        const VgpuType *type;    /* the type as offered by one parent of this core; NULL entries ignored */
        int available_instances; /* as read from sysfs, -1 unknown */
} CapacityOffer;

typedef struct {
        uint64_t size_class_mib; /* the size class (vgpu_type_size_class()) of the running vGPUs; 0 when
                                    the core is empty, holds only sizeless or unknown-type devices, or
                                    holds two sizes */
        bool mixed_size;         /* configured, or inferred: the core holds vGPUs of two sizes, or a type of
                                    another size still shows available_instances > 0 while the core holds one */
        uint32_t used;           /* running devices on the core */
        uint32_t capacity;       /* how many vGPUs the core can hold in its current state; 0 unknown. See
                                    core_capacity_compute(). */
} CoreCapacity;

/* Compute what a core holds and can take.
 *
 * offers: every (parent, type) of the core: on a non-SR-IOV core one parent offers each type once; on
 * an SR-IOV core each VF parent offers the type with its own available_instances. Offers are grouped
 * by type id (by pointer when the id is NULL): a type's availability on the core is the sum of its
 * known available_instances; unknown (-1, or any negative value) counts as nothing.
 * devices: the types of the devices running on this core (NULL entries: unknown type).
 *
 * capacity is the largest, over the relevant offered types, of that type's limit:
 *   - relevant types: the types of the core's size class when it has one and is not mixed; otherwise
 *     all offered types;
 *   - a type's limit, on an empty core or one with a size class and not mixed: its max_instances (from
 *     the description) when known, else used + its summed available_instances; on a core that holds
 *     devices but no single size class or is mixed (MIG-backed, sizeless or unknown types), where
 *     max_instances counts vGPUs of that type alone: used + summed available_instances when known,
 *     else max_instances;
 *   - 0 when no relevant type gives a limit.
 * So: a core at size S gets max_instances of its S types; an empty core the largest max_instances of
 * any offered type. ret must not be NULL; offers/devices may be NULL when their count is 0. */
void core_capacity_compute(const CapacityOffer *offers, size_t n_offers, const VgpuType *const *devices,
                           size_t n_devices, bool mixed_configured, CoreCapacity *ret);

/* Would a new vGPU of type t fit on this core by the size rule? Returns:
 *   0        yes (as far as the model knows);
 *   -EXDEV   the core holds another size class and is not mixed (size conflict);
 *   -ENOSPC  the size fits but the core is full: used >= t->max_instances (known, and the core holds
 *            t's size class and is not mixed), or used >= capacity (known);
 *   -EINVAL  c or t is NULL.
 * Sizeless types (Intel, samples, MIG-backed, unknown) never conflict: 0 unless a known max is
 * reached. */
int core_capacity_check(const CoreCapacity *c, const VgpuType *t);

/* Before the first write of a vGPU of type t on a core: what its mixed-size mode needs. asked: the vGPU's
 * own definition asks for mixed-size mode; wanted: someone asks for it on this core (an auto definition
 * of the core, the host configuration, or this one). The driver switches the mode only on an empty GPU,
 * so the step is taken at the first write and never later. Returns:
 *   CORE_MIXED_GO      nothing to switch: go ahead (mixed already, nobody asks, or too late for the
 *                      others' wish and this vGPU does not ask);
 *   CORE_MIXED_SWITCH  the core is empty, mixed-size mode is wanted: switch it on first;
 *   -EXDEV             asked, and the core runs vGPUs of another size in equal-size mode;
 *   -EBUSY             asked, and the core runs vGPUs of t's size (or sizeless ones) in equal-size mode;
 *   -EINVAL            c or t is NULL. */
enum { CORE_MIXED_GO = 0, CORE_MIXED_SWITCH = 1 };
int core_mixed_size_step(const CoreCapacity *c, const VgpuType *t, bool asked, bool wanted);
