/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of daemon/callouts.c on a private sd-event loop with scripts in a temporary directory:
 * a stdin larger than a pipe holds, a script that never reads its stdin, the owner and "not mine",
 * stderr in the error, the timeout killing the script's process group, and a cancel. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "callouts.h"
#include "tmp-tree.h"

typedef struct {
        char *root;   /* a temporary directory: system/ and config/scripts.d/ */
        char *system; /* root/system: the "/usr/lib/mdevctl/scripts.d" */
        sd_event *event;
        Callouts *callouts;
        /* what done said */
        bool done;
        int r;
        char *message;
        char *owner;
} Fixture;

static void fixture_set_up(Fixture *f, gconstpointer data)
{
        f->root = g_dir_make_tmp("test-callouts.XXXXXX", NULL);
        g_assert_nonnull(f->root);
        f->system = g_build_filename(f->root, "system", NULL);
        g_assert_cmpint(sd_event_new(&f->event), >=, 0);
        g_assert_cmpint(callouts_new(f->event, f->system, f->root, &f->callouts), ==, 0);
}

static void fixture_tear_down(Fixture *f, gconstpointer data)
{
        callouts_free(f->callouts);
        sd_event_unref(f->event);
        tree_remove(f->root);
        g_free(f->root);
        g_free(f->system);
        g_free(f->message);
        g_free(f->owner);
}

/* An executable script at root/config/scripts.d/<kind>/<name> (config), or system/<kind>/<name>. */
static char *script(Fixture *f, bool system_dir, const char *kind, const char *name, const char *body)
{
        g_autofree char *dir = system_dir ? g_build_filename(f->system, kind, NULL)
                                          : g_build_filename(f->root, "scripts.d", kind, NULL);
        char *path = g_build_filename(dir, name, NULL);
        g_autofree char *text = g_strdup_printf("#!/bin/sh\n%s\n", body);

        g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
        g_assert_true(g_file_set_contents(path, text, -1, NULL));
        g_assert_cmpint(chmod(path, 0755), ==, 0);
        return path;
}

static void on_done(int r, const char *message, const char *owner, void *userdata)
{
        Fixture *f = userdata;

        g_assert_false(f->done);
        f->done = true;
        f->r = r;
        f->message = g_strdup(message);
        f->owner = g_strdup(owner);
}

/* Run event and wait for done (fails the test after 20 s). Returns callouts_run()'s value. */
static int run(Fixture *f, CalloutEvent event, const char *input, const char *owner)
{
        CalloutDevice dev = {.type = "nvidia-231",
                             .uuid = "11111111-2d7b-4b8e-9a55-7f0e2a1d3c41",
                             .parent = "0000:41:00.0",
                             .input = input};
        CalloutRun *cr = NULL;
        gint64 deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
        int r;

        f->done = false;
        g_clear_pointer(&f->message, g_free);
        g_clear_pointer(&f->owner, g_free);
        /* from a loop iteration of its own, as in vgpud (the directories are looked at once per
         * iteration: /callouts/listings-kept-until-changed) */
        g_assert_cmpint(sd_event_run(f->event, 0), >=, 0);
        r = callouts_run(f->callouts, event, "start", CALLOUT_STATE_NONE, &dev, owner, on_done, f, &cr);
        g_assert_cmpint(r, >=, 0);
        if (r == 0) {
                g_assert_null(cr);
                return r;
        }
        g_assert_nonnull(cr);
        while (!f->done) {
                g_assert_cmpint(g_get_monotonic_time(), <, deadline);
                g_assert_cmpint(sd_event_run(f->event, 100 * 1000), >=, 0);
        }
        return r;
}

static char *read_text(const char *path)
{
        char *text = NULL;

        g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
        return text;
}

static void test_nothing_to_run(Fixture *f, gconstpointer data)
{
        g_autofree char *s = NULL;

        g_assert_cmpint(run(f, CALLOUT_EVENT_PRE, "{}", NULL), ==, 0);
        /* not executable: skipped */
        s = script(f, false, "callouts", "10-plain", "exit 1");
        g_assert_cmpint(chmod(s, 0644), ==, 0);
        g_assert_cmpint(run(f, CALLOUT_EVENT_PRE, "{}", NULL), ==, 0);
}

