/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The configured layout (vgpud.conf [Layout] File= and Config=): applied once the daemon is ready
 * (after autostart has brought back what it will: layout-apply.c waits for an idle engine) and again
 * whenever the file's content changes. The file's directory is watched with inotify on the sd-event
 * loop, so an editor's rename, a symlink swap (a Kubernetes ConfigMap volume) and a plain write are
 * all seen; a change is taken 200 ms after the last event. A content that was applied already is not
 * applied again; one that failed (a VM holds a vGPU the layout no longer wants, the host is full) is
 * tried again every retry_sec seconds (0: only when the file changes), so that the node converges
 * once the VM is gone. A failure is logged when its message differs from the last one. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "inventory.h"
#include "ops.h"

struct Leases;
typedef struct LayoutWatch LayoutWatch;

typedef enum {
        LAYOUT_STATE_NONE,    /* no layout configured */
        LAYOUT_STATE_PENDING, /* waiting to be applied, or being applied */
        LAYOUT_STATE_APPLIED,
        LAYOUT_STATE_FAILED,
} LayoutState;

/* "none", "pending", "applied", "failed" */
const char *layout_state_to_string(LayoutState s);

/* Called after the state or its message changed (from the loop). */
typedef void (*LayoutWatchChanged)(void *userdata);

/* path and config NULL: a watch that stays in LAYOUT_STATE_NONE. Nothing happens before
 * layout_watch_start(). */
int layout_watch_new(sd_event *event, Ops *ops, Inventory *inv, struct Leases *leases, const char *path,
                     const char *config, const char *owner, uint64_t retry_sec, LayoutWatchChanged changed,
                     void *userdata, LayoutWatch **ret);
/* Watch the file and apply it now (once the engine is idle). */
int layout_watch_start(LayoutWatch *w);
void layout_watch_free(LayoutWatch *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LayoutWatch, layout_watch_free)

LayoutState layout_watch_state(LayoutWatch *w);
/* Why it failed, or what was done ("8 vGPUs, 2 created, 1 removed"); "" when nothing yet. */
const char *layout_watch_message(LayoutWatch *w);
/* The vGPUs of the layout's owner the last successful apply left (kept and made). */
unsigned layout_watch_vgpus(LayoutWatch *w);
