/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What vgpuctl's define, undefine, modify, start and stop share, in vgpuctl-full and in the front
 * alike (no D-Bus library here: the calls go through change-call.h): reading a --jsonfile (its text
 * goes to the daemon unparsed: vgpud validates it), the compact definition JSON for --type/--auto,
 * mdevctl's own "Error: ..." texts for what the client finds wrong before it asks the daemon, and the
 * one printer of a failed call's error. */

#include <stdbool.h>
#include <glib.h>

/* How long a change may take, the daemon's queue included (Start waits up to 10 s for the kernel). */
#define VC_CHANGE_TIMEOUT_USEC (120ULL * 1000ULL * 1000ULL)

/* Print "Error: <message>" on stderr (mdevctl's form of a runtime error) and return -EINVAL. */
int vc_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* path as Rust's Debug prints a path: in double quotes, with \" \\ \n \r \t and \u{..} escapes (\xNN for
 * the bytes of a path that is not UTF-8). */
char *vc_rust_debug_path(const char *path);

/* Read the whole file (also a pipe such as /dev/stdin) as mdevctl does. On failure prints
 * `Error: Unable to read jsonfile "<path>"\n\nCaused by:\n    <why>` and returns a negative errno. The
 * text must be UTF-8 (as Rust's read_to_string wants) and may not hold a NUL byte (a D-Bus string
 * cannot). */
int vc_read_jsonfile(const char *path, char **ret);

/* {"mdev_type":"<type>","start":"auto"|"manual","attrs":[]} */
char *vc_definition_json(const char *type, bool autostart, bool mixed_size);

/* Print the failure of a call to vgpud on stderr, whichever library made the call: error_name and
 * error_message are the D-Bus error's (NULL when the call failed without one); r is the negative errno
 * of the failure; what names the call ("org.vgpud1.Manager.Define"). "Error: <message>" for vgpud's
 * named errors, its own lines for vgpud not running, not answering in time, or not reachable.
 * Returns r (-EIO when r is not negative). */
int vc_call_log_error(const char *error_name, const char *error_message, int r, const char *what);

/* Print "<uuid>\n" on stdout, as mdevctl does for a UUID it generated. */
int vc_print_uuid(const char *uuid);

/* Define or Start (method) with (parent, uuid, definition JSON) through vc_change_call(); prints the
 * UUID when the daemon made it up (uuid ""), as mdevctl does. */
int vc_change_with_definition(const char *method, const char *parent, const char *uuid, const char *json,
                              bool force);

/* mdevctl 1.3.0's -f/--force help, in the short and the long form */
#define FORCE_SHORT "Force command execution even if device-specific callout script fails"
#define FORCE_LONG                                                               \
        "Force command execution even if device-specific callout script fails\n" \
        "            NOTE: only use this option if you are sure you know what you are doing\n"
