/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A streaming JSON writer on a GString that produces serde_json's bytes exactly: to_string_pretty()
 * (2-space indent, "key": value, [] and {} for empty containers) or to_string() (no white space).
 * No tree is built and nothing but glib is needed, so vgpuctl prints mdevctl's --dumpjson without
 * linking json-glib. common/json-out.c prints json-glib trees through it.
 *
 *   JsonWriter w;
 *   json_writer_init(&w, out, true);
 *   json_writer_begin_object(&w);
 *   json_writer_key(&w, "mdev_type");
 *   json_writer_string(&w, "nvidia-36");
 *   json_writer_end_object(&w);
 *
 * Inside an object every value must follow a json_writer_key(); inside an array values follow one
 * another. Misuse (a key in an array, unbalanced ends, nesting deeper than JSON_WRITER_MAX_DEPTH) is
 * a programming error and is caught by assertions. */

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define JSON_WRITER_MAX_DEPTH 64

typedef struct JsonWriter {
        GString *out;
        bool pretty;
        bool first;     /* nothing written yet in the innermost open container */
        bool after_key; /* a key was written; its value comes next */
        unsigned depth;
        uint64_t in_object; /* bit i set: the container at depth i+1 is an object */
} JsonWriter;

/* Start writing to out (appended to, never cleared). pretty selects to_string_pretty()'s layout. */
void json_writer_init(JsonWriter *w, GString *out, bool pretty);

void json_writer_begin_object(JsonWriter *w);
void json_writer_end_object(JsonWriter *w);
void json_writer_begin_array(JsonWriter *w);
void json_writer_end_array(JsonWriter *w);

/* The next member's name (escaped like a string). */
void json_writer_key(JsonWriter *w, const char *key);

void json_writer_string(JsonWriter *w, const char *s);
void json_writer_int(JsonWriter *w, int64_t v);
void json_writer_uint(JsonWriter *w, uint64_t v);
/* As serde_json (ryu) prints an f64: shortest round-trip digits, "1.0" for integral values, exponent
 * outside 1e-5 <= |x| < 1e16, null for NaN and infinities. */
void json_writer_double(JsonWriter *w, double v);
void json_writer_bool(JsonWriter *w, bool v);
void json_writer_null(JsonWriter *w);

/* Append s as a JSON string literal with serde_json's escaping: \" \\ \b \t \n \f \r, other control
 * characters as \u00xx (lower-case hex), everything else (DEL, '/', non-ASCII bytes) raw. */
void json_writer_append_escaped(GString *out, const char *s);
