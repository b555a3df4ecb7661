/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vgpuctl's connection to vgpud: opening the system bus, simple calls, and error reporting. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "bus-client.h"
#include "errors.h"
#include "macro.h"

static const char *system_bus_address(void)
{
        const char *a = getenv("DBUS_SYSTEM_BUS_ADDRESS");
        return a && *a ? a : "unix:path=/run/dbus/system_bus_socket";
}

int vc_bus_open(sd_bus **ret)
{
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr,
                        "Error: vgpud is not reachable: cannot connect to the system bus at %s: %s\n",
                        system_bus_address(), strerror(-r));
                return r;
        }
        /* sd-bus maps vgpud's named errors to errno values through this table. */
        (void)sd_bus_error_add_map(vgpud_error_map);
        *ret = bus;
        return 0;
}

static int is_not_running_error(const sd_bus_error *error)
{
        return sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                      "org.freedesktop.DBus.Error.Spawn.ServiceNotFound");
}

int vc_bus_log_error(const sd_bus_error *error, int r, const char *what)
{
        if (error && sd_bus_error_is_set(error)) {
                if (is_not_running_error(error))
                        fprintf(stderr, "Error: vgpud is not running (%s has no owner on the system bus)\n",
                                VGPUD_BUS_NAME);
                else if (sd_bus_error_has_name(error, SD_BUS_ERROR_NO_REPLY) ||
                         sd_bus_error_has_name(error, SD_BUS_ERROR_TIMEOUT))
                        fprintf(stderr, "Error: vgpud did not answer %s in time\n", what);
                else if (error->message && *error->message)
                        fprintf(stderr, "Error: %s\n", error->message);
                else
                        fprintf(stderr, "Error: %s failed: %s\n", what, error->name);
        } else if (r == -ECONNREFUSED || r == -ENOENT || r == -ECONNRESET || r == -ENOTCONN) {
                fprintf(stderr, "Error: vgpud is not reachable: the system bus connection failed: %s\n",
                        strerror(-r));
        } else {
                fprintf(stderr, "Error: %s failed: %s\n", what, strerror(r < 0 ? -r : EIO));
        }
        return r < 0 ? r : -EIO;
}

int vc_bus_call_simple(sd_bus *bus, const char *path, const char *interface, const char *method,
                       sd_bus_message **ret_reply)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, VGPUD_BUS_NAME, path, interface, method, &error, ret_reply, "");
        if (r < 0) {
                g_autofree char *what = g_strdup_printf("%s.%s", interface, method);
                vc_bus_log_error(&error, r, what);
                sd_bus_error_free(&error);
                return r;
        }
        return 0;
}

typedef struct PendingCall {
        sd_bus_slot *slot;
        sd_bus_message *reply;
} PendingCall;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        PendingCall *call = userdata;

        call->reply = sd_bus_message_ref(m);
        return 0;
}

static void pending_calls_free(PendingCall *calls, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                sd_bus_slot_unref(calls[i].slot);
                sd_bus_message_unref(calls[i].reply);
        }
        g_free(calls);
}

int vc_bus_call_manager_many(sd_bus *bus, const char *const *methods, size_t n, sd_bus_message **ret_replies)
{
        PendingCall *calls = g_new0(PendingCall, n);
        size_t done = 0;
        int r = 0;

        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_call_method_async(bus, &calls[i].slot, VGPUD_BUS_NAME, VGPUD_MANAGER_PATH,
                                             VGPUD_MANAGER_IFACE, methods[i], on_reply, &calls[i], "");
        /* Each reply (or an error sd-bus makes up for a timeout or a lost connection) runs on_reply. */
        while (r >= 0 && done < n) {
                r = sd_bus_process(bus, NULL);
                if (r == 0)
                        r = sd_bus_wait(bus, UINT64_MAX);
                done = 0;
                for (size_t i = 0; i < n; i++)
                        done += calls[i].reply != NULL;
        }
        if (r < 0) {
                g_autofree char *what = g_strdup_printf("%s.%s", VGPUD_MANAGER_IFACE, methods[0]);
                pending_calls_free(calls, n);
                return vc_bus_log_error(NULL, r, what);
        }
        for (size_t i = 0; i < n; i++) {
                const sd_bus_error *error = sd_bus_message_get_error(calls[i].reply);
                if (error) {
                        g_autofree char *what = g_strdup_printf("%s.%s", VGPUD_MANAGER_IFACE, methods[i]);
                        r = vc_bus_log_error(error, -sd_bus_error_get_errno(error), what);
                        pending_calls_free(calls, n);
                        return r;
                }
        }
        for (size_t i = 0; i < n; i++)
                ret_replies[i] = TAKE_PTR(calls[i].reply);
        pending_calls_free(calls, n);
        return 0;
}
