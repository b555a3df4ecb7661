/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vgpud: set up the loop, the bus and the inventory, then serve org.vgpud1 until told to stop. */

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "intent-log.h"
#include "macro.h"
#include "log.h"
#include "metrics.h"
#include "bus.h"
#include "manager.h"
#include "store.h"
#include "leases.h"
#include "vgpud-config.h"
#include "layout-apply.h"
#include "sysfs-mdev.h"
#include "sysfs-nvidia-vf.h"
#include "sriov.h"
#include "snapshot-writer.h"

static void help(void)
{
        printf("Usage: vgpud [OPTIONS]\n\n"
               "Manages mediated devices and vGPUs and serves them on the system bus as org.vgpud1.\n\n"
               "  --config=PATH          vgpud's configuration file (default: %s)\n"
               "  --definitions-dir=DIR  persistent definitions (default: %s)\n"
               "  --state-dir=DIR        state (default: $STATE_DIRECTORY or %s)\n"
               "  --udev-source=SOURCE   'udev' or 'kernel' uevents (default: udev when udevd runs)\n"
               "  --private-socket=PATH  also serve the objects on this socket, without the bus broker\n"
               "                         (vgpuctl reads from /run/vgpud/private when it exists)\n"
               "  --snapshot=PATH        publish the inventory in this file for read commands\n"
               "                         (vgpuctl reads /run/vgpud/snapshot while vgpud runs)\n"
               "  --metrics-file=PATH    keep Prometheus metrics in this file (node_exporter's textfile\n"
               "                         collector), rewritten after every change\n"
               "  -v, --verbose          log debug messages\n"
               "  -h, --help             show this help\n"
               "      --version          show the version\n",
               VGPUD_CONFIG_FILE, MDEVCTL_CONF_DIR, VGPUD_STATE_DIR);
}

/* A number of milliseconds > 0, as microseconds. */
static int parse_msec(const char *s, uint64_t *ret_usec)
{
        char *end = NULL;
        guint64 ms;

        errno = 0;
        ms = g_ascii_strtoull(s, &end, 10);
        if (errno != 0 || !end || *end || end == s || ms == 0 || ms > UINT64_MAX / 1000)
                return -EINVAL;
        *ret_usec = ms * 1000;
        return 0;
}

/* The config file, then the defaults of what neither it nor the command line set. 1, or an error. */
static int load_config(Manager *m, const char *config_path)
{
        g_autofree char *why = NULL;
        int r;

        r = config_load(&m->config, config_path, &why);
        if (r < 0) {
                log_error("%s", why);
                return r;
        }
        if (!m->definitions_dir)
                m->definitions_dir = g_strdup(MDEVCTL_CONF_DIR);
        if (!m->state_dir) {
                const char *e = getenv("STATE_DIRECTORY"); /* may list several, ':'-separated */
                m->state_dir = e && *e ? g_strndup(e, strcspn(e, ":")) : g_strdup(VGPUD_STATE_DIR);
        }
        return 1;
}

/* vgpud's options (getopt_long) */
enum {
        ARG_DEFINITIONS_DIR = 0x100,
        ARG_STATE_DIR,
        ARG_UDEV_SOURCE,
        ARG_VERSION,
        ARG_SCRIPTS_DIR,
        ARG_CALLOUT_TIMEOUT,
        ARG_PRIVATE_SOCKET,
        ARG_METRICS_FILE,
        ARG_SNAPSHOT,
        ARG_CONFIG,
        ARG_SRIOV_MANAGE,
};
static const struct option options[] = {
        {"config", required_argument, NULL, ARG_CONFIG},
        {"definitions-dir", required_argument, NULL, ARG_DEFINITIONS_DIR},
        {"state-dir", required_argument, NULL, ARG_STATE_DIR},
        {"udev-source", required_argument, NULL, ARG_UDEV_SOURCE},
        {"private-socket", required_argument, NULL, ARG_PRIVATE_SOCKET},
        {"metrics-file", required_argument, NULL, ARG_METRICS_FILE},
        {"snapshot", required_argument, NULL, ARG_SNAPSHOT},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, ARG_VERSION},
        /* not in --help: for tests, which must never run the host's scripts */
        {"system-scripts-dir", required_argument, NULL, ARG_SCRIPTS_DIR},
        {"callout-timeout-ms", required_argument, NULL, ARG_CALLOUT_TIMEOUT},
        /* not in --help: for tests, which must never run the host's sriov-manage (vgpud.conf's
         * [NvidiaVF] SRIOVManage is the setting for users) */
        {"sriov-manage", required_argument, NULL, ARG_SRIOV_MANAGE},
        {},
};

