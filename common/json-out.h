/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* mdevctl's JSON, byte for byte: a printer that emits a json-glib tree exactly as serde_json's
 * to_string_pretty()/to_string() do, and a strict checker that accepts exactly what serde_json's
 * from_str() accepts, with serde_json's error messages. */

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stddef.h>

/* Append node to out like serde_json::to_string_pretty: 2-space indent, "key": value, [] and {} for
 * empty containers, members in insertion order, no trailing newline. A NULL node prints "null". */
void json_out_pretty(GString *out, JsonNode *node);

/* Append node to out like serde_json::to_string: no white space at all. */
void json_out_compact(GString *out, JsonNode *node);

/* Append s as a JSON string literal with serde_json's escaping: \" \\ \b \t \n \f \r, other control
 * characters as \u00xx (lower-case hex), everything else (DEL, '/', non-ASCII UTF-8) raw. */
void json_out_string(GString *out, const char *s);

/* Check that s[0..len) is one JSON value that serde_json::from_str would accept: strict RFC 8259
 * grammar (no comments, single quotes, trailing commas, leading zeros, hex, BOM), optional white space
 * (space, tab, CR, LF) around it, valid UTF-8, nesting below serde_json's limit of 128, finite
 * numbers. A "\u0000" escape is also rejected, because json-glib's strings cannot hold it (serde_json
 * accepts it). Returns 0, or -EINVAL with *ret_error (if ret_error is not NULL) set to serde_json's
 * message, e.g. "EOF while parsing a value at line 1 column 0". Only input that passes this check
 * should be handed to json-glib's parser, which is far more lenient. */
int json_check_strict(const char *s, size_t len, char **ret_error);
