/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* What vgpuctl-full and the front share for define/undefine/modify/start/stop: --jsonfile reading,
 * mdevctl's error texts for what the client itself finds wrong, and the printer of failed calls. */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "change-call.h"
#include "cli.h"
#include "json-writer.h"
#include "lifecycle-client.h"
#include "macro.h"
#include "names.h"

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

static bool is_not_running_error(const char *name)
{
        return strcmp(name, "org.freedesktop.DBus.Error.ServiceUnknown") == 0 ||
               strcmp(name, "org.freedesktop.DBus.Error.NameHasNoOwner") == 0 ||
               strcmp(name, "org.freedesktop.DBus.Error.Spawn.ServiceNotFound") == 0;
}

int vc_call_log_error(const char *error_name, const char *error_message, int r, const char *what)
{
        if (error_name && *error_name) {
                if (is_not_running_error(error_name))
                        fprintf(stderr, "Error: vgpud is not running (%s has no owner on the system bus)\n",
                                VGPUD_BUS_NAME);
                else if (strcmp(error_name, "org.freedesktop.DBus.Error.NoReply") == 0 ||
                         strcmp(error_name, "org.freedesktop.DBus.Error.Timeout") == 0)
                        fprintf(stderr, "Error: vgpud did not answer %s in time\n", what);
                else if (error_message && *error_message)
                        fprintf(stderr, "Error: %s\n", error_message);
                else
                        fprintf(stderr, "Error: %s failed: %s\n", what, error_name);
        } else if (r == -ECONNREFUSED || r == -ENOENT || r == -ECONNRESET || r == -ENOTCONN) {
                fprintf(stderr, "Error: vgpud is not reachable: the system bus connection failed: %s\n",
                        strerror(-r));
        } else {
                fprintf(stderr, "Error: %s failed: %s\n", what, strerror(r < 0 ? -r : EIO));
        }
        return r < 0 ? r : -EIO;
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
        int r;

        r = vc_change_input_begins();
        if (r < 0)
                return r;
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

int vc_print_uuid(const char *uuid)
{
        g_autofree char *line = g_strconcat(uuid, "\n", NULL);

        return vc_write_stdout(line, strlen(line));
}

int vc_change_with_definition(const char *method, const char *parent, const char *uuid, const char *json,
                              bool force)
{
        const char *const strings[] = {parent ? parent : "", uuid, json ? json : ""};
        g_autofree char *ret_uuid = NULL;
        VcChangeCall call;
        int r;

        vc_change_call_init(&call, method, strings, 3);
        vc_change_call_add_options(&call, force, false, false, false);
        r = vc_change_call(&call, &ret_uuid);
        if (r < 0)
                return r;
        return *uuid ? 0 : vc_print_uuid(ret_uuid);
}

int vc_change_call(const VcChangeCall *call, char **ret_uuid)
{
        g_auto(GStrv) answer = NULL;
        int r;

        r = vc_change_call_answer(call, &answer);
        if (r >= 0 && ret_uuid && strcmp(call->answer, "so") == 0)
                *ret_uuid = g_strdup(answer[0]);
        return r;
}
