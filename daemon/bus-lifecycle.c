/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.vgpud1.Manager's Start, Stop, Define, Undefine and Modify: read the arguments, ask polkit, queue
 * the request with the lifecycle engine (ops.c) and reply when it has run. */

#include <errno.h>
#include <string.h>

#include "errors.h"
#include "macro.h"
#include "log.h"
#include "ops.h"
#include "polkit.h"
#include "bus.h"

typedef struct {
        Manager *m;
        sd_bus_message *call;
        OpsKind kind;
        OpsRequest *req; /* until queued */
        const char *action;
        GPtrArray *out; /* the request's results (OpsRequest.out) */
        bool dry_run;
} Call;

static void call_free(Call *c)
{
        if (!c)
                return;
        sd_bus_message_unref(c->call);
        ops_request_free(c->req);
        if (c->out)
                g_ptr_array_unref(c->out);
        g_free(c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Call, call_free)

static void on_done(int r, const char *message, const char *uuid, const char *parent, void *userdata)
{
        g_autoptr(Call) c = userdata;
        g_autofree char *path = NULL;

        if (r < 0)
                r = sd_bus_reply_method_errorf(c->call, vgpud_error_name_from_errno(r), "%s",
                                               message ? message : g_strerror(-r));
        else
                switch (c->kind) {
                case OPS_START:
                        path = inventory_device_path(uuid);
                        r = sd_bus_reply_method_return(c->call, "so", uuid, path);
                        break;
                case OPS_DEFINE:
                        path = inventory_definition_path(parent, uuid);
                        r = sd_bus_reply_method_return(c->call, "so", uuid, path);
                        break;
                case OPS_ACQUIRE: {
                        const char *type = c->out->len > 0 ? c->out->pdata[0] : "";
                        if (!c->dry_run)
                                path = inventory_device_path(uuid);
                        r = sd_bus_reply_method_return(c->call, "soss", uuid, path ? path : "/",
                                                       parent ? parent : "", type);
                        break;
                }
                case OPS_RELEASE: {
                        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                        g_ptr_array_add(c->out, NULL);
                        r = sd_bus_message_new_method_return(c->call, &reply);
                        if (r >= 0)
                                r = sd_bus_message_append_strv(reply, (char **)c->out->pdata);
                        if (r >= 0)
                                r = sd_bus_send(NULL, reply, NULL);
                        break;
                }
                default: r = sd_bus_reply_method_return(c->call, NULL); break;
                }
        if (r < 0)
                log_debug_errno(r, "Cannot reply to %s: %m", sd_bus_message_get_member(c->call));
}

static void queue(Call *c)
{
        ops_submit(c->m->ops, TAKE_PTR(c->req), on_done, c);
}

static void on_polkit(sd_bus_message *call, int allowed, void *userdata)
{
        g_autoptr(Call) c = userdata;

        if (allowed <= 0) {
                log_info("%s denied to %s (%s)", sd_bus_message_get_member(call),
                         sd_bus_message_get_sender(call) ? sd_bus_message_get_sender(call) : "?", c->action);
                (void)sd_bus_reply_method_errorf(call, SD_BUS_ERROR_ACCESS_DENIED,
                                                 "Not authorized to %s (%s)",
                                                 sd_bus_message_get_member(call), c->action);
                return;
        }
        queue(TAKE_PTR(c));
}

/* Authorize, then queue; the reply comes from on_done(). req is consumed. */
static int submit(Manager *m, sd_bus_message *call, OpsRequest *req, const char *action, sd_bus_error *error)
{
        g_autoptr(Call) c = g_new0(Call, 1);
        int r;

        c->m = m;
        c->call = sd_bus_message_ref(call);
        c->kind = req->kind;
        c->req = req;
        c->action = action;
        c->dry_run = req->dry_run;
        c->out = g_ptr_array_new_with_free_func(g_free);
        req->out = g_ptr_array_ref(c->out);
        r = polkit_check(call, action, on_polkit, c);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized to %s (%s): %s",
                                         sd_bus_message_get_member(call), action, g_strerror(-r));
        if (r == 0) {
                TAKE_PTR(c); /* on_polkit() has it */
                return 1;
        }
        queue(TAKE_PTR(c));
        return 1;
}

