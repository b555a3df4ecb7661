/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The streaming JSON writer with serde_json's layout (PrettyFormatter and CompactFormatter), its
 * string escaping and its float formatting. */

#include "json-writer.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_writer_append_escaped(GString *out, const char *s)
{
        static const char hex[] = "0123456789abcdef";
        const unsigned char *p = (const unsigned char *)s, *run = p;

        g_string_append_c(out, '"');
        for (; *p; p++) {
                const char *esc;
                char u[7];

                if (*p >= 0x20 && *p != '"' && *p != '\\')
                        continue;
                /* Copy the plain bytes before this one in one go. */
                g_string_append_len(out, (const char *)run, p - run);
                run = p + 1;
                switch (*p) {
                case '"': esc = "\\\""; break;
                case '\\': esc = "\\\\"; break;
                case '\b': esc = "\\b"; break;
                case '\t': esc = "\\t"; break;
                case '\n': esc = "\\n"; break;
                case '\f': esc = "\\f"; break;
                case '\r': esc = "\\r"; break;
                default:
                        memcpy(u, "\\u00", 4);
                        u[4] = hex[*p >> 4];
                        u[5] = hex[*p & 0xf];
                        u[6] = '\0';
                        esc = u;
                }
                g_string_append(out, esc);
        }
        g_string_append_len(out, (const char *)run, p - run);
        g_string_append_c(out, '"');
}

void json_writer_init(JsonWriter *w, GString *out, bool pretty)
{
        *w = (JsonWriter){.out = out, .pretty = pretty, .first = true};
}

static bool in_object(const JsonWriter *w)
{
        return w->depth > 0 && (w->in_object >> (w->depth - 1)) & 1;
}

/* What goes before a value or a key: nothing after a key (its ": " is written) or at the top level;
 * otherwise "," unless first, then (pretty) a line break and the indent. */
static void separate(JsonWriter *w)
{
        if (w->depth == 0)
                return;
        if (!w->first)
                g_string_append_c(w->out, ',');
        w->first = false;
        if (w->pretty) {
                g_string_append_c(w->out, '\n');
                for (unsigned i = 0; i < w->depth; i++)
                        g_string_append_len(w->out, "  ", 2);
        }
}

static void before_value(JsonWriter *w)
{
        if (w->after_key) {
                w->after_key = false;
                return;
        }
        assert(!in_object(w)); /* a value in an object needs a key first */
        separate(w);
}

static void begin(JsonWriter *w, char open, bool object)
{
        before_value(w);
        assert(w->depth < JSON_WRITER_MAX_DEPTH);
        if (object)
                w->in_object |= UINT64_C(1) << w->depth;
        else
                w->in_object &= ~(UINT64_C(1) << w->depth);
        w->depth++;
        w->first = true;
        g_string_append_c(w->out, open);
}

static void end(JsonWriter *w, char close, bool object)
{
        assert(w->depth > 0 && in_object(w) == object && !w->after_key);
        w->depth--;
        if (!w->first && w->pretty) {
                g_string_append_c(w->out, '\n');
                for (unsigned i = 0; i < w->depth; i++)
                        g_string_append_len(w->out, "  ", 2);
        }
        w->first = false; /* the container just closed was a value of its parent */
        g_string_append_c(w->out, close);
}

void json_writer_begin_object(JsonWriter *w)
{
        begin(w, '{', true);
}

void json_writer_end_object(JsonWriter *w)
{
        end(w, '}', true);
}

void json_writer_begin_array(JsonWriter *w)
{
        begin(w, '[', false);
}

void json_writer_end_array(JsonWriter *w)
{
        end(w, ']', false);
}

void json_writer_key(JsonWriter *w, const char *key)
{
        assert(in_object(w) && !w->after_key);
        separate(w);
        json_writer_append_escaped(w->out, key);
        if (w->pretty)
                g_string_append_len(w->out, ": ", 2);
        else
                g_string_append_c(w->out, ':');
        w->after_key = true;
}

void json_writer_string(JsonWriter *w, const char *s)
{
        before_value(w);
        json_writer_append_escaped(w->out, s);
}

/* Decimal digits of v, without printf. */
static void append_u64(GString *out, uint64_t v)
{
        char buf[20];
        size_t n = sizeof buf;

        do {
                buf[--n] = (char)('0' + v % 10);
                v /= 10;
        } while (v > 0);
        g_string_append_len(out, buf + n, sizeof buf - n);
}

void json_writer_int(JsonWriter *w, int64_t v)
{
        before_value(w);
        if (v < 0) {
                g_string_append_c(w->out, '-');
                append_u64(w->out, (uint64_t)0 - (uint64_t)v);
        } else
                append_u64(w->out, (uint64_t)v);
}

void json_writer_uint(JsonWriter *w, uint64_t v)
{
        before_value(w);
        append_u64(w->out, v);
}

static void append_double(GString *out, double v)
{
        char buf[64], digits[32];
        size_t n = 0;
        int e10, kk;

        if (!isfinite(v)) {
                g_string_append(out, "null");
                return;
        }
        if (signbit(v))
                g_string_append_c(out, '-');
        v = fabs(v);
        if (v == 0) {
                g_string_append(out, "0.0");
                return;
        }
        for (int prec = 0; prec <= 17; prec++) {
                snprintf(buf, sizeof buf, "%.*e", prec, v);
                if (g_ascii_strtod(buf, NULL) == v)
                        break;
        }
        /* buf is "d.ddde[+-]xx" (or "de[+-]xx"): collect the digits and the decimal exponent. */
        const char *p = buf;
        for (; *p && *p != 'e'; p++)
                if (*p >= '0' && *p <= '9')
                        digits[n++] = *p;
        e10 = (int)strtol(p + 1, NULL, 10);
        while (n > 1 && digits[n - 1] == '0')
                n--;
        digits[n] = '\0';
        kk = e10 + 1; /* position of the decimal point relative to the digits */

        if ((int)n <= kk && kk <= 16) {
                g_string_append(out, digits);
                for (int i = (int)n; i < kk; i++)
                        g_string_append_c(out, '0');
                g_string_append(out, ".0");
        } else if (kk > 0 && kk <= 16) {
                g_string_append_len(out, digits, kk);
                g_string_append_c(out, '.');
                g_string_append(out, digits + kk);
        } else if (kk > -5 && kk <= 0) {
                g_string_append(out, "0.");
                for (int i = kk; i < 0; i++)
                        g_string_append_c(out, '0');
                g_string_append(out, digits);
        } else {
                g_string_append_c(out, digits[0]);
                if (n > 1) {
                        g_string_append_c(out, '.');
                        g_string_append(out, digits + 1);
                }
                g_string_append_printf(out, "e%d", kk - 1);
        }
}

void json_writer_double(JsonWriter *w, double v)
{
        before_value(w);
        append_double(w->out, v);
}

void json_writer_bool(JsonWriter *w, bool v)
{
        before_value(w);
        g_string_append(w->out, v ? "true" : "false");
}

void json_writer_null(JsonWriter *w)
{
        before_value(w);
        g_string_append_len(w->out, "null", 4);
}
