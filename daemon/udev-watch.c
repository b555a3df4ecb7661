/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libudev monitor as an sd-event io source. */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <libudev.h>
#include <glib.h>

#include "fault.h"
#include "macro.h"
#include "log.h"
#include "metrics.h"
#include "uuid.h"
#include "udev-watch.h"

struct UdevWatch {
        Inventory *inv;
        struct udev *udev;
        struct udev_monitor *monitor;
        sd_event_source *io;
        sd_event_source *defer;
        sd_event_source *typeless_retry; /* re-reads devices that appeared before their mdev_type link */
        GHashTable *parents;             /* names to re-read at the end of this iteration */
        GHashTable *devices;             /* uuids */
        GHashTable *registered;          /* parents that appeared or registered */
        GHashTable *bound;               /* PCI devices added or bound to a driver */
        bool lost;                       /* the socket overflowed: uevents were dropped */
        UdevWatchHook hook;
        void *hook_userdata;
        struct Metrics *metrics;
        UdevWatchPciHook pci_hook;
        void *pci_hook_userdata;
};

static char **keys_of(GHashTable *set)
{
        return (char **)g_hash_table_get_keys_as_array(set, NULL);
}

static int on_typeless_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        UdevWatch *w = userdata;
        g_autofree char **uuids = inventory_typeless(w->inv);

        w->typeless_retry = sd_event_source_unref(w->typeless_retry);
        for (char **u = uuids; u && *u; u++)
                g_hash_table_add(w->devices, g_strdup(*u));
        if (uuids)
                return sd_event_source_set_enabled(w->defer, SD_EVENT_ONESHOT);
        return 0;
}

/* Devices that appeared without their mdev_type link yet are read again a little later. */
static void schedule_typeless_retry(UdevWatch *w)
{
        g_autofree char **uuids = inventory_typeless(w->inv);
        sd_event *e;

        if (!uuids || w->typeless_retry)
                return;
        e = sd_event_source_get_event(w->defer);
        if (sd_event_add_time_relative(e, &w->typeless_retry, CLOCK_MONOTONIC, INVENTORY_TYPELESS_RETRY_USEC,
                                       0, on_typeless_retry, w) < 0)
                log_warning("Cannot schedule another look at devices without a type");
}

/* Uevents were dropped (ENOBUFS): what they said is unknown, so all of sysfs is read again, as at
 * startup. The parents that are new since are announced as registered (their auto definitions start,
 * as their lost "add" would have made them), every device is named to the hook as re-read (the
 * leases are reconciled with what runs now), and the PCI hook hears that any device may have been
 * bound (an NVIDIA PF whose driver came back needs its VFs enabled again). */
static void rescan_after_loss(UdevWatch *w)
{
        g_autoptr(GPtrArray) before = inventory_list_parents(w->inv);
        g_autoptr(GHashTable) known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GPtrArray) parents = NULL, devices = NULL;
        int r;

        log_warning("Uevents were lost (the socket's buffer overflowed): reading sysfs again");
        for (guint i = 0; i < before->len; i++)
                g_hash_table_add(known, g_strdup(((InvParent *)before->pdata[i])->name));
        r = inventory_rescan(w->inv);
        if (r < 0)
                log_warning_errno(r, "Reading sysfs again failed: %m");
        parents = inventory_list_parents(w->inv);
        for (guint i = 0; i < parents->len; i++) {
                const char *name = ((InvParent *)parents->pdata[i])->name;
                if (!g_hash_table_contains(known, name))
                        g_hash_table_add(w->registered, g_strdup(name));
        }
        devices = inventory_list_devices(w->inv);
        for (guint i = 0; i < devices->len; i++)
                g_hash_table_add(w->devices, g_strdup(((InvDevice *)devices->pdata[i])->uuid));
}