/* ---- a{sv} ---- */

/* Enter the variant of key if it holds want; else an InvalidArgument error. */
static int enter_variant(sd_bus_message *msg, const char *key, const char *want, sd_bus_error *error)
{
        const char *contents = NULL;
        char type;
        int r;

        r = sd_bus_message_peek_type(msg, &type, &contents);
        if (r < 0)
                return r;
        if (type != SD_BUS_TYPE_VARIANT || !contents || !g_str_equal(contents, want))
                return vgpud_bus_error_set(error, -EINVAL, "\"%s\" takes a value of type %s, not %s", key,
                                           want, contents ? contents : "?");
        return sd_bus_message_enter_container(msg, SD_BUS_TYPE_VARIANT, want);
}

static int read_bool(sd_bus_message *msg, const char *key, bool *ret, sd_bus_error *error)
{
        int b, r;

        r = enter_variant(msg, key, "b", error);
        if (r >= 0)
                r = sd_bus_message_read(msg, "b", &b);
        if (r >= 0)
                r = sd_bus_message_exit_container(msg);
        if (r >= 0)
                *ret = b;
        return r < 0 ? r : 1;
}

static int read_string(sd_bus_message *msg, const char *key, char **ret, sd_bus_error *error)
{
        const char *s;
        int r;

        r = enter_variant(msg, key, "s", error);
        if (r >= 0)
                r = sd_bus_message_read(msg, "s", &s);
        if (r >= 0)
                r = sd_bus_message_exit_container(msg);
        if (r >= 0) {
                g_free(*ret);
                *ret = g_strdup(s);
        }
        return r < 0 ? r : 1;
}

/* At most this many names in a list option ("parents"). */
#define BUS_OPTION_LIST_MAX 4096

static int read_strv(sd_bus_message *msg, const char *key, char ***ret, sd_bus_error *error)
{
        char **l = NULL;
        int r;

        r = enter_variant(msg, key, "as", error);
        if (r >= 0)
                r = sd_bus_message_read_strv(msg, &l);
        if (r >= 0)
                r = sd_bus_message_exit_container(msg);
        if (r >= 0 && g_strv_length(l) > BUS_OPTION_LIST_MAX) {
                g_strfreev(l);
                return vgpud_bus_error_set(error, -EINVAL, "\"%s\" holds more than %d names", key,
                                           BUS_OPTION_LIST_MAX);
        }
        if (r < 0) {
                g_strfreev(l);
                return r;
        }
        g_strfreev(*ret);
        *ret = l ? l : g_new0(char *, 1);
        return 1;
}

static int read_u32(sd_bus_message *msg, const char *key, uint32_t *ret, sd_bus_error *error)
{
        int r;

        r = enter_variant(msg, key, "u", error);
        if (r >= 0)
                r = sd_bus_message_read(msg, "u", ret);
        if (r >= 0)
                r = sd_bus_message_exit_container(msg);
        return r < 0 ? r : 1;
}

