/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdevctl's persistent definition format: parsing with mdevctl 1.2.0's rules, writing its exact bytes,
 * and the attribute list edits of `mdevctl modify`. */

#include "mdev-def.h"

#include <errno.h>
#include <string.h>

#include "json-out.h"

static MdevAttr *mdev_attr_new(const char *name, const char *value)
{
        MdevAttr *a = g_new0(MdevAttr, 1);

        a->name = g_strdup(name);
        a->value = g_strdup(value);
        return a;
}

static void mdev_attr_free(gpointer p)
{
        MdevAttr *a = p;

        if (!a)
                return;
        g_free(a->name);
        g_free(a->value);
        g_free(a);
}

MdevDef *mdev_def_new(void)
{
        MdevDef *d = g_new0(MdevDef, 1);

        d->attrs = g_ptr_array_new_with_free_func(mdev_attr_free);
        return d;
}

void mdev_def_free(MdevDef *d)
{
        if (!d)
                return;
        g_free(d->mdev_type);
        g_ptr_array_unref(d->attrs);
        g_free(d);
}

MdevDef *mdev_def_copy(const MdevDef *d)
{
        MdevDef *c = mdev_def_new();

        c->mdev_type = g_strdup(d->mdev_type);
        c->autostart = d->autostart;
        c->mixed_size = d->mixed_size;
        for (guint i = 0; i < d->attrs->len; i++) {
                const MdevAttr *a = g_ptr_array_index(d->attrs, i);
                g_ptr_array_add(c->attrs, mdev_attr_new(a->name, a->value));
        }
        return c;
}

bool mdev_name_is_valid(const char *name)
{
        return name && name[0] != '\0' && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
               !strchr(name, '/');
}

/* name as a JSON string literal, for error messages that must stay on one line. */
static char *quote(const char *name)
{
        GString *s = g_string_new(NULL);

        json_out_string(s, name);
        return g_string_free(s, FALSE);
}

static int fail(char **ret_error, char *msg)
{
        if (ret_error)
                *ret_error = msg;
        else
                g_free(msg);
        return -EINVAL;
}

static bool node_is_string(JsonNode *n)
{
        return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING;
}

static int parse_attrs(MdevDef *d, JsonNode *attrs, char **ret_error)
{
        JsonArray *a;
        guint n;

        if (!attrs || JSON_NODE_HOLDS_NULL(attrs))
                return 0;
        if (!JSON_NODE_HOLDS_ARRAY(attrs))
                return fail(ret_error, g_strdup("attrs is not an array"));

        a = json_node_get_array(attrs);
        n = json_array_get_length(a);
        for (guint i = 0; i < n; i++) {
                JsonNode *e = json_array_get_element(a, i);
                JsonObjectIter it;
                const char *name;
                JsonNode *value;
                guint size;

                if (!JSON_NODE_HOLDS_OBJECT(e))
                        return fail(ret_error, g_strdup_printf("attrs[%u]: not an object", i));
                size = json_object_get_size(json_node_get_object(e));
                if (size != 1)
                        return fail(ret_error,
                                    g_strdup_printf("attrs[%u]: %u members, expected exactly one", i, size));

                json_object_iter_init_ordered(&it, json_node_get_object(e));
                if (!json_object_iter_next_ordered(&it, &name, &value))
                        return fail(ret_error, g_strdup_printf("attrs[%u]: not an object", i));
                if (!mdev_name_is_valid(name)) {
                        g_autofree char *q = quote(name);
                        return fail(ret_error,
                                    g_strdup_printf("attrs[%u]: invalid attribute name %s", i, q));
                }
                if (!node_is_string(value)) {
                        g_autofree char *q = quote(name);
                        return fail(ret_error,
                                    g_strdup_printf("attrs[%u]: value of %s is not a string", i, q));
                }
                g_ptr_array_add(d->attrs, mdev_attr_new(name, json_node_get_string(value)));
        }
        return 0;
}

/* vgpud's own member: absent or null is false, else a JSON boolean. */
static int parse_mixed_size(MdevDef *d, JsonNode *n, char **ret_error)
{
        if (!n || JSON_NODE_HOLDS_NULL(n))
                return 0;
        if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
                return fail(ret_error, g_strdup("mixed_size is not true or false"));
        d->mixed_size = json_node_get_boolean(n);
        return 0;
}

