/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* change-call.h: building the description of one change request. */

#include <assert.h>
#include <string.h>

#include "change-call.h"
#include "lifecycle-client.h"
#include "names.h"

void vc_change_call_init(VcChangeCall *call, const char *method, const char *const *strings, size_t n)
{
        assert(n <= VC_CALL_MAX_STRINGS);
        *call = (VcChangeCall){.method = method, .n_strings = n};
        for (size_t i = 0; i < n; i++)
                call->strings[i] = strings[i];
        call->has_changes = strcmp(method, "Modify") == 0;
        call->timeout_usec = VC_CHANGE_TIMEOUT_USEC;
        if (strcmp(method, "Define") == 0 || strcmp(method, "Start") == 0)
                call->answer = "so";
        else if (strcmp(method, "Acquire") == 0)
                call->answer = "soss";
        else if (strcmp(method, "Release") == 0)
                call->answer = "as";
        else
                call->answer = "";
}

void vc_change_call_add_change(VcChangeCall *call, VcCallEntry entry)
{
        assert(call->has_changes && call->n_changes < VC_CALL_MAX_ENTRIES);
        call->changes[call->n_changes++] = entry;
}

void vc_change_call_add_option(VcChangeCall *call, VcCallEntry entry)
{
        assert(call->n_options < VC_CALL_MAX_ENTRIES);
        call->options[call->n_options++] = entry;
}

void vc_change_call_add_options(VcChangeCall *call, bool force, bool modify_options, bool defined, bool live)
{
        if (force)
                vc_change_call_add_option(call,
                                          (VcCallEntry){VGPUD_OPT_FORCE, VC_VARIANT_BOOLEAN, .b = true});
        if (modify_options) {
                vc_change_call_add_option(
                        call, (VcCallEntry){VGPUD_OPT_DEFINED, VC_VARIANT_BOOLEAN, .b = defined});
                vc_change_call_add_option(call,
                                          (VcCallEntry){VGPUD_OPT_LIVE, VC_VARIANT_BOOLEAN, .b = live});
        }
}

const char *vc_change_call_signature(const VcChangeCall *call, char buf[static 16])
{
        size_t n = 0;

        for (size_t i = 0; i < call->n_strings; i++)
                buf[n++] = 's';
        if (call->has_changes) {
                memcpy(buf + n, "a{sv}", 5);
                n += 5;
        }
        memcpy(buf + n, "a{sv}", 6);
        return buf;
}
