/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* client/wire.c, the front's minimal D-Bus: every call it writes is read back by a real sd-bus server
 * (as vgpud's private socket reads it) argument by argument; the server's real replies (a return
 * with a UUID, a named error, a signal sent before the reply) are read back; the reader refuses
 * malformed replies (every truncation, the byte order, version, type, trailing bytes, a string
 * without its NUL or with one inside, invalid UTF-8, a header field of the wrong type, non-zero
 * padding, an array of strings that passes its end); Acquire's options of every kind (s, as, i, b,
 * u) and its (soss) answer, Release's and its (as) answer, empty too, are read back; a server that rejects
 * the authentication or answers it with anything but SASL, hangs up or never answers is reported as such. */

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <systemd/sd-bus.h>

#include "alloc-call.h"
#include "change-call.h"
#include "macro.h"
#include "names.h"
#include "wire.h"

#define UUID1 "6f1c0e2a-3b4d-4e5f-8a6b-7c8d9e0f1a2b"

/* What the server saw of the one call of its connection, and how it answers. */
typedef struct Server {
        int listen_fd;
        enum { ANSWER, HANG_UP, SILENT } mode;
        char *member, *signature, *destination;
        GPtrArray *args; /* every argument as text: strings as they are, "key=b:1", "key=(ssi):a,b,-1" */
        pthread_t thread;
} Server;

static int read_strv_variant(sd_bus_message *m, char ***ret)
{
        int r;

        r = sd_bus_message_enter_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_read_strv(m, ret);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r;
}

static int read_dict(sd_bus_message *m, GPtrArray *out)
{
        const char *key, *type, *s, *s2;
        char **strv = NULL;
        uint32_t u;
        int r, i, b;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r > 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &key);
                if (r >= 0)
                        r = sd_bus_message_peek_type(m, NULL, &type);
                if (r >= 0 && strcmp(type, "s") == 0 && (r = sd_bus_message_read(m, "v", "s", &s)) >= 0)
                        g_ptr_array_add(out, g_strdup_printf("%s=s:%s", key, s));
                else if (r >= 0 && strcmp(type, "b") == 0 && (r = sd_bus_message_read(m, "v", "b", &b)) >= 0)
                        g_ptr_array_add(out, g_strdup_printf("%s=b:%d", key, b));
                else if (r >= 0 && strcmp(type, "i") == 0 && (r = sd_bus_message_read(m, "v", "i", &i)) >= 0)
                        g_ptr_array_add(out, g_strdup_printf("%s=i:%d", key, i));
                else if (r >= 0 && strcmp(type, "u") == 0 && (r = sd_bus_message_read(m, "v", "u", &u)) >= 0)
                        g_ptr_array_add(out, g_strdup_printf("%s=u:%u", key, u));
                else if (r >= 0 && strcmp(type, "as") == 0 && (r = read_strv_variant(m, &strv)) >= 0) {
                        g_autofree char *joined = strv ? g_strjoinv(",", strv) : g_strdup("");
                        g_ptr_array_add(out, g_strdup_printf("%s=as:%s", key, joined));
                        g_strfreev(g_steal_pointer(&strv));
                } else if (r >= 0 && strcmp(type, "(ssi)") == 0 &&
                           (r = sd_bus_message_read(m, "v", "(ssi)", &s, &s2, &i)) >= 0)
                        g_ptr_array_add(out, g_strdup_printf("%s=(ssi):%s,%s,%d", key, s, s2, i));
                else if (r >= 0)
                        r = -EINVAL;
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r;
}

