/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One change request to org.vgpud1.Manager (Define, Undefine, Modify, Start, Stop), described without
 * D-Bus types, so that vgpuctl-full (sd-bus, change-bus.c) and the front (its own minimal writer,
 * wire.h) send exactly the same call: the leading string arguments, then Modify's changes a{sv}, then
 * the options a{sv}. Strings are borrowed: they must outlive the call. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VC_CALL_MAX_STRINGS 3
#define VC_CALL_MAX_ENTRIES 4

typedef enum {
        VC_VARIANT_STRING,    /* s: s */
        VC_VARIANT_BOOLEAN,   /* b: b */
        VC_VARIANT_INT32,     /* i: i */
        VC_VARIANT_ATTRIBUTE, /* (ssi): s, s2, i */
} VcVariantKind;

typedef struct VcCallEntry {
        const char *key;
        VcVariantKind kind;
        const char *s, *s2;
        int32_t i;
        bool b;
} VcCallEntry;

typedef struct VcChangeCall {
        const char *method;
        const char *strings[VC_CALL_MAX_STRINGS];
        size_t n_strings;
        bool has_changes; /* Modify: an a{sv} of changes (maybe empty) before the options */
        VcCallEntry changes[VC_CALL_MAX_ENTRIES];
        size_t n_changes;
        VcCallEntry options[VC_CALL_MAX_ENTRIES];
        size_t n_options;
        bool returns_uuid; /* Define and Start answer (so): the UUID and an object path */
} VcChangeCall;

/* method with its leading string arguments (n of them, at most VC_CALL_MAX_STRINGS); Modify gets its
 * changes array, Define and Start their (so) answer. */
void vc_change_call_init(VcChangeCall *call, const char *method, const char *const *strings, size_t n);

/* Append one change (Modify only) or one option. At most VC_CALL_MAX_ENTRIES each. */
void vc_change_call_add_change(VcChangeCall *call, VcCallEntry entry);
void vc_change_call_add_option(VcChangeCall *call, VcCallEntry entry);

/* The options every change command sends: "force" when force; Modify's "defined" and "live" when
 * modify_options. */
void vc_change_call_add_options(VcChangeCall *call, bool force, bool modify_options, bool defined,
                                bool live);

/* The D-Bus signature of the call's arguments, e.g. "sssa{sv}" (buf holds at least 16 bytes). */
const char *vc_change_call_signature(const VcChangeCall *call, char buf[static 16]);

/* Send the call to vgpud and wait for its answer. Implemented once per program: vgpuctl-full over
 * sd-bus (change-bus.c: the private socket for root, else the system bus), the front over the
 * private socket it connected to before it parsed the command line (front-wire.c). Prints every
 * failure with vc_call_log_error() (lifecycle-client.h) and returns a negative errno; on success
 * and when call->returns_uuid, *ret_uuid (unless NULL) is the UUID of the answer (the caller frees it). */
int vc_change_call(const VcChangeCall *call, char **ret_uuid);
