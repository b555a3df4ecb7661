/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The lifecycle engine: a FIFO of requests run one at a time on the event loop. Start writes the UUID
 * to the type's create file and waits for the device's add uevent, then writes its attributes; stop
 * writes its remove file and waits for it to go; autostart queues starts for "auto" definitions.
 * Define, undefine and modify are in ops-definitions.c. Around each request run mdevctl's callout
 * scripts (callouts.c): pre, the change, post, the notifiers, then the reply. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "log.h"
#include "mdev-def.h"
#include "store.h"
#include "uuid.h"
#include "leases.h"
#include "alloc-host.h"
#include "ops-internal.h"

/* Autostart waits this long for more uevents of a parent before it tries: one attempt per burst. */
#define AUTOSTART_DELAY_USEC (100ULL * 1000)

OpsRequest *ops_request_new(OpsKind kind)
{
        OpsRequest *req = g_new0(OpsRequest, 1);

        req->kind = kind;
        req->defined = true;
        req->del_index = -1;
        req->add_index = -1;
        req->place_numa = -1;
        return req;
}

void ops_request_free(OpsRequest *req)
{
        if (!req)
                return;
        g_free(req->parent);
        g_free(req->uuid);
        g_free(req->definition);
        g_free(req->new_definition);
        g_free(req->new_type);
        g_free(req->new_start);
        g_free(req->add_name);
        g_free(req->add_value);
        g_free(req->profile);
        g_free(req->owner);
        g_free(req->what);
        g_free(req->vm_uuid);
        g_free(req->place_parent);
        g_free(req->place_board);
        g_strfreev(req->place_parents);
        g_free(req->policy);
        if (req->out)
                g_ptr_array_unref(req->out);
        g_free(req);
}

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

static void job_free(Job *j)
{
        if (!j)
                return;
        callout_run_cancel(j->callout);
        if (j->targets)
                g_ptr_array_unref(j->targets);
        g_strfreev(j->parents);
        g_strfreev(j->leased);
        g_free(j->result_message);
        ops_request_free(j->req);
        g_free(j->autostart_parent);
        g_free(j->parent);
        mdev_def_free(j->def);
        sd_event_source_disable_unref(j->timer);
        g_free(j->message);
        g_free(j);
}

const char *ops_definitions_dir(Ops *ops)
{
        return inventory_definitions_dir(ops->inv);
}

/* ---- the queue ---- */

static void kick(Ops *ops)
{
        if (!ops->current && !g_queue_is_empty(&ops->queue))
                (void)sd_event_source_set_enabled(ops->kick, SD_EVENT_ONESHOT);
}

static void job_reset_state(Ops *ops, Job *j)
{
        if (j->state_set)
                inventory_set_device_state(ops->inv, j->uuid, NULL);
        j->state_set = false;
}

