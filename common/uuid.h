/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* UUIDs as mdevctl 1.2.0 accepts them on its command line, and the canonical form it stores and prints. */

#include <stdbool.h>
#include <stdint.h>

#define VGPU_UUID_STRING_MAX 37 /* 36 characters and the NUL */

/* Parse a UUID in any form mdevctl 1.2.0 (Rust uuid crate) accepts:
 *   aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee           hyphenated, any case
 *   aaaaaaaabbbbccccddddeeeeeeeeeeee               simple (32 hex digits), any case
 *   urn:uuid:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee  only lower-case "urn:uuid:", hyphenated only
 *   {aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee}         braced, hyphenated only
 * and write the canonical lower-case hyphenated form to ret. No surrounding white space. Returns 0 or
 * -EINVAL (ret is then left untouched). */
int vgpu_uuid_parse(const char *s, char ret[static VGPU_UUID_STRING_MAX]);

/* True if s is exactly the canonical form: 36 characters, lower-case hex, hyphens at 8, 13, 18, 23. */
bool vgpu_uuid_is_canonical(const char *s);

/* A random (version 4, RFC 4122 variant) UUID in canonical form. Returns 0 or a negative errno. */
int vgpu_uuid_generate(char ret[static VGPU_UUID_STRING_MAX]);

/* The namespace of vgpud's name-based UUIDs (a random UUID made once for vgpud; never change it: the
 * UUIDs handed out depend on it). */
#define VGPU_UUID_NAMESPACE "6e2bd084-7f2e-4b10-8b10-d69b5f000240"

/* The UUID of a VM's vGPU number `slot`: a name-based version 5 UUID (RFC 9562, SHA-1) in
 * VGPU_UUID_NAMESPACE of the name "<vm uuid>/<slot>", where <vm uuid> is vm_uuid in canonical form (so
 * every form vgpu_uuid_parse() accepts gives the same result) and <slot> is decimal. The same VM and slot
 * always give the same UUID, on every host:
 *     python3 -c 'import uuid; print(uuid.uuid5(uuid.UUID(NAMESPACE), "<vm uuid>/<slot>"))'
 * Returns 0, or -EINVAL (ret untouched) when vm_uuid is not a UUID. */
int vgpu_uuid_derive(const char *vm_uuid, uint32_t slot, char ret[static VGPU_UUID_STRING_MAX]);
