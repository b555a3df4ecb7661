/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing of mdev types: NVIDIA profile names ("GRID T4-2Q", "NVIDIA A100-1-5C"), NVIDIA descriptions
 * ("num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=8"), Intel
 * GVT-g descriptions ("low_gm_size: 128MB ...") and the kernel samples' descriptions. */

#include <inttypes.h>
#include <string.h>

#include "vgpu-type.h"

/* MIG partitions a GPU into at most 7 (A100/H100) or 8 slices; anything larger in the slot of the
 * slice count is part of a board name instead. */
#define MIG_SLICES_MAX 8

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* A decimal number made of exactly the len bytes at s; no sign, no space, no overflow. */
static bool parse_u64_n(const char *s, size_t len, uint64_t *ret)
{
        uint64_t v = 0;

        if (!s || len == 0)
                return false;
        for (size_t i = 0; i < len; i++) {
                if (!is_digit(s[i]))
                        return false;
                if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
                        return false;
                v = v * 10 + (uint64_t)(s[i] - '0');
        }
        *ret = v;
        return true;
}

static bool parse_u32_n(const char *s, size_t len, uint32_t *ret)
{
        uint64_t v;

        if (!parse_u64_n(s, len, &v) || v > UINT32_MAX)
                return false;
        *ret = (uint32_t)v;
        return true;
}

static bool parse_u32(const char *s, uint32_t *ret)
{
        return s && parse_u32_n(s, strlen(s), ret);
}

/* Number of leading decimal digits of s. */
static size_t digits_len(const char *s)
{
        size_t n = 0;

        while (is_digit(s[n]))
                n++;
        return n;
}

/* "<n><unit>" with unit M/MB/MiB (factor 1) or, when allow_gib, G/GB/GiB (factor 1024), case
 * insensitive; the result in MiB. A bare number is refused: its unit would be a guess. */
static bool parse_size_mib(const char *s, bool allow_gib, uint64_t *ret)
{
        uint64_t v, factor;
        size_t n;

        if (!s)
                return false;
        n = digits_len(s);
        if (!parse_u64_n(s, n, &v))
                return false;
        if (g_ascii_strcasecmp(s + n, "M") == 0 || g_ascii_strcasecmp(s + n, "MB") == 0 ||
            g_ascii_strcasecmp(s + n, "MiB") == 0)
                factor = 1;
        else if (allow_gib && (g_ascii_strcasecmp(s + n, "G") == 0 || g_ascii_strcasecmp(s + n, "GB") == 0 ||
                               g_ascii_strcasecmp(s + n, "GiB") == 0))
                factor = 1024;
        else
                return false;
        if (v > UINT64_MAX / factor)
                return false;
        *ret = v * factor;
        return true;
}

static bool parse_size_mib_u32(const char *s, uint32_t *ret)
{
        uint64_t v;

        if (!parse_size_mib(s, false, &v) || v > UINT32_MAX)
                return false;
        *ret = (uint32_t)v;
        return true;
}

/* "<w>x<h>", both positive 32-bit numbers; returns a new normalised string or NULL. */
static char *parse_resolution(const char *s)
{
        const char *x;
        uint32_t w, h;

        if (!s)
                return NULL;
        x = strchr(s, 'x');
        if (!x || !parse_u32_n(s, (size_t)(x - s), &w) || !parse_u32(x + 1, &h) || w == 0 || h == 0)
                return NULL;
        return g_strdup_printf("%" PRIu32 "x%" PRIu32, w, h);
}

static void set_resolution(VgpuType *t, const char *s)
{
        char *r = parse_resolution(s);

        if (!r)
                return;
        g_free(t->max_resolution);
        t->max_resolution = r;
}

/* A copy of s with white space trimmed at both ends; NULL when s is NULL or only white space. */
static char *strdup_trimmed(const char *s)
{
        char *c;

        if (!s)
                return NULL;
        c = g_strstrip(g_strdup(s));
        if (c[0] == '\0') {
                g_free(c);
                return NULL;
        }
        return c;
}

/* s starts with prefix and has something after it. */
static bool has_prefix_and_more(const char *s, const char *prefix)
{
        return s && g_str_has_prefix(s, prefix) && s[strlen(prefix)] != '\0';
}

static VgpuVendor vendor_from_id(const char *id)
{
        if (has_prefix_and_more(id, "nvidia-"))
                return VGPU_VENDOR_NVIDIA;
        if (has_prefix_and_more(id, "i915-"))
                return VGPU_VENDOR_INTEL;
        if (has_prefix_and_more(id, "mtty-") || has_prefix_and_more(id, "mdpy-") ||
            has_prefix_and_more(id, "mbochs-"))
                return VGPU_VENDOR_SAMPLE;
        return VGPU_VENDOR_UNKNOWN;
}

