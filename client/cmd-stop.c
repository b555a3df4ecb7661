/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `vgpuctl stop -u UUID [-f]`: mdevctl's stop, as Manager.Stop(uuid). vgpud returns once the device is
 * gone (mdevctl 1.2.0 only writes to `remove`). */

#include <errno.h>

#include "change-call.h"
#include "cli.h"
#include "lifecycle-client.h"

enum {
        OPT_UUID,
        OPT_FORCE,
};

static const VcOption stop_options[] = {
        {OPT_FORCE, "force", 'f', NULL, VC_VALUE_STRING},
        {OPT_UUID, "uuid", 'u', "UUID", VC_VALUE_UUID},
        VC_OPTION_END,
};

static int check_stop(const VcContext *ctx, const VcCommand *cmd, const VcArgs *args)
{
        static const int uuid[] = {OPT_UUID};

        return vc_check_missing(ctx, cmd, uuid, args->set[OPT_UUID] ? 0 : 1);
}

static int run_stop(const VcContext *ctx, const VcArgs *args)
{
        const char *const strings[] = {args->value[OPT_UUID]};
        VcChangeCall call;

        vc_change_call_init(&call, "Stop", strings, 1);
        vc_change_call_add_options(&call, args->set[OPT_FORCE], false, false, false);
        return vc_change_call(&call, NULL);
}

const VcCommand vc_command_stop = {
        .name = "stop",
        .about = "Stop a mediated device",
        .usage = "{bin} stop [OPTIONS] --uuid <UUID>",
        .options = stop_options,
        .check = check_stop,
        .run = run_stop,
        .help_short = "vgpuctl-stop \n"
                      "Stop a mediated device\n"
                      "\n"
                      "USAGE:\n"
                      "    {bin} stop [OPTIONS] --uuid <UUID>\n"
                      "\n"
                      "OPTIONS:\n"
                      "    -f, --force          " FORCE_SHORT "\n"
                      "    -h, --help           Print help information\n"
                      "    -u, --uuid <UUID>    UUID of the device to stop\n",
        .help_long = "vgpuctl-stop \n"
                     "Stop a mediated device\n"
                     "\n"
                     "USAGE:\n"
                     "    {bin} stop [OPTIONS] --uuid <UUID>\n"
                     "\n"
                     "OPTIONS:\n"
                     "    -f, --force\n"
                     "            " FORCE_LONG "\n"
                     "    -h, --help\n"
                     "            Print help information\n"
                     "\n"
                     "    -u, --uuid <UUID>\n"
                     "            UUID of the device to stop\n",
};