/* One option (or change) key the flags allow: 1 read, 0 not one of them, or an error. */
static int read_option(sd_bus_message *msg, const char *key, OpsRequest *req, unsigned flags,
                       sd_bus_error *error)
{
        int r;

        if ((flags & BUS_OPTIONS_COMMON) && g_str_equal(key, "force"))
                return read_bool(msg, key, &req->force, error);
        if ((flags & BUS_OPTIONS_COMMON) && g_str_equal(key, "timeout_ms")) {
                uint32_t ms;
                r = read_u32(msg, key, &ms, error);
                if (r >= 0)
                        req->timeout_usec = (uint64_t)ms * 1000;
                return r < 0 ? r : 1;
        }
        if ((flags & BUS_OPTIONS_MODIFY) && g_str_equal(key, "defined"))
                return read_bool(msg, key, &req->defined, error);
        if ((flags & BUS_OPTIONS_MODIFY) && g_str_equal(key, "live"))
                return read_bool(msg, key, &req->live, error);
        if (flags & BUS_OPTIONS_CHANGES) {
                if (g_str_equal(key, "definition"))
                        return read_string(msg, key, &req->new_definition, error);
                if (g_str_equal(key, "type"))
                        return read_string(msg, key, &req->new_type, error);
                if (g_str_equal(key, "start"))
                        return read_string(msg, key, &req->new_start, error);
                if (g_str_equal(key, "delete_attribute")) {
                        r = enter_variant(msg, key, "i", error);
                        if (r >= 0)
                                r = sd_bus_message_read(msg, "i", &req->del_index);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(msg);
                        req->del_attr = true;
                        return r < 0 ? r : 1;
                }
                if (g_str_equal(key, "add_attribute")) {
                        const char *name, *value;
                        r = enter_variant(msg, key, "(ssi)", error);
                        if (r >= 0)
                                r = sd_bus_message_read(msg, "(ssi)", &name, &value, &req->add_index);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(msg);
                        if (r >= 0) {
                                req->add_attr = true;
                                req->add_name = g_strdup(name);
                                req->add_value = g_strdup(value);
                        }
                        return r < 0 ? r : 1;
                }
        }
        if (flags & BUS_OPTIONS_PLACE) {
                if (g_str_equal(key, "parent"))
                        return read_string(msg, key, &req->place_parent, error);
                if (g_str_equal(key, VGPUD_OPT_PARENTS))
                        return read_strv(msg, key, &req->place_parents, error);
                if (g_str_equal(key, "board"))
                        return read_string(msg, key, &req->place_board, error);
                if (g_str_equal(key, "policy"))
                        return read_string(msg, key, &req->policy, error);
                if (g_str_equal(key, "numa_node")) {
                        r = enter_variant(msg, key, "i", error);
                        if (r >= 0)
                                r = sd_bus_message_read(msg, "i", &req->place_numa);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(msg);
                        return r < 0 ? r : 1;
                }
        }
        if ((flags & BUS_OPTIONS_SLOT) && g_str_equal(key, "slot")) {
                req->slot_given = true;
                return read_u32(msg, key, &req->slot, error);
        }
        if (flags & BUS_OPTIONS_ACQUIRE) {
                if (g_str_equal(key, "uuid"))
                        return read_string(msg, key, &req->uuid, error);
                if (g_str_equal(key, "vm_uuid"))
                        return read_string(msg, key, &req->vm_uuid, error);
                if (g_str_equal(key, "persist"))
                        return read_bool(msg, key, &req->persist, error);
                if (g_str_equal(key, "dry_run"))
                        return read_bool(msg, key, &req->dry_run, error);
        }
        return 0;
}

/* One a{sv} argument: the options (or Modify's changes) that flags allow. Unknown keys are an error:
 * a misspelt option must not be silently ignored. */
