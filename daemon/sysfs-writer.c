/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sysfs writer (sysfs-writer.h): a queue under a mutex, workers started on demand, an eventfd back
 * to the loop. What the workers share lives apart from the loop's side and is freed by whoever leaves
 * it last, so that freeing the writer never waits for a write the kernel holds. */

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "macro.h"
#include "log.h"
#include "sysfs-util.h"
#include "sysfs-writer.h"

/* A worker without work for this long ends (the next write starts one again). */
#define IDLE_USEC (5 * G_USEC_PER_SEC)

typedef struct Item {
        char *path, *value;
        SysfsWriterDone done;
        void *userdata;
        int r;
} Item;

typedef struct Shared {
        GMutex lock;
        GCond wake;
        GQueue pending;   /* Item*, submitted, not yet taken by a worker (under lock) */
        GPtrArray *done;  /* Item*, written, not yet answered (under lock) */
        unsigned threads; /* workers running (under lock) */
        unsigned idle;    /* of them, waiting for work (under lock) */
        unsigned max_threads;
        unsigned refs; /* the writer's and each worker's (under lock) */
        bool stopping; /* under lock: the writer is freed, nobody is answered */
        int efd;
} Shared;

struct SysfsWriter {
        Shared *shared;
        unsigned submitted; /* loop only: submitted and not yet answered */
        sd_event_source *io;
};

static void item_free(Item *it)
{
        if (!it)
                return;
        g_free(it->path);
        g_free(it->value);
        g_free(it);
}

static void shared_free(Shared *s)
{
        g_queue_clear_full(&s->pending, (GDestroyNotify)item_free);
        g_ptr_array_set_free_func(s->done, (GDestroyNotify)item_free);
        g_ptr_array_unref(s->done);
        if (s->efd >= 0)
                close(s->efd);
        g_mutex_clear(&s->lock);
        g_cond_clear(&s->wake);
        g_free(s);
}

/* Drop one reference (under lock, which this releases); the last frees. */
static void shared_unref_unlock(Shared *s)
{
        bool last = --s->refs == 0;

        g_mutex_unlock(&s->lock);
        if (last)
                shared_free(s);
}

/* Hand a written item back to the loop (under lock). No log from a worker: the journal is the loop's;
 * an eventfd write fails only when its counter is full, and then the loop is woken already. */
static void hand_back(Shared *s, Item *it)
{
        uint64_t one = 1;
        ssize_t k;

        g_ptr_array_add(s->done, it);
        k = write(s->efd, &one, sizeof(one));
        (void)k;
}

/* A worker: take the oldest write, make it, hand it back; end when idle for IDLE_USEC or stopping. */
static gpointer run(gpointer userdata)
{
        Shared *s = userdata;

        g_mutex_lock(&s->lock);
        for (;;) {
                int64_t deadline = g_get_monotonic_time() + IDLE_USEC;
                Item *it;

                s->idle++;
                while (!(it = g_queue_pop_head(&s->pending)) && !s->stopping)
                        if (!g_cond_wait_until(&s->wake, &s->lock, deadline)) {
                                it = g_queue_pop_head(&s->pending);
                                break;
                        }
                s->idle--;
                if (!it)
                        break;
                g_mutex_unlock(&s->lock);
                it->r = sysfs_write(it->path, it->value, 0);
                g_mutex_lock(&s->lock);
                if (s->stopping)
                        item_free(it);
                else
                        hand_back(s, it);
        }
        s->threads--;
        shared_unref_unlock(s);
        return NULL;
}

/* From the loop: answer every write made, in the order the workers finished them. */
static int on_done(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        SysfsWriter *w = userdata;
        Shared *s = w->shared;
        g_autoptr(GPtrArray) done = NULL;
        uint64_t n;

        (void)source, (void)revents;
        if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
                log_warning_errno(-errno, "Cannot read the sysfs writer's eventfd: %m");
        g_mutex_lock(&s->lock);
        done = g_steal_pointer(&s->done);
        s->done = g_ptr_array_new();
        g_mutex_unlock(&s->lock);
        for (guint i = 0; i < done->len; i++) {
                Item *it = done->pdata[i];

                w->submitted--;
                it->done(it->r, it->userdata);
                item_free(it);
        }
        return 0;
}

int sysfs_writer_new(sd_event *event, unsigned max_threads, SysfsWriter **ret)
{
        g_autoptr(SysfsWriter) w = g_new0(SysfsWriter, 1);
        Shared *s = g_new0(Shared, 1);
        int r;

        w->shared = s;
        s->refs = 1;
        s->max_threads = MAX(max_threads, 1u);
        g_mutex_init(&s->lock);
        g_cond_init(&s->wake);
        g_queue_init(&s->pending);
        s->done = g_ptr_array_new();
        s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (s->efd < 0)
                return negative_errno();
        r = sd_event_add_io(event, &w->io, s->efd, EPOLLIN, on_done, w);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(w->io, "sysfs-writer");
        *ret = g_steal_pointer(&w);
        return 0;
}

/* One more worker for what is pending (under lock); when none can be started and none runs, the
 * write fails with EAGAIN rather than waiting forever. */
static void start_worker(Shared *s)
{
        g_autoptr(GError) error = NULL;
        GThread *t;

        s->threads++;
        s->refs++;
        t = g_thread_try_new("vgpud-writer", run, s, &error);
        if (t) {
                g_thread_unref(t); /* detached: nobody joins a worker the kernel may hold */
                return;
        }
        s->threads--;
        s->refs--;
        if (s->threads == 0) {
                Item *it = g_queue_pop_tail(&s->pending);

                it->r = -EAGAIN;
                hand_back(s, it);
        }
}

void sysfs_writer_submit(SysfsWriter *w, const char *path, const char *value, SysfsWriterDone done,
                         void *userdata)
{
        Shared *s = w->shared;
        Item *it = g_new0(Item, 1);

        it->path = g_strdup(path);
        it->value = g_strdup(value);
        it->done = done;
        it->userdata = userdata;
        w->submitted++;
        g_mutex_lock(&s->lock);
        g_queue_push_tail(&s->pending, it);
        if (s->idle < s->pending.length && s->threads < s->max_threads)
                start_worker(s);
        else
                g_cond_signal(&s->wake);
        g_mutex_unlock(&s->lock);
}

unsigned sysfs_writer_pending(SysfsWriter *w)
{
        return w->submitted;
}

void sysfs_writer_free(SysfsWriter *w)
{
        Shared *s;

        if (!w)
                return;
        s = w->shared;
        sd_event_source_disable_unref(w->io);
        g_mutex_lock(&s->lock);
        s->stopping = true;
        g_queue_clear_full(&s->pending, (GDestroyNotify)item_free);
        g_cond_broadcast(&s->wake);
        shared_unref_unlock(s);
        g_free(w);
}