static int on_call(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        Server *s = userdata;
        const char *member = sd_bus_message_get_member(m), *str;
        char type;
        int r = 0;

        if (sd_bus_message_is_method_call(m, NULL, NULL) <= 0)
                return 0;
        s->member = g_strdup(member);
        s->signature = g_strdup(sd_bus_message_get_signature(m, true));
        s->destination = g_strdup(sd_bus_message_get_destination(m));
        g_assert_cmpstr(sd_bus_message_get_path(m), ==, VGPUD_MANAGER_PATH);
        g_assert_cmpstr(sd_bus_message_get_interface(m), ==, VGPUD_MANAGER_IFACE);
        while (r >= 0 && sd_bus_message_peek_type(m, &type, NULL) > 0) {
                if (type == 's' && (r = sd_bus_message_read(m, "s", &str)) >= 0)
                        g_ptr_array_add(s->args, g_strdup(str));
                else if (type == 'a')
                        r = read_dict(m, s->args);
                else
                        r = -EINVAL;
        }
        g_assert_cmpint(r, >=, 0);
        if (s->mode == HANG_UP) {
                shutdown(sd_bus_get_fd(sd_bus_message_get_bus(m)), SHUT_RDWR);
                return 1;
        }
        if (s->mode == SILENT)
                return 1;
        /* a signal first: the client skips it */
        g_assert_cmpint(sd_bus_emit_signal(sd_bus_message_get_bus(m), VGPUD_MANAGER_PATH,
                                           VGPUD_MANAGER_IFACE, "Changed", "s", "x"),
                        >=, 0);
        if (strcmp(member, "Define") == 0)
                return sd_bus_reply_method_return(m, "so", UUID1, "/org/vgpud1/definition/x");
        if (strcmp(member, "Acquire") == 0)
                return sd_bus_reply_method_return(m, "soss", UUID1, "/org/vgpud1/device/x", "0000:41:00.0",
                                                  "nvidia-231");
        if (strcmp(member, "Release") == 0 && strcmp(s->args->pdata[0], "nobody") == 0)
                return sd_bus_reply_method_return(m, "as", 0);
        if (strcmp(member, "Release") == 0)
                return sd_bus_reply_method_return(m, "as", 2, UUID1, "second");
        if (strcmp(member, "Undefine") == 0)
                return sd_bus_reply_method_errorf(m, "org.vgpud1.Error.NotFound",
                                                  "Mediated device %s is not defined", UUID1);
        return sd_bus_reply_method_return(m, NULL);
}

/* One connection, served as vgpud's private socket serves it (bus-private.c): a server bus on the
 * accepted descriptor, until the client hangs up. */
static void *serve(void *userdata)
{
        Server *s = userdata;
        sd_bus *bus = NULL;
        sd_id128_t id;
        int fd, r;

        fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(sd_id128_randomize(&id), >=, 0);
        g_assert_cmpint(sd_bus_new(&bus), >=, 0);
        g_assert_cmpint(sd_bus_set_fd(bus, fd, fd), >=, 0);
        g_assert_cmpint(sd_bus_set_server(bus, true, id), >=, 0);
        g_assert_cmpint(sd_bus_add_filter(bus, NULL, on_call, s), >=, 0);
        g_assert_cmpint(sd_bus_start(bus), >=, 0);
        for (unsigned i = 0; i < 1000; i++) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        break;
                if (r > 0)
                        continue;
                if (sd_bus_wait(bus, 5 * G_USEC_PER_SEC) <= 0)
                        break;
        }
        sd_bus_flush_close_unref(bus);
        return NULL;
}

static char *socket_dir;
static int listen_fd_for_auth = -1;

static Server *server_start(int mode)
{
        Server *s = g_new0(Server, 1);
        g_autofree char *path = g_build_filename(socket_dir, "private", NULL);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};

        s->mode = mode;
        s->args = g_ptr_array_new_with_free_func(g_free);
        (void)unlink(path);
        g_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
        s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(s->listen_fd, >=, 0);
        g_assert_cmpint(bind(s->listen_fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
        g_assert_cmpint(listen(s->listen_fd, 1), ==, 0);
        g_assert_cmpint(pthread_create(&s->thread, NULL, serve, s), ==, 0);
        return s;
}

static void server_join(Server *s)
{
        g_assert_cmpint(pthread_join(s->thread, NULL), ==, 0);
        close(s->listen_fd);
}

static void server_free(Server *s)
{
        g_free(s->member);
        g_free(s->signature);
        g_free(s->destination);
        g_ptr_array_unref(s->args);
        g_free(s);
}

/* send() as wire.c calls it, counted (this definition comes before libc's; sd-bus, the server's side,
 * writes with sendmsg() and writev()): each write wakes the server, so a call is one write. */
static unsigned client_sends;

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
        client_sends++;
        return syscall(SYS_sendto, fd, buf, n, flags, NULL, 0);
}

