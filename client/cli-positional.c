/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Splitting vgpuctl's own commands' arguments into options and positional arguments (see
 * cli-positional.h). */

#include <errno.h>
#include <string.h>

#include "cli-positional.h"
#include "macro.h"

/* As cli.c: an option's value is the next argument unless that looks like an option ("-" is a value). */
static bool takes_next(int argc, char **argv, int i)
{
        return i + 1 < argc && (argv[i + 1][0] != '-' || strcmp(argv[i + 1], "-") == 0);
}

int vc_parse_with_positional(const VcContext *ctx, const VcCommand *cmd, int argc, char **argv, size_t min,
                             size_t max, const char *const *names, VcArgs *args, GPtrArray **ret_positional)
{
        g_autoptr(GPtrArray) options = g_ptr_array_new();
        g_autoptr(GPtrArray) positional = g_ptr_array_new();
        int r;

        for (int i = 0; i < argc; i++) {
                const char *arg = argv[i];

                if (strcmp(arg, "--") == 0) {
                        for (i++; i < argc; i++)
                                g_ptr_array_add(positional, argv[i]);
                        break;
                }
                if (arg[0] != '-' || strcmp(arg, "-") == 0) {
                        g_ptr_array_add(positional, argv[i]);
                        continue;
                }
                g_ptr_array_add(options, argv[i]);
                if (arg[1] == '-') {
                        const VcOption *o = vc_find_long(cmd, arg + 2, strlen(arg + 2));
                        if (o && o->value_name && takes_next(argc, argv, i))
                                g_ptr_array_add(options, argv[++i]);
                        continue;
                }
                for (const char *c = arg + 1; *c; c++) {
                        const VcOption *o = vc_find_short(cmd, *c);
                        if (!o)
                                break; /* cli.c reports it */
                        if (!o->value_name)
                                continue;
                        if (!c[1] && takes_next(argc, argv, i))
                                g_ptr_array_add(options, argv[++i]);
                        break;
                }
        }

        r = vc_parse_command(ctx, cmd, (int)options->len, (char **)options->pdata, args);
        if (r != VC_PARSE_RUN)
                return r;
        if (cmd->check && cmd->check(ctx, cmd, args) < 0)
                return -EINVAL;
        if (positional->len > max) {
                g_autofree char *msg = g_strdup_printf(
                        "Found argument '%s' which wasn't expected, or isn't valid in this context",
                        (const char *)positional->pdata[max]);
                return vc_usage_error(ctx, cmd->usage, msg);
        }
        if (positional->len < min) {
                g_autoptr(GString) msg = g_string_new("The following required arguments were not provided:");
                for (size_t i = positional->len; i < min; i++)
                        g_string_append_printf(msg, "\n    <%s>", names[i]);
                return vc_usage_error(ctx, cmd->usage, msg->str);
        }
        *ret_positional = g_steal_pointer(&positional);
        return VC_PARSE_RUN;
}

int vc_run_with_positional(const VcContext *ctx, const VcCommand *cmd, int argc, char **argv, size_t min,
                           size_t max, const char *const *names,
                           int (*run)(const VcContext *ctx, const VcArgs *args, GPtrArray *positional))
{
        g_autoptr(GPtrArray) positional = NULL;
        VcArgs args = {};
        int r;

        r = vc_parse_with_positional(ctx, cmd, argc, argv, min, max, names, &args, &positional);
        if (r == VC_PARSE_RUN) {
                r = run(ctx, &args, positional);
                r = r < 0 ? 1 : r;
        } else if (r == VC_PARSE_DONE)
                r = 0;
        else
                r = 2;
        vc_args_clear(&args);
        return r;
}
