/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* change-bus.h: vgpuctl-full's change calls over sd-bus. */

#include <errno.h>
#include <string.h>
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

static int append_strv_entry(sd_bus_message *m, const char *key, const char *const *strv)
{
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char **)strv);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int append_entry(sd_bus_message *m, const VcCallEntry *e)
{
        switch (e->kind) {
        case VC_VARIANT_STRING: return sd_bus_message_append(m, "{sv}", e->key, "s", e->s);
        case VC_VARIANT_BOOLEAN: return sd_bus_message_append(m, "{sv}", e->key, "b", (int)e->b);
        case VC_VARIANT_INT32: return sd_bus_message_append(m, "{sv}", e->key, "i", e->i);
        case VC_VARIANT_UINT32: return sd_bus_message_append(m, "{sv}", e->key, "u", e->u);
        case VC_VARIANT_STRV: return append_strv_entry(m, e->key, e->strv);
        case VC_VARIANT_ATTRIBUTE:
                return sd_bus_message_append(m, "{sv}", e->key, "(ssi)", e->s, e->s2, e->i);
        }
        return -EINVAL;
}

int vc_change_append_entries(sd_bus_message *m, const VcCallEntry *entries, size_t n)
{
        int r = 0;

        for (size_t i = 0; r >= 0 && i < n; i++)
                r = append_entry(m, &entries[i]);
        return r;
}

static int append_dict(sd_bus_message *m, const VcCallEntry *entries, size_t n)
{
        int r;

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r >= 0)
                r = vc_change_append_entries(m, entries, n);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

int vc_change_message(sd_bus *bus, const VcChangeCall *call, sd_bus_message **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
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
        *ret = TAKE_PTR(m);
        return 0;
}

/* The answer's strings (call->answer: "", "so", "soss" or "as"); -ENXIO for another signature, as
 * sd_bus_message_read() says it. */
static int read_answer(sd_bus_message *reply, const char *answer, char ***ret)
{
        g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func(g_free);
        const char *s;
        int r;

        if (strcmp(answer, "as") == 0)
                return sd_bus_message_read_strv(reply, ret);
        for (size_t i = 0; answer[i]; i++) {
                r = sd_bus_message_read_basic(reply, answer[i], &s);
                if (r == 0)
                        r = -ENXIO;
                if (r < 0)
                        return r;
                g_ptr_array_add(strings, g_strdup(s));
        }
        g_ptr_array_add(strings, NULL);
        *ret = (char **)g_ptr_array_free(g_steal_pointer(&strings), FALSE);
        return 0;
}

int vc_change_call_on(sd_bus *bus, const VcChangeCall *call, char ***ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        g_autofree char *what = g_strdup_printf("%s.%s", VGPUD_MANAGER_IFACE, call->method);
        g_auto(GStrv) answer = NULL;
        int r;

        r = vc_change_message(bus, call, &m);
        if (r < 0)
                return r;
        r = vc_bus_call_message(bus, m, call->timeout_usec, what, &reply);
        if (r < 0)
                return r;
        r = read_answer(reply, call->answer, &answer);
        if (r < 0) {
                g_autofree char *reading = g_strdup_printf("reading the answer to %s", call->method);
                return vc_bus_log_error(NULL, r, reading);
        }
        if (ret)
                *ret = g_steal_pointer(&answer);
        return 0;
}

int vc_change_input_begins(void)
{
        return 0; /* the system bus connection is made with the call */
}

int vc_change_call_answer(const VcChangeCall *call, char ***ret)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = vc_bus_open_change(&bus);
        if (r < 0)
                return r;
        return vc_change_call_on(bus, call, ret);
}