/* The tests of calls run twice: the authentication's OK read before the call, and pipelined (the
 * authentication, BEGIN and the call in a row, the OK read with the reply: what the front does). */
static bool pipelined;

/* The call through vc_wire_connect() and vc_wire_call(); the server's view of it in *ret_server. */
static int call(const VcChangeCall *c, int mode, uint64_t timeout, VcWireReply *reply, Server **ret_server)
{
        g_autofree char *path = g_build_filename(socket_dir, "private", NULL);
        g_autoptr(GByteArray) message = g_byte_array_new();
        Server *s = server_start(mode);
        int fd = -1, r;

        g_assert_cmpint(vc_wire_build_call(c, message), ==, 0);
        client_sends = 0;
        g_assert_cmpint(vc_wire_connect(path, !pipelined, &fd), ==, 0);
        r = vc_wire_call(fd, !pipelined, message, timeout, reply);
        /* pipelined: the authentication, BEGIN and the call in one write */
        g_assert_cmpuint(client_sends, ==, pipelined ? 1 : 2);
        close(fd);
        server_join(s);
        *ret_server = s;
        return r;
}

static void assert_args(const Server *s, const char *const *expected)
{
        size_t n = g_strv_length((char **)expected);

        g_assert_cmpuint(s->args->len, ==, n);
        for (size_t i = 0; i < n; i++)
                g_assert_cmpstr(s->args->pdata[i], ==, expected[i]);
}

static void test_define(void)
{
        const char *const strings[] = {"0000:41:00.0", "", "{\"mdev_type\":\"nvidia-231\",\"attrs\":[]}"};
        const char *const expected[] = {"0000:41:00.0", "", strings[2], "force=b:1", NULL};
        VcWireReply reply = {};
        VcChangeCall c;
        Server *s;

        vc_change_call_init(&c, "Define", strings, 3);
        vc_change_call_add_options(&c, true, false, false, false);
        g_assert_cmpint(call(&c, ANSWER, 10 * G_USEC_PER_SEC, &reply, &s), ==, 0);
        g_assert_cmpstr(s->member, ==, "Define");
        g_assert_cmpstr(s->signature, ==, "sssa{sv}");
        g_assert_cmpstr(s->destination, ==, VGPUD_BUS_NAME);
        assert_args(s, expected);
        g_assert_false(reply.is_error);
        g_assert_cmpuint(reply.reply_serial, ==, VC_WIRE_SERIAL);
        g_assert_cmpstr(reply.signature, ==, "so");
        g_assert_cmpstr(reply.first_string, ==, UUID1);
        vc_wire_reply_clear(&reply);
        server_free(s);
}

