/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of daemon/vfio-busy-worker.c and the pass of daemon/vfio-busy.c: device directories in a
 * temporary directory whose iommu_group links name groups 7 and 8, their nodes plain files on a tmpfs
 * mounted over /dev in a private mount namespace (root only), a child process holding group 7 open;
 * the answers on a private sd-event loop, never from inside the question. */

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "vfio-busy.h"
#include "vfio-busy-worker.h"

typedef struct Answer {
        int r;
        int calls;
        GHashTable *holders;
        int *answered;
} Answer;

static bool in_ask;

static void on_answer(int r, GHashTable *holders, void *userdata)
{
        Answer *a = userdata;

        g_assert_false(in_ask); /* never from inside vfio_busy_ask() */
        a->r = r;
        a->calls++;
        a->holders = holders ? g_hash_table_ref(holders) : NULL;
        (*a->answered)++;
}

static void run_until(sd_event *e, const int *answered, int n)
{
        for (int i = 0; i < 1000 && *answered < n; i++)
                g_assert_cmpint(sd_event_run(e, 5 * 1000 * 1000), >=, 0);
        g_assert_cmpint(*answered, ==, n);
}

/* /dev on a tmpfs of a private mount namespace, with /dev/vfio/7 and /dev/vfio/8; false: not here. */
static bool private_dev(void)
{
        if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755") < 0)
                return false;
        g_assert_cmpint(g_mkdir_with_parents("/dev/vfio", 0755), ==, 0);
        g_assert_true(g_file_set_contents("/dev/vfio/7", "", 0, NULL));
        g_assert_true(g_file_set_contents("/dev/vfio/8", "", 0, NULL));
        return true;
}

/* A device directory under root whose iommu_group link names group. */
static char *device_dir(const char *root, const char *name, const char *group)
{
        g_autofree char *target = g_strdup_printf("../kernel/iommu_groups/%s", group);
        char *dir = g_build_filename(root, name, NULL);
        g_autofree char *link = g_build_filename(dir, "iommu_group", NULL);

        g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
        g_assert_cmpint(symlink(target, link), ==, 0);
        return dir;
}

/* A child that holds path open until killed. */
static pid_t hold(const char *path)
{
        int p[2];
        char c;
        pid_t pid;

        g_assert_cmpint(pipe(p), ==, 0);
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                int fd = open(path, O_RDWR | O_CLOEXEC);
                _exit(fd < 0 || write(p[1], "x", 1) != 1 || pause() < 0 ? 1 : 0);
        }
        close(p[1]);
        g_assert_cmpint(read(p[0], &c, 1), ==, 1);
        close(p[0]);
        return pid;
}

static void test_questions_share_a_pass(void)
{
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        g_autoptr(VfioBusyWorker) w = NULL;
        g_autofree char *root = g_dir_make_tmp("vgpud-test-busy.XXXXXX", NULL);
        g_autofree char *held = NULL, *free_dir = NULL;
        Answer a[10] = {0}, after = {0};
        int answered = 0;
        unsigned passes;
        pid_t pid;

        if (!private_dev()) {
                g_test_skip("cannot mount /dev in a private namespace (not root?)");
                return;
        }
        held = device_dir(root, "held", "7");
        free_dir = device_dir(root, "free", "8");
        pid = hold("/dev/vfio/7");
        g_assert_cmpint(sd_event_new(&e), >=, 0);
        g_assert_cmpint(vfio_busy_worker_new(e, &w), ==, 0);

        /* ten Releases at once, half of them about the held device: at most two passes (the thread
         * may have taken the first question before the others came) */
        for (int i = 0; i < 10; i++) {
                char *keys[] = {(char *)(i % 2 ? "held-one" : "free-one"), (char *)"free-too", NULL};
                char *dirs[] = {i % 2 ? held : free_dir, free_dir, NULL};

                a[i].answered = &answered;
                in_ask = true;
                vfio_busy_ask(w, keys, dirs, on_answer, &a[i]);
                in_ask = false;
        }
        run_until(e, &answered, 10);
        passes = vfio_busy_passes(w);
        g_assert_cmpuint(passes, >=, 1);
        g_assert_cmpuint(passes, <=, 2);
        for (int i = 0; i < 10; i++) {
                const VfioHolder *h;

                g_assert_cmpint(a[i].calls, ==, 1);
                g_assert_cmpint(a[i].r, ==, 0);
                g_assert_nonnull(a[i].holders);
                g_assert_false(g_hash_table_contains(a[i].holders, "free-one"));
                g_assert_false(g_hash_table_contains(a[i].holders, "free-too"));
                h = g_hash_table_lookup(a[i].holders, "held-one");
                g_assert_true((h != NULL) == (i % 2 == 1));
                if (h) {
                        g_assert_cmpint(h->pid, ==, pid);
                        g_assert_cmpstr(h->group, ==, "7");
                        g_assert_nonnull(h->comm);
                }
                g_hash_table_unref(a[i].holders);
        }

        /* let go: a question asked now is answered by a new pass, which sees nobody */
        g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
        g_assert_cmpint(waitpid(pid, NULL, 0), ==, pid);
        {
                char *keys[] = {(char *)"held-one", NULL}, *dirs[] = {held, NULL};

                after.answered = &answered;
                vfio_busy_ask(w, keys, dirs, on_answer, &after);
        }
        run_until(e, &answered, 11);
        g_assert_cmpuint(vfio_busy_passes(w), ==, passes + 1);
        g_assert_cmpint(after.r, ==, 0);
        g_assert_cmpuint(g_hash_table_size(after.holders), ==, 0);
        g_hash_table_unref(after.holders);
}

/* A question not answered when the worker is freed is dropped: no callback after the free. */
static void test_free_drops_questions(void)
{
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        VfioBusyWorker *w = NULL;
        g_autofree char *root = g_dir_make_tmp("vgpud-test-busy.XXXXXX", NULL);
        g_autofree char *dir = device_dir(root, "dev", "9"); /* no node: nothing to look for */
        Answer a = {0};
        int answered = 0;
        char *keys[] = {(char *)"k", NULL}, *dirs[] = {dir, NULL};

        g_assert_cmpint(sd_event_new(&e), >=, 0);
        g_assert_cmpint(vfio_busy_worker_new(e, &w), ==, 0);
        a.answered = &answered;
        vfio_busy_ask(w, keys, dirs, on_answer, &a);
        vfio_busy_worker_free(w);
        g_assert_cmpint(sd_event_run(e, 0), >=, 0);
        g_assert_cmpint(a.calls, ==, 0);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/vfio-busy/questions-share-a-pass", test_questions_share_a_pass);
        g_test_add_func("/vfio-busy/free-drops-questions", test_free_drops_questions);
        return g_test_run();
}