/* 1: go on; 0: done (--help, --version); or an error. */
static int parse_args(Manager *m, int argc, char **argv)
{
        const char *config_path = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "vh", options, NULL)) >= 0) {
                switch (c) {
                case ARG_CONFIG: config_path = optarg; break;
                case ARG_DEFINITIONS_DIR:
                        g_free(m->definitions_dir);
                        m->definitions_dir = g_strdup(optarg);
                        break;
                case ARG_STATE_DIR:
                        g_free(m->state_dir);
                        m->state_dir = g_strdup(optarg);
                        break;
                case ARG_UDEV_SOURCE:
                        if (!g_str_equal(optarg, "udev") && !g_str_equal(optarg, "kernel")) {
                                log_error("--udev-source takes 'udev' or 'kernel', not '%s'", optarg);
                                return -EINVAL;
                        }
                        g_free(m->udev_source);
                        m->udev_source = g_strdup(optarg);
                        break;
                case ARG_PRIVATE_SOCKET:
                        g_free(m->private_socket);
                        m->private_socket = *optarg ? g_strdup(optarg) : NULL;
                        break;
                case ARG_SNAPSHOT:
                        g_free(m->snapshot_path);
                        m->snapshot_path = *optarg ? g_strdup(optarg) : NULL;
                        break;
                case ARG_METRICS_FILE:
                        g_free(m->metrics_file);
                        m->metrics_file = *optarg ? g_strdup(optarg) : NULL;
                        break;
                case ARG_SRIOV_MANAGE:
                        g_free(m->sriov_manage);
                        m->sriov_manage = g_strdup(optarg);
                        break;
                case ARG_SCRIPTS_DIR:
                        g_free(m->scripts_dir);
                        m->scripts_dir = g_strdup(optarg);
                        break;
                case ARG_CALLOUT_TIMEOUT:
                        r = parse_msec(optarg, &m->callout_timeout_usec);
                        if (r < 0) {
                                log_error(
                                        "--callout-timeout-ms takes a number of milliseconds > 0, not '%s'",
                                        optarg);
                                return r;
                        }
                        break;
                case 'v': log_set_max_level(LOG_DEBUG); break;
                case 'h': help(); return 0;
                case ARG_VERSION: printf("vgpud %s\n", VGPUD_VERSION); return 0;
                default: return -EINVAL;
                }
        }
        if (optind < argc) {
                log_error("Unexpected argument: %s", argv[optind]);
                return -EINVAL;
        }
        /* after the options, so that --help and --version work with a broken file */
        return load_config(m, config_path);
}

static void manager_done(Manager *m)
{
        layout_apply_cancel_waiting(); /* before the engine: layouts waiting to plan end now */
        sd_event_source_unref(m->users_timer);
        ops_free(m->ops);             /* callers still waiting get an error; running callouts are killed */
        bus_done(m);                  /* their answers and the last signals (later ones go at once) */
        layout_watch_free(m->layout); /* after the engine: its applies have answered */
        metrics_free(m->metrics);
        g_free(m->metrics_file);
        sriov_free(m->sriov); /* a running sriov-manage is killed */
        m->vf_recheck = sd_event_source_disable_unref(m->vf_recheck);
        callouts_free(m->callouts);
        if (m->inventory)
                inventory_set_leases(m->inventory, NULL);
        leases_free(m->leases);
        intent_log_free(m->intent_log);
        store_watch_free(m->store_watch);
        udev_watch_free(m->udev);
        bus_private_done(m);
        snapshot_writer_free(m->snapshot);
        g_free(m->snapshot_path);
        inventory_free(m->inventory);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        g_free(m->definitions_dir);
        g_free(m->state_dir);
        g_free(m->udev_source);
        g_free(m->scripts_dir);
        g_free(m->private_socket);
        g_free(m->sriov_manage);
        config_done(&m->config);
}

/* A VF's vGPU that another tool makes or removes (qemu-server, nvidia-smi, an admin's echo) sends no
 * uevent: look this often, so that Devices, Orphans and status follow within that time (Acquire and
 * Plan look anyway before they choose). One read per VF; nothing on a host without VFs. */
#define VF_RECHECK_USEC (10ULL * 1000 * 1000)