static void test_large_stdin(Fixture *f, gconstpointer data)
{
        g_autofree char *out = g_build_filename(f->root, "got", NULL);
        g_autofree char *body = g_strdup_printf("cat > '%s'", out);
        g_autofree char *s = script(f, false, "callouts", "10-reads", body);
        g_autofree char *got = NULL;
        GString *input = g_string_new("{\"attrs\":\"");

        while (input->len < 300 * 1024) /* several times a pipe's 64 KiB */
                g_string_append(input, "0123456789abcdef");
        g_string_append(input, "\"}");
        g_assert_cmpint(run(f, CALLOUT_EVENT_PRE, input->str, NULL), ==, 1);
        g_assert_cmpint(f->r, ==, 0);
        g_assert_cmpstr(f->owner, ==, s);
        got = read_text(out);
        g_assert_cmpstr(got, ==, input->str);
        g_string_free(input, TRUE);
}

static void test_stdin_not_read(Fixture *f, gconstpointer data)
{
        g_autofree char *s = script(f, false, "callouts", "10-deaf", "exec 0<&-; exit 0");
        g_autofree char *input = g_strnfill(1024 * 1024, 'x');

        g_assert_cmpint(run(f, CALLOUT_EVENT_PRE, input, NULL), ==, 1);
        g_assert_cmpint(f->r, ==, 0);
        g_assert_cmpstr(f->owner, ==, s);
}

static void test_argv_and_owner(Fixture *f, gconstpointer data)
{
        g_autofree char *out = g_build_filename(f->root, "argv", NULL);
        g_autofree char *body = g_strdup_printf("echo \"$0 $*\" >> '%s'; exit 2", out);
        g_autofree char *a = script(f, true, "callouts", "90-system-first", body);
        g_autofree char *b = script(f, false, "callouts", "20-second", body);
        g_autofree char *c = script(f, false, "callouts", "10-first", body);
        g_autofree char *mine =
                script(f, false, "callouts", "30-mine", "echo refused >&2; echo STDOUT-TEXT; exit 7");
        g_autofree char *got = NULL, *want = NULL;

        g_assert_cmpint(run(f, CALLOUT_EVENT_PRE, "{}", NULL), ==, 1);
        g_assert_cmpint(f->r, ==, -EPROTO);
        g_assert_cmpstr(f->owner, ==, mine);
        g_assert_nonnull(strstr(f->message, mine));
        g_assert_nonnull(strstr(f->message, "exit status 7"));
        g_assert_nonnull(strstr(f->message, ": refused"));
        g_assert_null(strstr(f->message, "STDOUT-TEXT")); /* stdout is not stderr */
        got = read_text(out);
        want = g_strdup_printf(
                "%s -t nvidia-231 -e pre -a start -s none -u 11111111-2d7b-4b8e-9a55-7f0e2a1d3c41 "
                "-p 0000:41:00.0\n"
                "%s -t nvidia-231 -e pre -a start -s none -u 11111111-2d7b-4b8e-9a55-7f0e2a1d3c41 "
                "-p 0000:41:00.0\n"
                "%s -t nvidia-231 -e pre -a start -s none -u 11111111-2d7b-4b8e-9a55-7f0e2a1d3c41 "
                "-p 0000:41:00.0\n",
                a, c, b);
        g_assert_cmpstr(got, ==, want);

        /* with the owner known, only it runs; 2 from the owner is a failure */
        g_assert_cmpint(g_unlink(out), ==, 0);
        g_assert_cmpint(run(f, CALLOUT_EVENT_POST, "{}", a), ==, 1);
        g_assert_cmpint(f->r, ==, -EPROTO);
        g_assert_cmpstr(f->owner, ==, a);
        g_free(got);
        g_free(want);
        got = read_text(out);
        want = g_strdup_printf(
                "%s -t nvidia-231 -e post -a start -s none -u 11111111-2d7b-4b8e-9a55-7f0e2a1d3c41 "
                "-p 0000:41:00.0\n",
                a);
        g_assert_cmpstr(got, ==, want);
}

static void test_notifiers_all_run(Fixture *f, gconstpointer data)
{
        g_autofree char *out = g_build_filename(f->root, "notified", NULL);
        g_autofree char *body1 = g_strdup_printf("read x; echo \"1 $4 [$x]\" >> '%s'; exit 1", out);
        g_autofree char *body2 = g_strdup_printf("echo \"2 $4\" >> '%s'; exit 2", out);
        g_free(script(f, false, "notifiers", "a", body1));
        g_free(script(f, false, "notifiers", "b", body2));
        g_autofree char *got = NULL;

        g_assert_cmpint(run(f, CALLOUT_EVENT_NOTIFY, "{\"ignored\":1}", NULL), ==, 1);
        g_assert_cmpint(f->r, ==, 0);
        g_assert_null(f->owner);
        got = read_text(out);
        g_assert_cmpstr(got, ==, "1 notify []\n2 notify\n"); /* no stdin for notifiers */
}

