/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `vgpuctl define`: mdevctl's define, as Manager.Define(parent, uuid, definition):
 *   define -u U                      copy the running device U (its parent and type, manual)
 *   define -u U [-p P] [-a]          the same with another parent or start mode: the running device's
 *                                    type is looked up (ListDevices)
 *   define [-u U] -p P -t T [-a]     {"mdev_type":T,"start":"auto"|"manual","attrs":[]}
 *   define [-u U] -p P --jsonfile F  F's text, unparsed (vgpud validates it)
 * vgpuctl's own --mixed-size (not in mdevctl's help text, which is printed byte for byte) adds
 * "mixed_size": true: a VF vGPU whose GPU runs in mixed-size mode.
 * The UUID is printed when it was generated, as mdevctl does. */

#include <errno.h>
#include <string.h>

#include "cli.h"
#include "lifecycle-client.h"
#include "read-source.h"

enum {
        OPT_UUID,
        OPT_AUTO,
        OPT_PARENT,
        OPT_TYPE,
        OPT_JSONFILE,
        OPT_FORCE,
        OPT_MIXED_SIZE,
};

static const VcOption define_options[] = {
        {OPT_AUTO, "auto", 'a', NULL, VC_VALUE_STRING},
        {OPT_FORCE, "force", 'f', NULL, VC_VALUE_STRING},
        {OPT_JSONFILE, "jsonfile", 0, "JSONFILE", VC_VALUE_STRING},
        {OPT_MIXED_SIZE, "mixed-size", 0, NULL, VC_VALUE_STRING},
        {OPT_PARENT, "parent", 'p', "PARENT", VC_VALUE_STRING},
        {OPT_TYPE, "type", 't', "type", VC_VALUE_STRING},
        {OPT_UUID, "uuid", 'u', "UUID", VC_VALUE_UUID},
        VC_OPTION_END,
};

static int check_define(const VcContext *ctx, const VcCommand *cmd, const VcArgs *args)
{
        static const int one_of[] = {OPT_UUID, OPT_PARENT};
        int r;

        r = vc_check_conflict(ctx, cmd, args, OPT_JSONFILE, OPT_TYPE);
        if (r >= 0)
                r = vc_check_conflict(ctx, cmd, args, OPT_JSONFILE, OPT_AUTO);
        if (r >= 0)
                r = vc_check_conflict(ctx, cmd, args, OPT_JSONFILE, OPT_MIXED_SIZE);
        if (r >= 0)
                r = vc_check_missing(ctx, cmd, one_of, args->set[OPT_UUID] || args->set[OPT_PARENT] ? 0 : 2);
        return r;
}

/* define -u U with -p or -a but no type: the parent and type of the running device U, as mdevctl
 * takes them from sysfs (here from vgpud's listing: its snapshot, else the bus). */
static int running_device(const char *uuid, char **ret_parent, char **ret_type)
{
        g_autoptr(VcInventory) inv = NULL;
        int r;

        r = vc_read_listing(false, &inv);
        if (r < 0)
                return r;
        for (guint i = 0; i < inv->devices->len; i++) {
                const VcDevice *d = inv->devices->pdata[i];
                if (strcmp(d->uuid, uuid) == 0 && *d->type_id) {
                        *ret_parent = g_strdup(d->parent);
                        *ret_type = g_strdup(d->type_id);
                        return 1;
                }
        }
        return 0;
}

static int run_define(const VcContext *ctx, const VcArgs *args)
{
        g_autofree char *json = NULL, *run_parent = NULL, *run_type = NULL;
        const char *uuid = args->set[OPT_UUID] ? args->value[OPT_UUID] : "";
        const char *parent = args->set[OPT_PARENT] ? args->value[OPT_PARENT] : NULL;
        const char *type = args->set[OPT_TYPE] ? args->value[OPT_TYPE] : NULL;
        int r;

        if (args->set[OPT_JSONFILE]) {
                r = vc_read_jsonfile(args->value[OPT_JSONFILE], &json);
                if (r < 0)
                        return r;
                if (!parent) {
                        g_autofree char *quoted = vc_rust_debug_path(args->value[OPT_JSONFILE]);
                        return vc_error("Parent device required to define device via %s", quoted);
                }
        } else if (*uuid && !parent && type)
                return vc_error("No parent specified");

        if (!json && !type) {
                if (!*uuid) /* -p without -t */
                        return vc_error("No type specified");
                if (parent || args->set[OPT_AUTO] || args->set[OPT_MIXED_SIZE]) {
                        r = running_device(uuid, &run_parent, &run_type);
                        if (r < 0)
                                return r;
                        if (r == 0 && parent)
                                return vc_error("No type specified");
                        if (r == 0)
                                return vc_error("No parent specified");
                        type = run_type;
                        if (!parent)
                                parent = run_parent;
                }
                /* else: plain `define -u U`, vgpud copies the running device itself */
        }
        if (!json && type)
                json = vc_definition_json(type, args->set[OPT_AUTO], args->set[OPT_MIXED_SIZE]);

        return vc_change_with_definition("Define", parent, uuid, json, args->set[OPT_FORCE]);
}

const VcCommand vc_command_define = {
        .name = "define",
        .about = "Define a persistent mediated device",
        .usage = "{bin} define [OPTIONS]",
        .options = define_options,
        .check = check_define,
        .run = run_define,
        .help_short = "vgpuctl-define \n"
                      "Define a persistent mediated device\n"
                      "\n"
                      "USAGE:\n"
                      "    {bin} define [OPTIONS]\n"
                      "\n"
                      "OPTIONS:\n"
                      "    -a, --auto                   Automatically start device on parent availability\n"
                      "    -f, --force                  " FORCE_SHORT "\n"
                      "    -h, --help                   Print help information\n"
                      "        --jsonfile <JSONFILE>    Specify device details in JSON format\n"
                      "    -p, --parent <PARENT>        Specify the parent of the device\n"
                      "    -t, --type <type>            Specify the mdev type of the device\n"
                      "    -u, --uuid <UUID>            Assign UUID to the device\n",
        .help_long = "vgpuctl-define \n"
                     "Define a persistent mediated device\n"
                     "\n"
                     "If the device specified by the UUID currently exists, 'parent' and 'type' may be "
                     "omitted to use the\n"
                     "existing values. The 'auto' option marks the device to start on parent availability.  "
                     "If defined via\n"
                     "'jsonfile', then 'type', 'startup', and any attributes are provided via the file.\n"
                     "\n"
                     "Running devices are unaffected by this command.\n"
                     "\n"
                     "USAGE:\n"
                     "    {bin} define [OPTIONS]\n"
                     "\n"
                     "OPTIONS:\n"
                     "    -a, --auto\n"
                     "            Automatically start device on parent availability\n"
                     "\n"
                     "    -f, --force\n"
                     "            " FORCE_LONG "\n"
                     "    -h, --help\n"
                     "            Print help information\n"
                     "\n"
                     "        --jsonfile <JSONFILE>\n"
                     "            Specify device details in JSON format\n"
                     "\n"
                     "    -p, --parent <PARENT>\n"
                     "            Specify the parent of the device\n"
                     "\n"
                     "    -t, --type <type>\n"
                     "            Specify the mdev type of the device\n"
                     "\n"
                     "    -u, --uuid <UUID>\n"
                     "            Assign UUID to the device\n",
};