/* End the current job: tell its owner, then go on with the next one in a later loop iteration. */
static void job_end(Ops *ops, Job *j, int r, const char *message)
{
        g_assert(ops->current == j);
        job_reset_state(ops, j); /* before the reply: the caller sees the device as it is now */
        if (r < 0)
                log_debug("Request failed: %s", message ? message : g_strerror(-r));
        if (j->done)
                j->done(r < 0 ? r : 0, r < 0 ? message : NULL, j->uuid[0] ? j->uuid : NULL, j->parent,
                        j->userdata);
        ops->current = NULL;
        job_free(j);
        kick(ops);
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

/* ---- the callouts around a request ---- */

static const char *const action_names[] = {
        [OPS_START] = "start",
        [OPS_STOP] = "stop",
        [OPS_DEFINE] = "define",
        [OPS_UNDEFINE] = "undefine",
        [OPS_MODIFY] = "modify",
        /* as the callouts see them: an acquire starts a device, a release stops it */
        [OPS_ACQUIRE] = "start",
        [OPS_RELEASE] = "stop",
};

static void job_continue(Ops *ops, Job *j);
static void job_act(Ops *ops, Job *j);

/* Does the current phase run callouts for this job? Modify runs pre and post only when it changes the
 * definition, live only when it changes the running device. */
static bool phase_applies(Ops *ops, Job *j)
{
        bool defined = j->req->kind != OPS_MODIFY || j->req->defined;

        if (!ops->callouts || !j->targets)
                return false;
        switch (j->phase) {
        case PHASE_PRE: return defined;
        case PHASE_LIVE: return j->req->kind == OPS_MODIFY && j->req->live;
        case PHASE_POST: return defined && j->state != CALLOUT_STATE_NONE;
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
        Ops *ops = userdata;
        Job *j = ops->current;
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
                log_warning("%s (ignored: the %s is done)", message, action_names[j->req->kind]);
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
                r = callouts_run(ops->callouts, phase_event(j->phase), action_names[j->req->kind], j->state,
                                 &dev, j->phase == PHASE_NOTIFY ? NULL : t->owner, on_callout_done, ops,
                                 &j->callout);
                if (r > 0)
                        return;
                j->target++; /* nothing to run for this one */
        }
        job_end(ops, j, j->result, j->result_message);
}

/* The change is done (r 0) or failed: post callouts and notifiers, then the reply. */
void ops_job_finish(Ops *ops, Job *j, int r, const char *message)
{
        g_assert(ops->current == j);
        /* no more waiting for the kernel: uevents and the timer must not resume it during post */
        j->step = STEP_NONE;
        j->timer = sd_event_source_disable_unref(j->timer);
        job_reset_state(ops, j);
        if (!j->req) { /* an autostart job */
                job_end(ops, j, r, message);
                return;
        }
        if (j->req->kind == OPS_ACQUIRE)
                ops_acquire_end(ops, j, r);
        j->result = r < 0 ? r : 0;
        if (r < 0 && message != j->result_message) {
                g_free(j->result_message);
                j->result_message = g_strdup(message);
        }
        j->state = r < 0 ? CALLOUT_STATE_FAILURE : CALLOUT_STATE_SUCCESS;
        j->phase = PHASE_POST;
        j->target = 0;
        job_continue(ops, j);
}

void ops_set_callouts(Ops *ops, Callouts *callouts)
{
        ops->callouts = callouts;
}

void ops_set_leases(Ops *ops, Leases *leases, OpsLeaseNotify notify, void *userdata)
{
        ops->leases = leases;
        ops->lease_notify = notify;
        ops->lease_userdata = userdata;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata);

int ops_job_wait(Ops *ops, Job *j, Step step)
{
        uint64_t timeout = j->req && j->req->timeout_usec ? j->req->timeout_usec : OPS_DEFAULT_TIMEOUT_USEC;

        j->step = step;
        j->timer = sd_event_source_disable_unref(j->timer);
        return sd_event_add_time_relative(ops->event, &j->timer, CLOCK_MONOTONIC, timeout, 0, on_timeout,
                                          ops);
}

/* ---- sysfs writes ---- */

/* Write value to a sysfs file in one write() and close it, as the kernel's store functions (and the
 * simulator, which acts on close) want. */
static int sysfs_write(const char *path, const char *value, int extra_flags)
{
        _cleanup_close_ int fd = -1;
        size_t len = strlen(value);
        ssize_t n;

        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY | extra_flags, 0644);
        if (fd < 0)
                return negative_errno();
        n = write(fd, value, len);
        if (n < 0)
                return negative_errno();
        if ((size_t)n != len)
                return -EIO;
        if (close(TAKE_FD(fd)) < 0)
                return negative_errno();
        return 0;
}

int ops_write_remove(const char *uuid)
{
        g_autofree char *path = g_strdup_printf("%s/%s/remove", SYSFS_MDEV_DEVICES, uuid);
        return sysfs_write(path, "1", 0);
}