static int on_vf_recheck(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;

        inventory_recheck_unannounced(m->inventory);
        (void)sd_event_source_set_time_relative(s, VF_RECHECK_USEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static void on_pci_bound(void *userdata, char **bound)
{
        Manager *m = userdata;

        if (!bound) { /* uevents were lost: every PCI device is looked at, as at startup */
                sriov_check(m->sriov, NULL);
                return;
        }
        for (char **pf = bound; *pf; pf++)
                sriov_check(m->sriov, *pf);
}

/* SR-IOV and mixed-size mode of NVIDIA GPUs, as vgpud.conf's [NvidiaVF] says. */
static int setup_sriov(Manager *m)
{
        g_auto(GStrv) pfs = NULL, mixed = NULL;
        SriovSettings settings = {
                .enable = m->config.vf_enable_sriov,
                .manage = m->sriov_manage ? m->sriov_manage : m->config.vf_sriov_manage,
        };

        if (m->config.vf_pfs) {
                pfs = g_strsplit_set(m->config.vf_pfs, " \t", -1);
                settings.pfs = pfs;
        }
        if (m->config.vf_mixed_size) {
                mixed = g_strsplit_set(m->config.vf_mixed_size, " \t", -1);
                settings.mixed_size = mixed;
        }
        inventory_set_mixed_size_wanted(m->inventory, mixed);
        return sriov_new(m->event, m->inventory, NULL, &settings, &m->sriov);
}

static void on_uevents(void *userdata, char **parents, char **devices, char **registered)
{
        Manager *m = userdata;

        ops_uevents(m->ops, parents, devices, registered);
}

/* Replay the intent log (common/intent-log.h): what vgpud answered for, and a power cut left there
 * only, is put in place; one that holds what cannot be put in place stops the start (a change made now
 * could be undone by its replay later). Replayed even when [Storage] IntentLog is off, for a log an
 * earlier run left; then opened for the engine when it is on, or done without (a read-only state
 * directory: changes are made durable in place). */
static int replay_intent_log(Manager *m)
{
        g_autofree char *path = g_build_filename(m->state_dir, "intent-log", NULL);
        unsigned replayed = 0;
        int r;

        r = intent_log_replay(path, &replayed);
        if (r < 0)
                return log_error_errno(r, "Cannot replay the intent log %s: %m", path);
        if (replayed > 0)
                log_info("Put %u change%s the intent log %s held in place", replayed,
                         replayed == 1 ? "" : "s", path);
        if (!m->config.storage_intent_log)
                return 0;
        (void)mkdir(m->state_dir, 0755);
        r = intent_log_open(path, &m->intent_log);
        if (r < 0)
                log_warning_errno(r, "Cannot use the intent log %s, changes are made durable in place: %m",
                                  path);
        return 0;
}

static void on_definitions_reloaded(void *userdata)
{
        Manager *m = userdata;

        ops_reconcile_leases_soon(m->ops);
}

/* Read the leases, and say what the devices found in sysfs are: leased, defined, held by a process, or
 * idle (which stay as they are: vgpud removes them only when asked, ReleaseIdle). */
static int load_leases(Manager *m)
{
        g_autofree char *warning = NULL;
        g_autoptr(GPtrArray) idle = NULL;
        g_autoptr(GPtrArray) leases = NULL;
        unsigned running = 0, dropped = 0, n;
        int r;

        r = leases_load(m->state_dir, &m->leases, &warning);
        if (warning) {
                log_warning("%s", warning);
                inventory_add_warning(m->inventory, warning);
        }
        if (r < 0)
                return log_error_errno(r, "Cannot use the state directory %s: %m", m->state_dir);
        inventory_set_leases(m->inventory, m->leases);

        n = leases_remove_temp_files(m->state_dir);
        if (n > 0)
                log_info("Removed %u temporary leases files an interrupted write left", n);

        /* a lease whose device is gone (a reboot, or a crash before the write to create) holds
         * nothing, unless Acquire stored a definition for it that is still there: that one comes
         * back with autostart (lease_verdict) */
        leases = leases_list(m->leases, NULL);
        for (guint i = 0; i < leases->len; i++) {
                Lease *l = leases->pdata[i];
                g_autofree char *def = NULL;

                switch (inventory_lease_verdict(m->inventory, l, &def)) {
                case LEASE_KEEP: break;
                case LEASE_UNDEFINE:
                        log_warning("The definition %s of the lease of %s (%s) is gone: the lease now lasts "
                                    "while the device runs",
                                    def, l->uuid, l->owner);
                        l->defined = false;
                        dropped++;
                        break;
                case LEASE_DROP:
                        log_info("Dropping the lease of %s (%s, slot %u): %s", l->uuid, l->owner, l->slot,
                                 l->defined ? "its device and its definition are gone"
                                            : "the device is gone");
                        (void)leases_remove(m->leases, l->uuid);
                        dropped++;
                        break;
                }
        }
        if (dropped > 0) {
                r = leases_save(m->leases);
                if (r < 0)
                        log_warning_errno(r, "Cannot write %s: %m", leases_path(m->leases));
                g_ptr_array_unref(leases);
                leases = leases_list(m->leases, NULL);
        }
        r = inventory_scan_users(m->inventory);
        if (r < 0)
                log_warning_errno(r, "Cannot look for the processes holding vGPUs: %m");
        idle = inventory_idle(m->inventory);
        for (guint i = 0; i < leases->len; i++)
                running += inventory_get_device(m->inventory, ((Lease *)leases->pdata[i])->uuid) != NULL;
        if (leases->len > 0)
                log_info("Leases: %u, %u of them running", leases->len, running);
        for (guint i = 0; i < idle->len; i++)
                log_info("Idle: %s runs with no lease, no definition and no process holding it (left as "
                         "it is)",
                         (const char *)idle->pdata[i]);
        return 0;
}

/* Every [Users] ScanIntervalSec while devices run: who holds them, and since when the others are idle;
 * the pass over /proc off the loop (a large host's takes tens of ms), shared with the Busy checks. */
static int on_users_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        int r;

        if (inventory_count(m->inventory, INV_OBJECT_DEVICE) > 0 && inventory_users_scans(m->inventory) == 0)
                inventory_scan_users_off_loop(m->inventory, ops_busy_worker(m->ops), NULL, NULL);
        r = sd_event_source_set_time(s, usec + m->config.users_scan_interval_sec * 1000000ULL);
        return r < 0 ? r : sd_event_source_set_enabled(s, SD_EVENT_ON);
}

static int start_users_timer(Manager *m)
{
        uint64_t now;
        int r;

        if (m->config.users_scan_interval_sec == 0)
                return 0;
        r = sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(m->event, &m->users_timer, CLOCK_MONOTONIC,
                                      now + m->config.users_scan_interval_sec * 1000000ULL, 1000000ULL,
                                      on_users_timer, m);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the users timer: %m");
        return 0;
}

/* The loop, and the signals it handles: SIGTERM and SIGINT end it, SIGCHLD reaps callouts. */
static int setup_event(Manager *m)
{
        sigset_t mask;
        int r;

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGCHLD); /* callout scripts are reaped by sd-event child sources */
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(negative_errno(), "Cannot block signals: %m");
        /* a callout script may close its stdin before reading it: EPIPE, not death */
        if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
                return log_error_errno(negative_errno(), "Cannot ignore SIGPIPE: %m");
        /* a NULL handler makes sd-event exit the loop cleanly on the signal */
        r = sd_event_add_signal(m->event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, NULL, NULL);
        if (r < 0)
                return log_error_errno(r, "Cannot watch signals: %m");
        (void)sd_event_set_watchdog(m->event, true);
        return 0;
}

