/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* change-bus.h: vgpuctl-full's change calls over sd-bus. */

#include <errno.h>
#include <glib.h>

#include "bus-client.h"
#include "change-bus.h"
#include "macro.h"

int vc_change_new(sd_bus *bus, const char *method, sd_bus_message **ret)
{
        int r;

        r = sd_bus_message_new_method_call(bus, ret, VGPUD_BUS_NAME, VGPUD_MANAGER_PATH, VGPUD_MANAGER_IFACE,
                                           method);
        if (r < 0) {
                g_autofree char *what = g_strdup_printf("%s.%s", VGPUD_MANAGER_IFACE, method);
                return vc_bus_log_error(NULL, r, what);
        }
        return 0;
}

int vc_change_append_options(sd_bus_message *m, bool force, bool modify_options, bool defined, bool live)
{
        int r;

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r >= 0 && force)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_FORCE, "b", 1);
        if (r >= 0 && modify_options)
                r = sd_bus_message_append(m, "{sv}{sv}", VGPUD_OPT_DEFINED, "b", (int)defined,
                                          VGPUD_OPT_LIVE, "b", (int)live);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

int vc_change_send(sd_bus *bus, sd_bus_message *m, sd_bus_message **ret_reply)
{
        g_autofree char *what = g_strdup_printf("%s.%s", VGPUD_MANAGER_IFACE, sd_bus_message_get_member(m));
        sd_bus_message *reply = NULL;
        int r;

        r = vc_bus_call_message(bus, m, VC_CHANGE_TIMEOUT_USEC, what, &reply);
        if (r < 0)
                return r;
        if (ret_reply)
                *ret_reply = reply;
        else
                sd_bus_message_unref(reply);
        return 0;
}

static int append_entry(sd_bus_message *m, const VcCallEntry *e)
{
        switch (e->kind) {
        case VC_VARIANT_STRING: return sd_bus_message_append(m, "{sv}", e->key, "s", e->s);
        case VC_VARIANT_BOOLEAN: return sd_bus_message_append(m, "{sv}", e->key, "b", (int)e->b);
        case VC_VARIANT_INT32: return sd_bus_message_append(m, "{sv}", e->key, "i", e->i);
        case VC_VARIANT_ATTRIBUTE:
                return sd_bus_message_append(m, "{sv}", e->key, "(ssi)", e->s, e->s2, e->i);
        }
        return -EINVAL;
}

static int append_dict(sd_bus_message *m, const VcCallEntry *entries, size_t n)
{
        int r;

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = append_entry(m, &entries[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

int vc_change_call_on(sd_bus *bus, const VcChangeCall *call, char **ret_uuid)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *uuid, *path;
        int r;

        r = vc_change_new(bus, call->method, &m);
        if (r < 0)
                return r;
        for (size_t i = 0; r >= 0 && i < call->n_strings; i++)
                r = sd_bus_message_append_basic(m, 's', call->strings[i]);
        if (r >= 0 && call->has_changes)
                r = append_dict(m, call->changes, call->n_changes);
        if (r >= 0)
                r = append_dict(m, call->options, call->n_options);
        if (r < 0) {
                g_autofree char *building = g_strdup_printf("building the %s call", call->method);
                return vc_bus_log_error(NULL, r, building);
        }
        r = vc_change_send(bus, m, call->returns_uuid ? &reply : NULL);
        if (r < 0 || !call->returns_uuid)
                return r;
        r = sd_bus_message_read(reply, "so", &uuid, &path);
        if (r < 0) {
                g_autofree char *reading = g_strdup_printf("reading the answer to %s", call->method);
                return vc_bus_log_error(NULL, r, reading);
        }
        if (ret_uuid)
                *ret_uuid = g_strdup(uuid);
        return 0;
}

int vc_change_call(const VcChangeCall *call, char **ret_uuid)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = vc_bus_open_change(&bus);
        if (r < 0)
                return r;
        return vc_change_call_on(bus, call, ret_uuid);
}