/* Is the process in pidfile running (a zombie nobody reaped yet is not)? */
static bool pid_alive(const char *pidfile)
{
        g_autofree char *text = read_text(pidfile);
        g_autofree char *stat_path = NULL, *stat = NULL;
        pid_t pid = atoi(text);
        const char *end;

        g_assert_cmpint(pid, >, 1);
        stat_path = g_strdup_printf("/proc/%d/stat", (int)pid);
        if (!g_file_get_contents(stat_path, &stat, NULL, NULL))
                return false;
        end = strrchr(stat, ')');
        return end && end[1] == ' ' && end[2] != 'Z';
}

static void test_timeout_kills_the_group(Fixture *f, gconstpointer data)
{
        g_autofree char *pidfile = g_build_filename(f->root, "child.pid", NULL);
        g_autofree char *body =
                g_strdup_printf("sleep 60 & echo $! > '%s'; echo waiting >&2; wait; exit 0", pidfile);
        g_autofree char *s = script(f, false, "callouts", "10-hangs", body);
        gint64 t0 = g_get_monotonic_time();

        callouts_set_timeout(f->callouts, 300 * 1000);
        g_assert_cmpint(run(f, CALLOUT_EVENT_PRE, "{}", NULL), ==, 1);
        g_assert_cmpint(g_get_monotonic_time() - t0, >=, 300 * 1000);
        g_assert_cmpint(g_get_monotonic_time() - t0, <, 10 * G_USEC_PER_SEC);
        g_assert_cmpint(f->r, ==, -EPROTO);
        g_assert_cmpstr(f->owner, ==, s);
        g_assert_nonnull(strstr(f->message, "did not finish"));
        /* the sleep went with it (it may take a moment to be reaped by init) */
        for (int i = 0; i < 100 && pid_alive(pidfile); i++)
                g_usleep(20 * 1000);
        g_assert_false(pid_alive(pidfile));
}

static void test_cancel(Fixture *f, gconstpointer data)
{
        g_autofree char *pidfile = g_build_filename(f->root, "script.pid", NULL);
        g_autofree char *body = g_strdup_printf("echo $$ > '%s'; exec sleep 60", pidfile);
        g_free(script(f, false, "callouts", "10-sleeps", body));
        CalloutDevice dev = {.type = "t", .uuid = "u", .parent = "p", .input = "{}"};
        CalloutRun *cr = NULL;

        g_assert_cmpint(callouts_run(f->callouts, CALLOUT_EVENT_PRE, "stop", CALLOUT_STATE_NONE, &dev, NULL,
                                     on_done, f, &cr),
                        ==, 1);
        for (int i = 0; i < 500 && !g_file_test(pidfile, G_FILE_TEST_EXISTS); i++)
                g_usleep(10 * 1000);
        g_usleep(50 * 1000); /* the exec */
        callout_run_cancel(cr);
        g_assert_false(pid_alive(pidfile)); /* killed and reaped */
        g_assert_false(f->done);
}

/* The directories are read again only when they changed: the listing of an unchanged directory is
 * kept (once it is old enough to be told from a later change), and a script added, made executable or
 * removed, a directory that appears, and another directory in its place are all seen at the next run,
 * as mdevctl, which reads them at every call, sees them. */
