/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The durable atomic writer (fileio.h). */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "macro.h"
#include "fault.h"
#include "fileio.h"
#include "intent-log.h"

static int write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, buf, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                buf += n;
                len -= (size_t)n;
        }
        return 0;
}

/* ".<name>.XXXXXX", the X's random. */
static char *temp_name(const char *name)
{
        static const char letters[] = "abcdefghijklmnopqrstuvwxyz0123456789";
        char *tmp = g_strdup_printf(".%s.XXXXXX", name);

        for (char *x = strrchr(tmp, '.') + 1; *x; x++)
                *x = letters[g_random_int_range(0, sizeof(letters) - 1)];
        return tmp;
}

/* Create a temporary file for name exclusively in dirfd; its name in *ret_tmp. */
static int open_temp(int dirfd, const char *name, mode_t mode, char **ret_tmp)
{
        for (int tries = 0;; tries++) {
                g_autofree char *tmp = temp_name(name);
                int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

                if (fd >= 0) {
                        *ret_tmp = g_steal_pointer(&tmp);
                        return fd;
                }
                if (errno != EEXIST || tries >= 100)
                        return negative_errno();
        }
}

struct FileChange {
        int dirfd;
        char *dir; /* the key of the directory */
        char *name;
        char *tmp;  /* a replacement's temporary file name; NULL: a removal, or once renamed */
        int fd;     /* the temporary file once made (at the prepare, or at the commit), for its fsync */
        char *data; /* file_change_write()'s bytes, written into the temporary file at the commit */
        size_t len;
        bool unwritten; /* data waits for the commit (len may be 0: data NULL) */
        mode_t mode;
        int also;       /* another directory to fsync, or -1 */
        int result;     /* -EINPROGRESS until committed */
        bool tmp_made;  /* a replacement (tmp is cleared once renamed) */
        bool tmp_named; /* tmp exists in the directory (removed if the change ends uncommitted) */
        bool superseded;
};

static FileChange *change_new(int dirfd, const char *dir, const char *name)
{
        g_autoptr(FileChange) c = g_new0(FileChange, 1);

        c->fd = c->also = -1;
        c->result = -EINPROGRESS;
        c->dir = g_strdup(dir);
        c->name = g_strdup(name);
        c->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        return c->dirfd < 0 ? NULL : g_steal_pointer(&c);
}

int file_change_prepare(int dirfd, const char *dir, const char *name, mode_t mode, size_t reserve,
                        FileChange **ret)
{
        g_autoptr(FileChange) c = change_new(dirfd, dir, name);

        if (!c)
                return negative_errno();
        c->tmp_made = c->tmp_named = true;
        c->mode = mode;
        c->fd = open_temp(dirfd, name, mode, &c->tmp);
        if (c->fd < 0)
                return c->fd;
        /* the blocks now, the size at the fill: a file system that cannot reserve just allocates then */
        if (reserve > 0)
                (void)fallocate(c->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)reserve);
        *ret = g_steal_pointer(&c);
        return 0;
}

int file_change_fill(FileChange *c, const void *data, size_t len)
{
        return write_all(c->fd, data, len); /* on failure, file_change_free() removes the file */
}

int file_change_write(int dirfd, const char *dir, const char *name, const void *data, size_t len,
                      mode_t mode, FileChange **ret)
{
        g_autoptr(FileChange) c = change_new(dirfd, dir, name);

        if (!c)
                return negative_errno();
        c->tmp_made = true;
        c->mode = mode;
        c->tmp = temp_name(name);
        c->data = g_memdup2(data, len);
        c->len = len;
        c->unwritten = true;
        *ret = g_steal_pointer(&c);
        return 0;
}

int file_change_remove(int dirfd, const char *dir, const char *name, FileChange **ret)
{
        FileChange *c = change_new(dirfd, dir, name);

        if (!c)
                return negative_errno();
        *ret = c;
        return 0;
}

int file_change_also_sync(FileChange *c, int dirfd)
{
        if (c->also >= 0)
                close(c->also);
        c->also = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        return c->also < 0 ? negative_errno() : 0;
}

int file_change_result(const FileChange *c)
{
        return c->result;
}

