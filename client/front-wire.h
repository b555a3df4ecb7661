/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The front's vc_change_call() (change-call.h): over vgpud's private socket with the front's own
 * minimal D-Bus (wire.h), on a connection made before the command line is parsed, so that a front that
 * cannot reach vgpud hands the whole command to vgpuctl-full before it has printed or read anything
 * (a --jsonfile may be a pipe, which can be read once). */

/* As root, connect to vgpud's private socket (VGPUD_SOCKET or /run/vgpud/private, as vgpuctl-full
 * chooses it: vc_vgpud_path()) and send the authentication, whose answer is read before the command
 * reads input (vc_change_input_begins()) or with the call's. Returns 0 when the front can make the
 * change itself, a negative errno (nothing printed) when the command must go to vgpuctl-full: not root
 * (the system bus, where vgpud asks polkit), no socket, vgpud not listening. A vgpud that refuses the
 * authentication or hangs up before its OK sends the command to vgpuctl-full too, from
 * vc_change_input_begins() or vc_change_call_answer(), before anything is printed or read. Called at
 * most once. */
int vc_front_wire_open(void);

/* front.c: replace the front by vgpuctl-full with the same command line (returns only on failure: the
 * error printed, a negative errno). */
int vc_front_exec_full(void);
