/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A device's life, as request kinds of the lifecycle engine (ops.c): start writes the UUID to the type's
 * create file and reads the device the write made (or, when the kernel does not show it yet, waits for
 * its add uevent), then writes its attributes (and when that fails, removes the device again: the
 * rollback); stop writes its remove file and waits for it to go;
 * autostart queues starts for "auto" definitions. The device helpers here (ops_start_run(),
 * ops_remove_and_wait()) are also Acquire's and Release's. */

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "fault.h"
#include "log.h"
#include "name.h"
#include "alloc-host.h"
#include "ops-internal.h"

/* Autostart waits this long for more uevents of a parent before it tries: one attempt per burst. */
#define AUTOSTART_DELAY_USEC (100ULL * 1000)

/* ---- why a start cannot go ahead ---- */

static const char *type_label(const SysfsType *t)
{
        return t->name && *t->name ? t->name : t->id;
}

static char *parent_not_found(Inventory *inv, const char *name)
{
        g_autoptr(GPtrArray) parents = inventory_list_parents(inv);
        g_autofree char *q = name_prefix(name); /* mdevctl's words, at most a prefix of the input */

        for (guint i = 0; i < parents->len; i++) {
                InvParent *p = parents->pdata[i];
                if (g_ascii_strcasecmp(p->name, name) == 0)
                        return g_strdup_printf("Unable to find parent device '%s'. Did you mean '%s'?", q,
                                               p->name);
        }
        return g_strdup_printf("Unable to find parent device '%s'", q);
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

/* ---- the devices ---- */

/* The device of uuid as the inventory knows it, or as a backend reads it now (in *tmp). */
static const SysfsDevice *device_of(Ops *ops, const char *uuid, SysfsDevice **tmp)
{
        InvDevice *d = inventory_get_device(ops->inv, uuid);

        if (d)
                return d->sys;
        return inventory_read_device(ops->inv, uuid, tmp) >= 0 ? *tmp : NULL;
}

char *ops_device_dir(Ops *ops, const char *uuid)
{
        g_autoptr(SysfsDevice) tmp = NULL;
        const SysfsDevice *sys = device_of(ops, uuid, &tmp);
        InvParent *p;

        if (!sys)
                return NULL;
        p = inventory_get_parent(ops->inv, sys->parent);
        return sys->backend->class->device_syspath(sys->backend, sys, p ? p->sys : NULL);
}

/* Remove a running device through its backend: 1 when a uevent will say it went, 0 when it is gone
 * already (a VF vGPU: the inventory has seen it go), -EBUSY when a VM holds a VF vGPU's VFIO group (the
 * driver would not say), -ENOENT when it does not run, else the driver's errno. With j (not NULL) and a
 * backend whose remove is one write, that write is made off the loop: 2, j waits for its result
 * (WAIT_REMOVE_WRITE). */
static int remove_device(Ops *ops, const char *uuid, Job *j)
{
        g_autoptr(SysfsDevice) tmp = NULL;
        const SysfsDevice *sys = device_of(ops, uuid, &tmp);
        g_autofree char *parent = NULL;
        Backend *b;
        int r;

        if (!sys)
                return -ENOENT;
        b = sys->backend;
        parent = g_strdup(sys->parent);
        if (j && b->class->remove_path) {
                g_autofree char *path = b->class->remove_path(b, sys);
                return ops_job_write(ops, j, WAIT_REMOVE_WRITE, path, "1") + 1;
        }
        if (j && b->class->remove_begin) { /* the same, the backend's work before and after on the loop */
                g_autofree char *path = NULL, *value = NULL;

                r = b->class->remove_begin(b, sys, &path, &value, &j->write_state);
                if (r < 0)
                        return r;
                j->write_backend = b;
                return ops_job_write(ops, j, WAIT_REMOVE_WRITE, path, value) + 1;
        }
        r = b->class->remove(b, sys);
        if (r == 0)
                inventory_parent_changed(ops->inv, parent);
        return r;
}

/* Write the attributes in order, as mdevctl does. */
int ops_write_attrs(Ops *ops, const char *uuid, const MdevDef *def, char **ret_message)
{
        g_autoptr(SysfsDevice) tmp = NULL;
        const SysfsDevice *sys = def->attrs->len > 0 ? device_of(ops, uuid, &tmp) : NULL;

        for (guint i = 0; i < def->attrs->len; i++) {
                MdevAttr *a = def->attrs->pdata[i];
                int r;

                if (!mdev_name_is_valid(a->name)) {
                        g_autofree char *q = name_quote(a->name);
                        return ops_fail(ret_message, -EINVAL, "Invalid attribute name %s", q);
                }
                r = sys ? sys->backend->class->write_attr(sys->backend, sys, a->name, a->value) : -ENOENT;
                if (r < 0)
                        return ops_fail(ret_message, OPS_DRIVER_REFUSED,
                                        "Cannot write attribute %u (%s) of %s: %s", i, a->name, uuid,
                                        g_strerror(-r));
                log_debug("%s: %s = %s", uuid, a->name, a->value);
        }
        return 0;
}

/* The type id on parent p, or NULL with the error in *ret_message. */
static const SysfsType *find_type(const InvParent *p, const char *id, guint *ret_index, char **ret_message)
{
        g_autofree char *types = NULL;

        for (guint i = 0; i < p->sys->types->len; i++)
                if (g_str_equal(((SysfsType *)p->sys->types->pdata[i])->id, id)) {
                        *ret_index = i;
                        return p->sys->types->pdata[i];
                }
        types = list_types(p, false);
        (void)ops_fail(ret_message, -ENOENT, "Type %s does not exist on %s. Its types: %s", id, p->name,
                       *types ? types : "none");
        return NULL;
}

/* The capacity of p's core for a decision about type t (index type_index) in *ret, and t's
 * available_instances in *ret_available, counting the reservations of other jobs there
 * (ops_core_reserved(): the decided and unwritten ones lower t's count). 1 when the job must wait its
 * turn: a reservation of another type or parent of the core (its effect on t's count is the
 * driver's), or the core is full by the model only when the reservations are counted (once they are
 * seen, the driver's count decides). */
static int start_capacity(Ops *ops, Job *j, InvParent *p, const SysfsType *t, guint type_index,
                          CoreCapacity *ret, int *ret_available)
{
        const VgpuType *model = p->models->pdata[type_index];
        const char *parent, *type;
        unsigned unwritten = 0;
        unsigned n = ops_core_reserved(ops, j, p->core ? p->core : p->name, &parent, &type, &unwritten);

        *ret = p->cap;
        *ret_available = t->available_instances;
        if (n == 0)
                return 0;
        if (!parent || !g_str_equal(parent, p->name) || !g_str_equal(type, t->id) ||
            !alloc_host_parent_alone(p))
                return 1;
        *ret_available = alloc_available_less(t->available_instances, unwritten);
        alloc_host_reserved_capacity(p, model, n, unwritten, ret);
        return *ret_available != 0 && core_capacity_check(ret, model) == -ENOSPC;
}

static int start_device_appeared(Ops *ops, Job *j, char **ret_message);

/* After a create the driver refused, decided on counts not re-read: the parent re-read, when the
 * type has no room left there (someone else's create whose uevent vgpud had not read yet), with the
 * type's index; else NULL. */
static InvParent *refused_for_room(Ops *ops, Job *j, const char *type, guint *ret_index)
{
        InvParent *p;

        inventory_parent_counts_changed(ops->inv, j->parent);
        p = inventory_get_parent(ops->inv, j->parent);
        for (guint i = 0; p && i < p->sys->types->len; i++) {
                const SysfsType *t = p->sys->types->pdata[i];

                if (g_str_equal(t->id, type) && t->available_instances == 0) {
                        *ret_index = i;
                        return p;
                }
        }
        return NULL;
}

static int start_create(Ops *ops, Job *j, bool reread, char **ret_message);
static int start_written(Ops *ops, Job *j, int r, bool reread, char **ret_message);

/* Everything up to the device: the checks, the write to create, and the device's attributes once the
 * kernel shows it (start_device_appeared()). Returns 1 when it waits for the device, 0 when started.
 * The parent's counts are re-read first unless they are current (inventory_parent_counts_current():
 * read since the last news, by the write before this one); a decision against the create made on
 * counts not re-read, and a create the kernel refused, are made again on counts read now. */
int ops_start_run(Ops *ops, Job *j, char **ret_message)
{
        return start_create(ops, j, !inventory_parent_counts_current(ops->inv, j->parent), ret_message);
}

static int start_create(Ops *ops, Job *j, bool reread, char **ret_message)
{
        const SysfsType *t;
        guint type_index = 0;
        CoreCapacity cap;
        int available;
        InvParent *p;
        Backend *b;
        int r;

        /* the parent as it is now, availability included */
        if (reread)
                inventory_parent_counts_changed(ops->inv, j->parent);
        p = inventory_get_parent(ops->inv, j->parent);
        if (!p) {
                g_free(*ret_message);
                *ret_message = parent_not_found(ops->inv, j->parent);
                return -ENOENT;
        }
        t = find_type(p, j->def->mdev_type, &type_index, ret_message);
        if (!t)
                return -ENOENT;
        r = start_capacity(ops, j, p, t, type_index, &cap, &available);
        if (!reread &&
            (r > 0 || available == 0 || core_capacity_check(&cap, p->models->pdata[type_index]) == -EXDEV))
                return start_create(ops, j, true, ret_message); /* no on counts not re-read: ask again */
        if (r > 0)
                /* a creation there this decision cannot count: decide once the kernel shows it */
                return ops_job_wait(ops, j, WAIT_TURN) < 0
                               ? ops_fail(ret_message, -ENOMEM, "Cannot wait to create %s", j->uuid)
                               : 1;
        if (ops_device_running(ops, j->uuid))
                return ops_fail(ret_message, -EEXIST, "Device %s already exists", j->uuid);
        /* what the backend knows cannot work (MIG mode off, no NVML), named before anything is written */
        if (t->refusal < 0 && backend_refusal_message(t->refusal))
                return ops_fail(ret_message, t->refusal, "Cannot create %s (%s) on %s: %s", j->uuid,
                                type_label(t), p->name, backend_refusal_message(t->refusal));
        /* a VF GPU's mixed-size mode before its first type write */
        r = ops_mixed_size_prepare(ops, j, p, &cap, p->models->pdata[type_index], ret_message);
        if (r < 0)
                return r;
        if (r > 0) { /* switched: the driver lists other types now, the model counts the core as mixed */
                inventory_parent_counts_changed(ops->inv, j->parent);
                p = inventory_get_parent(ops->inv, j->parent);
                t = p ? find_type(p, j->def->mdev_type, &type_index, ret_message) : NULL;
                if (!t)
                        return ops_fail(ret_message, -ENOENT, "%s went away while its GPU was switched",
                                        j->parent);
                if (start_capacity(ops, j, p, t, type_index, &cap, &available) > 0)
                        return ops_job_wait(ops, j, WAIT_TURN) < 0
                                       ? ops_fail(ret_message, -ENOMEM, "Cannot wait to create %s", j->uuid)
                                       : 1;
        }
        /* the size rule before sysfs is touched (the driver's count is the other half); a "no" while
         * creates are in flight on the core may count them twice: decide again once they are in */
        if (available == 0 || core_capacity_check(&cap, p->models->pdata[type_index]) == -EXDEV) {
                if (ops_creates_in_flight(ops, j, p->core ? p->core : p->name) > 0)
                        return ops_job_wait(ops, j, WAIT_TURN) < 0
                                       ? ops_fail(ret_message, -ENOMEM, "Cannot wait to create %s", j->uuid)
                                       : 1;
                return diagnose_capacity(ops, p, type_index, ret_message);
        }

        /* its object, once it appears, says "starting" until the attributes are written */
        inventory_set_device_state(ops->inv, j->uuid, "starting");
        j->state_set = true;
        g_free(j->creating_core);
        j->creating_core = g_strdup(p->core ? p->core : p->name);
        b = p->sys->backend;
        if (b->class->create_path) { /* off the loop: a reservation until its result is handled */
                g_autofree char *path = b->class->create_path(b, p->sys, t->id);

                j->create_reread = reread;
                return ops_job_write(ops, j, WAIT_CREATE_WRITE, path, j->uuid);
        }
        if (b->class->create_begin) { /* the same, the backend's work before and after on the loop */
                g_autofree char *path = NULL, *value = NULL;

                r = b->class->create_begin(b, p->sys, t->id, j->uuid, &path, &value, &j->write_state);
                if (r < 0)
                        return start_written(ops, j, r, reread, ret_message);
                j->write_backend = b;
                j->create_reread = reread;
                return ops_job_write(ops, j, WAIT_CREATE_WRITE, path, value);
        }
        return start_written(ops, j, b->class->create(b, p->sys, t->id, j->uuid), reread, ret_message);
}

/* The write to create returned r (1 or 0 as BackendClass.create, or the driver's errno): the
 * refusal's diagnosis, or the device read at once (or its wait). reread: the decision was made on
 * counts read just before. */
static int start_written(Ops *ops, Job *j, int r, bool reread, char **ret_message)
{
        InvParent *p = inventory_get_parent(ops->inv, j->parent);
        const char *type = j->def->mdev_type;
        guint type_index = 0;
        g_autofree char *ignored = NULL;
        const SysfsType *t = p ? find_type(p, type, &type_index, &ignored) : NULL;
        const char *label = t ? type_label(t) : type;

        if (r < 0 && backend_refusal_message(r))
                return ops_fail(ret_message, r, "Cannot create %s (%s) on %s: %s", j->uuid, label, j->parent,
                                backend_refusal_message(r));
        if (r == -ENOSPC) /* the backend's room (a GPU instance for a MIG-backed type) ran out */
                return ops_fail(ret_message, -ENOSPC,
                                "Cannot create %s (%s) on %s: no room left for it (a MIG-backed type: no "
                                "room for another GPU instance of its profile)",
                                j->uuid, label, j->parent);
        if (r < 0) {
                r = ops_fail(ret_message, OPS_DRIVER_REFUSED,
                             "The driver refused to create %s (%s) on %s: %s", type, label, j->parent,
                             g_strerror(-r));
                /* t and p are not used past a re-read, which replaces them */
                if (!reread && (p = refused_for_room(ops, j, type, &type_index))) {
                        g_clear_pointer(ret_message, g_free);
                        return diagnose_capacity(ops, p, type_index, ret_message);
                }
                return r;
        }
        fault_point("created");
        log_debug("Created %s (%s on %s)", j->uuid, type, j->parent);
        if (r == 0) /* there already (a VF): no uevent will say so */
                inventory_parent_changed(ops->inv, j->parent);
        else
                /* create_store() returns once mdev_device_create() has registered the device, made
                 * its mdev_type and the type's devices/ links and bound its driver, and the driver
                 * has counted it: read it now, as mdevctl does not wait for udev either. Its uevent
                 * (which may have come while the write was in flight) changes nothing more; a device
                 * read without its type link (a write that did not wait for it) is left to that
                 * uevent, as is one the kernel has not shown (a driver that creates later). */
                inventory_device_written(ops->inv, j->uuid);
        if (inventory_get_device(ops->inv, j->uuid))
                return start_device_appeared(ops, j, ret_message);
        r = ops_job_wait(ops, j, WAIT_APPEAR);
        if (r < 0)
                return ops_fail(ret_message, r, "Cannot wait for %s: %s", j->uuid, g_strerror(-r));
        return 1;
}

/* Remove the device again and report error (and message, consumed) once it is gone: 1 while it waits. */
static int start_rollback(Ops *ops, Job *j, int error, char *message, char **ret_message)
{
        int r;

        j->error = error;
        g_free(j->message);
        j->message = message;
        log_warning("Starting %s failed after it appeared, removing it: %s", j->uuid, message);
        inventory_set_device_state(ops->inv, j->uuid, "stopping");
        r = remove_device(ops, j->uuid, NULL); /* a device just made, that no VM holds yet */
        if (r >= 0)
                r = ops_job_wait(ops, j, WAIT_ROLLBACK);
        if (r < 0) {
                log_warning_errno(r, "Cannot remove %s again: %m", j->uuid);
                return ops_fail(ret_message, j->error, "%s", j->message);
        }
        return 1;
}

/* The device is there: its attributes, then done. */
static int start_device_appeared(Ops *ops, Job *j, char **ret_message)
{
        InvDevice *d = inventory_get_device(ops->inv, j->uuid);
        g_autofree char *msg = NULL;
        int r;

        j->timer = sd_event_source_disable_unref(j->timer);
        if (g_strcmp0(d->sys->parent, j->parent) != 0 || g_strcmp0(d->sys->type_id, j->def->mdev_type) != 0)
                /* someone else made this UUID elsewhere in the meantime: not ours to remove */
                return ops_fail(ret_message, -EEXIST, "Device %s appeared as %s on %s", j->uuid,
                                d->sys->type_id ? d->sys->type_id : "an unknown type", d->sys->parent);
        r = ops_write_attrs(ops, j->uuid, j->def, &msg);
        if (r < 0)
                return start_rollback(ops, j, r, g_steal_pointer(&msg), ret_message);
        log_info("Started %s (%s on %s)", j->uuid, j->def->mdev_type, j->parent);
        inventory_set_start_failure(ops->inv, j->parent, j->uuid, NULL); /* whoever started it */
        return 0;
}

int ops_start_resume(Ops *ops, Job *j, bool timed_out, char **ret_message)
{
        if (j->wait == WAIT_CREATE_WRITE)
                return start_written(ops, j, ops_job_write_end(j), j->create_reread, ret_message);
        if (j->wait == WAIT_TURN) {
                if (timed_out)
                        return ops_fail(
                                ret_message, -ETIMEDOUT,
                                "Timed out waiting for another device to appear on %s before creating %s",
                                j->parent, j->uuid);
                return ops_start_run(ops, j, ret_message); /* decide again: its turn, or wait on */
        }
        if (j->wait == WAIT_ROLLBACK) {
                if (inventory_get_device(ops->inv, j->uuid) && !timed_out)
                        return 1;
                if (timed_out)
                        log_warning("%s did not go away after a failed start", j->uuid);
                return ops_fail(ret_message, j->error, "%s", j->message);
        }
        if (inventory_get_device(ops->inv, j->uuid)) {
                j->wait = WAIT_NONE;
                return start_device_appeared(ops, j, ret_message);
        }
        if (!inventory_has_parent(ops->inv, j->parent))
                return ops_fail(ret_message, -ENOENT, "Parent %s went away while %s was being created",
                                j->parent, j->uuid);
        if (timed_out) {
                g_autoptr(SysfsDevice) sd = NULL;
                g_autofree char *msg =
                        g_strdup_printf("Timed out waiting for the driver to create %s (%s on %s)", j->uuid,
                                        j->def->mdev_type, j->parent);

                if (inventory_read_device(ops->inv, j->uuid, &sd) >= 0) /* late: remove it */
                        return start_rollback(ops, j, -ETIMEDOUT, g_steal_pointer(&msg), ret_message);
                return ops_fail(ret_message, -ETIMEDOUT, "%s", msg);
        }
        return 1;
}

/* available_instances of a device's type on its parent as the inventory has it; -1 unknown. */
static int device_type_available(Ops *ops, const char *parent, const char *type_id)
{
        InvParent *p = parent ? inventory_get_parent(ops->inv, parent) : NULL;

        for (guint i = 0; p && type_id && i < p->sys->types->len; i++) {
                SysfsType *t = p->sys->types->pdata[i];
                if (g_str_equal(t->id, type_id))
                        return t->available_instances;
        }
        return -1;
}

static int remove_written(Ops *ops, Job *j, int r, char **ret_message);

int ops_remove_and_wait(Ops *ops, Job *j, char **ret_message)
{
        InvDevice *d = inventory_get_device(ops->inv, j->uuid);
        int r;

        /* a VF's driver destroys a vGPU a VM still has open (an mdev's remove waits for the VM to let
         * go): the Busy check first, off the loop (ops_remove_resume() goes on with its answer), unless
         * the job's own check answered already (Release's, for all its devices) */
        if (d && d->sys->backend->class->read_parent_device && !j->busy_checked &&
            ops_job_ask_busy(ops, j, (char *[]){j->uuid, NULL}) > 0)
                return 1;

        /* what its type has left now: its removal is complete when that count has gone up, or one
         * uevent batch after the device went (another creation may take the instance meanwhile) */
        g_free(j->gone_parent);
        g_free(j->gone_type);
        j->gone_parent = d ? g_strdup(d->sys->parent) : NULL;
        j->gone_type = d ? g_strdup(d->sys->type_id) : NULL;
        j->gone_count = d ? device_type_available(ops, d->sys->parent, d->sys->type_id) : -1;
        inventory_set_device_state(ops->inv, j->uuid, "stopping");
        j->state_set = true;
        r = remove_device(ops, j->uuid, j);
        if (r == 2)
                return 1; /* its result goes on in remove_written() */
        return remove_written(ops, j, r, ret_message);
}

/* The write to remove j->uuid returned r (as remove_device()): its errors, or the wait for it to go. */
static int remove_written(Ops *ops, Job *j, int r, char **ret_message)
{
        if (r >= 0)
                fault_point("removed");
        if (r == -ENOENT) { /* gone meanwhile */
                inventory_device_changed(ops->inv, j->uuid);
                inventory_set_device_state(ops->inv, j->uuid, NULL);
                j->state_set = false;
                return 0;
        }
        if (r == -EBUSY)
                return ops_fail(ret_message, -EBUSY, "Device %s is in use", j->uuid);
        if (r < 0)
                return ops_fail(ret_message, OPS_DRIVER_REFUSED, "The driver refused to remove %s: %s",
                                j->uuid, g_strerror(-r));
        r = ops_job_wait(ops, j, WAIT_GONE);
        if (r < 0)
                return ops_fail(ret_message, r, "Cannot wait for %s: %s", j->uuid, g_strerror(-r));
        /* remove_store() returns once the device is gone and its driver has counted the instance free:
         * look now (with its core's counts, final: no count to wait for, whatever other creations and
         * removals moved it meanwhile), so the wait's first check from the loop finds it gone rather
         * than its uevent, which then changes nothing */
        j->gone_count = -1;
        inventory_device_written(ops->inv, j->uuid);
        return 1;
}

int ops_remove_resume(Ops *ops, Job *j, bool timed_out, char **ret_message)
{
        bool gone;

        if (j->wait == WAIT_BUSY) { /* ops_remove_and_wait()'s check: a VF */
                g_autoptr(GHashTable) holders = NULL;
                int r = ops_job_busy_end(j, &holders);
                const VfioHolder *h = holders ? g_hash_table_lookup(holders, j->uuid) : NULL;

                if (r < 0) /* as mdevctl, which does not look: no refusal on a check that could not tell */
                        log_warning_errno(r, "Cannot tell whether %s is in use: %m", j->uuid);
                if (h)
                        return ops_fail_busy(ret_message, j->uuid, h);
                return ops_remove_and_wait(ops, j, ret_message);
        }

        if (j->wait == WAIT_REMOVE_WRITE) {
                int r = ops_job_write_end(j);

                if (r == 0 && j->gone_parent) /* a backend's remove_end: gone now (a VF) */
                        inventory_parent_changed(ops->inv, j->gone_parent);
                return remove_written(ops, j, r, ret_message);
        }
        gone = !inventory_get_device(ops->inv, j->uuid);

        /* its directory goes before the driver counts the instance free again: a client told "gone"
         * must find the room */
        if (gone && !timed_out && j->gone_count >= 0) {
                inventory_parent_counts_changed(ops->inv, j->gone_parent);
                if (device_type_available(ops, j->gone_parent, j->gone_type) == j->gone_count) {
                        j->gone_count = -1; /* the count follows with the next uevent: wait for one */
                        return 1;
                }
        }
        if (gone) {
                j->wait = WAIT_NONE;
                j->timer = sd_event_source_disable_unref(j->timer);
                inventory_set_device_state(ops->inv, j->uuid, NULL);
                j->state_set = false;
                return 0;
        }
        if (!timed_out)
                return 1;
        return ops_fail(ret_message, -ETIMEDOUT, "Timed out waiting for the driver to remove %s (on %s)",
                        j->uuid, j->parent ? j->parent : "?");
}

/* ---- start ---- */

/* What to create where: the UUID, the parent and the definition. */
static int start_prepare(Ops *ops, Job *j, char **ret_message)
{
        OpsRequest *req = j->req;
        int r;

        if (str_empty(req->start.definition) && str_empty(req->uuid)) {
                *ret_message = g_strdup("Device is insufficiently specified: give a UUID or a definition");
                return -EINVAL;
        }
        r = ops_parse_uuid(req->uuid, true, j->uuid, ret_message);
        if (r < 0)
                return r;

        if (!str_empty(req->start.definition)) {
                g_autoptr(StoredDef) stored = NULL;
                g_autofree char *why = NULL, *ignored = NULL;

                if (str_empty(req->parent)) {
                        *ret_message = g_strdup("No parent specified");
                        return -EINVAL;
                }
                r = mdev_def_parse(req->start.definition, strlen(req->start.definition), &j->def, &why);
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
        if (!name_is_valid(j->parent)) {
                g_autofree char *q = name_quote(j->parent);
                *ret_message = g_strdup_printf("Invalid parent name %s", q);
                return -EINVAL;
        }
        ops_job_add_target(j, j->parent, j->def);
        return 0;
}

static int start_run(Ops *ops, Job *j, char **ret_message)
{
        return ops_start_run(ops, j, ret_message);
}

static void definition_clear(OpsRequest *req)
{
        g_free(req->start.definition);
}

const OpsKindInfo ops_kind_start = {
        .name = "start",
        .action = "start",
        .clear = definition_clear,
        .prepare = start_prepare,
        .run = start_run,
        .resume = ops_start_resume,
};

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
        r = ops_remove_and_wait(ops, j, ret_message);
        if (r == 0)
                return ops_fail(ret_message, -ENOENT, "Device %s is not running", j->uuid);
        return r;
}

static int stop_resume(Ops *ops, Job *j, bool timed_out, char **ret_message)
{
        int r = ops_remove_resume(ops, j, timed_out, ret_message);

        if (r == 0)
                log_info("Stopped %s", j->uuid);
        return r;
}

const OpsKindInfo ops_kind_stop = {
        .name = "stop",
        .action = "stop",
        .prepare = stop_prepare,
        .run = stop_run,
        .resume = stop_resume,
};

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

/* Queue a start, right after this job, for every auto definition of the parent not running; answered at
 * once (1): no callouts of its own. */
static int autostart_prepare(Ops *ops, Job *j, char **ret_message)
{
        g_autoptr(GPtrArray) defs = inventory_list_definitions(ops->inv);
        const char *parent = j->req->parent;
        GList *after = NULL;
        unsigned n = 0;

        if (!inventory_has_parent(ops->inv, parent))
                return 1;
        for (guint i = 0; i < defs->len; i++) {
                InvDefinition *def = defs->pdata[i];
                OpsRequest *req;

                if (!def->def->autostart || !g_str_equal(def->parent, parent) ||
                    ops_device_running(ops, def->uuid))
                        continue;
                req = ops_request_new(OPS_START);
                req->parent = g_strdup(def->parent);
                req->uuid = g_strdup(def->uuid);
                /* in order, before what the clients queued meanwhile */
                if (!after) {
                        g_queue_push_head(&ops->queue, ops_job_new(ops, req, autostart_done, ops));
                        after = ops->queue.head;
                } else {
                        g_queue_insert_after(&ops->queue, after, ops_job_new(ops, req, autostart_done, ops));
                        after = after->next;
                }
                n++;
        }
        if (n > 0)
                log_info("Autostart: %u definition%s of %s", n, n == 1 ? "" : "s", parent);
        return 1;
}

static int autostart_run(Ops *ops, Job *j, char **ret_message)
{
        return 0; /* never called: prepare answers */
}

const OpsKindInfo ops_kind_autostart = {
        .name = "autostart",
        .action = "start",
        .prepare = autostart_prepare,
        .run = autostart_run,
};

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
                OpsRequest *req = ops_request_new(OPS_AUTOSTART);

                req->parent = g_strdup(names->pdata[i]);
                ops_submit(ops, req, NULL, NULL);
        }
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

int ops_autostart_setup(Ops *ops)
{
        int r;

        r = sd_event_add_time_relative(ops->event, &ops->autostart_timer, CLOCK_MONOTONIC,
                                       AUTOSTART_DELAY_USEC, 0, on_autostart_timer, ops);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(ops->autostart_timer, "ops-autostart");
        return sd_event_source_set_enabled(ops->autostart_timer, SD_EVENT_OFF);
}