const char *file_change_name(const FileChange *c)
{
        return c->name;
}

const char *file_change_temp_name(const FileChange *c)
{
        return c->tmp;
}

void file_change_free(FileChange *c)
{
        if (!c)
                return;
        if (c->tmp && c->tmp_named && c->dirfd >= 0)
                (void)unlinkat(c->dirfd, c->tmp, 0);
        if (c->fd >= 0)
                close(c->fd);
        if (c->dirfd >= 0)
                close(c->dirfd);
        if (c->also >= 0)
                close(c->also);
        g_free(c->tmp);
        g_free(c->data);
        g_free(c->dir);
        g_free(c->name);
        g_free(c);
}

/* ---- the committer's spares: unnamed temporary files made ahead ---- */

/* At most this many spares kept for one directory, and for all together (a host with hundreds of VF
 * parents has as many definition directories; vgpud's descriptors are not to be spent on them). */
#define SPARES_MAX       16
#define SPARES_MAX_TOTAL 32
/* A directory no batch wrote to in this many tidies has its spares closed. */
#define SPARES_IDLE_TIDIES 8

/* Spare temporary files for one directory and mode: unnamed (O_TMPFILE), so that no reader (mdevctl
 * warns about every name in a parent's directory that is not a UUID) ever sees one. */
typedef struct Spares {
        int dirfd;
        mode_t mode;
        GArray *fds;      /* of int */
        unsigned drawn;   /* asked for since the last tidy, taken or not */
        unsigned idle;    /* tidies since a batch last wrote to the directory */
        bool unsupported; /* the file system or the process refused one: none made any more */
} Spares;

/* A change put in place through the intent log, not yet synced there. */
typedef struct Unsynced {
        int dirfd;
        char *dir;
        char *name; /* a replacement's (NULL: a removal's) */
        int also;   /* another directory to sync, or -1 */
        int result; /* of the file's sync */
} Unsynced;

struct FileCommitter {
        GHashTable *spares; /* "<mode>:<dir>" -> Spares */
        GArray *held;       /* of int: what the last batch replaced or removed, still open */
        IntentLog *log;     /* NULL: every batch is made durable in place before it is answered */
        GArray *unsynced;   /* of Unsynced: what the log holds and the tidy syncs in place */
        bool log_stuck;     /* a sync in place failed: the log keeps its records for the next start */
};

static void spares_close(Spares *sp)
{
        for (guint i = 0; i < sp->fds->len; i++)
                close(g_array_index(sp->fds, int, i));
        g_array_set_size(sp->fds, 0);
}

static void spares_free(Spares *sp)
{
        spares_close(sp);
        g_array_unref(sp->fds);
        close(sp->dirfd);
        g_free(sp);
}

static char *spares_key(const FileChange *c)
{
        return g_strdup_printf("%o:%s", (unsigned)c->mode, c->dir);
}

static void unsynced_clear(Unsynced *u)
{
        close(u->dirfd);
        if (u->also >= 0)
                close(u->also);
        g_free(u->dir);
        g_free(u->name);
}

FileCommitter *file_committer_new(IntentLog *log)
{
        FileCommitter *k = g_new0(FileCommitter, 1);

        k->spares = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)spares_free);
        k->held = g_array_new(FALSE, FALSE, sizeof(int));
        k->log = log;
        k->unsynced = g_array_new(FALSE, FALSE, sizeof(Unsynced));
        g_array_set_clear_func(k->unsynced, (GDestroyNotify)unsynced_clear);
        return k;
}

static void sync_in_place(FileCommitter *k);

void file_committer_free(FileCommitter *k)
{
        if (!k)
                return;
        sync_in_place(k);
        for (guint i = 0; i < k->held->len; i++)
                close(g_array_index(k->held, int, i));
        g_array_unref(k->held);
        g_array_unref(k->unsynced);
        g_hash_table_unref(k->spares);
        intent_log_free(k->log);
        g_free(k);
}

/* A spare for c's directory and mode, or -1 (none made yet: the first change in a directory, or more
 * changes in one batch than the last one had). */
