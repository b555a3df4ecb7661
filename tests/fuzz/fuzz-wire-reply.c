/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: the front's reader of vgpud's replies (client/wire.c), on any bytes a peer may send. */

#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string(const char *s)
{
        if (s && !g_utf8_validate(s, -1, NULL))
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        VcWireReply reply = {};
        size_t whole;
        int r;

        if (size >= 16 && vc_wire_message_size(data, size, &whole) == 0 && whole > VC_WIRE_MAX_MESSAGE)
                __builtin_trap();
        r = vc_wire_parse_reply(data, size, &reply);
        if (r < 0) {
                /* refused: nothing is handed out */
                if (reply.error_name || reply.error_message || reply.signature || reply.first_string ||
                    reply.strings)
                        __builtin_trap();
                return 0;
        }
        if (r == 1) {
                /* a reply: a whole message, an error has its name, every string is valid text */
                if (vc_wire_message_size(data, size, &whole) != 0 || whole != size || !reply.signature)
                        __builtin_trap();
                if (reply.is_error != (reply.error_name != NULL))
                        __builtin_trap();
                check_string(reply.error_name);
                check_string(reply.error_message);
                check_string(reply.signature);
                check_string(reply.first_string);
                if (reply.first_string && reply.signature[0] != 's')
                        __builtin_trap();
                /* the answer's strings (soss, as): every one valid text, the first the first string */
                if (!reply.strings)
                        __builtin_trap();
                if (strcmp(reply.signature, "as") != 0 &&
                    g_strcmp0(reply.strings[0], reply.first_string) != 0)
                        __builtin_trap();
                for (char **p = reply.strings; p && *p; p++)
                        check_string(*p);
        }
        vc_wire_reply_clear(&reply);
        return 0;
}
