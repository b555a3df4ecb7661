/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The flusher (flusher.h): a batch worker (batch-worker.h) whose job is file_committer_commit(). */

#include <glib.h>

#include "batch-worker.h"
#include "log.h"
#include "flusher.h"

typedef struct Item {
        FileChange *change;
        FlusherDone done;
        void *userdata;
        unsigned batch; /* the thread's count of batches when it committed this one */
        bool log_stuck; /* the committer's intent log was stuck after this one's batch */
} Item;

struct Flusher {
        BatchWorker *worker;
        unsigned submitted;       /* loop only: submitted and not yet answered */
        unsigned batches;         /* the thread's only */
        bool stuck_told;          /* loop only: the log's failure was logged */
        FileCommitter *committer; /* the thread's only (made and freed while it does not run) */
};

static void item_free(Item *it)
{
        file_change_free(it->change);
        g_free(it);
}

/* On the thread: commit a batch, in the order of submission. */
static void commit(GPtrArray *batch, void *userdata)
{
        Flusher *f = userdata;
        g_autofree FileChange **changes = g_new(FileChange *, batch->len);

        f->batches++;
        for (guint i = 0; i < batch->len; i++) {
                changes[i] = ((Item *)batch->pdata[i])->change;
                ((Item *)batch->pdata[i])->batch = f->batches;
        }
        file_committer_commit(f->committer, changes, batch->len);
        for (guint i = 0; i < batch->len; i++)
                ((Item *)batch->pdata[i])->log_stuck = file_committer_log_stuck(f->committer);
}

/* On the thread, once the loop has the batch: what the commit left for later (file_committer_tidy()),
 * the syncs in place of what went through the intent log left for a moment with no batch waiting. */
static void tidy(void *userdata, bool more)
{
        Flusher *f = userdata;

        file_committer_tidy(f->committer, more);
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
static void answer(GPtrArray *done, void *userdata)
{
        Flusher *f = userdata;

        if (log_get_max_level() >= LOG_DEBUG)
                log_done(done);
        for (guint i = 0; i < done->len; i++) {
                Item *it = done->pdata[i];

                f->submitted--;
                if (it->log_stuck && !f->stuck_told) {
                        log_warning("The intent log failed (a sync failed): the next start puts what "
                                    "it holds in place; until then changes go through it while it has "
                                    "room, and fail with Io after");
                        f->stuck_told = true;
                }
                it->done(file_change_result(it->change), it->userdata);
        }
}

/* durability is never dropped: the thread commits what is submitted before it ends */
static const BatchWorkerKind flusher_kind = {
        .name = "flusher",
        .drain = true,
        .job = commit,
        .answer = answer,
        .after = tidy,
        .item_free = (GDestroyNotify)item_free,
};

int flusher_new(sd_event *event, IntentLog *log, Flusher **ret)
{
        g_autoptr(Flusher) f = g_new0(Flusher, 1);
        int r;

        f->committer = file_committer_new(log);
        r = batch_worker_new(event, &flusher_kind, f, &f->worker);
        if (r < 0)
                return r;
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
        batch_worker_submit(f->worker, it);
}

unsigned flusher_pending(Flusher *f)
{
        return f->submitted;
}

void flusher_free(Flusher *f)
{
        if (!f)
                return;
        batch_worker_free(f->worker);
        file_committer_free(f->committer);
        g_free(f);
}
