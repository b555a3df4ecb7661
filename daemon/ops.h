/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The lifecycle engine: start, stop, define, undefine and modify mediated devices, acquire and release
 * them, and autostart. Requests start in FIFO order on the sd-event loop and decide one at a time, so
 * no two changes race between a check and an action. A request that waits for the kernel (a device to
 * appear or go) yields to the loop, and the next independent request goes ahead meanwhile; requests
 * about the same device, definition or owner keep their order, and no room is handed out twice (ops.c
 * says how). Waits resume from ops_uevents() or their timers; nothing here blocks or knows D-Bus. Each
 * kind of request is one entry of a table (ops-internal.h).
 *
 * Errors are a negative errno and a message: -EINVAL (InvalidArgument), -ENOENT (NotFound), -EEXIST
 * (Exists), -ENOSPC (NoCapacity), -EXDEV (SizeConflict), -EBUSY (Busy), -ETIMEDOUT (Timeout), -EBADMSG
 * (Corrupt), -EROFS (ReadOnly), -EOPNOTSUPP (NotSupported), OPS_DRIVER_REFUSED (DriverRefused),
 * OPS_CALLOUT_REFUSED (Failed: a pre or live callout script refused), -ECANCELED (the daemon stopped),
 * anything else Failed.
 *
 * With callouts set (ops_set_callouts()), mdevctl's callout scripts run around every request: pre
 * before anything is touched (a failure aborts the request unless it has "force"), post after the
 * change (failures logged), then every notifier; the reply comes after the notifiers. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "callouts.h"
#include "intent-log.h"
#include "inventory.h"

/* The driver refused a write to create, remove or an attribute. */
#define OPS_DRIVER_REFUSED (-EREMOTEIO)
/* A pre (or live) callout script refused the request. */
#define OPS_CALLOUT_REFUSED      (-EPROTO)

#define OPS_DEFAULT_TIMEOUT_USEC (10ULL * 1000 * 1000)

typedef struct Ops Ops;

/* The kinds of request. Each has its entry in the engine's table (ops-internal.h says how to add one). */
typedef enum {
        OPS_START,        /* ops-lifecycle.c */
        OPS_STOP,         /* ops-lifecycle.c */
        OPS_DEFINE,       /* ops-definitions.c */
        OPS_UNDEFINE,     /* ops-definitions.c */
        OPS_MODIFY,       /* ops-definitions.c */
        OPS_ACQUIRE,      /* ops-acquire.c */
        OPS_RELEASE,      /* ops-acquire.c */
        OPS_RELEASE_IDLE, /* ops-idle.c */
        OPS_AUTOSTART, /* ops-lifecycle.c: queue a start for each "auto" definition of parent (ops_autostart)
                        */
        _OPS_KIND_MAX,
} OpsKind;

/* Start and Define: the definition (JSON in mdevctl's format; Start: "" means the stored one). */
typedef struct OpsDefinitionArgs {
        char *definition;
} OpsDefinitionArgs;

/* Modify: the changes, applied in this order, and where. */
typedef struct OpsModifyArgs {
        char *definition; /* a whole new definition */
        char *type;
        char *start; /* "auto" or "manual" */
        bool del_attr;
        int del_index;
        bool add_attr;
        struct {
                char *name, *value;
                int index; /* -1: at the end */
        } add;
        bool mixed_size, mixed_size_given; /* "mixed_size" of a VF vGPU's definition */
        bool defined;                      /* change the stored definition (default true) */
        bool live;                         /* write the attributes to the running device */
} OpsModifyArgs;

/* Where Acquire may place a vGPU (also what Plan reads). */
typedef struct OpsPlaceArgs {
        char *parent, *board;
        char **parents;  /* NULL: any; else only these parents (or cores), NULL-terminated */
        int numa_node;   /* -1: any */
        char *policy;    /* "pack" (NULL) or "spread" */
        bool mixed_size; /* only NVIDIA VF GPUs in mixed-size mode, or empty ones (switched first) */
} OpsPlaceArgs;

/* Acquire: a vGPU of profile for owner's slot ("uuid" of the request gives its UUID outright). */
typedef struct OpsAcquireArgs {
        char *profile;
        char *owner;
        uint32_t slot;
        char *vm_uuid; /* derive the UUID from this and the slot */
        OpsPlaceArgs place;
        bool persist;
        bool dry_run;
} OpsAcquireArgs;

/* Release: what is a device UUID or an owner (then its slot only, when given). */
typedef struct OpsReleaseArgs {
        char *what;
        uint32_t slot;
        bool slot_given;
} OpsReleaseArgs;

/* ReleaseIdle: remove the idle devices (inventory_idle()) idle for at least older_than_usec. */
typedef struct OpsReleaseIdleArgs {
        uint64_t older_than_usec;
        bool dry_run;
} OpsReleaseIdleArgs;