static int spare_take(FileCommitter *k, const FileChange *c)
{
        g_autofree char *key = spares_key(c);
        Spares *sp = g_hash_table_lookup(k->spares, key);
        int fd;

        if (!sp) {
                int dirfd = fcntl(c->dirfd, F_DUPFD_CLOEXEC, 3);

                if (dirfd < 0)
                        return -1;
                sp = g_new0(Spares, 1);
                sp->dirfd = dirfd;
                sp->mode = c->mode;
                sp->fds = g_array_new(FALSE, FALSE, sizeof(int));
                g_hash_table_insert(k->spares, g_steal_pointer(&key), sp);
        }
        sp->drawn++;
        if (sp->unsupported || sp->fds->len == 0)
                return -1;
        fd = g_array_index(sp->fds, int, sp->fds->len - 1);
        g_array_set_size(sp->fds, sp->fds->len - 1);
        return fd;
}

/* c's spare could not be linked (no /proc, another mount, ...): no spares for its directory any more. */
static void spares_refused(FileCommitter *k, const FileChange *c)
{
        g_autofree char *key = spares_key(c);
        Spares *sp = g_hash_table_lookup(k->spares, key);

        if (sp) {
                sp->unsupported = true;
                spares_close(sp);
        }
}

/* At most this many changes put in place through the log wait for their syncs there while batches
 * follow each other. */
#define UNSYNCED_MAX 64

void file_committer_tidy(FileCommitter *k, bool busy)
{
        GHashTableIter it;
        Spares *sp;
        guint total = 0;

        if (!busy || k->unsynced->len >= UNSYNCED_MAX)
                sync_in_place(k);
        /* the files the last batch replaced or removed: their blocks are freed now */
        for (guint i = 0; i < k->held->len; i++)
                close(g_array_index(k->held, int, i));
        g_array_set_size(k->held, 0);

        /* the directories no batch wrote to for a while go; then the count left to make */
        g_hash_table_iter_init(&it, k->spares);
        while (g_hash_table_iter_next(&it, NULL, (gpointer *)&sp)) {
                sp->idle = sp->drawn > 0 ? 0 : sp->idle + 1;
                if (sp->idle >= SPARES_IDLE_TIDIES)
                        g_hash_table_iter_remove(&it);
                else
                        total += sp->fds->len;
        }
        g_hash_table_iter_init(&it, k->spares);
        while (g_hash_table_iter_next(&it, NULL, (gpointer *)&sp)) {
                guint want = sp->drawn > 0 ? MIN(sp->drawn, SPARES_MAX) : 0;
                bool gone = false;

                while (!sp->unsupported && sp->fds->len < want && total < SPARES_MAX_TOTAL) {
                        int fd = openat(sp->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, sp->mode);

                        if (fd >= 0) {
                                g_array_append_val(sp->fds, fd);
                                total++;
                                continue;
                        }
                        /* a directory removed since: the next change there starts again with the one
                         * made under its name */
                        gone = errno == ENOENT;
                        sp->unsupported = !gone;
                        break;
                }
                sp->drawn = 0;
                if (gone)
                        g_hash_table_iter_remove(&it);
        }
}

/* ---- the commit ---- */

/* An fsync, or the failure VGPUD_TEST_FAIL_AT="fsync-<name>:<ERRNO>" asks for, after the delay
 * VGPUD_TEST_SLOW_AT="fsync-<name>:<ms>" asks for (common/fault.h). */
static int sync_fd(int fd, const char *name)
{
        g_autofree char *point = g_strdup_printf("fsync-%s", name);
        int r = fault_errno(point);

        if (r < 0)
                return r;
        fault_delay(point);
        return fsync(fd) < 0 ? negative_errno() : 0;
}

static bool same_file(const FileChange *a, const FileChange *b)
{
        return g_str_equal(a->dir, b->dir) && g_str_equal(a->name, b->name);
}

/* Link the unnamed file c->fd under c->tmp: from the descriptor (AT_EMPTY_PATH: a third less time than
 * through its path in /proc; older kernels want CAP_DAC_READ_SEARCH for it, which the unit keeps for
 * its scans of /proc), else through /proc. */
