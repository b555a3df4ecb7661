/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Just enough of the D-Bus wire protocol for the front to make one change call (change-call.h) on
 * vgpud's private socket: a peer-to-peer connection (no broker, no Hello), SASL EXTERNAL, one
 * METHOD_CALL of the signatures the change calls have (s..., a{sv} with s, b, i, u, as and (ssi)
 * values), and its METHOD_RETURN or ERROR read back (the error's name and message, the strings of the
 * answers: so, soss, as).
 * Written by hand because the front is a static executable (no dynamic loader, no library mapped)
 * and there is no static sd-bus (Debian ships no libsystemd.a), while mapping libsystemd costs a
 * start ~0.6 ms (HACKING.md, "Benchmarks and profiling"). Anything else the front does not speak:
 * it leaves it to vgpuctl-full, which uses sd-bus.
 *
 * Messages are in the host's byte order, as vgpud's sd-bus answers a peer that wrote in it; a reply
 * in the other order, or malformed in any way the parser checks (lengths, padding, field types,
 * strings without their NUL or with one inside, invalid UTF-8), is refused with -EBADMSG. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "change-call.h"

/* The largest message either side may send (the D-Bus specification's limit). */
#define VC_WIRE_MAX_MESSAGE (128U * 1024U * 1024U)
/* The serial of the one call a connection makes. */
#define VC_WIRE_SERIAL 1U

typedef struct VcWireReply {
        bool is_error; /* an ERROR, else a METHOD_RETURN */
        uint32_t reply_serial;
        char *error_name;    /* ERROR: its name */
        char *error_message; /* ERROR: its first argument when that is a string, else NULL */
        char *signature;     /* of the body ("" when it has none) */
        char *first_string;  /* the body's first argument when it is a string (Define's UUID), else NULL */
        char **strings; /* a body of only s and o: every argument; as: its elements; else just first_string
                         * (NULL-terminated, maybe empty) */
} VcWireReply;

void vc_wire_reply_clear(VcWireReply *reply);

/* Append to out the METHOD_CALL of call to org.vgpud1.Manager on /org/vgpud1 (destination org.vgpud1),
 * serial VC_WIRE_SERIAL. -EINVAL when a string is not valid UTF-8 (as sd-bus refuses it), -E2BIG when
 * the message would pass VC_WIRE_MAX_MESSAGE. */
int vc_wire_build_call(const VcChangeCall *call, GByteArray *out);

/* The size of the whole message that starts at buf, from its first 16 bytes (len >= 16). -EBADMSG for
 * a fixed header this parser refuses (byte order, version, type, sizes). */
int vc_wire_message_size(const uint8_t *buf, size_t len, size_t *ret_size);

/* Parse the whole message buf[0..len). Returns 1 and fills *ret for a METHOD_RETURN or ERROR, 0 for a
 * valid message of another type (a signal: the caller skips it), -EBADMSG when it is malformed. */
int vc_wire_parse_reply(const uint8_t *buf, size_t len, VcWireReply *ret);

/* Connect to the socket at path; with authenticate, also send the authentication (SASL EXTERNAL as
 * this process's effective uid) and wait up to 10 s for the server's OK; without, vc_wire_call() sends
 * it with the call. Returns 0 and the descriptor (close-on-exec), or a negative errno (-EACCES when the
 * server rejects us, -EBADMSG when its answer is not SASL). */
int vc_wire_connect(const char *path, bool authenticate, int *ret_fd);

/* The one call of a connection made by vc_wire_connect(): send BEGIN and message (built by
 * vc_wire_build_call()) in one write (authenticated: the connection was made with authenticate; else
 * the authentication, BEGIN and the call go in that one write, as sd-bus's own clients pipeline them,
 * and the OK is read first), and wait up to timeout_usec for the reply to it, skipping any other
 * message. Returns 0 and the reply; -ENOTCONN when the server did not authenticate us (refused, hung
 * up or silent for 10 s before its OK: the call was not made); -ETIMEDOUT; -ECONNRESET when vgpud hung
 * up (EOF or EPIPE); -EBADMSG for a malformed message; another negative errno of the socket. */
int vc_wire_call(int fd, bool authenticated, const GByteArray *message, uint64_t timeout_usec,
                 VcWireReply *ret);