static void test_modify(void)
{
        const char *const strings[] = {"", UUID1};
        const char *const expected[] = {
                "",
                UUID1,
                "definition=s:{\"mdev_type\":\"é\"}",
                "type=s:nvidia-232",
                "start=s:auto",
                "add_attribute=(ssi):name,value with spaces,-1",
                "defined=b:1",
                "live=b:0",
                NULL,
        };
        const char *const expected_empty[] = {"", UUID1, "delete_attribute=i:7", NULL};
        VcWireReply reply = {};
        VcChangeCall c;
        Server *s;

        vc_change_call_init(&c, "Modify", strings, 2);
        vc_change_call_add_change(
                &c, (VcCallEntry){VGPUD_CHANGE_DEFINITION, VC_VARIANT_STRING, "{\"mdev_type\":\"é\"}"});
        vc_change_call_add_change(&c, (VcCallEntry){VGPUD_CHANGE_TYPE, VC_VARIANT_STRING, "nvidia-232"});
        vc_change_call_add_change(&c, (VcCallEntry){VGPUD_CHANGE_START, VC_VARIANT_STRING, "auto"});
        vc_change_call_add_change(&c, (VcCallEntry){VGPUD_CHANGE_ADD_ATTRIBUTE, VC_VARIANT_ATTRIBUTE, "name",
                                                    "value with spaces", .i = -1});
        vc_change_call_add_options(&c, false, true, true, false);
        g_assert_cmpint(call(&c, ANSWER, 10 * G_USEC_PER_SEC, &reply, &s), ==, 0);
        g_assert_cmpstr(s->signature, ==, "ssa{sv}a{sv}");
        assert_args(s, expected);
        g_assert_false(reply.is_error);
        g_assert_cmpstr(reply.signature, ==, "");
        vc_wire_reply_clear(&reply);
        server_free(s);

        /* an empty options array, and a change of one int32 */
        vc_change_call_init(&c, "Modify", strings, 2);
        vc_change_call_add_change(&c, (VcCallEntry){VGPUD_CHANGE_DEL_ATTRIBUTE, VC_VARIANT_INT32, .i = 7});
        g_assert_cmpint(call(&c, ANSWER, 10 * G_USEC_PER_SEC, &reply, &s), ==, 0);
        assert_args(s, expected_empty);
        vc_wire_reply_clear(&reply);
        server_free(s);
}

static void test_acquire(void)
{
        const char *const parents[] = {"0000:41:00.0", "0000:42:00.0", NULL};
        const VcAcquireRequest req = {
                .profile = "T4-2Q",
                .owner = "libvirt:vm1",
                .place = {.parent = "0000:41:00.0",
                          .parents = parents,
                          .board = "B1",
                          .policy = "spread",
                          .has_numa_node = true,
                          .numa_node = -1,
                          .mixed_size = true},
                .has_slot = true,
                .slot = 4000000000U,
                .uuid = UUID1,
                .vm_uuid = "x",
                .persist = true,
                .dry_run = true,
                .force = true,
                .has_timeout = true,
                .timeout_ms = 5000,
        };
        const char *const expected[] = {
                "T4-2Q",
                "libvirt:vm1",
                "parent=s:0000:41:00.0",
                "parents=as:0000:41:00.0,0000:42:00.0",
                "board=s:B1",
                "numa_node=i:-1",
                "policy=s:spread",
                "mixed_size=b:1",
                "slot=u:4000000000",
                "uuid=s:" UUID1,
                "vm_uuid=s:x",
                "persist=b:1",
                "dry_run=b:1",
                "force=b:1",
                "timeout_ms=u:5000",
                NULL,
        };
        const char *const answer[] = {UUID1, "/org/vgpud1/device/x", "0000:41:00.0", "nvidia-231", NULL};
        VcWireReply reply = {};
        VcChangeCall c;
        Server *s;

        vc_acquire_call_init(&c, &req);
        g_assert_cmpstr(c.answer, ==, "soss");
        g_assert_cmpuint(c.timeout_usec, >=, 5000ULL * 1000ULL);
        g_assert_cmpint(call(&c, ANSWER, 10 * G_USEC_PER_SEC, &reply, &s), ==, 0);
        g_assert_cmpstr(s->member, ==, "Acquire");
        g_assert_cmpstr(s->signature, ==, "ssa{sv}");
        assert_args(s, expected);
        g_assert_false(reply.is_error);
        g_assert_cmpstr(reply.signature, ==, "soss");
        g_assert_true(g_strv_equal((const char *const *)reply.strings, answer));
        vc_wire_reply_clear(&reply);
        server_free(s);

        /* the fewest options: none but the two strings, an empty array of parents */
        const char *const none[] = {NULL};
        const VcAcquireRequest bare = {.profile = "2Q", .owner = "o", .place = {.parents = none}};
        const char *const expected_bare[] = {"2Q", "o", "parents=as:", NULL};

        vc_acquire_call_init(&c, &bare);
        g_assert_cmpint(call(&c, ANSWER, 10 * G_USEC_PER_SEC, &reply, &s), ==, 0);
        assert_args(s, expected_bare);
        vc_wire_reply_clear(&reply);
        server_free(s);
}