static bool link_spare(FileChange *c)
{
        char proc[sizeof("/proc/self/fd/") + 12];

        if (linkat(c->fd, "", c->dirfd, c->tmp, AT_EMPTY_PATH) >= 0)
                return true;
        snprintf(proc, sizeof(proc), "/proc/self/fd/%i", c->fd);
        return linkat(AT_FDCWD, proc, c->dirfd, c->tmp, AT_SYMLINK_FOLLOW) >= 0;
}

/* file_change_write()'s bytes into a temporary file under c->tmp: the spare c->fd when it has one
 * (linked under c->tmp before its fsync, so that the fsync also writes its link count: on ext4
 * without a journal a name whose inode has no link count on disk is cleared by the fsck after a
 * crash), else a file created now. *ret_refused: the spare could not be linked. */
static int make_temp(FileChange *c, bool *ret_refused)
{
        int r;

        if (c->fd >= 0) {
                r = write_all(c->fd, c->data, c->len);
                if (r < 0)
                        return r;
                if (link_spare(c)) {
                        c->tmp_named = true;
                        return 0;
                }
                *ret_refused = true;
                close(TAKE_FD(c->fd));
        }
        c->fd = openat(c->dirfd, c->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, c->mode);
        if (c->fd < 0)
                return negative_errno();
        c->tmp_named = true;
        return write_all(c->fd, c->data, c->len);
}

/* The crash point of a temporary file written (fault.h). */
static const char *temp_written_point(const FileChange *c)
{
        return strcmp(c->name, "leases") == 0 ? "write-temp-leases" : "write-temp-definition";
}

typedef struct SyncTemp {
        FileChange *change;
        bool refused; /* its spare could not be linked */
} SyncTemp;

/* Step 1 for one temporary file: made (when its bytes wait), then fsynced and closed (before its
 * rename: the close of a file written to is an event, IN_CLOSE_WRITE, for whoever watches its name). */
static void sync_temp(SyncTemp *t)
{
        FileChange *c = t->change;

        if (c->unwritten) {
                c->result = make_temp(c, &t->refused);
                c->unwritten = false;
                g_clear_pointer(&c->data, g_free);
                if (c->result < 0)
                        return;
        }
        c->result = sync_fd(c->fd, c->name);
        if (c->result >= 0 && close(TAKE_FD(c->fd)) < 0)
                c->result = negative_errno();
        if (c->result >= 0)
                fault_point(temp_written_point(c));
}

static gpointer sync_temp_thread(gpointer userdata)
{
        sync_temp(userdata);
        return NULL;
}

/* At most this many fsyncs of one batch in flight at once. */
#define SYNC_PARALLEL 16

/* fn on each of the n items of size bytes at items, up to SYNC_PARALLEL at once: where the file system
 * has no journal to commit them all at once (ext4 without one, as on the development machine), each
 * fsync writes its own data and inode, and in parallel they share the device's queue instead of
 * waiting in turn (16 files: 55 ms instead of 139 ms on its loaded virtio disk). The first of each
 * group runs on this thread, the others each on a short-lived thread (on this one after, when it
 * cannot start); each touches only its own item. */
static void in_parallel(void *items, size_t n, size_t size, GThreadFunc fn)
{
        for (size_t first = 0; first < n; first += SYNC_PARALLEL) {
                GThread *threads[SYNC_PARALLEL] = {};
                size_t end = MIN(n, first + SYNC_PARALLEL);

                for (size_t i = first + 1; i < end; i++)
                        threads[i - first] =
                                g_thread_try_new("vgpud-fsync", fn, (char *)items + i * size, NULL);
                fn((char *)items + first * size);
                for (size_t i = first + 1; i < end; i++) {
                        if (threads[i - first])
                                g_thread_join(threads[i - first]);
                        else
                                fn((char *)items + i * size);
                }
        }
}

/* Mark the replacements a later change of the same file supersedes: their bytes are never written. */
static void mark_superseded(FileChange *const *changes, size_t n)
{
        for (size_t i = 0; i < n; i++)
                for (size_t later = i + 1; later < n && changes[i]->tmp && !changes[i]->superseded; later++)
                        changes[i]->superseded =
                                same_file(changes[later], changes[i]) && changes[later]->tmp;
}

