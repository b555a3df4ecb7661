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

typedef struct PrivateConnection {
        Manager *manager;
        sd_bus *bus;
        uid_t uid;
        bool dropped; /* shut down for not reading; waits for sd-bus to see it closed */
        bool fresh;   /* not yet processed once after its authentication (on_post) */
} PrivateConnection;

static RateLimit refused_ratelimit = RATELIMIT_INIT(10ULL * 1000 * 1000, 5);
static RateLimit accept_ratelimit = RATELIMIT_INIT(10ULL * 1000 * 1000, 5);

static void connection_free(gpointer p)
{
        PrivateConnection *c = p;

        /* no flush: a peer that does not read would block the loop */
        if (c->bus)
                sd_bus_close_unref(c->bus);
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

static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
        PrivateConnection *c = userdata;
        Manager *m = c->manager;

        /* sd-bus holds its own reference while this runs; the array's goes now */
        if (g_ptr_array_remove(m->private_connections, c))
                log_debug("Private connection closed");
        resume_accepting(m); /* a descriptor is free again */
        return 0;
}

/* Runs before any method of a private connection is dispatched: drops a peer that sends calls but
 * does not read the replies, rather than buffering them without end. */
static int on_incoming(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
        PrivateConnection *c = userdata;
        uint64_t queued = 0;
        uint8_t type = 0;

        if (sd_bus_message_get_type(msg, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL)
                return 0;
        if (c->dropped)
                return 1;
        if (sd_bus_get_n_queued_write(c->bus, &queued) < 0 || queued <= PRIVATE_MAX_QUEUED_WRITES)
                return 0;
        log_full_ratelimited(&refused_ratelimit, LOG_WARNING,
                             "Dropping the private connection of uid %u: %" PRIu64 " replies unread",
                             (unsigned)c->uid, queued);
        c->dropped = true;
        /* sd-bus sees the end on its next read or write and sends Disconnected (on_disconnected) */
        (void)shutdown(sd_bus_get_fd(c->bus), SHUT_RDWR);
        return 1;
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
                r = bus_add_objects(c->bus, m);
        if (r >= 0)
                r = sd_bus_match_signal_async(c->bus, NULL, "org.freedesktop.DBus.Local", NULL,
                                              "org.freedesktop.DBus.Local", "Disconnected", on_disconnected,
                                              NULL, c);
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

        c = g_new0(PrivateConnection, 1);
        c->manager = m;
        c->uid = cred.uid;
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
        return 0;
}

static void bus_unref(gpointer p)
{
        sd_bus_unref(p);
}

/* After every event: each connection that finished authenticating since is processed until sd-bus has
 * nothing left in its buffers (see the top of this file). */
static int on_post(sd_event_source *s, void *userdata)
{
        Manager *m = userdata;
        g_autoptr(GPtrArray) ready = g_ptr_array_new_with_free_func(bus_unref);

        for (guint i = 0; i < m->private_connections->len; i++) {
                PrivateConnection *c = g_ptr_array_index(m->private_connections, i);

                if (c->fresh && sd_bus_is_ready(c->bus) > 0) {
                        c->fresh = false;
                        g_ptr_array_add(ready, sd_bus_ref(c->bus));
                }
        }
        /* by reference: processing may close a connection and free its PrivateConnection */
        for (guint i = 0; i < ready->len; i++)
                for (int n = 0; n < 64 && sd_bus_process(ready->pdata[i], NULL) > 0; n++)
                        ;
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
        if (m->private_connections)
                g_ptr_array_unref(g_steal_pointer(&m->private_connections));
        if (m->private_socket)
                (void)unlink(m->private_socket);
}