static void test_release(void)
{
        const uint32_t slot = 3, timeout = 70000;
        const char *const expected[] = {"libvirt:vm1", "slot=u:3", "force=b:1", "timeout_ms=u:70000", NULL};
        const char *const answer[] = {UUID1, "second", NULL};
        const char *const expected_nobody[] = {"nobody", NULL};
        VcWireReply reply = {};
        VcChangeCall c;
        Server *s;

        vc_release_call_init(&c, "libvirt:vm1", &slot, true, &timeout);
        g_assert_cmpstr(c.answer, ==, "as");
        g_assert_cmpuint(c.timeout_usec, ==,
                         (70000ULL + 60000ULL) * 1000ULL); /* the kernel's wait and a minute */
        g_assert_cmpint(call(&c, ANSWER, 10 * G_USEC_PER_SEC, &reply, &s), ==, 0);
        g_assert_cmpstr(s->member, ==, "Release");
        g_assert_cmpstr(s->signature, ==, "sa{sv}");
        assert_args(s, expected);
        g_assert_cmpstr(reply.signature, ==, "as");
        g_assert_true(g_strv_equal((const char *const *)reply.strings, answer));
        vc_wire_reply_clear(&reply);
        server_free(s);

        /* nothing released: an empty array */
        vc_release_call_init(&c, "nobody", NULL, false, NULL);
        g_assert_cmpint(call(&c, ANSWER, 10 * G_USEC_PER_SEC, &reply, &s), ==, 0);
        assert_args(s, expected_nobody);
        g_assert_cmpstr(reply.signature, ==, "as");
        g_assert_nonnull(reply.strings);
        g_assert_null(reply.strings[0]);
        vc_wire_reply_clear(&reply);
        server_free(s);
}

static void test_error(void)
{
        const char *const strings[] = {"", UUID1};
        const char *const expected[] = {"", UUID1, NULL};
        VcWireReply reply = {};
        VcChangeCall c;
        Server *s;

        vc_change_call_init(&c, "Undefine", strings, 2);
        g_assert_cmpint(call(&c, ANSWER, 10 * G_USEC_PER_SEC, &reply, &s), ==, 0);
        g_assert_cmpstr(s->signature, ==, "ssa{sv}");
        assert_args(s, expected);
        g_assert_true(reply.is_error);
        g_assert_cmpstr(reply.error_name, ==, "org.vgpud1.Error.NotFound");
        g_assert_cmpstr(reply.error_message, ==, "Mediated device " UUID1 " is not defined");
        vc_wire_reply_clear(&reply);
        server_free(s);
}

static void test_hang_up_and_silence(void)
{
        const char *const strings[] = {UUID1};
        VcWireReply reply = {};
        VcChangeCall c;
        Server *s;

        vc_change_call_init(&c, "Stop", strings, 1);
        g_assert_cmpint(call(&c, HANG_UP, 10 * G_USEC_PER_SEC, &reply, &s), ==, -ECONNRESET);
        server_free(s);
        g_assert_cmpint(call(&c, SILENT, 200 * 1000, &reply, &s), ==, -ETIMEDOUT);
        g_assert_cmpstr(s->member, ==, "Stop"); /* it was delivered */
        server_free(s);
}

