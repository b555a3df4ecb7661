/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The private socket: vgpud's objects over direct (peer-to-peer) D-Bus connections.
 *
 * Listing thousands of devices through dbus-daemon costs the broker as much as it costs vgpud: every
 * reply is copied and validated once more. systemd serves its manager on /run/systemd/private for
 * the same reason, and systemctl uses it when it can. vgpuctl's read commands use this socket when it
 * exists, and so do its changes when run as root (as systemctl's); everything else (signals, and other
 * users' changes, which need the caller's bus name for polkit) stays on the system bus. Method handlers
 * are the same: a caller on a direct connection is identified by its socket credentials (no round trip
 * to the broker to learn them), so uid 0 may change things here and anyone else is denied (no bus name
 * to ask polkit about).
 *
 * The socket is 0666, so any local user can connect, and there is no broker to enforce per-user
 * limits: vgpud enforces its own (see HACKING.md, "The private socket's limits").
 * - connections: PRIVATE_MAX_PER_UID per user and PRIVATE_MAX_CONNECTIONS for all users but root
 *   together; a connection over the limit is closed right after accept(). Root is never refused.
 * - replies: a connection with more than PRIVATE_MAX_QUEUED_WRITES replies it has not read is
 *   dropped, before its next call is dispatched; pipelined calls wait in the kernel's socket buffer
 *   (sd-bus reads one message at a time), not in vgpud.
 * - input: a message in progress of a connection other than root's holds at most PRIVATE_MAX_MESSAGE
 *   bytes, and all of them together at most PRIVATE_INPUT_BUDGET (over it, the connection whose
 *   message has been in progress longest is dropped). sd-bus has no limit of its own below D-Bus's
 *   128 MiB and allocates as it reads; vgpud meters what it has read (the input meter, below) after
 *   every dispatch of a private connection, and drops the connection over a limit.
 * - descriptors: when accept() fails for want of descriptors or memory, accepting pauses (no
 *   level-triggered spin) and resumes when a connection closes or after PRIVATE_RETRY_USEC.
 * - logging: refusals and failures are rate-limited.
 *
 * A call that a peer sends right behind its authentication (sd-bus and GDBus clients pipeline it) can
 * arrive in the same read as the end of the authentication; sd-bus (252) then holds it in its buffer
 * and waits for more input, which a client waiting for its reply never sends. on_post() processes each
 * new connection once more as soon as it is authenticated. */

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <systemd/sd-id128.h>

#include "macro.h"
#include "log.h"
#include "bus.h"

#define PRIVATE_MAX_CONNECTIONS   256u
#define PRIVATE_MAX_PER_UID       16u
#define PRIVATE_MAX_QUEUED_WRITES 16u
#define PRIVATE_RETRY_USEC        (1000ULL * 1000)
/* The largest request is a Define or Modify carrying a definition of STORE_DEFINITION_MAX (64 KiB):
 * a message in progress may be 16 times that. */
#define PRIVATE_MAX_MESSAGE  (1024u * 1024)
#define PRIVATE_INPUT_BUDGET (8u * 1024 * 1024)
/* The post source (on_post(), which meters the input) is pending after every dispatch while a
 * connection is metered (or new); above the private connections' priority, it runs between any two of
 * their dispatches, so each connection can read at most one burst (what its socket buffers hold) past
 * a limit before it is dropped. */
#define PRIVATE_POST_PRIORITY (SD_EVENT_PRIORITY_NORMAL - 1)
/* The input meter's resting value of SO_PEEK_OFF (see meter_read()). */
#define METER_BASE (1 << 30)

typedef struct PrivateConnection {
        Manager *manager;
        sd_bus *bus;
        uid_t uid;
        bool metered;           /* uid is not root: its input is metered and limited */
        uint64_t consumed;      /* bytes sd-bus has read from the peer so far (the meter) */
        uint64_t mark;          /* consumed when the last whole message was dispatched */
        uint64_t partial_since; /* CLOCK_MONOTONIC when a message in progress was first seen, or 0 */
        bool dropped;           /* shut down over a limit; freed by on_post() (or sd-bus sees it closed) */
        bool fresh;             /* not yet processed once after its authentication (on_post) */
        bool has_manager;       /* the Manager's vtable is registered on bus (objects_for()) */
        bool has_others;        /* the object manager and the other vtables are */
        sd_bus_slot *one;       /* instead of the Manager's vtable, one method of it (one_member) */
        char *one_member;
} PrivateConnection;