/* Step 1: make and fsync the temporary files of the replacements not superseded, in parallel
 * (in_parallel()); the spares are handed out before. */
static void commit_sync_temps(FileCommitter *k, FileChange *const *changes, size_t n)
{
        g_autoptr(GArray) todo = g_array_new(FALSE, TRUE, sizeof(SyncTemp));

        for (size_t i = 0; i < n; i++) {
                FileChange *c = changes[i];

                if (!c->tmp || c->superseded || c->result != -EINPROGRESS)
                        continue;
                if (c->unwritten && k)
                        c->fd = spare_take(k, c);
                g_array_append_val(todo, ((SyncTemp){.change = c}));
        }
        in_parallel(todo->data, todo->len, sizeof(SyncTemp), sync_temp_thread);
        for (guint i = 0; i < todo->len && k; i++)
                if (g_array_index(todo, SyncTemp, i).refused)
                        spares_refused(k, g_array_index(todo, SyncTemp, i).change);
}

/* Step 2: rename or unlink, in order. With a committer the file replaced or removed is kept open
 * until file_committer_tidy(): then its blocks are freed there, after the answer, not inside the
 * rename or unlink (on a file system mounted with online discard, a discard request waited for). */
static void commit_names(FileCommitter *k, FileChange *const *changes, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                FileChange *c = changes[i];

                if (c->superseded)
                        continue;
                if (c->tmp && c->result < 0)
                        continue; /* its fsync failed: file_change_free() removes the temporary file */
                if (k) {
                        int held = openat(c->dirfd, c->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

                        if (held >= 0)
                                g_array_append_val(k->held, held);
                }
                if (c->tmp) {
                        if (renameat(c->dirfd, c->tmp, c->dirfd, c->name) < 0)
                                c->result = negative_errno();
                        else
                                g_clear_pointer(&c->tmp, g_free);
                } else
                        c->result = unlinkat(c->dirfd, c->name, 0) < 0 ? negative_errno() : 0;
        }
}

/* Step 3: each directory once (the first change in it syncs it), and the extra ones. */
static void commit_sync_dirs(FileChange *const *changes, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                FileChange *c = changes[i];
                bool seen = false;
                int r;

                for (size_t k = 0; k < i && !seen; k++)
                        seen = g_str_equal(changes[k]->dir, c->dir);
                if (seen)
                        continue;
                r = sync_fd(c->dirfd, c->dir);
                for (size_t k = i; k < n && r < 0; k++)
                        if (g_str_equal(changes[k]->dir, c->dir) && !changes[k]->superseded &&
                            changes[k]->result >= 0)
                                changes[k]->result = r;
        }
        for (size_t i = 0; i < n; i++)
                if (changes[i]->also >= 0 && changes[i]->result >= 0 && fsync(changes[i]->also) < 0)
                        changes[i]->result = negative_errno();
}

/* ---- through the intent log ---- */

static void commit_in_place(FileCommitter *k, FileChange *const *changes, size_t n, int why);

/* The temporary files of the batch's replacements written and linked, not synced, their descriptors
 * kept (for the fsync of a batch the log could not take after all); a failure is that change's. */
static void make_temps(FileCommitter *k, FileChange *const *changes, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                FileChange *c = changes[i];
                bool refused = false;
                int r;

                if (!c->tmp || c->superseded || !c->unwritten)
                        continue;
                c->fd = spare_take(k, c);
                r = make_temp(c, &refused);
                c->unwritten = false;
                if (refused)
                        spares_refused(k, c);
                if (r < 0) {
                        c->result = r;
                        continue;
                }
                fault_point(temp_written_point(c));
        }
}

static void unsynced_add(FileCommitter *k, const FileChange *c)
{
        Unsynced u = {
                .dirfd = fcntl(c->dirfd, F_DUPFD_CLOEXEC, 3),
                .dir = g_strdup(c->dir),
                .name = c->tmp_made ? g_strdup(c->name) : NULL,
                .also = c->also >= 0 ? fcntl(c->also, F_DUPFD_CLOEXEC, 3) : -1,
        };

        g_array_append_val(k->unsynced, u);
        if (u.dirfd < 0 || (c->also >= 0 && u.also < 0))
                k->log_stuck = true; /* it cannot be synced later: the log keeps it for the next start */
}

