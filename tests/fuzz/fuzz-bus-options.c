/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: the a{sv} option dictionaries of Start/Stop/Define/Undefine, Modify's changes, Acquire's
 * and Release's options and Plan's (bus_read_options in daemon/bus-lifecycle.c). The input is a little
 * program that builds the dictionary: each entry is a key (one of the known keys, or a string from the
 * input) and a value of a type chosen by the input, known key or not, right type or not. */

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib.h>
#include <systemd/sd-bus.h>

#include "macro.h"
#include "bus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const keys[] = {
        "force",   "timeout_ms", "defined",          "live",          "definition",
        "type",    "start",      "delete_attribute", "add_attribute", "parent",
        "board",   "numa_node",  "policy",           "slot",          "uuid",
        "vm_uuid", "persist",    "dry_run",          "parents",       "idle",
        "",
};

typedef struct {
        const uint8_t *p;
        size_t left;
} Input;

static uint8_t byte(Input *in)
{
        if (in->left == 0)
                return 0;
        in->left--;
        return *in->p++;
}

static char *string(Input *in)
{
        size_t n = byte(in) % 48;
        char *s = g_malloc0(n + 1);

        for (size_t i = 0; i < n; i++)
                s[i] = (char)byte(in);
        if (!g_utf8_validate(s, -1, NULL)) /* sd-bus refuses invalid UTF-8 before vgpud sees it */
                s[0] = '\0';
        return s;
}

static int append_value(sd_bus_message *m, Input *in, int depth)
{
        g_autofree char *s = NULL, *s2 = NULL;
        uint32_t u = (uint32_t)byte(in) << 24 | (uint32_t)byte(in);

        switch (byte(in) % (depth < 2 ? 9 : 8)) {
        case 0: s = string(in); return sd_bus_message_append(m, "v", "s", s);
        case 1: return sd_bus_message_append(m, "v", "b", (int)(u & 1));
        case 2: return sd_bus_message_append(m, "v", "u", u);
        case 3: return sd_bus_message_append(m, "v", "i", (int32_t)u);
        case 4: return sd_bus_message_append(m, "v", "t", (uint64_t)u << 20);
        case 5:
                s = string(in);
                s2 = string(in);
                return sd_bus_message_append(m, "v", "(ssi)", s, s2, (int32_t)u);
        case 6:
                s = string(in);
                s2 = string(in);
                return sd_bus_message_append(m, "v", "as", 2, s, s2);
        case 7: return sd_bus_message_append(m, "v", "d", (double)u);
        default: {
                int r = sd_bus_message_open_container(m, 'v', "v");
                if (r >= 0)
                        r = append_value(m, in, depth + 1);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                return r;
        }
        }
}

static sd_bus_message *build(sd_bus *bus, const uint8_t *data, size_t size)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Input in = {data, size};
        int r;

        r = sd_bus_message_new_method_call(bus, &m, "org.vgpud1", "/org/vgpud1", "org.vgpud1.Manager", "X");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (int n = 0; r >= 0 && in.left > 0 && n < 64; n++) {
                uint8_t k = byte(&in);
                g_autofree char *key = k < 128 ? g_strdup(keys[k % G_N_ELEMENTS(keys)]) : string(&in);

                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", key);
                if (r >= 0)
                        r = append_value(m, &in, 0);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_seal(m, 1, 0);
        return r >= 0 ? TAKE_PTR(m) : NULL;
}

static sd_bus *bus_for_messages(void)
{
        static sd_bus *bus;
        int fds[2];

        if (bus)
                return bus;
        /* sd-bus makes messages only for a bus that was started; it never sends anything here */
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
        g_assert_cmpint(sd_bus_new(&bus), >=, 0);
        g_assert_cmpint(sd_bus_set_fd(bus, fds[0], fds[0]), >=, 0);
        g_assert_cmpint(sd_bus_start(bus), >=, 0);
        return bus;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const struct {
                OpsKind kind;
                unsigned flags;
        } readers[] = {
                {OPS_START, BUS_OPTIONS_COMMON},
                {OPS_MODIFY, BUS_OPTIONS_CHANGES},
                {OPS_MODIFY, BUS_OPTIONS_COMMON | BUS_OPTIONS_MODIFY},
                {OPS_ACQUIRE, BUS_OPTIONS_COMMON | BUS_OPTIONS_PLACE | BUS_OPTIONS_ACQUIRE},
                {OPS_RELEASE, BUS_OPTIONS_COMMON | BUS_OPTIONS_RELEASE},
                {OPS_ACQUIRE, BUS_OPTIONS_PLACE},
        };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = build(bus_for_messages(), data, size);

        if (!m)
                return 0;
        for (gsize i = 0; i < G_N_ELEMENTS(readers); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                g_autoptr(OpsRequest) req = ops_request_new(readers[i].kind);
                int r;

                g_assert_cmpint(sd_bus_message_rewind(m, true), >=, 0);
                r = bus_read_options(m, req, readers[i].flags, &error);
                if (r < 0 && sd_bus_error_is_set(&error) && strlen(error.message) > 4096)
                        __builtin_trap(); /* an error message never grows with the input */
        }
        return 0;
}
