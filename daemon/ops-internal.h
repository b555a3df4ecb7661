/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Inside the lifecycle engine: the table of request kinds, the job of one request, and the helpers the
 * kinds share.
 *
 * A request runs in phases, the same for every kind (ops.c runs them):
 *   prepare  read the arguments, find what the request is about (no callout runs when this fails);
 *   pre      mdevctl's pre callouts (and live, for a live modify), which may refuse;
 *   run      the change itself, which may wait for the kernel: resume is called on every uevent batch
 *            and when the wait times out, until it is done;
 *   end      the kind's last word on the result (undo what it wrote when the change failed);
 *   post     the post callouts, the notifiers, then the reply.
 *
 * HOW TO ADD A REQUEST KIND (e.g. ApplyLayout, or a release of idle devices):
 *   1. ops.h: a value in OpsKind, and when it takes arguments of its own, a struct OpsFooArgs and a
 *      member of that type in OpsRequest's union (never fields of one kind in the common part).
 *   2. A new file ops-foo.c with `const OpsKindInfo ops_kind_foo = {...}`: name, action, prepare and
 *      run (required), resume when run can return 1 (it waits), end when a failure must be undone,
 *      init/clear when its arguments need defaults or hold memory, phases when its callouts are not pre
 *      and post. State the job keeps between phases goes in a struct of its own in Job's union below
 *      (clear_job frees it). Nothing else in the engine lists the kinds.
 *   3. One line in the table in ops.c (kinds[]) and its declaration at the bottom of this file; the
 *      file in daemon/meson.build.
 *   4. The bus glue (bus-lifecycle.c): a method handler that fills an OpsRequest and submits it, its
 *      reply in on_done(), its option keys in the option table, its polkit action.
 * To create or remove a device use ops_start_run()/ops_remove_and_wait() (ops-lifecycle.c): they keep
 * the state, the waits and the rollback in one place. */

#include <stdbool.h>

#include "macro.h"
#include "strutil.h"
#include "mdev-def.h"
#include "leases.h"
#include "store.h"
#include "uuid.h"
#include "callouts.h"
#include "ops.h"
#include "vfio-busy.h"

typedef struct Job Job;

/* What a job waits for (the device helpers of ops-lifecycle.c set it). While a job waits for the
 * kernel, the next request may go ahead (ops.c): all but WAIT_TURN give up the engine's turn. */
typedef enum {
        WAIT_NONE,
        WAIT_APPEAR,       /* create written, waiting for j->uuid to appear */
        WAIT_GONE,         /* remove written, waiting for j->uuid to go */
        WAIT_ROLLBACK,     /* a start failed after the device appeared: waiting for it to go again */
        WAIT_TURN,         /* keeps the turn: a creation on the same GPU core this decision cannot count */
        WAIT_DURABLE,      /* its file changes are being made durable (ops_job_commit()); no timeout */
        WAIT_DURABLE_TURN, /* the same, keeping the turn: an Acquire whose placement could not count
                              every reservation (its start will wait its turn) */
        WAIT_CREATE_WRITE, /* its write to create is in flight (ops_job_write()): a reservation until
                              its result is handled on the loop; no timeout */
        WAIT_REMOVE_WRITE, /* its write to remove is in flight; no timeout */
        WAIT_BUSY,         /* the Busy check's answer (ops_job_ask_busy()); no timeout */
} Wait;

typedef enum {
        PHASE_PREPARE,
        PHASE_PRE,
        PHASE_LIVE,
        PHASE_ACT,
        PHASE_POST,
        PHASE_NOTIFY,
        PHASE_END,
} Phase;

/* The callout phases a job runs (OpsKindInfo.phases). */
enum {
        OPS_PHASE_PRE = 1 << 0,  /* pre before the change; post after it */
        OPS_PHASE_LIVE = 1 << 1, /* live before the change (a live modify) */
};

/* One kind of request. Each returns 0 or a negative errno with *ret_message (ops_fail()), or 1 where
 * said; each runs from the event loop with the job current. */