int mdev_def_parse(const char *json, size_t len, MdevDef **ret, char **ret_error)
{
        g_autoptr(JsonParser) parser = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(MdevDef) d = NULL;
        JsonObject *o;
        JsonNode *root, *type, *start;
        int r;

        g_return_val_if_fail(ret, -EINVAL);
        if (ret_error)
                *ret_error = NULL;

        /* json-glib's parser takes comments, single quotes, hex numbers, garbage after the value and
         * more that mdevctl rejects, so the text must pass serde_json's grammar first. */
        r = json_check_strict(json, len, ret_error);
        if (r < 0)
                return r;

        parser = json_parser_new_immutable();
        if (!json_parser_load_from_data(parser, json, (gssize)len, &error))
                return fail(ret_error, g_strdup_printf("not valid JSON: %s", error->message));
        root = json_parser_get_root(parser);
        if (!root || !JSON_NODE_HOLDS_OBJECT(root))
                return fail(ret_error, g_strdup("not a JSON object"));
        o = json_node_get_object(root);

        d = mdev_def_new();

        type = json_object_get_member(o, "mdev_type");
        if (!type || JSON_NODE_HOLDS_NULL(type))
                return fail(ret_error, g_strdup("missing mdev_type"));
        if (!node_is_string(type))
                return fail(ret_error, g_strdup("mdev_type is not a string"));
        if (!mdev_name_is_valid(json_node_get_string(type))) {
                g_autofree char *q = quote(json_node_get_string(type));
                return fail(ret_error, g_strdup_printf("invalid mdev_type %s", q));
        }
        d->mdev_type = g_strdup(json_node_get_string(type));

        start = json_object_get_member(o, "start");
        if (!start || JSON_NODE_HOLDS_NULL(start))
                return fail(ret_error, g_strdup("missing start"));
        d->autostart = node_is_string(start) && strcmp(json_node_get_string(start), "auto") == 0;

        r = parse_attrs(d, json_object_get_member(o, "attrs"), ret_error);
        if (r < 0)
                return r;

        r = parse_mixed_size(d, json_object_get_member(o, "mixed_size"), ret_error);
        if (r < 0)
                return r;

        *ret = g_steal_pointer(&d);
        return 0;
}

JsonNode *mdev_def_to_node(const MdevDef *d)
{
        g_autoptr(JsonBuilder) b = json_builder_new();

        g_return_val_if_fail(d && d->mdev_type, NULL);

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "mdev_type");
        json_builder_add_string_value(b, d->mdev_type);
        json_builder_set_member_name(b, "start");
        json_builder_add_string_value(b, d->autostart ? "auto" : "manual");
        json_builder_set_member_name(b, "attrs");
        json_builder_begin_array(b);
        for (guint i = 0; i < d->attrs->len; i++) {
                const MdevAttr *a = g_ptr_array_index(d->attrs, i);

                json_builder_begin_object(b);
                json_builder_set_member_name(b, a->name);
                json_builder_add_string_value(b, a->value);
                json_builder_end_object(b);
        }
        json_builder_end_array(b);
        if (d->mixed_size) { /* vgpud's own member, never in a definition mdevctl reads */
                json_builder_set_member_name(b, "mixed_size");
                json_builder_add_boolean_value(b, true);
        }
        json_builder_end_object(b);
        return json_builder_get_root(b);
}

char *mdev_def_to_json(const MdevDef *d, bool pretty)
{
        g_autoptr(JsonNode) node = mdev_def_to_node(d);
        GString *s;

        if (!node)
                return NULL;
        s = g_string_new(NULL);
        if (pretty)
                json_out_pretty(s, node);
        else
                json_out_compact(s, node);
        return g_string_free(s, FALSE);
}

int mdev_def_add_attr(MdevDef *d, const char *name, const char *value, int index)
{
        g_return_val_if_fail(d, -EINVAL);

        if (!mdev_name_is_valid(name) || !value)
                return -EINVAL;
        if (index < -1 || (index >= 0 && (guint)index > d->attrs->len))
                return -ERANGE;
        g_ptr_array_insert(d->attrs, index, mdev_attr_new(name, value));
        return 0;
}

int mdev_def_del_attr(MdevDef *d, int index)
{
        g_return_val_if_fail(d, -EINVAL);

        if (index == -1) {
                if (d->attrs->len == 0)
                        return 0;
                index = (int)d->attrs->len - 1;
        }
        if (index < 0 || (guint)index >= d->attrs->len)
                return -ERANGE;
        g_ptr_array_remove_index(d->attrs, (guint)index);
        return 1;
}