/* Write the attributes in order, as mdevctl does (creating the file the way its fs::write does). */
int ops_write_attrs(const char *uuid, const MdevDef *def, char **ret_message)
{
        for (guint i = 0; i < def->attrs->len; i++) {
                MdevAttr *a = def->attrs->pdata[i];
                g_autofree char *path = NULL;
                int r;

                if (!mdev_name_is_valid(a->name)) {
                        *ret_message = g_strdup_printf("Invalid attribute name \"%s\"", a->name);
                        return -EINVAL;
                }
                path = g_strdup_printf("%s/%s/%s", SYSFS_MDEV_DEVICES, uuid, a->name);
                r = sysfs_write(path, a->value, O_CREAT);
                if (r < 0) {
                        *ret_message = g_strdup_printf("Cannot write attribute %u (%s) of %s: %s", i,
                                                       a->name, uuid, g_strerror(-r));
                        return OPS_DRIVER_REFUSED;
                }
                log_debug("%s: %s = %s", uuid, a->name, a->value);
        }
        return 0;
}

/* ---- lookups ---- */

static const char *type_label(const SysfsType *t)
{
        return t->name && *t->name ? t->name : t->id;
}

static char *parent_not_found(Inventory *inv, const char *name)
{
        g_autoptr(GPtrArray) parents = inventory_list_parents(inv);

        for (guint i = 0; i < parents->len; i++) {
                InvParent *p = parents->pdata[i];
                if (g_ascii_strcasecmp(p->name, name) == 0)
                        return g_strdup_printf("Unable to find parent device '%s'. Did you mean '%s'?", name,
                                               p->name);
        }
        return g_strdup_printf("Unable to find parent device '%s'", name);
}

