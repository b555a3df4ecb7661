/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vgpuctl's connection to vgpud: open the system bus, call org.vgpud1, and turn bus failures into
 * one clear "Error: ..." line (the daemon not running gets its own message). */

#include <systemd/sd-bus.h>

#define VGPUD_BUS_NAME         "org.vgpud1"
#define VGPUD_MANAGER_PATH     "/org/vgpud1"
#define VGPUD_MANAGER_IFACE    "org.vgpud1.Manager"
#define VGPUD_GPU_IFACE        "org.vgpud1.Gpu"
#define VGPUD_DEVICE_IFACE     "org.vgpud1.Device"
#define VGPUD_DEFINITION_IFACE "org.vgpud1.Definition"

/* Connect to the system bus (DBUS_SYSTEM_BUS_ADDRESS redirects it). On failure prints an error and
 * returns a negative errno. */
int vc_bus_open(sd_bus **ret);

/* Print the failure of a call to vgpud as "Error: <message>" on stderr. error may be NULL or unset;
 * r is the negative errno the call returned. Returns r. */
int vc_bus_log_error(const sd_bus_error *error, int r, const char *what);

/* Call method on vgpud's object path/interface with no arguments and return the reply. Prints the
 * error on failure. */
int vc_bus_call_simple(sd_bus *bus, const char *path, const char *interface, const char *method,
                       sd_bus_message **ret_reply);

/* Call several methods without arguments on vgpud's Manager at once: every request is sent before the
 * first reply is read, so the daemon builds the next reply while this process reads the previous one.
 * ret_replies[i] gets the reply to methods[i]. Prints the first error and returns a negative errno on
 * failure (then no reply is returned). */
int vc_bus_call_manager_many(sd_bus *bus, const char *const *methods, size_t n,
                             sd_bus_message **ret_replies);
