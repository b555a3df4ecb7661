/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* serde_json-compatible JSON: the printer (pretty and compact) for json-glib trees and the strict
 * syntax check with serde_json's error messages. Positions and wording were checked against the
 * errors mdevctl 1.2.0 prints for broken definition files. */

#include "json-out.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ---- printer ---- */

void json_out_string(GString *out, const char *s)
{
        static const char hex[] = "0123456789abcdef";

        g_string_append_c(out, '"');
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                switch (*p) {
                case '"': g_string_append(out, "\\\""); break;
                case '\\': g_string_append(out, "\\\\"); break;
                case '\b': g_string_append(out, "\\b"); break;
                case '\t': g_string_append(out, "\\t"); break;
                case '\n': g_string_append(out, "\\n"); break;
                case '\f': g_string_append(out, "\\f"); break;
                case '\r': g_string_append(out, "\\r"); break;
                default:
                        if (*p < 0x20) {
                                g_string_append(out, "\\u00");
                                g_string_append_c(out, hex[*p >> 4]);
                                g_string_append_c(out, hex[*p & 0xf]);
                        } else
                                g_string_append_c(out, (char)*p);
                }
        }
        g_string_append_c(out, '"');
}

/* A double as serde_json (ryu) prints it: shortest digits that read back to the same value, "1.0" for
 * integral values, scientific notation outside 1e-5 <= |x| < 1e16; NaN and infinities as null. */
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

static void append_indent(GString *out, unsigned level)
{
        for (unsigned i = 0; i < level; i++)
                g_string_append(out, "  ");
}

static void print_node(GString *out, JsonNode *node, bool pretty, unsigned level);

static void print_object(GString *out, JsonObject *o, bool pretty, unsigned level)
{
        JsonObjectIter it;
        const char *name;
        JsonNode *member;
        bool first = true;

        g_string_append_c(out, '{');
        json_object_iter_init_ordered(&it, o);
        while (json_object_iter_next_ordered(&it, &name, &member)) {
                if (!first)
                        g_string_append_c(out, ',');
                first = false;
                if (pretty) {
                        g_string_append_c(out, '\n');
                        append_indent(out, level + 1);
                }
                json_out_string(out, name);
                g_string_append(out, pretty ? ": " : ":");
                print_node(out, member, pretty, level + 1);
        }
        if (!first && pretty) {
                g_string_append_c(out, '\n');
                append_indent(out, level);
        }
        g_string_append_c(out, '}');
}

static void print_array(GString *out, JsonArray *a, bool pretty, unsigned level)
{
        guint n = json_array_get_length(a);

        g_string_append_c(out, '[');
        for (guint i = 0; i < n; i++) {
                if (i > 0)
                        g_string_append_c(out, ',');
                if (pretty) {
                        g_string_append_c(out, '\n');
                        append_indent(out, level + 1);
                }
                print_node(out, json_array_get_element(a, i), pretty, level + 1);
        }
        if (n > 0 && pretty) {
                g_string_append_c(out, '\n');
                append_indent(out, level);
        }
        g_string_append_c(out, ']');
}

static void print_node(GString *out, JsonNode *node, bool pretty, unsigned level)
{
        if (!node) {
                g_string_append(out, "null");
                return;
        }
        switch (json_node_get_node_type(node)) {
        case JSON_NODE_OBJECT: print_object(out, json_node_get_object(node), pretty, level); return;
        case JSON_NODE_ARRAY: print_array(out, json_node_get_array(node), pretty, level); return;
        case JSON_NODE_VALUE: break;
        case JSON_NODE_NULL:
        default: g_string_append(out, "null"); return;
        }

        switch (json_node_get_value_type(node)) {
        case G_TYPE_STRING: json_out_string(out, json_node_get_string(node)); break;
        case G_TYPE_INT64: g_string_append_printf(out, "%" G_GINT64_FORMAT, json_node_get_int(node)); break;
        case G_TYPE_DOUBLE: append_double(out, json_node_get_double(node)); break;
        case G_TYPE_BOOLEAN: g_string_append(out, json_node_get_boolean(node) ? "true" : "false"); break;
        default: g_string_append(out, "null");
        }
}

void json_out_pretty(GString *out, JsonNode *node)
{
        print_node(out, node, true, 0);
}

void json_out_compact(GString *out, JsonNode *node)
{
        print_node(out, node, false, 0);
}

/* ---- strict check ---- */

#define SERDE_RECURSION_LIMIT 128

typedef struct Checker {
        const char *s;
        size_t len;
        size_t i;
        unsigned depth;
        char *error;
} Checker;

/* serde_json reports the line and the column (in bytes, 0 = before the first byte of the line) of a
 * byte index: "error" errors point at the index after the last consumed byte, "peek" errors at the
 * index after the byte looked at (so both name the 1-based column of the offending byte), and at the
 * end of input both name the end. */
