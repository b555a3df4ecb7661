/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.vgpud1.Manager's ApplyLayout: read the arguments, ask polkit (not for a dry run, which changes
 * nothing), apply through layout-apply.c and reply with the plan and what was made. */

#include <errno.h>
#include <string.h>

#include "errors.h"
#include "layout-apply.h"
#include "log.h"
#include "metrics.h"
#include "macro.h"
#include "polkit.h"
#include "bus.h"
#include "snapshot-writer.h"

typedef struct {
        Manager *m;
        sd_bus_message *call;
        char *text, *config, *owner;
        bool force, dry_run;
} ApplyCall;

static void apply_call_free(ApplyCall *c)
{
        if (!c)
                return;
        sd_bus_message_unref(c->call);
        g_free(c->text);
        g_free(c->config);
        g_free(c->owner);
        g_free(c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ApplyCall, apply_call_free)

/* The plan as (b changed, a(ssss) removed, a(sisu) created, as made, as kept). */
static int append_plan(sd_bus_message *reply, const LayoutPlan *p, char **made)
{
        int r = sd_bus_message_append(reply, "b", layout_plan_changes(p));

        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssss)");
        for (guint i = 0; r >= 0 && i < p->remove->len; i++) {
                LayoutRemoval *rm = p->remove->pdata[i];
                r = sd_bus_message_append(reply, "(ssss)", rm->uuid, rm->core, rm->type_id,
                                          rm->held_by ? rm->held_by : "");
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sisu)");
        for (guint i = 0; r >= 0 && i < p->create->len; i++) {
                LayoutCreation *c = p->create->pdata[i];
                r = sd_bus_message_append(reply, "(sisu)", c->core, c->index, c->type_id, c->count);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, made);
        if (r >= 0) {
                g_ptr_array_add(p->keep, NULL);
                r = sd_bus_message_append_strv(reply, (char **)p->keep->pdata);
                g_ptr_array_remove_index(p->keep, p->keep->len - 1);
        }
        return r;
}

static void on_applied(int r, const char *message, const LayoutPlan *plan, char **made, void *userdata)
{
        g_autoptr(ApplyCall) c = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

        snapshot_writer_flush(c->m->snapshot); /* before the caller can read it */
        if (r < 0) {
                log_info("ApplyLayout \"%s\" for %s refused: %s", c->config, c->owner,
                         message ? message : g_strerror(-r));
                r = sd_bus_reply_method_errorf(c->call, vgpud_error_name_from_errno(r), "%s",
                                               message ? message : g_strerror(-r));
        } else {
                r = sd_bus_message_new_method_return(c->call, &reply);
                if (r >= 0)
                        r = append_plan(reply, plan, made);
                if (r >= 0)
                        r = sd_bus_send(NULL, reply, NULL);
        }
        if (r < 0)
                log_debug_errno(r, "Cannot reply to ApplyLayout: %m");
}

static void apply_go(ApplyCall *c)
{
        LayoutApplyOptions o = {.owner = c->owner, .force = c->force, .dry_run = c->dry_run};
        Manager *m = c->m;

        layout_apply(m->event, m->ops, m->inventory, m->leases, c->text, strlen(c->text), c->config, &o,
                     on_applied, c);
}

static void on_polkit(sd_bus_message *call, int allowed, void *userdata)
{
        g_autoptr(ApplyCall) c = userdata;

        if (allowed <= 0) {
                (void)sd_bus_reply_method_errorf(call, SD_BUS_ERROR_ACCESS_DENIED,
                                                 "Not authorized to apply a layout (%s)",
                                                 VGPUD_ACTION_LAYOUT_APPLY);
                return;
        }
        apply_go(TAKE_PTR(c));
}

/* What polkit's rules see: action.lookup("config"), action.lookup("owner"), action.lookup("force"). */
static char **apply_details(void *userdata)
{
        ApplyCall *c = userdata;
        char **v = g_new0(char *, 7);

        v[0] = g_strdup("config");
        v[1] = g_strdup(c->config);
        v[2] = g_strdup("owner");
        v[3] = g_strdup(c->owner);
        v[4] = g_strdup("force");
        v[5] = g_strdup(c->force ? "true" : "false");
        return v;
}

/* options: dry_run (b), force (b), owner (s); anything else is InvalidArgument */
static int read_options(sd_bus_message *msg, ApplyCall *c, sd_bus_error *error)
{
        int r = sd_bus_message_enter_container(msg, 'a', "{sv}");

        while (r >= 0 && (r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *key, *s;
                int b;

                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                if (g_str_equal(key, VGPUD_OPT_DRY_RUN) || g_str_equal(key, VGPUD_OPT_FORCE)) {
                        r = sd_bus_message_read(msg, "v", "b", &b);
                        if (r < 0)
                                return vgpud_bus_error_set(error, -EINVAL, "\"%s\" takes a boolean", key);
                        *(g_str_equal(key, VGPUD_OPT_FORCE) ? &c->force : &c->dry_run) = b;
                } else if (g_str_equal(key, VGPUD_OPT_OWNER)) {
                        r = sd_bus_message_read(msg, "v", "s", &s);
                        if (r < 0)
                                return vgpud_bus_error_set(error, -EINVAL, "\"%s\" takes a string", key);
                        g_free(c->owner);
                        c->owner = g_strdup(s);
                } else
                        return vgpud_bus_error_set(error, -EINVAL, "Unknown option \"%s\"", key);
                r = sd_bus_message_exit_container(msg);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(msg);
        return r;
}

int bus_method_apply_layout(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        g_autoptr(ApplyCall) c = g_new0(ApplyCall, 1);
        const char *text, *config;
        int r;

        r = sd_bus_message_read(msg, "ss", &text, &config);
        if (r < 0)
                return r;
        c->m = m;
        c->call = sd_bus_message_ref(msg);
        c->text = g_strdup(text);
        c->config = g_strdup(config);
        c->owner = g_strdup(m->config.layout_owner);
        r = read_options(msg, c, error);
        if (r < 0)
                return r;
        if (c->dry_run) {
                apply_go(TAKE_PTR(c));
                return 1;
        }
        r = polkit_check(msg, VGPUD_ACTION_LAYOUT_APPLY, apply_details, on_polkit, c);
        if (r == -ENOBUFS)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Too many of your requests wait for polkit; try again later");
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Not authorized to apply a layout: %s", g_strerror(-r));
        if (r == 0) {
                TAKE_PTR(c);
                return 1;
        }
        apply_go(TAKE_PTR(c));
        return 1;
}

void bus_layout_changed(void *userdata)
{
        Manager *m = userdata;
        int r;

        if (m->metrics)
                metrics_changed(m->metrics);
        if (!m->bus)
                return;
        r = sd_bus_emit_properties_changed(m->bus, VGPUD_MANAGER_PATH, VGPUD_MANAGER_IFACE, "LayoutState",
                                           "LayoutMessage", "LayoutVgpus", NULL);
        if (r < 0)
                log_debug_errno(r, "Cannot signal the layout's state: %m");
}
