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

/* Create ".<name>.XXXXXX" (the X's random) exclusively in dirfd; its name in *ret_tmp. */
static int open_temp(int dirfd, const char *name, mode_t mode, char **ret_tmp)
{
        static const char letters[] = "abcdefghijklmnopqrstuvwxyz0123456789";

        for (int tries = 0;; tries++) {
                g_autofree char *tmp = g_strdup_printf(".%s.XXXXXX", name);
                int fd;

                for (char *x = strrchr(tmp, '.') + 1; *x; x++)
                        *x = letters[g_random_int_range(0, sizeof(letters) - 1)];
                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
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
        char *tmp;     /* a replacement's temporary file; NULL: a removal */
        int fd;        /* the temporary file, open for its fsync */
        int also;      /* another directory to fsync, or -1 */
        int result;    /* -EINPROGRESS until committed */
        bool tmp_made; /* a replacement (tmp is cleared once renamed) */
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
        c->tmp_made = true;
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
        g_autoptr(FileChange) c = NULL;
        int r;

        r = file_change_prepare(dirfd, dir, name, mode, 0, &c);
        if (r >= 0)
                r = file_change_fill(c, data, len);
        if (r < 0)
                return r;
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
        if (c->tmp && c->dirfd >= 0)
                (void)unlinkat(c->dirfd, c->tmp, 0);
        if (c->fd >= 0)
                close(c->fd);
        if (c->dirfd >= 0)
                close(c->dirfd);
        if (c->also >= 0)
                close(c->also);
        g_free(c->tmp);
        g_free(c->dir);
        g_free(c->name);
        g_free(c);
}

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

/* The fsync of one temporary file (step 1). */
static void sync_temp(FileChange *c)
{
        c->result = sync_fd(c->fd, c->name);
        if (c->result >= 0 && close(TAKE_FD(c->fd)) < 0)
                c->result = negative_errno();
        if (c->result >= 0)
                fault_point(strcmp(c->name, "leases") == 0 ? "write-temp-leases" : "write-temp-definition");
}

static gpointer sync_temp_thread(gpointer userdata)
{
        sync_temp(userdata);
        return NULL;
}

/* At most this many fsyncs of one batch in flight at once. */
#define SYNC_PARALLEL 16

/* Step 1: mark the replacements a later change of the same file supersedes; fsync the others, each
 * on a short-lived thread of its own when there are several: where the file system has no journal
 * to commit them all at once (ext4 without one, as on the development machine), each fsync writes
 * its own data and inode, and in parallel they share the device's queue instead of waiting in
 * turn (16 files: 55 ms instead of 139 ms on its loaded virtio disk). Each thread touches only its
 * own change. */
static void commit_sync_temps(FileChange *const *changes, size_t n)
{
        g_autoptr(GPtrArray) todo = g_ptr_array_new();

        for (size_t i = 0; i < n; i++) {
                FileChange *c = changes[i];

                for (size_t k = i + 1; k < n && c->tmp && !c->superseded; k++)
                        c->superseded = same_file(changes[k], c) && changes[k]->tmp;
                if (c->tmp && !c->superseded)
                        g_ptr_array_add(todo, c);
        }
        for (guint first = 0; first < todo->len; first += SYNC_PARALLEL) {
                GThread *threads[SYNC_PARALLEL] = {};
                guint end = MIN(todo->len, first + SYNC_PARALLEL);

                /* the first of each group on this thread; a thread that cannot start, too */
                for (guint i = first + 1; i < end; i++)
                        threads[i - first] =
                                g_thread_try_new("vgpud-fsync", sync_temp_thread, todo->pdata[i], NULL);
                sync_temp(todo->pdata[first]);
                for (guint i = first + 1; i < end; i++) {
                        if (threads[i - first])
                                g_thread_join(threads[i - first]);
                        else
                                sync_temp(todo->pdata[i]);
                }
        }
}

/* Step 2: rename or unlink, in order. */
static void commit_names(FileChange *const *changes, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                FileChange *c = changes[i];

                if (c->superseded)
                        continue;
                if (c->tmp && c->result < 0)
                        continue; /* its fsync failed: file_change_free() removes the temporary file */
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

void file_changes_commit(FileChange *const *changes, size_t n)
{
        commit_sync_temps(changes, n);
        commit_names(changes, n);
        commit_sync_dirs(changes, n);
        /* a superseded replacement ends as the change that superseded it */
        for (size_t i = n; i-- > 0;) {
                FileChange *c = changes[i];

                if (!c->superseded)
                        continue;
                for (size_t k = i + 1; k < n; k++)
                        if (same_file(changes[k], c) && changes[k]->tmp_made) {
                                c->result = changes[k]->result;
                                break;
                        }
        }
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
        /* the rename alone: readers see the old or the new contents, never a part */
        c->result = 0;
        commit_names(&c, 1);
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
