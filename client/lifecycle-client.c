/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The calls behind vgpuctl's define/undefine/modify/start/stop, --jsonfile reading and mdevctl's error
 * texts for what the client itself finds wrong. */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bus-client.h"
#include "cli.h"
#include "json-writer.h"
#include "lifecycle-client.h"
#include "macro.h"

int vc_error(const char *format, ...)
{
        g_autofree char *msg = NULL;
        va_list ap;

        va_start(ap, format);
        msg = g_strdup_vprintf(format, ap);
        va_end(ap);
        fprintf(stderr, "Error: %s\n", msg);
        return -EINVAL;
}

char *vc_rust_debug_path(const char *path)
{
        GString *s = g_string_new("\"");
        bool utf8 = g_utf8_validate(path, -1, NULL);

        for (const unsigned char *p = (const unsigned char *)path; *p; p++)
                switch (*p) {
                case '"': g_string_append(s, "\\\""); break;
                case '\\': g_string_append(s, "\\\\"); break;
                case '\n': g_string_append(s, "\\n"); break;
                case '\r': g_string_append(s, "\\r"); break;
                case '\t': g_string_append(s, "\\t"); break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                g_string_append_printf(s, "\\u{%x}", *p);
                        else if (*p >= 0x80 && !utf8) /* as Rust shows a path that is not UTF-8 */
                                g_string_append_printf(s, "\\x%02X", *p);
                        else
                                g_string_append_c(s, (char)*p);
                }
        g_string_append_c(s, '"');
        return g_string_free(s, FALSE);
}

/* Rust's io::Error text for an errno: "<strerror> (os error N)". */
static int jsonfile_error(const char *path, const char *why)
{
        g_autofree char *quoted = vc_rust_debug_path(path);

        fprintf(stderr, "Error: Unable to read jsonfile %s\n\nCaused by:\n    %s\n", quoted, why);
        return -EINVAL;
}

static int jsonfile_errno(const char *path, int error)
{
        g_autofree char *why = g_strdup_printf("%s (os error %d)", strerror(error), error);

        jsonfile_error(path, why);
        return -error;
}

int vc_read_jsonfile(const char *path, char **ret)
{
        g_autoptr(GString) text = g_string_new(NULL);
        _cleanup_close_ int fd = -EBADF;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return jsonfile_errno(path, errno);
        for (;;) {
                char buf[16384];
                ssize_t n = read(fd, buf, sizeof buf);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return jsonfile_errno(path, errno);
                }
                if (n == 0)
                        break;
                g_string_append_len(text, buf, n);
        }
        if (!g_utf8_validate_len(text->str, text->len, NULL))
                return jsonfile_error(path, "stream did not contain valid UTF-8");
        if (memchr(text->str, '\0', text->len))
                return vc_error("Invalid JSON in %s: it contains a NUL byte", path);
        *ret = g_string_free(g_steal_pointer(&text), FALSE);
        return 0;
}

char *vc_definition_json(const char *type, bool autostart, bool mixed_size)
{
        GString *out = g_string_new(NULL);
        JsonWriter w;

        json_writer_init(&w, out, false);
        json_writer_begin_object(&w);
        json_writer_key(&w, "mdev_type");
        json_writer_string(&w, type);
        json_writer_key(&w, "start");
        json_writer_string(&w, autostart ? "auto" : "manual");
        json_writer_key(&w, "attrs");
        json_writer_begin_array(&w);
        json_writer_end_array(&w);
        if (mixed_size) {
                json_writer_key(&w, "mixed_size");
                json_writer_bool(&w, true);
        }
        json_writer_end_object(&w);
        return g_string_free(out, FALSE);
}

int vc_change_new(sd_bus *bus, const char *method, sd_bus_message **ret)
{
        int r;

        r = sd_bus_message_new_method_call(bus, ret, VGPUD_BUS_NAME, VGPUD_MANAGER_PATH, VGPUD_MANAGER_IFACE,
                                           method);
        if (r < 0) {
                g_autofree char *what = g_strdup_printf("%s.%s", VGPUD_MANAGER_IFACE, method);
                return vc_bus_log_error(NULL, r, what);
        }
        return 0;
}

int vc_change_append_options(sd_bus_message *m, bool force, bool modify_options, bool defined, bool live)
{
        int r;

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r >= 0 && force)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_FORCE, "b", 1);
        if (r >= 0 && modify_options)
                r = sd_bus_message_append(m, "{sv}{sv}", VGPUD_OPT_DEFINED, "b", (int)defined,
                                          VGPUD_OPT_LIVE, "b", (int)live);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

int vc_change_send(sd_bus *bus, sd_bus_message *m, sd_bus_message **ret_reply)
{
        g_autofree char *what = g_strdup_printf("%s.%s", VGPUD_MANAGER_IFACE, sd_bus_message_get_member(m));
        sd_bus_message *reply = NULL;
        int r;

        r = vc_bus_call_message(bus, m, VC_CHANGE_TIMEOUT_USEC, what, &reply);
        if (r < 0)
                return r;
        if (ret_reply)
                *ret_reply = reply;
        else
                sd_bus_message_unref(reply);
        return 0;
}

int vc_print_uuid(const char *uuid)
{
        g_autofree char *line = g_strconcat(uuid, "\n", NULL);

        return vc_write_stdout(line, strlen(line));
}

int vc_change_with_definition(sd_bus *bus, const char *method, const char *parent, const char *uuid,
                              const char *json, bool force)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        g_autofree char *building = g_strdup_printf("building the %s call", method);
        g_autofree char *reading = g_strdup_printf("reading the answer to %s", method);
        const char *ret_uuid, *ret_path;
        int r;

        r = vc_change_new(bus, method, &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "sss", parent ? parent : "", uuid, json ? json : "");
        if (r >= 0)
                r = vc_change_append_options(m, force, false, false, false);
        if (r < 0)
                return vc_bus_log_error(NULL, r, building);
        r = vc_change_send(bus, m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "so", &ret_uuid, &ret_path);
        if (r < 0)
                return vc_bus_log_error(NULL, r, reading);
        return *uuid ? 0 : vc_print_uuid(ret_uuid);
}
