/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One vGPU a hypervisor hook asks for (a <vgpud:vgpu> element of a libvirt domain, a `#vgpud:` line of a
 * Proxmox VM config), its attributes checked the same way for both. No D-Bus: the parsers that fill
 * these are unit-tested on their own. */

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

typedef struct VcVgpuRequest {
        unsigned index; /* position among the requests, from 0 */
        char *profile;  /* required */
        bool has_slot;  /* slot given; else slot is index */
        uint32_t slot;
        char *uuid;   /* canonical; NULL when not given (libvirt only) */
        char *parent; /* NULL: any */
        char *board;  /* NULL: any */
        char *policy; /* "pack", "spread" or NULL */
        bool has_numa_node;
        int32_t numa_node;
        bool persist;
} VcVgpuRequest;

void vc_vgpu_request_free(VcVgpuRequest *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VcVgpuRequest, vc_vgpu_request_free)

/* Set one attribute: profile, slot, parent, board, numa_node, policy, persist, and uuid when allow_uuid.
 * persist takes yes/no, true/false, 1/0. Returns 0, or -EINVAL with *ret_error saying what is wrong. */
int vc_vgpu_request_set(VcVgpuRequest *r, const char *key, const char *value, bool allow_uuid,
                        char **ret_error);

/* After all requests are read: each has a profile, slot defaults to the index, and no two share a slot
 * or a UUID. what names one request in messages ("<vgpud:vgpu> element", "line"); positions are
 * given 1-based when lines is NULL, else as lines[index]. Returns 0, or -EINVAL with *ret_error. */
int vc_vgpu_requests_finish(GPtrArray *requests, const char *what, const unsigned *lines, char **ret_error);
