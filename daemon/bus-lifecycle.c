/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.vgpud1.Manager's Start, Stop, Define, Undefine and Modify: read the arguments, ask polkit, queue
 * the request with the lifecycle engine (ops.c) and reply when it has run. */

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "errors.h"
#include "keycount.h"
#include "macro.h"
#include "log.h"
#include "name.h"
#include "ops.h"
#include "polkit.h"
#include "bus.h"
#include "snapshot-writer.h"

typedef struct {
        Manager *m;
        sd_bus_message *call;
        OpsKind kind;
        OpsRequest *req; /* until queued */
        const char *action;
        GPtrArray *out; /* the request's results (OpsRequest.out) */
        bool dry_run;
        bool root;       /* allowed without polkit (uid 0) */
        char *queued_as; /* the client's key in queued_per_client while the engine has the request */
        /* the engine's answer, until it is sent (answer_all()) */
        int result;
        char *message, *uuid, *parent;
} Call;

/* Requests one client may have in the engine (waiting or running) after polkit allowed them: more are
 * refused with LimitsExceeded, so that a client cannot make vgpud hold requests without end. A client
 * is a unique bus name, or a private-socket connection (where only root may change things). */
#define QUEUED_MAX_PER_CLIENT 64u
#define QUEUED_MAX_PER_ROOT   256u

/* Client key -> requests in the engine (keycount.h). The count follows the request, not the connection:
 * a client that hangs up does not cancel what it queued, and its key cannot come back while the request
 * lives (unique names are never reused; the call message holds a reference on a private connection, so
 * its address is not reused either). */
static GHashTable *queued_per_client;

