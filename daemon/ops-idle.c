/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ReleaseIdle, a request of the lifecycle engine: remove the running devices nobody uses (no lease, no
 * definition, no process holding the VFIO group; inventory-owners.c), each idle for at least
 * older_than_usec, whoever made them.
 *
 * prepare looks for the holders now (one pass over /proc) and takes the idle devices old enough; run
 * removes them one by one, waiting for each to go, and checks each again just before its removal: one
 * that a lease, a definition or a process took meanwhile is left alone, and so is one the driver
 * refuses as busy. The reply lists what went; nothing else is ever removed. */

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

/* Is uuid still idle, right before its removal? */
static bool still_idle(Ops *ops, const char *uuid)
{
        g_autofree char *comm = NULL, *group = NULL, *dir = NULL;
        const InvDeviceUse *u;
        pid_t pid = 0;
        int r;

        inventory_device_changed(ops->inv, uuid);
        u = inventory_device_use(ops->inv, uuid);
        if (!u || !u->idle)
                return false;
        dir = ops_device_dir(ops, uuid);
        if (!dir)
                return false; /* gone */
        r = vfio_group_holder(dir, &pid, &comm, &group);
        if (r != 0) {
                if (r < 0)
                        log_warning_errno(r, "Cannot tell whether %s is in use; leaving it: %m", uuid);
                else
                        log_info("Not releasing %s: process %d (%s) holds it now", uuid, (int)pid, comm);
                return false;
        }
        return true;
}

/* Remove from j->release_idle.next on; 1 when it waits for a device to go. */
static int idle_continue(Ops *ops, Job *j, char **ret_message)
{
        for (; j->release_idle.idle[j->release_idle.next]; j->release_idle.next++) {
                const char *uuid = j->release_idle.idle[j->release_idle.next];
                InvDevice *d;
                int r;

                if (!still_idle(ops, uuid))
                        continue;
                d = inventory_get_device(ops->inv, uuid);
                memcpy(j->uuid, uuid, sizeof(j->uuid));
                g_free(j->parent);
                j->parent = g_strdup(d->sys->parent);
                r = ops_remove_and_wait(ops, j, ret_message);
                if (r == -EBUSY) { /* the driver says it is in use after all */
                        log_info("Not releasing %s: %s", uuid, *ret_message);
                        g_clear_pointer(ret_message, g_free);
                        continue;
                }
                if (r != 0)
                        return r; /* waits, or the driver refused */
                log_info("Released idle device %s (it was gone already)", uuid);
        }
        return 0;
}

static int idle_run(Ops *ops, Job *j, char **ret_message)
{
        return idle_continue(ops, j, ret_message);
}

static int idle_resume(Ops *ops, Job *j, bool timed_out, char **ret_message)
{
        int r = ops_remove_resume(ops, j, timed_out, ret_message);

        if (r == -EBUSY) { /* the driver said so when its write to remove returned */
                log_info("Not releasing %s: %s", j->uuid, *ret_message);
                g_clear_pointer(ret_message, g_free);
                j->release_idle.next++;
                return idle_continue(ops, j, ret_message);
        }
        if (r != 0)
                return r;
        log_info("Released idle device %s (on %s)", j->uuid, j->parent);
        out_add(j, j->uuid);
        j->release_idle.next++;
        return idle_continue(ops, j, ret_message);
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
