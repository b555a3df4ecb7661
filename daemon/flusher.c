/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The flusher (flusher.h): a queue under a mutex, a worker thread, an eventfd back to the loop. */

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <glib.h>

#include "macro.h"
#include "log.h"
#include "flusher.h"

typedef struct Item {
        FileChange *change;
        FlusherDone done;
        void *userdata;
        unsigned batch; /* the thread's count of batches when it committed this one */
} Item;

struct Flusher {
        GMutex lock;
        GCond wake;
        GPtrArray *pending; /* Item*, submitted, not yet taken by the thread (under lock) */
        GPtrArray *done;    /* Item*, committed, not yet answered (under lock) */
        bool stopping;      /* under lock */
        unsigned submitted; /* loop only: submitted and not yet answered */
        GThread *thread;
        unsigned batches; /* the thread's only */
        int efd;
        sd_event_source *io;
};

static void item_free(Item *it)
{
        file_change_free(it->change);
        g_free(it);
}

/* The thread: take everything pending, commit it as one batch, hand it back, until told to stop with
 * nothing left. */
static gpointer run(gpointer userdata)
{
        Flusher *f = userdata;

        for (;;) {
                g_autoptr(GPtrArray) batch = NULL;
                g_autofree FileChange **changes = NULL;
                uint64_t one = 1;

                g_mutex_lock(&f->lock);
                while (f->pending->len == 0 && !f->stopping)
                        g_cond_wait(&f->wake, &f->lock);
                if (f->pending->len == 0) {
                        g_mutex_unlock(&f->lock);
                        return NULL;
                }
                batch = g_steal_pointer(&f->pending);
                f->pending = g_ptr_array_new();
                g_mutex_unlock(&f->lock);

                changes = g_new(FileChange *, batch->len);
                f->batches++;
                for (guint i = 0; i < batch->len; i++) {
                        changes[i] = ((Item *)batch->pdata[i])->change;
                        ((Item *)batch->pdata[i])->batch = f->batches;
                }
                file_changes_commit(changes, batch->len);

                g_mutex_lock(&f->lock);
                g_ptr_array_extend_and_steal(f->done, g_steal_pointer(&batch));
                g_mutex_unlock(&f->lock);
                /* no log from here: the journal is the loop's; an eventfd write fails only when its
                 * counter is full, and then the loop is woken already */
                ssize_t k = write(f->efd, &one, sizeof(one));
                (void)k;
        }
}

/* "Durable: 3 changes in 1 batch (leases, leases, 6f4b...)": what the thread committed since the
 * loop last looked, one line per batch (the tests count the batches a file's changes took). */
static void log_done(GPtrArray *done)
{
        for (guint i = 0; i < done->len;) {
                g_autoptr(GString) names = g_string_new(NULL);
                unsigned batch = ((Item *)done->pdata[i])->batch;
                guint first = i;

                for (; i < done->len && ((Item *)done->pdata[i])->batch == batch; i++)
                        g_string_append_printf(names, "%s%s", i > first ? ", " : "",
                                               file_change_name(((Item *)done->pdata[i])->change));
                log_debug("Durable: %u changes in one batch (%s)", i - first, names->str);
        }
}

/* From the loop: answer every committed change, in the order of submission. */
static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Flusher *f = userdata;
        g_autoptr(GPtrArray) done = NULL;
        uint64_t n;

        (void)s, (void)revents;
        if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
                log_warning_errno(-errno, "Cannot read the flusher's eventfd: %m");
        g_mutex_lock(&f->lock);
        done = g_steal_pointer(&f->done);
        f->done = g_ptr_array_new();
        g_mutex_unlock(&f->lock);
        if (log_get_max_level() >= LOG_DEBUG)
                log_done(done);
        for (guint i = 0; i < done->len; i++) {
                Item *it = done->pdata[i];

                f->submitted--;
                it->done(file_change_result(it->change), it->userdata);
                item_free(it);
        }
        return 0;
}

int flusher_new(sd_event *event, Flusher **ret)
{
        g_autoptr(Flusher) f = g_new0(Flusher, 1);
        g_autoptr(GError) error = NULL;
        int r;

        f->efd = -1;
        g_mutex_init(&f->lock);
        g_cond_init(&f->wake);
        f->pending = g_ptr_array_new();
        f->done = g_ptr_array_new();
        f->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (f->efd < 0)
                return negative_errno();
        r = sd_event_add_io(event, &f->io, f->efd, EPOLLIN, on_done, f);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(f->io, "flusher");
        f->thread = g_thread_try_new("vgpud-flusher", run, f, &error);
        if (!f->thread)
                return log_error_errno(-EAGAIN, "Cannot start the flusher thread: %s", error->message);
        *ret = g_steal_pointer(&f);
        return 0;
}

void flusher_submit(Flusher *f, FileChange *c, FlusherDone done, void *userdata)
{
        Item *it = g_new0(Item, 1);

        it->change = c;
        it->done = done;
        it->userdata = userdata;
        f->submitted++;
        g_mutex_lock(&f->lock);
        g_ptr_array_add(f->pending, it);
        g_cond_signal(&f->wake);
        g_mutex_unlock(&f->lock);
}

unsigned flusher_pending(Flusher *f)
{
        return f->submitted;
}

void flusher_free(Flusher *f)
{
        if (!f)
                return;
        if (f->thread) {
                g_mutex_lock(&f->lock);
                f->stopping = true;
                g_cond_signal(&f->wake);
                g_mutex_unlock(&f->lock);
                g_thread_join(f->thread);
        }
        sd_event_source_disable_unref(f->io);
        if (f->efd >= 0)
                close(f->efd);
        /* the thread committed everything before it ended: what is left is only not answered */
        g_ptr_array_set_free_func(f->pending, (GDestroyNotify)item_free);
        g_ptr_array_unref(f->pending);
        g_ptr_array_set_free_func(f->done, (GDestroyNotify)item_free);
        g_ptr_array_unref(f->done);
        g_mutex_clear(&f->lock);
        g_cond_clear(&f->wake);
        g_free(f);
}
