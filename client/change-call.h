/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One change request to org.vgpud1.Manager (Define, Undefine, Modify, Start, Stop, Acquire, Release),
 * described without D-Bus types, so that vgpuctl-full (sd-bus, change-bus.c) and the front (its own
 * minimal writer, wire.h) send exactly the same call: the leading string arguments, then Modify's
 * changes a{sv}, then the options a{sv}; and read the same answer: nothing, (so) for Define and
 * Start, (soss) for Acquire, (as) for Release. Strings are borrowed: they must outlive the call. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VC_CALL_MAX_STRINGS 3
#define VC_CALL_MAX_ENTRIES 16 /* Acquire's options: 13 */

typedef enum {
        VC_VARIANT_STRING,    /* s: s */
        VC_VARIANT_BOOLEAN,   /* b: b */
        VC_VARIANT_INT32,     /* i: i */
        VC_VARIANT_ATTRIBUTE, /* (ssi): s, s2, i */
        VC_VARIANT_UINT32,    /* u: u */
        VC_VARIANT_STRV,      /* as: strv (NULL-terminated) */
} VcVariantKind;

typedef struct VcCallEntry {
        const char *key;
        VcVariantKind kind;
        const char *s, *s2;
        int32_t i;
        bool b;
        uint32_t u;
        const char *const *strv;
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
        const char *answer; /* the signature of the answer: "", "so", "soss" or "as" */
        uint64_t timeout_usec;
} VcChangeCall;

/* method with its leading string arguments (n of them, at most VC_CALL_MAX_STRINGS); Modify gets its
 * changes array, each method its answer's signature; the timeout is VC_CHANGE_TIMEOUT_USEC. */
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

/* Send the call to vgpud and wait up to call->timeout_usec for its answer. Implemented once per
 * program: vgpuctl-full over sd-bus (change-bus.c: the private socket for root, else the system bus),
 * the front over the private socket it connected to before it parsed the command line
 * (front-wire.c). Prints every failure with vc_call_log_error() (lifecycle-client.h), an answer of
 * another signature than call->answer as "reading the answer to <method>", and returns a negative
 * errno; on success *ret (unless NULL) holds the answer's strings in order (the object path of so and
 * soss too, the elements of as; empty for ""), NULL-terminated, for g_strfreev(). */
int vc_change_call_answer(const VcChangeCall *call, char ***ret);

/* vc_change_call_answer() for Define, Start and the calls without an answer: *ret_uuid (unless NULL)
 * is the UUID of a (so) answer (the caller frees it). In lifecycle-client.c. */
int vc_change_call(const VcChangeCall *call, char **ret_uuid);

/* Called by a change command before it reads input that can be read only once (--jsonfile: maybe a
 * pipe). vgpuctl-full: nothing to do (0). The front: connects to vgpud and waits for the answer to its
 * authentication, and when vgpud cannot be reached or refuses it hands the whole command to
 * vgpuctl-full (exec, returns only on failure: a negative errno, the error printed). */
int vc_change_input_begins(void);
