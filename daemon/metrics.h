/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vgpud's metrics in Prometheus' text exposition format (version 0.0.4): per GPU core its capacity,
 * vGPUs used, size class in use and whether sizes mix (grouped as `vgpuctl status` groups parents);
 * per type its available instances; running devices, definitions, leases and orphans; a counter and a
 * latency histogram of every request kind by result ("ok" or the error name); the uevents seen.
 *
 * The counters live here; the gauges are read from the inventory and the leases when the text is
 * rendered. Served by Manager.GetMetrics() (`vgpuctl metrics`) and, with a file set, written to that
 * file for node_exporter's textfile collector: atomically replaced, after every change, at most once
 * per second. Everything runs from the event loop. */

#include <stdint.h>
#include <systemd/sd-event.h>

#include "inventory.h"

struct Leases;
typedef struct Metrics Metrics;

Metrics *metrics_new(Inventory *inv);
void metrics_free(Metrics *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Metrics, metrics_free)

/* The leases to count (borrowed; NULL: none). */
void metrics_set_leases(Metrics *m, struct Leases *leases);

/* The configured layout to show (borrowed, must outlive m; NULL: none): vgpud_layout_state (1 for the
 * current state of "pending", "applied", "failed") and vgpud_layout_vgpus, labelled with its config. */
struct LayoutWatch;
void metrics_set_layout(Metrics *m, struct LayoutWatch *w, const char *config);

/* A request of kind action ("start", "acquire", ...) ended: r 0 or a negative errno, after usec
 * microseconds from its submission. */
void metrics_request_done(Metrics *m, const char *action, int r, uint64_t usec);
/* A uevent of subsystem arrived ("mdev" for devices, else a parent's). */
void metrics_uevent(Metrics *m, const char *subsystem);

/* The exposition text (g_free it). */
char *metrics_render(Metrics *m);

/* Write the text to path after every change (metrics_changed()), at most once per second, atomically
 * (common/fileio.c); the first write happens now. A directory that does not exist (node_exporter not
 * installed) is not an error: nothing is written until it does. path must be absolute. */
int metrics_set_file(Metrics *m, sd_event *event, const char *path);
/* Something the metrics show changed (the inventory, the leases): write the file soon. */
void metrics_changed(Metrics *m);
