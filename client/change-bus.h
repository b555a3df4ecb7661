/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vgpuctl-full's change calls over sd-bus: the calls of change-call.h (vc_change_call() opens the
 * connection itself), and the building blocks the other commands use for calls that have no
 * description there (ApplyLayout, ReleaseIdle, Plan's placement options). */

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

#include "change-call.h"
#include "lifecycle-client.h"

/* A new call to org.vgpud1.Manager.method on /org/vgpud1. Prints the error on failure. */
int vc_change_new(sd_bus *bus, const char *method, sd_bus_message **ret);

/* The sd-bus message of call (printed on failure). */
int vc_change_message(sd_bus *bus, const VcChangeCall *call, sd_bus_message **ret);

/* Append each entry as a {sv} inside an open a{sv}. */
int vc_change_append_entries(sd_bus_message *m, const VcCallEntry *entries, size_t n);

/* vc_change_call_answer() on a connection the caller holds. */
int vc_change_call_on(sd_bus *bus, const VcChangeCall *call, char ***ret);
