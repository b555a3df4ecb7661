/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The inventory published for read commands (snapshot-writer.h): Manager.ListTypes, ListDevices and
 * ListDefinitions (mdevctl's view: bus-manager.c's reply_types(), reply_devices() and
 * reply_definitions() with backend "mdev"; keep them the same) in the flat format of common/snapshot.h,
 * written with the one atomic writer (common/fileio.c) without fsync: /run is tmpfs, and a reboot empties it
 * anyway. */

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <inttypes.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "snapshot.h"
#include "snapshot-writer.h"

/* The listings are mdevctl's view, as the List* methods without "Of" give it. */
#define LISTED_BACKEND "mdev"

struct SnapshotWriter {
        Inventory *inventory;
        char *path;
        char *name;            /* path's last component */
        int dirfd;             /* path's directory */
        int lock_fd;           /* holds the lock; -1 after a failed write (readers use D-Bus from then on) */
        bool dirty;            /* changed since the last write */
        bool head_dirty;       /* the types or devices changed since head was built */
        GString *head;         /* the types and devices as last written (the payload's first part) */
        FileChange *next;      /* the next write's temporary file, made ahead (on_defer()), or NULL */
        FileChange *published; /* the last write, open: the file readers see now */
        FileChange *retired;   /* the one it replaced, closed by on_defer() (see write_out()) */
        size_t size_hint;      /* the last snapshot\'s size and some: one allocation for the next */
        sd_event_source *defer; /* on at a change or a write: writes when dirty, makes the next file */
};

/* ListTypes: a(soa(ssssiuts)) */
static void put_types(GString *out, Inventory *inv)
{
        g_autoptr(GPtrArray) parents = inventory_listing_parents(inv, LISTED_BACKEND);

        vgpud_snapshot_put_u32(out, parents->len);
        for (guint i = 0; i < parents->len; i++) {
                InvParent *p = parents->pdata[i];

                vgpud_snapshot_put_str(out, p->name);
                vgpud_snapshot_put_str(out, p->object_path);
                vgpud_snapshot_put_u32(out, p->sys->types->len);
                for (guint j = 0; j < p->sys->types->len; j++) {
                        SysfsType *t = p->sys->types->pdata[j];
                        VgpuType *v = p->models->pdata[j];

                        vgpud_snapshot_put_str(out, t->id);
                        vgpud_snapshot_put_str(out, t->name);
                        vgpud_snapshot_put_str(out, t->description);
                        vgpud_snapshot_put_str(out, t->device_api);
                        vgpud_snapshot_put_i32(out, t->available_instances);
                        vgpud_snapshot_put_u32(out, v->max_instances);
                        vgpud_snapshot_put_u64(out, v->framebuffer_mib);
                        vgpud_snapshot_put_str(out, v->profile);
                }
        }
}

/* ListDevices: a(sss) */
static void put_devices(GString *out, Inventory *inv)
{
        g_autoptr(GPtrArray) devices = inventory_listing_devices(inv, LISTED_BACKEND);

        vgpud_snapshot_put_u32(out, devices->len);
        for (guint i = 0; i < devices->len; i++) {
                InvDevice *d = devices->pdata[i];

                vgpud_snapshot_put_str(out, d->uuid);
                vgpud_snapshot_put_str(out, d->sys->parent);
                vgpud_snapshot_put_str(out, d->sys->type_id);
        }
}

/* ListDefinitions: a(ssssa(ss)o) as */
static void put_definitions(GString *out, Inventory *inv)
{
        g_autoptr(GPtrArray) defs = inventory_listing_definitions(inv, LISTED_BACKEND);
        GPtrArray *warnings = inventory_warnings(inv);

        vgpud_snapshot_put_u32(out, defs->len);
        for (guint i = 0; i < defs->len; i++) {
                InvDefinition *d = defs->pdata[i];

                vgpud_snapshot_put_str(out, d->parent);
                vgpud_snapshot_put_str(out, d->uuid);
                vgpud_snapshot_put_str(out, d->type_shown);
                vgpud_snapshot_put_str(out, d->def->autostart ? "auto" : "manual");
                vgpud_snapshot_put_u32(out, d->def->attrs->len);
                for (guint j = 0; j < d->def->attrs->len; j++) {
                        MdevAttr *a = d->def->attrs->pdata[j];
                        vgpud_snapshot_put_str(out, a->name);
                        vgpud_snapshot_put_str(out, a->value);
                }
                vgpud_snapshot_put_str(out, d->object_path);
        }
        vgpud_snapshot_put_u32(out, warnings->len);
        for (guint i = 0; i < warnings->len; i++)
                vgpud_snapshot_put_str(out, warnings->pdata[i]);
}

static void schedule(SnapshotWriter *w)
{
        (void)sd_event_source_set_enabled(w->defer, SD_EVENT_ONESHOT);
}

/* Replace the file with out: into the temporary file made ahead when there is one (so that a write
 * before a reply costs the write and the rename, not the creation too), else into a new one. */
static int write_out(SnapshotWriter *w, GString *out)
{
        g_autoptr(FileChange) c = g_steal_pointer(&w->next);
        int r = 0;

        if (!c)
                r = file_change_prepare(w->dirfd, ".", w->name, 0644, 0, &c);
        if (r >= 0)
                r = file_change_fill(c, out->str, out->len);
        if (r >= 0)
                r = file_change_commit_no_sync(c);
        if (r < 0)
                return r;
        /* the file replaced is still open: freeing it (its pages, its inode) is not the rename's work
         * but on_defer()'s, once the reply this write comes before is out */
        file_change_free(w->retired);
        w->retired = g_steal_pointer(&w->published);
        w->published = g_steal_pointer(&c);
        return 0;
}