static int fail_at(Checker *c, size_t pos, const char *msg)
{
        size_t line = 1, line_start = 0;

        for (size_t k = 0; k < pos; k++)
                if (c->s[k] == '\n') {
                        line++;
                        line_start = k + 1;
                }
        if (!c->error)
                c->error = g_strdup_printf("%s at line %zu column %zu", msg, line, pos - line_start);
        return -EINVAL;
}

static int fail(Checker *c, const char *msg)
{
        return fail_at(c, c->i, msg);
}

static int fail_peek(Checker *c, const char *msg)
{
        return fail_at(c, MIN(c->i + 1, c->len), msg);
}

static bool at_end(const Checker *c)
{
        return c->i >= c->len;
}

static bool is_digit(char ch)
{
        return ch >= '0' && ch <= '9';
}

static void skip_ws(Checker *c)
{
        while (!at_end(c) && strchr(" \t\n\r", c->s[c->i]) && c->s[c->i] != '\0')
                c->i++;
}

static int check_value(Checker *c);

static int check_ident(Checker *c, const char *rest)
{
        for (; *rest; rest++) {
                if (at_end(c))
                        return fail(c, "EOF while parsing a value");
                if (c->s[c->i++] != *rest)
                        return fail(c, "expected ident");
        }
        return 0;
}

static int hex_value(char ch)
{
        if (ch >= '0' && ch <= '9')
                return ch - '0';
        if (ch >= 'a' && ch <= 'f')
                return ch - 'a' + 10;
        if (ch >= 'A' && ch <= 'F')
                return ch - 'A' + 10;
        return -1;
}

static int check_hex4(Checker *c, unsigned *ret)
{
        unsigned v = 0;

        if (c->i + 4 > c->len) {
                c->i = c->len;
                return fail(c, "EOF while parsing a string");
        }
        for (int k = 0; k < 4; k++) {
                int h = hex_value(c->s[c->i++]);
                if (h < 0)
                        return fail(c, "invalid escape");
                v = v * 16 + (unsigned)h;
        }
        *ret = v;
        return 0;
}

static int check_escape(Checker *c)
{
        unsigned u, u2;
        char ch;
        int r;

        if (at_end(c))
                return fail(c, "EOF while parsing a string");
        ch = c->s[c->i++];
        if (strchr("\"\\/bfnrt", ch) && ch != '\0')
                return 0;
        if (ch != 'u')
                return fail(c, "invalid escape");

        r = check_hex4(c, &u);
        if (r < 0)
                return r;
        if (u >= 0xDC00 && u <= 0xDFFF)
                return fail(c, "lone leading surrogate in hex escape");
        if (u >= 0xD800 && u <= 0xDBFF) {
                for (const char *want = "\\u"; *want; want++) {
                        if (at_end(c))
                                return fail(c, "EOF while parsing a string");
                        if (c->s[c->i++] != *want)
                                return fail(c, "unexpected end of hex escape");
                }
                r = check_hex4(c, &u2);
                if (r < 0)
                        return r;
                if (u2 < 0xDC00 || u2 > 0xDFFF)
                        return fail(c, "lone leading surrogate in hex escape");
        }
        if (u == 0) /* serde_json takes it, json-glib would cut the string there */
                return fail(c, "unsupported escape \\u0000 (NUL) in a string");
        return 0;
}

static int check_string(Checker *c)
{
        for (;;) {
                unsigned char ch;
                int r;

                if (at_end(c))
                        return fail(c, "EOF while parsing a string");
                ch = (unsigned char)c->s[c->i++];
                if (ch == '"')
                        return 0;
                if (ch == '\\') {
                        r = check_escape(c);
                        if (r < 0)
                                return r;
                } else if (ch < 0x20)
                        return fail(c, "control character (\\u0000-\\u001F) found while parsing a string");
        }
}

