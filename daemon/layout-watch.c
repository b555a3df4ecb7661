/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The configured layout (layout-watch.h): inotify on the file's directory, a short settle timer, then
 * layout_apply() with the file's content when it differs from the last one tried. */

#include <errno.h>
#include <string.h>
#include <sys/inotify.h>

#include "layout-apply.h"
#include "log.h"
#include "macro.h"
#include "layout-watch.h"

#define LAYOUT_SETTLE_USEC (200 * 1000ULL)

struct LayoutWatch {
        sd_event *event;
        Ops *ops;
        Inventory *inv;
        struct Leases *leases;
        char *path, *dir, *config, *owner;
        sd_event_source *inotify, *settle;
        LayoutWatchChanged changed;
        void *userdata;
        LayoutState state;
        char *message;
        unsigned vgpus;
        uint64_t retry_usec; /* 0: no retry */
        char *tried;         /* the content last applied (or refused); NULL: none yet */
        bool applying;       /* layout_apply() has not answered yet */
        bool again;          /* the file changed while applying */
};

const char *layout_state_to_string(LayoutState s)
{
        switch (s) {
        case LAYOUT_STATE_PENDING: return "pending";
        case LAYOUT_STATE_APPLIED: return "applied";
        case LAYOUT_STATE_FAILED: return "failed";
        default: return "none";
        }
}

static void set_state(LayoutWatch *w, LayoutState s, char *message)
{
        g_free(w->message);
        w->message = message ? message : g_strdup("");
        w->state = s;
        if (w->changed)
                w->changed(w->userdata);
}

static void try_apply(LayoutWatch *w);

static void on_applied(int r, const char *message, const LayoutPlan *plan, char **made, void *userdata)
{
        LayoutWatch *w = userdata;

        w->applying = false;
        if (r < 0) {
                if (w->state != LAYOUT_STATE_FAILED || !g_str_equal(w->message, message ? message : ""))
                        log_warning("Layout \"%s\" of %s not applied: %s", w->config, w->path, message);
                set_state(w, LAYOUT_STATE_FAILED, g_strdup(message));
                if (w->retry_usec > 0 && !w->again) {
                        g_clear_pointer(&w->tried, g_free); /* the same content is tried again */
                        (void)sd_event_source_set_time_relative(w->settle, w->retry_usec);
                        (void)sd_event_source_set_enabled(w->settle, SD_EVENT_ONESHOT);
                }
        } else {
                w->vgpus = plan->keep->len + (made ? g_strv_length(made) : 0);
                set_state(w, LAYOUT_STATE_APPLIED,
                          g_strdup_printf("%u vGPUs: %u kept, %u created, %u removed", w->vgpus,
                                          plan->keep->len, made ? g_strv_length(made) : 0,
                                          plan->remove->len));
                log_info("Layout \"%s\" of %s applied: %s", w->config, w->path, w->message);
        }
        if (w->again) {
                w->again = false;
                try_apply(w);
        }
}

/* Read the file; apply it when its content is new. */
static void try_apply(LayoutWatch *w)
{
        g_autofree char *text = NULL;
        g_autoptr(GError) err = NULL;
        LayoutApplyOptions o = {.owner = w->owner};
        gsize len = 0;

        if (w->applying) {
                w->again = true;
                return;
        }
        if (!g_file_get_contents(w->path, &text, &len, &err)) {
                g_clear_pointer(&w->tried, g_free);
                set_state(w, LAYOUT_STATE_FAILED,
                          g_strdup_printf("Cannot read %s: %s", w->path, err->message));
                log_warning("Layout: %s", w->message);
                return;
        }
        if (w->tried && g_str_equal(w->tried, text))
                return;
        g_free(w->tried);
        w->tried = g_strdup(text);
        w->applying = true;
        if (w->state != LAYOUT_STATE_FAILED) /* a retry keeps saying why it failed until it works */
                set_state(w, LAYOUT_STATE_PENDING,
                          g_strdup_printf("Applying \"%s\" of %s", w->config, w->path));
        layout_apply(w->event, w->ops, w->inv, w->leases, text, len, w->config, &o, on_applied, w);
}

static int on_settle(sd_event_source *s, uint64_t usec, void *userdata)
{
        try_apply(userdata);
        return 0;
}

static int on_inotify(sd_event_source *s, const struct inotify_event *ev, void *userdata)
{
        LayoutWatch *w = userdata;
        g_autofree char *base = g_path_get_basename(w->path);

        /* the file itself, or the ..data symlink a Kubernetes ConfigMap volume swaps */
        if (ev->len > 0 && !g_str_equal(ev->name, base) && !g_str_has_prefix(ev->name, ".."))
                return 0;
        (void)sd_event_source_set_time_relative(w->settle, LAYOUT_SETTLE_USEC);
        return sd_event_source_set_enabled(w->settle, SD_EVENT_ONESHOT);
}

int layout_watch_new(sd_event *event, Ops *ops, Inventory *inv, struct Leases *leases, const char *path,
                     const char *config, const char *owner, uint64_t retry_sec, LayoutWatchChanged changed,
                     void *userdata, LayoutWatch **ret)
{
        g_autoptr(LayoutWatch) w = g_new0(LayoutWatch, 1);

        w->event = sd_event_ref(event);
        w->ops = ops;
        w->inv = inv;
        w->leases = leases;
        w->path = g_strdup(path);
        w->dir = path ? g_path_get_dirname(path) : NULL;
        w->config = g_strdup(config);
        w->owner = g_strdup(owner);
        w->retry_usec = MIN(retry_sec, 86400ULL) * 1000ULL * 1000ULL;
        w->changed = changed;
        w->userdata = userdata;
        w->message = g_strdup("");
        w->state = path && config ? LAYOUT_STATE_PENDING : LAYOUT_STATE_NONE;
        *ret = TAKE_PTR(w);
        return 0;
}

int layout_watch_start(LayoutWatch *w)
{
        int r;

        if (w->state == LAYOUT_STATE_NONE)
                return 0;
        r = sd_event_add_time_relative(w->event, &w->settle, CLOCK_MONOTONIC, LAYOUT_SETTLE_USEC, 0,
                                       on_settle, w);
        if (r >= 0)
                r = sd_event_source_set_enabled(w->settle, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the layout timer: %m");
        (void)sd_event_source_set_description(w->settle, "layout-settle");
        r = sd_event_add_inotify(w->event, &w->inotify, w->dir,
                                 IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                                         IN_ATTRIB | IN_ONLYDIR,
                                 on_inotify, w);
        if (r < 0)
                log_warning_errno(r, "Cannot watch %s: %m (the layout is applied at start only)", w->dir);
        else
                (void)sd_event_source_set_description(w->inotify, "layout-inotify");
        log_info("Layout: \"%s\" of %s, for owner %s", w->config, w->path, w->owner);
        try_apply(w);
        return 0;
}

void layout_watch_free(LayoutWatch *w)
{
        if (!w)
                return;
        sd_event_source_disable_unref(w->inotify);
        sd_event_source_disable_unref(w->settle);
        sd_event_unref(w->event);
        g_free(w->path);
        g_free(w->dir);
        g_free(w->config);
        g_free(w->owner);
        g_free(w->message);
        g_free(w->tried);
        g_free(w);
}

LayoutState layout_watch_state(LayoutWatch *w)
{
        return w ? w->state : LAYOUT_STATE_NONE;
}

const char *layout_watch_message(LayoutWatch *w)
{
        return w ? w->message : "";
}

unsigned layout_watch_vgpus(LayoutWatch *w)
{
        return w ? w->vgpus : 0;
}
