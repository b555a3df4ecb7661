/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The inventory vgpud publishes for read commands: a file in /run (VGPUD_SNAPSHOT) that `vgpuctl list`
 * and `vgpuctl types` read instead of asking over D-Bus, as sd-network reads systemd-networkd's state
 * files in /run/systemd/netif. Written by daemon/snapshot-writer.c, read by client/inventory-snapshot.c.
 *
 * The file: 8 bytes of magic (VGPUD_SNAPSHOT_MAGIC), the payload's length (8 bytes), then the payload:
 * exactly what Manager.ListTypes, ListDevices and ListDefinitions return (mdevctl's view), in that
 * order, as a flat sequence of fields: numbers as 4 or 8 bytes, strings NUL-terminated, an array as
 * its element count then its elements. Native byte order: it is written and read on one host. A flat
 * format rather than a GVariant because building and walking one costs next to nothing (a GVariant of
 * 2,560 devices took vgpud 23 ms to build at every change, and vgpuctl 3 ms to read).
 *
 *   a(soa(ssssiuts))    parents: name, object path, types (id, name, description, device_api,
 *                       available_instances, max_instances, framebuffer MiB, profile)
 *   a(sss)              devices: uuid, parent, type id
 *   a(ssssa(ss)o) as    definitions: parent, uuid, type id, start, attributes, object path; warnings
 *
 * Staleness rule: the file counts only while the vgpud that wrote it runs. That vgpud holds a write
 * lock (an OFD lock, released by the kernel however it exits) on "<file>.lock", taken before its first
 * write (and after removing what an earlier vgpud left); it writes the file again (atomically, by
 * rename) whenever its inventory changes and before it replies to any change request. A reader that
 * finds the lock free, the file missing or malformed uses D-Bus instead (which also starts vgpud). */

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#define VGPUD_SNAPSHOT_MAGIC "VGPUDSN2"

/* "<path>.lock" (g_free() it). */
char *vgpud_snapshot_lock_path(const char *path);

/* Take the write lock on "<path>.lock" (creating it, mode 0644) and return its descriptor, which holds
 * the lock until it is closed. -EBUSY when another process holds it, or a negative errno. */
int vgpud_snapshot_lock(const char *path);

/* Is the write lock on "<path>.lock" held (by any open file description other than the caller's own
 * lock descriptor)? 1 yes, 0 no (also when the lock file does not exist), or a negative errno. */
int vgpud_snapshot_is_locked(const char *path);

/* Writing: vgpud_snapshot_begin(), the fields in the order above, vgpud_snapshot_end(). */
void vgpud_snapshot_begin(GString *out);
void vgpud_snapshot_put_u32(GString *out, uint32_t v);
void vgpud_snapshot_put_i32(GString *out, int32_t v);
void vgpud_snapshot_put_u64(GString *out, uint64_t v);
void vgpud_snapshot_put_str(GString *out, const char *s); /* NULL is written as "" */
void vgpud_snapshot_end(GString *out);

/* Reading: a cursor over the payload. A read past the end, a string without its NUL or a count larger
 * than what is left sets failed and returns 0 or ""; check vgpud_snapshot_done() at the end. */
typedef struct VgpudSnapshotCursor {
        const char *p, *end;
        bool failed;
} VgpudSnapshotCursor;

/* Check data's magic and length and set c on its payload (data must outlive c): 0 or -EBADMSG. */
int vgpud_snapshot_cursor_init(VgpudSnapshotCursor *c, GBytes *data);
uint32_t vgpud_snapshot_get_u32(VgpudSnapshotCursor *c);
int32_t vgpud_snapshot_get_i32(VgpudSnapshotCursor *c);
uint64_t vgpud_snapshot_get_u64(VgpudSnapshotCursor *c);
const char *vgpud_snapshot_get_str(VgpudSnapshotCursor *c);
/* An array's element count; each element takes at least min_size bytes. */
uint32_t vgpud_snapshot_get_count(VgpudSnapshotCursor *c, size_t min_size);
/* Skip one string. */
void vgpud_snapshot_skip_str(VgpudSnapshotCursor *c);
/* 0 when every read succeeded (and, with at_end, the whole payload was read), else -EBADMSG. */
int vgpud_snapshot_done(const VgpudSnapshotCursor *c, bool at_end);

/* Read the file at path when its writer runs: -ESRCH when the lock is not held, -ENOENT when there is
 * no file, -EBADMSG when it is not a snapshot file, or another negative errno. */
int vgpud_snapshot_read(const char *path, GBytes **ret);