/* A server that answers the authentication with text of its own, then waits for the hang-up. */
static void *answer_auth(void *userdata)
{
        const char *answer = userdata;
        char buf[4096];
        int fd = accept4(listen_fd_for_auth, NULL, NULL, SOCK_CLOEXEC);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(write(fd, answer, strlen(answer)), ==, (gssize)strlen(answer));
        while (read(fd, buf, sizeof buf) > 0)
                ;
        close(fd);
        return NULL;
}

static void test_authentication_refused(void)
{
        static const char *const answers[] = {"REJECTED EXTERNAL\r\n", "DATA\r\n", "\r\n",
                                              "OK 1234\r\nmore"};
        static const int expected[] = {-EACCES, -EBADMSG, -EBADMSG, -EBADMSG};
        /* not authenticated: the call was not made; the last one is authenticated, its "more" the start
         * of a message that never ends */
        static const int expected_pipelined[] = {-ENOTCONN, -ENOTCONN, -ENOTCONN, -ETIMEDOUT};
        const char *const strings[] = {UUID1};
        g_autofree char *path = g_build_filename(socket_dir, "private", NULL);
        g_autoptr(GByteArray) message = g_byte_array_new();
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        VcWireReply reply = {};
        VcChangeCall c;

        vc_change_call_init(&c, "Stop", strings, 1);
        g_assert_cmpint(vc_wire_build_call(&c, message), ==, 0);

        g_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
        for (size_t i = 0; i < G_N_ELEMENTS(answers); i++) {
                pthread_t thread;
                int fd = -1;

                (void)unlink(path);
                listen_fd_for_auth = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                g_assert_cmpint(bind(listen_fd_for_auth, (struct sockaddr *)&sa, sizeof sa), ==, 0);
                g_assert_cmpint(listen(listen_fd_for_auth, 1), ==, 0);
                g_assert_cmpint(pthread_create(&thread, NULL, answer_auth, (void *)answers[i]), ==, 0);
                if (pipelined) {
                        g_assert_cmpint(vc_wire_connect(path, false, &fd), ==, 0);
                        g_assert_cmpint(vc_wire_call(fd, false, message, 200 * 1000, &reply), ==,
                                        expected_pipelined[i]);
                        close(fd);
                } else {
                        g_assert_cmpint(vc_wire_connect(path, true, &fd), ==, expected[i]);
                        g_assert_cmpint(fd, ==, -1);
                }
                /* the server waits for our hang-up, which connect made on failure */
                g_assert_cmpint(pthread_join(thread, NULL), ==, 0);
                close(listen_fd_for_auth);
        }
}

static void test_invalid_utf8(void)
{
        const char *const strings[] = {"\xff", UUID1};
        g_autoptr(GByteArray) out = g_byte_array_new();
        VcChangeCall c;

        vc_change_call_init(&c, "Undefine", strings, 2);
        g_assert_cmpint(vc_wire_build_call(&c, out), ==, -EINVAL);
        g_assert_cmpuint(out->len, ==, 0);
}

/* The bytes of the server's reply to c, read off the socket by hand. */
static GByteArray *raw_reply(const VcChangeCall *c)
{
        g_autofree char *path = g_build_filename(socket_dir, "private", NULL);
        g_autoptr(GByteArray) message = g_byte_array_new();
        GByteArray *in = g_byte_array_new();
        Server *s = server_start(ANSWER);
        VcWireReply reply = {};
        size_t size = 0;
        int fd = -1;

        g_assert_cmpint(vc_wire_build_call(c, message), ==, 0);
        g_assert_cmpint(vc_wire_connect(path, true, &fd), ==, 0);
        g_assert_cmpint(write(fd, "BEGIN\r\n", 7), ==, 7);
        g_assert_cmpint(write(fd, message->data, message->len), ==, (gssize)message->len);
        for (;;) {
                uint8_t buf[4096];
                ssize_t n;

                /* skip the signal sent first */
                if (in->len >= 16 && vc_wire_message_size(in->data, in->len, &size) == 0 &&
                    in->len >= size) {
                        if (vc_wire_parse_reply(in->data, size, &reply) == 1)
                                break;
                        g_byte_array_remove_range(in, 0, (guint)size);
                        continue;
                }
                n = read(fd, buf, sizeof buf);
                g_assert_cmpint(n, >, 0);
                g_byte_array_append(in, buf, (guint)n);
        }
        vc_wire_reply_clear(&reply);
        g_assert_cmpuint(in->len, ==, size);
        close(fd);
        server_join(s);
        server_free(s);
        return in;
}

