/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Publishing the inventory for read commands (the file and its staleness rule: common/snapshot.h).
 * Knows the inventory and sd-event, not D-Bus: the bus glue tells it about changes and flushes it
 * before each reply to a change request. */

#include <systemd/sd-event.h>

#include "inventory.h"

typedef struct SnapshotWriter SnapshotWriter;

/* Start publishing to path: remove what an earlier vgpud left, take the lock, write the first snapshot.
 * Called once, after the first scan, before the loop runs. When another process holds the lock or the
 * file cannot be written: a warning, *ret = NULL and 0 (vgpud runs, readers use D-Bus). A negative
 * errno when path's directory cannot be opened or the event source not made. */
int snapshot_writer_new(sd_event *event, Inventory *inv, const char *path, SnapshotWriter **ret);

/* Stop publishing: remove the file, release the lock. NULL is fine. */
void snapshot_writer_free(SnapshotWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnapshotWriter, snapshot_writer_free)

/* The inventory changed: write the snapshot right after the current dispatch of the loop, before any
 * other event (so a batch of changes is written once), or at the next snapshot_writer_flush(). NULL
 * is fine. */
void snapshot_writer_changed(SnapshotWriter *w);

/* Only a Definition changed: the types and devices are written as they were built last time (every
 * change of those reaches snapshot_writer_changed(): the bus glue calls it for every other object's
 * signal). NULL is fine. */
void snapshot_writer_definitions_changed(SnapshotWriter *w);

/* Write the snapshot now if it changed since it was last written: before a reply to a change
 * request, so that a `list` right after it shows the change. NULL is fine. */
void snapshot_writer_flush(SnapshotWriter *w);
