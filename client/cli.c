/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The clap-compatible option parser of vgpuctl, its usage errors, and help/output helpers. */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "cli.h"
#include "config.h"
#include "macro.h"
#include "uuid.h"

void vc_args_clear(VcArgs *args)
{
        for (int i = 0; i < VC_MAX_OPTIONS; i++)
                g_clear_pointer(&args->value[i], g_free);
        memset(args, 0, sizeof(*args));
}

char *vc_expand(const VcContext *ctx, const char *text)
{
        GString *s = g_string_new(NULL);

        for (const char *p = text; *p;) {
                if (g_str_has_prefix(p, "{bin}")) {
                        g_string_append(s, ctx->bin);
                        p += strlen("{bin}");
                } else if (g_str_has_prefix(p, "{version}")) {
                        g_string_append(s, VGPUD_VERSION);
                        p += strlen("{version}");
                } else
                        g_string_append_c(s, *p++);
        }
        return g_string_free(s, FALSE);
}

void vc_print_help(const VcContext *ctx, const char *text)
{
        g_autofree char *s = vc_expand(ctx, text);
        fputs(s, stdout);
}

void vc_print_command_help(const VcContext *ctx, const VcCommand *cmd, const char *text)
{
        vc_print_help(ctx, text);
        if (cmd->help_vgpuctl && !ctx->compat)
                vc_print_help(ctx, cmd->help_vgpuctl);
}

int vc_usage_error(const VcContext *ctx, const char *usage, const char *message)
{
        g_autoptr(GString) s = g_string_new(NULL);

        g_string_append_printf(s, "error: %s\n\n", message);
        if (usage) {
                g_autofree char *u = vc_expand(ctx, usage);
                g_string_append_printf(s, "USAGE:\n    %s\n\n", u);
        }
        g_string_append(s, "For more information try --help\n");
        fputs(s->str, stderr);
        return -EINVAL;
}

void vc_print_warnings(char **warnings)
{
        for (char **w = warnings; w && *w; w++)
                fprintf(stderr, "Warning: %s\n", *w);
}

int vc_write_stdout(const char *data, size_t len)
{
        if ((len > 0 && fwrite(data, 1, len, stdout) != len) || fflush(stdout) != 0) {
                int r = negative_errno();
                fprintf(stderr, "Error: cannot write the output: %s\n", strerror(-r));
                return r;
        }
        return 0;
}

/* "--parent <PARENT>" or "--defined", as clap names an argument in its messages. */
static char *option_display(const VcOption *o)
{
        if (o->value_name)
                return g_strdup_printf("--%s <%s>", o->long_name, o->value_name);
        return g_strdup_printf("--%s", o->long_name);
}

/* Rust's u32::from_str: an optional '+', then decimal digits, read in order (the first problem met is
 * the one reported). Returns NULL and sets *ret, or Rust's message. */
static const char *parse_u32(const char *s, unsigned *ret)
{
        uint64_t v = 0;

        if (!*s)
                return "cannot parse integer from empty string";
        if (*s == '+' && s[1])
                s++;
        for (; *s; s++) {
                if (!g_ascii_isdigit(*s))
                        return "invalid digit found in string";
                v = v * 10 + (uint64_t)(*s - '0');
                if (v > UINT32_MAX)
                        return "number too large to fit in target type";
        }
        if (ret)
                *ret = (unsigned)v;
        return NULL;
}

unsigned vc_arg_u32(const VcArgs *args, int id)
{
        unsigned v = 0;
        const char *why;

        g_assert(args->set[id] && args->value[id]);
        why = parse_u32(args->value[id], &v); /* validated by the parser already */
        g_assert(why == NULL);
        return v;
}

static const VcOption *find_id(const VcCommand *cmd, int id)
{
        for (const VcOption *o = cmd->options; o && o->id >= 0; o++)
                if (o->id == id)
                        return o;
        g_assert_not_reached();
}

int vc_check_conflict(const VcContext *ctx, const VcCommand *cmd, const VcArgs *args, int a, int b)
{
        g_autofree char *first = NULL, *second = NULL, *msg = NULL;

        if (!args->set[a] || !args->set[b])
                return 0;
        if (args->order[b] < args->order[a]) {
                int t = a;
                a = b;
                b = t;
        }
        first = option_display(find_id(cmd, a));
        second = option_display(find_id(cmd, b));
        msg = g_strdup_printf("The argument '%s' cannot be used with '%s'", first, second);
        return vc_usage_error(ctx, cmd->usage, msg);
}

int vc_check_missing(const VcContext *ctx, const VcCommand *cmd, const int *ids, size_t n)
{
        g_autoptr(GString) msg = NULL;

        if (n == 0)
                return 0;
        msg = g_string_new("The following required arguments were not provided:");
        for (size_t i = 0; i < n; i++) {
                g_autofree char *d = option_display(find_id(cmd, ids[i]));
                g_string_append_printf(msg, "\n    %s", d);
        }
        return vc_usage_error(ctx, cmd->usage, msg->str);
}

