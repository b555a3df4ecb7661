/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The lifecycle engine: a FIFO of requests on the event loop, each through the same phases
 * (ops-internal.h): prepare, the pre callouts, the change (run, and resume while it waits for the
 * kernel), end, the post callouts and notifiers, the reply. What each kind of request does is in its
 * entry of kinds[] below; nothing in this file knows one kind from another.
 *
 * Turns: one job at a time decides (prepare, pre callouts, run: ops->current), so no two decisions
 * race between a check and an action. A job that waits for the kernel, or has made its change, gives
 * up its turn and goes on in ops->active, so independent requests overlap their waits. What keeps
 * them independent:
 *   - a request does not start while an active job is about the same UUID or owner (its keys), so
 *     changes to one device, definition or owner keep their order; a Release waiting for its Busy
 *     check (WAIT_BUSY: a pass over /proc in vfio-busy-worker.c, shared by the questions asked while
 *     the previous pass ran) keeps its devices from being started, stopped or handed out meanwhile;
 *   - a create is normally complete when its write returns (create_store() registers the device,
 *     its links and its driver inside the system call): the start reads the device at once and
 *     never waits for its uevent. A creation written and not shown by sysfs yet (a driver that
 *     answers the write before its device exists, or a device read without its type link) waits
 *     for the uevent and reserves its room meanwhile (ops_core_reserved()):
 *     a decision about its GPU core counts it among the core's devices (its size class, its count
 *     against the type's capacity) and reads the driver's available_instances again, which the
 *     kernel has lowered before the write returned (create_store() creates the device inside the
 *     system call; the counts are re-read right after each write). So creations of one type on one
 *     parent overlap their waits, and no room is handed out twice. A creation decided and not written
 *     yet (an Acquire whose lease is being made durable: Job.reserving) reserves its room the same
 *     way, and lowers its type's count by one, which the driver does only once it is written. Where
 *     the decision cannot count a reservation (a creation of another type or on another parent of the
 *     same core: what it does to this type's count is the driver's business, e.g. mtty's shared port
 *     pool or a VF's slot on an SR-IOV core), the job keeps its turn and waits until the kernel shows
 *     it (WAIT_TURN);
 *   - the writes to create and remove are made off the loop (ops_job_write(), sysfs-writer.h), so
 *     that a driver slow to create, or a remove the kernel holds while a VM has the device open,
 *     blocks only its own job. A create in flight is a reservation until its result is handled on
 *     the loop, counted as not written yet (its type's count lowered by one) even when the device's
 *     add uevent, which the kernel sends before the write returns, has shown the device already: it
 *     may be counted twice meanwhile, so a decision that finds no room while creates are in flight
 *     waits for their results (WAIT_TURN, or OPS_AFTER_WRITES from Acquire's placement) and does not
 *     refuse on such a count before its request's timeout (a driver that never returns from a create
 *     holds up the queue behind a waiting Acquire that long, not forever). */

#include <errno.h>
#include <stdarg.h>

#include "errors.h"
#include "flusher.h"
#include "leases.h"
#include "vfio-busy-worker.h"
#include "log.h"
#include "metrics.h"
#include "sysfs-writer.h"
#include "ops-internal.h"

/* How many writes to create and remove may be in flight at once (sysfs-writer.h): removes of devices
 * VMs still hold may block that many workers before the others queue. */
#define OPS_WRITERS_MAX 16

/* The request kinds (ops-internal.h says how to add one). */
static const OpsKindInfo *const kinds[_OPS_KIND_MAX] = {
        [OPS_START] = &ops_kind_start,
        [OPS_STOP] = &ops_kind_stop,
        [OPS_DEFINE] = &ops_kind_define,
        [OPS_UNDEFINE] = &ops_kind_undefine,
        [OPS_MODIFY] = &ops_kind_modify,
        [OPS_ACQUIRE] = &ops_kind_acquire,
        [OPS_RELEASE] = &ops_kind_release,
        [OPS_AUTOSTART] = &ops_kind_autostart,
        [OPS_RELEASE_IDLE] = &ops_kind_release_idle,
};

/* The request kinds as the journal and the metrics name them (the bus method, lower case); a kind's
 * action is what the callouts see, and Acquire's is "start". */
static const OpsKindInfo *kind_of(OpsKind kind)
{
        g_assert(kind >= 0 && kind < _OPS_KIND_MAX && kinds[kind]);
        return kinds[kind];
}

OpsRequest *ops_request_new(OpsKind kind)
{
        OpsRequest *req = g_new0(OpsRequest, 1);

        req->kind = kind;
        if (kind_of(kind)->init)
                kind_of(kind)->init(req);
        return req;
}

void ops_request_free(OpsRequest *req)
{
        if (!req)
                return;
        if (kind_of(req->kind)->clear)
                kind_of(req->kind)->clear(req);
        g_free(req->parent);
        g_free(req->uuid);
        if (req->out)
                g_ptr_array_unref(req->out);
        g_free(req);
}

/* Set *ret_message and return r, for `return ops_fail(ret_message, -ENOENT, "...")`. */
int ops_fail(char **ret_message, int r, const char *format, ...)
{
        va_list ap;

        va_start(ap, format);
        g_free(*ret_message);
        *ret_message = g_strdup_vprintf(format, ap);
        va_end(ap);
        return r;
}

/* ---- jobs ---- */

static void target_free(CalloutTarget *t)
{
        if (!t)
                return;
        g_free(t->parent);
        g_free(t->type);
        g_free(t->json);
        g_free(t->owner);
        g_free(t);
}

void ops_job_add_target(Job *j, const char *parent, const MdevDef *def)
{
        CalloutTarget *t;

        if (!def || str_empty(def->mdev_type) || str_empty(parent))
                return;
        t = g_new0(CalloutTarget, 1);
        t->parent = g_strdup(parent);
        t->type = g_strdup(def->mdev_type);
        t->json = mdev_def_to_json(def, false);
        if (!j->targets)
                j->targets = g_ptr_array_new_with_free_func((GDestroyNotify)target_free);
        g_ptr_array_add(j->targets, t);
}

Job *ops_job_new(Ops *ops, OpsRequest *req, OpsDone done, void *userdata)
{
        Job *j = g_new0(Job, 1);

        j->ops = ops;
        j->kind = kind_of(req->kind);
        j->req = req;
        j->done = done;
        j->userdata = userdata;
        j->submitted_usec = g_get_monotonic_time();
        return j;
}

static void job_free(Job *j)
{
        if (!j)
                return;
        callout_run_cancel(j->callout);
        if (j->targets)
                g_ptr_array_unref(j->targets);
        if (j->kind->clear_job)
                j->kind->clear_job(j);
        g_free(j->result_message);
        ops_request_free(j->req);
        g_free(j->parent);
        mdev_def_free(j->def);
        stored_def_free(j->written);
        sd_event_source_disable_unref(j->timer);
        sd_event_source_disable_unref(j->check);
        g_free(j->creating_core);
        g_free(j->gone_parent);
        g_free(j->gone_type);
        g_free(j->message);
        if (j->durable)
                g_array_unref(j->durable);
        if (j->busy_holders)
                g_hash_table_unref(j->busy_holders);
        g_free(j->write_state);
        g_free(j);
}

static void job_reset_state(Ops *ops, Job *j)
{
        if (j->state_set)
                inventory_set_device_state(ops->inv, j->uuid, NULL);
        j->state_set = false;
}

/* ---- the queue and the turns ---- */

/* Is the active job j about uuid or owner (a request's keys, ops_request_keys())? */
static bool job_about(const Job *j, const char *uuid, const char *owner)
{
        const char *job_owner = j->req->kind == OPS_ACQUIRE   ? j->req->acquire.owner
                                : j->req->kind == OPS_RELEASE ? j->req->release.what
                                                              : NULL;

        if (uuid && g_str_equal(j->uuid, uuid))
                return true;
        if (owner && job_owner && g_str_equal(owner, job_owner))
                return true;
        if (uuid && j->req->kind == OPS_RELEASE && j->release.leased)
                return g_strv_contains((const char *const *)j->release.leased, uuid);
        return false;
}

/* May j start now: is no active job about its UUID or owner? */
static bool job_may_start(Ops *ops, Job *j)
{
        char uuid[VGPU_UUID_STRING_MAX];
        g_autofree char *owner = NULL;
        bool have_uuid;

        if (ops->active->len == 0)
                return true;
        have_uuid = ops_request_keys(ops, j->req, uuid, &owner);
        for (guint i = 0; i < ops->active->len; i++)
                if (job_about(ops->active->pdata[i], have_uuid ? uuid : NULL, owner))
                        return false;
        return true;
}

static void kick(Ops *ops)
{
        if (!ops->current && (!g_queue_is_empty(&ops->queue) || ops->reconcile))
                (void)sd_event_source_set_enabled(ops->kick, SD_EVENT_ONESHOT);
}

/* One journal event per request that ends, with the device it was about (its lease's owner and type
 * when it has one), so that a vGPU's history is one journalctl match away. Autostart's own request is
 * only the queueing of starts, each of which logs. */
static void log_request_end(Ops *ops, Job *j, int r, const char *message)
{
        const char *uuid = j->uuid[0] ? j->uuid : NULL;
        Lease *lease = uuid ? inventory_lease(ops->inv, uuid) : NULL;
        LogFields f = {
                .uuid = uuid,
                .parent = j->parent ? j->parent : (lease ? lease->parent : NULL),
                .type = lease ? lease->type : (j->def ? j->def->mdev_type : NULL),
                .owner = lease ? lease->owner : (j->req->kind == OPS_ACQUIRE ? j->req->acquire.owner : NULL),
                .request = kind_of(j->req->kind)->name,
                .error = r < 0 ? vgpud_error_name_from_errno(r) : NULL,
        };

        if (j->req->kind == OPS_AUTOSTART)
                return;
        if (r < 0)
                log_event(LOG_NOTICE, LOG_ID_REQUEST_FAILED, &f, "%s%s%s failed: %s",
                          kind_of(j->req->kind)->name, uuid ? " " : "", str_or(uuid, ""),
                          message ? message : g_strerror(-r));
        else
                log_event(LOG_INFO, LOG_ID_REQUEST_DONE, &f, "%s%s%s done", kind_of(j->req->kind)->name,
                          uuid ? " " : "", str_or(uuid, ""));
}

/* The current job gives up its turn and goes on as an active job: the next request may start. */
static void job_yield(Ops *ops, Job *j)
{
        if (ops->current != j)
                return;
        ops->current = NULL;
        g_ptr_array_add(ops->active, j);
        kick(ops);
}

/* End a job: tell its owner, then go on with the next one in a later loop iteration. */
static void job_end(Ops *ops, Job *j, int r, const char *message)
{
        job_reset_state(ops, j); /* before the reply: the caller sees the device as it is now */
        log_request_end(ops, j, r, message);
        if (ops->metrics && j->req->kind != OPS_AUTOSTART)
                metrics_request_done(ops->metrics, kind_of(j->req->kind)->name, r,
                                     (uint64_t)g_get_monotonic_time() - j->submitted_usec);
        if (j->done)
                j->done(r < 0 ? r : 0, r < 0 ? message : NULL, j->uuid[0] ? j->uuid : NULL, j->parent,
                        j->userdata);
        if (ops->current == j)
                ops->current = NULL;
        else {
                bool removed = g_ptr_array_remove(ops->active, j);
                g_assert(removed);
        }
        job_free(j);
        ops->reconcile = true;
        kick(ops);
}

void ops_submit(Ops *ops, OpsRequest *req, OpsDone done, void *userdata)
{
        g_queue_push_tail(&ops->queue, ops_job_new(ops, req, done, userdata));
        kick(ops);
}

unsigned ops_writes_pending(Ops *ops)
{
        return sysfs_writer_pending(ops->writer);
}

unsigned ops_pending(Ops *ops)
{
        return g_queue_get_length(&ops->queue) + (ops->current ? 1 : 0) + ops->active->len;
}

/* Does the active job a hold a reservation on core? */
static bool job_reserves(const Job *a, const char *core)
{
        return (a->wait == WAIT_APPEAR || a->wait == WAIT_CREATE_WRITE || a->reserving) &&
               a->creating_core && g_str_equal(a->creating_core, core);
}

unsigned ops_creates_in_flight(Ops *ops, const Job *j, const char *core)
{
        unsigned n = 0;

        for (guint i = 0; i < ops->active->len; i++) {
                const Job *a = ops->active->pdata[i];

                n += a != j && a->wait == WAIT_CREATE_WRITE && (!core || job_reserves(a, core));
        }
        return n;
}

unsigned ops_core_reserved(Ops *ops, const Job *j, const char *core, const char **ret_parent,
                           const char **ret_type, unsigned *ret_unwritten)
{
        const char *parent = NULL, *type = NULL;
        bool one = true;
        unsigned n = 0, unwritten = 0;

        for (guint i = 0; i < ops->active->len; i++) {
                Job *a = ops->active->pdata[i];

                /* a write in flight counts until its result is handled, its device seen or not */
                if (a == j || !job_reserves(a, core) ||
                    (a->wait != WAIT_CREATE_WRITE && inventory_get_device(ops->inv, a->uuid)))
                        continue;
                unwritten += a->reserving || a->wait == WAIT_CREATE_WRITE;
                if (n++ == 0) {
                        parent = a->parent;
                        type = a->def->mdev_type;
                } else if (!g_str_equal(parent, a->parent) || !g_str_equal(type, a->def->mdev_type))
                        one = false;
        }
        if (ret_parent)
                *ret_parent = n > 0 && one ? parent : NULL;
        if (ret_type)
                *ret_type = n > 0 && one ? type : NULL;
        if (ret_unwritten)
                *ret_unwritten = unwritten;
        return n;
}

unsigned ops_reservations(Ops *ops, const char *core, const char **ret_parent, const char **ret_type)
{
        return ops_core_reserved(ops, NULL, core, ret_parent, ret_type, NULL);
}

int ops_io_fail(char **ret_message, int r, const char *what, const char *path)
{
        const char *name = strerrorname_np(-r);

        g_free(*ret_message);
        if (r == -EROFS)
                *ret_message = g_strdup_printf("%s: %s: the file system is read-only (EROFS)", what, path);
        else
                *ret_message =
                        g_strdup_printf("%s: %s: %s (%s)", what, path, g_strerror(-r), name ? name : "?");
        return r == -EROFS ? -EROFS : -EIO;
}

/* ---- the callouts around the change ---- */

static void job_continue(Ops *ops, Job *j);
static void job_act(Ops *ops, Job *j);

/* Does the current phase run callouts for this job? */
static bool phase_applies(Ops *ops, Job *j)
{
        unsigned phases = j->kind->phases ? j->kind->phases(j) : OPS_PHASE_PRE;

        if (!ops->callouts || !j->targets)
                return false;
        switch (j->phase) {
        case PHASE_PRE: return phases & OPS_PHASE_PRE;
        case PHASE_LIVE: return phases & OPS_PHASE_LIVE;
        case PHASE_POST: return (phases & OPS_PHASE_PRE) && j->state != CALLOUT_STATE_NONE;
        case PHASE_NOTIFY: return true;
        default: return false;
        }
}

static CalloutEvent phase_event(Phase p)
{
        switch (p) {
        case PHASE_PRE: return CALLOUT_EVENT_PRE;
        case PHASE_LIVE: return CALLOUT_EVENT_LIVE;
        case PHASE_POST: return CALLOUT_EVENT_POST;
        default: return CALLOUT_EVENT_NOTIFY;
        }
}

static void on_callout_done(int r, const char *message, const char *owner, void *userdata)
{
        Job *j = userdata;
        Ops *ops = j->ops;
        CalloutTarget *t = j->targets->pdata[j->target];

        j->callout = NULL; /* freed by callouts.c */
        if (owner && !t->owner && j->phase != PHASE_NOTIFY)
                t->owner = g_strdup(owner);
        if (r < 0 && (j->phase == PHASE_PRE || j->phase == PHASE_LIVE)) {
                if (j->req->force)
                        log_warning("Going on despite the callout (forced): %s", message);
                else {
                        log_info("%s", message);
                        j->result = OPS_CALLOUT_REFUSED;
                        j->result_message = g_strdup(message);
                        j->phase = PHASE_NOTIFY; /* no change, no post; state "none" */
                        j->target = 0;
                        job_continue(ops, j);
                        return;
                }
        } else if (r < 0)
                log_warning("%s (ignored: the %s is done)", message, j->kind->action);
        j->target++;
        job_continue(ops, j);
}

/* Run the callouts from where the job is, until one runs (its end continues) or the job reaches its
 * change or its end. */
static void job_continue(Ops *ops, Job *j)
{
        while (j->phase < PHASE_END) {
                CalloutTarget *t;
                CalloutDevice dev;
                int r;

                if (j->phase == PHASE_ACT) {
                        job_act(ops, j);
                        return;
                }
                if (!phase_applies(ops, j) || j->target >= j->targets->len) {
                        j->phase++;
                        j->target = 0;
                        continue;
                }
                t = j->targets->pdata[j->target];
                dev = (CalloutDevice){
                        .type = t->type,
                        .uuid = j->uuid,
                        .parent = t->parent,
                        .input = j->phase == PHASE_NOTIFY ? NULL : t->json,
                };
                r = callouts_run(ops->callouts, phase_event(j->phase), j->kind->action, j->state, &dev,
                                 j->phase == PHASE_NOTIFY ? NULL : t->owner, on_callout_done, j,
                                 &j->callout);
                if (r > 0)
                        return;
                j->target++; /* nothing to run for this one */
        }
        job_end(ops, j, j->result, j->result_message);
}

/* ---- the change ---- */

/* The change is done (r 0) or failed: end, post callouts and notifiers, then the reply. */
static void job_finish(Ops *ops, Job *j, int r, const char *message)
{
        /* no more waiting for the kernel: uevents and the timer must not resume it during post */
        j->wait = WAIT_NONE;
        j->timer = sd_event_source_disable_unref(j->timer);
        job_reset_state(ops, j);
        if (j->kind->end)
                j->kind->end(ops, j, r);
        j->result = r < 0 ? r : 0;
        if (r < 0 && message != j->result_message) {
                g_free(j->result_message);
                j->result_message = g_strdup(message);
        }
        j->state = r < 0 ? CALLOUT_STATE_FAILURE : CALLOUT_STATE_SUCCESS;
        j->phase = PHASE_POST;
        j->target = 0;
        job_yield(ops, j); /* its change is made: the post callouts need no turn */
        job_continue(ops, j);
}

/* After run or resume returned r with message: finished, still waiting with its turn, or waiting for
 * the kernel without it. */
static void job_after(Ops *ops, Job *j, int r, const char *message)
{
        if (r <= 0)
                job_finish(ops, j, r, message);
        else if (j->wait != WAIT_TURN && j->wait != WAIT_DURABLE_TURN)
                job_yield(ops, j);
}

/* The change itself, between the pre and the post callouts. */
static void job_act(Ops *ops, Job *j)
{
        g_autofree char *msg = NULL;
        int r = j->kind->run(ops, j, &msg);

        job_after(ops, j, r, msg); /* 1: it waits and goes on in job_resume() */
}

static bool waits_durable(const Job *j)
{
        return j->wait == WAIT_DURABLE || j->wait == WAIT_DURABLE_TURN;
}

static void job_resume(Ops *ops, Job *j, bool timed_out)
{
        g_autofree char *msg = NULL;
        int r;

        if (j->wait == WAIT_NONE || j->writing || (waits_durable(j) && j->durable_pending > 0) ||
            (j->wait == WAIT_BUSY && j->busy_pending))
                return; /* a durable wait, a write or a Busy check ends with its result (on_durable,
                           on_written, on_busy) */
        r = j->kind->resume(ops, j, timed_out, &msg);
        job_after(ops, j, r, msg);
}

static int on_check(sd_event_source *s, void *userdata)
{
        Job *j = userdata;

        if (j->check == s)
                job_resume(j->ops, j, false);
        return 0;
}

void ops_job_unreserve(Ops *ops, Job *j)
{
        Job *c = ops->current;

        if (!j->reserving)
                return;
        j->reserving = false;
        /* no uevent will say that this room is free again: the job waiting its turn looks, from the loop */
        if (c && c->wait == WAIT_TURN) {
                c->check = sd_event_source_disable_unref(c->check);
                (void)sd_event_add_defer(ops->event, &c->check, on_check, c);
        }
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        Job *j = userdata;
        Ops *ops = j->ops;

        if (j->timer != s)
                return 0;
        job_resume(ops, j, true);
        /* a creation that timed out no longer holds its core: the job waiting its turn may go on */
        if (ops->current && ops->current->wait == WAIT_TURN)
                job_resume(ops, ops->current, false);
        return 0;
}

/* A change of job j has its result (from the loop, flusher.h). The flusher answers in the order of
 * submission, so it is the job's first change still without one. */
static void on_durable(int r, void *userdata)
{
        Job *j = userdata;
        guint i = 0;

        while (i < j->durable->len && g_array_index(j->durable, int, i) != -EINPROGRESS)
                i++;
        g_assert(i < j->durable->len && j->durable_pending > 0);
        g_array_index(j->durable, int, i) = r;
        if (--j->durable_pending == 0 && waits_durable(j))
                job_resume(j->ops, j, false);
}

void ops_job_commit(Ops *ops, Job *j, FileChange *c)
{
        int in_progress = -EINPROGRESS;

        if (!j->durable)
                j->durable = g_array_new(FALSE, FALSE, sizeof(int));
        g_array_append_val(j->durable, in_progress);
        j->durable_pending++;
        flusher_submit(ops->flusher, c, on_durable, j);
}

void ops_definition_dir_done(Ops *ops, const char *parent)
{
        if (flusher_pending(ops->flusher) == 0)
                store_remove_end(ops_definitions_dir_for(ops, parent), parent);
}

int ops_job_durable_end(Job *j)
{
        g_assert(j->durable && j->durable->len > 0);
        j->wait = WAIT_NONE;
        return g_array_index(j->durable, int, j->durable->len - 1);
}

/* After a create's result: every job waiting its turn, and the head of the queue held for the writes in
 * flight, look again, from the loop. */
static void writes_settled(Ops *ops)
{
        for (guint i = 0; i <= ops->active->len; i++) {
                Job *c = i < ops->active->len ? ops->active->pdata[i] : ops->current;

                if (!c || c->wait != WAIT_TURN)
                        continue;
                c->check = sd_event_source_disable_unref(c->check);
                (void)sd_event_add_defer(ops->event, &c->check, on_check, c);
        }
        kick(ops);
}

/* A job's write returned r (from the loop, sysfs-writer.h). */
static void on_written(int r, void *userdata)
{
        Job *j = userdata;
        Ops *ops = j->ops;
        bool create = j->wait == WAIT_CREATE_WRITE;

        g_assert(j->writing);
        j->writing = false;
        j->write_result = r;
        inventory_set_device_writing(ops->inv, j->uuid, false);
        job_resume(ops, j, false);
        if (create)
                writes_settled(ops);
}

int ops_job_write(Ops *ops, Job *j, Wait what, const char *path, const char *value)
{
        g_assert(what == WAIT_CREATE_WRITE || what == WAIT_REMOVE_WRITE);
        g_assert(j->kind->resume && !j->writing);
        j->wait = what;
        j->writing = true;
        j->write_result = 0;
        /* no timeout: the kernel's write cannot be taken back, and what it did must be handled */
        j->timer = sd_event_source_disable_unref(j->timer);
        j->check = sd_event_source_disable_unref(j->check);
        inventory_set_device_writing(ops->inv, j->uuid, true);
        sysfs_writer_submit(ops->writer, path, value, on_written, j);
        return 1;
}

int ops_job_write_end(Job *j)
{
        Backend *b = g_steal_pointer(&j->write_backend);
        bool create = j->wait == WAIT_CREATE_WRITE;

        g_assert(create || j->wait == WAIT_REMOVE_WRITE);
        j->wait = WAIT_NONE;
        if (!b)
                return j->write_result < 0 ? j->write_result : 1;
        return (create ? b->class->create_end : b->class->remove_end)(b, g_steal_pointer(&j->write_state),
                                                                      j->write_result);
}

/* The Busy check's answer for job j (from the loop, vfio-busy-worker.h). */
static void on_busy(int r, GHashTable *holders, void *userdata)
{
        Job *j = userdata;

        g_assert(j->busy_pending);
        j->busy_pending = false;
        j->busy_result = r;
        j->busy_holders = holders ? g_hash_table_ref(holders) : NULL;
        job_resume(j->ops, j, false);
}

int ops_job_ask_busy(Ops *ops, Job *j, char **uuids)
{
        g_autoptr(GPtrArray) keys = g_ptr_array_new();
        g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);

        for (char **u = uuids; u && *u; u++) {
                char *dir = ops_device_dir(ops, *u);

                if (!dir)
                        continue; /* not running: nothing to hold */
                g_ptr_array_add(keys, *u);
                g_ptr_array_add(dirs, dir);
        }
        if (keys->len == 0)
                return 0;
        g_ptr_array_add(keys, NULL);
        g_ptr_array_add(dirs, NULL);
        g_assert(!j->busy_pending && !j->busy_holders);
        j->timer = sd_event_source_disable_unref(j->timer); /* an earlier wait's: none for this one */
        j->busy_pending = true;
        j->wait = WAIT_BUSY;
        vfio_busy_ask(ops->busy, (char **)keys->pdata, (char **)dirs->pdata, on_busy, j);
        return 1;
}

int ops_job_busy_end(Job *j, GHashTable **ret_holders)
{
        g_assert(j->wait == WAIT_BUSY && !j->busy_pending);
        j->wait = WAIT_NONE;
        j->busy_checked = true;
        *ret_holders = g_steal_pointer(&j->busy_holders);
        return j->busy_result;
}

int ops_fail_busy(char **ret_message, const char *uuid, const VfioHolder *holder)
{
        return ops_fail(ret_message, -EBUSY,
                        "Device %s is in use: process %d (%s) has its VFIO group %s open", uuid,
                        (int)holder->pid, holder->comm, holder->group);
}

/* The time j's request may take: its own timeout, or the default. */
static uint64_t job_timeout_usec(const Job *j)
{
        return j->req->timeout_usec ? j->req->timeout_usec : OPS_DEFAULT_TIMEOUT_USEC;
}

int ops_job_wait(Ops *ops, Job *j, Wait what)
{
        uint64_t timeout = job_timeout_usec(j);
        int r;

        g_assert(j->kind->resume);
        j->wait = what;
        if (waits_durable(j)) {
                /* no timeout: an fsync cannot be taken back, and the reply must tell how it went */
                g_assert(j->durable_pending > 0);
                return 0;
        }
        if (what == WAIT_TURN && j->timer)
                return 0; /* its turn may come with any batch of uevents: the timeout stays */
        j->timer = sd_event_source_disable_unref(j->timer);
        r = sd_event_add_time_relative(ops->event, &j->timer, CLOCK_MONOTONIC, timeout, 0, on_timeout, j);
        if (r < 0)
                return r;
        /* and once from the loop: a backend that is done when its write returns (a VF) sends no uevent */
        j->check = sd_event_source_disable_unref(j->check);
        return sd_event_add_defer(ops->event, &j->check, on_check, j);
}

void ops_uevents(Ops *ops, char **parents, char **devices, char **registered)
{
        /* the active jobs first (a creation that finishes frees its core), then the current one */
        g_autoptr(GPtrArray) active = g_ptr_array_copy(ops->active, NULL, NULL);

        for (guint i = 0; i < active->len; i++)
                if (g_ptr_array_find(ops->active, active->pdata[i], NULL)) /* not ended meanwhile */
                        job_resume(ops, active->pdata[i], false);
        if (ops->current)
                job_resume(ops, ops->current, false);
        for (char **p = registered; p && *p; p++)
                if (inventory_has_parent(ops->inv, *p))
                        ops_autostart(ops, *p);
        if (devices && *devices)
                ops_reconcile_leases_soon(ops);
}

void ops_reconcile_leases_soon(Ops *ops)
{
        ops->reconcile = true;
        kick(ops);
}

static uint64_t now_monotonic(Ops *ops)
{
        uint64_t now = 0;

        (void)sd_event_now(ops->event, CLOCK_MONOTONIC, &now);
        return now;
}

bool ops_job_may_wait_for_writes(Ops *ops, const Job *j)
{
        return j->held_until == 0 || now_monotonic(ops) < j->held_until;
}

/* The held head's request timed out waiting for the creates in flight: it decides now. */
static int on_held_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        Ops *ops = userdata;

        (void)s, (void)usec;
        ops->held = false;
        kick(ops);
        return 0;
}

