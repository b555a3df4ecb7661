/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `vgpuctl metrics`: vgpud's metrics in Prometheus' text exposition format (Manager.GetMetrics), the
 * same text vgpud keeps in its metrics file for node_exporter's textfile collector. A read: no
 * privilege needed. */

#include <string.h>

#include "bus-client.h"
#include "cli.h"
#include "macro.h"

static const VcOption metrics_options[] = {
        VC_OPTION_END,
};

static int run_metrics(const VcContext *ctx, const VcArgs *args)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *text = NULL;
        sd_bus *bus = NULL;
        int r;

        r = vc_bus_open_read(&bus);
        if (r < 0)
                return r;
        r = vc_bus_call_simple(bus, VGPUD_MANAGER_IFACE, "GetMetrics", &reply);
        if (r >= 0) {
                r = sd_bus_message_read(reply, "s", &text);
                if (r < 0)
                        r = vc_bus_log_error(NULL, r, "GetMetrics");
        }
        if (r >= 0)
                r = vc_write_stdout(text, strlen(text));
        sd_bus_flush_close_unref(bus);
        return r;
}

#define METRICS_HELP_HEAD             \
        "vgpuctl-metrics {version}\n" \
        "Print vgpud's metrics in Prometheus' text format\n"

const VcCommand vc_command_metrics = {
        .name = "metrics",
        .about = "Print vgpud's metrics in Prometheus' text format",
        .usage = "{bin} metrics",
        .version = NULL,
        .vgpuctl_only = true,
        .options = metrics_options,
        .run = run_metrics,
        .help_short = METRICS_HELP_HEAD "\n"
                                        "USAGE:\n"
                                        "    {bin} metrics\n"
                                        "\n"
                                        "OPTIONS:\n"
                                        "    -h, --help    Print help information\n",
        .help_long = METRICS_HELP_HEAD
        "\n"
        "Per GPU core its capacity, vGPUs used, size class and whether sizes mix; per type the\n"
        "instances still available; running devices, definitions, leases and orphans; requests by\n"
        "kind and result with their latency; uevents seen. The same text vgpud writes to its\n"
        "--metrics-file for node_exporter's textfile collector.\n"
        "\n"
        "USAGE:\n"
        "    {bin} metrics\n"
        "\n"
        "OPTIONS:\n"
        "    -h, --help\n"
        "            Print help information\n",
};