/* A batch through the intent log (intent-log.h): the temporary files written, not synced; one append
 * of every change's record; then the renames and unlinks, and the answer. Their syncs in place come
 * after it (file_committer_tidy()). False, with nothing done, when the batch is not for the log: no
 * log, one stuck or broken, bytes written ahead (file_change_prepare(): not kept to be recorded), a
 * change it cannot hold, no room left; the caller then makes it durable in place. */
static bool commit_logged(FileCommitter *k, FileChange *const *changes, size_t n)
{
        g_autofree IntentRecord *recs = NULL;
        g_autofree size_t *of = NULL; /* the change of each record */
        size_t m = 0, kept = 0;
        uint64_t first = 0;
        int r = 0;

        if (!k || !k->log || intent_log_broken(k->log))
                return false;
        recs = g_new0(IntentRecord, n);
        of = g_new(size_t, n);
        for (size_t i = 0; i < n; i++) {
                FileChange *c = changes[i];

                if (c->superseded)
                        continue;
                if (c->tmp_made && !c->unwritten)
                        return false;
                recs[m] = (IntentRecord){.kind = c->tmp_made ? INTENT_WRITE : INTENT_REMOVE,
                                         .dir = c->dir,
                                         .name = c->name,
                                         .mode = c->mode,
                                         .data = c->data,
                                         .len = c->len};
                of[m++] = i;
        }
        if (intent_log_check(k->log, recs, m) < 0)
                return false;

        make_temps(k, changes, n);
        for (size_t j = 0; j < m; j++)
                if (changes[of[j]]->result == -EINPROGRESS) {
                        recs[kept] = recs[j];
                        of[kept++] = of[j];
                }
        if (kept > 0)
                r = intent_log_append(k->log, recs, kept, &first);
        for (size_t i = 0; i < n; i++)
                g_clear_pointer(&changes[i]->data, g_free);
        if (r < 0) {
                /* whether the records reached the disk is unknown: in place, once the log is retired */
                commit_in_place(k, changes, n, r);
                return true;
        }
        fault_point("logged");

        for (size_t j = 0; j < kept; j++) {
                FileChange *c = changes[of[j]];

                if (c->tmp_made) {
                        if (c->fd >= 0)
                                close(TAKE_FD(c->fd)); /* before the rename: see sync_temp() */
                        c->result = 0;
                }
        }
        commit_names(k, changes, n);
        for (size_t j = 0; j < kept; j++) {
                FileChange *c = changes[of[j]];

                /* a removal of what was not there: its record (a no-op) is retired with the others; a
                 * cancel that fails leaves the log broken, and the next retire forgets the record */
                if (c->result >= 0 || (!c->tmp_made && c->result == -ENOENT))
                        unsynced_add(k, c);
                else
                        (void)intent_log_cancel(k->log, first + j);
        }
        return true;
}

/* One replaced file put in place through the log, synced there: opened read-only (its close is no
 * IN_CLOSE_WRITE for a watcher of the name); gone already, another tool's change since. */