static int on_defer(sd_event_source *s, void *userdata)
{
        UdevWatch *w = userdata;
        g_autofree char **parents = NULL, **devices = NULL, **registered = NULL, **bound = NULL;
        bool rescanned = w->lost;

        if (w->lost) { /* the rescan reads every parent and device this batch named, and more */
                w->lost = false;
                g_hash_table_remove_all(w->parents);
                g_hash_table_remove_all(w->devices);
                rescan_after_loss(w);
        }
        parents = keys_of(w->parents);
        devices = keys_of(w->devices);
        registered = keys_of(w->registered);
        bound = keys_of(w->bound);
        if (!rescanned)
                inventory_update(w->inv, parents, devices);
        if (w->hook)
                w->hook(w->hook_userdata, parents, devices, registered);
        if (w->pci_hook && (rescanned || bound[0])) /* a lost "bind" is as unknown as a lost "add" */
                w->pci_hook(w->pci_hook_userdata, rescanned ? NULL : bound);
        g_hash_table_remove_all(w->bound);
        g_hash_table_remove_all(w->parents);
        g_hash_table_remove_all(w->devices);
        g_hash_table_remove_all(w->registered);
        schedule_typeless_retry(w);
        return sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

static void handle_device(UdevWatch *w, struct udev_device *dev)
{
        const char *subsystem = udev_device_get_subsystem(dev);
        const char *sysname = udev_device_get_sysname(dev);
        const char *action = udev_device_get_action(dev);
        const char *state = udev_device_get_property_value(dev, "MDEV_STATE");
        g_autofree char *name = NULL;
        BackendEvent e;

        if (!sysname)
                return;
        if (w->metrics)
                metrics_uevent(w->metrics, subsystem);
        log_debug("uevent %s %s %s%s%s", action ? action : "?", subsystem ? subsystem : "?", sysname,
                  state ? " MDEV_STATE=" : "", state ? state : "");

        if (subsystem && g_str_equal(subsystem, "pci") && action &&
            (g_str_equal(action, "add") || g_str_equal(action, "bind")))
                g_hash_table_add(w->bound, g_strdup(sysname));
        e = inventory_classify_uevent(w->inv, subsystem, sysname, &name);
        if (e == BACKEND_EVENT_DEVICE) {
                g_hash_table_add(w->devices, g_steal_pointer(&name));
                return;
        }
        if (subsystem && g_str_equal(subsystem, "mdev"))
                return;
        /* A parent can be any device: re-read it when it is one we know, when it says it (un)registered
         * with the mdev core, or when a backend claims it (under /sys/class/mdev_bus, a VF with nvidia/). */
        if (state || inventory_has_parent(w->inv, sysname) || e == BACKEND_EVENT_PARENT) {
                g_hash_table_add(w->parents, g_strdup(sysname));
                if ((state && g_str_equal(state, "registered")) || (action && g_str_equal(action, "add")))
                        g_hash_table_add(w->registered, g_strdup(sysname));
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        UdevWatch *w = userdata;
        struct udev_device *dev;

        while ((dev = udev_monitor_receive_device(w->monitor))) {
                if (fault_errno("uevent-receive") == -ENOBUFS) /* tests: as if the kernel dropped it */
                        w->lost = true;
                else
                        handle_device(w, dev);
                udev_device_unref(dev);
        }
        /* libudev answers NULL with errno ENOBUFS once when the kernel dropped events for a full
         * buffer (a burst larger than even the 8 MiB asked for below) */
        if (errno == ENOBUFS)
                w->lost = true;
        if (w->lost ||
            g_hash_table_size(w->parents) + g_hash_table_size(w->devices) + g_hash_table_size(w->bound) > 0)
                return sd_event_source_set_enabled(w->defer, SD_EVENT_ONESHOT);
        return 0;
}

void udev_watch_free(UdevWatch *w)
{
        if (!w)
                return;
        sd_event_source_disable_unref(w->io);
        sd_event_source_disable_unref(w->defer);
        sd_event_source_disable_unref(w->typeless_retry);
        if (w->monitor)
                udev_monitor_unref(w->monitor);
        if (w->udev)
                udev_unref(w->udev);
        g_hash_table_unref(w->parents);
        g_hash_table_unref(w->devices);
        g_hash_table_unref(w->registered);
        g_hash_table_unref(w->bound);
        g_free(w);
}

void udev_watch_set_metrics(UdevWatch *w, struct Metrics *metrics)
{
        w->metrics = metrics;
}

void udev_watch_set_pci_hook(UdevWatch *w, UdevWatchPciHook hook, void *userdata)
{
        w->pci_hook = hook;
        w->pci_hook_userdata = userdata;
}

void udev_watch_set_hook(UdevWatch *w, UdevWatchHook hook, void *userdata)
{
        w->hook = hook;
        w->hook_userdata = userdata;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(UdevWatch, udev_watch_free)

int udev_watch_new(sd_event *event, Inventory *inv, const char *source, UdevWatch **ret)
{
        g_autoptr(UdevWatch) w = g_new0(UdevWatch, 1);
        int r;

        w->inv = inv;
        w->parents = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        w->devices = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        w->registered = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        w->bound = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

        if (!source)
                source = access("/run/udev/control", F_OK) == 0 ? "udev" : "kernel";
        w->udev = udev_new();
        if (!w->udev)
                return log_error_errno(-ENOMEM, "Cannot create a udev context: %m");
        w->monitor = udev_monitor_new_from_netlink(w->udev, source);
        if (!w->monitor)
                return log_error_errno(negative_errno(), "Cannot listen to %s uevents: %m", source);
        /* a large buffer: creating hundreds of vGPUs at once makes bursts of events */
        (void)udev_monitor_set_receive_buffer_size(w->monitor, 8 * 1024 * 1024);
        r = udev_monitor_enable_receiving(w->monitor);
        if (r < 0)
                return log_error_errno(r, "Cannot enable the udev monitor: %m");

        r = sd_event_add_io(event, &w->io, udev_monitor_get_fd(w->monitor), EPOLLIN, on_io, w);
        if (r < 0)
                return log_error_errno(r, "Cannot watch the udev monitor: %m");
        (void)sd_event_source_set_description(w->io, "udev-monitor");
        r = sd_event_add_defer(event, &w->defer, on_defer, w);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(w->defer, "udev-coalesce");
        r = sd_event_source_set_enabled(w->defer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        log_debug("Listening to %s uevents", source);
        *ret = g_steal_pointer(&w);
        return 0;
}
