/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Busy check off the loop: one worker thread makes the passes over /proc (vfio_holders_scan(),
 * vfio-busy.h) that Release and ReleaseIdle need before they remove a device, and one pass answers
 * every question asked while the previous pass ran (64 VMs stopping at once cost two passes, not 64,
 * and none of them on the loop thread).
 *
 * sd-event stays the only loop, as with the flusher (flusher.h): the thread does nothing but
 * vfio_holders_scan() on copies of what it was asked (it touches no daemon state, no bus, no log)
 * and tells the loop through an eventfd that is an io source of the loop; every callback runs from
 * the loop.
 *
 * What an answer is worth: it comes from a pass that began after the question was asked, never from
 * one already running, so a process that opened a device's VFIO group before the question is seen.
 * A process that opens it during the pass or after it may or may not be (as with any look at /proc:
 * the caller removes the device right after the answer; the kernel's remove of an open device then
 * blocks until the VM lets go of it). */

#include <systemd/sd-event.h>
#include <glib.h>

typedef struct VfioBusyWorker VfioBusyWorker;

/* The answer to one question: r 0 and holders (each held device's key, as asked, to its VfioHolder;
 * the callee may steal the table with g_hash_table_ref()), or a negative errno when /proc could not be
 * read (holders NULL). */
typedef void (*VfioBusyDone)(int r, GHashTable *holders, void *userdata);

/* A worker whose thread runs from now on, its eventfd watched by event. */
int vfio_busy_worker_new(sd_event *event, VfioBusyWorker **ret);
/* Which of the devices does a process hold? keys (NULL-terminated, e.g. UUIDs) and device_dirs (their
 * sysfs directories, parallel) are copied, as vfio_holders_scan() takes them. done runs exactly once,
 * from the loop, never from inside this call, with the answer of the next pass over /proc; unless the
 * worker is freed first. */
void vfio_busy_ask(VfioBusyWorker *w, char **keys, char **device_dirs, VfioBusyDone done, void *userdata);
/* How many passes the thread has made (for tests: questions asked together share one). */
unsigned vfio_busy_passes(VfioBusyWorker *w);
/* Stop the thread (a pass under way is finished first) and free; no done runs after this, the
 * questions not answered are dropped (the engine answers its waiting requests itself when it stops). */
void vfio_busy_worker_free(VfioBusyWorker *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VfioBusyWorker, vfio_busy_worker_free)