static int unexpected_argument(const VcContext *ctx, const VcCommand *cmd, const char *arg)
{
        g_autofree char *msg = NULL;

        if (arg[0] == '-')
                msg = g_strdup_printf(
                        "Found argument '%s' which wasn't expected, or isn't valid in this context"
                        "\n\n\tIf you tried to supply `%s` as a value rather than a flag, use `-- %s`",
                        arg, arg, arg);
        else
                msg = g_strdup_printf(
                        "Found argument '%s' which wasn't expected, or isn't valid in this context", arg);
        return vc_usage_error(ctx, cmd->usage, msg);
}

static int store_value(const VcContext *ctx, const VcCommand *cmd, const VcOption *o, const char *value,
                       VcArgs *args)
{
        g_autofree char *disp = option_display(o);

        if (args->set[o->id]) {
                g_autofree char *msg = g_strdup_printf(
                        "The argument '%s' was provided more than once, but cannot be used multiple times",
                        disp);
                return vc_usage_error(ctx, cmd->usage, msg);
        }
        if (o->value_name) {
                if (!value) {
                        g_autofree char *msg = g_strdup_printf(
                                "The argument '%s' requires a value but none was supplied", disp);
                        return vc_usage_error(ctx, NULL, msg);
                }
                if (o->kind == VC_VALUE_UUID) {
                        char uuid[VGPU_UUID_STRING_MAX];
                        if (vgpu_uuid_parse(value, uuid) < 0) {
                                g_autofree char *msg = g_strdup_printf(
                                        "Invalid value \"%s\" for '%s': not a valid UUID (expected "
                                        "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, 32 hex digits, "
                                        "urn:uuid:... or {...})",
                                        value, disp);
                                return vc_usage_error(ctx, NULL, msg);
                        }
                        args->value[o->id] = g_strdup(uuid);
                } else if (o->kind == VC_VALUE_U32) {
                        const char *why = parse_u32(value, NULL);
                        if (why) {
                                g_autofree char *msg = g_strdup_printf("Invalid value \"%s\" for '%s': %s",
                                                                       value, disp, why);
                                return vc_usage_error(ctx, NULL, msg);
                        }
                        args->value[o->id] = g_strdup(value);
                } else
                        args->value[o->id] = g_strdup(value);
        }
        args->set[o->id] = true;
        args->order[o->id] = ++args->n_set;
        return 0;
}

const VcOption *vc_find_long(const VcCommand *cmd, const char *name, size_t len)
{
        for (const VcOption *o = cmd->options; o && o->id >= 0; o++)
                if (strlen(o->long_name) == len && strncmp(o->long_name, name, len) == 0)
                        return o;
        return NULL;
}

const VcOption *vc_find_short(const VcCommand *cmd, char c)
{
        for (const VcOption *o = cmd->options; o && o->id >= 0; o++)
                if (o->short_name == c)
                        return o;
        return NULL;
}

/* The value for an option that takes one, from the next argument; clap refuses values that look like
 * options. */
static const char *next_value(int argc, char **argv, int *i)
{
        if (*i + 1 < argc && argv[*i + 1][0] != '-') {
                (*i)++;
                return argv[*i];
        }
        if (*i + 1 < argc && strcmp(argv[*i + 1], "-") == 0) {
                (*i)++;
                return argv[*i];
        }
        return NULL;
}

/* Whether arg is an option cmd knows (so a missing value is reported as missing, not as arg). */
static bool is_known_option(const VcCommand *cmd, const char *arg)
{
        if (arg[0] != '-' || arg[1] == '\0')
                return false;
        if (arg[1] == '-') {
                const char *name = arg + 2, *eq = strchr(name, '=');
                size_t len = eq ? (size_t)(eq - name) : strlen(name);
                return len == 0 || vc_find_long(cmd, name, len) ||
                       (len == 4 && strncmp(name, "help", 4) == 0) ||
                       (cmd->version && len == 7 && strncmp(name, "version", 7) == 0);
        }
        return vc_find_short(cmd, arg[1]) || arg[1] == 'h' || (cmd->version && arg[1] == 'V');
}

/* An option's value from the next argument. As clap: when the next argument is an option this command
 * does not know (e.g. "-1"), that argument is reported as unexpected rather than the value as missing. */
static int store_next_value(const VcContext *ctx, const VcCommand *cmd, const VcOption *o, int argc,
                            char **argv, int *i, VcArgs *args)
{
        const char *value = next_value(argc, argv, i);

        if (!value && *i + 1 < argc && !is_known_option(cmd, argv[*i + 1]))
                return unexpected_argument(ctx, cmd, argv[*i + 1]);
        if (!value && *i + 1 < argc) {
                if (!args->missing_value)
                        args->missing_value = o;
                return 0;
        }
        return store_value(ctx, cmd, o, value, args);
}

static void print_version(const VcContext *ctx, const VcCommand *cmd)
{
        vc_print_help(ctx, cmd->version);
}