static RateLimit refused_ratelimit = RATELIMIT_INIT(10ULL * 1000 * 1000, 5);
static RateLimit accept_ratelimit = RATELIMIT_INIT(10ULL * 1000 * 1000, 5);

static void connection_free(gpointer p)
{
        PrivateConnection *c = p;

        /* no flush: a peer that does not read would block the loop */
        sd_bus_slot_unref(c->one); /* it holds a reference on the bus */
        if (c->bus)
                sd_bus_close_unref(c->bus);
        g_free(c->one_member);
        g_free(c);
}

static void resume_accepting(Manager *m)
{
        if (m->private_listen && sd_event_source_get_enabled(m->private_listen, NULL) == 0) {
                (void)sd_event_source_set_enabled(m->private_listen, SD_EVENT_ON);
                (void)sd_event_source_set_enabled(m->private_retry, SD_EVENT_OFF);
                log_debug("Accepting private connections again");
        }
}

/* The connection closed (from the filter, at sd-bus's synthesized Local.Disconnected: a match for it
 * cost each connection a match rule's parsing and tree at its start). */
static void on_disconnected(PrivateConnection *c)
{
        Manager *m = c->manager;

        /* sd-bus holds its own reference while this runs; the array's goes now */
        if (g_ptr_array_remove(m->private_connections, c))
                log_debug("Private connection closed");
        resume_accepting(m); /* a descriptor is free again */
}

/* Shuts c down over a limit: sd-bus reads nothing more of it, and on_post() frees it (with what sd-bus
 * buffered) after the dispatch that is running now. */
static void connection_drop(PrivateConnection *c, const char *why)
{
        log_full_ratelimited(&refused_ratelimit, LOG_WARNING,
                             "Dropping the private connection of uid %u: %s", (unsigned)c->uid, why);
        c->dropped = true;
        (void)shutdown(sd_bus_get_fd(c->bus), SHUT_RDWR);
        /* freed right after the running dispatch (a defer source is pending from the next iteration
         * on, whenever it was turned on) */
        (void)sd_event_source_set_enabled(c->manager->private_reap, SD_EVENT_ONESHOT);
}

/* The input meter. A socket's SO_PEEK_OFF is lowered by the kernel by every byte a reading (not
 * peeking) recv takes from it, down to 0; nothing peeks at a private connection (vgpud never, sd-bus
 * 252 never), so the offset set to METER_BASE at accept and after each reading falls by exactly what
 * sd-bus has read in between. Unlike the bytes the kernel still holds (SIOCINQ), this counts what
 * vgpud's memory holds; it needs no knowledge of sd-bus's buffers, and a peer cannot fake it. */
static int meter_arm(int fd)
{
        int base = METER_BASE;

        return setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &base, sizeof(base)) < 0 ? negative_errno() : 0;
}

static void meter_read(PrivateConnection *c)
{
        int fd = sd_bus_get_fd(c->bus), off = METER_BASE;
        socklen_t len = sizeof(off);

        if (!c->metered || c->dropped || fd < 0)
                return;
        if (getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, &len) < 0 || off < 0) {
                connection_drop(c, "its input cannot be metered");
                return;
        }
        if (off < METER_BASE) {
                c->consumed += (uint64_t)(METER_BASE - off);
                if (meter_arm(fd) < 0)
                        connection_drop(c, "its input cannot be metered");
        }
}

/* Runs before any message of a private connection is dispatched, when sd-bus has read it whole (sd-bus
 * reads up to a message's end and no further, so the meter is then at a message boundary). Drops a peer
 * whose message was over the limit, or that sends calls but does not read the replies, rather than
 * buffering either without end. */
/* Register on c's connection the objects msg (a method call) can reach, before sd-bus looks for them: a
 * first call of a Manager method that method alone (most connections, vgpuctl's, make one such call
 * and go: sd-bus checks and hashes every member of a vtable per connection, ~30 us for the Manager's),
 * a later call of another Manager method the Manager's vtable in its place; any other message
 * (properties, introspection, GetManagedObjects, another object) everything, as the system bus has it.
 * Runs from the filter, which sd-bus calls before it dispatches msg to the objects. */
