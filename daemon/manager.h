/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's context: one event loop, one bus connection, the inventory, the udev and definitions
 * watchers, the lifecycle engine and its callout scripts. */

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "callouts.h"
#include "inventory.h"
#include "ops.h"
#include "store-watch.h"
#include "udev-watch.h"
#include "vgpud-config.h"
#include "layout-watch.h"

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        GQueue pending_signals;         /* the observer's signals until the dispatch ends (bus-manager.c) */
        sd_event_source *signals_defer; /* sends them */
        GQueue answers;                 /* the engine's answers until the dispatch ends (bus-lifecycle.c) */
        sd_event_source *answers_defer; /* sends them */
        bool answers_now;               /* since bus_lifecycle_done(): sent as they come */
        Inventory *inventory;
        UdevWatch *udev;
        StoreWatch *store_watch;
        Ops *ops;
        Callouts *callouts;
        struct Sriov *sriov;         /* enables the VFs of NVIDIA GPUs (sriov.c) */
        sd_event_source *vf_recheck; /* looks at the VFs' vGPUs now and then (no uevent tells) */
        char *sriov_manage;          /* --sriov-manage (tests); NULL: vgpud.conf's, else the default */
        struct Leases *leases;       /* who holds which vGPU (state_dir/leases) */
        IntentLog *intent_log;       /* from its replay until the engine takes it (state_dir/intent-log) */
        char *definitions_dir;
        char *state_dir;
        char *udev_source;               /* "udev", "kernel" or NULL for automatic */
        char *private_socket;            /* path of the private socket, NULL: none */
        char *snapshot_path;             /* --snapshot: where the inventory is published, NULL: nowhere */
        struct SnapshotWriter *snapshot; /* publishes it (snapshot-writer.h), NULL: not publishing */
        struct Metrics *metrics;         /* counters and the textfile (metrics.h) */
        char *metrics_file;              /* --metrics-file, NULL: none */
        sd_event_source *private_listen;
        sd_event_source *private_retry; /* resumes accepting after EMFILE (bus-private.c) */
        sd_event_source *private_post;  /* processes what came with a peer's authentication */
        sd_event_source *private_reap;  /* frees the connections dropped over a limit */
        GPtrArray *private_connections; /* PrivateConnection* of the connected peers */
        char *scripts_dir;              /* mdevctl's system scripts.d (NULL: /usr/lib/mdevctl/scripts.d) */
        uint64_t callout_timeout_usec;  /* 0: the default */
        VgpudConfig config;             /* vgpud.conf (daemon/config.c) */
        LayoutWatch *layout;            /* the configured layout (layout-watch.c) */
        sd_event_source *users_timer;   /* looks for processes holding vGPUs ([Users] ScanIntervalSec) */
        uint64_t users_scanned_usec;    /* CLOCK_MONOTONIC of the last ScanUsers scan */
} Manager;
