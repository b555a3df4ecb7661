/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `vgpuctl modify`: mdevctl 1.2.0's modify (-t, -a/-m, --addattr N --value V [-i I], --delattr [-i I])
 * plus 1.3.0's `--jsonfile F [--defined] [--live]` and -f, as one Manager.Modify(parent, uuid, changes,
 * options) call: vgpud applies the changes to the stored definition in one atomic write (mdevctl
 * rewrites the file in place, and loses updates under concurrency).
 *
 * As in 1.2.0: `modify -u U` with nothing to change rewrites the definition and succeeds; --value
 * without --addattr and --index alone are ignored; --delattr without --index on no attributes does
 * nothing. Unlike 1.2.0, `--delattr --index N` with N == the number of attributes is an error, not a
 * crash. */

#include <errno.h>
#include <limits.h>

#include "change-call.h"
#include "cli.h"
#include "lifecycle-client.h"
#include "macro.h"
#include "names.h"

enum {
        OPT_UUID,
        OPT_PARENT,
        OPT_TYPE,
        OPT_ADDATTR,
        OPT_DELATTR,
        OPT_INDEX,
        OPT_VALUE,
        OPT_AUTO,
        OPT_MANUAL,
        OPT_JSONFILE,
        OPT_DEFINED,
        OPT_LIVE,
        OPT_FORCE,
};

static const VcOption modify_options[] = {
        {OPT_AUTO, "auto", 'a', NULL, VC_VALUE_STRING},
        {OPT_ADDATTR, "addattr", 0, "attr_name", VC_VALUE_STRING},
        {OPT_DEFINED, "defined", 'd', NULL, VC_VALUE_STRING},
        {OPT_DELATTR, "delattr", 0, NULL, VC_VALUE_STRING},
        {OPT_FORCE, "force", 'f', NULL, VC_VALUE_STRING},
        {OPT_INDEX, "index", 'i', "INDEX", VC_VALUE_U32},
        {OPT_JSONFILE, "jsonfile", 0, "JSONFILE", VC_VALUE_STRING},
        {OPT_LIVE, "live", 'l', NULL, VC_VALUE_STRING},
        {OPT_MANUAL, "manual", 'm', NULL, VC_VALUE_STRING},
        {OPT_PARENT, "parent", 'p', "PARENT", VC_VALUE_STRING},
        {OPT_TYPE, "type", 't', "type", VC_VALUE_STRING},
        {OPT_UUID, "uuid", 'u', "UUID", VC_VALUE_UUID},
        {OPT_VALUE, "value", 0, "attr_value", VC_VALUE_STRING},
        VC_OPTION_END,
};

static int check_modify(const VcContext *ctx, const VcCommand *cmd, const VcArgs *args)
{
        /* 1.2.0's conflicts, then 1.3.0's for --jsonfile (which replaces the whole definition, so it
         * goes with none of the single changes) and --live (only with --jsonfile). */
        static const int conflicts[][2] = {
                {OPT_ADDATTR, OPT_DELATTR},  {OPT_MANUAL, OPT_AUTO},      {OPT_JSONFILE, OPT_TYPE},
                {OPT_JSONFILE, OPT_ADDATTR}, {OPT_JSONFILE, OPT_DELATTR}, {OPT_JSONFILE, OPT_INDEX},
                {OPT_JSONFILE, OPT_VALUE},   {OPT_JSONFILE, OPT_AUTO},    {OPT_JSONFILE, OPT_MANUAL},
                {OPT_LIVE, OPT_TYPE},        {OPT_LIVE, OPT_INDEX},       {OPT_LIVE, OPT_VALUE},
        };
        int missing[3];
        size_t n = 0;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(conflicts); i++) {
                r = vc_check_conflict(ctx, cmd, args, conflicts[i][0], conflicts[i][1]);
                if (r < 0)
                        return r;
        }
        if (!args->set[OPT_UUID])
                missing[n++] = OPT_UUID;
        if (args->set[OPT_ADDATTR] && !args->set[OPT_VALUE])
                missing[n++] = OPT_VALUE;
        if (args->set[OPT_LIVE] && !args->set[OPT_JSONFILE])
                missing[n++] = OPT_JSONFILE;
        return vc_check_missing(ctx, cmd, missing, n);
}

/* The index for the daemon: -1 (the end) when none was given. */
static int index_arg(const VcArgs *args, int *ret)
{
        unsigned i;

        if (!args->set[OPT_INDEX]) {
                *ret = -1;
                return 0;
        }
        i = vc_arg_u32(args, OPT_INDEX);
        if (i > INT_MAX)
                return vc_error("Attribute index %u is invalid", i);
        *ret = (int)i;
        return 0;
}

static void add_changes(VcChangeCall *call, const VcArgs *args, const char *json, int index)
{
        if (json)
                vc_change_call_add_change(call,
                                          (VcCallEntry){VGPUD_CHANGE_DEFINITION, VC_VARIANT_STRING, json});
        if (args->set[OPT_TYPE])
                vc_change_call_add_change(
                        call, (VcCallEntry){VGPUD_CHANGE_TYPE, VC_VARIANT_STRING, args->value[OPT_TYPE]});
        if (args->set[OPT_AUTO] || args->set[OPT_MANUAL])
                vc_change_call_add_change(call, (VcCallEntry){VGPUD_CHANGE_START, VC_VARIANT_STRING,
                                                              args->set[OPT_AUTO] ? "auto" : "manual"});
        if (args->set[OPT_ADDATTR])
                vc_change_call_add_change(call, (VcCallEntry){VGPUD_CHANGE_ADD_ATTRIBUTE,
                                                              VC_VARIANT_ATTRIBUTE, args->value[OPT_ADDATTR],
                                                              args->value[OPT_VALUE], .i = index});
        else if (args->set[OPT_DELATTR])
                vc_change_call_add_change(
                        call, (VcCallEntry){VGPUD_CHANGE_DEL_ATTRIBUTE, VC_VARIANT_INT32, .i = index});
}

