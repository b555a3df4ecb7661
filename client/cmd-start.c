/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `vgpuctl start`: mdevctl's start, as Manager.Start(parent, uuid, definition):
 *   start -u U [-p P]                the stored definition of U (vgpud finds it)
 *   start [-u U] -p P -t T           {"mdev_type":T,"start":"manual","attrs":[]}, but as mdevctl does,
 *                                    a definition of U (on P when given) with type T is started as
 *                                    stored (its attributes too), and one with another type is an error
 *   start [-u U] -p P --jsonfile F   F's text, unparsed (vgpud validates it)
 * vgpud returns once the device exists and its attributes are written. The UUID is printed when it
 * was generated, as mdevctl does. */

#include <errno.h>
#include <string.h>

#include "cli.h"
#include "lifecycle-client.h"
#include "read-source.h"

enum {
        OPT_UUID,
        OPT_PARENT,
        OPT_TYPE,
        OPT_JSONFILE,
        OPT_FORCE,
};

static const VcOption start_options[] = {
        {OPT_FORCE, "force", 'f', NULL, VC_VALUE_STRING},
        {OPT_JSONFILE, "jsonfile", 0, "JSONFILE", VC_VALUE_STRING},
        {OPT_PARENT, "parent", 'p', "PARENT", VC_VALUE_STRING},
        {OPT_TYPE, "type", 't', "type", VC_VALUE_STRING},
        {OPT_UUID, "uuid", 'u', "UUID", VC_VALUE_UUID},
        VC_OPTION_END,
};

static int check_start(const VcContext *ctx, const VcCommand *cmd, const VcArgs *args)
{
        static const int one_of[] = {OPT_UUID, OPT_PARENT};
        int r;

        r = vc_check_conflict(ctx, cmd, args, OPT_JSONFILE, OPT_TYPE);
        if (r >= 0)
                r = vc_check_missing(ctx, cmd, one_of, args->set[OPT_UUID] || args->set[OPT_PARENT] ? 0 : 2);
        return r;
}

/* start -u U -t T [-p P]: mdevctl looks for definitions of U (on P) first. Returns 1 and the parent to
 * start the stored definition on, 0 when there is none, or an error (printed). */
static int stored_definition(const char *uuid, const char *parent, const char *type, char **ret_parent)
{
        g_autoptr(VcInventory) inv = NULL;
        const VcDefinition *found = NULL;
        unsigned n = 0;
        int r;

        r = vc_read_listing(false, &inv);
        if (r < 0)
                return r;
        for (guint i = 0; i < inv->definitions->len; i++) {
                const VcDefinition *d = inv->definitions->pdata[i];
                if (strcmp(d->uuid, uuid) == 0 && (!parent || strcmp(d->parent, parent) == 0)) {
                        found = d;
                        n++;
                }
        }
        if (n > 1)
                return vc_error("Multiple definitions found for device %s. Please specify a parent.", uuid);
        if (n == 0)
                return 0;
        if (strcmp(found->type_id, type) != 0)
                return vc_error("Device %s already exists on parent %s with type %s", uuid, found->parent,
                                found->type_id);
        *ret_parent = g_strdup(found->parent);
        return 1;
}

static int run_start(const VcContext *ctx, const VcArgs *args)
{
        g_autofree char *json = NULL, *stored_parent = NULL;
        const char *uuid = args->set[OPT_UUID] ? args->value[OPT_UUID] : "";
        const char *parent = args->set[OPT_PARENT] ? args->value[OPT_PARENT] : NULL;
        const char *type = args->set[OPT_TYPE] ? args->value[OPT_TYPE] : NULL;
        int r;

        if (args->set[OPT_JSONFILE]) {
                r = vc_read_jsonfile(args->value[OPT_JSONFILE], &json);
                if (r < 0)
                        return r;
                if (!parent)
                        return vc_error("Parent device required to start device via json file");
        } else if (!*uuid && !type)
                return vc_error("Device is insufficiently specified");
        else if (*uuid && parent && !*parent) {
                /* mdevctl compares the parent with the directory names: "" matches no definition */
                if (type)
                        return vc_error("Unable to find parent device ''");
                return vc_error("Device is insufficiently specified");
        }

        if (!json && type) {
                if (*uuid) {
                        r = stored_definition(uuid, parent, type, &stored_parent);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                parent = stored_parent; /* start it as stored */
                        else if (!parent)
                                return vc_error("can't provide type without parent");
                }
                if (!stored_parent)
                        json = vc_definition_json(type, false, false);
        }

        return vc_change_with_definition("Start", parent, uuid, json, args->set[OPT_FORCE]);
}

const VcCommand vc_command_start = {
        .name = "start",
        .about = "Start a mediated device",
        .usage = "{bin} start [OPTIONS]",
        .options = start_options,
        .check = check_start,
        .run = run_start,
        .help_short =
                "vgpuctl-start \n"
                "Start a mediated device\n"
                "\n"
                "USAGE:\n"
                "    {bin} start [OPTIONS]\n"
                "\n"
                "OPTIONS:\n"
                "    -f, --force                  " FORCE_SHORT "\n"
                "    -h, --help                   Print help information\n"
                "        --jsonfile <JSONFILE>    Details of the device to be started, in JSON format\n"
                "    -p, --parent <PARENT>        Parent of the device to start\n"
                "    -t, --type <type>            Mdev type of the device to start\n"
                "    -u, --uuid <UUID>            UUID of the device to start\n",
        .help_long =
                "vgpuctl-start \n"
                "Start a mediated device\n"
                "\n"
                "If the UUID is previously defined and unique, the UUID is sufficient to start the device "
                "(UUIDs may\n"
                "not collide between running devices). If a UUID is used in multiple defined "
                "configurations, "
                "the\n"
                "'parent' is necessary to identify the device to be started.  When specified with 'parent' "
                "and\n"
                "'type', the device is fully specified and will be started based only on these parameters.  "
                "The UUID\n"
                "is optional in this case. If not provided, a UUID is generated and returned as output. A "
                "'jsonfile'\n"
                "may replace the 'type' specification and also include additional attributes to be applied "
                "to the\n"
                "started device.\n"
                "\n"
                "USAGE:\n"
                "    {bin} start [OPTIONS]\n"
                "\n"
                "OPTIONS:\n"
                "    -f, --force\n"
                "            " FORCE_LONG "\n"
                "    -h, --help\n"
                "            Print help information\n"
                "\n"
                "        --jsonfile <JSONFILE>\n"
                "            Details of the device to be started, in JSON format\n"
                "\n"
                "    -p, --parent <PARENT>\n"
                "            Parent of the device to start\n"
                "\n"
                "    -t, --type <type>\n"
                "            Mdev type of the device to start\n"
                "\n"
                "    -u, --uuid <UUID>\n"
                "            UUID of the device to start\n",
};
