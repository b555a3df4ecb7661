/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of daemon/sysfs-writer.c: writes made by workers and answered from a private sd-event loop,
 * never from inside the submission; a write that blocks (a FIFO nobody reads yet, as the kernel's remove
 * of a device a VM holds) holds up neither the loop nor the other writes, bounds the workers, and does
 * not hold up freeing the writer. */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "sysfs-writer.h"

typedef struct Result {
        int r;
        int calls;
        int order;     /* the answer's rank among all answers */
        int *answered; /* shared count */
} Result;

static bool in_submit;

static void on_done(int r, void *userdata)
{
        Result *res = userdata;

        g_assert_false(in_submit); /* never from inside sysfs_writer_submit() */
        res->r = r;
        res->calls++;
        res->order = ++(*res->answered);
}

static void submit(SysfsWriter *w, const char *dir, const char *name, const char *value, Result *res)
{
        g_autofree char *path = g_build_filename(dir, name, NULL);

        in_submit = true;
        sysfs_writer_submit(w, path, value, on_done, res);
        in_submit = false;
}

/* Run the loop until n answers came (bounded: 1,000 iterations of at most 5 s). */
static void run_until(sd_event *e, const int *answered, int n)
{
        for (int i = 0; i < 1000 && *answered < n; i++)
                g_assert_cmpint(sd_event_run(e, 5 * 1000 * 1000), >=, 0);
        g_assert_cmpint(*answered, ==, n);
}

/* Run the loop for about ms milliseconds, whatever comes. */
static void run_for(sd_event *e, int ms)
{
        int64_t end = g_get_monotonic_time() + ms * 1000;

        while (g_get_monotonic_time() < end)
                g_assert_cmpint(sd_event_run(e, 10 * 1000), >=, 0);
}

static char *contents(const char *dir, const char *name)
{
        g_autofree char *path = g_build_filename(dir, name, NULL);
        char *got = NULL;

        g_assert_true(g_file_get_contents(path, &got, NULL, NULL));
        return got;
}

/* An empty attribute file in dir, as sysfs has it before the write (a write never creates one). */
static char *make_attr(const char *dir, const char *name)
{
        char *path = g_build_filename(dir, name, NULL);

        g_assert_true(g_file_set_contents(path, "", 0, NULL));
        return path;
}

/* A FIFO in dir: a write to it blocks in open(2) until someone opens it for reading. */
static char *make_fifo(const char *dir, const char *name)
{
        char *path = g_build_filename(dir, name, NULL);

        g_assert_cmpint(mkfifo(path, 0600), ==, 0);
        return path;
}

/* Open the FIFO for reading (the blocked write goes on) and read what was written, at most 5 s. */
static char *drain_fifo(const char *path, sd_event *e)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        char buf[64] = {};
        ssize_t n = -1;

        g_assert_cmpint(fd, >=, 0);
        for (int i = 0; i < 500 && n <= 0; i++) {
                n = read(fd, buf, sizeof(buf) - 1);
                if (n <= 0)
                        e ? run_for(e, 10) : g_usleep(10 * 1000);
        }
        g_assert_cmpint(n, >, 0);
        return g_strndup(buf, (gsize)n);
}

