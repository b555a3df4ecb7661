/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Carrying out a layout's plan (layout-apply.h) as a chain of Release and Acquire requests: each is
 * submitted when the one before it answered, so that a failure stops the rest. */

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "layout.h"
#include "leases.h"
#include "name.h"
#include "log.h"
#include "macro.h"
#include "layout-apply.h"

typedef struct {
        Ops *ops;
        struct Leases *leases;
        char *owner;
        bool force;
        sd_event *event;
        Inventory *inv;
        char *text, *config;
        bool dry_run;
        uint64_t waited_usec;
        bool counted; /* in applying */
        sd_event_source *wait;
        LayoutPlan *plan;
        guint next_remove, next_create;
        uint32_t made_in_group; /* of plan->create->pdata[next_create] */
        GPtrArray *made;        /* char* UUIDs, NULL-terminated at the end */
        LayoutApplyDone done;
        void *userdata;
        int r;
        char *message;
        sd_event_source *defer;
} Apply;

static void apply_free(Apply *a)
{
        if (!a)
                return;
        g_free(a->owner);
        g_free(a->text);
        g_free(a->config);
        sd_event_source_disable_unref(a->wait);
        sd_event_unref(a->event);
        layout_plan_free(a->plan);
        g_ptr_array_unref(a->made);
        g_free(a->message);
        sd_event_source_unref(a->defer);
        g_free(a);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Apply, apply_free)

/* One apply at a time: a second one waits until the first ended. */
static unsigned applying;
/* The applies waiting to plan (Apply*). */
static GList *waiting;

static void apply_end(Apply *arg)
{
        g_autoptr(Apply) a = arg; /* freed here */

        if (a->counted)
                applying--;
        g_ptr_array_add(a->made, NULL);
        if (a->r < 0) /* the caller says it where it counts (the client's error, the watch's log) */
                log_debug("Layout not applied: %s", a->message);
        a->done(a->r, a->message, a->plan, (char **)a->made->pdata, a->userdata);
}

static int on_defer(sd_event_source *s, void *userdata)
{
        apply_end(userdata);
        return 0;
}

/* End from the loop (the first answer may come from inside layout_apply()). */
static void apply_end_later(sd_event *event, Apply *a)
{
        int r = sd_event_add_defer(event, &a->defer, on_defer, a);

        if (r >= 0)
                r = sd_event_source_set_enabled(a->defer, SD_EVENT_ONESHOT);
        if (r < 0) { /* cannot happen short of memory: answer now rather than never */
                log_error_errno(r, "Cannot schedule the answer of a layout: %m");
                apply_end(a);
        }
}

/* The owner's lowest slot that no lease uses. */
static uint32_t free_slot(Apply *a)
{
        g_autoptr(GPtrArray) mine = leases_list(a->leases, a->owner); /* sorted by slot */
        uint32_t slot = 0;

        for (guint i = 0; i < mine->len; i++) {
                const Lease *l = mine->pdata[i];

                if (l->slot == slot)
                        slot++;
                else if (l->slot > slot)
                        break;
        }
        return slot;
}

static void step(Apply *a);

static void on_step(int r, const char *message, const char *uuid, const char *parent, void *userdata)
{
        Apply *a = userdata;

        if (r < 0) {
                a->r = r;
                if (a->next_remove < a->plan->remove->len) {
                        LayoutRemoval *rm = a->plan->remove->pdata[a->next_remove];
                        a->message =
                                g_strdup_printf("Cannot remove %s from %s: %s", rm->uuid, rm->core, message);
                } else {
                        LayoutCreation *c = a->plan->create->pdata[a->next_create];
                        a->message = g_strdup_printf(
                                "Cannot create %s on %s (%" PRIu32 " of %" PRIu32 "): %s", c->type_name,
                                c->core, a->made_in_group + 1, c->count, message);
                }
                apply_end(a);
                return;
        }
        if (a->next_remove < a->plan->remove->len)
                a->next_remove++;
        else {
                g_ptr_array_add(a->made, g_strdup(uuid));
                if (++a->made_in_group ==
                    ((LayoutCreation *)a->plan->create->pdata[a->next_create])->count) {
                        a->next_create++;
                        a->made_in_group = 0;
                }
        }
        step(a);
}

/* Submit the next request of the plan, or end. */
static void step(Apply *a)
{
        OpsRequest *req;

        if (a->next_remove < a->plan->remove->len) {
                LayoutRemoval *rm = a->plan->remove->pdata[a->next_remove];

                req = ops_request_new(OPS_RELEASE);
                req->release.what = g_strdup(rm->uuid);
                req->force = a->force;
        } else if (a->next_create < a->plan->create->len) {
                LayoutCreation *c = a->plan->create->pdata[a->next_create];

                req = ops_request_new(OPS_ACQUIRE);
                req->acquire.profile = g_strdup(c->type_id);
                req->acquire.owner = g_strdup(a->owner);
                req->acquire.slot = free_slot(a);
                req->acquire.place.parent = g_strdup(c->core);
                req->acquire.persist = true;
        } else {
                log_info("Layout applied for %s: %u removed, %u created", a->owner, a->plan->remove->len,
                         a->made->len);
                apply_end(a);
                return;
        }
        ops_submit(a->ops, req, on_step, a);
}

