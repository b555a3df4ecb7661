/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The front's vc_change_call() (change-call.h): over vgpud's private socket with the front's own
 * minimal D-Bus (wire.h), on a connection made before the command line is parsed, so that a front that
 * cannot reach vgpud hands the whole command to vgpuctl-full before it has printed or read anything
 * (a --jsonfile may be a pipe, which can be read once). */

/* As root, connect and authenticate to vgpud's private socket (VGPUD_SOCKET or /run/vgpud/private,
 * as vgpuctl-full chooses it: vc_vgpud_path()). Returns 0 when the front can make the change itself,
 * a negative errno (nothing printed) when the command must go to vgpuctl-full: not root (the system
 * bus, where vgpud asks polkit), no socket, vgpud not answering. Called at most once. */
int vc_front_wire_open(void);