static void remove_tree(const char *dir)
{
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *name;

        while (d && (name = g_dir_read_name(d))) {
                g_autofree char *p = g_build_filename(dir, name, NULL);
                g_assert_cmpint(g_unlink(p), ==, 0);
        }
        g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* A write that blocks, one that works and one the "driver" refuses: the two others are answered
 * while the first blocks, each with its own result; the first once it goes on. */
static void test_overlap(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-sysfs-writer.XXXXXX", NULL);
        g_autofree char *fifo = make_fifo(dir, "held"), *plain_path = make_attr(dir, "plain");
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        g_autoptr(SysfsWriter) w = NULL;
        Result held = {.r = 1}, plain = {.r = 1}, refused = {.r = 1};
        g_autofree char *got = NULL, *through = NULL;
        int answered = 0;

        held.answered = plain.answered = refused.answered = &answered;
        g_assert_cmpint(sd_event_new(&e), >=, 0);
        g_assert_cmpint(sysfs_writer_new(e, 4, &w), ==, 0);
        submit(w, dir, "held", "blocked-value", &held);
        submit(w, dir, "plain", "1", &plain);
        submit(w, dir, "missing/remove", "1", &refused);
        g_assert_cmpuint(sysfs_writer_pending(w), ==, 3);
        run_until(e, &answered, 2);
        g_assert_cmpint(held.calls, ==, 0);
        g_assert_cmpint(plain.calls, ==, 1);
        g_assert_cmpint(plain.r, ==, 0);
        g_assert_cmpint(refused.calls, ==, 1);
        g_assert_cmpint(refused.r, ==, -ENOENT);
        got = contents(dir, "plain");
        g_assert_cmpstr(got, ==, "1");
        g_assert_cmpuint(sysfs_writer_pending(w), ==, 1);

        through = drain_fifo(fifo, e);
        g_assert_cmpstr(through, ==, "blocked-value");
        run_until(e, &answered, 3);
        g_assert_cmpint(held.calls, ==, 1);
        g_assert_cmpint(held.r, ==, 0);
        g_assert_cmpuint(sysfs_writer_pending(w), ==, 0);
        remove_tree(dir);
}

/* One worker at most: a write behind a blocked one waits (the bound holds), and goes once the first
 * is through. */
static void test_bounded(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-sysfs-writer.XXXXXX", NULL);
        g_autofree char *fifo = make_fifo(dir, "held");
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        g_autoptr(SysfsWriter) w = NULL;
        Result held = {.r = 1}, behind = {.r = 1};
        g_autofree char *through = NULL, *behind_path = make_attr(dir, "behind"), *got = NULL;
        int answered = 0;

        held.answered = behind.answered = &answered;
        g_assert_cmpint(sd_event_new(&e), >=, 0);
        g_assert_cmpint(sysfs_writer_new(e, 1, &w), ==, 0);
        submit(w, dir, "held", "x", &held);
        submit(w, dir, "behind", "y", &behind);
        run_for(e, 200);
        g_assert_cmpint(answered, ==, 0);
        got = contents(dir, "behind");
        g_assert_cmpstr(got, ==, "");

        through = drain_fifo(fifo, e);
        g_assert_cmpstr(through, ==, "x");
        run_until(e, &answered, 2);
        g_assert_cmpint(held.order, ==, 1);
        g_assert_cmpint(behind.order, ==, 2);
        g_assert_cmpint(behind.r, ==, 0);
        remove_tree(dir);
}

/* Freed while a worker is held in a write: the free returns at once, nothing is answered, and the
 * worker finishes its write on its own once it can. */
static void test_free_while_blocked(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-sysfs-writer.XXXXXX", NULL);
        g_autofree char *fifo = make_fifo(dir, "held");
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        SysfsWriter *w = NULL;
        Result held = {.r = 1}, queued = {.r = 1};
        g_autofree char *through = NULL, *never_path = make_attr(dir, "never"), *got = NULL;
        int answered = 0;

        held.answered = queued.answered = &answered;
        g_assert_cmpint(sd_event_new(&e), >=, 0);
        g_assert_cmpint(sysfs_writer_new(e, 1, &w), ==, 0);
        submit(w, dir, "held", "late", &held);
        submit(w, dir, "never", "z", &queued);
        run_for(e, 50);
        sysfs_writer_free(w);
        through = drain_fifo(fifo, NULL);
        g_assert_cmpstr(through, ==, "late");
        run_for(e, 100);
        g_assert_cmpint(answered, ==, 0);
        /* the queued write was dropped, not made */
        got = contents(dir, "never");
        g_assert_cmpstr(got, ==, "");
        remove_tree(dir);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/sysfs-writer/overlap", test_overlap);
        g_test_add_func("/sysfs-writer/bounded", test_bounded);
        g_test_add_func("/sysfs-writer/free-while-blocked", test_free_while_blocked);
        return g_test_run();
}