/* Write the snapshot. One that cannot be written must not stay behind as current: remove the old one
 * and give up the lock, so readers use D-Bus from then on (a later write could fail the same way). */
static void write_snapshot(SnapshotWriter *w)
{
        g_autoptr(GString) out = g_string_sized_new(w->size_hint);
        int r;

        uint64_t t0 = (uint64_t)g_get_monotonic_time();

        w->dirty = false;
        if (w->lock_fd < 0)
                return;
        if (w->head_dirty) {
                g_string_truncate(w->head, 0);
                put_types(w->head, w->inventory);
                put_devices(w->head, w->inventory);
                w->head_dirty = false;
        }
        vgpud_snapshot_begin(out);
        g_string_append_len(out, w->head->str, (gssize)w->head->len);
        put_definitions(out, w->inventory);
        vgpud_snapshot_end(out);
        w->size_hint = out->len + out->len / 8;
        r = write_out(w, out);
        schedule(w); /* the next write's file, made once this dispatch (and its reply) is done */
        if (r >= 0) {
                log_debug("Wrote %s: %zu bytes in %" PRIu64 " us", w->path, out->len,
                          (uint64_t)g_get_monotonic_time() - t0);
                return;
        }
        log_warning_errno(r, "Cannot write %s, read commands use D-Bus from now on: %m", w->path);
        (void)unlinkat(w->dirfd, w->name, 0);
        close(TAKE_FD(w->lock_fd));
}

/* Right after the dispatch that changed the inventory (a uevent, an inotify event, a timer), before
 * the loop reads the next request (a defer source of IMPORTANT priority, turned on by the change):
 * whoever learns of the change from vgpud (a signal, a reply) and then runs `vgpuctl list` finds it in
 * the snapshot. A batch of changes is written once. On only when there is something to do: an
 * always-on post source would cost the loop one more iteration after every dispatch. */
static int on_defer(sd_event_source *s, void *userdata)
{
        SnapshotWriter *w = userdata;

        if (w->dirty)
                write_snapshot(w);
        /* now that the write and its reply are out: the file it replaced goes, and the next write's
         * temporary file is made, its pages allocated (a failure here is tried again at the write,
         * which reports it) */
        g_clear_pointer(&w->retired, file_change_free);
        if (!w->next && w->lock_fd >= 0)
                (void)file_change_prepare(w->dirfd, ".", w->name, 0644, w->size_hint, &w->next);
        return 0;
}

void snapshot_writer_changed(SnapshotWriter *w)
{
        if (!w)
                return;
        w->dirty = w->head_dirty = true;
        schedule(w);
}

void snapshot_writer_definitions_changed(SnapshotWriter *w)
{
        if (!w)
                return;
        w->dirty = true;
        schedule(w);
}

void snapshot_writer_flush(SnapshotWriter *w)
{
        if (w && w->dirty)
                write_snapshot(w);
}

void snapshot_writer_free(SnapshotWriter *w)
{
        if (!w)
                return;
        sd_event_source_disable_unref(w->defer);
        file_change_free(w->next); /* removes its temporary file */
        file_change_free(w->published);
        file_change_free(w->retired);
        if (w->head)
                g_string_free(w->head, TRUE);
        if (w->lock_fd >= 0) {
                /* first the file, then the lock: a reader never takes a dead daemon's file as current */
                (void)unlinkat(w->dirfd, w->name, 0);
                close(w->lock_fd);
        }
        if (w->dirfd >= 0)
                close(w->dirfd);
        g_free(w->path);
        g_free(w->name);
        g_free(w);
}

/* The temporary files an earlier vgpud left (killed between making one and renaming it). */
static void remove_temp_files(SnapshotWriter *w)
{
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int fd = fcntl(w->dirfd, F_DUPFD_CLOEXEC, 3);

        if (fd < 0 || !(d = fdopendir(fd))) {
                if (fd >= 0)
                        close(fd);
                return;
        }
        while ((de = readdir(d)))
                if (is_temp_file_of(de->d_name, w->name))
                        (void)unlinkat(w->dirfd, de->d_name, 0);
}

int snapshot_writer_new(sd_event *event, Inventory *inv, const char *path, SnapshotWriter **ret)
{
        g_autoptr(SnapshotWriter) w = g_new0(SnapshotWriter, 1);
        g_autofree char *dir = g_path_get_dirname(path);
        int r;

        w->inventory = inv;
        w->head = g_string_new(NULL);
        w->head_dirty = true;
        w->path = g_strdup(path);
        w->name = g_path_get_basename(path);
        w->lock_fd = -1;
        w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (w->dirfd < 0)
                return log_error_errno(negative_errno(), "Cannot open %s for the snapshot: %m", dir);
        r = sd_event_add_defer(event, &w->defer, on_defer, w);
        if (r >= 0)
                r = sd_event_source_set_priority(w->defer, SD_EVENT_PRIORITY_IMPORTANT);
        if (r >= 0)
                r = sd_event_source_set_enabled(w->defer, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the snapshot's writer: %m");

        /* the file an earlier vgpud left goes before the lock is taken, so that no reader takes it for
         * this vgpud's while the first write is under way */
        *ret = NULL;
        if (vgpud_snapshot_is_locked(path) > 0) {
                log_warning("Another process publishes %s: not publishing the inventory there", path);
                return 0;
        }
        (void)unlinkat(w->dirfd, w->name, 0);
        remove_temp_files(w);
        w->lock_fd = vgpud_snapshot_lock(path);
        if (w->lock_fd < 0) {
                log_warning_errno(w->lock_fd, "Cannot lock %s.lock, not publishing the inventory: %m", path);
                return 0;
        }
        write_snapshot(w);
        if (w->lock_fd >= 0)
                *ret = g_steal_pointer(&w);
        return 0;
}