/* Parse and plan now; 0 when there is something to do, 1 when a->r says how it ended. */
static int apply_plan(Apply *a)
{
        g_autoptr(LayoutFile) f = NULL;
        g_autoptr(LayoutHost) h = NULL;
        g_autofree char *why = NULL;
        const LayoutConfig *c;

        a->r = layout_parse(a->text, strlen(a->text), &f, &why);
        if (a->r < 0) {
                a->message = g_strdup_printf("Invalid layout file: %s", why);
                return 1;
        }
        c = layout_file_find(f, a->config);
        if (!c) {
                a->r = -ENOENT;
                a->message = g_strdup_printf("The layout file has no config \"%s\"", a->config);
                return 1;
        }
        h = layout_host_new(a->inv, a->leases, a->owner);
        a->r = layout_plan(c, h->cores, h->n_cores, a->force, &a->plan, &why);
        if (a->r < 0) {
                a->message = g_strdup_printf("The layout \"%s\" cannot be applied: %s", a->config, why);
                return 1;
        }
        return a->dry_run || !layout_plan_changes(a->plan);
}

#define APPLY_WAIT_STEP_USEC (50 * 1000ULL)
#define APPLY_WAIT_MAX_USEC  (120 * 1000 * 1000ULL)

/* Plan once the engine is idle (autostart has brought back what it will) and no other apply runs. */
static int on_wait(sd_event_source *s, uint64_t usec, void *userdata)
{
        Apply *a = userdata;

        if (!a->dry_run && (applying > 0 || !ops_idle(a->ops))) {
                a->waited_usec += APPLY_WAIT_STEP_USEC;
                if (a->waited_usec < APPLY_WAIT_MAX_USEC) {
                        (void)sd_event_source_set_time_relative(s, APPLY_WAIT_STEP_USEC);
                        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                }
                a->r = -ETIMEDOUT;
                a->message =
                        g_strdup("The lifecycle engine stayed busy for 120 s: the layout was not planned");
                a->wait = sd_event_source_disable_unref(a->wait);
                apply_end(a);
                return 0;
        }
        a->wait = sd_event_source_disable_unref(a->wait);
        waiting = g_list_remove(waiting, a);
        if (apply_plan(a) > 0) {
                apply_end(a);
                return 0;
        }
        applying++;
        a->counted = true;
        log_info("Applying layout \"%s\" for %s: %u to remove, %u to create", a->config, a->owner,
                 a->plan->remove->len, a->plan->n_create);
        step(a);
        return 0;
}

void layout_apply(sd_event *event, Ops *ops, Inventory *inv, struct Leases *leases, const char *text,
                  size_t len, const char *config, const LayoutApplyOptions *o, LayoutApplyDone done,
                  void *userdata)
{
        g_autoptr(Apply) a = g_new0(Apply, 1);
        int r;

        a->event = sd_event_ref(event);
        a->ops = ops;
        a->inv = inv;
        a->leases = leases;
        a->owner = g_strdup(o->owner);
        a->force = o->force;
        a->dry_run = o->dry_run;
        a->text = g_strndup(text, len);
        a->config = g_strdup(config);
        a->made = g_ptr_array_new_with_free_func(g_free);
        a->done = done;
        a->userdata = userdata;
        if (strlen(a->text) != len) {
                a->r = -EINVAL;
                a->message = g_strdup("Invalid layout file: it holds a NUL byte");
        } else if (!leases || !name_is_valid_owner(o->owner)) {
                g_autofree char *q = name_quote(o->owner);
                a->r = leases ? -EINVAL : -EROFS;
                a->message =
                        g_strdup_printf(leases ? "Invalid owner %s" : "No state directory: no owner %s", q);
        } else {
                r = sd_event_add_time_relative(event, &a->wait, CLOCK_MONOTONIC, 0, 0, on_wait, a);
                if (r >= 0) {
                        (void)sd_event_source_set_description(a->wait, "layout-wait");
                        waiting = g_list_prepend(waiting, a);
                        TAKE_PTR(a);
                        return;
                }
                a->r = r;
                a->message = g_strdup_printf("Cannot schedule the layout: %s", g_strerror(-r));
        }
        apply_end_later(event, TAKE_PTR(a));
}

void layout_apply_cancel_waiting(void)
{
        while (waiting) {
                Apply *a = waiting->data;

                waiting = g_list_delete_link(waiting, waiting);
                a->wait = sd_event_source_disable_unref(a->wait);
                a->r = -ECANCELED;
                a->message = g_strdup("vgpud is stopping");
                apply_end(a);
        }
}
