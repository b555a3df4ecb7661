/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `vgpuctl undefine -u UUID [-p PARENT] [-f]`: mdevctl's undefine, as Manager.Undefine(parent, uuid):
 * the definition on that parent, or on every parent when none is given. */

#include <errno.h>

#include "change-call.h"
#include "cli.h"
#include "lifecycle-client.h"

enum {
        OPT_UUID,
        OPT_PARENT,
        OPT_FORCE,
};

static const VcOption undefine_options[] = {
        {OPT_FORCE, "force", 'f', NULL, VC_VALUE_STRING},
        {OPT_PARENT, "parent", 'p', "PARENT", VC_VALUE_STRING},
        {OPT_UUID, "uuid", 'u', "UUID", VC_VALUE_UUID},
        VC_OPTION_END,
};

static int check_undefine(const VcContext *ctx, const VcCommand *cmd, const VcArgs *args)
{
        static const int uuid[] = {OPT_UUID};

        return vc_check_missing(ctx, cmd, uuid, args->set[OPT_UUID] ? 0 : 1);
}

static int run_undefine(const VcContext *ctx, const VcArgs *args)
{
        const char *const strings[] = {args->set[OPT_PARENT] ? args->value[OPT_PARENT] : "",
                                       args->value[OPT_UUID]};
        VcChangeCall call;

        /* mdevctl 1.2.0 compares the parent with the directory names: "" matches none. */
        if (args->set[OPT_PARENT] && args->value[OPT_PARENT][0] == '\0')
                return vc_error("No devices match the specified uuid");

        vc_change_call_init(&call, "Undefine", strings, 2);
        vc_change_call_add_options(&call, args->set[OPT_FORCE], false, false, false);
        return vc_change_call(&call, NULL);
}

const VcCommand vc_command_undefine = {
        .name = "undefine",
        .about = "Undefine a persistent mediated device",
        .usage = "{bin} undefine [OPTIONS] --uuid <UUID>",
        .options = undefine_options,
        .check = check_undefine,
        .run = run_undefine,
        .help_short = "vgpuctl-undefine \n"
                      "Undefine a persistent mediated device\n"
                      "\n"
                      "USAGE:\n"
                      "    {bin} undefine [OPTIONS] --uuid <UUID>\n"
                      "\n"
                      "OPTIONS:\n"
                      "    -f, --force              " FORCE_SHORT "\n"
                      "    -h, --help               Print help information\n"
                      "    -p, --parent <PARENT>    Parent of the device to be undefined\n"
                      "    -u, --uuid <UUID>        UUID of the device to be undefined\n",
        .help_long = "vgpuctl-undefine \n"
                     "Undefine, or remove a config for an mdev device\n"
                     "\n"
                     "If a UUID exists for multiple parents, all will be removed unless a parent is\n"
                     "                specified.\n"
                     "\n"
                     "Running devices are unaffected by this command.\n"
                     "\n"
                     "USAGE:\n"
                     "    {bin} undefine [OPTIONS] --uuid <UUID>\n"
                     "\n"
                     "OPTIONS:\n"
                     "    -f, --force\n"
                     "            " FORCE_LONG "\n"
                     "    -h, --help\n"
                     "            Print help information\n"
                     "\n"
                     "    -p, --parent <PARENT>\n"
                     "            Parent of the device to be undefined\n"
                     "\n"
                     "    -u, --uuid <UUID>\n"
                     "            UUID of the device to be undefined\n",
};
