/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `vgpuctl stop -u UUID [-f]`: mdevctl's stop, as Manager.Stop(uuid). vgpud returns once the device is
 * gone (mdevctl 1.2.0 only writes to `remove`). */

#include <errno.h>

#include "bus-client.h"
#include "cli.h"
#include "lifecycle-client.h"
#include "macro.h"

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
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = vc_bus_open_change(&bus);
        if (r < 0)
                return r;
        r = vc_change_new(bus, "Stop", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", args->value[OPT_UUID]);
        if (r >= 0)
                r = vc_change_append_options(m, args->set[OPT_FORCE], false, false, false);
        if (r < 0)
                return vc_bus_log_error(NULL, r, "building the Stop call");
        return vc_change_send(bus, m, NULL);
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