/* The engine and what it uses: callouts, leases, the store watch. */
static int setup_engine(Manager *m)
{
        int r;

        r = ops_new(m->event, m->inventory, TAKE_PTR(m->intent_log), &m->ops);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the lifecycle engine: %m");
        r = callouts_new(m->event, m->scripts_dir, m->definitions_dir, &m->callouts);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the callouts: %m");
        callouts_set_timeout(m->callouts, m->callout_timeout_usec);
        ops_set_callouts(m->ops, m->callouts);
        ops_set_leases(m->ops, m->leases, bus_lease_notify, m);
        udev_watch_set_hook(m->udev, on_uevents, m);
        r = setup_sriov(m);
        if (r < 0)
                return log_error_errno(r, "Cannot set up SR-IOV enabling: %m");
        udev_watch_set_pci_hook(m->udev, on_pci_bound, m);
        r = sd_event_add_time_relative(m->event, &m->vf_recheck, CLOCK_MONOTONIC, VF_RECHECK_USEC, 0,
                                       on_vf_recheck, m);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the VF timer: %m");
        m->metrics = metrics_new(m->inventory);
        metrics_set_leases(m->metrics, m->leases);
        ops_set_metrics(m->ops, m->metrics);
        udev_watch_set_metrics(m->udev, m->metrics);
        r = store_watch_new(m->event, m->inventory, &m->store_watch);
        if (r < 0)
                return r;
        /* another tool's Undefine may take the definition a lease stands on */
        store_watch_set_hook(m->store_watch, on_definitions_reloaded, m);
        return 0;
}

