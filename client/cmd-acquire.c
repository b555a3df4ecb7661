/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `vgpuctl acquire PROFILE --owner OWNER ...`: Manager.Acquire through vc_change_call_answer() (the
 * front makes root's itself). Prints the UUID on one line (u=$(vgpuctl acquire ...)), or with --json
 * {"uuid","parent","type","device"}. */

#include <errno.h>
#include <string.h>

#include "alloc-call.h"
#include "cli-positional.h"
#include "cli.h"
#include "json-writer.h"
#include "macro.h"

enum {
        OPT_OWNER,
        OPT_SLOT,
        OPT_UUID,
        OPT_VM_UUID,
        OPT_PARENT,
        OPT_BOARD,
        OPT_NUMA_NODE,
        OPT_POLICY,
        OPT_PERSIST,
        OPT_DRY_RUN,
        OPT_FORCE,
        OPT_TIMEOUT,
        OPT_JSON,
        OPT_MIXED_SIZE,
};

static const VcOption acquire_options[] = {
        {OPT_BOARD, "board", 0, "BOARD", VC_VALUE_STRING},
        {OPT_DRY_RUN, "dry-run", 0, NULL, VC_VALUE_STRING},
        {OPT_FORCE, "force", 'f', NULL, VC_VALUE_STRING},
        {OPT_JSON, "json", 0, NULL, VC_VALUE_STRING},
        {OPT_MIXED_SIZE, "mixed-size", 0, NULL, VC_VALUE_STRING},
        {OPT_NUMA_NODE, "numa-node", 0, "NODE", VC_VALUE_U32},
        {OPT_OWNER, "owner", 0, "OWNER", VC_VALUE_STRING},
        {OPT_PARENT, "parent", 'p', "PARENT", VC_VALUE_STRING},
        {OPT_PERSIST, "persist", 0, NULL, VC_VALUE_STRING},
        {OPT_POLICY, "policy", 0, "POLICY", VC_VALUE_STRING},
        {OPT_SLOT, "slot", 0, "SLOT", VC_VALUE_U32},
        {OPT_TIMEOUT, "timeout-ms", 0, "MS", VC_VALUE_U32},
        {OPT_UUID, "uuid", 'u', "UUID", VC_VALUE_UUID},
        {OPT_VM_UUID, "vm-uuid", 0, "UUID", VC_VALUE_UUID},
        VC_OPTION_END,
};

int vc_check_placement(const VcContext *ctx, const VcCommand *cmd, const VcArgs *args, int policy, int numa)
{
        if (args->set[policy] && strcmp(args->value[policy], "pack") != 0 &&
            strcmp(args->value[policy], "spread") != 0) {
                g_autofree char *msg = g_strdup_printf(
                        "Invalid value \"%s\" for '--policy <POLICY>': pack or spread", args->value[policy]);
                return vc_usage_error(ctx, NULL, msg);
        }
        if (args->set[numa] && vc_arg_u32(args, numa) > INT32_MAX) {
                g_autofree char *msg = g_strdup_printf(
                        "Invalid value \"%s\" for '--numa-node <NODE>': too large", args->value[numa]);
                return vc_usage_error(ctx, NULL, msg);
        }
        return 0;
}

static int check_acquire(const VcContext *ctx, const VcCommand *cmd, const VcArgs *args)
{
        static const int owner[] = {OPT_OWNER};
        int r;

        r = vc_check_conflict(ctx, cmd, args, OPT_UUID, OPT_VM_UUID);
        if (r >= 0)
                r = vc_check_missing(ctx, cmd, owner, args->set[OPT_OWNER] ? 0 : 1);
        if (r >= 0)
                r = vc_check_placement(ctx, cmd, args, OPT_POLICY, OPT_NUMA_NODE);
        return r;
}

static int print_acquired(const VcAcquired *a, bool json)
{
        g_autoptr(GString) out = g_string_new(NULL);
        JsonWriter w;

        if (!json) {
                g_string_append_printf(out, "%s\n", a->uuid);
                return vc_write_stdout(out->str, out->len);
        }
        json_writer_init(&w, out, true);
        json_writer_begin_object(&w);
        json_writer_key(&w, "uuid");
        json_writer_string(&w, a->uuid);
        json_writer_key(&w, "parent");
        json_writer_string(&w, a->parent);
        json_writer_key(&w, "type");
        json_writer_string(&w, a->type);
        json_writer_key(&w, "device");
        json_writer_string(&w, a->device);
        json_writer_end_object(&w);
        g_string_append_c(out, '\n');
        return vc_write_stdout(out->str, out->len);
}

static int run_acquire(const VcContext *ctx, const VcArgs *args, GPtrArray *positional)
{
        _cleanup_(vc_acquired_clear) VcAcquired got = {};
        g_auto(GStrv) answer = NULL;
        VcChangeCall call;
        VcAcquireRequest req = {
                .profile = positional->pdata[0],
                .owner = args->value[OPT_OWNER],
                .place =
                        {
                                .parent = args->value[OPT_PARENT],
                                .board = args->value[OPT_BOARD],
                                .policy = args->value[OPT_POLICY],
                                .has_numa_node = args->set[OPT_NUMA_NODE],
                                .mixed_size = args->set[OPT_MIXED_SIZE],
                        },
                .has_slot = args->set[OPT_SLOT],
                .uuid = args->value[OPT_UUID],
                .vm_uuid = args->value[OPT_VM_UUID],
                .persist = args->set[OPT_PERSIST],
                .dry_run = args->set[OPT_DRY_RUN],
                .force = args->set[OPT_FORCE],
                .has_timeout = args->set[OPT_TIMEOUT],
        };
        int r;

        if (req.place.has_numa_node)
                req.place.numa_node = (int32_t)vc_arg_u32(args, OPT_NUMA_NODE);
        if (req.has_slot)
                req.slot = vc_arg_u32(args, OPT_SLOT);
        if (req.has_timeout)
                req.timeout_ms = vc_arg_u32(args, OPT_TIMEOUT);

        vc_acquire_call_init(&call, &req);
        r = vc_change_call_answer(&call, &answer);
        if (r < 0)
                return r;
        vc_acquired_from_answer(answer, &got);
        return print_acquired(&got, args->set[OPT_JSON]);
}

static int main_acquire(const VcContext *ctx, const VcCommand *cmd, int argc, char **argv)
{
        static const char *const names[] = {"PROFILE"};

        return vc_run_with_positional(ctx, cmd, argc, argv, 1, 1, names, run_acquire);
}

#define ACQUIRE_USAGE "{bin} acquire [OPTIONS] --owner <OWNER> <PROFILE>"

const VcCommand vc_command_acquire = {
        .name = "acquire",
        .about = "Give an owner a running vGPU, placed where it fits best",
        .usage = ACQUIRE_USAGE,
        .vgpuctl_only = true,
        .options = acquire_options,
        .check = check_acquire,
        .main = main_acquire,
        .help_short =
                "vgpuctl-acquire \n"
                "Give an owner a running vGPU, placed where it fits best\n"
                "\n"
                "USAGE:\n"
                "    " ACQUIRE_USAGE "\n"
                "\n"
                "ARGS:\n"
                "    <PROFILE>    Type id, name, short name (A16-2Q) or size and series (2Q)\n"
                "\n"
                "OPTIONS:\n"
                "        --board <BOARD>        Only cores of this board\n"
                "        --dry-run              Only say where it would go\n"
                "    -f, --force                Go on past a refusing callout script\n"
                "    -h, --help                 Print help information\n"
                "        --json                 Print uuid, parent, type and device as JSON\n"
                "        --mixed-size           On a GPU in mixed-size mode (an empty one is switched)\n"
                "        --numa-node <NODE>     Only parents on this NUMA node\n"
                "        --owner <OWNER>        Who holds the vGPU, e.g. libvirt:vm1\n"
                "    -p, --parent <PARENT>      Only this parent, or the parents of this core\n"
                "        --persist              Also store a definition (start auto)\n"
                "        --policy <POLICY>      pack (default) or spread\n"
                "        --slot <SLOT>          The owner's slot number (default 0)\n"
                "        --timeout-ms <MS>      How long to wait for the kernel\n"
                "    -u, --uuid <UUID>          The UUID to create\n"
                "        --vm-uuid <UUID>       Derive the UUID from this VM UUID and the slot\n",
        .help_long = "vgpuctl-acquire \n"
                     "Give an owner a running vGPU, placed where it fits best\n"
                     "\n"
                     "vgpud chooses the GPU core by its rules (one framebuffer size per core unless the\n"
                     "driver allows mixing) and the policy, creates the device and remembers the owner.\n"
                     "Acquiring the same owner and slot again returns the same device. The UUID is printed\n"
                     "on one line.\n"
                     "\n"
                     "USAGE:\n"
                     "    " ACQUIRE_USAGE "\n"
                     "\n"
                     "ARGS:\n"
                     "    <PROFILE>\n"
                     "            Type id (nvidia-558), full name (NVIDIA A40-8Q), short name (A40-8Q) or\n"
                     "            size and series (8Q)\n"
                     "\n"
                     "OPTIONS:\n"
                     "        --board <BOARD>\n"
                     "            Only cores of this board (the BOARD column of `{bin} status`)\n"
                     "\n"
                     "        --dry-run\n"
                     "            Only say where it would go: nothing is created or stored\n"
                     "\n"
                     "    -f, --force\n"
                     "            Go on past a refusing callout script\n"
                     "\n"
                     "    -h, --help\n"
                     "            Print help information\n"
                     "\n"
                     "        --json\n"
                     "            Print uuid, parent, type and device as JSON\n"
                     "\n"
                     "        --mixed-size\n"
                     "            Only on an NVIDIA VF GPU in mixed-size mode, or an empty one, which is\n"
                     "            switched to it first; with --persist the definition asks for it\n"
                     "\n"
                     "        --numa-node <NODE>\n"
                     "            Only parents on this NUMA node\n"
                     "\n"
                     "        --owner <OWNER>\n"
                     "            Who holds the vGPU, e.g. libvirt:vm1\n"
                     "\n"
                     "    -p, --parent <PARENT>\n"
                     "            Only this parent, or the parents of this GPU core (a PF address)\n"
                     "\n"
                     "        --persist\n"
                     "            Also store a definition (start auto); release removes it\n"
                     "\n"
                     "        --policy <POLICY>\n"
                     "            pack (default): fill cores already at that size first; spread: the\n"
                     "            core with the fewest vGPUs\n"
                     "\n"
                     "        --slot <SLOT>\n"
                     "            The owner's slot number (default 0)\n"
                     "\n"
                     "        --timeout-ms <MS>\n"
                     "            How long to wait for the kernel (default 10000)\n"
                     "\n"
                     "    -u, --uuid <UUID>\n"
                     "            The UUID to create\n"
                     "\n"
                     "        --vm-uuid <UUID>\n"
                     "            Derive the UUID from this VM UUID and the slot (always the same one)\n",
};