static int parse_copy(const GByteArray *msg, size_t len, void (*change)(uint8_t *, size_t, void *),
                      void *data)
{
        g_autofree uint8_t *copy = g_memdup2(msg->data, msg->len);
        VcWireReply reply = {};
        int r;

        if (change)
                change(copy, len, data);
        r = vc_wire_parse_reply(copy, len, &reply);
        vc_wire_reply_clear(&reply);
        return r;
}

static void set_byte(uint8_t *buf, size_t len, void *data)
{
        const size_t *at_value = data;

        buf[at_value[0]] = (uint8_t)at_value[1];
}

static void expect_refused(const GByteArray *msg, size_t at, uint8_t value)
{
        size_t at_value[2] = {at, value};

        g_assert_cmpuint(at, <, msg->len);
        g_assert_cmpint(parse_copy(msg, msg->len, set_byte, at_value), ==, -EBADMSG);
}

static size_t find(const GByteArray *msg, const char *needle)
{
        const uint8_t *p = memmem(msg->data, msg->len, needle, strlen(needle));

        g_assert_nonnull(p);
        return (size_t)(p - msg->data);
}

static void test_malformed(void)
{
        const char *const strings[] = {"0000:41:00.0", UUID1, "{}"};
        const char *const undefine[] = {"", UUID1};
        g_autoptr(GByteArray) ret = NULL, err = NULL, acquired = NULL, released = NULL;
        uint32_t fields_len, array_len;
        size_t at;
        VcChangeCall c;

        vc_change_call_init(&c, "Define", strings, 3);
        ret = raw_reply(&c);
        vc_change_call_init(&c, "Undefine", undefine, 2);
        err = raw_reply(&c);
        vc_acquire_call_init(&c, &(VcAcquireRequest){.profile = "2Q", .owner = "o"});
        acquired = raw_reply(&c);
        vc_release_call_init(&c, "o", NULL, false, NULL);
        released = raw_reply(&c);

        for (const GByteArray *const *m = (const GByteArray *const[]){ret, err, acquired, released, NULL};
             *m; m++) {
                const GByteArray *msg = *m;

                g_assert_cmpint(parse_copy(msg, msg->len, NULL, NULL), ==, 1);
                for (size_t len = 0; len < msg->len; len++) /* every truncation */
                        g_assert_cmpint(parse_copy(msg, len, NULL, NULL), ==, -EBADMSG);
                expect_refused(msg, 0, G_BYTE_ORDER == G_LITTLE_ENDIAN ? 'B' : 'l'); /* the other order */
                expect_refused(msg, 1, 0);                                           /* no such type */
                expect_refused(msg, 1, 5);
                expect_refused(msg, 3, 2); /* protocol version */
                expect_refused(msg, find(msg, "\x05\x01u"),
                               4); /* REPLY_SERIAL as ERROR_NAME: a u, not an s */
                expect_refused(msg, find(msg, "\x05\x01u") + 2, 'i'); /* REPLY_SERIAL of the wrong type */
                expect_refused(msg, G_BYTE_ORDER == G_LITTLE_ENDIAN ? 7 : 4,
                               0x40); /* a body past any limit */
                memcpy(&fields_len, msg->data + 12, 4);
                if ((16 + fields_len) % 8 != 0)
                        expect_refused(msg, 16 + fields_len, 1); /* padding that is not zero */
        }
        /* the UUID without its NUL, with a NUL inside; the message with invalid UTF-8, with a NUL */
        expect_refused(ret, find(ret, UUID1) + strlen(UUID1), 'x');
        expect_refused(ret, find(ret, UUID1) + 3, 0);
        expect_refused(err, find(err, "is not defined"), 0xff);
        expect_refused(err, find(err, "is not defined"), 0);
        /* Acquire's type without its NUL, its device path not a path; Release's array longer than the
         * body, shorter than its last string, its second string without its NUL */
        expect_refused(acquired, find(acquired, "nvidia-231") + strlen("nvidia-231"), 'x');
        expect_refused(acquired, find(acquired, "/org/vgpud1/device/x"), 'x');
        at = find(released, UUID1) - 8; /* the array's length, then the first string's */
        memcpy(&array_len, released->data + at, 4);
        g_assert_cmpuint(array_len, ==, 4 + strlen(UUID1) + 1 + 3 + 4 + strlen("second") + 1);
        expect_refused(released, G_BYTE_ORDER == G_LITTLE_ENDIAN ? at : at + 3, (uint8_t)(array_len + 4));
        expect_refused(released, G_BYTE_ORDER == G_LITTLE_ENDIAN ? at : at + 3, (uint8_t)(array_len - 2));
        expect_refused(released, find(released, "second") + strlen("second"), 'x');
        /* a METHOD_RETURN (so) with bytes after its two arguments */
        {
                g_autoptr(GByteArray) longer = g_byte_array_new();
                uint32_t body_len;

                g_byte_array_append(longer, ret->data, ret->len);
                g_byte_array_append(longer, (const uint8_t *)"\0\0\0\0\0\0\0\0", 8);
                memcpy(&body_len, longer->data + 4, 4);
                body_len += 8;
                memcpy(longer->data + 4, &body_len, 4);
                g_assert_cmpint(parse_copy(longer, longer->len, NULL, NULL), ==, -EBADMSG);
        }
}

