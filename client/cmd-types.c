/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `vgpuctl types`: the mdev types of every parent, as mdevctl 1.2.0 prints them. Name and description
 * are trimmed of white space (Rust's str::trim), the description's line breaks become ", ", and empty
 * ones are left out. A type whose available_instances the daemon could not read (-1) is skipped with a
 * warning: mdevctl 1.2.0 fails the whole command for it. */

#include <errno.h>
#include <string.h>

#include "cli.h"
#include "read-source.h"
#include "json-writer.h"
#include "macro.h"

enum {
        OPT_PARENT,
        OPT_DUMPJSON,
        OPT_VF,
};

static const VcOption types_options[] = {
        {OPT_DUMPJSON, "dumpjson", 0, NULL, VC_VALUE_STRING},
        {OPT_PARENT, "parent", 'p', "PARENT", VC_VALUE_STRING},
        {OPT_VF, "vf", 0, NULL, VC_VALUE_STRING},
        VC_OPTION_END,
};

/* Rust's char::is_whitespace: the Unicode White_Space property. */
static bool is_rust_whitespace(gunichar c)
{
        switch (c) {
        case 0x09 ... 0x0d:
        case 0x20:
        case 0x85:
        case 0xa0:
        case 0x1680:
        case 0x2000 ... 0x200a:
        case 0x2028:
        case 0x2029:
        case 0x202f:
        case 0x205f:
        case 0x3000: return true;
        default: return false;
        }
}

/* A copy of s without leading and trailing white space, like Rust's str::trim(). */
static char *rust_trim(const char *s)
{
        const char *start = s, *end = s + strlen(s);

        if (!g_utf8_validate(s, -1, NULL))
                return g_strstrip(g_strdup(s));
        while (start < end && is_rust_whitespace(g_utf8_get_char(start)))
                start = g_utf8_next_char(start);
        while (end > start) {
                const char *prev = g_utf8_prev_char(end);
                if (!is_rust_whitespace(g_utf8_get_char(prev)))
                        break;
                end = prev;
        }
        return g_strndup(start, end - start);
}

/* mdevctl's description: trimmed, each "\n" replaced by ", ". */
static char *format_description(const char *s)
{
        g_autofree char *t = rust_trim(s);
        g_auto(GStrv) lines = g_strsplit(t, "\n", -1);
        return g_strjoinv(", ", lines);
}

/* Whether s may start or end with white space: an ASCII space or control character, or a non-ASCII
 * byte (which might belong to a Unicode space). Most names need no trimming and are used as they are. */
static bool may_need_trim(const char *s)
{
        size_t n = strlen(s);
        unsigned char first = (unsigned char)s[0], last = n > 0 ? (unsigned char)s[n - 1] : 0;

        return n > 0 && (first <= 0x20 || first >= 0x7f || last <= 0x20 || last >= 0x7f);
}

typedef struct TypeRow {
        const VcType *type;
        const char *name; /* trimmed; borrowed from the type or one of owned[] */
        const char *description;
        const char *device_api;
        char *owned[3];
} TypeRow;

static void type_row_clear(TypeRow *row)
{
        for (size_t i = 0; i < G_N_ELEMENTS(row->owned); i++)
                g_free(row->owned[i]);
}

/* s trimmed, without a copy when there is nothing to trim. */
static const char *trimmed(const char *s, char **owned)
{
        if (!may_need_trim(s))
                return s;
        return *owned = rust_trim(s);
}

static bool type_row_init(const VcGpu *g, const VcType *t, TypeRow *row)
{
        if (t->available_instances < 0) {
                fprintf(stderr,
                        "Warning: %s: type %s: available_instances is missing or unreadable, type not "
                        "listed\n",
                        g->name, t->id);
                return false;
        }
        row->type = t;
        row->name = trimmed(t->name, &row->owned[0]);
        if (may_need_trim(t->description) || strchr(t->description, '\n'))
                row->description = row->owned[1] = format_description(t->description);
        else
                row->description = t->description;
        row->device_api = trimmed(t->device_api, &row->owned[2]);
        return true;
}

static void append_line(GString *out, const char *prefix, const char *value)
{
        g_string_append(out, prefix);
        g_string_append(out, value);
        g_string_append_c(out, '\n');
}

static void format_text(const VcInventory *inv, const char *parent, GString *out)
{
        for (guint i = 0; i < inv->gpus->len; i++) {
                const VcGpu *g = inv->gpus->pdata[i];

                if (parent && strcmp(parent, g->name) != 0)
                        continue;
                append_line(out, "", g->name);
                for (guint j = 0; j < g->types->len; j++) {
                        TypeRow row = {};
                        char count[16];

                        if (!type_row_init(g, g->types->pdata[j], &row))
                                continue;
                        append_line(out, "  ", row.type->id);
                        snprintf(count, sizeof count, "%d", row.type->available_instances);
                        append_line(out, "    Available instances: ", count);
                        append_line(out, "    Device API: ", row.device_api);
                        if (*row.name)
                                append_line(out, "    Name: ", row.name);
                        if (*row.description)
                                append_line(out, "    Description: ", row.description);
                        type_row_clear(&row);
                }
        }
}

/* [ { "<parent>": [ { "<type>": {...} }, ... ], ... } ], or [] when no parent is listed. */
static void format_json(const VcInventory *inv, const char *parent, GString *out)
{
        JsonWriter w;
        bool any = false;

        json_writer_init(&w, out, true);
        json_writer_begin_array(&w);
        for (guint i = 0; i < inv->gpus->len; i++) {
                const VcGpu *g = inv->gpus->pdata[i];

                if (parent && strcmp(parent, g->name) != 0)
                        continue;
                if (!any)
                        json_writer_begin_object(&w);
                any = true;
                json_writer_key(&w, g->name);
                json_writer_begin_array(&w);
                for (guint j = 0; j < g->types->len; j++) {
                        TypeRow row = {};

                        if (!type_row_init(g, g->types->pdata[j], &row))
                                continue;
                        json_writer_begin_object(&w);
                        json_writer_key(&w, row.type->id);
                        json_writer_begin_object(&w);
                        json_writer_key(&w, "available_instances");
                        json_writer_int(&w, row.type->available_instances);
                        json_writer_key(&w, "device_api");
                        json_writer_string(&w, row.device_api);
                        if (*row.name) {
                                json_writer_key(&w, "name");
                                json_writer_string(&w, row.name);
                        }
                        if (*row.description) {
                                json_writer_key(&w, "description");
                                json_writer_string(&w, row.description);
                        }
                        json_writer_end_object(&w);
                        json_writer_end_object(&w);
                        type_row_clear(&row);
                }
                json_writer_end_array(&w);
        }
        if (any)
                json_writer_end_object(&w);
        json_writer_end_array(&w);
}

static int run_types(const VcContext *ctx, const VcArgs *args)
{
        g_autoptr(VcInventory) inv = NULL;
        g_autoptr(GString) out = g_string_new(NULL);
        const char *parent = args->set[OPT_PARENT] ? args->value[OPT_PARENT] : NULL;
        int r;

        /* mdevctl's view unless asked (--vf): libvirt runs vgpuctl as mdevctl */
        r = vc_read_types(args->set[OPT_VF], &inv);
        if (r < 0)
                return r;

        if (args->set[OPT_DUMPJSON])
                format_json(inv, parent, out);
        else
                format_text(inv, parent, out);
        g_string_append_c(out, '\n');
        return vc_write_stdout(out->str, out->len);
}

const VcCommand vc_command_types = {
        .name = "types",
        .about = "List available mediated device types",
        .usage = "{bin} types [OPTIONS]",
        .version = NULL,
        .options = types_options,
        .run = run_types,
        .help_vgpuctl =
                "\nvgpuctl's own:\n"
                "        --vf                 Also list the types of NVIDIA VFs (vGPU 17+), which are not\n"
                "                             mdev parents and which mdevctl does not show\n",
        .help_short = "vgpuctl-types \n"
                      "List available mediated device types\n"
                      "\n"
                      "USAGE:\n"
                      "    {bin} types [OPTIONS]\n"
                      "\n"
                      "OPTIONS:\n"
                      "        --dumpjson           Output mdev types list in JSON format\n"
                      "    -h, --help               Print help information\n"
                      "    -p, --parent <PARENT>    Show supported types for the specified parent\n",
        .help_long = "vgpuctl-types \n"
                     "List available mediated device types\n"
                     "\n"
                     "Specifying a 'parent' lists only the types provided by the given parent device. The "
                     "'dumpjson'\n"
                     "option provides output in machine readable JSON format.\n"
                     "\n"
                     "USAGE:\n"
                     "    {bin} types [OPTIONS]\n"
                     "\n"
                     "OPTIONS:\n"
                     "        --dumpjson\n"
                     "            Output mdev types list in JSON format\n"
                     "\n"
                     "    -h, --help\n"
                     "            Print help information\n"
                     "\n"
                     "    -p, --parent <PARENT>\n"
                     "            Show supported types for the specified parent\n",
};