/* j goes back to the head of the queue until the creates in flight have their results, or until its
 * request's timeout from the first time it did. */
static void hold_for_writes(Ops *ops, Job *j)
{
        if (j->held_until == 0)
                j->held_until = now_monotonic(ops) + job_timeout_usec(j);
        ops->held = true;
        if (!ops->held_timer) {
                if (sd_event_add_time(ops->event, &ops->held_timer, CLOCK_MONOTONIC, j->held_until, 0,
                                      on_held_timeout, ops) < 0) {
                        ops->held = false; /* without a timer it would wait without an end: not at all */
                        return;
                }
                (void)sd_event_source_set_description(ops->held_timer, "ops-held");
        } else {
                (void)sd_event_source_set_time(ops->held_timer, j->held_until);
                (void)sd_event_source_set_enabled(ops->held_timer, SD_EVENT_ONESHOT);
        }
}

/* The next job: prepare it, then its pre callouts, which lead to the change. */
static int on_kick(sd_event_source *s, void *userdata)
{
        Ops *ops = userdata;
        g_autofree char *msg = NULL;
        Job *j;
        int r;

        if (ops->current)
                return 0;
        if (ops->held && ops_creates_in_flight(ops, NULL, NULL) > 0)
                return 0; /* kicked again when a create's result is handled (writes_settled()), or at
                           * the held job's timeout */
        ops->held = false;
        if (ops->held_timer)
                (void)sd_event_source_set_enabled(ops->held_timer, SD_EVENT_OFF);
        j = g_queue_peek_head(&ops->queue);
        if (!j) {
                /* the leases against devices and definitions, once no job runs at all */
                if (ops->reconcile && ops->active->len == 0) {
                        ops->reconcile = false;
                        ops_reconcile_leases(ops);
                }
                return 0;
        }
        if (!job_may_start(ops, j))
                return 0; /* kicked again when an active job ends */
        g_queue_pop_head(&ops->queue);
        ops->current = j;
        r = j->kind->prepare(ops, j, &msg);
        if (r == OPS_AFTER_WRITES) { /* back to its place, prepared again once they are in */
                ops->current = NULL;
                g_queue_push_head(&ops->queue, j);
                hold_for_writes(ops, j);
                kick(ops);
                return 0;
        }
        if (r != 0) { /* not even clear what it is about, or answered already: no callouts */
                job_end(ops, j, r, msg);
                return 0;
        }
        j->phase = PHASE_PRE;
        job_continue(ops, j);
        return 0;
}