static int run_modify(const VcContext *ctx, const VcArgs *args)
{
        g_autofree char *json = NULL;
        const char *parent = args->set[OPT_PARENT] ? args->value[OPT_PARENT] : "";
        const char *const strings[] = {parent, args->value[OPT_UUID]};
        VcChangeCall call;
        bool live = args->set[OPT_LIVE];
        int index = -1, r;

        /* mdevctl compares the parent with the directory names: "" matches none. */
        if (args->set[OPT_PARENT] && !*parent)
                return vc_error("Mediated device /%s is not defined", args->value[OPT_UUID]);
        if (args->set[OPT_JSONFILE]) {
                r = vc_read_jsonfile(args->value[OPT_JSONFILE], &json);
                if (r < 0)
                        return r;
        }
        r = index_arg(args, &index);
        if (r < 0)
                return r;

        vc_change_call_init(&call, "Modify", strings, 2);
        add_changes(&call, args, json, index);
        /* --live alone changes only the running device; with --defined both. */
        vc_change_call_add_options(&call, args->set[OPT_FORCE], true, !live || args->set[OPT_DEFINED], live);
        return vc_change_call(&call, NULL);
}

const VcCommand vc_command_modify = {
        .name = "modify",
        .about = "Modify the definition of a mediated device",
        .usage = "{bin} modify [OPTIONS] --uuid <UUID>",
        .options = modify_options,
        .check = check_modify,
        .run = run_modify,
        .help_short =
                "vgpuctl-modify \n"
                "Modify the definition of a mediated device\n"
                "\n"
                "USAGE:\n"
                "    {bin} modify [OPTIONS] --uuid <UUID>\n"
                "\n"
                "OPTIONS:\n"
                "    -a, --auto                   Device will be started automatically\n"
                "        --addattr <attr_name>    add a new attribute\n"
                "    -d, --defined                Modify the stored device definition\n"
                "        --delattr                Delete an attribute\n"
                "    -f, --force                  " FORCE_SHORT "\n"
                "    -h, --help                   Print help information\n"
                "    -i, --index <INDEX>          Index of the attribute to modify\n"
                "        --jsonfile <JSONFILE>    Specify device details in JSON format\n"
                "    -l, --live                   Modify the running device definition only unless used "
                "together with defined option\n"
                "    -m, --manual                 Device must be started manually\n"
                "    -p, --parent <PARENT>        Parent of the mdev to modify\n"
                "    -t, --type <type>            Modify the mdev type for this device\n"
                "    -u, --uuid <UUID>            UUID of the mdev to modify\n"
                "        --value <attr_value>     Value for the attribute specified by --addattr\n",
        .help_long =
                "vgpuctl-modify \n"
                "Modify the definition of a mediated device\n"
                "\n"
                "The 'parent' option further identifies a UUID if it is not unique. The parent for a device "
                "cannot be\n"
                "modified via this command; undefine and re-define should be used instead. An attribute can "
                "be added\n"
                "or removed, which correlates to a sysfs attribute under the created device. Unless an "
                "'index' value\n"
                "is provided, operations are performed at the end of the attribute list. 'value' is to be "
                "specified\n"
                "in the format that is accepted by the attribute. Upon device start, mdevctl will go "
                "through each\n"
                "attribute in order, writing the value into the corresponding sysfs attribute for the "
                "device. The\n"
                "startup mode of the device can also be selected, auto or manual.\n"
                "\n"
                "Running devices are unaffected by this command.\n"
                "\n"
                "USAGE:\n"
                "    {bin} modify [OPTIONS] --uuid <UUID>\n"
                "\n"
                "OPTIONS:\n"
                "    -a, --auto\n"
                "            Device will be started automatically\n"
                "\n"
                "        --addattr <attr_name>\n"
                "            add a new attribute\n"
                "\n"
                "    -d, --defined\n"
                "            Modify the stored device definition\n"
                "\n"
                "        --delattr\n"
                "            Delete an attribute\n"
                "\n"
                "    -f, --force\n"
                "            " FORCE_LONG "\n"
                "    -h, --help\n"
                "            Print help information\n"
                "\n"
                "    -i, --index <INDEX>\n"
                "            Index of the attribute to modify\n"
                "\n"
                "        --jsonfile <JSONFILE>\n"
                "            Specify device details in JSON format\n"
                "\n"
                "    -l, --live\n"
                "            Modify the running device definition only unless used together with defined "
                "option\n"
                "\n"
                "    -m, --manual\n"
                "            Device must be started manually\n"
                "\n"
                "    -p, --parent <PARENT>\n"
                "            Parent of the mdev to modify\n"
                "\n"
                "    -t, --type <type>\n"
                "            Modify the mdev type for this device\n"
                "\n"
                "    -u, --uuid <UUID>\n"
                "            UUID of the mdev to modify\n"
                "\n"
                "        --value <attr_value>\n"
                "            Value for the attribute specified by --addattr\n",
};
