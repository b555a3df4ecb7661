/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Acquire and Release, as requests of the lifecycle engine (ops.c), so that they are serialized with
 * every other change: no two Acquires can hand out one device or one slot.
 *
 * Acquire: prepare finds the owner's slot (an existing lease answers at once when its device runs)
 * or the UUID and the place (model/placement.c over alloc-host.c's view of the inventory); run
 * writes the lease (and the definition, with "persist") BEFORE the write to create, so that after a
 * crash at any point every device vgpud made has its lease; then it is a start. When the start
 * fails, what this request wrote is taken back.
 * Release: prepare collects the owner's (or the one) leased devices; run checks that no process has
 * their VFIO groups open, then removes them one by one (waiting for each to go), removes the
 * definitions Acquire stored, and drops the leases. */

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "fault.h"
#include "flusher.h"
#include "alloc-host.h"
#include "leases.h"
#include "log.h"
#include "name.h"
#include "ops-internal.h"

static void notify(Ops *ops, bool acquired, const Lease *lease)
{
        inventory_lease_changed(ops->inv, lease->uuid);
        if (ops->lease_notify)
                ops->lease_notify(ops->lease_userdata, acquired, lease);
}

static void out_add(Job *j, const char *s)
{
        if (j->req->out)
                g_ptr_array_add(j->req->out, g_strdup(s));
}

/* The model of a type id on a parent, or NULL. */
static const VgpuType *type_on(Ops *ops, const char *parent, const char *type_id)
{
        InvParent *p = inventory_get_parent(ops->inv, parent);

        for (guint i = 0; p && i < p->sys->types->len; i++)
                if (g_str_equal(((SysfsType *)p->sys->types->pdata[i])->id, type_id))
                        return p->models->pdata[i];
        return NULL;
}

/* Does the lease's type answer to profile? (Only its id when its parent is gone.) */
static bool lease_matches(Ops *ops, const Lease *l, const char *profile)
{
        const VgpuType *t = type_on(ops, l->parent, l->type);

        return t ? vgpu_type_matches_profile(t, profile) : g_ascii_strcasecmp(l->type, profile) == 0;
}

/* The decided creations not written yet (Job.reserving) and those whose write is in flight in the
 * snapshot: each lowers its type's count on its parent, which the driver lowers only once the creation
 * is written (a write in flight may be counted already: place() waits rather than refuse then). */
static void unwritten_apply(Ops *ops, AllocHost *h)
{
        for (guint i = 0; i < ops->active->len; i++) {
                const Job *a = ops->active->pdata[i];
                const PlaceCore *c = a->reserving || a->wait == WAIT_CREATE_WRITE
                                             ? alloc_host_core_of(h, a->parent)
                                             : NULL;

                for (size_t k = 0; c && k < c->n_parents; k++) {
                        const PlaceParent *pp = &c->parents[k];
                        size_t first = (size_t)(pp->available - h->available);

                        for (size_t t = 0; g_str_equal(pp->name, a->parent) && t < pp->n_types; t++)
                                if (pp->types[t] && g_str_equal(pp->types[t]->id, a->def->mdev_type))
                                        h->available[first + t] =
                                                alloc_available_less(h->available[first + t], 1);
                }
        }
}

/* The reservations in the snapshot (ops_core_reserved()): on a core where the creations decided or
 * written and not seen yet are all of one type on its only parent, that type keeps its count (read
 * again after each write, less the unwritten ones: unwritten_apply()) and the core's capacity counts
 * them; any other core with reservations shows no room for now. Returns how many cores have
 * reservations. */
static unsigned reserve_cores(Ops *ops, AllocHost *h)
{
        unsigned n_cores = 0;

        for (size_t c = 0; c < h->n_cores; c++) {
                PlaceCore *core = &h->cores[c];
                const char *parent, *type;
                const VgpuType *kept = NULL;
                unsigned unwritten = 0;
                unsigned n = ops_core_reserved(ops, NULL, core->core, &parent, &type, &unwritten);
                InvParent *p = alloc_host_parent(h, c, 0);

                if (n == 0)
                        continue;
                n_cores++;
                for (size_t i = 0; i < core->n_parents; i++) {
                        const PlaceParent *pp = &core->parents[i];
                        size_t first = (size_t)(pp->available - h->available);
                        bool counted = core->n_parents == 1 && parent && g_str_equal(pp->name, parent) &&
                                       alloc_host_parent_alone(p);

                        for (size_t k = 0; k < pp->n_types; k++) {
                                if (counted && pp->types[k] && g_str_equal(pp->types[k]->id, type))
                                        kept = pp->types[k];
                                else
                                        h->available[first + k] = 0;
                        }
                }
                if (kept)
                        alloc_host_reserved_capacity(p, kept, n, unwritten, &core->cap);
        }
        return n_cores;
}

/* Choose the parent and type for j (its uuid is set); 0, or an error with the diagnosis. The
 * snapshot counts the reservations (reserve_cores()), so that concurrent Acquires overlap, and then
 * j->acquire.counted: its own creation can be a reservation until it is written. When nothing fits
 * that way but the host without them would (a core whose reservations cannot be counted), the start
 * waits its turn there (ops_start_run()), and the Acquire keeps its turn until then. */
static int place(Ops *ops, Job *j, char **ret_message)
{
        OpsAcquireArgs *req = &j->req->acquire;
        g_autoptr(AllocHost) h = NULL;
        PlaceRequest pr = {
                .profile = req->profile,
                .parent = req->place.parent,
                .parents = (const char *const *)req->place.parents,
                .board = req->place.board,
                .numa_node = req->place.numa_node,
                .mixed_size = req->place.mixed_size,
        };
        PlaceChoice choice;
        unsigned reserved;
        InvParent *p;
        const VgpuType *t;
        int r;

        r = placement_policy_from_string(str_empty(req->place.policy) ? "pack" : req->place.policy,
                                         &pr.policy);
        if (r < 0) {
                g_autofree char *q = name_quote(req->place.policy);
                return ops_fail(ret_message, -EINVAL, "Unknown policy %s (pack or spread)", q);
        }
        /* a VF's vGPU made by another tool sends no uevent: look before choosing */
        inventory_recheck_unannounced(ops->inv);
        h = alloc_host_new(ops->inv);
        unwritten_apply(ops, h);
        reserved = reserve_cores(ops, h);
        r = alloc_host_choose(h, ops->inv, &pr, &choice, ret_message);
        j->acquire.counted = true;
        if (r < 0 && reserved > 0) {
                alloc_host_free(h);
                h = alloc_host_new(ops->inv);
                unwritten_apply(ops, h);
                g_clear_pointer(ret_message, g_free);
                j->acquire.counted = false;
                r = alloc_host_choose(h, ops->inv, &pr, &choice, ret_message);
        }
        if ((r == -ENOSPC || r == -EXDEV) && ops_creates_in_flight(ops, NULL, NULL) > 0 &&
            ops_job_may_wait_for_writes(ops, j)) {
                /* a create in flight may be counted twice (its device seen, the counts not yet read
                 * again): no refusal before every one is in */
                log_debug("Placement of %s for %s waits for the creates in flight", req->profile,
                          req->owner);
                g_clear_pointer(ret_message, g_free);
                return OPS_AFTER_WRITES;
        }
        if (r < 0)
                return r;

        p = alloc_host_parent(h, choice.core, choice.parent);
        t = h->cores[choice.core].parents[choice.parent].types[choice.type];
        j->parent = g_strdup(p->name);
        j->creating_core = g_strdup(h->cores[choice.core].core);
        j->def = mdev_def_new();
        j->def->mdev_type = g_strdup(t->id);
        j->def->autostart = req->persist;
        j->def->mixed_size = req->place.mixed_size; /* the start switches an empty GPU first */
        log_debug("Placement of %s for %s: %s on %s (core %s, room %" PRIu32 ", %s)", req->profile,
                  req->owner, t->id, p->name, h->cores[choice.core].core, choice.room,
                  placement_policy_to_string(pr.policy));
        return 0;
}

/* The UUID of a new lease: given, derived from the VM's, or new; not running, not leased. */
static int new_uuid(Ops *ops, Job *j, char **ret_message)
{
        OpsAcquireArgs *req = &j->req->acquire;
        Lease *other;
        int r;

        if (!str_empty(j->req->uuid) && !str_empty(req->vm_uuid))
                return ops_fail(ret_message, -EINVAL, "Give \"uuid\" or \"vm_uuid\", not both");
        if (!str_empty(req->vm_uuid)) {
                r = vgpu_uuid_derive(req->vm_uuid, req->slot, j->uuid);
                if (r < 0) {
                        g_autofree char *q = name_quote(req->vm_uuid);
                        return ops_fail(ret_message, -EINVAL, "Invalid VM UUID %s", q);
                }
        } else {
                r = ops_parse_uuid(j->req->uuid ? j->req->uuid : "", true, j->uuid, ret_message);
                if (r < 0)
                        return r;
        }
        other = leases_get(ops->leases, j->uuid);
        if (other)
                return ops_fail(ret_message, -EEXIST, "%s is held by %s (slot %" PRIu32 ")", j->uuid,
                                other->owner, other->slot);
        if (ops_device_running(ops, j->uuid))
                return ops_fail(ret_message, -EEXIST, "Device %s exists already", j->uuid);
        return 0;
}

static int acquire_prepare(Ops *ops, Job *j, char **ret_message)
{
        OpsAcquireArgs *req = &j->req->acquire;
        Lease *held;
        int r;

        if (!ops->leases)
                return ops_fail(ret_message, -EROFS, "No state directory: leases cannot be kept");
        if (!name_is_valid_owner(req->owner)) {
                g_autofree char *q = name_quote(req->owner);
                return ops_fail(
                        ret_message, -EINVAL,
                        "Invalid owner %s: 1 to %d bytes of printable UTF-8, no separator but a space, "
                        "not starting with '.', '-' or a space",
                        q, NAME_LEN_MAX);
        }
        if (str_empty(req->profile))
                return ops_fail(ret_message, -EINVAL, "No profile given");

        held = leases_get_slot(ops->leases, req->owner, req->slot);
        if (held) {
                if (!lease_matches(ops, held, req->profile))
                        return ops_fail(ret_message, -EEXIST,
                                        "%s holds %s (%s) in slot %" PRIu32 ", not \"%s\": release it first",
                                        req->owner, held->uuid, held->type, req->slot, req->profile);
                if (!str_empty(j->req->uuid) || !str_empty(req->vm_uuid)) {
                        char want[VGPU_UUID_STRING_MAX];
                        r = !str_empty(j->req->uuid) ? vgpu_uuid_parse(j->req->uuid, want)
                                                     : vgpu_uuid_derive(req->vm_uuid, req->slot, want);
                        if (r < 0 || !g_str_equal(want, held->uuid))
                                return ops_fail(ret_message, -EEXIST,
                                                "%s holds %s in slot %" PRIu32 ", not the UUID asked for",
                                                req->owner, held->uuid, req->slot);
                }
                memcpy(j->uuid, held->uuid, sizeof(j->uuid));
                if (ops_device_running(ops, held->uuid)) { /* nothing to do: the same device again */
                        j->parent = g_strdup(held->parent);
                        out_add(j, held->type);
                        return 1;
                }
                /* held but not running (stopped, or gone with a reboot): make it again, where its
                 * definition is when Acquire stored one */
                if (held->defined) {
                        g_free(req->place.parent);
                        req->place.parent = g_strdup(held->parent);
                }
        } else {
                r = new_uuid(ops, j, ret_message);
                if (r < 0)
                        return r;
        }

        r = place(ops, j, ret_message);
        if (r != 0) /* an error, or OPS_AFTER_WRITES */
                return r;
        if (req->dry_run) {
                out_add(j, j->def->mdev_type);
                return 1;
        }
        ops_job_add_target(j, j->parent, j->def);
        return 0;
}

/* The removal of the definition Acquire stored is durable (r 0), or not: it is gone from the undo. */
static void undo_definition_done(Ops *ops, Job *j, int r)
{
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Cannot remove the definition %s/%s again: %m", j->parent, j->uuid);
        else
                ops_definition_dir_done(ops, j->parent);
        (void)inventory_reload_definition(ops->inv, j->parent, j->uuid);
        j->acquire.def_written = false;
}

static int definition_not_saved(Ops *ops, Job *j, int r, char **ret_message)
{
        g_autofree char *what = g_strdup_printf("Cannot define %s on %s", j->uuid, j->parent);
        g_autofree char *path =
                g_build_filename(ops_definitions_dir_for(ops, j->parent), j->parent, j->uuid, NULL);

        return ops_io_fail(ret_message, r, what, path);
}

static int lease_not_saved(Ops *ops, Job *j, int r, char **ret_message)
{
        if (!j->acquire.lease_written)
                log_warning("The lease of %s is changed in memory only", j->uuid);
        return ops_io_fail(ret_message, r, "Cannot write the leases", leases_path(ops->leases));
}

/* The save that takes back a failed Acquire's lease did not become durable (r < 0): the lease is gone
 * from memory, and the next start drops it from the file. */
static void undo_lease_not_saved(Ops *ops, Job *j, int r)
{
        if (r < 0)
                log_warning_errno(r, "Cannot write %s: %m (the next start drops the lease of %s)",
                                  leases_path(ops->leases), j->uuid);
}

/* Wait for the change just committed. Without the engine's turn when the placement counted every
 * reservation: the job's creation is then one (Job.reserving) that the next decision counts, so
 * concurrent Acquires decide while their leases are made durable and share the batches; else
 * (WAIT_DURABLE_TURN) keeping it, as its start will wait its turn anyway (place()). */
static int acquire_wait_durable(Ops *ops, Job *j, AcquireStep step)
{
        j->acquire.step = step;
        if (j->acquire.counted && step < ACQUIRE_UNDO_DEFINITION)
                j->reserving = true;
        (void)ops_job_wait(ops, j,
                           j->acquire.counted || step >= ACQUIRE_UNDO_DEFINITION ? WAIT_DURABLE
                                                                                 : WAIT_DURABLE_TURN);
        return 1;
}

/* Take back what the failed Acquire wrote, each through the flusher and in turn: the definition first
 * (a crash then leaves a lease the next start drops, never a definition that brings back a device
 * nobody holds), then the lease; 1 while one is being made durable, then the failure
 * (j->acquire.error, .message). */
static int undo_next(Ops *ops, Job *j, char **ret_message)
{
        g_autoptr(FileChange) c = NULL;
        int r;

        if (j->acquire.def_written) {
                r = store_remove_begin(ops_definitions_dir_for(ops, j->parent), j->parent, j->uuid, &c);
                if (r >= 0) {
                        ops_job_commit(ops, j, g_steal_pointer(&c));
                        return acquire_wait_durable(ops, j, ACQUIRE_UNDO_DEFINITION);
                }
                undo_definition_done(ops, j, r);
        }
        if (j->acquire.lease_written) {
                (void)leases_remove(ops->leases, j->uuid);
                inventory_lease_changed(ops->inv, j->uuid);
                j->acquire.lease_written = false;
                r = leases_save_begin(ops->leases, &c);
                if (r >= 0) {
                        ops_job_commit(ops, j, g_steal_pointer(&c));
                        return acquire_wait_durable(ops, j, ACQUIRE_UNDO_LEASE);
                }
                undo_lease_not_saved(ops, j, r);
        }
        return ops_fail(ret_message, j->acquire.error, "%s",
                        j->acquire.message ? j->acquire.message : g_strerror(-j->acquire.error));
}

/* The Acquire failed with r (*ret_message): its reservation ends, and what it wrote is taken back
 * before the failure is reported (undo_next()). */
static int acquire_failed(Ops *ops, Job *j, int r, char **ret_message)
{
        ops_job_unreserve(ops, j);
        if (!j->acquire.def_written && !j->acquire.lease_written)
                return r;
        j->acquire.error = r;
        g_free(j->acquire.message);
        j->acquire.message = g_steal_pointer(ret_message);
        return undo_next(ops, j, ret_message);
}

/* The lease (and the definition) is durable: the create. Its reservation becomes the write itself
 * (ops_start_run(): creating_core, WAIT_APPEAR). */
static int acquire_create(Ops *ops, Job *j, char **ret_message)
{
        j->reserving = false;
        j->acquire.step = ACQUIRE_START;
        return ops_start_run(ops, j, ret_message);
}

/* The lease is durable: the definition (persist) through the flusher, or the create. */
static int acquire_leased(Ops *ops, Job *j, char **ret_message)
{
        g_autoptr(StoredDef) stored = NULL;
        g_autoptr(FileChange) c = NULL;
        g_autofree char *ignored = NULL;
        const char *dir = ops_definitions_dir_for(ops, j->parent);
        int r;

        if (!j->acquire.define || store_load_one(dir, j->parent, j->uuid, &stored, &ignored) >= 0)
                return acquire_create(ops, j, ret_message);
        r = store_write_begin(dir, j->parent, j->uuid, j->def, &c);
        if (r < 0)
                return definition_not_saved(ops, j, r, ret_message);
        ops_job_commit(ops, j, g_steal_pointer(&c));
        return acquire_wait_durable(ops, j, ACQUIRE_DEFINITION);
}

/* The lease first: a crash after the write to create must not leave a device nobody owns. Its save
 * goes to the flusher (acquire_wait_durable(): the loop goes on, and the saves of other requests share
 * the fsyncs); acquire_resume() goes on once it is durable. */
static int acquire_run(Ops *ops, Job *j, char **ret_message)
{
        OpsAcquireArgs *req = &j->req->acquire;
        Lease *held = leases_get_slot(ops->leases, req->owner, req->slot);
        Lease lease = {
                .owner = req->owner,
                .slot = req->slot,
                .parent = j->parent,
                .type = j->def->mdev_type,
                .acquired_usec = (uint64_t)g_get_real_time(),
                .defined = req->persist || (held && held->defined),
        };
        g_autoptr(FileChange) c = NULL;
        int r;

        memcpy(lease.uuid, j->uuid, sizeof(lease.uuid));
        j->acquire.define = lease.defined;
        if (held && g_str_equal(held->parent, j->parent) && g_str_equal(held->type, j->def->mdev_type))
                return acquire_leased(ops, j, ret_message);
        r = leases_put(ops->leases, &lease);
        if (r < 0)
                return ops_fail(ret_message, r, "Cannot lease %s to %s: %s", j->uuid, req->owner,
                                g_strerror(-r));
        j->acquire.lease_written = !held;
        r = leases_save_begin(ops->leases, &c);
        if (r < 0)
                return acquire_failed(ops, j, lease_not_saved(ops, j, r, ret_message), ret_message);
        ops_job_commit(ops, j, g_steal_pointer(&c));
        return acquire_wait_durable(ops, j, ACQUIRE_LEASE);
}

static int acquire_resume(Ops *ops, Job *j, bool timed_out, char **ret_message)
{
        int r;

        switch (j->acquire.step) {
        case ACQUIRE_LEASE:
                r = ops_job_durable_end(j);
                if (r < 0)
                        r = lease_not_saved(ops, j, r, ret_message);
                else {
                        fault_point("acquire-leased");
                        r = acquire_leased(ops, j, ret_message);
                }
                break;
        case ACQUIRE_DEFINITION:
                r = ops_job_durable_end(j);
                if (r < 0)
                        r = definition_not_saved(ops, j, r, ret_message);
                else {
                        j->acquire.def_written = true;
                        fault_point("acquire-defined");
                        (void)inventory_reload_definition(ops->inv, j->parent, j->uuid);
                        r = acquire_create(ops, j, ret_message);
                }
                break;
        case ACQUIRE_START: r = ops_start_resume(ops, j, timed_out, ret_message); break;
        case ACQUIRE_UNDO_DEFINITION:
                undo_definition_done(ops, j, ops_job_durable_end(j));
                return undo_next(ops, j, ret_message);
        case ACQUIRE_UNDO_LEASE:
                undo_lease_not_saved(ops, j, ops_job_durable_end(j));
                return undo_next(ops, j, ret_message);
        default: g_assert_not_reached();
        }
        return r < 0 ? acquire_failed(ops, j, r, ret_message) : r;
}

static void acquire_end(Ops *ops, Job *j, int r)
{
        Lease *lease;

        ops_job_unreserve(ops, j);
        /* a failure took back what it wrote before it ended (acquire_failed()) */
        g_warn_if_fail(r >= 0 || (!j->acquire.def_written && !j->acquire.lease_written));
        if (r < 0)
                return;
        lease = leases_get(ops->leases, j->uuid);
        if (!lease)
                return;
        out_add(j, lease->type);
        log_info("Acquired %s (%s on %s) for %s, slot %" PRIu32, j->uuid, lease->type, lease->parent,
                 lease->owner, lease->slot);
        notify(ops, true, lease);
}

static void acquire_clear_job(Job *j)
{
        g_free(j->acquire.message);
}

/* ---- release ---- */

static int release_prepare(Ops *ops, Job *j, char **ret_message)
{
        OpsReleaseArgs *req = &j->req->release;
        g_autoptr(GPtrArray) uuids = g_ptr_array_new();
        char uuid[VGPU_UUID_STRING_MAX];
        Lease *one = NULL;

        if (!ops->leases)
                return ops_fail(ret_message, -EROFS, "No state directory: leases cannot be kept");
        if (str_empty(req->what))
                return ops_fail(ret_message, -EINVAL, "Give a device UUID or an owner");
        if (vgpu_uuid_parse(req->what, uuid) >= 0)
                one = leases_get(ops->leases, uuid);
        if (one)
                g_ptr_array_add(uuids, one->uuid);
        else {
                g_autoptr(GPtrArray) mine = leases_list(ops->leases, req->what);

                for (guint i = 0; i < mine->len; i++) {
                        Lease *l = mine->pdata[i];
                        if (!req->slot_given || l->slot == req->slot)
                                g_ptr_array_add(uuids, l->uuid);
                }
                if (uuids->len == 0 && mine->len > 0)
                        return ops_fail(ret_message, -ENOENT, "%s holds no slot %" PRIu32, req->what,
                                        req->slot);
                if (uuids->len == 0 && vgpu_uuid_parse(req->what, uuid) >= 0 &&
                    ops_device_running(ops, uuid))
                        return ops_fail(ret_message, -ENOENT,
                                        "Device %s is not leased to anyone (stop removes it)", uuid);
                if (uuids->len == 0) {
                        g_autofree char *q = name_quote(req->what);
                        return ops_fail(ret_message, -ENOENT, "No lease of a device or owner %s", q);
                }
        }

        for (guint i = 0; i < uuids->len; i++) {
                Lease *l = leases_get(ops->leases, uuids->pdata[i]);
                InvDevice *d = inventory_get_device(ops->inv, l->uuid);

                if (d) { /* the callouts see it as sysfs shows it, as for a stop */
                        g_autoptr(MdevDef) def = mdev_def_new();
                        def->mdev_type = g_strdup(d->sys->type_id ? d->sys->type_id : l->type);
                        ops_job_add_target(j, d->sys->parent, def);
                }
        }
        g_ptr_array_add(uuids, NULL);
        j->release.leased = g_strdupv((char **)uuids->pdata);
        /* what the reply and the callouts name: the one device, or the first */
        memcpy(j->uuid, j->release.leased[0], sizeof(j->uuid));
        j->parent = g_strdup(leases_get(ops->leases, j->uuid)->parent);
        return 0;
}

/* The lease of j->release.gone is saved away (r 0) or not: tell. */
static int release_saved(Ops *ops, Job *j, int r, char **ret_message)
{
        const Lease *gone = &j->release.gone;

        if (r < 0) {
                /* the lease is gone from memory; the file still has it, and the next start drops it
                 * (its device and definition are gone) */
                g_autofree char *what = g_strdup_printf(
                        "Released %s: the device is removed, but the lease could not be saved (vgpud "
                        "drops it at its next start)",
                        gone->uuid);
                log_warning("%s", what);
                notify(ops, false, gone);
                return ops_io_fail(ret_message, r, what, leases_path(ops->leases));
        }
        log_info("Released %s (%s, slot %" PRIu32 ")", gone->uuid, gone->owner, gone->slot);
        out_add(j, gone->uuid);
        notify(ops, false, gone);
        return 0;
}

/* The lease of the device being released (j->release.leased[next]) is dropped from memory and its save
 * goes to the flusher; 1: release_saved() goes on once it is durable. */
static int release_drop_lease(Ops *ops, Job *j, Lease *l, char **ret_message)
{
        g_autoptr(FileChange) c = NULL;
        int r;

        g_free(j->release.gone.owner);
        j->release.gone = (Lease){.owner = g_strdup(l->owner), .slot = l->slot};
        memcpy(j->release.gone.uuid, l->uuid, sizeof(j->release.gone.uuid));
        (void)leases_remove(ops->leases, j->release.gone.uuid);
        r = leases_save_begin(ops->leases, &c);
        if (r >= 0) {
                ops_job_commit(ops, j, g_steal_pointer(&c));
                (void)ops_job_wait(ops, j, WAIT_DURABLE);
                return 1;
        }
        return release_saved(ops, j, r, ret_message);
}

/* The definition of lease l is removed durably (or was not there): reload it, then drop the lease. */
static int release_undefined(Ops *ops, Job *j, Lease *l, char **ret_message)
{
        ops_definition_dir_done(ops, l->parent);
        (void)inventory_reload_definition(ops->inv, l->parent, l->uuid);
        fault_point("release-undefined");
        return release_drop_lease(ops, j, l, ret_message);
}

static int release_undefine_failed(Ops *ops, Lease *l, int r, char **ret_message)
{
        g_autofree char *path =
                g_build_filename(ops_definitions_dir_for(ops, l->parent), l->parent, l->uuid, NULL);
        g_autofree char *what =
                g_strdup_printf("Released %s: the device is removed, but its definition is not", l->uuid);

        return ops_io_fail(ret_message, r, what, path);
}

/* The device of lease l is gone (or was not running): drop what Acquire made for it, the definition
 * first (durably, through the flusher: a crash then leaves a lease the next start drops, never a
 * definition that brings back a device nobody holds), then the lease. 1 while a change is being made
 * durable (release_resume() goes on). */
static int release_done_one(Ops *ops, Job *j, Lease *l, char **ret_message)
{
        g_autoptr(FileChange) c = NULL;
        int r;

        if (!l->defined)
                return release_drop_lease(ops, j, l, ret_message);
        r = store_remove_begin(ops_definitions_dir_for(ops, l->parent), l->parent, l->uuid, &c);
        if (r == -ENOENT) /* its parent's directory is gone: so is the definition */
                return release_undefined(ops, j, l, ret_message);
        if (r < 0)
                return release_undefine_failed(ops, l, r, ret_message);
        j->release.undefining = true;
        ops_job_commit(ops, j, g_steal_pointer(&c));
        (void)ops_job_wait(ops, j, WAIT_DURABLE);
        return 1;
}

/* Release from j->release.next on; 1 when it waits for a device to go. */
static int release_continue(Ops *ops, Job *j, char **ret_message)
{
        for (; j->release.leased[j->release.next]; j->release.next++) {
                const char *uuid = j->release.leased[j->release.next];
                Lease *l = leases_get(ops->leases, uuid);
                int r;

                if (!l)
                        continue;
                inventory_device_changed(ops->inv, uuid);
                if (inventory_get_device(ops->inv, uuid)) {
                        memcpy(j->uuid, uuid, sizeof(j->uuid));
                        g_free(j->parent);
                        j->parent = g_strdup(l->parent);
                        r = ops_remove_and_wait(ops, j, ret_message);
                        if (r != 0) /* waits, or the driver refused */
                                return r;
                }
                r = release_done_one(ops, j, l, ret_message);
                if (r != 0) /* its lease is being saved (release_resume() goes on), or failed */
                        return r;
        }
        return 0;
}

/* All or nothing: nothing is removed while any of them is in use. The Busy check runs off the loop
 * (ops_job_ask_busy()); release_checked() goes on with its answer. */
static int release_run(Ops *ops, Job *j, char **ret_message)
{
        if (!j->req->force && ops_job_ask_busy(ops, j, j->release.leased) > 0)
                return 1;
        return release_continue(ops, j, ret_message);
}

/* The Busy check's answer: Busy, naming the first device in use and its holder, or the removals. A
 * check that could not tell does not hold the release up (as mdevctl, which does not look). */
static int release_checked(Ops *ops, Job *j, char **ret_message)
{
        g_autoptr(GHashTable) holders = NULL;
        int r = ops_job_busy_end(j, &holders);

        if (r < 0)
                log_warning_errno(r, "Cannot tell whether the devices of %s are in use: %m",
                                  j->req->release.what);
        for (char **u = j->release.leased; holders && *u; u++) {
                const VfioHolder *h = g_hash_table_lookup(holders, *u);

                if (h)
                        return ops_fail_busy(ret_message, *u, h);
        }
        return release_continue(ops, j, ret_message);
}

/* The device being released went (or the wait timed out): drop its lease; or its lease is saved:
 * go on with the next. */
static int release_resume(Ops *ops, Job *j, bool timed_out, char **ret_message)
{
        Lease *l;
        int r;

        if (j->wait == WAIT_BUSY)
                return release_checked(ops, j, ret_message);
        if (j->wait == WAIT_DURABLE && j->release.undefining) {
                /* the definition's removal: the lease of leased[next] is still there (its keys) */
                r = ops_job_durable_end(j);
                j->release.undefining = false;
                l = leases_get(ops->leases, j->release.leased[j->release.next]);
                g_assert(l);
                if (r < 0 && r != -ENOENT)
                        return release_undefine_failed(ops, l, r, ret_message);
                return release_undefined(ops, j, l, ret_message);
        }
        if (j->wait == WAIT_DURABLE) {
                r = release_saved(ops, j, ops_job_durable_end(j), ret_message);
                if (r < 0)
                        return r;
        } else {
                r = ops_remove_resume(ops, j, timed_out, ret_message);
                if (r != 0)
                        return r;
                l = leases_get(ops->leases, j->uuid);
                if (l)
                        return release_done_one(ops, j, l, ret_message);
        }
        j->release.next++;
        return release_continue(ops, j, ret_message);
}

static void acquire_init(OpsRequest *req)
{
        req->acquire.place.numa_node = -1;
}

static void place_clear(OpsPlaceArgs *place)
{
        g_free(place->parent);
        g_free(place->board);
        g_strfreev(place->parents);
        g_free(place->policy);
}

static void acquire_clear(OpsRequest *req)
{
        g_free(req->acquire.profile);
        g_free(req->acquire.owner);
        g_free(req->acquire.vm_uuid);
        place_clear(&req->acquire.place);
}

static void release_clear(OpsRequest *req)
{
        g_free(req->release.what);
}

static void release_clear_job(Job *j)
{
        g_strfreev(j->release.leased);
        g_free(j->release.gone.owner);
}

/* An acquire is a start, as the callouts see it; a release is a stop. */
const OpsKindInfo ops_kind_acquire = {
        .name = "acquire",
        .action = "start",
        .init = acquire_init,
        .clear = acquire_clear,
        .prepare = acquire_prepare,
        .run = acquire_run,
        .resume = acquire_resume,
        .end = acquire_end,
        .clear_job = acquire_clear_job,
};

const OpsKindInfo ops_kind_release = {
        .name = "release",
        .action = "stop",
        .clear = release_clear,
        .prepare = release_prepare,
        .run = release_run,
        .resume = release_resume,
        .clear_job = release_clear_job,
};

/* One lease against its device and definition (lease_verdict); true when the leases changed. The
 * definition's file is looked at only for a lease that has one (the verdict of one without does not
 * depend on it): this runs after every request once the queue is empty, for every lease. */
static bool reconcile_one(Ops *ops, Lease *l)
{
        g_autofree char *def = NULL, *uuid = NULL, *owner = NULL;
        Lease copy;

        switch (inventory_lease_verdict(ops->inv, l, &def)) {
        case LEASE_KEEP: return false;
        case LEASE_UNDEFINE:
                log_warning(
                        "The definition %s of the lease of %s (%s) is gone: the lease now lasts while the "
                        "device runs",
                        def, l->uuid, l->owner);
                l->defined = false;
                inventory_lease_changed(ops->inv, l->uuid);
                return true;
        case LEASE_DROP: break;
        }
        log_warning("Dropping the lease of %s (%s, slot %" PRIu32 "): %s", l->uuid, l->owner, l->slot,
                    l->defined ? "its device and its definition are gone" : "its device is gone");
        uuid = g_strdup(l->uuid);
        owner = g_strdup(l->owner);
        copy = *l;
        copy.owner = owner;
        copy.parent = copy.type = NULL;
        (void)leases_remove(ops->leases, uuid);
        notify(ops, false, &copy);
        return true;
}

/* The reconciled leases are durable, or not (from the loop, flusher.h). */
static void on_reconciled(int r, void *userdata)
{
        Ops *ops = userdata;

        if (r < 0)
                log_warning_errno(r, "Cannot write %s: %m (the next start reconciles again)",
                                  leases_path(ops->leases));
}

void ops_reconcile_leases(Ops *ops)
{
        g_autoptr(GPtrArray) all = NULL;
        g_autoptr(FileChange) c = NULL;
        bool changed = false;
        int r;

        g_assert(!ops->current && ops->active->len == 0);
        if (!ops->leases)
                return;
        all = leases_list(ops->leases, NULL);
        for (guint i = 0; i < all->len; i++)
                changed |= reconcile_one(ops, all->pdata[i]);
        if (!changed)
                return;
        /* through the flusher, not waited for: what was dropped held nothing (its device is gone), so a
         * crash before the save is durable only makes the next start drop it again; a later save of
         * the leases (a request's) comes after this one, in the order of submission */
        r = leases_save_begin(ops->leases, &c);
        if (r < 0)
                on_reconciled(r, ops);
        else
                flusher_submit(ops->flusher, g_steal_pointer(&c), on_reconciled, ops);
}
