/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* UUID parsing and formatting, accepting exactly the forms mdevctl 1.2.0 accepts; random and name-based
 * (version 5) UUIDs. Plain C and GLib, no sd-id128: vgpuctl's read path links no libsystemd. */

#include "uuid.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sys/random.h>

#include <glib.h>

/* 16 bytes in network order (RFC 9562). */
typedef struct Uuid {
        uint8_t bytes[16];
} Uuid;

static bool is_hex(char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_hyphen_pos(size_t i)
{
        return i == 8 || i == 13 || i == 18 || i == 23;
}

/* s[0..len) is 32 hex digits (hyphenated == false) or the 36-character hyphenated form. */
static bool is_uuid_body(const char *s, size_t len, bool hyphenated)
{
        if (len != (hyphenated ? 36u : 32u))
                return false;
        for (size_t i = 0; i < len; i++) {
                if (hyphenated && is_hyphen_pos(i)) {
                        if (s[i] != '-')
                                return false;
                } else if (!is_hex(s[i]))
                        return false;
        }
        return true;
}

static void format_uuid(const Uuid *id, char ret[static VGPU_UUID_STRING_MAX])
{
        static const char hex[] = "0123456789abcdef";
        char *p = ret;

        for (size_t i = 0; i < 16; i++) {
                if (i == 4 || i == 6 || i == 8 || i == 10)
                        *p++ = '-';
                *p++ = hex[id->bytes[i] >> 4];
                *p++ = hex[id->bytes[i] & 15];
        }
        *p = '\0';
}

/* The 32 hex digits of s (hyphens skipped; the shape is checked by the caller). */
static void parse_digits(const char *s, Uuid *ret)
{
        size_t n = 0;

        for (; *s && n < 32; s++)
                if (*s != '-') {
                        ret->bytes[n / 2] = (uint8_t)((ret->bytes[n / 2] << 4) | g_ascii_xdigit_value(*s));
                        n++;
                }
}

int vgpu_uuid_parse(const char *s, char ret[static VGPU_UUID_STRING_MAX])
{
        char body[VGPU_UUID_STRING_MAX];
        Uuid id = {};
        size_t len;

        if (!s)
                return -EINVAL;
        len = strlen(s);

        if (len == 45 && strncmp(s, "urn:uuid:", 9) == 0 && is_uuid_body(s + 9, 36, true))
                memcpy(body, s + 9, 36);
        else if (len == 38 && s[0] == '{' && s[37] == '}' && is_uuid_body(s + 1, 36, true))
                memcpy(body, s + 1, 36);
        else if (is_uuid_body(s, len, true))
                memcpy(body, s, 36);
        else if (is_uuid_body(s, len, false))
                memcpy(body, s, 32);
        else
                return -EINVAL;
        body[len == 32 ? 32 : 36] = '\0';

        parse_digits(body, &id);
        format_uuid(&id, ret);
        return 0;
}

bool vgpu_uuid_is_canonical(const char *s)
{
        if (!s || strlen(s) != 36)
                return false;
        for (size_t i = 0; i < 36; i++) {
                if (is_hyphen_pos(i)) {
                        if (s[i] != '-')
                                return false;
                } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        }
        return true;
}

int vgpu_uuid_generate(char ret[static VGPU_UUID_STRING_MAX])
{
        Uuid id;
        size_t have = 0;

        while (have < sizeof(id.bytes)) {
                ssize_t n = getrandom(id.bytes + have, sizeof(id.bytes) - have, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                have += (size_t)n;
        }
        id.bytes[6] = (id.bytes[6] & 0x0f) | 0x40; /* version 4 */
        id.bytes[8] = (id.bytes[8] & 0x3f) | 0x80; /* RFC variant */
        format_uuid(&id, ret);
        return 0;
}

int vgpu_uuid_derive(const char *vm_uuid, uint32_t slot, char ret[static VGPU_UUID_STRING_MAX])
{
        g_autoptr(GChecksum) sha1 = NULL;
        char canonical[VGPU_UUID_STRING_MAX], name[VGPU_UUID_STRING_MAX + 16];
        uint8_t digest[20];
        gsize digest_len = sizeof(digest);
        Uuid ns = {}, id;
        int r;

        r = vgpu_uuid_parse(vm_uuid, canonical);
        if (r < 0)
                return r;
        parse_digits(VGPU_UUID_NAMESPACE, &ns);
        snprintf(name, sizeof(name), "%s/%" PRIu32, canonical, slot);

        /* RFC 9562 5.5: SHA-1 over the namespace's 16 bytes (network order)
         * and the name; the first 16 bytes of the hash with the version and variant set. */
        sha1 = g_checksum_new(G_CHECKSUM_SHA1);
        g_checksum_update(sha1, ns.bytes, sizeof(ns.bytes));
        g_checksum_update(sha1, (const guchar *)name, strlen(name));
        g_checksum_get_digest(sha1, digest, &digest_len);
        if (digest_len != sizeof(digest))
                return -EIO;

        memcpy(id.bytes, digest, sizeof(id.bytes));
        id.bytes[6] = (id.bytes[6] & 0x0f) | 0x50; /* version 5 */
        id.bytes[8] = (id.bytes[8] & 0x3f) | 0x80; /* RFC variant */
        format_uuid(&id, ret);
        return 0;
}
