/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The floor under vgpuctl's read commands, for tests/bench/bench-inventory.py: the cheapest client
 * that still reaches vgpud. Built twice from this file:
 *   bench-floor-connect  SOCKET   connects to the private socket and exits (no libsystemd, no glib):
 *                                 what any program that talks to vgpud pays at least;
 *   bench-floor-sdbus    SOCKET   links libsystemd, starts an sd-bus connection on the socket and
 *                                 makes one org.freedesktop.DBus.Peer.Ping call: the same plus
 *                                 libsystemd's load and relocation, the authentication and one
 *                                 round trip.
 * Exits 0 on success, 1 with a message otherwise. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifdef FLOOR_SDBUS
#include <systemd/sd-bus.h>

static int reach(const char *path)
{
        char address[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus *bus = NULL;
        int r;

        snprintf(address, sizeof(address), "unix:path=%s", path);
        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r >= 0)
                r = sd_bus_call_method(bus, NULL, "/org/vgpud1", "org.freedesktop.DBus.Peer", "Ping", &error,
                                       NULL, "");
        sd_bus_error_free(&error);
        sd_bus_flush_close_unref(bus);
        return r;
}
#else
static int reach(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd, r = 0;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                r = -errno;
        close(fd);
        return r;
}
#endif

int main(int argc, char **argv)
{
        int r;

        if (argc != 2) {
                fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
                return 1;
        }
        r = reach(argv[1]);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", argv[1], strerror(-r));
                return 1;
        }
        return 0;
}
