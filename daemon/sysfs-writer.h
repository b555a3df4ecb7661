/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The sysfs writer: writes to files whose write(2) the kernel answers only once it has done the work
 * (an mdev type's create, a device's remove), made by a few worker threads so that the event loop goes
 * on serving other requests meanwhile and independent writes overlap. A driver's create takes tens of
 * milliseconds, and the kernel's remove of a device a VM holds open blocks until the VM lets it go.
 *
 * sd-event stays the only loop, as with the flusher (flusher.h): a worker does nothing but
 * sysfs_write() on the path and value it was given (it touches no daemon state, no bus, no log) and
 * tells the loop through an eventfd that is an io source of the loop; every callback runs from the
 * loop. At most max_threads writes are in flight at once; the others wait in the order of submission.
 * Writes in flight at once have no order between them (the caller keeps the order of writes about one
 * device by not submitting the next before the previous one is answered). */

#include <systemd/sd-event.h>
#include <glib.h>

typedef struct SysfsWriter SysfsWriter;

/* A write's result: 0, or the negative errno of sysfs_write() (the driver's answer). */
typedef void (*SysfsWriterDone)(int r, void *userdata);

/* A writer whose results are answered on event; threads are started as writes need them (at most
 * max_threads, at least 1) and end after a while without work. */
int sysfs_writer_new(sd_event *event, unsigned max_threads, SysfsWriter **ret);
/* Write value to path (both copied) from a worker. done runs exactly once, from the loop, never from
 * inside this call, with the write's result; unless the writer is freed first. */
void sysfs_writer_submit(SysfsWriter *w, const char *path, const char *value, SysfsWriterDone done,
                         void *userdata);
/* How many writes are submitted and not yet answered. */
unsigned sysfs_writer_pending(SysfsWriter *w);
/* No done runs after this (the engine answers its waiting requests itself when it stops). Writes not
 * started are dropped; a worker inside a write that blocks in the kernel is not waited for: it finishes
 * its write on its own and frees what is left of the writer when it is the last. */
void sysfs_writer_free(SysfsWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SysfsWriter, sysfs_writer_free)