/* The objects on the bus, the name, the private socket, READY. */
static int go_public(Manager *m)
{
        int r;

        /* the vtables and the observer come after the first scan: nobody can see the objects yet, so
         * announcing each one would only cost time */
        r = bus_setup(m);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot attach the bus to the event loop: %m");
        /* the first snapshot before the name: whoever finds vgpud finds it current */
        if (m->snapshot_path) {
                r = snapshot_writer_new(m->event, m->inventory, m->snapshot_path, &m->snapshot);
                if (r < 0)
                        return r;
        }

        /* own the name only once the inventory is complete: a client never sees a half-read host */
        r = sd_bus_request_name(m->bus, VGPUD_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Cannot own %s on the system bus: %m", VGPUD_BUS_NAME);
        if (m->private_socket) {
                r = bus_private_listen(m, m->private_socket);
                if (r < 0)
                        return r;
        }

        /* the first metrics file: the host as the first scan found it */
        if (m->metrics_file) {
                r = metrics_set_file(m->metrics, m->event, m->metrics_file);
                if (r < 0)
                        return r;
        }
        (void)sd_notify(false, "READY=1\nSTATUS=Serving org.vgpud1");
        log_info("Ready: %u mdev parents, %u mediated devices, %u definitions",
                 inventory_count(m->inventory, INV_OBJECT_GPU),
                 inventory_count(m->inventory, INV_OBJECT_DEVICE),
                 inventory_count(m->inventory, INV_OBJECT_DEFINITION));
        return 0;
}

/* The startup order, with the reason at each step; then the loop until SIGTERM. */
static int run(Manager *m)
{
        g_autofree char *own_defs = NULL;
        int r;

        r = setup_event(m);
        if (r < 0)
                return r;

        m->inventory = inventory_new(m->definitions_dir);
        inventory_add_backend(m->inventory, backend_mdev_new(NULL));
        inventory_add_backend(m->inventory, backend_nvidia_vf_new(NULL, m->state_dir));
        own_defs = g_build_filename(m->state_dir, "nvidia-vf-definitions", NULL);
        inventory_set_own_definitions_dir(m->inventory, own_defs);
        inventory_set_libvirt_run_dir(m->inventory, m->config.users_libvirt_run_dir);
        /* no write can be in progress now: what a crash interrupted goes */
        unsigned n = store_remove_temp_files(m->definitions_dir);
        if (n > 0)
                log_info("Removed %u temp file%s of interrupted writes in %s", n, n == 1 ? "" : "s",
                         m->definitions_dir);

        /* before anything reads the definitions or the leases: what the last run answered for and a
         * power cut kept only in the intent log goes into place first */
        r = replay_intent_log(m);
        if (r < 0)
                return r;

        r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the system bus: %m");
        (void)sd_bus_set_description(m->bus, "vgpud");

        /* listen before the first scan, so nothing that happens during it is missed (the events wait
         * in the socket until the loop runs) */
        r = udev_watch_new(m->event, m->inventory, m->udev_source, &m->udev);
        if (r < 0)
                return r;
        r = inventory_rescan(m->inventory);
        if (r < 0)
                return r;

        r = load_leases(m);
        if (r < 0)
                return r;

        r = setup_engine(m);
        if (r < 0)
                return r;
        r = start_users_timer(m);
        if (r < 0)
                return r;
        r = layout_watch_new(m->event, m->ops, m->inventory, m->leases, m->config.layout_file,
                             m->config.layout_config, m->config.layout_owner, m->config.layout_retry_sec,
                             bus_layout_changed, m, &m->layout);
        if (r < 0)
                return r;
        metrics_set_layout(m->metrics, m->layout, m->config.layout_config);
        r = go_public(m);
        if (r < 0)
                return r;
        ops_mixed_size_learn(m->ops); /* GPUs left in mixed-size mode by an earlier run */
        ops_autostart(m->ops, NULL);  /* every "auto" definition whose parent is here */
        /* after autostart: the layout plans once the engine is idle, with what autostart brought back */
        r = layout_watch_start(m->layout);
        if (r < 0)
                return r;
        /* VFs gone with a reboot come back; their definitions start when they appear */
        sriov_check(m->sriov, NULL);

        r = sd_event_loop(m->event);
        (void)sd_notify(false, "STOPPING=1");
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return 0;
}

int main(int argc, char **argv)
{
        Manager m = {};
        int r;

        /* Buffers of 128 KiB and more (a private connection's message in progress, a large reply) in
         * their own mappings, given back when freed: by default glibc raises this threshold to the size
         * of the first such buffer freed, and serves the next ones from its heap, which it keeps, so a
         * hostile client's dropped messages would stay resident ("The private socket's limits"). */
        (void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);

        r = parse_args(&m, argc, argv);
        if (r <= 0) {
                manager_done(&m);
                return r < 0 ? 2 : 0;
        }
        r = run(&m);
        manager_done(&m);
        return r < 0 ? 1 : 0;
}
