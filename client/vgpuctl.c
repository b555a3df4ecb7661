/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vgpuctl: vgpud's command-line client, speaking mdevctl's command line. main(): pick the subcommand
 * (or behave as `list` when invoked as lsmdev), handle the top-level -h/--help/-V/--version/help, and
 * dispatch. Exit codes as mdevctl: 0 success, 1 error ("Error: ..." on stderr), 2 bad command line. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "cli.h"
#include "config.h"
#include "macro.h"

/* Every subcommand; `help` is handled here. Keep sorted by name: the help lists them in this order. */
static const VcCommand *const commands[] = {
        &vc_command_acquire, &vc_command_apply,  &vc_command_define, &vc_command_hook,     &vc_command_list,
        &vc_command_metrics, &vc_command_modify, &vc_command_plan,   &vc_command_release,  &vc_command_start,
        &vc_command_status,  &vc_command_stop,   &vc_command_types,  &vc_command_undefine,
};

#define TOP_USAGE "{bin} <SUBCOMMAND>"

static const char help_help[] = "vgpuctl-help \n"
                                "Print this message or the help of the given subcommand(s)\n"
                                "\n"
                                "USAGE:\n"
                                "    {bin} help [SUBCOMMAND]...\n"
                                "\n"
                                "ARGS:\n"
                                "    <SUBCOMMAND>...    The subcommand whose help message to display\n";

static bool command_visible(const VcContext *ctx, const VcCommand *c)
{
        return !(ctx->compat && c->vgpuctl_only);
}

static const VcCommand *find_command(const VcContext *ctx, const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(commands[i]->name, name) == 0)
                        return commands[i];
        return NULL;
}

/* The top-level help, laid out as clap does: subcommand names padded to the longest plus four. */
static char *top_help(const VcContext *ctx)
{
        GString *s = g_string_new(NULL);
        size_t width = strlen("help");
        bool help_done = false;

        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (command_visible(ctx, commands[i]))
                        width = MAX(width, strlen(commands[i]->name));
        width += 4;

        g_string_append(s, "vgpuctl {version}\n"
                           "A mediated device management utility for Linux\n"
                           "\n"
                           "USAGE:\n"
                           "    {bin} <SUBCOMMAND>\n"
                           "\n"
                           "OPTIONS:\n"
                           "    -h, --help       Print help information\n"
                           "    -V, --version    Print version information\n"
                           "\n"
                           "SUBCOMMANDS:\n");
        for (size_t i = 0; i <= ELEMENTSOF(commands); i++) {
                const VcCommand *c = i < ELEMENTSOF(commands) ? commands[i] : NULL;

                if (!help_done && (!c || strcmp(c->name, "help") > 0)) {
                        g_string_append_printf(s, "    %-*s%s\n", (int)width, "help",
                                               "Print this message or the help of the given subcommand(s)");
                        help_done = true;
                }
                if (c && command_visible(ctx, c))
                        g_string_append_printf(s, "    %-*s%s\n", (int)width, c->name, c->about);
        }
        return g_string_free(s, FALSE);
}

/* The top-level help on stdout, or on stderr when no subcommand was given (clap then exits 2). */
static void print_top_help(const VcContext *ctx, FILE *f)
{
        g_autofree char *text = top_help(ctx);
        g_autofree char *expanded = vc_expand(ctx, text);

        fputs(expanded, f);
}

/* `help [SUBCOMMAND]...` */
static int run_help(const VcContext *ctx, int argc, char **argv)
{
        const VcCommand *c;

        if (argc == 0) {
                print_top_help(ctx, stdout);
                return 0;
        }
        if (strcmp(argv[0], "help") == 0 && argc == 1) {
                vc_print_help(ctx, help_help);
                return 0;
        }
        c = find_command(ctx, argv[0]);
        if (!c) {
                g_autofree char *msg = g_strdup_printf("The subcommand '%s' wasn't recognized", argv[0]);
                vc_usage_error(ctx, TOP_USAGE, msg);
                return 2;
        }
        if (argc > 1) {
                /* Our subcommands have no subcommands of their own. */
                g_autofree char *msg = g_strdup_printf("The subcommand '%s' wasn't recognized", argv[1]);
                vc_usage_error(ctx, c->usage, msg);
                return 2;
        }
        vc_print_command_help(ctx, c, c->help_long);
        return 0;
}

int main(int argc, char **argv)
{
        g_autofree char *bin = g_path_get_basename(argc > 0 && argv[0] ? argv[0] : "vgpuctl");
        VcContext ctx = {.bin = bin};
        const VcCommand *cmd;
        const char *arg;
        int r;

        /* No setlocale(): mdevctl (Rust) never calls it, so its messages (strerror too) are the C
         * locale's, and loading the locale's files would cost about 25 system calls at every start. */

        /* Like mdevctl: any name ending in "lsmdev" means `list`. */
        if (g_str_has_suffix(bin, "lsmdev")) {
                ctx.compat = true;
                r = vc_run_command(&ctx, &vc_command_lsmdev, argc - 1, argv + 1);
                fflush(stdout);
                return r;
        }
        ctx.compat = strcmp(bin, "mdevctl") == 0;

        if (argc < 2) {
                print_top_help(&ctx, stderr);
                return 2;
        }
        arg = argv[1];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
                print_top_help(&ctx, stdout);
                r = 0;
        } else if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
                vc_print_help(&ctx, "vgpuctl {version}\n");
                r = 0;
        } else if (strcmp(arg, "help") == 0) {
                r = run_help(&ctx, argc - 2, argv + 2);
        } else if ((cmd = find_command(&ctx, arg))) {
                r = vc_run_command(&ctx, cmd, argc - 2, argv + 2);
        } else {
                g_autofree char *msg = NULL;
                if (arg[0] == '-')
                        msg = g_strdup_printf(
                                "Found argument '%s' which wasn't expected, or isn't valid in this "
                                "context\n\n"
                                "\tIf you tried to supply `%s` as a value rather than a flag, use `-- %s`",
                                arg, arg, arg);
                else
                        msg = g_strdup_printf(
                                "Found argument '%s' which wasn't expected, or isn't valid in this context",
                                arg);
                vc_usage_error(&ctx, TOP_USAGE, msg);
                r = 2;
        }
        fflush(stdout);
        return r;
}
