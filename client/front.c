/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vgpuctl's front: every start of vgpuctl pays for each shared library it maps, and libsystemd brings
 * six (HACKING.md, "Benchmarks and profiling"). This program links neither libsystemd nor anything
 * that needs it: it serves `list`, `types` and lsmdev from the snapshot vgpud publishes (common/
 * snapshot.h), and root's define, modify, undefine, start, stop, acquire and release (not --idle)
 * over vgpud's private socket with
 * its own minimal D-Bus (front-wire.h, wire.h), with the same parser, formatting and messages as
 * vgpuctl-full (it is the same code: cli.c, cmd-*.c, lifecycle-client.c), and exec()s vgpuctl-full
 * with the same command line for everything else: other commands, --vf, help, a snapshot it cannot
 * use (vgpud not running: D-Bus starts it), a change it cannot send itself (not root, no socket). */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "alloc-call.h"
#include "cli.h"
#include "front-wire.h"
#include "read-source.h"

static char **front_argv;

/* vgpuctl-full next to this program (the build tree), else where it is installed. */
static const char *full_path(char buf[static PATH_MAX])
{
        ssize_t n = readlink("/proc/self/exe", buf, PATH_MAX - 1);
        char *slash;

        if (n > 0) {
                buf[n] = '\0';
                slash = strrchr(buf, '/');
                if (slash && (size_t)(slash - buf) + sizeof("/vgpuctl-full") <= PATH_MAX) {
                        strcpy(slash, "/vgpuctl-full");
                        if (access(buf, X_OK) == 0)
                                return buf;
                }
        }
        return VGPUCTL_FULL_PATH;
}

/* Replace this process by vgpuctl-full, given the front's own command line (argv[0] too, so that it
 * behaves as mdevctl or lsmdev when called so). Returns only on failure: prints the error, returns a
 * negative errno. */
int vc_front_exec_full(void)
{
        char buf[PATH_MAX];
        const char *path = full_path(buf);
        int r;

        fflush(stdout);
        execv(path, front_argv);
        r = -errno;
        fprintf(stderr, "Error: cannot run %s: %s\n", path, strerror(-r));
        return r;
}

int vc_read_fallback(bool all, bool types, VcInventory **ret)
{
        return vc_front_exec_full();
}

/* The front does not make ReleaseIdle (it goes over the system bus): nothing is printed or read yet
 * when release's options are parsed, so vgpuctl-full gets the whole command line. */
int vc_release_idle(const VcContext *ctx, bool other_selection, const char *older_than, bool dry_run,
                    bool force, const uint32_t *timeout_ms)
{
        return vc_front_exec_full();
}

/* The changes the front makes itself when it reaches vgpud's private socket. */
static const VcCommand *change_command(const char *name)
{
        static const VcCommand *const changes[] = {
                &vc_command_define, &vc_command_modify,  &vc_command_undefine, &vc_command_start,
                &vc_command_stop,   &vc_command_acquire, &vc_command_release};

        for (size_t i = 0; i < G_N_ELEMENTS(changes); i++)
                if (strcmp(changes[i]->name, name) == 0)
                        return changes[i];
        return NULL;
}

int main(int argc, char **argv)
{
        const VcCommand *cmd;
        g_autofree char *bin = g_path_get_basename(argc > 0 && argv[0] ? argv[0] : "vgpuctl");
        VcContext ctx = {.bin = bin};
        int r;

        front_argv = argv;
        /* as vgpuctl.c's main() decides: lsmdev means `list`, mdevctl means mdevctl's help texts */
        if (g_str_has_suffix(bin, "lsmdev")) {
                ctx.compat = true;
                r = vc_run_command(&ctx, &vc_command_lsmdev, argc - 1, argv + 1);
        } else if (argc >= 2 && (strcmp(argv[1], "list") == 0 || strcmp(argv[1], "types") == 0)) {
                ctx.compat = strcmp(bin, "mdevctl") == 0;
                r = vc_run_command(&ctx, strcmp(argv[1], "list") == 0 ? &vc_command_list : &vc_command_types,
                                   argc - 2, argv + 2);
        } else if (argc >= 2 && (cmd = change_command(argv[1])) && vc_front_wire_open() >= 0) {
                ctx.compat = strcmp(bin, "mdevctl") == 0;
                r = vc_run_command(&ctx, cmd, argc - 2, argv + 2);
        } else
                r = vc_front_exec_full() < 0 ? 1 : 0;
        fflush(stdout);
        return r;
}