/* The profile part of an NVIDIA type name: after "GRID " or "NVIDIA " (and any further spaces); NULL
 * when the name has neither prefix or nothing after it. */
static const char *nvidia_name_rest(const char *name)
{
        const char *rest = NULL;

        if (!name)
                return NULL;
        if (g_str_has_prefix(name, "GRID "))
                rest = name + strlen("GRID ");
        else if (g_str_has_prefix(name, "NVIDIA "))
                rest = name + strlen("NVIDIA ");
        if (!rest)
                return NULL;
        rest += strspn(rest, " \t");
        return rest[0] != '\0' ? rest : NULL;
}

static bool all_alnum(const char *s)
{
        for (; *s; s++)
                if (!g_ascii_isalnum(*s))
                        return false;
        return true;
}

/* <board>-[<slices>-]<size><series>: fills board, profile, series, mig_slices, framebuffer_mib, or
 * nothing at all when the text does not have that form. */
static void parse_nvidia_profile(VgpuType *t, const char *rest)
{
        const char *last_dash, *size, *series, *board_end;
        uint32_t size_gib, slices = 0;
        size_t n;

        if (!g_ascii_isalnum(rest[0]))
                return;
        last_dash = strrchr(rest, '-');
        if (!last_dash)
                return;

        size = last_dash + 1;
        n = digits_len(size);
        if (!parse_u32_n(size, n, &size_gib) || size_gib > UINT32_MAX / 1024)
                return;
        series = size + n;
        if (!g_ascii_isalpha(series[0]) || !all_alnum(series))
                return;

        board_end = last_dash;
        /* MIG-backed: the token before the size is the number of slices, with a board before it. */
        for (const char *p = last_dash - 1; p > rest; p--) {
                if (is_digit(*p))
                        continue;
                if (*p == '-' && p + 1 < last_dash &&
                    parse_u32_n(p + 1, (size_t)(last_dash - p - 1), &slices) && slices >= 1 &&
                    slices <= MIG_SLICES_MAX)
                        board_end = p;
                else
                        slices = 0;
                break;
        }
        if (!g_ascii_isalnum(board_end[-1]))
                return;

        t->board = g_strndup(rest, (size_t)(board_end - rest));
        t->profile = g_strdup(rest);
        t->series = g_strdup(series);
        t->mig_slices = slices;
        t->framebuffer_mib = size_gib == 0 ? 512 : (uint64_t)size_gib * 1024;
}

/* One "key=value" item of an NVIDIA description. */
static void parse_nvidia_item(VgpuType *t, const char *key, const char *value)
{
        uint64_t mib;
        uint32_t v;

        if (strcmp(key, "framebuffer") == 0) {
                if (parse_size_mib(value, true, &mib))
                        t->framebuffer_mib = mib;
        } else if (strcmp(key, "max_instance") == 0 || strcmp(key, "max_instances") == 0) {
                if (parse_u32(value, &v))
                        t->max_instances = v;
        } else if (strcmp(key, "num_heads") == 0) {
                if (parse_u32(value, &v))
                        t->num_heads = v;
        } else if (strcmp(key, "frl_config") == 0) {
                if (parse_u32(value, &v))
                        t->frl_config = v;
        } else if (strcmp(key, "max_resolution") == 0)
                set_resolution(t, value);
}

/* One item without '=': the samples' phrases "<n> MB video memory" (mbochs) and "<w>x<h> framebuffer"
 * (mdpy). */
static void parse_phrase_item(VgpuType *t, const char *item)
{
        g_auto(GStrv) words = g_strsplit_set(item, " \t", -1);
        guint n = 0;
        uint32_t mib;

        /* g_strsplit_set gives empty words for runs of separators: squeeze them out. */
        for (guint i = 0; words[i]; i++)
                if (words[i][0] != '\0')
                        words[n++] = words[i];
                else
                        g_free(words[i]);
        words[n] = NULL;

        if (n == 4 && strcmp(words[1], "MB") == 0 && strcmp(words[2], "video") == 0 &&
            strcmp(words[3], "memory") == 0 && parse_u32(words[0], &mib))
                t->framebuffer_mib = mib;
        else if (n == 2 && strcmp(words[1], "framebuffer") == 0)
                set_resolution(t, words[0]);
}

