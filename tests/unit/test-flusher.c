/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of daemon/flusher.c: changes submitted together are committed by the worker thread and
 * answered from a private sd-event loop, each with its own result, never from inside the submission. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "flusher.h"

typedef struct Result {
        int r;
        int calls;
        int *answered; /* shared count */
} Result;

static bool in_submit;

static void on_done(int r, void *userdata)
{
        Result *res = userdata;

        g_assert_false(in_submit); /* never from inside flusher_submit() */
        res->r = r;
        res->calls++;
        (*res->answered)++;
}

static void submit_write(Flusher *f, int dirfd, const char *dir, const char *name, const char *data,
                         Result *res)
{
        FileChange *c = NULL;

        g_assert_cmpint(file_change_write(dirfd, dir, name, data, strlen(data), 0644, &c), ==, 0);
        in_submit = true;
        flusher_submit(f, c, on_done, res);
        in_submit = false;
}

static void run_until(sd_event *e, const int *answered, int n)
{
        for (int i = 0; i < 1000 && *answered < n; i++)
                g_assert_cmpint(sd_event_run(e, 5 * 1000 * 1000), >=, 0);
        g_assert_cmpint(*answered, ==, n);
}

static char *contents(const char *dir, const char *name)
{
        g_autofree char *path = g_build_filename(dir, name, NULL);
        char *got = NULL;

        g_assert_true(g_file_get_contents(path, &got, NULL, NULL));
        return got;
}

static void remove_tree(const char *dir)
{
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *name;

        while (d && (name = g_dir_read_name(d))) {
                g_autofree char *p = g_build_filename(dir, name, NULL);
                if (g_file_test(p, G_FILE_TEST_IS_DIR))
                        remove_tree(p);
                else
                        g_assert_cmpint(g_unlink(p), ==, 0);
        }
        g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* Several files, three writes of one of them, and one that cannot be renamed (a directory in the
 * way): each answered once, from the loop; the last write of "f" wins; only the blocked one fails. */
static void test_batches(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-flusher.XXXXXX", NULL);
        g_autofree char *blocked = g_build_filename(dir, "blocked", NULL);
        g_autofree char *inside = g_build_filename(dir, "blocked", "x", NULL);
        _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        g_autoptr(Flusher) f = NULL;
        Result res[8] = {};
        int answered = 0;
        g_autofree char *got = NULL;

        g_assert_cmpint(g_mkdir(blocked, 0755), ==, 0);
        g_assert_true(g_file_set_contents(inside, "keep", -1, NULL));
        for (size_t i = 0; i < G_N_ELEMENTS(res); i++)
                res[i] = (Result){.r = 1, .answered = &answered};
        g_assert_cmpint(sd_event_new(&e), >=, 0);
        g_assert_cmpint(flusher_new(e, NULL, &f), ==, 0);

        submit_write(f, dirfd, dir, "a", "A", &res[0]);
        submit_write(f, dirfd, dir, "f", "1", &res[1]);
        submit_write(f, dirfd, dir, "b", "B", &res[2]);
        submit_write(f, dirfd, dir, "f", "2", &res[3]);
        submit_write(f, dirfd, dir, "blocked", "no", &res[4]);
        submit_write(f, dirfd, dir, "f", "3", &res[5]);
        submit_write(f, dirfd, dir, "c", "C", &res[6]);
        g_assert_cmpuint(flusher_pending(f), ==, 7);
        run_until(e, &answered, 7);
        g_assert_cmpuint(flusher_pending(f), ==, 0);
        for (size_t i = 0; i < 7; i++) {
                g_assert_cmpint(res[i].calls, ==, 1);
                if (i == 4)
                        g_assert_cmpint(res[i].r, <, 0);
                else
                        g_assert_cmpint(res[i].r, ==, 0);
        }
        got = contents(dir, "f");
        g_assert_cmpstr(got, ==, "3");
        g_clear_pointer(&got, g_free);
        got = contents(dir, "c");
        g_assert_cmpstr(got, ==, "C");

        /* a later submission after the loop went idle is a batch of its own */
        submit_write(f, dirfd, dir, "f", "4", &res[7]);
        run_until(e, &answered, 8);
        g_assert_cmpint(res[7].r, ==, 0);
        g_clear_pointer(&got, g_free);
        got = contents(dir, "f");
        g_assert_cmpstr(got, ==, "4");
        remove_tree(dir);
}

/* Freed with changes pending: they are committed (durability is never dropped), none is answered. */
static void test_free_commits(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-flusher.XXXXXX", NULL);
        _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Flusher *f = NULL;
        Result res = {.answered = NULL};
        int answered = 0;
        g_autofree char *got = NULL;

        res.answered = &answered;
        g_assert_cmpint(sd_event_new(&e), >=, 0);
        g_assert_cmpint(flusher_new(e, NULL, &f), ==, 0);
        submit_write(f, dirfd, dir, "late", "L", &res);
        flusher_free(f);
        g_assert_cmpint(answered, ==, 0);
        got = contents(dir, "late");
        g_assert_cmpstr(got, ==, "L");
        remove_tree(dir);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/flusher/batches", test_batches);
        g_test_add_func("/flusher/free-commits", test_free_commits);
        return g_test_run();
}
