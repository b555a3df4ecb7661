/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The attributes of a vGPU a hypervisor hook asks for (see hook-request.h). */

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "hook-request.h"
#include "uuid.h"

void vc_vgpu_request_free(VcVgpuRequest *r)
{
        if (!r)
                return;
        g_free(r->profile);
        g_free(r->uuid);
        g_free(r->parent);
        g_free(r->board);
        g_free(r->policy);
        g_free(r);
}

/* A decimal number without sign, at most max. */
static bool parse_number(const char *s, uint64_t max, uint64_t *ret)
{
        uint64_t v = 0;

        if (!*s)
                return false;
        for (; *s; s++) {
                if (!g_ascii_isdigit(*s))
                        return false;
                v = v * 10 + (uint64_t)(*s - '0');
                if (v > max)
                        return false;
        }
        *ret = v;
        return true;
}

static int fail(char **ret_error, const char *format, ...) __attribute__((format(printf, 2, 3)));
static int fail(char **ret_error, const char *format, ...)
{
        va_list ap;

        va_start(ap, format);
        *ret_error = g_strdup_vprintf(format, ap);
        va_end(ap);
        return -EINVAL;
}

static int set_string(char **field, const char *key, const char *value, char **ret_error)
{
        if (!*value)
                return fail(ret_error, "%s is empty", key);
        g_free(*field);
        *field = g_strdup(value);
        return 0;
}

int vc_vgpu_request_set(VcVgpuRequest *r, const char *key, const char *value, bool allow_uuid,
                        char **ret_error)
{
        uint64_t n;

        if (strcmp(key, "profile") == 0)
                return set_string(&r->profile, key, value, ret_error);
        if (strcmp(key, "parent") == 0)
                return set_string(&r->parent, key, value, ret_error);
        if (strcmp(key, "board") == 0)
                return set_string(&r->board, key, value, ret_error);
        if (strcmp(key, "slot") == 0) {
                if (!parse_number(value, UINT32_MAX, &n))
                        return fail(ret_error, "slot '%s' is not a number from 0 to %u", value, UINT32_MAX);
                r->has_slot = true;
                r->slot = (uint32_t)n;
                return 0;
        }
        if (strcmp(key, "numa_node") == 0) {
                if (!parse_number(value, INT32_MAX, &n))
                        return fail(ret_error, "numa_node '%s' is not a NUMA node number", value);
                r->has_numa_node = true;
                r->numa_node = (int32_t)n;
                return 0;
        }
        if (strcmp(key, "policy") == 0) {
                if (strcmp(value, "pack") != 0 && strcmp(value, "spread") != 0)
                        return fail(ret_error, "policy '%s' is neither pack nor spread", value);
                return set_string(&r->policy, key, value, ret_error);
        }
        if (strcmp(key, "persist") == 0) {
                if (g_ascii_strcasecmp(value, "yes") == 0 || g_ascii_strcasecmp(value, "true") == 0 ||
                    strcmp(value, "1") == 0)
                        r->persist = true;
                else if (g_ascii_strcasecmp(value, "no") == 0 || g_ascii_strcasecmp(value, "false") == 0 ||
                         strcmp(value, "0") == 0)
                        r->persist = false;
                else
                        return fail(ret_error, "persist '%s' is neither yes nor no", value);
                return 0;
        }
        if (allow_uuid && strcmp(key, "uuid") == 0) {
                char uuid[VGPU_UUID_STRING_MAX];
                if (vgpu_uuid_parse(value, uuid) < 0)
                        return fail(ret_error, "uuid '%s' is not a UUID", value);
                g_free(r->uuid);
                r->uuid = g_strdup(uuid);
                return 0;
        }
        return fail(ret_error,
                    "unknown attribute '%s' (known: profile, slot,%s parent, board, numa_node, "
                    "policy, persist)",
                    key, allow_uuid ? " uuid," : "");
}

static char *position(const char *what, const unsigned *lines, unsigned index)
{
        if (lines)
                return g_strdup_printf("%s %u", what, lines[index]);
        return g_strdup_printf("%s %u", what, index + 1);
}

int vc_vgpu_requests_finish(GPtrArray *requests, const char *what, const unsigned *lines, char **ret_error)
{
        for (guint i = 0; i < requests->len; i++) {
                VcVgpuRequest *r = requests->pdata[i];
                g_autofree char *pos = position(what, lines, i);

                r->index = i;
                if (!r->profile)
                        return fail(ret_error, "%s: no profile (e.g. profile=A16-2Q)", pos);
                if (!r->has_slot)
                        r->slot = i;
        }
        for (guint i = 0; i < requests->len; i++) {
                const VcVgpuRequest *a = requests->pdata[i];
                for (guint j = 0; j < i; j++) {
                        const VcVgpuRequest *b = requests->pdata[j];
                        g_autofree char *pa = position(what, lines, i), *pb = position(what, lines, j);

                        if (a->slot == b->slot)
                                return fail(ret_error, "%s and %s both ask for slot %u", pb, pa, a->slot);
                        if (a->uuid && b->uuid && strcmp(a->uuid, b->uuid) == 0)
                                return fail(ret_error, "%s and %s both ask for UUID %s", pb, pa, a->uuid);
                }
        }
        return 0;
}
