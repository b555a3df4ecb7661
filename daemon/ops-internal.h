/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Inside the lifecycle engine: the job of one request and the helpers that ops.c (the queue, the
 * callouts around each request, start, stop, autostart) and ops-definitions.c (define, undefine,
 * modify) share.
 *
 * A request runs in phases: prepare (read the arguments, find what it is about: no callout runs when
 * this fails), the pre callouts (and live, for a live modify), act (the change itself, which may wait
 * for the kernel), the post callouts, the notifiers, then the reply. */

#include <stdbool.h>

#include "macro.h"
#include "strutil.h"
#include "mdev-def.h"
#include "store.h"
#include "uuid.h"
#include "callouts.h"
#include "ops.h"

typedef enum {
        STEP_NONE,
        STEP_WAIT_ADD,      /* start: create written, waiting for the device to appear */
        STEP_WAIT_REMOVE,   /* stop: remove written, waiting for the device to go */
        STEP_WAIT_ROLLBACK, /* start failed after the device appeared: waiting for it to go */
        STEP_WAIT_RELEASE,  /* release: remove written, waiting for the device to go */
} Step;

typedef enum {
        PHASE_PREPARE,
        PHASE_PRE,
        PHASE_LIVE,
        PHASE_ACT,
        PHASE_POST,
        PHASE_NOTIFY,
        PHASE_END,
} Phase;

/* A device or definition the callouts of a request are about. */
typedef struct CalloutTarget {
        char *parent;
        char *type;
        char *json;  /* the compact definition, the callouts' stdin */
        char *owner; /* the callout that claimed it (pre, live, post) */
} CalloutTarget;

typedef struct Job {
        OpsRequest *req;        /* NULL for an autostart job */
        char *autostart_parent; /* the parent of an autostart job */
        OpsDone done;
        void *userdata;

        Step step;
        bool state_set; /* the device's State was set: back to "active" when the job ends */
        char uuid[VGPU_UUID_STRING_MAX];
        char *parent;
        MdevDef *def;
        sd_event_source *timer;
        int error; /* the original error, kept through a rollback */
        char *message;
        char **parents; /* undefine: the definitions to remove */

        /* the callouts */
        Phase phase;
        GPtrArray *targets; /* CalloutTarget* */
        guint target;       /* the one whose callout runs now */
        CalloutRun *callout;
        CalloutState state; /* how the change went, for post and notify */
        int result;         /* the change's result, reported after post and the notifiers */
        char *result_message;

        /* acquire and release (ops-acquire.c) */
        char **leased;      /* release: the UUIDs to release, in order */
        guint next;         /* release: the one being released */
        bool lease_written; /* acquire: this job wrote a new lease (undone when it fails) */
        bool def_written;   /* acquire: this job stored a definition (undone when it fails) */
} Job;

struct Ops {
        sd_event *event;
        Inventory *inv;
        GQueue queue; /* Job*, waiting */
        Job *current;
        sd_event_source *kick;
        GHashTable *autostart; /* parent names waiting for the autostart delay */
        sd_event_source *autostart_timer;
        Callouts *callouts; /* NULL: none run */
        struct Leases *leases;
        OpsLeaseNotify lease_notify;
        void *lease_userdata;
};

const char *ops_definitions_dir(Ops *ops);

/* Set *ret_message and return r, for `return ops_fail(ret_message, -ENOENT, "...")`. */
int ops_fail(char **ret_message, int r, const char *format, ...) _printf_(3, 4);

/* A UUID in any form mdevctl takes, canonical in ret; with may_generate "" makes a new one. */
int ops_parse_uuid(const char *s, bool may_generate, char ret[static VGPU_UUID_STRING_MAX],
                   char **ret_message);
/* The stored definition of uuid: on parent, or the only one when parent is NULL or "". */
int ops_find_definition(Ops *ops, const char *parent, const char *uuid, StoredDef **ret, char **ret_message);
/* Is uuid running (known to the inventory, or in sysfs)? */
bool ops_device_running(Ops *ops, const char *uuid);
/* Write def's attributes to the running device, in order. OPS_DRIVER_REFUSED when one fails. */
int ops_write_attrs(const char *uuid, const MdevDef *def, char **ret_message);

/* The callouts of j will be about parent's definition def (its type and JSON); a def without a type
 * gets none. */
void ops_job_add_target(Job *j, const char *parent, const MdevDef *def);

/* Start's change (ops.c): the checks and the write to create for j->uuid, j->parent and j->def; 1 when
 * it waits for the device. */
int ops_start_run(Ops *ops, Job *j, char **ret_message);
/* Wait for the kernel (the timeout of the request, or the default) in step. */
int ops_job_wait(Ops *ops, Job *j, Step step);
/* Write "1" to a device's remove file. */
int ops_write_remove(const char *uuid);
/* The change of j ended (r 0 or an error): post callouts, notifiers, reply. */
void ops_job_finish(Ops *ops, Job *j, int r, const char *message);

/* ops-acquire.c: prepare returns 1 when the request is answered without a change (the owner holds
 * it already; a dry run). run returns 1 when it waits. ops_acquire_end() runs when an acquire ends
 * (r 0 or not) before its reply; ops_release_resume() when a device of a release went or the wait
 * timed out. */
int ops_acquire_prepare(Ops *ops, Job *j, char **ret_message);
int ops_acquire_run(Ops *ops, Job *j, char **ret_message);
void ops_acquire_end(Ops *ops, Job *j, int r);
int ops_release_prepare(Ops *ops, Job *j, char **ret_message);
int ops_release_run(Ops *ops, Job *j, char **ret_message);
void ops_release_resume(Ops *ops, Job *j, bool timed_out);

/* The requests of ops-definitions.c, each in two phases: prepare (before the pre callouts) and run
 * (the change); 0 done, or a negative errno with *ret_message. */
int ops_define_prepare(Ops *ops, Job *j, char **ret_message);
int ops_define_run(Ops *ops, Job *j, char **ret_message);
int ops_undefine_prepare(Ops *ops, Job *j, char **ret_message);
int ops_undefine_run(Ops *ops, Job *j, char **ret_message);
int ops_modify_prepare(Ops *ops, Job *j, char **ret_message);
int ops_modify_run(Ops *ops, Job *j, char **ret_message);