/* "id (name), ..." of every type of p, or only those with instances left (with the count). */
static char *list_types(const InvParent *p, bool available_only)
{
        g_autoptr(GString) s = g_string_new(NULL);

        for (guint i = 0; i < p->sys->types->len; i++) {
                SysfsType *t = p->sys->types->pdata[i];

                if (available_only && t->available_instances <= 0)
                        continue;
                if (s->len > 0)
                        g_string_append(s, ", ");
                if (available_only)
                        g_string_append_printf(s, "%s (%s, %d left)", t->id, type_label(t),
                                               t->available_instances);
                else
                        g_string_append_printf(s, "%s (%s)", t->id, type_label(t));
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
}

/* available_instances is 0: say why, with the model's view of the core. */
static int diagnose_capacity(Ops *ops, const InvParent *p, guint type_index, char **ret_message)
{
        const SysfsType *t = p->sys->types->pdata[type_index];
        const VgpuType *model = p->models->pdata[type_index];
        g_autofree char *fit = list_types(p, true);
        g_autofree char *fit_text =
                *fit ? g_strdup_printf("Types that fit now: %s", fit) : g_strdup("No type fits now.");
        int r = core_capacity_check(&p->cap, model);

        if (r == -EXDEV) {
                g_autoptr(AllocHost) h = alloc_host_new(ops->inv);
                g_autofree char *running = alloc_host_core_running(ops->inv, alloc_host_core_of(h, p->name));
                PlaceRequest elsewhere = {.profile = t->id, .numa_node = -1};
                g_autofree char *cores = alloc_host_cores_that_fit(h, &elsewhere);

                /* mdevctl's sentence first (scripts match on it), then the diagnosis */
                *ret_message = g_strdup_printf(
                        "No available instances of %s on %s: GPU core %s runs %" PRIu64
                        " MiB vGPUs (%s); %s needs %" PRIu64 " MiB. %s%s %s%s.",
                        t->id, p->name, p->core, p->cap.size_class_mib, running, type_label(t),
                        vgpu_type_size_class(model), fit_text, g_str_has_suffix(fit_text, ".") ? "" : ".",
                        *cores ? "GPU cores where it fits: " : "It fits on no other GPU core", cores);
                return -EXDEV;
        }
        if (p->cap.capacity > 0)
                *ret_message = g_strdup_printf(
                        "No available instances of %s on %s: %s; GPU core %s holds %u of %u vGPUs. %s",
                        t->id, p->name, type_label(t), p->core, p->cap.used, p->cap.capacity, fit_text);
        else
                *ret_message = g_strdup_printf("No available instances of %s on %s: %s. %s", t->id, p->name,
                                               type_label(t), fit_text);
        return -ENOSPC;
}

bool ops_device_running(Ops *ops, const char *uuid)
{
        g_autoptr(SysfsDevice) d = NULL;

        return inventory_get_device(ops->inv, uuid) || sysfs_read_device(uuid, &d) >= 0;
}

/* ---- start ---- */

static void start_rollback(Ops *ops, Job *j, int error, char *message);

/* What to create where: the UUID, the parent and the definition. */
static int start_prepare(Ops *ops, Job *j, char **ret_message)
{
        OpsRequest *req = j->req;
        int r;

        if (str_empty(req->definition) && str_empty(req->uuid)) {
                *ret_message = g_strdup("Device is insufficiently specified: give a UUID or a definition");
                return -EINVAL;
        }
        r = ops_parse_uuid(req->uuid, true, j->uuid, ret_message);
        if (r < 0)
                return r;

        if (!str_empty(req->definition)) {
                g_autoptr(StoredDef) stored = NULL;
                g_autofree char *why = NULL, *ignored = NULL;

                if (str_empty(req->parent)) {
                        *ret_message = g_strdup("No parent specified");
                        return -EINVAL;
                }
                r = mdev_def_parse(req->definition, strlen(req->definition), &j->def, &why);
                if (r < 0) {
                        *ret_message =
                                g_strdup_printf("Invalid definition: %s", why ? why : "not valid JSON");
                        return -EINVAL;
                }
                j->parent = g_strdup(req->parent);
                /* as mdevctl: a definition of this UUID on this parent must not say otherwise */
                if (store_parent_name_is_valid(j->parent) &&
                    ops_find_definition(ops, j->parent, j->uuid, &stored, &ignored) >= 0 &&
                    g_strcmp0(stored->def->mdev_type, j->def->mdev_type) != 0) {
                        *ret_message = g_strdup_printf("Device %s already exists on parent %s with type %s",
                                                       j->uuid, j->parent, stored->def->mdev_type);
                        return -EEXIST;
                }
        } else {
                g_autoptr(StoredDef) stored = NULL;

                r = ops_find_definition(ops, req->parent, j->uuid, &stored, ret_message);
                if (r < 0)
                        return r;
                j->parent = g_strdup(stored->parent);
                j->def = g_steal_pointer(&stored->def);
        }
        if (!mdev_name_is_valid(j->parent)) {
                *ret_message = g_strdup_printf("Invalid parent name '%s'", j->parent);
                return -EINVAL;
        }
        ops_job_add_target(j, j->parent, j->def);
        return 0;
}

/* Everything before the device exists: the checks, the write to create. Returns 1 when it waits for the
 * device. */
int ops_start_run(Ops *ops, Job *j, char **ret_message)
{
        g_autofree char *create = NULL;
        const SysfsType *t = NULL;
        guint type_index = 0;
        InvParent *p;
        int r;

        /* the parent as it is now, availability included */
        inventory_parent_changed(ops->inv, j->parent);
        p = inventory_get_parent(ops->inv, j->parent);
        if (!p) {
                *ret_message = parent_not_found(ops->inv, j->parent);
                return -ENOENT;
        }
        for (guint i = 0; i < p->sys->types->len && !t; i++)
                if (g_str_equal(((SysfsType *)p->sys->types->pdata[i])->id, j->def->mdev_type)) {
                        t = p->sys->types->pdata[i];
                        type_index = i;
                }
        if (!t) {
                g_autofree char *types = list_types(p, false);
                *ret_message = g_strdup_printf("Type %s does not exist on %s. Its types: %s",
                                               j->def->mdev_type, p->name, *types ? types : "none");
                return -ENOENT;
        }
        if (ops_device_running(ops, j->uuid)) {
                *ret_message = g_strdup_printf("Device %s already exists", j->uuid);
                return -EEXIST;
        }
        /* the size rule before sysfs is touched (the driver's count is the other half) */
        if (t->available_instances == 0 ||
            core_capacity_check(&p->cap, p->models->pdata[type_index]) == -EXDEV)
                return diagnose_capacity(ops, p, type_index, ret_message);

        /* its object, once it appears, says "starting" until the attributes are written */
        inventory_set_device_state(ops->inv, j->uuid, "starting");
        j->state_set = true;
        create = g_strdup_printf("%s/%s/mdev_supported_types/%s/create", SYSFS_MDEV_BUS_CLASS, p->name,
                                 t->id);
        r = sysfs_write(create, j->uuid, 0);
        if (r < 0) {
                *ret_message = g_strdup_printf("The driver refused to create %s (%s) on %s: %s", t->id,
                                               type_label(t), p->name, g_strerror(-r));
                return OPS_DRIVER_REFUSED;
        }
        log_debug("Wrote %s to %s", j->uuid, create);
        r = ops_job_wait(ops, j, STEP_WAIT_ADD);
        if (r < 0)
                return ops_fail(ret_message, r, "Cannot wait for %s: %s", j->uuid, g_strerror(-r));
        return 1;
}

/* The device is there: its attributes, then done. */
static void start_device_appeared(Ops *ops, Job *j)
{
        InvDevice *d = inventory_get_device(ops->inv, j->uuid);
        g_autofree char *msg = NULL;
        int r;

        j->timer = sd_event_source_disable_unref(j->timer);
        if (g_strcmp0(d->sys->parent, j->parent) != 0 ||
            g_strcmp0(d->sys->type_id, j->def->mdev_type) != 0) {
                /* someone else made this UUID elsewhere in the meantime: not ours to remove */
                msg = g_strdup_printf("Device %s appeared as %s on %s", j->uuid,
                                      d->sys->type_id ? d->sys->type_id : "an unknown type", d->sys->parent);
                ops_job_finish(ops, j, -EEXIST, msg);
                return;
        }
        r = ops_write_attrs(j->uuid, j->def, &msg);
        if (r < 0) {
                start_rollback(ops, j, r, g_steal_pointer(&msg));
                return;
        }
        log_info("Started %s (%s on %s)", j->uuid, j->def->mdev_type, j->parent);
        inventory_set_start_failure(ops->inv, j->parent, j->uuid, NULL); /* whoever started it */
        ops_job_finish(ops, j, 0, NULL);
}

/* Remove the device again and report the original error once it is gone. */
static void start_rollback(Ops *ops, Job *j, int error, char *message)
{
        int r;

        j->error = error;
        j->message = message;
        log_warning("Starting %s failed after it appeared, removing it: %s", j->uuid, message);
        inventory_set_device_state(ops->inv, j->uuid, "stopping");
        r = ops_write_remove(j->uuid);
        if (r >= 0)
                r = ops_job_wait(ops, j, STEP_WAIT_ROLLBACK);
        if (r < 0) {
                log_warning_errno(r, "Cannot remove %s again: %m", j->uuid);
                ops_job_finish(ops, j, j->error, j->message);
        }
}

/* ---- stop ---- */

/* The device to stop; its callouts see it as sysfs shows it (type, manual, no attributes), as mdevctl's
 * do. */
static int stop_prepare(Ops *ops, Job *j, char **ret_message)
{
        g_autoptr(MdevDef) def = mdev_def_new();
        InvDevice *d;
        int r;

        r = ops_parse_uuid(j->req->uuid, false, j->uuid, ret_message);
        if (r < 0)
                return r;
        /* the inventory may not have seen the device yet: make sure, so its removal is noticed */
        inventory_device_changed(ops->inv, j->uuid);
        d = inventory_get_device(ops->inv, j->uuid);
        if (!d)
                return ops_fail(ret_message, -ENOENT, "Device %s is not running", j->uuid);
        j->parent = g_strdup(d->sys->parent);
        def->mdev_type = g_strdup(d->sys->type_id);
        ops_job_add_target(j, j->parent, def);
        return 0;
}

/* Returns 1 when it waits for the device to go. */
static int stop_run(Ops *ops, Job *j, char **ret_message)
{
        int r;

        /* the pre callouts may have taken a while */
        inventory_device_changed(ops->inv, j->uuid);
        if (!inventory_get_device(ops->inv, j->uuid))
                return ops_fail(ret_message, -ENOENT, "Device %s is not running", j->uuid);
        inventory_set_device_state(ops->inv, j->uuid, "stopping");
        j->state_set = true;
        r = ops_write_remove(j->uuid);
        if (r == -ENOENT)
                return ops_fail(ret_message, -ENOENT, "Device %s is not running", j->uuid);
        if (r == -EBUSY)
                return ops_fail(ret_message, -EBUSY, "Device %s is in use", j->uuid);
        if (r < 0)
                return ops_fail(ret_message, OPS_DRIVER_REFUSED, "The driver refused to remove %s: %s",
                                j->uuid, g_strerror(-r));
        r = ops_job_wait(ops, j, STEP_WAIT_REMOVE);
        if (r < 0)
                return ops_fail(ret_message, r, "Cannot wait for %s: %s", j->uuid, g_strerror(-r));
        return 1;
}

/* ---- autostart ---- */

static void autostart_done(int r, const char *message, const char *uuid, const char *parent, void *userdata)
{
        Ops *ops = userdata;

        if (r < 0)
                log_warning("Autostart of the definition %s/%s failed: %s", parent ? parent : "?",
                            uuid ? uuid : "?", message ? message : g_strerror(-r));
        if (parent && uuid)
                inventory_set_start_failure(ops->inv, parent, uuid,
                                            r < 0 ? (message ? message : g_strerror(-r)) : NULL);
}

/* Queue a start, right after the current job, for every auto definition of the parent not running. */
static int autostart_run(Ops *ops, Job *j)
{
        g_autoptr(GPtrArray) defs = inventory_list_definitions(ops->inv);
        GList *after = NULL;
        unsigned n = 0;

        if (!inventory_has_parent(ops->inv, j->autostart_parent))
                return 0;
        for (guint i = 0; i < defs->len; i++) {
                InvDefinition *def = defs->pdata[i];
                Job *s;

                if (!def->def->autostart || !g_str_equal(def->parent, j->autostart_parent) ||
                    ops_device_running(ops, def->uuid))
                        continue;
                s = g_new0(Job, 1);
                s->req = ops_request_new(OPS_START);
                s->req->parent = g_strdup(def->parent);
                s->req->uuid = g_strdup(def->uuid);
                s->done = autostart_done;
                s->userdata = ops;
                /* in order, before what the clients queued meanwhile */
                if (!after) {
                        g_queue_push_head(&ops->queue, s);
                        after = ops->queue.head;
                } else {
                        g_queue_insert_after(&ops->queue, after, s);
                        after = after->next;
                }
                n++;
        }
        if (n > 0)
                log_info("Autostart: %u definition%s of %s", n, n == 1 ? "" : "s", j->autostart_parent);
        return 0;
}

static int compare_strptr(gconstpointer a, gconstpointer b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int on_autostart_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Ops *ops = userdata;
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        GHashTableIter it;
        gpointer k;

        g_hash_table_iter_init(&it, ops->autostart);
        while (g_hash_table_iter_next(&it, &k, NULL)) {
                g_hash_table_iter_steal(&it);
                g_ptr_array_add(names, k);
        }
        g_ptr_array_sort(names, compare_strptr);
        for (guint i = 0; i < names->len; i++) {
                Job *j = g_new0(Job, 1);
                j->autostart_parent = g_strdup(names->pdata[i]);
                g_queue_push_tail(&ops->queue, j);
        }
        kick(ops);
        return 0;
}

void ops_autostart(Ops *ops, const char *parent)
{
        if (!parent) {
                g_autoptr(GPtrArray) defs = inventory_list_definitions(ops->inv);
                for (guint i = 0; i < defs->len; i++) {
                        InvDefinition *d = defs->pdata[i];
                        if (d->def->autostart)
                                g_hash_table_add(ops->autostart, g_strdup(d->parent));
                }
        } else
                g_hash_table_add(ops->autostart, g_strdup(parent));
        if (g_hash_table_size(ops->autostart) == 0)
                return;
        (void)sd_event_source_set_time_relative(ops->autostart_timer, AUTOSTART_DELAY_USEC);
        (void)sd_event_source_set_enabled(ops->autostart_timer, SD_EVENT_ONESHOT);
}

/* ---- waiting ---- */

static void job_resume(Ops *ops, Job *j, bool timed_out)
{
        switch (j->step) {
        case STEP_WAIT_ADD:
                if (inventory_get_device(ops->inv, j->uuid)) {
                        j->step = STEP_NONE;
                        start_device_appeared(ops, j);
                } else if (!inventory_has_parent(ops->inv, j->parent)) {
                        g_autofree char *msg = g_strdup_printf(
                                "Parent %s went away while %s was being created", j->parent, j->uuid);
                        j->step = STEP_NONE;
                        ops_job_finish(ops, j, -ENOENT, msg);
                } else if (timed_out) {
                        g_autoptr(SysfsDevice) sd = NULL;
                        g_autofree char *msg =
                                g_strdup_printf("Timed out waiting for the driver to create %s (%s on %s)",
                                                j->uuid, j->def->mdev_type, j->parent);
                        j->step = STEP_NONE;
                        if (sysfs_read_device(j->uuid, &sd) >= 0)
                                start_rollback(ops, j, -ETIMEDOUT,
                                               g_steal_pointer(&msg)); /* late: remove it */
                        else
                                ops_job_finish(ops, j, -ETIMEDOUT, msg);
                }
                break;
        case STEP_WAIT_REMOVE:
                if (!inventory_get_device(ops->inv, j->uuid)) {
                        log_info("Stopped %s", j->uuid);
                        ops_job_finish(ops, j, 0, NULL);
                } else if (timed_out) {
                        g_autofree char *msg = g_strdup_printf(
                                "Timed out waiting for the driver to remove %s (on %s)", j->uuid, j->parent);
                        ops_job_finish(ops, j, -ETIMEDOUT, msg);
                }
                break;
        case STEP_WAIT_ROLLBACK:
                if (!inventory_get_device(ops->inv, j->uuid) || timed_out) {
                        if (timed_out)
                                log_warning("%s did not go away after a failed start", j->uuid);
                        ops_job_finish(ops, j, j->error, j->message);
                }
                break;
        case STEP_WAIT_RELEASE: ops_release_resume(ops, j, timed_out); break;
        case STEP_NONE: break;
        }
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        Ops *ops = userdata;

        if (ops->current && ops->current->timer == s)
                job_resume(ops, ops->current, true);
        return 0;
}

void ops_uevents(Ops *ops, char **parents, char **devices, char **registered)
{
        if (ops->current && ops->current->step != STEP_NONE)
                job_resume(ops, ops->current, false);
        for (char **p = registered; p && *p; p++)
                if (inventory_has_parent(ops->inv, *p))
                        ops_autostart(ops, *p);
}

/* ---- the engine ---- */

static int on_kick(sd_event_source *s, void *userdata)
{
        Ops *ops = userdata;
        g_autofree char *msg = NULL;
        Job *j;
        int r;

        if (ops->current)
                return 0;
        j = g_queue_pop_head(&ops->queue);
        if (!j)
                return 0;
        ops->current = j;
        if (!j->req) {
                r = autostart_run(ops, j);
                job_end(ops, j, r, NULL);
                return 0;
        }
        switch (j->req->kind) {
        case OPS_START: r = start_prepare(ops, j, &msg); break;
        case OPS_STOP: r = stop_prepare(ops, j, &msg); break;
        case OPS_DEFINE: r = ops_define_prepare(ops, j, &msg); break;
        case OPS_UNDEFINE: r = ops_undefine_prepare(ops, j, &msg); break;
        case OPS_MODIFY: r = ops_modify_prepare(ops, j, &msg); break;
        case OPS_ACQUIRE: r = ops_acquire_prepare(ops, j, &msg); break;
        case OPS_RELEASE: r = ops_release_prepare(ops, j, &msg); break;
        default: r = ops_fail(&msg, -EINVAL, "Unknown request"); break;
        }
        if (r != 0) { /* not even clear what it is about, or answered already: no callouts */
                job_end(ops, j, r, msg);
                return 0;
        }
        j->phase = PHASE_PRE;
        job_continue(ops, j);
        return 0;
}

/* The change itself, between the pre and the post callouts. */
static void job_act(Ops *ops, Job *j)
{
        g_autofree char *msg = NULL;
        int r;

        switch (j->req->kind) {
        case OPS_START: r = ops_start_run(ops, j, &msg); break;
        case OPS_STOP: r = stop_run(ops, j, &msg); break;
        case OPS_DEFINE: r = ops_define_run(ops, j, &msg); break;
        case OPS_UNDEFINE: r = ops_undefine_run(ops, j, &msg); break;
        case OPS_MODIFY: r = ops_modify_run(ops, j, &msg); break;
        case OPS_ACQUIRE: r = ops_acquire_run(ops, j, &msg); break;
        case OPS_RELEASE: r = ops_release_run(ops, j, &msg); break;
        default: r = ops_fail(&msg, -EINVAL, "Unknown request"); break;
        }
        if (r <= 0) /* done; 1: it waits for the kernel and finishes from job_resume() */
                ops_job_finish(ops, j, r, msg);
}

void ops_submit(Ops *ops, OpsRequest *req, OpsDone done, void *userdata)
{
        Job *j = g_new0(Job, 1);

        j->req = req;
        j->done = done;
        j->userdata = userdata;
        g_queue_push_tail(&ops->queue, j);
        kick(ops);
}

unsigned ops_pending(Ops *ops)
{
        return g_queue_get_length(&ops->queue) + (ops->current ? 1 : 0);
}

int ops_new(sd_event *event, Inventory *inv, Ops **ret)
{
        g_autoptr(Ops) ops = g_new0(Ops, 1);
        int r;

        ops->event = sd_event_ref(event);
        ops->inv = inv;
        g_queue_init(&ops->queue);
        ops->autostart = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        r = sd_event_add_defer(event, &ops->kick, on_kick, ops);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(ops->kick, "ops-kick");
        r = sd_event_source_set_enabled(ops->kick, SD_EVENT_OFF);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(event, &ops->autostart_timer, CLOCK_MONOTONIC, AUTOSTART_DELAY_USEC,
                                       0, on_autostart_timer, ops);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(ops->autostart_timer, "ops-autostart");
        r = sd_event_source_set_enabled(ops->autostart_timer, SD_EVENT_OFF);
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
        if (ops->current) {
                j = ops->current;
                ops->current = NULL;
                if (j->done)
                        j->done(-ECANCELED, "vgpud is stopping", j->uuid[0] ? j->uuid : NULL, j->parent,
                                j->userdata);
                job_free(j);
        }
        while ((j = g_queue_pop_head(&ops->queue))) {
                if (j->done)
                        j->done(-ECANCELED, "vgpud is stopping", NULL, NULL, j->userdata);
                job_free(j);
        }
        sd_event_source_disable_unref(ops->kick);
        sd_event_source_disable_unref(ops->autostart_timer);
        if (ops->autostart)
                g_hash_table_unref(ops->autostart);
        sd_event_unref(ops->event);
        g_free(ops);
}
