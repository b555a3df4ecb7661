/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The front's vc_change_call() (change-call.h): over vgpud's private socket with the front's own
 * minimal D-Bus (wire.h). The connection, the authentication, BEGIN and the call are sent in a row once
 * the call is built (vgpud reads them in one wake-up, its OK comes with the reply); a front that cannot
 * reach vgpud, or whose authentication vgpud refuses, hands the whole command to vgpuctl-full, before it
 * has printed anything. A command that reads input that can be read once (a --jsonfile may be a pipe)
 * connects and waits for the OK before it reads (vc_change_input_begins()), so that the hand-over still
 * comes before the input is read. */

/* As root, find vgpud's private socket (VGPUD_SOCKET or /run/vgpud/private, as vgpuctl-full chooses it:
 * vc_vgpud_path()). Returns 0 when the front can make the change itself, a negative errno (nothing
 * printed) when the command must go to vgpuctl-full: not root (the system bus, where vgpud asks
 * polkit), no socket. Called at most once. */
int vc_front_wire_open(void);

/* front.c: replace the front by vgpuctl-full with the same command line (returns only on failure: the
 * error printed, a negative errno). */
int vc_front_exec_full(void);
