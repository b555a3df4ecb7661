/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.freedesktop.PolicyKit1.Authority.CheckAuthorization over sd-bus, asynchronously. */

#include <errno.h>
#include <stdlib.h>
#include <glib.h>

#include "keycount.h"
#include "macro.h"
#include "log.h"
#include "polkit.h"

/* polkit's CheckAuthorization flag: the client may be asked for a password. */
#define POLKIT_ALLOW_USER_INTERACTION 1u
/* polkit may wait for a human to type a password: give it time */
#define POLKIT_TIMEOUT_USEC (120ULL * 1000 * 1000)

/* polkit checks in flight per bus name: a client cannot make vgpud hold more (the broker bounds the
 * number of its connections) */
#define POLKIT_MAX_PENDING_PER_SENDER 16u

static GHashTable *pending_per_sender; /* unique name -> checks in flight (keycount.h) */

typedef struct {
        sd_bus_message *call;
        char *action_id;
        PolkitCallback cb;
        void *userdata;
} PolkitQuery;

static void query_free(PolkitQuery *q)
{
        keycount_add(&pending_per_sender, sd_bus_message_get_sender(q->call), -1);
        sd_bus_message_unref(q->call);
        g_free(q->action_id);
        g_free(q);
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        PolkitQuery *q = userdata;
        const sd_bus_error *e;
        int authorized = 0, challenge = 0, allowed;
        int r;

        e = sd_bus_message_get_error(reply);
        if (e) {
                log_warning("Cannot ask polkit whether %s may do %s: %s", sd_bus_message_get_sender(q->call),
                            q->action_id, e->message ? e->message : e->name);
                allowed = -EACCES;
        } else {
                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0) {
                        log_warning_errno(r, "Unexpected answer from polkit: %m");
                        allowed = r;
                } else
                        allowed = authorized ? 1 : 0;
        }
        log_debug("polkit: %s %s %s", sd_bus_message_get_sender(q->call),
                  allowed > 0 ? "may do" : "may not do", q->action_id);
        q->cb(q->call, allowed, q->userdata);
        query_free(q);
        return 0;
}

/* CheckAuthorization's details, a{ss}. */
static int append_details(sd_bus_message *m, char **kv)
{
        int r;

        r = sd_bus_message_open_container(m, 'a', "{ss}");
        for (char **p = kv; r >= 0 && p && p[0] && p[1]; p += 2)
                r = sd_bus_message_append(m, "{ss}", p[0], p[1]);
        return r < 0 ? r : sd_bus_message_close_container(m);
}

int polkit_check(sd_bus_message *call, const char *action_id, PolkitDetails details, PolkitCallback cb,
                 void *userdata)
{
        g_auto(GStrv) kv = NULL;
        sd_bus *bus = sd_bus_message_get_bus(call);
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const char *sender = sd_bus_message_get_sender(call);
        PolkitQuery *q;
        uid_t uid;
        int r;

        r = sd_bus_query_sender_creds(call, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return log_warning_errno(r, "Cannot learn who sent %s: %m", sd_bus_message_get_member(call));
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return r;
        if (uid == 0)
                return 1;
        if (!sender)
                return -EACCES; /* a direct connection: no bus name for polkit to look at */

        if (keycount_get(pending_per_sender, sender) >= POLKIT_MAX_PENDING_PER_SENDER)
                return -ENOBUFS;

        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sa{sv})s", "system-bus-name", 1, "name", "s", sender,
                                          action_id);
        kv = details ? details(userdata) : NULL;
        if (r >= 0)
                r = append_details(m, kv);
        if (r >= 0)
                r = sd_bus_message_append(m, "us",
                                          sd_bus_message_get_allow_interactive_authorization(call) > 0
                                                  ? POLKIT_ALLOW_USER_INTERACTION
                                                  : 0u,
                                          "");
        if (r < 0)
                return r;

        q = g_new0(PolkitQuery, 1);
        q->call = sd_bus_message_ref(call);
        keycount_add(&pending_per_sender, sender, +1);
        q->action_id = g_strdup(action_id);
        q->cb = cb;
        q->userdata = userdata;
        r = sd_bus_call_async(bus, NULL, m, on_reply, q, POLKIT_TIMEOUT_USEC);
        if (r < 0) {
                query_free(q);
                return log_warning_errno(r, "Cannot ask polkit: %m");
        }
        return 0;
}