static int parse_long(const VcContext *ctx, const VcCommand *cmd, int argc, char **argv, int *i,
                      VcArgs *args)
{
        const char *arg = argv[*i] + 2;
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        const VcOption *o = vc_find_long(cmd, arg, len);

        if (!o) {
                if (len == 4 && strncmp(arg, "help", 4) == 0 && !eq) {
                        vc_print_command_help(ctx, cmd, cmd->help_long);
                        return VC_PARSE_DONE;
                }
                if (cmd->version && len == 7 && strncmp(arg, "version", 7) == 0 && !eq) {
                        print_version(ctx, cmd);
                        return VC_PARSE_DONE;
                }
                return unexpected_argument(ctx, cmd, argv[*i]);
        }
        if (!o->value_name) {
                if (eq) {
                        g_autofree char *disp = option_display(o);
                        g_autofree char *msg = g_strdup_printf("The value '%s' was provided to '%s' but it "
                                                               "wasn't expecting any more values",
                                                               eq + 1, disp);
                        return vc_usage_error(ctx, cmd->usage, msg);
                }
                return store_value(ctx, cmd, o, NULL, args);
        }
        if (eq)
                return store_value(ctx, cmd, o, eq + 1, args);
        return store_next_value(ctx, cmd, o, argc, argv, i, args);
}

static int parse_short_cluster(const VcContext *ctx, const VcCommand *cmd, int argc, char **argv, int *i,
                               VcArgs *args)
{
        const char *arg = argv[*i];

        for (const char *c = arg + 1; *c; c++) {
                const VcOption *o = vc_find_short(cmd, *c);
                int r;

                if (!o) {
                        g_autofree char *bad = g_strdup_printf("-%c", *c);
                        if (*c == 'h') {
                                vc_print_command_help(ctx, cmd, cmd->help_short);
                                return VC_PARSE_DONE;
                        }
                        if (*c == 'V' && cmd->version) {
                                print_version(ctx, cmd);
                                return VC_PARSE_DONE;
                        }
                        return unexpected_argument(ctx, cmd, bad);
                }
                if (!o->value_name) {
                        r = store_value(ctx, cmd, o, NULL, args);
                        if (r < 0)
                                return r;
                        continue;
                }
                /* An option with a value takes the rest of the cluster ("-pP", "-p=P") or the next argument.
                 */
                if (c[1] == '=')
                        return store_value(ctx, cmd, o, c + 2, args);
                if (c[1])
                        return store_value(ctx, cmd, o, c + 1, args);
                return store_next_value(ctx, cmd, o, argc, argv, i, args);
        }
        return 0;
}

int vc_parse_command(const VcContext *ctx, const VcCommand *cmd, int argc, char **argv, VcArgs *args)
{
        bool options_done = false;

        for (int i = 0; i < argc; i++) {
                const char *arg = argv[i];
                int r;

                if (options_done || arg[0] != '-' || strcmp(arg, "-") == 0)
                        return unexpected_argument(ctx, cmd, arg);
                if (strcmp(arg, "--") == 0) {
                        options_done = true;
                        continue;
                }
                if (arg[1] == '-')
                        r = parse_long(ctx, cmd, argc, argv, &i, args);
                else
                        r = parse_short_cluster(ctx, cmd, argc, argv, &i, args);
                if (r != 0)
                        return r;
        }
        if (args->missing_value)
                return store_value(ctx, cmd, args->missing_value, NULL, args);
        return VC_PARSE_RUN;
}

void vc_append_table(GString *out, GPtrArray *cells, int n_cols)
{
        g_autofree size_t *width = g_new0(size_t, n_cols);

        for (guint i = 0; i < cells->len; i++)
                width[i % n_cols] = MAX(width[i % n_cols], (size_t)g_utf8_strlen(cells->pdata[i], -1));
        for (guint i = 0; i < cells->len; i++) {
                const char *cell = cells->pdata[i];
                int c = i % n_cols;

                g_string_append(out, cell);
                if (c == n_cols - 1) {
                        g_string_append_c(out, '\n');
                        continue;
                }
                for (size_t pad = g_utf8_strlen(cell, -1); pad < width[c] + 2; pad++)
                        g_string_append_c(out, ' ');
        }
}

const char *vc_vgpud_path(const char *var, const char *fallback)
{
        const char *e = getenv(var);

        if (e)
                return *e ? e : NULL;
        if (getenv("DBUS_SYSTEM_BUS_ADDRESS"))
                return NULL;
        return fallback;
}

int vc_run_command(const VcContext *ctx, const VcCommand *cmd, int argc, char **argv)
{
        VcArgs args = {};
        int r;

        if (cmd->main)
                return cmd->main(ctx, cmd, argc, argv);
        r = vc_parse_command(ctx, cmd, argc, argv, &args);
        if (r == VC_PARSE_RUN && cmd->check && cmd->check(ctx, cmd, &args) < 0)
                r = -EINVAL;
        if (r == VC_PARSE_RUN)
                r = cmd->run(ctx, &args) < 0 ? 1 : 0;
        else if (r == VC_PARSE_DONE)
                r = 0;
        else
                r = 2;
        vc_args_clear(&args);
        return r;
}
