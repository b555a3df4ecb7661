/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vgpuctl's connection to vgpud: opening the system bus, simple calls, and error reporting. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "bus-client.h"
#include "cli.h"
#include "errors.h"
#include "lifecycle-client.h"
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

/* vgpud's private socket (see daemon/bus-private.c), used by read commands and by root's changes:
 * the same objects without the bus broker in between. Only when the system bus is the real one (no
 * DBUS_SYSTEM_BUS_ADDRESS), or when VGPUD_SOCKET names the socket, so that a test bus or a demo never
 * reaches another daemon. Any failure falls back to the system bus. */

static const char *private_socket(void)
{
        return vc_vgpud_path("VGPUD_SOCKET", VGPUD_PRIVATE_SOCKET);
}

/* The private socket, or -ENOENT (nothing printed) when there is none or it does not answer. */
static int bus_open_private(sd_bus **ret)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        g_autofree char *address = NULL;
        const char *path = private_socket();
        int r;

        if (!path || access(path, F_OK) < 0)
                return -ENOENT;
        address = g_strdup_printf("unix:path=%s", path);
        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0)
                return -ENOENT;
        (void)sd_bus_error_add_map(vgpud_error_map);
        *ret = TAKE_PTR(bus);
        return 0;
}

int vc_bus_open_read(sd_bus **ret)
{
        if (bus_open_private(ret) >= 0)
                return 0;
        return vc_bus_open(ret);
}

int vc_bus_open_change(sd_bus **ret)
{
        if (geteuid() == 0 && bus_open_private(ret) >= 0)
                return 0;
        return vc_bus_open(ret);
}

int vc_bus_log_error(const sd_bus_error *error, int r, const char *what)
{
        bool set = error && sd_bus_error_is_set(error);

        return vc_call_log_error(set ? error->name : NULL, set ? error->message : NULL, r, what);
}

typedef struct PendingCall {
        sd_bus_slot *slot;
        sd_bus_message *reply;
} PendingCall;

struct VcPendingCalls {
        sd_bus *bus;
        const char *interface;
        const char *const *methods;
        size_t n;
        PendingCall calls[];
};

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        PendingCall *call = userdata;

        call->reply = sd_bus_message_ref(m);
        return 0;
}

void vc_bus_calls_free(VcPendingCalls *calls)
{
        if (!calls)
                return;
        for (size_t i = 0; i < calls->n; i++) {
                sd_bus_slot_unref(calls->calls[i].slot);
                sd_bus_message_unref(calls->calls[i].reply);
        }
        g_free(calls);
}

int vc_bus_calls_send(sd_bus *bus, const char *interface, const char *const *methods, size_t n,
                      VcPendingCalls **ret)
{
        g_autoptr(VcPendingCalls) calls = g_malloc0(sizeof(VcPendingCalls) + n * sizeof(PendingCall));
        int r;

        calls->bus = bus;
        calls->interface = interface;
        calls->methods = methods;
        calls->n = n;
        for (size_t i = 0; i < n; i++) {
                r = sd_bus_call_method_async(bus, &calls->calls[i].slot, VGPUD_BUS_NAME, VGPUD_MANAGER_PATH,
                                             interface, methods[i], on_reply, &calls->calls[i], "");
                if (r < 0) {
                        g_autofree char *what = g_strdup_printf("%s.%s", interface, methods[i]);
                        return vc_bus_log_error(NULL, r, what);
                }
        }
        *ret = g_steal_pointer(&calls);
        return 0;
}

int vc_bus_calls_wait(VcPendingCalls *calls, size_t i, sd_bus_message **ret_reply)
{
        PendingCall *call = &calls->calls[i];
        g_autofree char *what = g_strdup_printf("%s.%s", calls->interface, calls->methods[i]);
        const sd_bus_error *error;
        int r;

        /* on_reply runs for the reply, or for the error sd-bus makes up on a timeout or when the
         * connection is lost. */
        while (!call->reply) {
                r = sd_bus_process(calls->bus, NULL);
                if (r == 0)
                        r = sd_bus_wait(calls->bus, UINT64_MAX);
                if (r < 0)
                        return vc_bus_log_error(NULL, r, what);
        }
        error = sd_bus_message_get_error(call->reply);
        if (error) {
                /* As a synchronous call would say: a lost connection is not a late answer. */
                if (sd_bus_error_has_name(error, SD_BUS_ERROR_NO_REPLY) && sd_bus_is_open(calls->bus) <= 0)
                        return vc_bus_log_error(NULL, -ECONNRESET, what);
                return vc_bus_log_error(error, -sd_bus_error_get_errno(error), what);
        }
        *ret_reply = TAKE_PTR(call->reply);
        return 0;
}

int vc_bus_call_simple(sd_bus *bus, const char *interface, const char *method, sd_bus_message **ret_reply)
{
        const char *const methods[] = {method};
        g_autoptr(VcPendingCalls) calls = NULL;
        int r;

        r = vc_bus_calls_send(bus, interface, methods, 1, &calls);
        if (r < 0)
                return r;
        return vc_bus_calls_wait(calls, 0, ret_reply);
}

int vc_bus_call_message(sd_bus *bus, sd_bus_message *m, uint64_t timeout_usec, const char *what,
                        sd_bus_message **ret_reply)
{
        PendingCall call = {};
        const sd_bus_error *error;
        int r;

        /* Asynchronous for the same reason as vc_bus_calls_send(): no wait for Hello's answer. */
        r = sd_bus_call_async(bus, &call.slot, m, on_reply, &call, timeout_usec);
        if (r < 0)
                return vc_bus_log_error(NULL, r, what);
        while (!call.reply) {
                r = sd_bus_process(bus, NULL);
                if (r == 0)
                        r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0) {
                        sd_bus_slot_unref(call.slot);
                        return vc_bus_log_error(NULL, r, what);
                }
        }
        sd_bus_slot_unref(call.slot);
        error = sd_bus_message_get_error(call.reply);
        if (error) {
                if (sd_bus_error_has_name(error, SD_BUS_ERROR_NO_REPLY) && sd_bus_is_open(bus) <= 0)
                        r = vc_bus_log_error(NULL, -ECONNRESET, what);
                else
                        r = vc_bus_log_error(error, -sd_bus_error_get_errno(error), what);
                sd_bus_message_unref(call.reply);
                return r;
        }
        *ret_reply = call.reply;
        return 0;
}
