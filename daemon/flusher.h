/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The flusher: one worker thread that commits batches of durable file changes (common/fileio.h), so
 * that requests arriving together share their fsyncs while the event loop goes on serving others.
 * sd-event stays the only loop: the thread does nothing but commit what it was given
 * (file_committer_commit()), and tells the loop through an eventfd that is an io source of the loop;
 * every callback runs from the loop. A batch is everything submitted while the previous batch was being
 * committed (a group commit), committed in the order of submission. Once the loop has a batch the
 * thread lets go of the files it replaced and makes temporary files ahead for the next
 * (file_committer_tidy()). */

#include <systemd/sd-event.h>

#include "fileio.h"

typedef struct Flusher Flusher;

/* The result of one change: 0 once it is durable, or a negative errno (file_change_result()). */
typedef void (*FlusherDone)(int r, void *userdata);

/* A flusher whose thread runs from now on, its eventfd watched by event; log (taken; NULL: none): the
 * intent log its batches go through (fileio.h, file_committer_new()). */
int flusher_new(sd_event *event, IntentLog *log, Flusher **ret);
/* Commit c (consumed) with the next batch. done runs exactly once, from the loop, never from inside
 * this call, once c is durable or failed; changes of one file keep the order of their submission. */
void flusher_submit(Flusher *f, FileChange *c, FlusherDone done, void *userdata);
/* How many changes are submitted and not yet answered. */
unsigned flusher_pending(Flusher *f);
/* Commit what is submitted (durability is never dropped), stop the thread, then free; no done runs
 * after this (the engine answers its waiting requests itself when it stops). */
void flusher_free(Flusher *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Flusher, flusher_free)