/* Called with c->i after a '-' or at the first digit. */
static int check_number(Checker *c, size_t start)
{
        char ch;

        if (at_end(c))
                return fail(c, "EOF while parsing a value");
        ch = c->s[c->i++];
        if (ch == '0') {
                if (!at_end(c) && is_digit(c->s[c->i]))
                        return fail_peek(c, "invalid number");
        } else if (ch >= '1' && ch <= '9') {
                while (!at_end(c) && is_digit(c->s[c->i]))
                        c->i++;
        } else
                return fail(c, "invalid number");

        if (!at_end(c) && c->s[c->i] == '.') {
                c->i++;
                if (at_end(c))
                        return fail_peek(c, "EOF while parsing a value");
                if (!is_digit(c->s[c->i]))
                        return fail_peek(c, "invalid number");
                while (!at_end(c) && is_digit(c->s[c->i]))
                        c->i++;
        }
        if (!at_end(c) && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
                c->i++;
                if (!at_end(c) && (c->s[c->i] == '+' || c->s[c->i] == '-'))
                        c->i++;
                if (at_end(c))
                        return fail(c, "EOF while parsing a value");
                if (!is_digit(c->s[c->i++]))
                        return fail(c, "invalid number");
                while (!at_end(c) && is_digit(c->s[c->i]))
                        c->i++;
        }

        /* Integers beyond 64 bits become doubles in serde_json; only infinity is out of range. */
        g_autofree char *text = g_strndup(c->s + start, c->i - start);
        if (isinf(g_ascii_strtod(text, NULL)))
                return fail(c, "number out of range");
        return 0;
}

static int check_array(Checker *c)
{
        bool first = true;
        int r;

        for (;;) {
                skip_ws(c);
                if (at_end(c))
                        return fail_peek(c, "EOF while parsing a list");
                if (c->s[c->i] == ']') {
                        c->i++;
                        return 0;
                }
                if (!first) {
                        if (c->s[c->i] != ',')
                                return fail_peek(c, "expected `,` or `]`");
                        c->i++;
                        skip_ws(c);
                        if (at_end(c))
                                return fail_peek(c, "EOF while parsing a value");
                        if (c->s[c->i] == ']')
                                return fail_peek(c, "trailing comma");
                }
                first = false;
                r = check_value(c);
                if (r < 0)
                        return r;
        }
}

static int check_object(Checker *c)
{
        bool first = true;
        int r;

        for (;;) {
                skip_ws(c);
                if (at_end(c))
                        return fail_peek(c, "EOF while parsing an object");
                if (c->s[c->i] == '}') {
                        c->i++;
                        return 0;
                }
                if (!first) {
                        if (c->s[c->i] != ',')
                                return fail_peek(c, "expected `,` or `}`");
                        c->i++;
                        skip_ws(c);
                        if (at_end(c))
                                return fail_peek(c, "EOF while parsing a value");
                        if (c->s[c->i] == '}')
                                return fail_peek(c, "trailing comma");
                }
                first = false;
                if (c->s[c->i] != '"')
                        return fail_peek(c, "key must be a string");
                c->i++;
                r = check_string(c);
                if (r < 0)
                        return r;
                skip_ws(c);
                if (at_end(c))
                        return fail_peek(c, "EOF while parsing an object");
                if (c->s[c->i] != ':')
                        return fail_peek(c, "expected `:`");
                c->i++;
                r = check_value(c);
                if (r < 0)
                        return r;
        }
}

static int check_value(Checker *c)
{
        size_t start;
        int r;

        skip_ws(c);
        if (at_end(c))
                return fail_peek(c, "EOF while parsing a value");
        start = c->i;
        switch (c->s[c->i]) {
        case 'n': c->i++; return check_ident(c, "ull");
        case 't': c->i++; return check_ident(c, "rue");
        case 'f': c->i++; return check_ident(c, "alse");
        case '-': c->i++; return check_number(c, start);
        case '"': c->i++; return check_string(c);
        case '[':
        case '{':
                if (++c->depth >= SERDE_RECURSION_LIMIT)
                        return fail_peek(c, "recursion limit exceeded");
                c->i++;
                r = c->s[start] == '[' ? check_array(c) : check_object(c);
                c->depth--;
                return r;
        default:
                if (is_digit(c->s[c->i]))
                        return check_number(c, start);
                return fail_peek(c, "expected value");
        }
}

/* Valid UTF-8, NUL bytes allowed (Rust strings may hold them; the grammar then rejects them). */
static bool utf8_valid(const char *s, size_t len)
{
        while (len > 0) {
                const char *nul = memchr(s, '\0', len);
                size_t seg = nul ? (size_t)(nul - s) : len;

                if (!g_utf8_validate_len(s, seg, NULL))
                        return false;
                if (!nul)
                        break;
                s += seg + 1;
                len -= seg + 1;
        }
        return true;
}

int json_check_strict(const char *s, size_t len, char **ret_error)
{
        Checker c = {.s = s, .len = len};
        int r;

        if (!s || !utf8_valid(s, len)) {
                if (ret_error)
                        *ret_error = g_strdup("stream did not contain valid UTF-8");
                return -EINVAL;
        }

        r = check_value(&c);
        if (r >= 0) {
                skip_ws(&c);
                if (!at_end(&c))
                        r = fail_peek(&c, "trailing characters");
        }
        if (r < 0) {
                if (ret_error)
                        *ret_error = g_steal_pointer(&c.error);
                g_free(c.error);
                return r;
        }
        return 0;
}
