/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `vgpuctl apply FILE --config NAME [--dry-run] [--force] [--owner OWNER] [--json]`: send a
 * vgpu-device-manager config file (FILE, or - for stdin) to Manager.ApplyLayout, which parses and
 * plans it and makes the host match the named config; print the plan, or what was done. */

#include <errno.h>
#include <string.h>

#include "bus-client.h"
#include "change-bus.h"
#include "cli-positional.h"
#include "cli.h"
#include "json-writer.h"
#include "lifecycle-client.h"
#include "macro.h"
#include "names.h"

enum {
        OPT_CONFIG,
        OPT_DRY_RUN,
        OPT_FORCE,
        OPT_OWNER,
        OPT_JSON,
};

static const VcOption apply_options[] = {
        {OPT_CONFIG, "config", 'c', "NAME", VC_VALUE_STRING},
        {OPT_DRY_RUN, "dry-run", 0, NULL, VC_VALUE_STRING},
        {OPT_FORCE, "force", 'f', NULL, VC_VALUE_STRING},
        {OPT_JSON, "json", 0, NULL, VC_VALUE_STRING},
        {OPT_OWNER, "owner", 0, "OWNER", VC_VALUE_STRING},
        VC_OPTION_END,
};

#define APPLY_USAGE "{bin} apply [OPTIONS] --config <NAME> <FILE>"

/* How long an apply may take: vgpud first waits (up to 120 s) for its queue to drain, then makes or
 * removes the vGPUs one by one, each allowed 10 s by the kernel; a layout of hundreds of vGPUs takes
 * minutes, not the two a single change is given. */
#define APPLY_TIMEOUT_USEC (30ULL * 60ULL * 1000ULL * 1000ULL)

typedef struct {
        const char *uuid, *core, *type, *held_by;
} Removed;

typedef struct {
        const char *core, *type;
        int32_t index;
        uint32_t count;
} Created;

/* Build the call: the file's text, the config, the options. */
static int apply_call(sd_bus *bus, const char *text, const VcArgs *args, sd_bus_message **ret_reply)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = vc_change_new(bus, "ApplyLayout", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "ss", text, args->value[OPT_CONFIG]);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && args->set[OPT_DRY_RUN])
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_DRY_RUN, "b", 1);
        if (r >= 0 && args->set[OPT_FORCE])
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_FORCE, "b", 1);
        if (r >= 0 && args->set[OPT_OWNER])
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_OWNER, "s", args->value[OPT_OWNER]);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return vc_bus_log_error(NULL, r, "building the ApplyLayout call");
        return vc_bus_call_message(bus, m, APPLY_TIMEOUT_USEC, VGPUD_MANAGER_IFACE ".ApplyLayout",
                                   ret_reply);
}

static int read_answer(sd_bus_message *reply, int *changed, GArray *removed, GArray *created, char ***made,
                       char ***kept)
{
        Removed rm;
        Created cr;
        int r = sd_bus_message_read(reply, "b", changed);

        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(ssss)");
        while (r >= 0 &&
               (r = sd_bus_message_read(reply, "(ssss)", &rm.uuid, &rm.core, &rm.type, &rm.held_by)) > 0)
                g_array_append_val(removed, rm);
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(sisu)");
        while (r >= 0 &&
               (r = sd_bus_message_read(reply, "(sisu)", &cr.core, &cr.index, &cr.type, &cr.count)) > 0)
                g_array_append_val(created, cr);
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r >= 0)
                r = sd_bus_message_read_strv(reply, made);
        if (r >= 0)
                r = sd_bus_message_read_strv(reply, kept);
        return r < 0 ? vc_bus_log_error(NULL, r, "reading the answer to ApplyLayout") : 0;
}