typedef struct OpsKindInfo {
        const char *name;   /* the request's own name in logs, the journal and metrics: "acquire", ... */
        const char *action; /* as the callouts see it: "start", "stop", "define", ... */
        /* Defaults of the kind's arguments (NULL: all zero), and freeing them (NULL: nothing held). */
        void (*init)(OpsRequest *req);
        void (*clear)(OpsRequest *req);
        /* Find what the request is about and add the callout targets; 1: answered without a change
         * (nothing to do, a dry run); OPS_AFTER_WRITES: prepared again once no create is in flight. */
        int (*prepare)(Ops *ops, Job *j, char **ret_message);
        /* The change; 1: it waits for the kernel (ops_job_wait()) and resume goes on. */
        int (*run)(Ops *ops, Job *j, char **ret_message);
        /* After a uevent batch (timed_out false) or the timeout: 1 still waiting, else as run. */
        int (*resume)(Ops *ops, Job *j, bool timed_out, char **ret_message);
        /* The change ended with r, before the post callouts (NULL: nothing to do). */
        void (*end)(Ops *ops, Job *j, int r);
        /* The callout phases of this job (NULL: pre and post). */
        unsigned (*phases)(const Job *j);
        /* Free what the kind keeps in the job's union (NULL: nothing). */
        void (*clear_job)(Job *j);
} OpsKindInfo;

/* A device or definition the callouts of a request are about. */
typedef struct CalloutTarget {
        char *parent;
        char *type;
        char *json;  /* the compact definition, the callouts' stdin */
        char *owner; /* the callout that claimed it (pre, live, post) */
} CalloutTarget;

/* Each kind's own state between phases. */
typedef struct UndefineJob {
        char **parents; /* the definitions to remove */
} UndefineJob;

/* Where an Acquire is (ops-acquire.c): each step but the start waits for a file change (WAIT_DURABLE). */
typedef enum AcquireStep {
        ACQUIRE_LEASE,           /* its lease */
        ACQUIRE_DEFINITION,      /* its definition (persist), once the lease is durable */
        ACQUIRE_START,           /* the create, once both are */
        ACQUIRE_UNDO_DEFINITION, /* it failed: the definition's removal */
        ACQUIRE_UNDO_LEASE,      /* then the lease's */
} AcquireStep;

typedef struct AcquireJob {
        bool define;        /* it stores its definition (persist, or a lease that had one) */
        bool counted;       /* its placement counted every reservation: it waits for its files without
                               the turn, its creation a reservation (Job.reserving) */
        bool lease_written; /* this job wrote a new lease (undone when it fails) */
        bool def_written;   /* this job stored a definition (undone when it fails) */
        AcquireStep step;
        int error; /* the failure being reported once what it wrote is taken back */
        char *message;
} AcquireJob;

typedef struct ReleaseJob {
        char **leased;   /* the UUIDs to release, in order */
        guint next;      /* the one being released */
        Lease gone;      /* its lease, being saved away (uuid, owner, slot) */
        bool undefining; /* WAIT_DURABLE for the removal of its definition, before the lease's save */
} ReleaseJob;

typedef struct ReleaseIdleJob {
        char **idle; /* the idle devices to remove, in order */
        guint next;  /* the one being removed */
} ReleaseIdleJob;

struct Job {
        Ops *ops;
        const OpsKindInfo *kind;
        OpsRequest *req;
        OpsDone done;
        void *userdata;
        uint64_t submitted_usec; /* CLOCK_MONOTONIC, for the metrics' latency */

        /* what it is about (the reply names them) */
        char uuid[VGPU_UUID_STRING_MAX];
        char *parent;
        MdevDef *def;
        StoredDef *written; /* define and modify: what the file will read as, once durable */

        /* waiting for the kernel */
        Wait wait;
        char *creating_core; /* WAIT_APPEAR, or reserving: the GPU core (or parent) the device is being
                                created on (its reservation there: ops_core_reserved()) */
        bool reserving;      /* its creation is decided (j->parent, j->def's type on creating_core) and not
                                written yet: a reservation while it waits for its lease (ops-acquire.c) */
        char *gone_parent, *gone_type; /* WAIT_GONE: where the device was, and what its type had left */
        int gone_count;
        sd_event_source *timer;
        sd_event_source *check; /* looks once, from the loop, whether what it waits for is there already */
        bool writing;           /* WAIT_*_WRITE: the write is in flight, its result not yet handled */
        int write_result;       /* WAIT_*_WRITE: the write's result (0 or the driver's errno), once in */
        bool create_reread;     /* WAIT_CREATE_WRITE: decided on counts read just before */
        Backend *write_backend; /* WAIT_*_WRITE after a backend's create_begin or remove_begin: whose
                                   create_end or remove_end ... */
        void *write_state;      /* ... takes this (g_free'd with the job when it never ran) */
        uint64_t held_until;    /* OPS_AFTER_WRITES: when its wait for the creates in flight ends
                                   (CLOCK_MONOTONIC; 0: it never waited) */
        bool state_set;         /* j->uuid's State was set: back to "active" when the change ends */
        int error; /* a rollback: the original error and message, reported once the device went */
        char *message;

