/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Asking polkit, asynchronously, whether the sender of a method call may do an action. The main loop
 * never waits for polkit. Callers with uid 0 are allowed without asking; when polkit cannot be asked
 * (not installed, not running, an error) the answer is "denied". */

#include <systemd/sd-bus.h>

#define VGPUD_ACTION_DEVICE_START      "org.vgpud1.device.start"
#define VGPUD_ACTION_DEVICE_STOP       "org.vgpud1.device.stop"
#define VGPUD_ACTION_DEFINITION_CHANGE "org.vgpud1.definition.change"
#define VGPUD_ACTION_VGPU_ACQUIRE      "org.vgpud1.vgpu.acquire"
#define VGPUD_ACTION_LAYOUT_APPLY      "org.vgpud1.layout.apply"

/* allowed: 1 allowed, 0 denied, a negative errno when polkit could not be asked (treat as denied). */
typedef void (*PolkitCallback)(sd_bus_message *call, int allowed, void *userdata);

/* The details polkit passes to the rules (action.lookup(key)): a NULL-terminated list of key, value pairs,
 * or NULL. Called only when polkit is asked (not for uid 0); the list is freed after use. */
typedef char **(*PolkitDetails)(void *userdata);

/* Returns 1 when the sender is allowed right away (uid 0), 0 when a polkit query is in flight (cb then
 * runs exactly once, later, from the event loop), or a negative errno (cb will not run): -ENOBUFS when
 * the sender has 16 checks in flight already. The call message is kept referenced until cb has run.
 * details (may be NULL) is called with userdata when polkit is asked. */
int polkit_check(sd_bus_message *call, const char *action_id, PolkitDetails details, PolkitCallback cb,
                 void *userdata);
