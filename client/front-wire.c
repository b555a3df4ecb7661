/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* front-wire.h: the front's change calls, with vgpuctl-full's messages (vc_call_log_error()). */

#include <errno.h>
#include <stdbool.h>
#include <unistd.h>
#include <glib.h>

#include "change-call.h"
#include "cli.h"
#include "front-wire.h"
#include "lifecycle-client.h"
#include "macro.h"
#include "names.h"
#include "wire.h"

/* sd-bus drops a connection that has not sent BEGIN within its authentication timeout (90 s in
 * sd-bus 252): a connection older than this, made before a long wait for a --jsonfile pipe, is made again
 * before the call. */
#define FRESH_USEC (5 * G_USEC_PER_SEC)

static const char *wire_path;
static int wire_fd = -EBADF;
static int64_t wire_since;
static bool wire_authenticated; /* vgpud's OK read; else vc_wire_call() reads it before the reply */
static bool input_read;         /* the command read its input: no hand-over to vgpuctl-full any more */

int vc_front_wire_open(void)
{
        const char *path = vc_vgpud_path("VGPUD_SOCKET", VGPUD_PRIVATE_SOCKET);

        if (geteuid() != 0)
                return -EPERM;
        if (!path || access(path, F_OK) < 0)
                return -ENOENT;
        wire_path = path;
        return 0;
}

/* A connection made within FRESH_USEC, else a new one (authenticate: the authentication sent and its
 * OK read; else it goes with the call). */
static int connect_fresh(bool authenticate)
{
        int r;

        if (wire_fd >= 0 && g_get_monotonic_time() - wire_since < FRESH_USEC)
                return 0;
        if (wire_fd >= 0)
                close(TAKE_FD(wire_fd));
        r = vc_wire_connect(wire_path, authenticate, &wire_fd);
        if (r < 0)
                return r;
        wire_since = g_get_monotonic_time();
        wire_authenticated = authenticate;
        return 0;
}

int vc_change_input_begins(void)
{
        if (connect_fresh(true) < 0)
                return vc_front_exec_full(); /* nothing printed or read yet */
        input_read = true;
        return 0;
}

/* What sd-bus (in vgpuctl-full) would report for the same failure: a timeout as its NoReply error. */
static int log_failure(int r, const VcWireReply *reply, const char *what)
{
        if (r == -ETIMEDOUT)
                return vc_call_log_error("org.freedesktop.DBus.Error.NoReply", NULL, r, what);
        if (r < 0)
                return vc_call_log_error(NULL, NULL, r, what);
        return vc_call_log_error(reply->error_name, reply->error_message, -EIO, what);
}

int vc_change_call_answer(const VcChangeCall *call, char ***ret)
{
        g_autofree char *what = g_strdup_printf("%s.%s", VGPUD_MANAGER_IFACE, call->method);
        g_autoptr(GByteArray) message = g_byte_array_new();
        VcWireReply reply = {};
        int r;

        g_assert(wire_path); /* main() hands change commands to vgpuctl-full without a socket */
        r = vc_wire_build_call(call, message);
        if (r < 0) {
                g_autofree char *building = g_strdup_printf("building the %s call", call->method);
                return vc_call_log_error(NULL, NULL, r, building);
        }
        /* the connection, the authentication, BEGIN and the call in a row: vgpud reads them in one
         * wake-up, and its OK comes with the reply (one round trip) */
        r = connect_fresh(false);
        if (r < 0 && !input_read)
                return vc_front_exec_full(); /* vgpud not there: nothing printed or read yet */
        if (r >= 0)
                r = vc_wire_call(wire_fd, wire_authenticated, message, call->timeout_usec, &reply);
        if (r == -ENOTCONN && !input_read)
                return vc_front_exec_full(); /* vgpud did not take the call: the same */
        if (r < 0 || reply.is_error) {
                r = log_failure(r, &reply, what);
        } else if (call->answer[0] && g_strcmp0(reply.signature, call->answer) != 0) {
                g_autofree char *reading = g_strdup_printf("reading the answer to %s", call->method);
                r = vc_call_log_error(NULL, NULL, -ENXIO, reading);
        } else if (ret)
                *ret = g_steal_pointer(&reply.strings);
        vc_wire_reply_clear(&reply);
        return r;
}