/* Intel GVT-g: "low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\nresolution: 1920x1200\nweight: 4\n"
 * as the kernel writes it, or with spaces instead of newlines as mdevctl prints it. */
static void parse_gvt(VgpuType *t, const char *description)
{
        g_auto(GStrv) tokens = g_strsplit_set(description, " \t\r\n,", -1);
        const char *key = NULL;

        for (guint i = 0; tokens[i]; i++) {
                char *tok = tokens[i], *colon;
                const char *value;

                if (tok[0] == '\0')
                        continue;
                colon = strchr(tok, ':');
                if (colon) {
                        *colon = '\0';
                        key = tok;
                        if (colon[1] == '\0')
                                continue; /* "key:" and the value is the next token */
                        value = colon + 1;
                } else if (key)
                        value = tok;
                else
                        continue;

                if (strcmp(key, "low_gm_size") == 0)
                        (void)parse_size_mib_u32(value, &t->gvt_low_gm_mib);
                else if (strcmp(key, "high_gm_size") == 0)
                        (void)parse_size_mib_u32(value, &t->gvt_high_gm_mib);
                else if (strcmp(key, "fence") == 0)
                        (void)parse_u32(value, &t->gvt_fence);
                else if (strcmp(key, "weight") == 0)
                        (void)parse_u32(value, &t->gvt_weight);
                else if (strcmp(key, "resolution") == 0)
                        set_resolution(t, value);
                key = NULL;
        }
}

static void parse_description(VgpuType *t, const char *description)
{
        g_auto(GStrv) items = NULL;

        if (!description)
                return;

        if (strstr(description, "low_gm_size") || t->vendor == VGPU_VENDOR_INTEL) {
                parse_gvt(t, description);
                return;
        }

        items = g_strsplit_set(description, ",\n", -1);
        for (guint i = 0; items[i]; i++) {
                char *item = g_strstrip(items[i]), *eq;

                if (item[0] == '\0')
                        continue;
                eq = strchr(item, '=');
                if (eq) {
                        *eq = '\0';
                        parse_nvidia_item(t, g_strstrip(item), g_strstrip(eq + 1));
                } else
                        parse_phrase_item(t, item);
        }
}

VgpuType *vgpu_type_new(const char *id, const char *name, const char *description)
{
        VgpuType *t = g_new0(VgpuType, 1);
        const char *rest;

        t->id = id && id[0] != '\0' ? g_strdup(id) : NULL;
        t->name = strdup_trimmed(name);

        rest = nvidia_name_rest(t->name);
        t->vendor = vendor_from_id(t->id);
        if (t->vendor == VGPU_VENDOR_UNKNOWN && rest)
                t->vendor = VGPU_VENDOR_NVIDIA;

        if (t->vendor == VGPU_VENDOR_NVIDIA && rest)
                parse_nvidia_profile(t, rest);

        /* after the name: the description's framebuffer wins */
        parse_description(t, description);
        return t;
}

void vgpu_type_free(VgpuType *t)
{
        if (!t)
                return;
        g_free(t->id);
        g_free(t->name);
        g_free(t->board);
        g_free(t->profile);
        g_free(t->series);
        g_free(t->max_resolution);
        g_free(t);
}

uint64_t vgpu_type_size_class(const VgpuType *t)
{
        if (!t || t->vendor != VGPU_VENDOR_NVIDIA || t->mig_slices > 0)
                return 0;
        return t->framebuffer_mib;
}

static bool str_eq_ci(const char *a, const char *b)
{
        return a && b && g_ascii_strcasecmp(a, b) == 0;
}

bool vgpu_type_matches_profile(const VgpuType *t, const char *profile)
{
        g_autofree char *p = NULL;

        if (!t)
                return false;
        p = strdup_trimmed(profile);
        if (!p)
                return false;

        if (str_eq_ci(t->id, p) || str_eq_ci(t->name, p) || str_eq_ci(t->profile, p))
                return true;

        /* size and series, with the slices of a MIG type: the profile minus "<board>-" */
        if (t->board && t->profile && g_str_has_prefix(t->profile, t->board) &&
            t->profile[strlen(t->board)] == '-')
                return str_eq_ci(t->profile + strlen(t->board) + 1, p);

        return false;
}

const char *vgpu_vendor_to_string(VgpuVendor v)
{
        switch (v) {
        case VGPU_VENDOR_NVIDIA: return "nvidia";
        case VGPU_VENDOR_INTEL: return "intel";
        case VGPU_VENDOR_SAMPLE: return "sample";
        case VGPU_VENDOR_UNKNOWN:
        default: return "unknown";
        }
}
