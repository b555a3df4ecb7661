/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The capacity of one GPU core: its size class, whether it is mixed-size, how many vGPUs it holds and
 * can hold, and whether a new vGPU of a given type would fit. */

#include <errno.h>
#include <string.h>

#include <glib.h>

#include "capacity.h"

/* One offered type of the core, with its offers (one per parent) summed. */
typedef struct {
        const VgpuType *type;
        uint64_t available; /* sum of the known available_instances */
        bool available_known;
} TypeTotal;

static bool same_type(const VgpuType *a, const VgpuType *b)
{
        if (a == b)
                return true;
        return a->id && b->id && strcmp(a->id, b->id) == 0;
}

/* Group the offers by type; returns the number of groups written to totals (n_offers entries). */
static size_t sum_offers(const CapacityOffer *offers, size_t n_offers, TypeTotal *totals)
{
        size_t n = 0;

        for (size_t i = 0; i < n_offers; i++) {
                const CapacityOffer *o = &offers[i];
                TypeTotal *tt = NULL;

                if (!o->type)
                        continue;
                for (size_t j = 0; j < n && !tt; j++)
                        if (same_type(totals[j].type, o->type))
                                tt = &totals[j];
                if (!tt) {
                        tt = &totals[n++];
                        *tt = (TypeTotal){.type = o->type};
                }
                if (o->available_instances >= 0) {
                        tt->available += (uint64_t)o->available_instances;
                        tt->available_known = true;
                }
        }
        return n;
}

void core_capacity_compute(const CapacityOffer *offers, size_t n_offers, const VgpuType *const *devices,
                           size_t n_devices, bool mixed_configured, CoreCapacity *ret)
{
        g_autofree TypeTotal *totals = NULL;
        uint64_t size_class = 0, capacity = 0;
        bool two_sizes = false, mixed, max_first;
        size_t n_totals = 0;

        g_return_if_fail(ret);
        *ret = (CoreCapacity){};
        if (!offers)
                n_offers = 0;
        if (!devices)
                n_devices = 0;

        for (size_t i = 0; i < n_devices; i++) {
                uint64_t s = vgpu_type_size_class(devices[i]);

                if (s == 0)
                        continue;
                if (size_class == 0)
                        size_class = s;
                else if (s != size_class)
                        two_sizes = true;
        }
        if (two_sizes)
                size_class = 0;

        if (n_offers > 0) {
                totals = g_new(TypeTotal, n_offers);
                n_totals = sum_offers(offers, n_offers, totals);
        }

        mixed = mixed_configured || two_sizes;
        /* Inferred: the driver still offers another size next to the one the core holds. */
        for (size_t i = 0; i < n_totals && !mixed && size_class != 0; i++) {
                uint64_t s = vgpu_type_size_class(totals[i].type);

                if (s != 0 && s != size_class && totals[i].available > 0)
                        mixed = true;
        }

        max_first = n_devices == 0 || (size_class != 0 && !mixed);
        for (size_t i = 0; i < n_totals; i++) {
                const TypeTotal *tt = &totals[i];
                uint64_t limit = 0;

                if (size_class != 0 && !mixed && vgpu_type_size_class(tt->type) != size_class)
                        continue;

                if (max_first && tt->type->max_instances > 0)
                        limit = tt->type->max_instances;
                else if (tt->available_known)
                        limit = n_devices + tt->available;
                else if (tt->type->max_instances > 0)
                        limit = tt->type->max_instances;

                capacity = MAX(capacity, limit);
        }

        ret->size_class_mib = size_class;
        ret->mixed_size = mixed;
        ret->used = (uint32_t)MIN(n_devices, (size_t)UINT32_MAX);
        ret->capacity = (uint32_t)MIN(capacity, (uint64_t)UINT32_MAX);
}

int core_capacity_check(const CoreCapacity *c, const VgpuType *t)
{
        uint64_t size;

        if (!c || !t)
                return -EINVAL;

        size = vgpu_type_size_class(t);
        if (!c->mixed_size && size != 0 && c->size_class_mib != 0 && size != c->size_class_mib)
                return -EXDEV;
        if (!c->mixed_size && size != 0 && size == c->size_class_mib && t->max_instances > 0 &&
            c->used >= t->max_instances)
                return -ENOSPC;
        if (c->capacity > 0 && c->used >= c->capacity)
                return -ENOSPC;
        return 0;
}

int core_mixed_size_step(const CoreCapacity *c, const VgpuType *t, bool asked, bool wanted)
{
        uint64_t size;

        if (!c || !t)
                return -EINVAL;
        if (c->mixed_size || !(asked || wanted))
                return CORE_MIXED_GO;
        if (c->used == 0)
                return CORE_MIXED_SWITCH;
        if (!asked)
                return CORE_MIXED_GO;
        size = vgpu_type_size_class(t);
        if (size != 0 && c->size_class_mib != 0 && size != c->size_class_mib)
                return -EXDEV;
        return -EBUSY;
}
