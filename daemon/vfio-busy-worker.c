/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Busy check's worker (vfio-busy-worker.h): questions under a mutex, one thread making the passes,
 * an eventfd back to the loop. */

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "macro.h"
#include "log.h"
#include "vfio-busy.h"
#include "vfio-busy-worker.h"

typedef struct Question {
        char **keys, **dirs;
        VfioBusyDone done;
        void *userdata;
        int r;               /* the thread's answer */
        GHashTable *holders; /* key (g_free) -> VfioHolder */
} Question;

struct VfioBusyWorker {
        GMutex lock;
        GCond wake;
        GPtrArray *asked;    /* Question*, not yet taken by the thread (under lock) */
        GPtrArray *answered; /* Question*, answered, not yet handed to done (under lock) */
        bool stopping;       /* under lock */
        int passes;          /* atomic */
        GThread *thread;
        int efd;
        sd_event_source *io;
};

static void question_free(Question *q)
{
        if (!q)
                return;
        g_strfreev(q->keys);
        g_strfreev(q->dirs);
        if (q->holders)
                g_hash_table_unref(q->holders);
        g_free(q);
}

static VfioHolder *holder_copy(const VfioHolder *h)
{
        VfioHolder *c = g_new0(VfioHolder, 1);

        c->pid = h->pid;
        c->comm = g_strdup(h->comm);
        c->group = g_strdup(h->group);
        return c;
}

/* q's answer from held (directory -> VfioHolder), the result of a pass r. */
static void answer_one(Question *q, int r, GHashTable *held)
{
        q->r = r;
        if (r < 0)
                return;
        q->holders =
                g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)vfio_holder_free);
        for (size_t k = 0; q->keys[k]; k++) {
                const VfioHolder *h = g_hash_table_lookup(held, q->dirs[k]);

                if (h)
                        g_hash_table_replace(q->holders, g_strdup(q->keys[k]), holder_copy(h));
        }
}

/* One pass over /proc for every device of batch (each directory once), each question's answer from
 * it. A pass that fails (a device's group node that cannot be read, or /proc) is made again for each
 * question alone, so that one device's error is not another's. */
static void answer(GPtrArray *batch)
{
        g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GPtrArray) dirs = g_ptr_array_new();
        g_autoptr(GHashTable) held = NULL;
        int r;

        for (guint i = 0; i < batch->len; i++)
                for (char **d = ((Question *)batch->pdata[i])->dirs; *d; d++)
                        if (g_hash_table_add(seen, *d))
                                g_ptr_array_add(dirs, *d);
        g_ptr_array_add(dirs, NULL);
        r = vfio_holders_scan((char **)dirs->pdata, (char **)dirs->pdata, &held);
        for (guint i = 0; i < batch->len; i++) {
                Question *q = batch->pdata[i];
                g_autoptr(GHashTable) alone = NULL;

                if (r >= 0 || batch->len == 1)
                        answer_one(q, r, held);
                else
                        answer_one(q, vfio_holders_scan(q->dirs, q->dirs, &alone), alone);
        }
}

/* The thread: take every question asked, answer them with one pass, hand them back, until told to stop. */
static gpointer run(gpointer userdata)
{
        VfioBusyWorker *w = userdata;

        for (;;) {
                g_autoptr(GPtrArray) batch = NULL;
                uint64_t one = 1;

                g_mutex_lock(&w->lock);
                while (w->asked->len == 0 && !w->stopping)
                        g_cond_wait(&w->wake, &w->lock);
                if (w->stopping) {
                        g_mutex_unlock(&w->lock);
                        return NULL;
                }
                batch = g_steal_pointer(&w->asked);
                w->asked = g_ptr_array_new();
                g_mutex_unlock(&w->lock);

                answer(batch);
                g_atomic_int_inc(&w->passes);

                g_mutex_lock(&w->lock);
                g_ptr_array_extend_and_steal(w->answered, g_steal_pointer(&batch));
                g_mutex_unlock(&w->lock);
                /* no log from here: the journal is the loop's; an eventfd write fails only when its
                 * counter is full, and then the loop is woken already */
                ssize_t k = write(w->efd, &one, sizeof(one));
                (void)k;
        }
}

/* From the loop: hand every answer to its question's done, in the order asked. */
static int on_answered(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        VfioBusyWorker *w = userdata;
        g_autoptr(GPtrArray) done = NULL;
        uint64_t n;

        (void)s, (void)revents;
        if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
                log_warning_errno(-errno, "Cannot read the Busy check's eventfd: %m");
        g_mutex_lock(&w->lock);
        done = g_steal_pointer(&w->answered);
        w->answered = g_ptr_array_new();
        g_mutex_unlock(&w->lock);
        g_ptr_array_set_free_func(done, (GDestroyNotify)question_free);
        for (guint i = 0; i < done->len; i++) {
                Question *q = done->pdata[i];
                q->done(q->r, q->holders, q->userdata);
        }
        return 0;
}

int vfio_busy_worker_new(sd_event *event, VfioBusyWorker **ret)
{
        g_autoptr(VfioBusyWorker) w = g_new0(VfioBusyWorker, 1);
        g_autoptr(GError) error = NULL;
        int r;

        w->efd = -1;
        g_mutex_init(&w->lock);
        g_cond_init(&w->wake);
        w->asked = g_ptr_array_new_with_free_func((GDestroyNotify)question_free);
        w->answered = g_ptr_array_new_with_free_func((GDestroyNotify)question_free);
        w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->efd < 0)
                return negative_errno();
        r = sd_event_add_io(event, &w->io, w->efd, EPOLLIN, on_answered, w);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(w->io, "vfio-busy");
        w->thread = g_thread_try_new("vgpud-busy", run, w, &error);
        if (!w->thread)
                return log_error_errno(-EAGAIN, "Cannot start the Busy check's thread: %s", error->message);
        *ret = g_steal_pointer(&w);
        return 0;
}

void vfio_busy_ask(VfioBusyWorker *w, char **keys, char **device_dirs, VfioBusyDone done, void *userdata)
{
        Question *q = g_new0(Question, 1);

        q->keys = g_strdupv(keys);
        q->dirs = g_strdupv(device_dirs);
        g_assert(g_strv_length(q->keys) == g_strv_length(q->dirs));
        q->done = done;
        q->userdata = userdata;
        g_mutex_lock(&w->lock);
        g_ptr_array_add(w->asked, q);
        g_cond_signal(&w->wake);
        g_mutex_unlock(&w->lock);
}

unsigned vfio_busy_passes(VfioBusyWorker *w)
{
        return (unsigned)g_atomic_int_get(&w->passes);
}

void vfio_busy_worker_free(VfioBusyWorker *w)
{
        if (!w)
                return;
        if (w->thread) {
                g_mutex_lock(&w->lock);
                w->stopping = true;
                g_cond_signal(&w->wake);
                g_mutex_unlock(&w->lock);
                g_thread_join(w->thread);
        }
        sd_event_source_disable_unref(w->io);
        if (w->efd >= 0)
                close(w->efd);
        g_ptr_array_unref(w->asked);
        g_ptr_array_unref(w->answered);
        g_mutex_clear(&w->lock);
        g_cond_clear(&w->wake);
        g_free(w);
}
