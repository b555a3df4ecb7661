/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The batch worker (batch-worker.h): a queue under a mutex, one thread, an eventfd back to the loop. */

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "macro.h"
#include "log.h"
#include "batch-worker.h"

struct BatchWorker {
        const BatchWorkerKind *kind;
        void *userdata;
        GMutex lock;
        GCond wake;
        GPtrArray *pending; /* submitted, not yet taken by the thread (under lock) */
        GPtrArray *done;    /* done by the thread, not yet answered (under lock) */
        bool stopping;      /* under lock */
        GThread *thread;
        int efd;
        sd_event_source *io;
};

/* The thread: take everything pending, do it as one batch, hand it back; when told to stop, end (with
 * kind->drain only once nothing is pending). */
static gpointer run(gpointer userdata)
{
        BatchWorker *w = userdata;

        for (;;) {
                g_autoptr(GPtrArray) batch = NULL;
                uint64_t one = 1;
                ssize_t k;

                g_mutex_lock(&w->lock);
                while (w->pending->len == 0 && !w->stopping)
                        g_cond_wait(&w->wake, &w->lock);
                if (w->stopping && (w->pending->len == 0 || !w->kind->drain)) {
                        g_mutex_unlock(&w->lock);
                        return NULL;
                }
                batch = g_steal_pointer(&w->pending);
                w->pending = g_ptr_array_new();
                g_mutex_unlock(&w->lock);

                w->kind->job(batch, w->userdata);

                g_mutex_lock(&w->lock);
                g_ptr_array_extend_and_steal(w->done, g_steal_pointer(&batch));
                g_mutex_unlock(&w->lock);
                /* no log from here: the journal is the loop's; an eventfd write fails only when its
                 * counter is full, and then the loop is woken already */
                k = write(w->efd, &one, sizeof(one));
                (void)k;
                if (w->kind->after) {
                        bool more;

                        g_mutex_lock(&w->lock);
                        more = w->pending->len > 0;
                        g_mutex_unlock(&w->lock);
                        w->kind->after(w->userdata, more);
                }
        }
}

/* From the loop: answer everything done since the last look, in the order of submission. */
static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        BatchWorker *w = userdata;
        g_autoptr(GPtrArray) done = NULL;
        uint64_t n;

        (void)s, (void)revents;
        if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
                log_warning_errno(-errno, "Cannot read the %s eventfd: %m", w->kind->name);
        g_mutex_lock(&w->lock);
        done = g_steal_pointer(&w->done);
        w->done = g_ptr_array_new();
        g_mutex_unlock(&w->lock);
        g_ptr_array_set_free_func(done, w->kind->item_free);
        w->kind->answer(done, w->userdata);
        return 0;
}

int batch_worker_new(sd_event *event, const BatchWorkerKind *kind, void *userdata, BatchWorker **ret)
{
        g_autoptr(BatchWorker) w = g_new0(BatchWorker, 1);
        g_autoptr(GError) error = NULL;
        g_autofree char *thread = g_strconcat("vgpud-", kind->name, NULL);
        int r;

        w->kind = kind;
        w->userdata = userdata;
        w->efd = -1;
        g_mutex_init(&w->lock);
        g_cond_init(&w->wake);
        w->pending = g_ptr_array_new();
        w->done = g_ptr_array_new();
        w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->efd < 0)
                return negative_errno();
        r = sd_event_add_io(event, &w->io, w->efd, EPOLLIN, on_done, w);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(w->io, kind->name);
        w->thread = g_thread_try_new(thread, run, w, &error);
        if (!w->thread)
                return log_error_errno(-EAGAIN, "Cannot start the %s thread: %s", kind->name,
                                       error->message);
        *ret = g_steal_pointer(&w);
        return 0;
}

void batch_worker_submit(BatchWorker *w, void *item)
{
        g_mutex_lock(&w->lock);
        g_ptr_array_add(w->pending, item);
        g_cond_signal(&w->wake);
        g_mutex_unlock(&w->lock);
}

void batch_worker_free(BatchWorker *w)
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
        g_ptr_array_set_free_func(w->pending, w->kind->item_free);
        g_ptr_array_unref(w->pending);
        g_ptr_array_set_free_func(w->done, w->kind->item_free);
        g_ptr_array_unref(w->done);
        g_mutex_clear(&w->lock);
        g_cond_clear(&w->wake);
        g_free(w);
}