static int objects_for(PrivateConnection *c, sd_bus_message *msg)
{
        const char *iface = sd_bus_message_get_interface(msg), *path = sd_bus_message_get_path(msg);
        const char *member = sd_bus_message_get_member(msg);
        bool manager_only = iface && path && member && g_str_equal(iface, VGPUD_MANAGER_IFACE) &&
                            g_str_equal(path, VGPUD_MANAGER_PATH);
        int r;

        /* the first call a Manager method: that method alone (most connections make one call) */
        if (manager_only && !c->has_manager && !c->one &&
            bus_add_manager_method_vtable(c->bus, c->manager, member, &c->one) >= 0) {
                c->one_member = g_strdup(member);
                return 0;
        }
        if (c->one && manager_only && g_str_equal(member, c->one_member))
                return 0;
        /* anything else: the whole Manager in its place */
        c->one = sd_bus_slot_unref(c->one);
        if (!c->has_manager) {
                r = bus_add_manager_vtable(c->bus, c->manager);
                if (r < 0)
                        return r;
                c->has_manager = true;
        }
        if (manager_only || c->has_others)
                return 0;
        r = bus_add_other_objects(c->bus, c->manager);
        if (r < 0)
                return r;
        c->has_others = true;
        return 0;
}

static int on_incoming(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
        PrivateConnection *c = userdata;
        uint64_t queued = 0;
        uint8_t type = 0;

        if (c->dropped)
                return 1;
        /* sd-bus's own, once the connection is closed (a peer's signal of that name comes while open) */
        if (sd_bus_message_is_signal(msg, "org.freedesktop.DBus.Local", "Disconnected") > 0 &&
            sd_bus_is_open(c->bus) == 0) {
                on_disconnected(c); /* c is freed */
                return 1;
        }
        meter_read(c);
        if (c->metered && c->consumed - c->mark > PRIVATE_MAX_MESSAGE) {
                connection_drop(c, "a message over the size limit");
                return 1;
        }
        c->mark = c->consumed;
        c->partial_since = 0;
        if (c->dropped || sd_bus_message_get_type(msg, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL)
                return c->dropped;
        if (objects_for(c, msg) < 0) {
                connection_drop(c, "its objects could not be registered");
                return 1;
        }
        if (sd_bus_get_n_queued_write(c->bus, &queued) < 0 || queued <= PRIVATE_MAX_QUEUED_WRITES)
                return 0;
        connection_drop(c, "too many replies unread");
        return 1;
}

/* The connection (not root's) whose message has been in progress longest, NULL: none. */
static PrivateConnection *oldest_partial(Manager *m)
{
        PrivateConnection *oldest = NULL;

        for (guint i = 0; i < m->private_connections->len; i++) {
                PrivateConnection *c = g_ptr_array_index(m->private_connections, i);

                if (c->metered && !c->dropped && c->consumed > c->mark &&
                    (!oldest || c->partial_since < oldest->partial_since))
                        oldest = c;
        }
        return oldest;
}

/* After every dispatch (on_post): reads the meter of each connection and drops those over a limit: a
 * message in progress over PRIVATE_MAX_MESSAGE, then, while all of them together are over
 * PRIVATE_INPUT_BUDGET, the one in progress longest. */
static void meter_check(Manager *m)
{
        uint64_t now = 0, total = 0;

        (void)sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        for (guint i = 0; i < m->private_connections->len; i++) {
                PrivateConnection *c = g_ptr_array_index(m->private_connections, i);

                meter_read(c);
                if (!c->metered || c->dropped || c->consumed == c->mark)
                        continue;
                if (c->partial_since == 0)
                        c->partial_since = now;
                if (c->consumed - c->mark > PRIVATE_MAX_MESSAGE)
                        connection_drop(c, "a message over the size limit");
                else
                        total += c->consumed - c->mark;
        }
        while (total > PRIVATE_INPUT_BUDGET) {
                PrivateConnection *c = oldest_partial(m);

                if (!c)
                        break;
                total -= c->consumed - c->mark;
                connection_drop(c, "the input of all private connections is over its budget");
        }
}

/* Whether one more connection of uid fits under the limits. */
static bool connection_allowed(Manager *m, uid_t uid)
{
        unsigned total = 0, same = 0;

        if (uid == 0)
                return true;
        for (guint i = 0; i < m->private_connections->len; i++) {
                PrivateConnection *c = g_ptr_array_index(m->private_connections, i);

                if (c->uid == 0)
                        continue;
                total++;
                if (c->uid == uid)
                        same++;
        }
        return total < PRIVATE_MAX_CONNECTIONS && same < PRIVATE_MAX_PER_UID;
}

/* Serve the objects on c->bus, which already owns the accepted descriptor. */
static int connection_start(Manager *m, PrivateConnection *c)
{
        sd_id128_t id;
        int r;

        r = sd_id128_randomize(&id);
        if (r >= 0)
                r = sd_bus_set_server(c->bus, true, id);
        if (r >= 0)
                r = sd_bus_negotiate_creds(c->bus, true,
                                           SD_BUS_CREDS_PID | SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID);
        if (r >= 0)
                r = sd_bus_add_filter(c->bus, NULL, on_incoming, c);
        if (r >= 0)
                r = sd_bus_attach_event(c->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_start(c->bus);
        return r;
}

static void pause_accepting(Manager *m, int error)
{
        uint64_t now = 0;

        log_debug("Accepting private connections paused: %s", strerror(error));
        log_full_ratelimited(&accept_ratelimit, LOG_WARNING,
                             "Cannot accept a private connection: %s; pausing until a descriptor is free",
                             strerror(error));
        (void)sd_event_source_set_enabled(m->private_listen, SD_EVENT_OFF);
        (void)sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        (void)sd_event_source_set_time(m->private_retry, now + PRIVATE_RETRY_USEC);
        (void)sd_event_source_set_enabled(m->private_retry, SD_EVENT_ONESHOT);
}

static int on_connection(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Manager *m = userdata;
        _cleanup_close_ int nfd = -1;
        struct ucred cred = {};
        socklen_t len = sizeof(cred);
        PrivateConnection *c;
        int r;

        nfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (nfd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                        pause_accepting(m, errno);
                else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        log_full_ratelimited(&accept_ratelimit, LOG_WARNING,
                                             "Cannot accept a private connection: %s", strerror(errno));
                return 0;
        }
        if (getsockopt(nfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
                log_full_ratelimited(&accept_ratelimit, LOG_WARNING, "Cannot learn a private peer: %s",
                                     strerror(errno));
                return 0;
        }
        if (!connection_allowed(m, cred.uid)) {
                log_full_ratelimited(&refused_ratelimit, LOG_WARNING,
                                     "Refusing a private connection of uid %u: too many connections",
                                     (unsigned)cred.uid);
                return 0;
        }

        /* before sd-bus reads anything (sd_bus_start() does) */
        if (cred.uid != 0 && (r = meter_arm(nfd)) < 0) {
                log_full_ratelimited(
                        &accept_ratelimit, LOG_WARNING,
                        "Refusing a private connection of uid %u: its input cannot be metered: %s",
                        (unsigned)cred.uid, strerror(-r));
                return 0;
        }

        c = g_new0(PrivateConnection, 1);
        c->manager = m;
        c->uid = cred.uid;
        c->metered = cred.uid != 0;
        c->fresh = true;
        r = sd_bus_new(&c->bus);
        if (r >= 0)
                r = sd_bus_set_fd(c->bus, nfd, nfd);
        if (r >= 0) {
                TAKE_FD(nfd); /* the bus closes it from now on */
                r = connection_start(m, c);
        }
        if (r < 0) {
                connection_free(c);
                log_full_ratelimited(&accept_ratelimit, LOG_WARNING,
                                     "Cannot set up a private connection: %s", strerror(-r));
                return 0;
        }
        g_ptr_array_add(m->private_connections, c);
        /* turned on in this dispatch, it runs after the next ones (its authentication's) */
        (void)sd_event_source_set_enabled(m->private_post, SD_EVENT_ON);
        return 0;
}

static void bus_unref(gpointer p)
{
        sd_bus_unref(p);
}

/* Frees the connections dropped over a limit, with what sd-bus buffered for them. */
static void reap_dropped(Manager *m)
{
        bool freed = false;

        for (guint i = m->private_connections->len; i > 0; i--) {
                PrivateConnection *c = g_ptr_array_index(m->private_connections, i - 1);

                if (c->dropped) {
                        g_ptr_array_remove_index_fast(m->private_connections, i - 1);
                        freed = true;
                }
        }
        if (freed)
                resume_accepting(m);
}

/* Whether on_post() has work after the next dispatch: a connection not yet processed after its
 * authentication, or one whose input is metered. Off otherwise (root's connections once processed):
 * every post source on costs the loop one more iteration after each of its dispatches. */
static void post_as_needed(Manager *m)
{
        bool needed = false;

        for (guint i = 0; i < m->private_connections->len && !needed; i++) {
                PrivateConnection *c = g_ptr_array_index(m->private_connections, i);

                needed = !c->dropped && (c->fresh || c->metered);
        }
        (void)sd_event_source_set_enabled(m->private_post, needed ? SD_EVENT_ON : SD_EVENT_OFF);
}

static int on_reap(sd_event_source *s, void *userdata)
{
        Manager *m = userdata;

        reap_dropped(m);
        post_as_needed(m);
        return 0;
}

/* After every event while post_as_needed() says so: the input meter (meter_check()); then each
 * connection that finished authenticating since is processed until sd-bus has nothing left in its
 * buffers (see the top of this file), metered after each step; then the dropped connections are
 * freed. Runs from the loop, never from inside an sd-bus dispatch. */
static int on_post(sd_event_source *s, void *userdata)
{
        Manager *m = userdata;
        g_autoptr(GPtrArray) ready = g_ptr_array_new_with_free_func(bus_unref);

        meter_check(m);
        for (guint i = 0; i < m->private_connections->len; i++) {
                PrivateConnection *c = g_ptr_array_index(m->private_connections, i);

                if (c->fresh && !c->dropped && sd_bus_is_ready(c->bus) > 0) {
                        c->fresh = false;
                        g_ptr_array_add(ready, sd_bus_ref(c->bus));
                }
        }
        /* by reference: processing may close a connection and free its PrivateConnection */
        for (guint i = 0; i < ready->len; i++)
                for (int n = 0; n < 64 && sd_bus_process(ready->pdata[i], NULL) > 0; n++)
                        meter_check(m);
        reap_dropped(m);
        post_as_needed(m);
        return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        resume_accepting(userdata);
        return 0;
}

int bus_private_listen(Manager *m, const char *path)
{
        union {
                struct sockaddr sa;
                struct sockaddr_un un;
        } sa = {.un.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -1;
        int r;

        if (strlen(path) >= sizeof(sa.un.sun_path))
                return log_error_errno(-EINVAL, "Private socket path too long: %s", path);
        strcpy(sa.un.sun_path, path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(negative_errno(), "Cannot create the private socket: %m");
        (void)unlink(path);
        if (bind(fd, &sa.sa, sizeof(sa.un)) < 0)
                return log_error_errno(negative_errno(), "Cannot bind the private socket %s: %m", path);
        /* reading needs no privilege here either; changes are checked per call */
        if (chmod(path, 0666) < 0)
                return log_error_errno(negative_errno(), "Cannot open up %s: %m", path);
        if (listen(fd, SOMAXCONN) < 0)
                return log_error_errno(negative_errno(), "Cannot listen on %s: %m", path);

        m->private_connections = g_ptr_array_new_with_free_func(connection_free);
        r = sd_event_add_time(m->event, &m->private_retry, CLOCK_MONOTONIC, UINT64_MAX, 0, on_retry, m);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the private socket's retry timer: %m");
        (void)sd_event_source_set_enabled(m->private_retry, SD_EVENT_OFF);
        r = sd_event_add_post(m->event, &m->private_post, on_post, m);
        if (r >= 0)
                r = sd_event_source_set_priority(m->private_post, PRIVATE_POST_PRIORITY);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->private_post, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_defer(m->event, &m->private_reap, on_reap, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->private_reap, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the private socket: %m");
        r = sd_event_add_io(m->event, &m->private_listen, fd, EPOLLIN, on_connection, m);
        if (r < 0)
                return log_error_errno(r, "Cannot watch the private socket: %m");
        r = sd_event_source_set_io_fd_own(m->private_listen, true);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        (void)sd_event_source_set_description(m->private_listen, "private-socket");
        log_debug("Listening on %s", path);
        return 0;
}

void bus_private_done(Manager *m)
{
        m->private_listen = sd_event_source_disable_unref(m->private_listen);
        m->private_retry = sd_event_source_disable_unref(m->private_retry);
        m->private_post = sd_event_source_disable_unref(m->private_post);
        m->private_reap = sd_event_source_disable_unref(m->private_reap);
        if (m->private_connections)
                g_ptr_array_unref(g_steal_pointer(&m->private_connections));
        if (m->private_socket)
                (void)unlink(m->private_socket);
}
