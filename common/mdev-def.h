/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A persistent mdev definition as mdevctl stores it in /etc/mdevctl.d/<parent>/<uuid>:
 *   {"mdev_type": "<type>", "start": "auto"|"manual", "attrs": [{"<name>": "<value>"}, ...]}
 * parsed with mdevctl 1.2.0's acceptance rules and written byte for byte as mdevctl writes it. */

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct MdevAttr {
        char *name;
        char *value;
} MdevAttr;

typedef struct MdevDef {
        char *mdev_type;
        bool autostart;
        bool mixed_size;  /* vgpud's own member "mixed_size": true (NVIDIA VF vGPUs only): the GPU runs in
                             mixed-size mode before this vGPU is made; never set in mdevctl's store */
        GPtrArray *attrs; /* of MdevAttr*, ordered, owns its elements */
} MdevDef;

/* An empty definition: mdev_type NULL, manual, no attributes. */
MdevDef *mdev_def_new(void);
void mdev_def_free(MdevDef *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MdevDef, mdev_def_free)

/* A deep copy. */
MdevDef *mdev_def_copy(const MdevDef *d);

/* True for a name usable as one path component in sysfs or /etc/mdevctl.d: not empty, not "." or "..",
 * no '/'. mdevctl 1.2.0 checks none of this (define -p ../x writes outside /etc/mdevctl.d); vgpud
 * requires it of types and attribute names here, and callers should require it of parent names. */
bool mdev_name_is_valid(const char *name);

/* Parse a definition: a definition file's contents or libvirt's compact JSON from --jsonfile.
 * Accepted as mdevctl 1.2.0 accepts it: exactly the JSON serde_json takes (see json_check_strict());
 * an object with a string "mdev_type" and a non-null "start" ("auto" means autostart, any other value
 * - even a number - means manual); "attrs" absent, null, or an array of one-member objects with string
 * values; unknown members ignored; a repeated member: the last one counts. vgpud's own member
 * "mixed_size" (for definitions of NVIDIA VF vGPUs, in vgpud's own store) is absent, null, true or false;
 * any other value is the error "mixed_size is not true or false".
 * Where 1.2.0 crashes (mdev_type or an attribute value not a string) or would let a name escape its
 * directory, this gives an error.
 * Returns 0, or -EINVAL with *ret_error (if ret_error is not NULL) saying what is wrong: serde_json's
 * own message for a syntax error (e.g. "EOF while parsing a value at line 1 column 0", "stream did not
 * contain valid UTF-8"), else one of "not a JSON object", "missing mdev_type", "mdev_type is not a
 * string", "invalid mdev_type \"...\"", "missing start", "attrs is not an array", "attrs[2]: not an
 * object", "attrs[2]: 2 members, expected exactly one", "attrs[2]: value of \"foo\" is not a string",
 * "attrs[2]: invalid attribute name \"../x\"". Returns -ENOMEM never (glib aborts). */
int mdev_def_parse(const char *json, size_t len, MdevDef **ret, char **ret_error);

/* The JSON text: pretty is exactly mdevctl's definition file bytes (no trailing newline); !pretty is
 * the compact form mdevctl feeds to callouts on stdin. mdev_type must be set. "mixed_size": true follows
 * "attrs" only when set (never for a definition in mdevctl's store). */
char *mdev_def_to_json(const MdevDef *d, bool pretty);

/* The object as it appears in `list --dumpjson`: {"mdev_type", "start", "attrs"}, "attrs": [] when
 * there are none, then "mixed_size": true when set. mdev_type must be set. */
JsonNode *mdev_def_to_node(const MdevDef *d);

/* Insert an attribute before position index (0 <= index <= number of attributes; index == count or -1
 * appends), as `mdevctl modify --addattr NAME --value VALUE [--index N]`. Names need not be unique.
 * Returns 0, -ERANGE for an index beyond the end (mdevctl: "Attribute index N is invalid"), -EINVAL
 * for an invalid name (see mdev_name_is_valid()) or a NULL value. */
int mdev_def_add_attr(MdevDef *d, const char *name, const char *value, int index);

/* Remove the attribute at index, or the last one for index -1, as `mdevctl modify --delattr [--index N]`.
 * Returns 1 if one was removed, 0 for index -1 on an empty list (mdevctl then succeeds doing nothing),
 * -ERANGE for index >= number of attributes (1.2.0 says "Attribute index N is invalid" for N > count
 * and crashes for N == count; both are this error). */
int mdev_def_del_attr(MdevDef *d, int index);
