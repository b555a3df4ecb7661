/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ReleaseIdle, a request of the lifecycle engine: remove the running devices nobody uses (no lease, no
 * definition, no process holding the VFIO group; inventory-owners.c), each idle for at least
 * older_than_usec, whoever made them.
 *
 * prepare looks for the holders now (one pass over /proc, on the loop: the callouts need the devices
 * before run) and takes the idle devices old enough; run removes them one by one, waiting for each to
 * go, and checks each again just before its removal (its lease and definition, then the Busy check off
 * the loop, ops_job_ask_busy(), whose pass other Releases share): one that a lease, a definition or a
 * process took meanwhile is left alone, and so is one the driver refuses as busy. The reply lists what
 * went; nothing else is ever removed. */

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "log.h"
#include "vfio-busy.h"
#include "ops-internal.h"

static void out_add(Job *j, const char *s)
{
        if (j->req->out)
                g_ptr_array_add(j->req->out, g_strdup(s));
}

static int idle_prepare(Ops *ops, Job *j, char **ret_message)
{
        const OpsReleaseIdleArgs *a = &j->req->release_idle;
        uint64_t now = (uint64_t)g_get_real_time();
        g_autoptr(GPtrArray) idle = NULL, take = g_ptr_array_new();
        int r;

        r = inventory_scan_users(ops->inv);
        if (r < 0)
                return ops_fail(ret_message, r, "Cannot tell which devices processes hold: %s",
                                g_strerror(-r));
        idle = inventory_idle(ops->inv);
        for (guint i = 0; i < idle->len; i++) {
                const char *uuid = idle->pdata[i];
                const InvDeviceUse *u = inventory_device_use(ops->inv, uuid);
                InvDevice *d = inventory_get_device(ops->inv, uuid);

                if (!u || !d || u->idle_since_usec + a->older_than_usec > now)
                        continue;
                g_ptr_array_add(take, (gpointer)uuid);
                if (a->dry_run)
                        out_add(j, uuid);
                else { /* the callouts see each as sysfs shows it, as for a stop */
                        g_autoptr(MdevDef) def = mdev_def_new();
                        def->mdev_type = g_strdup(d->sys->type_id);
                        ops_job_add_target(j, d->sys->parent, def);
                }
        }
        if (take->len == 0 || a->dry_run)
                return 1; /* nothing to remove, or only said */
        g_ptr_array_add(take, NULL);
        j->release_idle.idle = g_strdupv((char **)take->pdata);
        memcpy(j->uuid, j->release_idle.idle[0], sizeof(j->uuid));
        return 0;
}

/* Is uuid still idle by its lease and definition (and running), right before its Busy check and
 * again right before its removal? */
static bool still_idle(Ops *ops, const char *uuid)
{
        const InvDeviceUse *u;

        inventory_device_changed(ops->inv, uuid);
        u = inventory_device_use(ops->inv, uuid);
        return u && u->idle && inventory_get_device(ops->inv, uuid);
}

/* Ask whether the next device still idle is held (from j->release_idle.next on); 1 when it waits for
 * the answer (idle_checked() goes on), 0 when none is left. j->uuid names it meanwhile, so that no
 * request about it starts before it is removed or left. */
static int idle_next(Ops *ops, Job *j)
{
        for (; j->release_idle.idle[j->release_idle.next]; j->release_idle.next++) {
                char *one[] = {j->release_idle.idle[j->release_idle.next], NULL};

                if (!still_idle(ops, one[0]))
                        continue;
                memcpy(j->uuid, one[0], sizeof(j->uuid));
                if (ops_job_ask_busy(ops, j, one) > 0)
                        return 1;
        }
        return 0;
}

/* The Busy check's answer for j->uuid: remove it (1 while it waits for it to go), or leave it and go on
 * with the next. */
static int idle_checked(Ops *ops, Job *j, char **ret_message)
{
        g_autoptr(GHashTable) holders = NULL;
        const VfioHolder *h;
        InvDevice *d;
        int r = ops_job_busy_end(j, &holders);

        h = holders ? g_hash_table_lookup(holders, j->uuid) : NULL;
        if (r < 0)
                log_warning_errno(r, "Cannot tell whether %s is in use; leaving it: %m", j->uuid);
        else if (h)
                log_info("Not releasing %s: process %d (%s) holds it now", j->uuid, (int)h->pid, h->comm);
        else if (still_idle(ops, j->uuid)) {
                d = inventory_get_device(ops->inv, j->uuid);
                g_free(j->parent);
                j->parent = g_strdup(d->sys->parent);
                r = ops_remove_and_wait(ops, j, ret_message);
                if (r == -EBUSY) { /* the driver says it is in use after all */
                        log_info("Not releasing %s: %s", j->uuid, *ret_message);
                        g_clear_pointer(ret_message, g_free);
                } else if (r != 0)
                        return r; /* waits, or the driver refused */
                else
                        log_info("Released idle device %s (it was gone already)", j->uuid);
        }
        j->release_idle.next++;
        return idle_next(ops, j);
}

static int idle_run(Ops *ops, Job *j, char **ret_message)
{
        (void)ret_message;
        return idle_next(ops, j);
}

static int idle_resume(Ops *ops, Job *j, bool timed_out, char **ret_message)
{
        int r;

        if (j->wait == WAIT_BUSY)
                return idle_checked(ops, j, ret_message);
        r = ops_remove_resume(ops, j, timed_out, ret_message);
        if (r == -EBUSY) { /* the driver said so when its write to remove returned */
                log_info("Not releasing %s: %s", j->uuid, *ret_message);
                g_clear_pointer(ret_message, g_free);
                j->release_idle.next++;
                return idle_next(ops, j);
        }
        if (r != 0)
                return r;
        log_info("Released idle device %s (on %s)", j->uuid, j->parent);
        out_add(j, j->uuid);
        j->release_idle.next++;
        return idle_next(ops, j);
}

static void idle_clear_job(Job *j)
{
        g_strfreev(j->release_idle.idle);
}

/* Each removal is a stop, as the callouts see it. */
const OpsKindInfo ops_kind_release_idle = {
        .name = "release_idle",
        .action = "stop",
        .prepare = idle_prepare,
        .run = idle_run,
        .resume = idle_resume,
        .clear_job = idle_clear_job,
};
