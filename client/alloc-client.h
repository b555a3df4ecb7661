/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The allocation calls of vgpuctl (acquire, release, plan, status and the hooks): org.vgpud1.Manager's
 * Acquire, Release, ListLeases and ScanUsers and the Idle property, with their options built
 * from plain C structs. Changes go over the system bus (vc_bus_open), reads may use the private socket. */

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <systemd/sd-bus.h>

#include "alloc-call.h"
#include "cli.h"

typedef struct VcLease {
        char *uuid;
        char *owner;
        uint32_t slot;
        char *parent;
        char *type;
        uint64_t acquired_usec;
        bool persist; /* Acquire stored a definition */
        bool running;
} VcLease;

void vc_lease_free(VcLease *l);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VcLease, vc_lease_free)

/* Append the placement options (inside an open a{sv}), as vc_placement_add() describes them. */
int vc_placement_append(sd_bus_message *m, const VcPlacement *p);

/* Manager.Acquire as vc_acquire_call_init() describes it. On failure returns a negative errno and, when
 * error is not NULL, leaves the daemon's error in it unprinted; with error NULL the failure is printed as
 * "Error: <message>". */
int vc_acquire(sd_bus *bus, const VcAcquireRequest *req, sd_bus_error *error, VcAcquired *ret);

/* Manager.Release as vc_release_call_init() describes it; *ret_released: the UUIDs (NULL-terminated).
 * Errors as vc_acquire(). */
int vc_release(sd_bus *bus, const char *what, const uint32_t *slot, bool force, const uint32_t *timeout_ms,
               sd_bus_error *error, char ***ret_released);

/* Manager.ListLeases: VcLease*, sorted by owner then slot (as the daemon sends them). Errors as
 * vc_acquire(). */
int vc_list_leases(sd_bus *bus, sd_bus_error *error, GPtrArray **ret);

/* The Manager's Idle property (NULL-terminated); from a vgpud without it, Orphans. Errors as
 * vc_acquire(). */
int vc_get_idle(sd_bus *bus, sd_bus_error *error, char ***ret);

/* Manager.ScanUsers, so that what follows shows current users; a vgpud without it is fine. Prints a
 * failure. */
int vc_scan_users(sd_bus *bus);

/* Print the daemon's error (or r) as vc_bus_log_error() does and return r (negative). */
int vc_alloc_log_error(const sd_bus_error *error, int r, const char *what);
