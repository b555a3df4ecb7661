/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Busy check's worker (vfio-busy-worker.h): a batch worker (batch-worker.h) whose job is one pass
 * over /proc for every question of the batch. */

#include "batch-worker.h"
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
        BatchWorker *worker;
        int passes; /* atomic */
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

/* On the thread: the questions asked since the last pass, answered with one. */
static void pass(GPtrArray *batch, void *userdata)
{
        VfioBusyWorker *w = userdata;

        answer(batch);
        g_atomic_int_inc(&w->passes);
}

/* From the loop: hand every answer to its question's done, in the order asked. */
static void answered(GPtrArray *done, void *userdata)
{
        (void)userdata;
        for (guint i = 0; i < done->len; i++) {
                Question *q = done->pdata[i];
                q->done(q->r, q->holders, q->userdata);
        }
}

/* stopping drops the questions not answered: the engine answers its waiting requests itself */
static const BatchWorkerKind busy_kind = {
        .name = "busy",
        .drain = false,
        .job = pass,
        .answer = answered,
        .item_free = (GDestroyNotify)question_free,
};

int vfio_busy_worker_new(sd_event *event, VfioBusyWorker **ret)
{
        g_autoptr(VfioBusyWorker) w = g_new0(VfioBusyWorker, 1);
        int r;

        r = batch_worker_new(event, &busy_kind, w, &w->worker);
        if (r < 0)
                return r;
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
        batch_worker_submit(w->worker, q);
}

unsigned vfio_busy_passes(VfioBusyWorker *w)
{
        return (unsigned)g_atomic_int_get(&w->passes);
}

void vfio_busy_worker_free(VfioBusyWorker *w)
{
        if (!w)
                return;
        batch_worker_free(w->worker);
        g_free(w);
}