/* ---- the engine ---- */

void ops_set_callouts(Ops *ops, Callouts *callouts)
{
        ops->callouts = callouts;
}

void ops_set_leases(Ops *ops, struct Leases *leases, OpsLeaseNotify notify, void *userdata)
{
        ops->leases = leases;
        ops->lease_notify = notify;
        ops->lease_userdata = userdata;
}

bool ops_idle(Ops *ops)
{
        return ops_pending(ops) == 0 && g_hash_table_size(ops->autostart) == 0;
}

void ops_set_metrics(Ops *ops, struct Metrics *metrics)
{
        ops->metrics = metrics;
}

VfioBusyWorker *ops_busy_worker(Ops *ops)
{
        return ops->busy;
}

int ops_new(sd_event *event, Inventory *inv, IntentLog *log, Ops **ret)
{
        g_autoptr(IntentLog) owned = log;
        g_autoptr(Ops) ops = g_new0(Ops, 1);
        int r;

        ops->event = sd_event_ref(event);
        ops->inv = inv;
        g_queue_init(&ops->queue);
        ops->active = g_ptr_array_new();
        ops->autostart = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        r = sd_event_add_defer(event, &ops->kick, on_kick, ops);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(ops->kick, "ops-kick");
        r = sd_event_source_set_enabled(ops->kick, SD_EVENT_OFF);
        if (r < 0)
                return r;
        r = ops_autostart_setup(ops);
        if (r < 0)
                return r;
        r = flusher_new(event, TAKE_PTR(owned), &ops->flusher);
        if (r < 0)
                return r;
        r = sysfs_writer_new(event, OPS_WRITERS_MAX, &ops->writer);
        if (r < 0)
                return r;
        r = vfio_busy_worker_new(event, &ops->busy);
        if (r < 0)
                return r;
        *ret = g_steal_pointer(&ops);
        return 0;
}