static gpointer sync_unsynced_thread(gpointer userdata)
{
        Unsynced *u = userdata;
        _cleanup_close_ int fd = -1;

        u->result = 0;
        if (!u->name)
                return NULL;
        fd = openat(u->dirfd, u->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                u->result = errno == ENOENT ? 0 : negative_errno();
        else
                u->result = sync_fd(fd, u->name);
        return NULL;
}

/* After the answer: the files and directories of the batches put in place through the log, synced
 * there (each replaced file, then each directory once, and the extra ones); then the log retires
 * their records. A failure leaves the log stuck: it is never retired again in this run (an fsync that
 * failed once may not fail again for the pages it lost), the next start replays it, and until then
 * every batch goes through it, so that the replay keeps their order. */
static void sync_in_place(FileCommitter *k)
{
        int r = 0;

        if (!k->log || k->log_stuck || !intent_log_pending(k->log)) {
                g_array_set_size(k->unsynced, 0);
                return;
        }
        in_parallel(k->unsynced->data, k->unsynced->len, sizeof(Unsynced), sync_unsynced_thread);
        for (guint i = 0; i < k->unsynced->len && r >= 0; i++)
                r = g_array_index(k->unsynced, Unsynced, i).result;
        for (guint i = 0; i < k->unsynced->len && r >= 0; i++) {
                Unsynced *u = &g_array_index(k->unsynced, Unsynced, i);
                bool seen = false;

                for (guint j = 0; j < i && !seen; j++)
                        seen = g_str_equal(g_array_index(k->unsynced, Unsynced, j).dir, u->dir);
                if (!seen)
                        r = sync_fd(u->dirfd, u->dir);
                if (r >= 0 && u->also >= 0 && fsync(u->also) < 0)
                        r = negative_errno();
        }
        if (r >= 0)
                r = intent_log_retire(k->log);
        if (r < 0)
                k->log_stuck = true;
        g_array_set_size(k->unsynced, 0);
}

bool file_committer_log_stuck(const FileCommitter *k)
{
        return k->log_stuck;
}

/* A batch made durable in place, as without a log. With one, only once nothing the log holds could be
 * put in place over it at the next start: what it holds is synced in place and retired first; when it
 * cannot be (the log is stuck), every change of the batch fails with why. */
static void commit_in_place(FileCommitter *k, FileChange *const *changes, size_t n, int why)
{
        if (k && k->log && intent_log_pending(k->log)) {
                sync_in_place(k);
                if (intent_log_pending(k->log)) {
                        for (size_t i = 0; i < n; i++)
                                if (!changes[i]->superseded && changes[i]->result == -EINPROGRESS)
                                        changes[i]->result = why;
                        return;
                }
        }
        commit_sync_temps(k, changes, n);
        commit_names(k, changes, n);
        commit_sync_dirs(changes, n);
}

static void commit(FileCommitter *k, FileChange *const *changes, size_t n)
{
        mark_superseded(changes, n);
        if (!commit_logged(k, changes, n))
                commit_in_place(k, changes, n, -EIO);
        /* a superseded replacement ends as the change that superseded it */
        for (size_t i = n; i-- > 0;) {
                FileChange *c = changes[i];

                if (!c->superseded)
                        continue;
                for (size_t j = i + 1; j < n; j++)
                        if (same_file(changes[j], c) && changes[j]->tmp_made) {
                                c->result = changes[j]->result;
                                break;
                        }
        }
}

void file_changes_commit(FileChange *const *changes, size_t n)
{
        commit(NULL, changes, n);
}

void file_committer_commit(FileCommitter *k, FileChange *const *changes, size_t n)
{
        commit(k, changes, n);
}

int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
        g_autoptr(FileChange) c = NULL;
        int r;

        r = file_change_write(dirfd, ".", name, data, len, mode, &c);
        if (r < 0)
                return r;
        file_changes_commit(&c, 1);
        return c->result;
}

int write_file_atomic_full_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                              WriteAtomicFlags flags)
{
        g_autoptr(FileChange) c = NULL;
        int r;

        if (!(flags & WRITE_ATOMIC_NO_SYNC))
                return write_file_atomic_at(dirfd, name, data, len, mode);
        r = file_change_write(dirfd, ".", name, data, len, mode, &c);
        if (r < 0)
                return r;
        return file_change_commit_no_sync(c);
}

int file_change_commit_no_sync(FileChange *c)
{
        bool refused = false;

        /* the rename alone: readers see the old or the new contents, never a part */
        c->result = c->unwritten ? make_temp(c, &refused) : 0;
        c->unwritten = false;
        g_clear_pointer(&c->data, g_free);
        if (c->result >= 0)
                commit_names(NULL, &c, 1);
        return c->result;
}

bool is_temp_file_of(const char *entry, const char *name)
{
        size_t n = strlen(name), len = strlen(entry);

        if (len != 1 + n + 1 + 6 || entry[0] != '.' || strncmp(entry + 1, name, n) != 0 ||
            entry[1 + n] != '.')
                return false;
        for (const char *x = entry + n + 2; *x; x++)
                if (!g_ascii_islower(*x) && !g_ascii_isdigit(*x))
                        return false;
        return true;
}