        /* WAIT_BUSY: the answer of the Busy check (ops_job_ask_busy()) */
        bool busy_checked; /* answered (ops_job_busy_end()): its removals make no check of their own */
        bool busy_pending;
        int busy_result;
        GHashTable *busy_holders; /* uuid -> VfioHolder */

        /* WAIT_DURABLE: the results of its file changes, in the order of ops_job_commit() */
        GArray *durable; /* int */
        unsigned durable_pending;

        /* the callouts */
        Phase phase;
        GPtrArray *targets; /* CalloutTarget* */
        guint target;       /* the one whose callout runs now */
        CalloutRun *callout;
        CalloutState state; /* how the change went, for post and notify */
        int result;         /* the change's result, reported after post and the notifiers */
        char *result_message;

        union {
                UndefineJob undefine;
                AcquireJob acquire;
                ReleaseJob release;
                ReleaseIdleJob release_idle;
        };
};

struct Ops {
        sd_event *event;
        Inventory *inv;
        GQueue queue;      /* Job*, not started yet */
        Job *current;      /* the job whose turn it is: it prepares, runs its pre callouts and decides */
        GPtrArray *active; /* Job*, started and past their turn: waiting for the kernel, or in post */
        sd_event_source *kick;
        GHashTable *autostart; /* parent names waiting for the autostart delay */
        sd_event_source *autostart_timer;
        Callouts *callouts; /* NULL: none run */
        struct Leases *leases;
        OpsLeaseNotify lease_notify;
        void *lease_userdata;
        bool reconcile;              /* ops_reconcile_leases() is due once the queue is empty */
        struct Metrics *metrics;     /* NULL: none counted */
        struct Flusher *flusher;     /* commits the jobs' file changes in shared batches */
        struct SysfsWriter *writer;  /* makes the jobs' writes to create and remove off the loop */
        bool held;                   /* the queue's head waits for the writes to create in flight
                                        (OPS_AFTER_WRITES) */
        sd_event_source *held_timer; /* ... until its request's timeout (Job.held_until) */
        struct VfioBusyWorker *busy; /* the Busy checks' passes over /proc, off the loop */
};

/* From prepare: the request cannot be decided before the writes to create in flight have their
 * results (they are counted as taking room while in flight, maybe twice: ops_core_reserved()). The job
 * goes back to the head of the queue and is prepared again once none is in flight, or once its
 * request's timeout has passed (a driver that never returns from a create must not hold up every
 * later request): ops_job_may_wait_for_writes() then says no, and it decides on the counts it has. */
#define OPS_AFTER_WRITES 2
/* May j still answer OPS_AFTER_WRITES (its request's timeout has not passed since it first did)? */
bool ops_job_may_wait_for_writes(Ops *ops, const Job *j);

/* ---- the engine (ops.c) ---- */

/* Before a start's first write on a VF parent p, whose core's capacity for this decision is cap
 * (ops-mixed-size.c): switch its GPU to mixed-size mode
 * where the job's definition, an auto definition of the GPU or the host configuration asks for it and
 * the GPU is empty. 0: nothing done; 1: switched (the caller reads the parent again); a negative errno
 * with *ret_message when the job asks for the mode and cannot have it (-EXDEV, -EBUSY, -EOPNOTSUPP for
 * a GPU without the capability, -ELIBACC for a host without NVML, -EIO). Nothing is written to sysfs. */
int ops_mixed_size_prepare(Ops *ops, Job *j, const InvParent *p, const CoreCapacity *cap,
                           const VgpuType *model, char **ret_message);

/* Set *ret_message and return r, for `return ops_fail(ret_message, -ENOENT, "...")`. */
int ops_fail(char **ret_message, int r, const char *format, ...) _printf_(3, 4);
/* A new job of ops for req (consumed), not queued. */
Job *ops_job_new(Ops *ops, OpsRequest *req, OpsDone done, void *userdata);
/* The callouts of j will be about parent's definition def (its type and JSON); a def without a type
 * gets none. */