void ops_free(Ops *ops)
{
        Job *j;

        if (!ops)
                return;
        /* what is on its way to the disk gets there; the jobs waiting for it are answered below */
        g_clear_pointer(&ops->flusher, flusher_free);
        /* a write the kernel holds is not waited for; its job is answered below */
        g_clear_pointer(&ops->writer, sysfs_writer_free);
        g_clear_pointer(&ops->busy, vfio_busy_worker_free); /* no Busy answer comes after this */
        if (ops->current) {
                j = ops->current;
                ops->current = NULL;
                if (j->done)
                        j->done(-ECANCELED, "vgpud is stopping", j->uuid[0] ? j->uuid : NULL, j->parent,
                                j->userdata);
                job_free(j);
        }
        while (ops->active && ops->active->len > 0) {
                j = g_ptr_array_steal_index(ops->active, ops->active->len - 1);
                if (j->done)
                        j->done(-ECANCELED, "vgpud is stopping", j->uuid[0] ? j->uuid : NULL, j->parent,
                                j->userdata);
                job_free(j);
        }
        if (ops->active)
                g_ptr_array_unref(ops->active);
        while ((j = g_queue_pop_head(&ops->queue))) {
                if (j->done)
                        j->done(-ECANCELED, "vgpud is stopping", NULL, NULL, j->userdata);
                job_free(j);
        }
        sd_event_source_disable_unref(ops->kick);
        sd_event_source_disable_unref(ops->held_timer);
        sd_event_source_disable_unref(ops->autostart_timer);
        if (ops->autostart)
                g_hash_table_unref(ops->autostart);
        sd_event_unref(ops->event);
        g_free(ops);
}