static void print_json(GString *out, bool dry_run, int changed, GArray *removed, GArray *created,
                       char **made, char **kept)
{
        JsonWriter w;

        json_writer_init(&w, out, true);
        json_writer_begin_object(&w);
        json_writer_key(&w, "dry_run");
        json_writer_bool(&w, dry_run);
        json_writer_key(&w, "changed");
        json_writer_bool(&w, changed);
        json_writer_key(&w, "remove");
        json_writer_begin_array(&w);
        for (guint i = 0; i < removed->len; i++) {
                Removed *rm = &g_array_index(removed, Removed, i);
                json_writer_begin_object(&w);
                json_writer_key(&w, "uuid");
                json_writer_string(&w, rm->uuid);
                json_writer_key(&w, "core");
                json_writer_string(&w, rm->core);
                json_writer_key(&w, "type");
                json_writer_string(&w, rm->type);
                json_writer_key(&w, "held_by");
                if (*rm->held_by)
                        json_writer_string(&w, rm->held_by);
                else
                        json_writer_null(&w);
                json_writer_end_object(&w);
        }
        json_writer_end_array(&w);
        json_writer_key(&w, "create");
        json_writer_begin_array(&w);
        for (guint i = 0; i < created->len; i++) {
                Created *cr = &g_array_index(created, Created, i);
                json_writer_begin_object(&w);
                json_writer_key(&w, "core");
                json_writer_string(&w, cr->core);
                json_writer_key(&w, "index");
                if (cr->index >= 0)
                        json_writer_int(&w, cr->index);
                else
                        json_writer_null(&w);
                json_writer_key(&w, "type");
                json_writer_string(&w, cr->type);
                json_writer_key(&w, "count");
                json_writer_uint(&w, cr->count);
                json_writer_end_object(&w);
        }
        json_writer_end_array(&w);
        for (int k = 0; k < 2; k++) {
                json_writer_key(&w, k == 0 ? "made" : "kept");
                json_writer_begin_array(&w);
                for (char **u = k == 0 ? made : kept; u && *u; u++)
                        json_writer_string(&w, *u);
                json_writer_end_array(&w);
        }
        json_writer_end_object(&w);
        g_string_append_c(out, '\n');
}

static void print_text(GString *out, bool dry_run, GArray *removed, GArray *created, char **made,
                       char **kept)
{
        const char *rm_verb = dry_run ? "would remove" : "removed",
                   *cr_verb = dry_run ? "would create" : "created";
        guint n_create = 0;

        for (guint i = 0; i < removed->len; i++) {
                Removed *rm = &g_array_index(removed, Removed, i);
                g_string_append_printf(out, "%s %s (%s on %s)%s%s\n", rm_verb, rm->uuid, rm->type, rm->core,
                                       *rm->held_by ? ", in use by " : "", rm->held_by);
        }
        for (guint i = 0; i < created->len; i++) {
                Created *cr = &g_array_index(created, Created, i);
                g_autofree char *gpu = cr->index >= 0 ? g_strdup_printf("GPU %d (%s)", cr->index, cr->core)
                                                      : g_strdup(cr->core);
                n_create += cr->count;
                if (dry_run)
                        g_string_append_printf(out, "%s %u x %s on %s\n", cr_verb, cr->count, cr->type, gpu);
        }
        for (char **u = made; !dry_run && u && *u; u++)
                g_string_append_printf(out, "%s %s\n", cr_verb, *u);
        g_string_append_printf(out, "%s: %u removed, %u created, %u kept\n", dry_run ? "Plan" : "Applied",
                               removed->len, n_create, kept ? g_strv_length(kept) : 0);
}

