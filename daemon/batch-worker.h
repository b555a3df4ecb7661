/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A batch worker: one thread that takes everything submitted since it last looked as one batch, runs
 * its job on the batch, and hands the batch back to the loop through an eventfd that is an io source
 * of the loop. What the flusher (flusher.h: a group commit of durable file changes) and the Busy check
 * (vfio-busy-worker.h: one pass over /proc for every question asked meanwhile) are built on.
 *
 * sd-event stays the only loop: the thread runs nothing but the job on the items it was handed (the
 * job touches no daemon state, no bus, no log); answer runs from the loop, never from inside
 * batch_worker_submit(), with every item done since the loop last looked, in the order of submission. */

#include <stdbool.h>
#include <systemd/sd-event.h>
#include <glib.h>

typedef struct BatchWorker BatchWorker;

/* On the thread: do the work of every item of batch (in place: the results go into the items). */
typedef void (*BatchWorkerJob)(GPtrArray *batch, void *userdata);
/* On the loop: answer done's items (in the order of submission); they are freed after it returns. */
typedef void (*BatchWorkerAnswer)(GPtrArray *done, void *userdata);
/* On the thread, after a batch is handed back to the loop (the loop may be answering it meanwhile): the
 * job's own work that no answer waits for. more: items were submitted meanwhile, which the next job
 * takes as soon as this returns (what can wait for a quieter moment may wait). */
typedef void (*BatchWorkerAfter)(void *userdata, bool more);

typedef struct BatchWorkerKind {
        const char *name; /* the thread's "vgpud-<name>", the io source's description, the logs' */
        bool drain;       /* at batch_worker_free(): the thread does what is submitted before it ends */
        BatchWorkerJob job;
        BatchWorkerAnswer answer;
        BatchWorkerAfter after; /* or NULL */
        GDestroyNotify item_free;
} BatchWorkerKind;

/* A worker whose thread runs from now on, its eventfd watched by event; kind is not copied. */
int batch_worker_new(sd_event *event, const BatchWorkerKind *kind, void *userdata, BatchWorker **ret);
/* Hand item (consumed) to the next batch. */
void batch_worker_submit(BatchWorker *w, void *item);
/* Stop the thread (the batch under way is finished first, and with kind->drain everything submitted)
 * and free; answer never runs after this: the items not answered are freed. */
void batch_worker_free(BatchWorker *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BatchWorker, batch_worker_free)
