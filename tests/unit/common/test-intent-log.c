/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/intent-log.c: records appended, replayed at the next open, retired, cancelled; torn and stale
 * records; and a committer's batches through a log (common/fileio.c). */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "fileio.h"
#include "intent-log.h"

typedef struct Dir {
        char *top; /* a temporary directory */
        char *log; /* top/intent-log */
        char *a;   /* top/a, made */
        int a_fd;
} Dir;

static void dir_setup(Dir *d)
{
        d->top = g_dir_make_tmp("test-intent-log.XXXXXX", NULL);
        g_assert_nonnull(d->top);
        d->log = g_build_filename(d->top, "intent-log", NULL);
        d->a = g_build_filename(d->top, "a", NULL);
        g_assert_cmpint(g_mkdir(d->a, 0755), ==, 0);
        d->a_fd = open(d->a, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(d->a_fd, >=, 0);
}

static void dir_teardown(Dir *d)
{
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", d->top);

        close(d->a_fd);
        g_assert_cmpint(system(cmd), ==, 0);
        g_free(d->top);
        g_free(d->log);
        g_free(d->a);
}

/* The contents of dir/name, NULL when it is not there. */
static char *read_in(const char *dir, const char *name)
{
        g_autofree char *path = g_build_filename(dir, name, NULL);
        char *got = NULL;

        return g_file_get_contents(path, &got, NULL, NULL) ? got : NULL;
}

static void put(const char *dir, const char *name, const char *text)
{
        g_autofree char *path = g_build_filename(dir, name, NULL);

        g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static bool exists(const char *dir, const char *name)
{
        g_autofree char *path = g_build_filename(dir, name, NULL);

        return access(path, F_OK) == 0;
}

static void unlink_in(const char *dir, const char *name)
{
        g_autofree char *path = g_build_filename(dir, name, NULL);

        g_assert_cmpint(g_unlink(path), ==, 0);
}

static IntentRecord wr(const char *dir, const char *name, const char *text)
{
        return (IntentRecord){.kind = INTENT_WRITE,
                              .dir = dir,
                              .name = name,
                              .mode = 0640,
                              .data = text,
                              .len = strlen(text)};
}

static IntentRecord rm(const char *dir, const char *name)
{
        return (IntentRecord){.kind = INTENT_REMOVE, .dir = dir, .name = name};
}

/* Replay the log at path as a start does, say how many records it put in place, and check that it
 * can be opened for appending then. */
static unsigned reopen(const char *path)
{
        g_autoptr(IntentLog) l = NULL;
        unsigned n = 99;

        g_assert_cmpint(intent_log_replay(path, &n), ==, 0);
        g_assert_cmpint(intent_log_open(path, &l), ==, 0);
        return n;
}

/* A copy of the log as a power cut would leave it, under another name. */
static char *copy_of(const char *path)
{
        g_autofree char *data = NULL;
        gsize len = 0;
        char *copy = g_strconcat(path, ".copy", NULL);

        g_assert_true(g_file_get_contents(path, &data, &len, NULL));
        g_assert_true(g_file_set_contents(copy, data, (gssize)len, NULL));
        return copy;
}

static void test_new(void)
{
        Dir d = {};
        g_autoptr(IntentLog) l = NULL;
        struct stat st;
        unsigned n = 99;

        dir_setup(&d);
        g_assert_cmpint(intent_log_replay(d.log, &n), ==, 0); /* absent: nothing */
        g_assert_cmpuint(n, ==, 0);
        g_assert_cmpint(access(d.log, F_OK), <, 0);
        g_assert_cmpint(intent_log_open(d.log, &l), ==, 0);
        g_assert_false(intent_log_pending(l));
        g_assert_false(intent_log_broken(l));
        g_assert_cmpint(stat(d.log, &st), ==, 0);
        g_assert_cmpint(st.st_size, ==, INTENT_LOG_SIZE); /* every block written ahead */
        g_assert_cmpint(st.st_mode & 0777, ==, 0600);
        g_clear_pointer(&l, intent_log_free);
        g_assert_cmpuint(reopen(d.log), ==, 0);
        dir_teardown(&d);
}

/* What was appended and not retired is put in place by the next replay, in order, with its mode, once. */
static void test_replay(void)
{
        Dir d = {};
        g_autoptr(IntentLog) l = NULL;
        g_autofree char *b = NULL, *got = NULL;
        IntentRecord batch1[2], batch2[2];
        uint64_t first = 0;
        struct stat st;

        dir_setup(&d);
        b = g_build_filename(d.top, "b", NULL);
        put(d.a, "y", "old y");
        g_assert_cmpint(intent_log_open(d.log, &l), ==, 0);
        batch1[0] = wr(d.a, "x", "one");
        batch1[1] = rm(d.a, "y");
        batch2[0] = wr(b, "z", "in a directory that is not there"); /* made at the replay */
        batch2[1] = wr(d.a, "x", "two");                            /* after "one" */
        g_assert_cmpint(intent_log_append(l, batch1, 2, &first), ==, 0);
        g_assert_cmpuint(first, ==, 1);
        g_assert_cmpint(intent_log_append(l, batch2, 2, &first), ==, 0);
        g_assert_cmpuint(first, ==, 3);
        g_assert_true(intent_log_pending(l));
        g_clear_pointer(&l, intent_log_free); /* as a power cut: nothing was put in place */
        g_assert_false(exists(d.a, "x"));

        g_assert_cmpuint(reopen(d.log), ==, 4);
        g_assert_nonnull((got = read_in(d.a, "x")));
        g_assert_cmpstr(got, ==, "two");
        g_clear_pointer(&got, g_free);
        g_assert_false(exists(d.a, "y"));
        g_assert_nonnull((got = read_in(b, "z")));
        g_assert_cmpstr(got, ==, "in a directory that is not there");
        g_assert_cmpint(stat(b, &st), ==, 0);
        g_assert_true(S_ISDIR(st.st_mode));
        {
                g_autofree char *x = g_build_filename(d.a, "x", NULL);
                mode_t mask = umask(0);

                umask(mask);
                g_assert_cmpint(stat(x, &st), ==, 0);
                g_assert_cmpint(st.st_mode & 0777, ==, 0640 & ~mask);
        }
        /* retired: another tool's change since is not undone by the next start */
        put(d.a, "x", "another tool's");
        g_assert_cmpuint(reopen(d.log), ==, 0);
        g_clear_pointer(&got, g_free);
        g_assert_nonnull((got = read_in(d.a, "x")));
        g_assert_cmpstr(got, ==, "another tool's");
        dir_teardown(&d);
}

static void test_retired_not_replayed(void)
{
        Dir d = {};
        g_autoptr(IntentLog) l = NULL;
        IntentRecord rec;

        dir_setup(&d);
        rec = wr(d.a, "x", "one");
        g_assert_cmpint(intent_log_open(d.log, &l), ==, 0);
        g_assert_cmpint(intent_log_retire(l), ==, 0); /* nothing pending: nothing to do */
        g_assert_cmpint(intent_log_append(l, &rec, 1, NULL), ==, 0);
        put(d.a, "x", "one"); /* in place, as the committer puts it */
        g_assert_cmpint(intent_log_retire(l), ==, 0);
        g_assert_false(intent_log_pending(l));
        g_clear_pointer(&l, intent_log_free);
        unlink_in(d.a, "x"); /* another tool's undefine */
        g_assert_cmpuint(reopen(d.log), ==, 0);
        g_assert_false(exists(d.a, "x"));
        dir_teardown(&d);
}

/* The byte at offset off of path turned over (a torn write). */
static void flip(const char *path, off_t off)
{
        _cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
        unsigned char c;

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(pread(fd, &c, 1, off), ==, 1);
        c ^= 0xff;
        g_assert_cmpint(pwrite(fd, &c, 1, off), ==, 1);
}

/* A record that does not check ends the replay: neither it nor anything after it is put in place. */
static void test_torn(void)
{
        Dir d = {};
        g_autoptr(IntentLog) l = NULL;
        IntentRecord one, two, three;

        dir_setup(&d);
        one = wr(d.a, "one", "1");
        two = wr(d.a, "two", "2");
        three = wr(d.a, "three", "3");
        g_assert_cmpint(intent_log_open(d.log, &l), ==, 0);
        g_assert_cmpint(intent_log_append(l, &one, 1, NULL), ==, 0);
        g_assert_cmpint(intent_log_append(l, &two, 1, NULL), ==, 0);
        g_assert_cmpint(intent_log_append(l, &three, 1, NULL), ==, 0);
        g_clear_pointer(&l, intent_log_free);
        /* the second record: 4096 + the first's size; a byte of its data (its last bytes) */
        {
                size_t first = (48 + 24 + strlen(d.a) + 3 + 1 + 7) & ~(size_t)7;
                size_t second_data = 4096 + first + 48 + 24 + strlen(d.a) + 3;

                flip(d.log, (off_t)second_data);
        }
        g_assert_cmpuint(reopen(d.log), ==, 1);
        g_assert_true(exists(d.a, "one"));
        g_assert_false(exists(d.a, "two"));
        g_assert_false(exists(d.a, "three"));
        dir_teardown(&d);
}

/* After a retire the next records are written from the start again, over the retired ones: what is
 * left of those after the new ones (numbers lower than theirs) never continues the chain. */
static void test_stale_after_retire(void)
{
        Dir d = {};
        g_autoptr(IntentLog) l = NULL;
        IntentRecord old[3], now;

        dir_setup(&d);
        old[0] = wr(d.a, "first-of-an-older-batch-with-a-long-name", "0");
        old[1] = wr(d.a, "s1", "stale");
        old[2] = wr(d.a, "s2", "stale");
        now = wr(d.a, "n", "new");
        g_assert_cmpint(intent_log_open(d.log, &l), ==, 0);
        g_assert_cmpint(intent_log_append(l, old, 3, NULL), ==, 0);
        g_assert_cmpint(intent_log_retire(l), ==, 0); /* (as if put in place, then undone by someone) */
        g_assert_cmpint(intent_log_append(l, &now, 1, NULL), ==, 0);
        g_clear_pointer(&l, intent_log_free);
        g_assert_cmpuint(reopen(d.log), ==, 1);
        g_assert_true(exists(d.a, "n"));
        g_assert_false(exists(d.a, "s1"));
        g_assert_false(exists(d.a, "s2"));
        dir_teardown(&d);
}

static void test_cancel(void)
{
        Dir d = {};
        g_autoptr(IntentLog) l = NULL;
        IntentRecord recs[2];
        uint64_t first = 0;

        dir_setup(&d);
        recs[0] = wr(d.a, "kept", "k");
        recs[1] = wr(d.a, "failed", "f"); /* its rename failed: the request was told so */
        g_assert_cmpint(intent_log_open(d.log, &l), ==, 0);
        g_assert_cmpint(intent_log_append(l, recs, 2, &first), ==, 0);
        g_assert_cmpint(intent_log_cancel(l, first + 1), ==, 0);
        g_clear_pointer(&l, intent_log_free);
        g_assert_cmpuint(reopen(d.log), ==, 1);
        g_assert_true(exists(d.a, "kept"));
        g_assert_false(exists(d.a, "failed"));
        dir_teardown(&d);
}

/* A header torn by a cut during a retire: every record was in place, nothing is replayed, and the
 * numbers go on after the ones left (so that they never continue a later chain). */
static void test_torn_header(void)
{
        Dir d = {};
        g_autoptr(IntentLog) l = NULL;
        IntentRecord x, y;

        dir_setup(&d);
        x = wr(d.a, "x", "x");
        y = wr(d.a, "y", "y");
        g_assert_cmpint(intent_log_open(d.log, &l), ==, 0);
        g_assert_cmpint(intent_log_append(l, &x, 1, NULL), ==, 0);
        g_assert_cmpint(intent_log_retire(l), ==, 0);
        g_clear_pointer(&l, intent_log_free);
        flip(d.log, 40); /* in the header's digest */
        g_assert_cmpuint(reopen(d.log), ==, 0);
        g_assert_false(exists(d.a, "x"));
        g_assert_cmpint(intent_log_open(d.log, &l), ==, 0);
        g_assert_cmpint(intent_log_append(l, &y, 1, NULL), ==, 0);
        g_clear_pointer(&l, intent_log_free);
        g_assert_cmpuint(reopen(d.log), ==, 1);
        g_assert_true(exists(d.a, "y"));
        g_assert_false(exists(d.a, "x"));
        dir_teardown(&d);
}

/* What a log cannot hold is refused before anything is written. */
static void test_refused(void)
{
        Dir d = {};
        g_autoptr(IntentLog) l = NULL;
        g_autofree char *big = g_malloc0(INTENT_LOG_SIZE);
        IntentRecord bad[] = {
                wr("relative/dir", "x", "1"), wr("/tmp/../etc", "x", "1"), wr("/tmp//x", "x", "1"),
                wr("/tmp/", "x", "1"),        wr("/tmp", "a/b", "1"),      wr("/tmp", "..", "1"),
                wr("/tmp", "", "1"),
        };
        IntentRecord huge = {
                .kind = INTENT_WRITE, .dir = "/tmp", .name = "x", .data = big, .len = INTENT_LOG_SIZE - 64};

        dir_setup(&d);
        g_assert_cmpint(intent_log_open(d.log, &l), ==, 0);
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
                g_assert_cmpint(intent_log_append(l, &bad[i], 1, NULL), ==, -EINVAL);
        g_assert_cmpint(intent_log_append(l, &huge, 1, NULL), ==, -ENOSPC);
        g_assert_false(intent_log_pending(l));
        g_assert_false(intent_log_broken(l));
        g_clear_pointer(&l, intent_log_free);
        g_assert_cmpuint(reopen(d.log), ==, 0);
        dir_teardown(&d);
}

/* A record that cannot be put in place fails the open and stays for the next one. */
static void test_replay_failure_keeps_the_log(void)
{
        Dir d = {};
        g_autoptr(IntentLog) l = NULL;
        g_autofree char *deep = NULL, *up = NULL;
        IntentRecord rec;
        unsigned n = 0;

        dir_setup(&d);
        up = g_build_filename(d.top, "up", NULL);
        deep = g_build_filename(up, "down", NULL);
        rec = wr(deep, "x", "x"); /* only the last directory is made */
        g_assert_cmpint(intent_log_open(d.log, &l), ==, 0);
        g_assert_cmpint(intent_log_append(l, &rec, 1, NULL), ==, 0);
        g_clear_pointer(&l, intent_log_free);
        g_assert_cmpint(intent_log_replay(d.log, &n), ==, -ENOENT);
        g_assert_cmpint(intent_log_open(d.log, &l), ==, -EBUSY); /* not over what waits for a replay */
        g_assert_null(l);
        g_assert_cmpint(g_mkdir(up, 0755), ==, 0);
        g_assert_cmpuint(reopen(d.log), ==, 1);
        g_assert_true(exists(deep, "x"));
        dir_teardown(&d);
}

/* A record whose digest matches (as only this code or a forger with root writes one) but whose lengths
 * do not fit in it ends the replay like a torn one: the bytes' length 2^64 - 1 would wrap a sum. */
static void test_forged_lengths(void)
{
        Dir d = {};
        g_autoptr(IntentLog) l = NULL;
        g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
        uint8_t rec[88] = {};
        uint32_t magic = 0x4c494756u, len = sizeof(rec), kind = INTENT_WRITE, mode = 0644, dir = 2, name = 1;
        uint64_t seq = 1, data = UINT64_MAX;
        gsize digest = 32;
        _cleanup_close_ int fd = -1;

        dir_setup(&d);
        g_assert_cmpint(intent_log_open(d.log, &l), ==, 0); /* a new log: the next record is number 1 */
        g_clear_pointer(&l, intent_log_free);
        memcpy(rec, &magic, 4);
        memcpy(rec + 4, &len, 4);
        memcpy(rec + 8, &seq, 8);
        memcpy(rec + 48, &kind, 4);
        memcpy(rec + 52, &mode, 4);
        memcpy(rec + 56, &dir, 4);
        memcpy(rec + 60, &name, 4);
        memcpy(rec + 64, &data, 8);
        memcpy(rec + 72, "/tx", 3);
        g_checksum_update(sum, rec + 8, 8);
        g_checksum_update(sum, rec + 48, sizeof(rec) - 48);
        g_checksum_get_digest(sum, rec + 16, &digest);
        fd = open(d.log, O_WRONLY | O_CLOEXEC);
        g_assert_cmpint(pwrite(fd, rec, sizeof(rec), 4096), ==, sizeof(rec));
        g_assert_cmpuint(reopen(d.log), ==, 0);
        dir_teardown(&d);
}

/* A committer with a log: the batch's records are durable and its files in place when it is
 * answered; its syncs in place and the retire come at the tidy. A copy of the log taken before the
 * tidy (a power cut then) puts the batch back in place. */
static void test_committer_logged(void)
{
        Dir d = {};
        IntentLog *l = NULL;
        g_autoptr(FileCommitter) k = NULL;
        g_autofree char *copy = NULL, *got = NULL;
        FileChange *c[3] = {};

        dir_setup(&d);
        put(d.a, "r", "to remove");
        g_assert_cmpint(intent_log_open(d.log, &l), ==, 0);
        k = file_committer_new(l);
        g_assert_cmpint(file_change_write(d.a_fd, d.a, "f", "first", 5, 0644, &c[0]), ==, 0);
        g_assert_cmpint(file_change_write(d.a_fd, d.a, "f", "second", 6, 0644, &c[1]), ==, 0);
        g_assert_cmpint(file_change_remove(d.a_fd, d.a, "r", &c[2]), ==, 0);
        file_committer_commit(k, c, 3);
        for (size_t i = 0; i < G_N_ELEMENTS(c); i++) {
                g_assert_cmpint(file_change_result(c[i]), ==, 0);
                file_change_free(c[i]);
        }
        g_assert_nonnull((got = read_in(d.a, "f")));
        g_assert_cmpstr(got, ==, "second");
        g_assert_false(exists(d.a, "r"));

        copy = copy_of(d.log);
        unlink_in(d.a, "f"); /* the cut took the rename */
        put(d.a, "r", "back");
        g_assert_cmpuint(reopen(copy), ==, 2); /* the superseded "first" was never recorded */
        g_clear_pointer(&got, g_free);
        g_assert_nonnull((got = read_in(d.a, "f")));
        g_assert_cmpstr(got, ==, "second");
        g_assert_false(exists(d.a, "r"));
        g_free(copy);

        file_committer_tidy(k, false); /* synced in place, retired */
        copy = copy_of(d.log);
        unlink_in(d.a, "f");
        g_assert_cmpuint(reopen(copy), ==, 0);
        g_assert_false(exists(d.a, "f"));
        dir_teardown(&d);
}

/* A batch the log cannot take is made durable in place, as without a log: bytes written ahead
 * (file_change_prepare()), or a relative directory. */
static void test_committer_not_for_the_log(void)
{
        Dir d = {};
        IntentLog *l = NULL;
        g_autoptr(FileCommitter) k = NULL;
        g_autofree char *copy = NULL, *got = NULL;
        FileChange *c = NULL;

        dir_setup(&d);
        g_assert_cmpint(intent_log_open(d.log, &l), ==, 0);
        k = file_committer_new(l);
        g_assert_cmpint(file_change_prepare(d.a_fd, d.a, "p", 0644, 0, &c), ==, 0);
        g_assert_cmpint(file_change_fill(c, "prepared", 8), ==, 0);
        file_committer_commit(k, &c, 1);
        g_assert_cmpint(file_change_result(c), ==, 0);
        g_clear_pointer(&c, file_change_free);
        g_assert_cmpint(file_change_write(d.a_fd, "a", "q", "relative", 8, 0644, &c), ==, 0);
        file_committer_commit(k, &c, 1);
        g_assert_cmpint(file_change_result(c), ==, 0);
        g_clear_pointer(&c, file_change_free);
        copy = copy_of(d.log);
        g_assert_cmpuint(reopen(copy), ==, 0); /* nothing recorded: both durable already */
        g_assert_nonnull((got = read_in(d.a, "p")));
        g_assert_cmpstr(got, ==, "prepared");
        g_clear_pointer(&got, g_free);
        g_assert_nonnull((got = read_in(d.a, "q")));
        g_assert_cmpstr(got, ==, "relative");
        dir_teardown(&d);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/intent-log/new", test_new);
        g_test_add_func("/intent-log/replay", test_replay);
        g_test_add_func("/intent-log/retired-not-replayed", test_retired_not_replayed);
        g_test_add_func("/intent-log/torn", test_torn);
        g_test_add_func("/intent-log/stale-after-retire", test_stale_after_retire);
        g_test_add_func("/intent-log/cancel", test_cancel);
        g_test_add_func("/intent-log/torn-header", test_torn_header);
        g_test_add_func("/intent-log/refused", test_refused);
        g_test_add_func("/intent-log/forged-lengths", test_forged_lengths);
        g_test_add_func("/intent-log/replay-failure-keeps-the-log", test_replay_failure_keeps_the_log);
        g_test_add_func("/intent-log/committer", test_committer_logged);
        g_test_add_func("/intent-log/committer/not-for-the-log", test_committer_not_for_the_log);
        return g_test_run();
}
