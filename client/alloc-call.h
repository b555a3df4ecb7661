/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Manager.Acquire and Manager.Release described as change calls (change-call.h), without D-Bus types:
 * vgpuctl-full (sd-bus: alloc-client.c, the hooks) and the front (wire.c) build them here and nowhere
 * else. Strings are borrowed from the request: they must outlive the call. */

#include <stdbool.h>
#include <stdint.h>

#include "change-call.h"
#include "cli.h"

/* The placement options of Acquire and Plan; NULL / has_* false: not sent. */
typedef struct VcPlacement {
        const char *parent;
        const char *const *parents; /* NULL-terminated; NULL: not sent */
        const char *board;
        const char *policy; /* "pack" or "spread" (the daemon checks it) */
        bool has_numa_node;
        int32_t numa_node;
        bool mixed_size; /* only GPUs in mixed-size mode or empty NVIDIA VF GPUs (sent when true) */
} VcPlacement;

typedef struct VcAcquireRequest {
        const char *profile;
        const char *owner;
        VcPlacement place;
        bool has_slot;
        uint32_t slot;
        const char *uuid;    /* NULL: none */
        const char *vm_uuid; /* NULL: none */
        bool persist, dry_run, force;
        bool has_timeout;
        uint32_t timeout_ms;
} VcAcquireRequest;

typedef struct VcAcquired {
        char *uuid;
        char *device; /* object path, "/" for a dry run */
        char *parent;
        char *type;
} VcAcquired;

void vc_acquired_clear(VcAcquired *a);

/* Append the placement options to call's options. */
void vc_placement_add(VcChangeCall *call, const VcPlacement *p);

/* Manager.Acquire(profile, owner, {placement, slot, uuid, vm_uuid, persist, dry_run, force,
 * timeout_ms}), with a timeout that covers req's kernel timeout. */
void vc_acquire_call_init(VcChangeCall *call, const VcAcquireRequest *req);

/* The (soss) answer of Acquire (as vc_change_call_answer() gives it) in *ret (copies). */
void vc_acquired_from_answer(char *const *answer, VcAcquired *ret);

/* Manager.Release(what, {slot, force, timeout_ms}); slot and timeout_ms NULL: not sent. */
void vc_release_call_init(VcChangeCall *call, const char *what, const uint32_t *slot, bool force,
                          const uint32_t *timeout_ms);

#define VC_RELEASE_USAGE "{bin} release [OPTIONS] <UUID|--owner <OWNER>|--idle>"

/* Print the released UUIDs, one per line. */
int vc_print_released(char **released);

/* `vgpuctl release --idle` after parsing (the arguments as cmd-release.c parsed them): Manager.ReleaseIdle
 * over the system bus in vgpuctl-full (cmd-release-idle.c); the front, which does not make that call,
 * hands the whole command line to vgpuctl-full (front.c). Returns what a command's run() returns. */
int vc_release_idle(const VcContext *ctx, bool other_selection, const char *older_than, bool dry_run,
                    bool force, const uint32_t *timeout_ms);

/* The checks of --policy (pack or spread) and --numa-node (at most INT32_MAX) for acquire and plan,
 * given their option ids; prints a usage error and returns -EINVAL (exit 2), or 0. */
int vc_check_placement(const VcContext *ctx, const VcCommand *cmd, const VcArgs *args, int policy, int numa);
