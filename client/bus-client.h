/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vgpuctl's connection to vgpud: open the system bus, call org.vgpud1, and turn bus failures into
 * one clear "Error: ..." line (the daemon not running gets its own message). */

#include <glib.h>
#include <systemd/sd-bus.h>
#include "names.h"

/* Connect to the system bus (DBUS_SYSTEM_BUS_ADDRESS redirects it). On failure prints an error and
 * returns a negative errno. */
int vc_bus_open(sd_bus **ret);
/* For commands that only read: vgpud's private socket when there is one (no broker in between),
 * else the system bus. */
int vc_bus_open_read(sd_bus **ret);
/* For commands that change something: as root, vgpud's private socket when there is one (vgpud
 * trusts uid 0 from the socket's credentials, as systemctl's changes over /run/systemd/private);
 * anyone else goes through the system bus, where vgpud can ask polkit about the caller's name. */
int vc_bus_open_change(sd_bus **ret);

/* Print the failure of a call to vgpud as "Error: <message>" on stderr. error may be NULL or unset;
 * r is the negative errno the call returned. Returns r. */
int vc_bus_log_error(const sd_bus_error *error, int r, const char *what);

/* Calls to methods without arguments on vgpud's /org/vgpud1, all sent at once: every request is out
 * before the first reply is read, so the daemon builds the next reply while this process reads the
 * previous one. They are asynchronous calls even when there is just one, because sd_bus_call() waits
 * for the bus's answer to Hello before it sends anything, which costs a round trip through
 * dbus-daemon; an asynchronous call goes out right behind the Hello. */
typedef struct VcPendingCalls VcPendingCalls;

/* Send the calls to interface.methods[0..n) (the strings must outlive *ret). Prints the error on
 * failure. */
int vc_bus_calls_send(sd_bus *bus, const char *interface, const char *const *methods, size_t n,
                      VcPendingCalls **ret);

/* Wait for the reply to call i and return it (the caller owns it). Prints the error (also a timeout or
 * a lost connection) and returns a negative errno on failure. */
int vc_bus_calls_wait(VcPendingCalls *calls, size_t i, sd_bus_message **ret_reply);

void vc_bus_calls_free(VcPendingCalls *calls);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VcPendingCalls, vc_bus_calls_free)

/* Send the method call m (built with sd_bus_message_new_method_call) and wait up to timeout_usec for
 * its reply; what names the call in messages. Prints the error, the daemon's own message for its
 * named errors ("Error: <message>"), and returns a negative errno on failure. */
int vc_bus_call_message(sd_bus *bus, sd_bus_message *m, uint64_t timeout_usec, const char *what,
                        sd_bus_message **ret_reply);

/* One such call: interface.method on /org/vgpud1, and its reply. Prints the error on failure. */
int vc_bus_call_simple(sd_bus *bus, const char *interface, const char *method, sd_bus_message **ret_reply);