/* What to do, as dbus/org.vgpud1.xml describes each method. Strings NULL or "" mean "not given". */
typedef struct OpsRequest {
        OpsKind kind;
        char *parent;
        char *uuid;            /* any form vgpu_uuid_parse() takes; Start/Define: "" makes a new one */
        uint64_t timeout_usec; /* how long to wait for the kernel; 0: the default */
        bool force;            /* go ahead when a pre or live callout script refuses */
        /* Results besides uuid and parent, filled for the caller (a reference it holds):
         * Acquire: the type id; Release and ReleaseIdle: the UUIDs released. */
        GPtrArray *out;
        /* the fields of the kind (only that member is set) */
        union {
                OpsDefinitionArgs start;
                OpsDefinitionArgs define;
                OpsModifyArgs modify;
                OpsAcquireArgs acquire;
                OpsReleaseArgs release;
                OpsReleaseIdleArgs release_idle;
        };
} OpsRequest;

OpsRequest *ops_request_new(OpsKind kind);
void ops_request_free(OpsRequest *req);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(OpsRequest, ops_request_free)

/* How a request ended: r 0 or a negative errno with message. uuid (canonical) and parent: the device or
 * definition it was about, when known (NULL otherwise). */
typedef void (*OpsDone)(int r, const char *message, const char *uuid, const char *parent, void *userdata);

/* log (taken; NULL: none): the intent log the engine's durable changes go through (flusher.h). */
int ops_new(sd_event *event, Inventory *inv, IntentLog *log, Ops **ret);
/* Run mdevctl's callout scripts around every request (NULL: none); borrowed, must outlive ops. */
void ops_set_callouts(Ops *ops, Callouts *callouts);

/* The leases Acquire and Release keep (borrowed, must outlive ops; without them both fail), and who
 * hears of each lease made (acquired true) or dropped. */
struct Leases;
struct Lease;
typedef void (*OpsLeaseNotify)(void *userdata, bool acquired, const struct Lease *lease);
void ops_set_leases(Ops *ops, struct Leases *leases, OpsLeaseNotify notify, void *userdata);
/* Count every request that ends, with its latency, in metrics (borrowed, must outlive ops; NULL: none). */
struct Metrics;
void ops_set_metrics(Ops *ops, struct Metrics *metrics);
struct VfioBusyWorker;
/* The worker that makes the engine's Busy checks (vfio-busy-worker.h), for other passes over /proc
 * to share (the users timer's); valid while ops is. */
struct VfioBusyWorker *ops_busy_worker(Ops *ops);
/* Requests still waiting end with -ECANCELED. */
void ops_free(Ops *ops);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Ops, ops_free)

/* Queue a request (consumed); done runs exactly once, from the event loop, never from inside this call.
 * Requests about the same UUID or owner end in the order they were queued. */
void ops_submit(Ops *ops, OpsRequest *req, OpsDone done, void *userdata);

/* The reservations on a GPU core (or a parent alone on its core): the creations decided or written
 * there and not shown by the kernel yet. Returns how many; *ret_parent and *ret_type (either may be NULL)
 * name their parent and type when all are of one type on one parent, else NULL (borrowed: valid until the
 * loop runs again). */
unsigned ops_reservations(Ops *ops, const char *core, const char **ret_parent, const char **ret_type);

/* What the udev watcher saw in one loop iteration, after the inventory took it in: the parents and
 * devices it re-read, and the parents that appeared or registered with the mdev core (NULL-terminated,
 * any may be NULL). */
void ops_uevents(Ops *ops, char **parents, char **devices, char **registered);

/* Start every "auto" definition of parent (NULL: of every parent) that is not running, as queued
 * requests. Calls within a short time for one parent make one attempt; failures are logged. */
void ops_autostart(Ops *ops, const char *parent);
/* At startup: the GPUs a definition or the host configuration wants in mixed-size mode that NVML says
 * are in it already (a restart of vgpud, not of the host) are recorded as mixed for the capacity model
 * (a full GPU lists no type that would tell). One NVML question per such GPU; none without them. */
void ops_mixed_size_learn(Ops *ops);

/* What req is about, as far as known before it runs, for polkit's rules (dbus/org.vgpud1.policy):
 * "parent", "type" (Acquire: the profile asked for), "owner", "uuid", each only when known, as a
 * NULL-terminated list of key, value pairs. Reads only; the request itself is not checked. */
char **ops_request_details(Ops *ops, const OpsRequest *req);

/* Number of requests queued or running (for tests and logs). */
unsigned ops_pending(Ops *ops);
/* Number of writes to create or remove submitted and not yet answered on the loop (for tests). */
unsigned ops_writes_pending(Ops *ops);
/* Nothing queued or running, and no autostart waiting for its delay: what a layout waits for before
 * it plans (layout-apply.c), so that it sees the devices autostart brings back. */
bool ops_idle(Ops *ops);

/* Check every lease against its device and its definition (lease_verdict()) once no request runs:
 * a lease whose promise cannot be kept is dropped (Released is signalled) or loses Defined, with a
 * warning in the log, never kept silently. Runs after every request and every batch of uevents by
 * itself; main.c calls this after the definitions directory changed behind vgpud's back. */
void ops_reconcile_leases_soon(Ops *ops);