static int run_apply(const VcContext *ctx, const VcArgs *args, GPtrArray *positional)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        g_autoptr(GArray) removed = g_array_new(false, false, sizeof(Removed));
        g_autoptr(GArray) created = g_array_new(false, false, sizeof(Created));
        g_autoptr(GString) out = g_string_new(NULL);
        g_autoptr(GError) err = NULL;
        g_auto(GStrv) made = NULL, kept = NULL;
        g_autofree char *text = NULL;
        const char *path = positional->pdata[0];
        int changed = 0, r;
        gsize len = 0;

        if (!args->set[OPT_CONFIG]) {
                vc_usage_error(ctx, APPLY_USAGE,
                               "The following required arguments were not provided:\n    --config <NAME>");
                return 2;
        }
        if (!g_file_get_contents(g_str_equal(path, "-") ? "/dev/stdin" : path, &text, &len, &err))
                return vc_error("Cannot read %s: %s", path, err->message);
        if (strlen(text) != len || !g_utf8_validate(text, (gssize)len, NULL))
                return vc_error("%s is not UTF-8 text", path);
        r = vc_bus_open_change(&bus);
        if (r < 0)
                return r;
        r = apply_call(bus, text, args, &reply);
        if (r < 0)
                return r;
        r = read_answer(reply, &changed, removed, created, &made, &kept);
        if (r < 0)
                return r;
        if (args->set[OPT_JSON])
                print_json(out, args->set[OPT_DRY_RUN], changed, removed, created, made, kept);
        else
                print_text(out, args->set[OPT_DRY_RUN], removed, created, made, kept);
        return vc_write_stdout(out->str, out->len);
}

static int main_apply(const VcContext *ctx, const VcCommand *cmd, int argc, char **argv)
{
        static const char *const names[] = {"FILE"};

        return vc_run_with_positional(ctx, cmd, argc, argv, 1, 1, names, run_apply);
}

const VcCommand vc_command_apply = {
        .name = "apply",
        .about = "Make the host match a vGPU layout (vgpu-device-manager's config)",
        .usage = APPLY_USAGE,
        .vgpuctl_only = true,
        .options = apply_options,
        .main = main_apply,
        .help_short = "vgpuctl-apply \n"
                      "Make the host match a vGPU layout (vgpu-device-manager's config)\n"
                      "\n"
                      "USAGE:\n"
                      "    " APPLY_USAGE "\n"
                      "\n"
                      "ARGS:\n"
                      "    <FILE>    A vgpu-device-manager config file (v1), - for stdin\n"
                      "\n"
                      "OPTIONS:\n"
                      "    -c, --config <NAME>    The config of the file's vgpu-configs to apply\n"
                      "        --dry-run          Print the plan, change nothing\n"
                      "    -f, --force            Remove vGPUs the layout no longer wants even when in use\n"
                      "    -h, --help             Print help information\n"
                      "        --json             Print the plan as JSON\n"
                      "        --owner <OWNER>    Whose vGPUs the layout manages (default: vgpud.conf's)\n",
        .help_long = "vgpuctl-apply \n"
                     "Make the host match a vGPU layout (vgpu-device-manager's config)\n"
                     "\n"
                     "vgpud compares the vGPUs its owner holds with the config, checks that the result\n"
                     "fits (one size per GPU unless mixed-size, the types' limits, everyone else's\n"
                     "vGPUs) before it changes anything, removes what the config no longer wants and no\n"
                     "VM holds (a held one refuses the whole apply unless --force), and creates the rest\n"
                     "with persistent definitions. Applying the same config again changes nothing.\n"
                     "GPU indexes count NVIDIA GPUs in PCI address order, as vgpu-device-manager does.\n"
                     "\n"
                     "USAGE:\n"
                     "    " APPLY_USAGE "\n"
                     "\n"
                     "ARGS:\n"
                     "    <FILE>\n"
                     "            A vgpu-device-manager config file (version v1); - reads stdin\n"
                     "\n"
                     "OPTIONS:\n"
                     "    -c, --config <NAME>\n"
                     "            The config of the file's vgpu-configs to apply\n"
                     "\n"
                     "        --dry-run\n"
                     "            Print the plan, change nothing\n"
                     "\n"
                     "    -f, --force\n"
                     "            Remove vGPUs the layout no longer wants even when a VM holds them\n"
                     "\n"
                     "    -h, --help\n"
                     "            Print help information\n"
                     "\n"
                     "        --json\n"
                     "            Print the plan (and the UUIDs made and kept) as JSON\n"
                     "\n"
                     "        --owner <OWNER>\n"
                     "            Whose vGPUs the layout manages (default: [Layout] Owner= of vgpud.conf,\n"
                     "            \"layout\")\n",
};