void ops_job_add_target(Job *j, const char *parent, const MdevDef *def);
/* Wait for the kernel (the timeout of the request, or the default) for what; resume is called. */
int ops_job_wait(Ops *ops, Job *j, Wait what);
/* Make the file change c (consumed; fileio.h, store_*_begin()) durable with the next batch of the
 * flusher; its result will be j->durable[i], i the number of changes committed before by this job.
 * Then ops_job_wait(ops, j, WAIT_DURABLE) (it cannot fail) and return 1: the job gives up its turn (the next
 * request goes on and its changes may share the fsyncs), and resume runs once, from the loop, when every
 * change of the job has its result. A job whose change is durable answers only then, so a reply
 * never tells of something a power cut can still take back, and requests about the same UUID or
 * owner wait for it (ops.c). */
void ops_job_commit(Ops *ops, Job *j, FileChange *c);
/* From resume, after a durable wait: the wait is over (WAIT_NONE); the result of the job's last change. */
int ops_job_durable_end(Job *j);
/* The Busy check: which of the running devices among uuids (NULL-terminated) does a process hold (its
 * VFIO group open)? Asked of the worker (vfio-busy-worker.h), whose next pass over /proc answers every
 * question asked meanwhile. Returns 1 (return it from run or resume): the job waits (WAIT_BUSY, no
 * timeout) without its turn, so the next request goes on and its question may share the pass, while
 * requests about the same UUIDs or owner wait for this job (ops.c); resume runs once, from the loop,
 * with the answer. 0 when none of them runs (nothing to ask, no wait). */
int ops_job_ask_busy(Ops *ops, Job *j, char **uuids);
/* From resume, after a Busy wait: the wait is over (WAIT_NONE); 0 and *ret_holders (uuid ->
 * VfioHolder, g_hash_table_unref; only the held devices), or the negative errno of a pass that could
 * not tell. */
int ops_job_busy_end(Job *j, GHashTable **ret_holders);
/* The Busy error for uuid, which holder has open. Returns -EBUSY. */
int ops_fail_busy(char **ret_message, const char *uuid, const VfioHolder *holder);
/* A failed write (or removal) of vgpud's own files (definitions, leases) by its meaning: -EROFS
 * (ReadOnly) for a read-only file system, -EIO (org.vgpud1.Error.Io) for anything else, ENOSPC and
 * EACCES included; the message is "<what>: <path>: <strerror> (<ERRNO>)". */
int ops_io_fail(char **ret_message, int r, const char *what, const char *path);
/* The leases against devices and definitions, now (ops-acquire.c); only while no job runs. */
void ops_reconcile_leases(Ops *ops);
/* The reservations on the GPU core (or parent) core: the creations jobs other than j have decided or
 * written there and the kernel has not shown yet. Returns how many; *ret_parent and *ret_type (either
 * may be NULL; borrowed from the jobs, valid until the loop runs again) name their parent and type when
 * all are of one type on one parent, else NULL; *ret_unwritten (may be NULL) how many of them are
 * decided and not written yet, or whose write is in flight (j->reserving, WAIT_CREATE_WRITE: the
 * driver's available_instances may not count those, a decision lowers it by them; a write in flight
 * counts even when the inventory shows its device already, so it may count twice until its result is
 * handled: a "no" then waits for it, never refuses). Released by themselves: a job counts from its decision
 * (an Acquire that gives up its turn while its lease is made durable) or its write until its device is seen
 * or its wait ends (failure, rollback, timeout); one that ends unwritten lets the job waiting its turn
 * decide again. */
unsigned ops_core_reserved(Ops *ops, const Job *j, const char *core, const char **ret_parent,
                           const char **ret_type, unsigned *ret_unwritten);

/* Write value to path (a type's create, a device's remove) off the loop (sysfs-writer.h) and wait
 * for its result, what being WAIT_CREATE_WRITE or WAIT_REMOVE_WRITE: returns 1, and the job gives up its
 * turn; resume runs once, from the loop, when the write returned, with its result in j->write_result
 * (uevents and timers do not resume it meanwhile). A WAIT_CREATE_WRITE on j->creating_core is a
 * reservation there until then, whatever the inventory shows. */
