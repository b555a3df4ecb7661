/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The private socket: vgpud's objects over direct (peer-to-peer) D-Bus connections.
 *
 * Listing thousands of devices through dbus-daemon costs the broker as much as it costs vgpud: every
 * reply is copied and validated once more. systemd serves its manager on /run/systemd/private for
 * the same reason, and systemctl uses it when it can. vgpuctl's read commands use this socket when it
 * exists; everything else (signals, and changes, which need the caller's bus name for polkit) stays on
 * the system bus. Method handlers are the same: a caller on a direct connection is identified by its
 * socket credentials, so uid 0 may change things here too and anyone else is denied (no bus name to
 * ask polkit about). */

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <systemd/sd-id128.h>

#include "macro.h"
#include "log.h"
#include "bus.h"

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        Manager *mgr = userdata;
        sd_bus *bus = sd_bus_message_get_bus(m);

        /* the array holds the reference; the connection is freed once this callback has returned */
        if (g_ptr_array_remove(mgr->private_connections, bus))
                log_debug("Private connection closed");
        return 0;
}

static void connection_unref(gpointer p)
{
        sd_bus_flush_close_unref(p);
}

static int on_connection(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Manager *m = userdata;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_close_ int nfd = -1;
        sd_id128_t id;
        int r;

        nfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (nfd < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        log_warning_errno(negative_errno(), "Cannot accept a private connection: %m");
                return 0;
        }
        r = sd_id128_randomize(&id);
        if (r >= 0)
                r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_fd(bus, nfd, nfd);
        if (r >= 0) {
                TAKE_FD(nfd);
                r = sd_bus_set_server(bus, true, id);
        }
        if (r >= 0)
                r = sd_bus_negotiate_creds(bus, true,
                                           SD_BUS_CREDS_PID | SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID);
        if (r >= 0)
                r = bus_add_objects(bus, m);
        if (r >= 0)
                r = sd_bus_match_signal_async(bus, NULL, "org.freedesktop.DBus.Local", NULL,
                                              "org.freedesktop.DBus.Local", "Disconnected", on_disconnected,
                                              NULL, m);
        if (r >= 0)
                r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                log_warning_errno(r, "Cannot set up a private connection: %m");
                return 0;
        }
        g_ptr_array_add(m->private_connections, TAKE_PTR(bus));
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

        m->private_connections = g_ptr_array_new_with_free_func(connection_unref);
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
        if (m->private_connections)
                g_ptr_array_unref(g_steal_pointer(&m->private_connections));
        if (m->private_socket)
                (void)unlink(m->private_socket);
}
