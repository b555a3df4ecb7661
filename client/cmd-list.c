/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `vgpuctl list` (and `lsmdev`): running devices or definitions, as mdevctl 1.2.0 prints them.
 *
 * Running devices: "<uuid> <parent> <type> <auto|manual>[ (defined)]", where a definition of the same
 * UUID on the same parent supplies the start mode and the attributes. Definitions (-d):
 * "<uuid> <parent> <type> <auto|manual>[ (active)]", active when that UUID runs on that parent with
 * that type. Parents in byte order, devices by UUID; the output ends with an extra "\n".
 *
 * Where 1.2.0 misbehaves vgpuctl does not copy it: a running device shows its running type even when
 * its definition names another one (1.2.0 shows the definition's type), and a corrupt definition file
 * is skipped with a warning (1.2.0 fails the whole `list -d`). */

#include <errno.h>
#include <string.h>

#include "cli.h"
#include "read-source.h"
#include "json-writer.h"
#include "macro.h"

enum {
        OPT_DEFINED,
        OPT_DUMPJSON,
        OPT_VERBOSE,
        OPT_UUID,
        OPT_PARENT,
        OPT_VF,
};

static const VcOption list_options[] = {
        {OPT_DEFINED, "defined", 'd', NULL, VC_VALUE_STRING},
        {OPT_DUMPJSON, "dumpjson", 0, NULL, VC_VALUE_STRING},
        {OPT_VERBOSE, "verbose", 'v', NULL, VC_VALUE_STRING},
        {OPT_UUID, "uuid", 'u', "UUID", VC_VALUE_UUID},
        {OPT_PARENT, "parent", 'p', "PARENT", VC_VALUE_STRING},
        {OPT_VF, "vf", 0, NULL, VC_VALUE_STRING},
        VC_OPTION_END,
};

/* One line of the listing. Everything is borrowed from the inventory. */
typedef struct ListRow {
        const char *uuid;
        const char *parent;
        const char *type;
        bool autostart;
        GPtrArray *attrs;   /* VcAttr*, NULL when none */
        bool mixed_size;    /* the definition's "mixed_size": true (only with --vf) */
        const char *marker; /* " (defined)", " (active)" or "" */
} ListRow;

static bool want(const VcArgs *args, const char *parent, const char *uuid)
{
        if (args->set[OPT_PARENT] && strcmp(args->value[OPT_PARENT], parent) != 0)
                return false;
        if (args->set[OPT_UUID] && strcmp(args->value[OPT_UUID], uuid) != 0)
                return false;
        return true;
}

/* Order of (parent, uuid) pairs, as both lists are sorted. */
static int compare_keys(const char *parent_a, const char *uuid_a, const char *parent_b, const char *uuid_b)
{
        int c = strcmp(parent_a, parent_b);
        return c != 0 ? c : strcmp(uuid_a, uuid_b);
}

/* The definition of each running device, found by walking both sorted lists side by side. */
static void collect_running(const VcInventory *inv, const VcArgs *args, GArray *rows)
{
        guint k = 0;

        for (guint i = 0; i < inv->devices->len; i++) {
                const VcDevice *d = inv->devices->pdata[i];
                const VcDefinition *def = NULL;
                ListRow row = {};

                while (k < inv->definitions->len) {
                        const VcDefinition *x = inv->definitions->pdata[k];
                        int c = compare_keys(x->parent, x->uuid, d->parent, d->uuid);
                        if (c > 0)
                                break;
                        k++;
                        if (c == 0) {
                                def = x;
                                break;
                        }
                }
                if (!want(args, d->parent, d->uuid))
                        continue;
                if (!*d->type_id) {
                        /* mdevctl cannot list a device whose mdev_type link it cannot resolve either. */
                        fprintf(stderr, "Warning: %s on %s: its mdev type is unknown, not listed\n", d->uuid,
                                d->parent);
                        continue;
                }
                row.uuid = d->uuid;
                row.parent = d->parent;
                row.type = d->type_id;
                row.autostart = def && strcmp(def->start, "auto") == 0;
                row.attrs = def ? def->attrs : NULL;
                row.mixed_size = def && def->mixed_size;
                row.marker = def ? " (defined)" : "";
                g_array_append_val(rows, row);
        }
}

/* The running device of each definition, found the same way. */
static void collect_defined(const VcInventory *inv, const VcArgs *args, GArray *rows)
{
        guint k = 0;

        for (guint i = 0; i < inv->definitions->len; i++) {
                const VcDefinition *def = inv->definitions->pdata[i];
                const VcDevice *d = NULL;
                ListRow row = {};

                while (k < inv->devices->len) {
                        const VcDevice *x = inv->devices->pdata[k];
                        int c = compare_keys(x->parent, x->uuid, def->parent, def->uuid);
                        if (c > 0)
                                break;
                        k++;
                        if (c == 0) {
                                d = x;
                                break;
                        }
                }
                if (!want(args, def->parent, def->uuid))
                        continue;
                row.uuid = def->uuid;
                row.parent = def->parent;
                row.type = def->type_id;
                row.autostart = strcmp(def->start, "auto") == 0;
                row.attrs = def->attrs;
                row.mixed_size = def->mixed_size;
                row.marker = d && strcmp(d->type_id, def->type_id) == 0 ? " (active)" : "";
                g_array_append_val(rows, row);
        }
}

static void format_text(GArray *rows, bool verbose, GString *out)
{
        for (guint i = 0; i < rows->len; i++) {
                const ListRow *row = &g_array_index(rows, ListRow, i);

                /* "<uuid> <parent> <type> <start><marker>\n", without printf: thousands of lines. */
                g_string_append(out, row->uuid);
                g_string_append_c(out, ' ');
                g_string_append(out, row->parent);
                g_string_append_c(out, ' ');
                g_string_append(out, row->type);
                g_string_append(out, row->autostart ? " auto" : " manual");
                g_string_append(out, row->marker);
                g_string_append_c(out, '\n');
                if (verbose && row->mixed_size) /* vgpud's own member: --vf only */
                        g_string_append(out, "  mixed_size: true\n");
                if (!verbose || !row->attrs || row->attrs->len == 0)
                        continue;
                g_string_append(out, "  Attrs:\n");
                for (guint j = 0; j < row->attrs->len; j++) {
                        const VcAttr *a = row->attrs->pdata[j];
                        /* mdevctl prints name and value as they are, without JSON escaping. */
                        g_string_append_printf(out, "    @{%u}: {\"%s\":\"%s\"}\n", j, a->name, a->value);
                }
        }
}

/* {"mdev_type": ..., "start": ..., "attrs": [{name: value}, ...]}, then "mixed_size": true where the
 * definition has it, as `vgpuctl define --jsonfile` takes it (common/mdev-def.h); never in mdevctl's
 * view, whose definitions cannot carry it. */
static void write_row(JsonWriter *w, const ListRow *row)
{
        json_writer_begin_object(w);
        json_writer_key(w, "mdev_type");
        json_writer_string(w, row->type);
        json_writer_key(w, "start");
        json_writer_string(w, row->autostart ? "auto" : "manual");
        json_writer_key(w, "attrs");
        json_writer_begin_array(w);
        for (guint j = 0; row->attrs && j < row->attrs->len; j++) {
                const VcAttr *a = row->attrs->pdata[j];
                json_writer_begin_object(w);
                json_writer_key(w, a->name);
                json_writer_string(w, a->value);
                json_writer_end_object(w);
        }
        json_writer_end_array(w);
        if (row->mixed_size) {
                json_writer_key(w, "mixed_size");
                json_writer_bool(w, true);
        }
        json_writer_end_object(w);
}

/* [ { "<parent>": [ { "<uuid>": {...} }, ... ], ... } ], or [] when there is nothing. The rows come
 * grouped by parent. */
static void write_tree(JsonWriter *w, GArray *rows)
{
        const char *current = NULL;

        json_writer_begin_array(w);
        if (rows->len > 0)
                json_writer_begin_object(w);
        for (guint i = 0; i < rows->len; i++) {
                const ListRow *row = &g_array_index(rows, ListRow, i);

                if (!current || strcmp(current, row->parent) != 0) {
                        if (current)
                                json_writer_end_array(w);
                        json_writer_key(w, row->parent);
                        json_writer_begin_array(w);
                        current = row->parent;
                }
                json_writer_begin_object(w);
                json_writer_key(w, row->uuid);
                write_row(w, row);
                json_writer_end_object(w);
        }
        if (rows->len > 0) {
                json_writer_end_array(w);
                json_writer_end_object(w);
        }
        json_writer_end_array(w);
}

static void format_json(GArray *rows, bool single_uuid, GString *out)
{
        JsonWriter w;

        json_writer_init(&w, out, true);
        /* As mdevctl: asked for one UUID and found exactly one, print just its definition (ready to be
         * used as a config file); otherwise the whole hierarchy. */
        if (single_uuid && rows->len == 1)
                write_row(&w, &g_array_index(rows, ListRow, 0));
        else
                write_tree(&w, rows);
}

static int run_list(const VcContext *ctx, const VcArgs *args)
{
        g_autoptr(VcInventory) inv = NULL;
        g_autoptr(GArray) rows = NULL;
        g_autoptr(GString) out = NULL;
        int r;

        /* mdevctl's view unless asked (--vf): libvirt runs vgpuctl as mdevctl */
        r = vc_read_listing(args->set[OPT_VF], &inv);
        if (r < 0)
                return r;

        rows = g_array_sized_new(FALSE, TRUE, sizeof(ListRow),
                                 args->set[OPT_DEFINED] ? inv->definitions->len : inv->devices->len);
        /* Roughly what a line of text or of JSON takes, so the buffer rarely grows. */
        out = g_string_sized_new(64 + (gsize)rows->len * (args->set[OPT_DUMPJSON] ? 256 : 80));
        if (args->set[OPT_DEFINED])
                vc_print_warnings(inv->warnings);
        if (args->set[OPT_DEFINED])
                collect_defined(inv, args, rows);
        else
                collect_running(inv, args, rows);

        if (args->set[OPT_DUMPJSON])
                format_json(rows, args->set[OPT_UUID], out);
        else
                format_text(rows, args->set[OPT_VERBOSE], out);
        g_string_append_c(out, '\n');
        return vc_write_stdout(out->str, out->len);
}

#define LIST_OPTIONS_SHORT                                                                        \
        "OPTIONS:\n"                                                                              \
        "    -d, --defined            Show defined devices\n"                                     \
        "        --dumpjson           Output device list in json format\n"                        \
        "    -h, --help               Print help information\n"                                   \
        "    -p, --parent <PARENT>    List devices associated with the specified Parent device\n" \
        "    -u, --uuid <UUID>        List devices matching the specified UUID\n"                 \
        "    -v, --verbose            Print additional information about the devices\n"           \
        "    -V, --version            Print version information\n"

const VcCommand vc_command_list = {
        .name = "list",
        .about = "List mediated devices",
        .usage = "{bin} list [OPTIONS]",
        .version = "vgpuctl-list {version}\n",
        .options = list_options,
        .run = run_list,
        .help_vgpuctl =
                "\nvgpuctl's own:\n"
                "        --vf                 Also list the vGPUs on NVIDIA VFs (vGPU 17+), which are not\n"
                "                             mediated devices and which mdevctl does not show\n",
        .help_short = "vgpuctl-list {version}\n"
                      "List mediated devices\n"
                      "\n"
                      "USAGE:\n"
                      "    {bin} list [OPTIONS]\n"
                      "\n" LIST_OPTIONS_SHORT,
        .help_long =
                "vgpuctl-list {version}\n"
                "List mediated devices\n"
                "\n"
                "With no options, information about the currently running mediated devices is provided. "
                "Specifying\n"
                "'defined' lists the configuration of defined devices, regardless of their running state. "
                "This may be\n"
                "further reduced by specifying specific 'uuid' or 'parent' devices to list. The 'dumpjson' "
                "option\n"
                "provides output listing in machine readable JSON format. When a 'uuid' option is provided "
                "and the\n"
                "result is a single device, the output contains only the JSON fields necessary to recreate "
                "a config\n"
                "file for the device (minus attributes for listings of running devices). When the verbose "
                "option is\n"
                "provided, the human readable listing will include attributes for the device(s).\n"
                "\n"
                "USAGE:\n"
                "    {bin} list [OPTIONS]\n"
                "\n"
                "OPTIONS:\n"
                "    -d, --defined\n"
                "            Show defined devices\n"
                "\n"
                "        --dumpjson\n"
                "            Output device list in json format\n"
                "\n"
                "    -h, --help\n"
                "            Print help information\n"
                "\n"
                "    -p, --parent <PARENT>\n"
                "            List devices associated with the specified Parent device\n"
                "\n"
                "    -u, --uuid <UUID>\n"
                "            List devices matching the specified UUID\n"
                "\n"
                "    -v, --verbose\n"
                "            Print additional information about the devices\n"
                "\n"
                "    -V, --version\n"
                "            Print version information\n",
};

/* Invoked as `lsmdev`: the same command with its own usage line. */
const VcCommand vc_command_lsmdev = {
        .name = "lsmdev",
        .about = "List mediated devices",
        .usage = "{bin} [OPTIONS]",
        .version = "vgpuctl {version}\n",
        .options = list_options,
        .run = run_list,
        .help_short = "vgpuctl {version}\n"
                      "List mediated devices\n"
                      "\n"
                      "USAGE:\n"
                      "    {bin} [OPTIONS]\n"
                      "\n" LIST_OPTIONS_SHORT,
        .help_long = "vgpuctl {version}\n"
                     "List mediated devices\n"
                     "\n"
                     "USAGE:\n"
                     "    {bin} [OPTIONS]\n"
                     "\n" LIST_OPTIONS_SHORT,
};
