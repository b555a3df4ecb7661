/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/fileio.c: the durable atomic writer. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "fileio.h"

static mode_t umask_now(void)
{
        mode_t m = umask(0);

        umask(m);
        return m;
}

static char **names_in(const char *dir)
{
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        g_autoptr(GPtrArray) names = g_ptr_array_new();
        const char *n;

        while ((n = g_dir_read_name(d)))
                g_ptr_array_add(names, g_strdup(n));
        g_ptr_array_add(names, NULL);
        return (char **)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

static void test_write_replace(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-fileio.XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "f", NULL);
        g_autofree char *got = NULL;
        g_auto(GStrv) names = NULL;
        _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat st;
        gsize len;

        g_assert_cmpint(dirfd, >=, 0);
        g_assert_cmpint(write_file_atomic_at(dirfd, "f", "first\n", 6, 0600), ==, 0);
        g_assert_cmpint(write_file_atomic_at(dirfd, "f", "new", 3, 0600), ==, 0);
        g_assert_true(g_file_get_contents(path, &got, &len, NULL));
        g_assert_cmpmem(got, len, "new", 3);
        g_assert_cmpint(stat(path, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 0777, ==, 0600);
        /* no temporary file left behind */
        names = names_in(dir);
        g_assert_cmpuint(g_strv_length(names), ==, 1);
        g_assert_cmpstr(names[0], ==, "f");
        g_assert_cmpint(g_unlink(path), ==, 0);
        g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* A failure leaves the old file as it was and nothing else. */
static void test_failure_keeps_old(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-fileio.XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "f", NULL);
        g_autofree char *sub = g_build_filename(dir, "f", "x", NULL);
        g_autofree char *got = NULL;
        g_auto(GStrv) names = NULL;
        _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        g_assert_cmpint(write_file_atomic_at(dirfd, "f", "old", 3, 0644), ==, 0);
        /* a directory in the way: the rename fails */
        g_assert_cmpint(g_unlink(path), ==, 0);
        g_assert_cmpint(g_mkdir(path, 0755), ==, 0);
        g_assert_cmpint(g_file_set_contents(sub, "keep", -1, NULL), ==, TRUE);
        g_assert_cmpint(write_file_atomic_at(dirfd, "f", "new", 3, 0644), <, 0);
        g_assert_true(g_file_get_contents(sub, &got, NULL, NULL));
        g_assert_cmpstr(got, ==, "keep");
        names = names_in(dir);
        g_assert_cmpuint(g_strv_length(names), ==, 1);
        g_assert_cmpint(g_unlink(sub), ==, 0);
        g_assert_cmpint(g_rmdir(path), ==, 0);
        g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static char *read_in(const char *dir, const char *name)
{
        g_autofree char *path = g_build_filename(dir, name, NULL);
        char *got = NULL;

        return g_file_get_contents(path, &got, NULL, NULL) ? got : NULL;
}

static void remove_tree(const char *dir)
{
        g_auto(GStrv) names = names_in(dir);

        for (char **n = names; *n; n++) {
                g_autofree char *path = g_build_filename(dir, *n, NULL);
                if (g_file_test(path, G_FILE_TEST_IS_DIR))
                        remove_tree(path);
                else
                        g_assert_cmpint(g_unlink(path), ==, 0);
        }
        g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* An empty file is a file too: written as any other, with and without a committer. */
static void test_write_empty(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-fileio.XXXXXX", NULL);
        g_autofree char *got = NULL;
        _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_autoptr(FileCommitter) k = file_committer_new(NULL);
        FileChange *c = NULL;

        g_assert_cmpint(write_file_atomic_at(dirfd, "f", "old", 3, 0644), ==, 0);
        g_assert_cmpint(write_file_atomic_at(dirfd, "f", "", 0, 0644), ==, 0);
        g_assert_nonnull((got = read_in(dir, "f")));
        g_assert_cmpstr(got, ==, "");
        g_clear_pointer(&got, g_free);
        for (int i = 0; i < 2; i++) { /* the second into a spare */
                g_assert_cmpint(file_change_write(dirfd, dir, "g", "", 0, 0644, &c), ==, 0);
                file_committer_commit(k, &c, 1);
                g_assert_cmpint(file_change_result(c), ==, 0);
                g_clear_pointer(&c, file_change_free);
                file_committer_tidy(k, false);
        }
        g_assert_nonnull((got = read_in(dir, "g")));
        g_assert_cmpstr(got, ==, "");
        g_clear_pointer(&k, file_committer_free);
        remove_tree(dir);
}

/* Several pending files in two directories, one commit: all there, each with its own result, and
 * nothing on disk before the commit. */
static void test_batch_several(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-fileio.XXXXXX", NULL);
        g_autofree char *sub = g_build_filename(dir, "sub", NULL);
        _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), subfd = -1;
        FileChange *c[5] = {};
        g_autofree char *got = NULL;
        g_auto(GStrv) names = NULL;

        g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
        subfd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(write_file_atomic_at(dirfd, "gone", "x", 1, 0644), ==, 0);
        g_assert_cmpint(file_change_write(dirfd, dir, "a", "A", 1, 0644, &c[0]), ==, 0);
        g_assert_cmpint(file_change_write(dirfd, dir, "a2", "B", 1, 0644, &c[1]), ==, 0);
        g_assert_cmpint(file_change_write(subfd, sub, "c", "C", 1, 0644, &c[2]), ==, 0);
        g_assert_cmpint(file_change_remove(dirfd, dir, "gone", &c[3]), ==, 0);
        g_assert_cmpint(file_change_remove(dirfd, dir, "never", &c[4]), ==, 0);
        g_assert_cmpint(file_change_also_sync(c[2], dirfd), ==, 0);
        for (size_t i = 0; i < G_N_ELEMENTS(c); i++)
                g_assert_cmpint(file_change_result(c[i]), ==, -EINPROGRESS);
        /* prepared, not committed: readers see the old state (temporary dot files only) */
        g_assert_null(read_in(dir, "a"));
        g_assert_nonnull((got = read_in(dir, "gone")));

        file_changes_commit(c, G_N_ELEMENTS(c));
        for (size_t i = 0; i < 4; i++)
                g_assert_cmpint(file_change_result(c[i]), ==, 0);
        g_assert_cmpint(file_change_result(c[4]), ==, -ENOENT);
        g_clear_pointer(&got, g_free);
        g_assert_nonnull((got = read_in(dir, "a")));
        g_assert_cmpstr(got, ==, "A");
        for (size_t i = 0; i < G_N_ELEMENTS(c); i++)
                file_change_free(c[i]);
        names = names_in(dir);
        g_assert_cmpuint(g_strv_length(names), ==, 3); /* a, a2, sub: no temporary file, no "gone" */
        g_assert_false(g_strv_contains((const char *const *)names, "gone"));
        g_clear_pointer(&got, g_free);
        g_assert_nonnull((got = read_in(sub, "c")));
        g_assert_cmpstr(got, ==, "C");
        remove_tree(dir);
}

/* A failing fsync (VGPUD_TEST_FAIL_AT="fsync-b:EIO", set by main) and a failing rename fail exactly
 * their changes: the others land, the failed names keep their old contents, no temporary file stays. */
static void test_batch_failures_are_their_own(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-fileio.XXXXXX", NULL);
        g_autofree char *blocker = g_build_filename(dir, "d", "x", NULL);
        g_autofree char *dpath = g_build_filename(dir, "d", NULL);
        g_autofree char *bpath = g_build_filename(dir, "b", NULL);
        _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        FileChange *c[4] = {};
        g_autofree char *got = NULL;
        g_auto(GStrv) names = NULL;

        g_assert_true(g_file_set_contents(bpath, "old", -1, NULL)); /* its fsync fails here */
        g_assert_cmpint(g_mkdir(dpath, 0755), ==, 0);
        g_assert_true(g_file_set_contents(blocker, "keep", -1, NULL));
        g_assert_cmpint(file_change_write(dirfd, dir, "a", "A", 1, 0644, &c[0]), ==, 0);
        g_assert_cmpint(file_change_write(dirfd, dir, "b", "B", 1, 0644, &c[1]), ==, 0);
        g_assert_cmpint(file_change_write(dirfd, dir, "d", "D", 1, 0644, &c[2]), ==,
                        0); /* a dir in the way */
        g_assert_cmpint(file_change_write(dirfd, dir, "e", "E", 1, 0644, &c[3]), ==, 0);
        file_changes_commit(c, G_N_ELEMENTS(c));
        g_assert_cmpint(file_change_result(c[0]), ==, 0);
        g_assert_cmpint(file_change_result(c[1]), ==, -EIO);
        g_assert_cmpint(file_change_result(c[2]), <, 0);
        g_assert_cmpint(file_change_result(c[3]), ==, 0);
        for (size_t i = 0; i < G_N_ELEMENTS(c); i++)
                file_change_free(c[i]);
        g_assert_nonnull((got = read_in(dir, "b")));
        g_assert_cmpstr(got, ==, "old");
        g_clear_pointer(&got, g_free);
        g_assert_nonnull((got = read_in(dir, "e")));
        g_assert_cmpstr(got, ==, "E");
        names = names_in(dir);
        g_assert_cmpuint(g_strv_length(names), ==, 4); /* a, b, d, e */
        remove_tree(dir);
}

/* Changes of one name in one batch keep their order: the last write wins, the earlier one gets its
 * result; a write then a removal leaves nothing; a removal then a write leaves the write. */
static void test_batch_order_of_one_name(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-fileio.XXXXXX", NULL);
        _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        FileChange *c[7] = {};
        g_autofree char *got = NULL;
        g_auto(GStrv) names = NULL;

        g_assert_cmpint(write_file_atomic_at(dirfd, "r", "old", 3, 0644), ==, 0);
        g_assert_cmpint(file_change_write(dirfd, dir, "f", "1", 1, 0644, &c[0]), ==, 0);
        g_assert_cmpint(file_change_write(dirfd, dir, "f", "2", 1, 0644, &c[1]), ==, 0);
        g_assert_cmpint(file_change_write(dirfd, dir, "f", "3", 1, 0644, &c[2]), ==, 0);
        g_assert_cmpint(file_change_write(dirfd, dir, "g", "1", 1, 0644, &c[3]), ==, 0);
        g_assert_cmpint(file_change_remove(dirfd, dir, "g", &c[4]), ==, 0);
        g_assert_cmpint(file_change_remove(dirfd, dir, "r", &c[5]), ==, 0);
        g_assert_cmpint(file_change_write(dirfd, dir, "r", "new", 3, 0644, &c[6]), ==, 0);
        file_changes_commit(c, G_N_ELEMENTS(c));
        for (size_t i = 0; i < G_N_ELEMENTS(c); i++) {
                g_assert_cmpint(file_change_result(c[i]), ==, 0);
                file_change_free(c[i]);
        }
        g_assert_nonnull((got = read_in(dir, "f")));
        g_assert_cmpstr(got, ==, "3");
        g_clear_pointer(&got, g_free);
        g_assert_null(read_in(dir, "g"));
        g_assert_nonnull((got = read_in(dir, "r")));
        g_assert_cmpstr(got, ==, "new");
        names = names_in(dir);
        g_assert_cmpuint(g_strv_length(names), ==, 2); /* f, r */
        remove_tree(dir);
}

/* A change freed without a commit leaves nothing behind: a write touched nothing yet, a prepared
 * temporary file (file_change_prepare()) is removed. */
static void test_batch_not_committed(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-fileio.XXXXXX", NULL);
        _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        FileChange *c = NULL;
        g_auto(GStrv) names = NULL, before = NULL, prepared = NULL;

        g_assert_cmpint(file_change_write(dirfd, dir, "f", "1", 1, 0644, &c), ==, 0);
        g_assert_true(is_temp_file_of(file_change_temp_name(c), "f"));
        before = names_in(dir);
        g_assert_cmpuint(g_strv_length(before), ==, 0);
        g_clear_pointer(&c, file_change_free);
        g_assert_cmpint(file_change_prepare(dirfd, dir, "f", 0644, 0, &c), ==, 0);
        prepared = names_in(dir);
        g_assert_cmpuint(g_strv_length(prepared), ==, 1);
        g_assert_cmpstr(prepared[0], ==, file_change_temp_name(c));
        file_change_free(c);
        names = names_in(dir);
        g_assert_cmpuint(g_strv_length(names), ==, 0);
        remove_tree(dir);
}

/* The open files of this process that are gone from their directory, as /proc shows them: "<path>
 * (deleted)", and "<dir>/#<inode> (deleted)" for an unnamed temporary file. */
static char **deleted_open_files(void)
{
        g_autoptr(GDir) d = g_dir_open("/proc/self/fd", 0, NULL);
        g_autoptr(GPtrArray) found = g_ptr_array_new();
        const char *n;

        g_assert_nonnull(d);
        while ((n = g_dir_read_name(d))) {
                g_autofree char *path = g_build_filename("/proc/self/fd", n, NULL);
                g_autofree char *target = g_file_read_link(path, NULL);

                if (target && g_str_has_suffix(target, " (deleted)"))
                        g_ptr_array_add(found, g_steal_pointer(&target));
        }
        g_ptr_array_add(found, NULL);
        return (char **)g_ptr_array_free(g_steal_pointer(&found), FALSE);
}

static guint deleted_open_count(void)
{
        g_auto(GStrv) found = deleted_open_files();

        return g_strv_length(found);
}

/* A committer keeps what a batch replaced or removed open until the tidy (its blocks are freed then,
 * not in the rename), and makes a temporary file ahead for the directory written to, which the next
 * replacement there is written into (the file then has the spare's inode). */
static void test_committer(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-fileio.XXXXXX", NULL);
        g_autofree char *old_path = g_build_filename(dir, "f", NULL),
                        *gone_path = g_build_filename(dir, "r", NULL);
        g_autofree char *held_f = g_strconcat(old_path, " (deleted)", NULL);
        g_autofree char *held_r = g_strconcat(gone_path, " (deleted)", NULL);
        g_autofree char *spare_prefix = g_strconcat(dir, "/#", NULL);
        _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_autoptr(FileCommitter) k = file_committer_new(NULL);
        g_auto(GStrv) before = deleted_open_files(), held = NULL, tidied = NULL, names = NULL;
        g_autofree char *got = NULL;
        FileChange *c[2] = {};
        guint64 spare_ino = 0;
        struct stat st;

        g_assert_cmpuint(g_strv_length(before), ==, 0);
        g_assert_cmpint(write_file_atomic_at(dirfd, "f", "old", 3, 0644), ==, 0);
        g_assert_cmpint(write_file_atomic_at(dirfd, "r", "x", 1, 0644), ==, 0);
        g_assert_cmpint(file_change_write(dirfd, dir, "f", "new", 3, 0644, &c[0]), ==, 0);
        g_assert_cmpint(file_change_remove(dirfd, dir, "r", &c[1]), ==, 0);
        file_committer_commit(k, c, 2);
        g_assert_cmpint(file_change_result(c[0]), ==, 0);
        g_assert_cmpint(file_change_result(c[1]), ==, 0);
        file_change_free(c[0]);
        file_change_free(c[1]);
        held = deleted_open_files();
        g_assert_cmpuint(g_strv_length(held), ==, 2);
        g_assert_true(g_strv_contains((const char *const *)held, held_f));
        g_assert_true(g_strv_contains((const char *const *)held, held_r));

        file_committer_tidy(k, false);
        tidied = deleted_open_files();
        g_assert_cmpuint(g_strv_length(tidied), ==, 1); /* the spare, nothing held */
        g_assert_true(g_str_has_prefix(tidied[0], spare_prefix));
        spare_ino = g_ascii_strtoull(tidied[0] + strlen(spare_prefix), NULL, 10);
        g_assert_cmpuint(spare_ino, >, 0);
        names = names_in(dir);
        g_assert_cmpuint(g_strv_length(names), ==, 1); /* f: no spare has a name */

        g_assert_cmpint(file_change_write(dirfd, dir, "g", "spare", 5, 0644, &c[0]), ==, 0);
        file_committer_commit(k, c, 1);
        g_assert_cmpint(file_change_result(c[0]), ==, 0);
        file_change_free(c[0]);
        g_assert_nonnull((got = read_in(dir, "g")));
        g_assert_cmpstr(got, ==, "spare");
        g_clear_pointer(&got, g_free);
        g_assert_nonnull((got = read_in(dir, "f")));
        g_assert_cmpstr(got, ==, "new");
        g_assert_cmpint(fstatat(dirfd, "g", &st, 0), ==, 0);
        g_assert_cmpuint(st.st_ino, ==, spare_ino);
        g_assert_cmpint(st.st_mode & 0777, ==, 0644 & ~umask_now());
        g_strfreev(names);
        names = names_in(dir);
        g_assert_cmpuint(g_strv_length(names), ==, 2); /* f, g: no temporary file */
        g_clear_pointer(&k, file_committer_free);
        g_assert_cmpuint(deleted_open_count(), ==, 0);
        remove_tree(dir);
}

/* How many spares a committer keeps: as many as a batch asked for in a directory, at most 16 there and
 * 32 in all; none for a directory no batch wrote to in 8 tidies. */
static void test_committer_spare_limits(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-fileio.XXXXXX", NULL);
        g_autoptr(FileCommitter) k = file_committer_new(NULL);
        const char *subs[] = {"a", "b", "c"};

        for (size_t d = 0; d < G_N_ELEMENTS(subs); d++) {
                g_autofree char *sub = g_build_filename(dir, subs[d], NULL);
                _cleanup_close_ int subfd = -1;
                FileChange *c[20] = {};

                g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
                subfd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                for (size_t i = 0; i < G_N_ELEMENTS(c); i++) {
                        g_autofree char *name = g_strdup_printf("f%zu", i);

                        g_assert_cmpint(file_change_write(subfd, sub, name, "x", 1, 0644, &c[i]), ==, 0);
                }
                file_committer_commit(k, c, G_N_ELEMENTS(c));
                for (size_t i = 0; i < G_N_ELEMENTS(c); i++) {
                        g_assert_cmpint(file_change_result(c[i]), ==, 0);
                        file_change_free(c[i]);
                }
                file_committer_tidy(k, false);
                g_assert_cmpuint(deleted_open_count(), ==, MIN(16 * (d + 1), 32));
        }
        /* a's and b's spares (c got none: 32 in all), then a's 8th tidy without a write, then b's */
        for (int i = 0; i < 5; i++)
                file_committer_tidy(k, false);
        g_assert_cmpuint(deleted_open_count(), ==, 32);
        file_committer_tidy(k, false);
        g_assert_cmpuint(deleted_open_count(), ==, 16);
        file_committer_tidy(k, false);
        g_assert_cmpuint(deleted_open_count(), ==, 0);
        remove_tree(dir);
}

/* A spare that cannot be linked where the change goes (another file system under the same directory
 * key: EXDEV) is not the change's failure: it is written into a file made there, and no spare is made
 * for that key any more. */
static void test_committer_spare_refused(void)
{
        g_autofree char *shm = g_dir_make_tmp("test-fileio.XXXXXX", NULL);
        g_autofree char *other = NULL;
        _cleanup_close_ int shmfd = open(shm, O_RDONLY | O_DIRECTORY | O_CLOEXEC), otherfd = -1;
        g_autoptr(FileCommitter) k = file_committer_new(NULL);
        g_autofree char *got = NULL;
        struct stat a, b;
        FileChange *c = NULL;

        /* two directories on two file systems: the test's tmp, and /dev/shm (tmpfs) */
        g_assert_cmpint(stat(shm, &a), ==, 0);
        other = g_strdup("/dev/shm/test-fileio.XXXXXX");
        g_assert_nonnull(g_mkdtemp(other));
        g_assert_cmpint(stat(other, &b), ==, 0);
        if (a.st_dev == b.st_dev) {
                g_test_skip("the temporary directory is on /dev/shm's file system");
                remove_tree(shm);
                remove_tree(other);
                return;
        }
        otherfd = open(other, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(file_change_write(shmfd, "key", "a", "1", 1, 0644, &c), ==, 0);
        file_committer_commit(k, &c, 1);
        g_assert_cmpint(file_change_result(c), ==, 0);
        g_clear_pointer(&c, file_change_free);
        file_committer_tidy(k, false); /* a spare on shm's file system, under "key" */
        g_assert_cmpint(file_change_write(otherfd, "key", "second", "2", 1, 0644, &c), ==, 0);
        file_committer_commit(k, &c, 1);
        g_assert_cmpint(file_change_result(c), ==, 0);
        g_clear_pointer(&c, file_change_free);
        g_assert_nonnull((got = read_in(other, "second")));
        g_assert_cmpstr(got, ==, "2");
        file_committer_tidy(k, false); /* no spare made for "key" any more */
        g_assert_cmpuint(deleted_open_count(), ==, 0);
        g_clear_pointer(&k, file_committer_free);
        remove_tree(shm);
        remove_tree(other);
}

/* A temporary file made ahead (file_change_prepare()) is invisible under its dot name until it is
 * filled and renamed without a sync; the old contents stay until then. */
static void test_prepared_ahead(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-fileio.XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "f", NULL);
        g_autofree char *got = NULL;
        _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_autoptr(FileChange) c = NULL;
        g_auto(GStrv) names = NULL;
        gsize len;

        g_assert_cmpint(write_file_atomic_full_at(dirfd, "f", "old", 3, 0644, WRITE_ATOMIC_NO_SYNC), ==, 0);
        g_assert_cmpint(file_change_prepare(dirfd, ".", "f", 0644, 4096, &c), ==, 0);
        names = names_in(dir);
        g_assert_cmpuint(g_strv_length(names), ==, 2);
        g_assert_true(is_temp_file_of(names[0], "f") || is_temp_file_of(names[1], "f"));
        g_assert_cmpint(file_change_fill(c, "newer", 5), ==, 0);
        g_assert_true(g_file_get_contents(path, &got, &len, NULL));
        g_assert_cmpmem(got, len, "old", 3);
        g_clear_pointer(&got, g_free);
        g_assert_cmpint(file_change_commit_no_sync(c), ==, 0);
        g_assert_cmpint(file_change_result(c), ==, 0);
        g_assert_true(g_file_get_contents(path, &got, &len, NULL));
        g_assert_cmpmem(got, len, "newer", 5);
        g_clear_pointer(&c, file_change_free);
        g_strfreev(names);
        names = names_in(dir);
        g_assert_cmpuint(g_strv_length(names), ==, 1);
        remove_tree(dir);
}

int main(int argc, char **argv)
{
        /* the fsync of "b" fails (test_batch_failures_are_their_own); set before the first fsync */
        g_setenv("VGPUD_TEST_FAIL_AT", "fsync-b:EIO", TRUE);
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/fileio/write-replace", test_write_replace);
        g_test_add_func("/fileio/write-empty", test_write_empty);
        g_test_add_func("/fileio/failure-keeps-old", test_failure_keeps_old);
        g_test_add_func("/fileio/batch/several", test_batch_several);
        g_test_add_func("/fileio/batch/failures-are-their-own", test_batch_failures_are_their_own);
        g_test_add_func("/fileio/batch/order-of-one-name", test_batch_order_of_one_name);
        g_test_add_func("/fileio/batch/not-committed", test_batch_not_committed);
        g_test_add_func("/fileio/prepared-ahead", test_prepared_ahead);
        g_test_add_func("/fileio/committer", test_committer);
        g_test_add_func("/fileio/committer/spare-refused", test_committer_spare_refused);
        g_test_add_func("/fileio/committer/spare-limits", test_committer_spare_limits);
        return g_test_run();
}