int bus_read_options(sd_bus_message *msg, OpsRequest *req, unsigned flags, sd_bus_error *error)
{
        int r;

        r = sd_bus_message_enter_container(msg, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *key;

                r = sd_bus_message_enter_container(msg, SD_BUS_TYPE_DICT_ENTRY, "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                r = read_option(msg, key, req, flags, error);
                if (r == 0)
                        return vgpud_bus_error_set(error, -EINVAL, "Unknown %s \"%s\"",
                                                   (flags & BUS_OPTIONS_CHANGES) ? "change" : "option", key);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(msg);
}

/* ---- methods ---- */

int bus_method_start(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        g_autoptr(OpsRequest) req = ops_request_new(OPS_START);
        const char *parent, *uuid, *definition;
        int r;

        r = sd_bus_message_read(msg, "sss", &parent, &uuid, &definition);
        if (r < 0)
                return r;
        r = bus_read_options(msg, req, BUS_OPTIONS_COMMON, error);
        if (r < 0)
                return r;
        req->parent = g_strdup(parent);
        req->uuid = g_strdup(uuid);
        req->definition = g_strdup(definition);
        return submit(userdata, msg, TAKE_PTR(req), VGPUD_ACTION_DEVICE_START, error);
}

int bus_method_stop(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        g_autoptr(OpsRequest) req = ops_request_new(OPS_STOP);
        const char *uuid;
        int r;

        r = sd_bus_message_read(msg, "s", &uuid);
        if (r < 0)
                return r;
        r = bus_read_options(msg, req, BUS_OPTIONS_COMMON, error);
        if (r < 0)
                return r;
        req->uuid = g_strdup(uuid);
        return submit(userdata, msg, TAKE_PTR(req), VGPUD_ACTION_DEVICE_STOP, error);
}

int bus_method_define(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        g_autoptr(OpsRequest) req = ops_request_new(OPS_DEFINE);
        const char *parent, *uuid, *definition;
        int r;

        r = sd_bus_message_read(msg, "sss", &parent, &uuid, &definition);
        if (r < 0)
                return r;
        r = bus_read_options(msg, req, BUS_OPTIONS_COMMON, error);
        if (r < 0)
                return r;
        req->parent = g_strdup(parent);
        req->uuid = g_strdup(uuid);
        req->definition = g_strdup(definition);
        return submit(userdata, msg, TAKE_PTR(req), VGPUD_ACTION_DEFINITION_CHANGE, error);
}

int bus_method_undefine(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        g_autoptr(OpsRequest) req = ops_request_new(OPS_UNDEFINE);
        const char *parent, *uuid;
        int r;

        r = sd_bus_message_read(msg, "ss", &parent, &uuid);
        if (r < 0)
                return r;
        r = bus_read_options(msg, req, BUS_OPTIONS_COMMON, error);
        if (r < 0)
                return r;
        req->parent = g_strdup(parent);
        req->uuid = g_strdup(uuid);
        return submit(userdata, msg, TAKE_PTR(req), VGPUD_ACTION_DEFINITION_CHANGE, error);
}

int bus_method_modify(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        g_autoptr(OpsRequest) req = ops_request_new(OPS_MODIFY);
        const char *parent, *uuid;
        int r;

        r = sd_bus_message_read(msg, "ss", &parent, &uuid);
        if (r < 0)
                return r;
        r = bus_read_options(msg, req, BUS_OPTIONS_CHANGES, error);
        if (r < 0)
                return r;
        r = bus_read_options(msg, req, BUS_OPTIONS_COMMON | BUS_OPTIONS_MODIFY, error);
        if (r < 0)
                return r;
        req->parent = g_strdup(parent);
        req->uuid = g_strdup(uuid);
        return submit(userdata, msg, TAKE_PTR(req), VGPUD_ACTION_DEFINITION_CHANGE, error);
}

int bus_method_acquire(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        g_autoptr(OpsRequest) req = ops_request_new(OPS_ACQUIRE);
        const char *profile, *owner;
        int r;

        r = sd_bus_message_read(msg, "ss", &profile, &owner);
        if (r < 0)
                return r;
        r = bus_read_options(msg, req,
                             BUS_OPTIONS_COMMON | BUS_OPTIONS_PLACE | BUS_OPTIONS_SLOT | BUS_OPTIONS_ACQUIRE,
                             error);
        if (r < 0)
                return r;
        req->profile = g_strdup(profile);
        req->owner = g_strdup(owner);
        return submit(userdata, msg, TAKE_PTR(req), VGPUD_ACTION_VGPU_ACQUIRE, error);
}

int bus_method_release(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        g_autoptr(OpsRequest) req = ops_request_new(OPS_RELEASE);
        const char *what;
        int r;

        r = sd_bus_message_read(msg, "s", &what);
        if (r < 0)
                return r;
        r = bus_read_options(msg, req, BUS_OPTIONS_COMMON | BUS_OPTIONS_SLOT, error);
        if (r < 0)
                return r;
        req->what = g_strdup(what);
        return submit(userdata, msg, TAKE_PTR(req), VGPUD_ACTION_VGPU_ACQUIRE, error);
}
