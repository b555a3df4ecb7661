/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `vgpuctl release (UUID | --owner OWNER [--slot N]) [--force] [--timeout-ms MS]`: Manager.Release
 * through vc_change_call_answer() (the front makes root's itself); `vgpuctl release --idle
 * [--older-than DURATION] [--dry-run]`: vc_release_idle() (Manager.ReleaseIdle, vgpuctl-full only).
 * Both print the released UUIDs, one per line (vc_print_released()). */

#include <errno.h>
#include <string.h>

#include "alloc-call.h"
#include "cli-positional.h"
#include "cli.h"
#include "lifecycle-client.h"
#include "macro.h"
#include "uuid.h"

enum {
        OPT_OWNER,
        OPT_SLOT,
        OPT_FORCE,
        OPT_TIMEOUT,
        OPT_IDLE,
        OPT_OLDER_THAN,
        OPT_DRY_RUN,
};

static const VcOption release_options[] = {
        {OPT_DRY_RUN, "dry-run", 0, NULL, VC_VALUE_STRING},
        {OPT_FORCE, "force", 'f', NULL, VC_VALUE_STRING},
        {OPT_IDLE, "idle", 0, NULL, VC_VALUE_STRING},
        {OPT_OLDER_THAN, "older-than", 0, "DURATION", VC_VALUE_STRING},
        {OPT_OWNER, "owner", 0, "OWNER", VC_VALUE_STRING},
        {OPT_SLOT, "slot", 0, "SLOT", VC_VALUE_U32},
        {OPT_TIMEOUT, "timeout-ms", 0, "MS", VC_VALUE_U32},
        VC_OPTION_END,
};

#define RELEASE_USAGE VC_RELEASE_USAGE

int vc_print_released(char **released)
{
        g_autoptr(GString) out = g_string_new(NULL);

        for (char **u = released; u && *u; u++)
                g_string_append_printf(out, "%s\n", *u);
        return vc_write_stdout(out->str, out->len);
}

static int run_release(const VcContext *ctx, const VcArgs *args, GPtrArray *positional)
{
        g_auto(GStrv) released = NULL;
        VcChangeCall call;
        char uuid[VGPU_UUID_STRING_MAX];
        const char *what;
        uint32_t slot = 0, timeout = 0;
        int r;

        if (args->set[OPT_TIMEOUT])
                timeout = vc_arg_u32(args, OPT_TIMEOUT);
        if (args->set[OPT_IDLE])
                return vc_release_idle(ctx,
                                       positional->len > 0 || args->set[OPT_OWNER] || args->set[OPT_SLOT],
                                       args->set[OPT_OLDER_THAN] ? args->value[OPT_OLDER_THAN] : NULL,
                                       args->set[OPT_DRY_RUN], args->set[OPT_FORCE],
                                       args->set[OPT_TIMEOUT] ? &timeout : NULL);
        if (args->set[OPT_OLDER_THAN] || args->set[OPT_DRY_RUN]) {
                vc_usage_error(ctx, RELEASE_USAGE, "'--older-than' and '--dry-run' go with '--idle'");
                return 2;
        }
        if (positional->len > 0 && args->set[OPT_OWNER]) {
                vc_usage_error(ctx, RELEASE_USAGE,
                               "The argument '<UUID>' cannot be used with '--owner <OWNER>'");
                return 2;
        }
        if (positional->len == 0 && !args->set[OPT_OWNER]) {
                vc_usage_error(ctx, RELEASE_USAGE,
                               "The following required arguments were not provided:\n    <UUID|--owner "
                               "<OWNER>|--idle>");
                return 2;
        }
        if (args->set[OPT_SLOT] && !args->set[OPT_OWNER]) {
                vc_usage_error(ctx, RELEASE_USAGE,
                               "The argument '--slot <SLOT>' requires '--owner <OWNER>'");
                return 2;
        }
        if (positional->len > 0) {
                if (vgpu_uuid_parse(positional->pdata[0], uuid) < 0)
                        return vc_error("Not a UUID: '%s' (to release by owner, use --owner)",
                                        (const char *)positional->pdata[0]);
                what = uuid;
        } else
                what = args->value[OPT_OWNER];
        if (args->set[OPT_SLOT])
                slot = vc_arg_u32(args, OPT_SLOT);

        vc_release_call_init(&call, what, args->set[OPT_SLOT] ? &slot : NULL, args->set[OPT_FORCE],
                             args->set[OPT_TIMEOUT] ? &timeout : NULL);
        r = vc_change_call_answer(&call, &released);
        if (r < 0)
                return r;
        return vc_print_released(released);
}

static int main_release(const VcContext *ctx, const VcCommand *cmd, int argc, char **argv)
{
        static const char *const names[] = {"UUID"};

        return vc_run_with_positional(ctx, cmd, argc, argv, 0, 1, names, run_release);
}

const VcCommand vc_command_release = {
        .name = "release",
        .about = "Give back vGPUs an owner acquired, or remove idle ones",
        .usage = RELEASE_USAGE,
        .vgpuctl_only = true,
        .options = release_options,
        .main = main_release,
        .help_short =
                "vgpuctl-release \n"
                "Give back vGPUs an owner acquired, or remove idle ones\n"
                "\n"
                "USAGE:\n"
                "    " RELEASE_USAGE "\n"
                "\n"
                "ARGS:\n"
                "    <UUID>    A leased device\n"
                "\n"
                "OPTIONS:\n"
                "        --dry-run                 With --idle: only list what would go\n"
                "    -f, --force                   Remove even when in use, past a refusing callout\n"
                "    -h, --help                    Print help information\n"
                "        --idle                    Every idle vGPU (no lease, definition or process)\n"
                "        --older-than <DURATION>   With --idle: idle at least this long (90s, 15m, 2h)\n"
                "        --owner <OWNER>           Every device this owner holds\n"
                "        --slot <SLOT>             Only the owner's device in this slot\n"
                "        --timeout-ms <MS>         How long to wait for the kernel\n",
        .help_long = "vgpuctl-release \n"
                     "Give back vGPUs an owner acquired, or remove idle ones\n"
                     "\n"
                     "Each device acquire created is removed, with the definition it stored, and the\n"
                     "lease is dropped. A device whose VFIO group a process holds open is refused\n"
                     "unless --force is given. The released UUIDs are printed, one per line.\n"
                     "\n"
                     "With --idle, every running vGPU that nobody uses (no lease, no definition, no\n"
                     "process holding its VFIO group), whoever made it, is removed; --older-than only\n"
                     "takes those idle at least that long, --dry-run only lists them. A device in use\n"
                     "or defined is never removed; `vgpuctl status` shows who uses each.\n"
                     "\n"
                     "USAGE:\n"
                     "    " RELEASE_USAGE "\n"
                     "\n"
                     "ARGS:\n"
                     "    <UUID>\n"
                     "            A leased device\n"
                     "\n"
                     "OPTIONS:\n"
                     "        --dry-run\n"
                     "            With --idle: only list what would be removed\n"
                     "\n"
                     "    -f, --force\n"
                     "            Remove even when in use; also go on past a refusing callout script\n"
                     "\n"
                     "    -h, --help\n"
                     "            Print help information\n"
                     "\n"
                     "        --idle\n"
                     "            Every idle vGPU: running, with no lease, no definition and no process\n"
                     "            holding it\n"
                     "\n"
                     "        --older-than <DURATION>\n"
                     "            With --idle: only those idle at least this long (90s, 15m, 2h, 7d)\n"
                     "\n"
                     "        --owner <OWNER>\n"
                     "            Every device this owner holds\n"
                     "\n"
                     "        --slot <SLOT>\n"
                     "            Only the owner's device in this slot\n"
                     "\n"
                     "        --timeout-ms <MS>\n"
                     "            How long to wait for the kernel (default 10000)\n",
};
