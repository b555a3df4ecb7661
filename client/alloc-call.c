/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* alloc-call.h: Acquire's and Release's change calls. */

#include <glib.h>

#include "alloc-call.h"
#include "lifecycle-client.h"
#include "names.h"

/* A change may wait for the daemon's queue and then for the kernel (timeout_ms, 10 s by default). */
static uint64_t call_timeout_usec(const uint32_t *timeout_ms)
{
        uint64_t t = VC_CHANGE_TIMEOUT_USEC;

        if (timeout_ms && (uint64_t)*timeout_ms * 1000ULL + 60ULL * 1000ULL * 1000ULL > t)
                t = (uint64_t)*timeout_ms * 1000ULL + 60ULL * 1000ULL * 1000ULL;
        return t;
}

void vc_acquired_clear(VcAcquired *a)
{
        g_clear_pointer(&a->uuid, g_free);
        g_clear_pointer(&a->device, g_free);
        g_clear_pointer(&a->parent, g_free);
        g_clear_pointer(&a->type, g_free);
}

static void add_string(VcChangeCall *call, const char *key, const char *value)
{
        vc_change_call_add_option(call, (VcCallEntry){key, VC_VARIANT_STRING, .s = value});
}

static void add_true(VcChangeCall *call, const char *key)
{
        vc_change_call_add_option(call, (VcCallEntry){key, VC_VARIANT_BOOLEAN, .b = true});
}

static void add_u32(VcChangeCall *call, const char *key, uint32_t value)
{
        vc_change_call_add_option(call, (VcCallEntry){key, VC_VARIANT_UINT32, .u = value});
}

void vc_placement_add(VcChangeCall *call, const VcPlacement *p)
{
        if (p->parent)
                add_string(call, VGPUD_OPT_PARENT, p->parent);
        if (p->parents)
                vc_change_call_add_option(
                        call, (VcCallEntry){VGPUD_OPT_PARENTS, VC_VARIANT_STRV, .strv = p->parents});
        if (p->board)
                add_string(call, VGPUD_OPT_BOARD, p->board);
        if (p->has_numa_node)
                vc_change_call_add_option(
                        call, (VcCallEntry){VGPUD_OPT_NUMA_NODE, VC_VARIANT_INT32, .i = p->numa_node});
        if (p->policy)
                add_string(call, VGPUD_OPT_POLICY, p->policy);
        if (p->mixed_size)
                add_true(call, VGPUD_OPT_MIXED_SIZE);
}

void vc_acquire_call_init(VcChangeCall *call, const VcAcquireRequest *req)
{
        const char *const strings[] = {req->profile, req->owner};

        vc_change_call_init(call, "Acquire", strings, 2);
        vc_placement_add(call, &req->place);
        if (req->has_slot)
                add_u32(call, VGPUD_OPT_SLOT, req->slot);
        if (req->uuid)
                add_string(call, VGPUD_OPT_UUID, req->uuid);
        if (req->vm_uuid)
                add_string(call, VGPUD_OPT_VM_UUID, req->vm_uuid);
        if (req->persist)
                add_true(call, VGPUD_OPT_PERSIST);
        if (req->dry_run)
                add_true(call, VGPUD_OPT_DRY_RUN);
        if (req->force)
                add_true(call, VGPUD_OPT_FORCE);
        if (req->has_timeout)
                add_u32(call, VGPUD_OPT_TIMEOUT_MS, req->timeout_ms);
        call->timeout_usec = call_timeout_usec(req->has_timeout ? &req->timeout_ms : NULL);
}

void vc_acquired_from_answer(char *const *answer, VcAcquired *ret)
{
        g_assert(g_strv_length((char **)answer) == 4);
        *ret = (VcAcquired){
                .uuid = g_strdup(answer[0]),
                .device = g_strdup(answer[1]),
                .parent = g_strdup(answer[2]),
                .type = g_strdup(answer[3]),
        };
}

void vc_release_call_init(VcChangeCall *call, const char *what, const uint32_t *slot, bool force,
                          const uint32_t *timeout_ms)
{
        vc_change_call_init(call, "Release", &what, 1);
        if (slot)
                add_u32(call, VGPUD_OPT_SLOT, *slot);
        if (force)
                add_true(call, VGPUD_OPT_FORCE);
        if (timeout_ms)
                add_u32(call, VGPUD_OPT_TIMEOUT_MS, *timeout_ms);
        call->timeout_usec = call_timeout_usec(timeout_ms);
}
