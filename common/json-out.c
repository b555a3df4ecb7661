/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* serde_json-compatible JSON: the printer (pretty and compact) for json-glib trees, a walk through
 * common/json-writer.c, and the strict syntax check with serde_json's error messages. Positions and
 * wording were checked against the errors mdevctl 1.2.0 prints for broken definition files. */

#include "json-out.h"
#include "json-writer.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ---- printer: a walk of the json-glib tree through the streaming writer ---- */

void json_out_string(GString *out, const char *s)
{
        json_writer_append_escaped(out, s);
}

static void write_node(JsonWriter *w, JsonNode *node)
{
        if (!node) {
                json_writer_null(w);
                return;
        }
        switch (json_node_get_node_type(node)) {
        case JSON_NODE_OBJECT: {
                JsonObjectIter it;
                const char *name;
                JsonNode *member;

                json_writer_begin_object(w);
                json_object_iter_init_ordered(&it, json_node_get_object(node));
                while (json_object_iter_next_ordered(&it, &name, &member)) {
                        json_writer_key(w, name);
                        write_node(w, member);
                }
                json_writer_end_object(w);
                return;
        }
        case JSON_NODE_ARRAY: {
                JsonArray *a = json_node_get_array(node);
                guint n = json_array_get_length(a);

                json_writer_begin_array(w);
                for (guint i = 0; i < n; i++)
                        write_node(w, json_array_get_element(a, i));
                json_writer_end_array(w);
                return;
        }
        case JSON_NODE_VALUE: break;
        case JSON_NODE_NULL:
        default: json_writer_null(w); return;
        }

        switch (json_node_get_value_type(node)) {
        case G_TYPE_STRING: json_writer_string(w, json_node_get_string(node)); break;
        case G_TYPE_INT64: json_writer_int(w, json_node_get_int(node)); break;
        case G_TYPE_DOUBLE: json_writer_double(w, json_node_get_double(node)); break;
        case G_TYPE_BOOLEAN: json_writer_bool(w, json_node_get_boolean(node)); break;
        default: json_writer_null(w);
        }
}

void json_out_pretty(GString *out, JsonNode *node)
{
        JsonWriter w;

        json_writer_init(&w, out, true);
        write_node(&w, node);
}

void json_out_compact(GString *out, JsonNode *node)
{
        JsonWriter w;

        json_writer_init(&w, out, false);
        write_node(&w, node);
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