/* g_test_add_data_func()'s data: the test to run pipelined. */
static void pipelined_run(gconstpointer test)
{
        pipelined = true;
        ((void (*)(void))test)();
        pipelined = false;
}

int main(int argc, char **argv)
{
        g_autoptr(GError) error = NULL;
        int r;

        g_test_init(&argc, &argv, NULL);
        socket_dir = g_dir_make_tmp("test-wire-XXXXXX", &error);
        g_assert_no_error(error);
        g_test_add_func("/wire/define", test_define);
        g_test_add_func("/wire/modify", test_modify);
        g_test_add_func("/wire/acquire", test_acquire);
        g_test_add_func("/wire/release", test_release);
        g_test_add_func("/wire/error", test_error);
        g_test_add_func("/wire/hang-up-and-silence", test_hang_up_and_silence);
        g_test_add_func("/wire/authentication-refused", test_authentication_refused);
        g_test_add_data_func("/wire/pipelined/define", (gconstpointer)test_define, pipelined_run);
        g_test_add_data_func("/wire/pipelined/acquire", (gconstpointer)test_acquire, pipelined_run);
        g_test_add_data_func("/wire/pipelined/release", (gconstpointer)test_release, pipelined_run);
        g_test_add_data_func("/wire/pipelined/error", (gconstpointer)test_error, pipelined_run);
        g_test_add_data_func("/wire/pipelined/hang-up-and-silence", (gconstpointer)test_hang_up_and_silence,
                             pipelined_run);
        g_test_add_data_func("/wire/pipelined/authentication-refused",
                             (gconstpointer)test_authentication_refused, pipelined_run);
        g_test_add_func("/wire/invalid-utf8", test_invalid_utf8);
        g_test_add_func("/wire/malformed", test_malformed);
        r = g_test_run();
        g_autofree char *path = g_build_filename(socket_dir, "private", NULL);
        (void)unlink(path);
        (void)g_rmdir(socket_dir);
        g_free(socket_dir);
        return r;
}