static void test_listings_kept_until_changed(Fixture *f, gconstpointer data)
{
        g_autofree char *config = g_build_filename(f->root, "scripts.d", "callouts", NULL);
        g_autofree char *moved = g_build_filename(f->root, "scripts.d", "moved", NULL);
        g_autofree char *mark = g_build_filename(f->root, "ran", NULL);
        g_autofree char *body = g_strdup_printf("echo \"$0\" >> %s; exit 0", mark);
        g_autofree char *a = NULL, *b = NULL, *text = NULL;
        unsigned n;

        g_assert_cmpint(g_mkdir_with_parents(config, 0755), ==, 0);
        g_assert_cmpint(run(f, CALLOUT_EVENT_PRE, "{}", NULL), ==, 0);
        /* a directory changed within the last 2 s is read at every run (its next change might carry
         * the same time): wait until it is settled, then one more read keeps it */
        g_usleep(2200 * 1000);
        g_assert_cmpint(run(f, CALLOUT_EVENT_PRE, "{}", NULL), ==, 0);
        n = callouts_listings_read(f->callouts);
        g_assert_cmpint(run(f, CALLOUT_EVENT_PRE, "{}", NULL), ==, 0);
        g_assert_cmpint(run(f, CALLOUT_EVENT_POST, "{}", NULL), ==, 0);
        g_assert_cmpuint(callouts_listings_read(f->callouts), ==, n); /* kept: not read again */

        /* a script added to the kept directory */
        a = script(f, false, "callouts", "10-a", body);
        g_assert_cmpint(run(f, CALLOUT_EVENT_PRE, "{}", NULL), ==, 1);
        g_assert_cmpuint(callouts_listings_read(f->callouts), >, n);
        g_assert_cmpstr(f->owner, ==, a);

        /* the system directory appears (it was missing, so nothing of it was kept) */
        b = script(f, true, "callouts", "05-b", body);
        g_assert_cmpint(run(f, CALLOUT_EVENT_PRE, "{}", NULL), ==, 1);
        g_assert_cmpstr(f->owner, ==, b);

        /* not executable any more: the entry is checked at every run, kept listing or not */
        g_assert_cmpint(chmod(b, 0644), ==, 0);
        g_assert_cmpint(run(f, CALLOUT_EVENT_PRE, "{}", NULL), ==, 1);
        g_assert_cmpstr(f->owner, ==, a);

        /* another directory in the config one's place, once both are settled: a new inode */
        g_assert_cmpint(g_rename(config, moved), ==, 0);
        g_assert_cmpint(g_mkdir_with_parents(config, 0755), ==, 0);
        g_usleep(2200 * 1000);
        g_assert_cmpint(run(f, CALLOUT_EVENT_PRE, "{}", NULL), ==, 0);
        g_assert_cmpint(g_rmdir(config), ==, 0);
        g_assert_cmpint(g_rename(moved, config), ==, 0);
        g_assert_cmpint(run(f, CALLOUT_EVENT_PRE, "{}", NULL), ==, 1);
        g_assert_cmpstr(f->owner, ==, a);

        /* removed */
        g_assert_cmpint(unlink(a), ==, 0);
        g_assert_cmpint(run(f, CALLOUT_EVENT_PRE, "{}", NULL), ==, 0);

        /* within one iteration, one look: a script made then is seen from the next iteration on */
        {
                CalloutDevice dev = {
                        .type = "t", .uuid = "11111111-2d7b-4b8e-9a55-7f0e2a1d3c41", .parent = "p"};
                CalloutRun *cr = NULL;
                g_autofree char *c = NULL;

                g_assert_cmpint(sd_event_run(f->event, 0), >=, 0);
                g_assert_cmpint(callouts_run(f->callouts, CALLOUT_EVENT_PRE, "define", CALLOUT_STATE_NONE,
                                             &dev, NULL, on_done, f, &cr),
                                ==, 0);
                n = callouts_listings_read(f->callouts);
                c = script(f, false, "callouts", "20-c", body);
                g_assert_cmpint(callouts_run(f->callouts, CALLOUT_EVENT_POST, "define",
                                             CALLOUT_STATE_SUCCESS, &dev, NULL, on_done, f, &cr),
                                ==, 0);
                g_assert_cmpuint(callouts_listings_read(f->callouts), ==, n);
        }
        g_assert_cmpint(run(f, CALLOUT_EVENT_PRE, "{}", NULL), ==, 1);
        text = read_text(mark);
        g_assert_nonnull(strstr(text, "10-a"));
}

int main(int argc, char **argv)
{
        sigset_t mask;

        g_test_init(&argc, &argv, NULL);
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        g_assert_cmpint(sigprocmask(SIG_BLOCK, &mask, NULL), ==, 0);
        signal(SIGPIPE, SIG_IGN);

#define ADD(name, fn) g_test_add(name, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
        ADD("/callouts/nothing-to-run", test_nothing_to_run);
        ADD("/callouts/large-stdin", test_large_stdin);
        ADD("/callouts/stdin-not-read", test_stdin_not_read);
        ADD("/callouts/argv-and-owner", test_argv_and_owner);
        ADD("/callouts/notifiers-all-run", test_notifiers_all_run);
        ADD("/callouts/timeout-kills-the-group", test_timeout_kills_the_group);
        ADD("/callouts/cancel", test_cancel);
        ADD("/callouts/listings-kept-until-changed", test_listings_kept_until_changed);
        return g_test_run();
}