int ops_job_write(Ops *ops, Job *j, Wait what, const char *path, const char *value);
/* From resume, after a WAIT_*_WRITE: the wait is over (WAIT_NONE); the result as create and remove give
 * it: through the backend's create_end or remove_end when the write followed its begin (0: done now, or
 * the driver's errno), else 1 for a write that went, or its errno. */
int ops_job_write_end(Job *j);
/* The writes to create in flight on the GPU core (or parent) core, NULL: anywhere; j's own not
 * counted (j may be NULL). */
unsigned ops_creates_in_flight(Ops *ops, const Job *j, const char *core);

/* j's decided creation will not be written after all (its lease or definition failed): its reservation
 * ends, and a job waiting its turn (WAIT_TURN) decides again from the loop. */
void ops_job_unreserve(Ops *ops, Job *j);

/* ---- lookups (ops-lookup.c) ---- */

/* The keys of a request, known before it starts: the UUID it is about (canonical in ret_uuid; false
 * when it names none) and the owner (*ret_owner, NULL when none). */
bool ops_request_keys(Ops *ops, const OpsRequest *req, char ret_uuid[static VGPU_UUID_STRING_MAX],
                      char **ret_owner);

const char *ops_definitions_dir(Ops *ops);
/* Where the definitions of parent are: mdevctl's directory, or vgpud's own store for a VF. */
const char *ops_definitions_dir_for(Ops *ops, const char *parent);
/* A definition of parent is removed: its directory goes with its last definition
 * (store_remove_end()), unless a change is on its way to the flusher: a replacement's temporary file
 * is made at the commit, in that directory. */
void ops_definition_dir_done(Ops *ops, const char *parent);
/* A UUID in any form mdevctl takes, canonical in ret; with may_generate "" makes a new one. */
int ops_parse_uuid(const char *s, bool may_generate, char ret[static VGPU_UUID_STRING_MAX],
                   char **ret_message);
/* The stored definition of uuid: on parent, or the only one when parent is NULL or "". */
int ops_find_definition(Ops *ops, const char *parent, const char *uuid, StoredDef **ret, char **ret_message);
/* Is uuid running (known to the inventory, or in sysfs)? */
bool ops_device_running(Ops *ops, const char *uuid);

/* ---- devices (ops-lifecycle.c) ---- */

/* Write def's attributes to the running device, in order. OPS_DRIVER_REFUSED when one fails. */
int ops_write_attrs(Ops *ops, const char *uuid, const MdevDef *def, char **ret_message);
/* The sysfs directory of a running device (g_free), NULL when it does not run. */
char *ops_device_dir(Ops *ops, const char *uuid);
/* Create j->uuid as j->def on j->parent: the checks, the write to create; 1 when it waits for the
 * device (ops_start_resume() goes on: the attributes, or the rollback when they fail). */
int ops_start_run(Ops *ops, Job *j, char **ret_message);
int ops_start_resume(Ops *ops, Job *j, bool timed_out, char **ret_message);
/* Remove the running device j->uuid (on j->parent): its State "stopping", the write to remove (off
 * the loop where the backend allows: the kernel's remove of a device a VM holds blocks until the VM
 * lets go), the wait. 1 when it waits (ops_remove_resume() says when it went), 0 when it was gone
 * already, or -EBUSY (Busy) / OPS_DRIVER_REFUSED when the driver refused; ops_remove_resume() may
 * answer the same after the write (0 when the device was gone before it). Used by Stop and Release. */
int ops_remove_and_wait(Ops *ops, Job *j, char **ret_message);
/* 1 still there, 0 gone, -ETIMEDOUT when timed_out and still there; after the write, as
 * ops_remove_and_wait(). */
int ops_remove_resume(Ops *ops, Job *j, bool timed_out, char **ret_message);

/* ---- autostart (ops-lifecycle.c) ---- */

/* The autostart timer of ops_autostart(), off until asked. */
int ops_autostart_setup(Ops *ops);

/* ---- the kinds ---- */

extern const OpsKindInfo ops_kind_start, ops_kind_stop, ops_kind_autostart;   /* ops-lifecycle.c */
extern const OpsKindInfo ops_kind_define, ops_kind_undefine, ops_kind_modify; /* ops-definitions.c */
extern const OpsKindInfo ops_kind_acquire, ops_kind_release;                  /* ops-acquire.c */
extern const OpsKindInfo ops_kind_release_idle;                               /* ops-idle.c */