static void call_free(Call *c)
{
        if (!c)
                return;
        if (c->queued_as) /* released exactly once: the Call is freed once, after on_done() or never queued
                           */
                keycount_add(&queued_per_client, c->queued_as, -1);
        g_free(c->queued_as);
        g_free(c->message);
        g_free(c->uuid);
        g_free(c->parent);
        sd_bus_message_unref(c->call);
        ops_request_free(c->req);
        if (c->out)
                g_ptr_array_unref(c->out);
        g_free(c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Call, call_free)

/* Send c's answer (the snapshot already shows what it confirms). */
static void answer(Call *c)
{
        g_autofree char *path = NULL;
        const char *uuid = c->uuid, *parent = c->parent;
        int r = c->result;

        if (r < 0)
                r = sd_bus_reply_method_errorf(c->call, vgpud_error_name_from_errno(r), "%s",
                                               c->message ? c->message : g_strerror(-r));
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
                case OPS_RELEASE:
                case OPS_RELEASE_IDLE: {
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

/* The answers the engine gave during one dispatch of the loop (a durable batch answers all its requests
 * in one) wait in m->answers and are sent together from a defer source of ANSWERS_PRIORITY, right after
 * that dispatch and before anything else: the snapshot is written once for all of them (each answer
 * wrote it before, one write per request of the batch, since each job's change made it dirty again),
 * then the replies. The priority is above the snapshot writer's own defer source (IMPORTANT), so what
 * the writer does after a write (freeing the file it replaced, making the next one) waits until the
 * replies are out. */
#define ANSWERS_PRIORITY (SD_EVENT_PRIORITY_IMPORTANT - 1)

static void answer_all(Manager *m)
{
        Call *c;

        /* what the replies confirm is in the published snapshot before the callers can read it */
        snapshot_writer_flush(m->snapshot);
        while ((c = g_queue_pop_head(&m->answers))) {
                answer(c);
                call_free(c);
        }
}

static int on_answers(sd_event_source *s, void *userdata)
{
        answer_all(userdata);
        return 0;
}

void bus_lifecycle_done(Manager *m)
{
        answer_all(m);
        m->answers_defer = sd_event_source_disable_unref(m->answers_defer);
        m->answers_now = true;
}

static void on_done(int r, const char *message, const char *uuid, const char *parent, void *userdata)
{
        g_autoptr(Call) c = userdata;
        Manager *m = c->m;

        c->result = r;
        c->message = g_strdup(message);
        c->uuid = g_strdup(uuid);
        c->parent = g_strdup(parent);
        if (!m->answers_defer && !m->answers_now &&
            sd_event_add_defer(m->event, &m->answers_defer, on_answers, m) >= 0)
                (void)sd_event_source_set_priority(m->answers_defer, ANSWERS_PRIORITY);
        g_queue_push_tail(&m->answers, TAKE_PTR(c));
        if (!m->answers_defer || sd_event_source_set_enabled(m->answers_defer, SD_EVENT_ONESHOT) < 0)
                answer_all(m); /* no source to wait for: now */
}

/* Hand the request to the engine, or refuse it (LimitsExceeded) when its client has too many there. */
static int queue(Call *c, sd_bus_error *error)
{
        const char *sender = sd_bus_message_get_sender(c->call);
        unsigned limit = c->root ? QUEUED_MAX_PER_ROOT : QUEUED_MAX_PER_CLIENT;
        g_autofree char *key =
                sender ? g_strdup(sender)
                       : g_strdup_printf("private:%p", (void *)sd_bus_message_get_bus(c->call));

        if (keycount_get(queued_per_client, key) >= limit) {
                log_debug("%s of %s refused: %u requests of it are queued",
                          sd_bus_message_get_member(c->call), key, limit);
                call_free(c);
                return sd_bus_error_setf(
                        error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                        "Too many of your requests are queued (at most %u); try again later", limit);
        }
        keycount_add(&queued_per_client, key, +1);
        c->queued_as = TAKE_PTR(key);
        ops_submit(c->m->ops, TAKE_PTR(c->req), on_done, c);
        return 1;
}

static void on_polkit(sd_bus_message *call, int allowed, void *userdata)
{
        g_autoptr(Call) c = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (allowed <= 0) {
                log_info("%s denied to %s (%s)", sd_bus_message_get_member(call),
                         sd_bus_message_get_sender(call) ? sd_bus_message_get_sender(call) : "?", c->action);
                (void)sd_bus_reply_method_errorf(call, SD_BUS_ERROR_ACCESS_DENIED,
                                                 "Not authorized to %s (%s)",
                                                 sd_bus_message_get_member(call), c->action);
                return;
        }
        if (queue(TAKE_PTR(c), &error) < 0) /* the call stays referenced until we return (polkit.h) */
                (void)sd_bus_reply_method_error(call, &error);
}

/* What polkit's rules see of the request (dbus/org.vgpud1.policy). */
static char **call_details(void *userdata)
{
        Call *c = userdata;

        return ops_request_details(c->m->ops, c->req);
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
        c->dry_run = req->kind == OPS_ACQUIRE && req->acquire.dry_run;
        c->out = g_ptr_array_new_with_free_func(g_free);
        req->out = g_ptr_array_ref(c->out);
        r = polkit_check(call, action, call_details, on_polkit, c);
        if (r == -ENOBUFS)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Too many of your requests wait for polkit; try again later");
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized to %s (%s): %s",
                                         sd_bus_message_get_member(call), action, g_strerror(-r));
        if (r == 0) {
                TAKE_PTR(c); /* on_polkit() has it */
                return 1;
        }
        c->root = true; /* polkit_check() allows uid 0 right away */
        return queue(TAKE_PTR(c), error);
}

/* ---- a{sv} ---- */

typedef enum {
        OPTION_BOOL,       /* b into a bool */
        OPTION_STRING,     /* s into a char* (replaced) */
        OPTION_STRV,       /* as into a char** (replaced; at most BUS_OPTION_LIST_MAX) */
        OPTION_U32,        /* u into a uint32_t */
        OPTION_U64,        /* t into a uint64_t */
        OPTION_I32,        /* i into an int */
        OPTION_TIMEOUT_MS, /* u (milliseconds) into a uint64_t of microseconds */
        OPTION_ATTRIBUTE,  /* (ssi) into Modify's add: name, value, index */
} OptionType;

static const char *const option_signature[] = {
        [OPTION_BOOL] = "b", [OPTION_STRING] = "s", [OPTION_STRV] = "as",      [OPTION_U32] = "u",
        [OPTION_U64] = "t",  [OPTION_I32] = "i",    [OPTION_TIMEOUT_MS] = "u", [OPTION_ATTRIBUTE] = "(ssi)",
};

/* Every key of every a{sv} argument: the group that allows it, its type and where in OpsRequest it goes;
 * given, when not 0, is a bool set when the key is present (offset 0 is the kind, never a flag). */
typedef struct {
        const char *key;
        unsigned group;
        OptionType type;
        size_t field;
        size_t given;
} BusOption;

#define FIELD(f) offsetof(OpsRequest, f)
static const BusOption options[] = {
        {VGPUD_OPT_FORCE, BUS_OPTIONS_COMMON, OPTION_BOOL, FIELD(force)},
        {VGPUD_OPT_TIMEOUT_MS, BUS_OPTIONS_COMMON, OPTION_TIMEOUT_MS, FIELD(timeout_usec)},
        {VGPUD_OPT_DEFINED, BUS_OPTIONS_MODIFY, OPTION_BOOL, FIELD(modify.defined)},
        {VGPUD_OPT_LIVE, BUS_OPTIONS_MODIFY, OPTION_BOOL, FIELD(modify.live)},
        {VGPUD_CHANGE_DEFINITION, BUS_OPTIONS_CHANGES, OPTION_STRING, FIELD(modify.definition)},
        {VGPUD_CHANGE_TYPE, BUS_OPTIONS_CHANGES, OPTION_STRING, FIELD(modify.type)},
        {VGPUD_CHANGE_START, BUS_OPTIONS_CHANGES, OPTION_STRING, FIELD(modify.start)},
        {VGPUD_CHANGE_DEL_ATTRIBUTE, BUS_OPTIONS_CHANGES, OPTION_I32, FIELD(modify.del_index),
         FIELD(modify.del_attr)},
        {VGPUD_CHANGE_ADD_ATTRIBUTE, BUS_OPTIONS_CHANGES, OPTION_ATTRIBUTE, FIELD(modify.add),
         FIELD(modify.add_attr)},
        {VGPUD_CHANGE_MIXED_SIZE, BUS_OPTIONS_CHANGES, OPTION_BOOL, FIELD(modify.mixed_size),
         FIELD(modify.mixed_size_given)},
        {VGPUD_OPT_PARENT, BUS_OPTIONS_PLACE, OPTION_STRING, FIELD(acquire.place.parent)},
        {VGPUD_OPT_PARENTS, BUS_OPTIONS_PLACE, OPTION_STRV, FIELD(acquire.place.parents)},
        {VGPUD_OPT_BOARD, BUS_OPTIONS_PLACE, OPTION_STRING, FIELD(acquire.place.board)},
        {VGPUD_OPT_POLICY, BUS_OPTIONS_PLACE, OPTION_STRING, FIELD(acquire.place.policy)},
        {VGPUD_OPT_NUMA_NODE, BUS_OPTIONS_PLACE, OPTION_I32, FIELD(acquire.place.numa_node)},
        {VGPUD_OPT_MIXED_SIZE, BUS_OPTIONS_PLACE, OPTION_BOOL, FIELD(acquire.place.mixed_size)},
        {VGPUD_OPT_SLOT, BUS_OPTIONS_ACQUIRE, OPTION_U32, FIELD(acquire.slot)},
        {VGPUD_OPT_UUID, BUS_OPTIONS_ACQUIRE, OPTION_STRING, FIELD(uuid)},
        {VGPUD_OPT_VM_UUID, BUS_OPTIONS_ACQUIRE, OPTION_STRING, FIELD(acquire.vm_uuid)},
        {VGPUD_OPT_PERSIST, BUS_OPTIONS_ACQUIRE, OPTION_BOOL, FIELD(acquire.persist)},
        {VGPUD_OPT_DRY_RUN, BUS_OPTIONS_ACQUIRE, OPTION_BOOL, FIELD(acquire.dry_run)},
        {VGPUD_OPT_SLOT, BUS_OPTIONS_RELEASE, OPTION_U32, FIELD(release.slot), FIELD(release.slot_given)},
        {VGPUD_OPT_OLDER_THAN_USEC, BUS_OPTIONS_IDLE, OPTION_U64, FIELD(release_idle.older_than_usec)},
        {VGPUD_OPT_DRY_RUN, BUS_OPTIONS_IDLE, OPTION_BOOL, FIELD(release_idle.dry_run)},
};
#undef FIELD

/* At most this many names in a list option ("parents"). */
#define BUS_OPTION_LIST_MAX 4096

static int read_strv(sd_bus_message *msg, const char *key, char ***ret, sd_bus_error *error)
{
        g_auto(GStrv) l = NULL;
        int r;

        r = sd_bus_message_read_strv(msg, &l);
        if (r < 0)
                return r;
        if (g_strv_length(l) > BUS_OPTION_LIST_MAX)
                return vgpud_bus_error_set(error, -EINVAL, "\"%s\" holds more than %d names", key,
                                           BUS_OPTION_LIST_MAX);
        g_strfreev(*ret);
        *ret = l ? g_steal_pointer(&l) : g_new0(char *, 1);
        return 0;
}

/* Read the value of one option (the message is at its variant) into req. */
static int read_value(sd_bus_message *msg, const BusOption *o, OpsRequest *req, sd_bus_error *error)
{
        const char *want = option_signature[o->type], *contents = NULL, *s1, *s2;
        void *field = (char *)req + o->field;
        char type;
        int b, r;
        uint32_t u;

        r = sd_bus_message_peek_type(msg, &type, &contents);
        if (r < 0)
                return r;
        if (type != SD_BUS_TYPE_VARIANT || !contents || !g_str_equal(contents, want))
                return vgpud_bus_error_set(error, -EINVAL, "\"%s\" takes a value of type %s, not %s", o->key,
                                           want, contents ? contents : "?");
        r = sd_bus_message_enter_container(msg, SD_BUS_TYPE_VARIANT, want);
        if (r < 0)
                return r;
        switch (o->type) {
        case OPTION_BOOL:
                r = sd_bus_message_read(msg, "b", &b);
                if (r >= 0)
                        *(bool *)field = b;
                break;
        case OPTION_STRING:
                r = sd_bus_message_read(msg, "s", &s1);
                if (r >= 0) {
                        g_free(*(char **)field);
                        *(char **)field = g_strdup(s1);
                }
                break;
        case OPTION_STRV: r = read_strv(msg, o->key, field, error); break;
        case OPTION_U32: r = sd_bus_message_read(msg, "u", (uint32_t *)field); break;
        case OPTION_U64: r = sd_bus_message_read(msg, "t", (uint64_t *)field); break;
        case OPTION_I32: r = sd_bus_message_read(msg, "i", (int *)field); break;
        case OPTION_TIMEOUT_MS:
                r = sd_bus_message_read(msg, "u", &u);
                if (r >= 0)
                        *(uint64_t *)field = (uint64_t)u * 1000;
                break;
        case OPTION_ATTRIBUTE:
                r = sd_bus_message_read(msg, "(ssi)", &s1, &s2, &req->modify.add.index);
                if (r >= 0) {
                        g_free(req->modify.add.name);
                        g_free(req->modify.add.value);
                        req->modify.add.name = g_strdup(s1);
                        req->modify.add.value = g_strdup(s2);
                }
                break;
        }
        if (r >= 0 && o->given)
                *(bool *)((char *)req + o->given) = true;
        return r < 0 ? r : sd_bus_message_exit_container(msg);
}

/* The entry of key among the groups of flags, or NULL. */
static const BusOption *find_option(const char *key, unsigned flags)
{
        for (size_t i = 0; i < G_N_ELEMENTS(options); i++)
                if ((options[i].group & flags) && g_str_equal(options[i].key, key))
                        return &options[i];
        return NULL;
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
                const BusOption *o;
                const char *key;

                r = sd_bus_message_enter_container(msg, SD_BUS_TYPE_DICT_ENTRY, "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                o = find_option(key, flags);
                if (!o) {
                        g_autofree char *q = name_quote(key);
                        return vgpud_bus_error_set(error, -EINVAL, "Unknown %s %s",
                                                   (flags & BUS_OPTIONS_CHANGES) ? "change" : "option", q);
                }
                r = read_value(msg, o, req, error);
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
        req->start.definition = g_strdup(definition);
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
        req->define.definition = g_strdup(definition);
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
        r = bus_read_options(msg, req, BUS_OPTIONS_COMMON | BUS_OPTIONS_PLACE | BUS_OPTIONS_ACQUIRE, error);
        if (r < 0)
                return r;
        req->acquire.profile = g_strdup(profile);
        req->acquire.owner = g_strdup(owner);
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
        r = bus_read_options(msg, req, BUS_OPTIONS_COMMON | BUS_OPTIONS_RELEASE, error);
        if (r < 0)
                return r;
        req->release.what = g_strdup(what);
        return submit(userdata, msg, TAKE_PTR(req), VGPUD_ACTION_VGPU_ACQUIRE, error);
}

int bus_method_release_idle(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        g_autoptr(OpsRequest) req = ops_request_new(OPS_RELEASE_IDLE);
        int r;

        r = bus_read_options(msg, req, BUS_OPTIONS_COMMON | BUS_OPTIONS_IDLE, error);
        if (r < 0)
                return r;
        return submit(userdata, msg, TAKE_PTR(req), VGPUD_ACTION_DEVICE_STOP, error);
}
