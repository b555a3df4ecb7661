/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wire.h: the front's minimal D-Bus (the D-Bus specification's "Message Protocol" and "Authentication
 * Protocol", for the few types the change calls use). */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "macro.h"
#include "names.h"
#include "wire.h"

enum {
        MESSAGE_METHOD_CALL = 1,
        MESSAGE_METHOD_RETURN = 2,
        MESSAGE_ERROR = 3,
        MESSAGE_SIGNAL = 4,
};

enum {
        FIELD_PATH = 1,
        FIELD_INTERFACE = 2,
        FIELD_MEMBER = 3,
        FIELD_ERROR_NAME = 4,
        FIELD_REPLY_SERIAL = 5,
        FIELD_DESTINATION = 6,
        FIELD_SIGNATURE = 8,
};

#define FIXED_HEADER 16
#define HOST_ENDIAN  (G_BYTE_ORDER == G_LITTLE_ENDIAN ? 'l' : 'B')

void vc_wire_reply_clear(VcWireReply *reply)
{
        g_free(reply->error_name);
        g_free(reply->error_message);
        g_free(reply->signature);
        g_free(reply->first_string);
        g_strfreev(reply->strings);
        *reply = (VcWireReply){};
}

/* ---- writing: every value aligned to its size from the start of the message ---- */

static void put_pad(GByteArray *out, size_t align)
{
        static const uint8_t zeros[8];

        g_byte_array_append(out, zeros, (align - out->len % align) % align);
}

static void put_u32(GByteArray *out, uint32_t v)
{
        put_pad(out, 4);
        g_byte_array_append(out, (const uint8_t *)&v, 4);
}

static void set_u32(GByteArray *out, size_t at, uint32_t v)
{
        memcpy(out->data + at, &v, 4);
}

/* s and o: length, bytes, NUL. */
static int put_string(GByteArray *out, const char *s)
{
        size_t n = strlen(s);

        if (!g_utf8_validate(s, (gssize)n, NULL))
                return -EINVAL;
        if (n > VC_WIRE_MAX_MESSAGE)
                return -E2BIG;
        put_u32(out, (uint32_t)n);
        g_byte_array_append(out, (const uint8_t *)s, (guint)n + 1);
        return 0;
}

/* g: one byte of length, the signature, NUL (our signatures are short constants). */
static void put_signature(GByteArray *out, const char *sig)
{
        uint8_t n = (uint8_t)strlen(sig);

        g_byte_array_append(out, &n, 1);
        g_byte_array_append(out, (const uint8_t *)sig, n + 1U);
}

static void put_field(GByteArray *out, uint8_t code, const char *type, const char *value)
{
        put_pad(out, 8);
        g_byte_array_append(out, &code, 1);
        put_signature(out, type);
        if (strcmp(type, "g") == 0)
                put_signature(out, value);
        else
                (void)put_string(out, value); /* our constant names: valid UTF-8 */
}

/* An array: its length, then the padding to its elements' alignment (present even when it is empty),
 * then the elements. array_begin() writes a length of 0 and returns where it stands; array_end() sets
 * it to the length of what follows the padding (start). */
static size_t array_begin(GByteArray *out, size_t element_alignment, size_t *ret_start)
{
        size_t at;

        put_u32(out, 0);
        at = out->len - 4;
        put_pad(out, element_alignment);
        *ret_start = out->len;
        return at;
}

static int array_end(GByteArray *out, size_t at, size_t start)
{
        if (out->len - start > VC_WIRE_MAX_MESSAGE)
                return -E2BIG;
        set_u32(out, at, (uint32_t)(out->len - start));
        return 0;
}

/* as */
static int put_strv(GByteArray *out, const char *const *strv)
{
        size_t start, at = array_begin(out, 4, &start);
        int r;

        for (size_t i = 0; strv && strv[i]; i++) {
                r = put_string(out, strv[i]);
                if (r < 0)
                        return r;
                if (out->len - start > VC_WIRE_MAX_MESSAGE)
                        return -E2BIG;
        }
        return array_end(out, at, start);
}

static int put_entry(GByteArray *out, const VcCallEntry *e)
{
        int r;

        put_pad(out, 8); /* a dict entry is aligned like a struct */
        r = put_string(out, e->key);
        if (r < 0)
                return r;
        switch (e->kind) {
        case VC_VARIANT_STRING: put_signature(out, "s"); return put_string(out, e->s);
        case VC_VARIANT_BOOLEAN:
                put_signature(out, "b");
                put_u32(out, e->b ? 1 : 0);
                return 0;
        case VC_VARIANT_INT32:
                put_signature(out, "i");
                put_u32(out, (uint32_t)e->i);
                return 0;
        case VC_VARIANT_UINT32:
                put_signature(out, "u");
                put_u32(out, e->u);
                return 0;
        case VC_VARIANT_STRV: put_signature(out, "as"); return put_strv(out, e->strv);
        case VC_VARIANT_ATTRIBUTE:
                put_signature(out, "(ssi)");
                put_pad(out, 8);
                r = put_string(out, e->s);
                if (r >= 0)
                        r = put_string(out, e->s2);
                if (r >= 0)
                        put_u32(out, (uint32_t)e->i);
                return r;
        }
        return -EINVAL;
}

/* a{sv}: its entries are aligned like structs, to 8 */
static int put_dict(GByteArray *out, const VcCallEntry *entries, size_t n)
{
        size_t start, at = array_begin(out, 8, &start);
        int r;

        for (size_t i = 0; i < n; i++) {
                r = put_entry(out, &entries[i]);
                if (r < 0)
                        return r;
        }
        return array_end(out, at, start);
}

static int put_body(GByteArray *out, const VcChangeCall *call)
{
        int r = 0;

        for (size_t i = 0; r >= 0 && i < call->n_strings; i++)
                r = put_string(out, call->strings[i]);
        if (r >= 0 && call->has_changes)
                r = put_dict(out, call->changes, call->n_changes);
        if (r >= 0)
                r = put_dict(out, call->options, call->n_options);
        return r;
}

int vc_wire_build_call(const VcChangeCall *call, GByteArray *out)
{
        const uint8_t fixed[4] = {HOST_ENDIAN, MESSAGE_METHOD_CALL, 0, 1};
        size_t begin = out->len, fields, body;
        char sig[16];
        int r;

        g_assert(begin % 8 == 0);
        g_byte_array_append(out, fixed, 4);
        put_u32(out, 0); /* body length, set below */
        put_u32(out, VC_WIRE_SERIAL);
        put_u32(out, 0); /* length of the header fields, set below */
        fields = out->len;
        put_field(out, FIELD_PATH, "o", VGPUD_MANAGER_PATH);
        put_field(out, FIELD_INTERFACE, "s", VGPUD_MANAGER_IFACE);
        put_field(out, FIELD_MEMBER, "s", call->method);
        put_field(out, FIELD_DESTINATION, "s", VGPUD_BUS_NAME);
        put_field(out, FIELD_SIGNATURE, "g", vc_change_call_signature(call, sig));
        set_u32(out, begin + 12, (uint32_t)(out->len - fields));
        put_pad(out, 8);
        body = out->len;
        r = put_body(out, call);
        if (r >= 0 && out->len - begin > VC_WIRE_MAX_MESSAGE)
                r = -E2BIG;
        if (r < 0) {
                g_byte_array_set_size(out, (guint)begin);
                return r;
        }
        set_u32(out, begin + 4, (uint32_t)(out->len - body));
        return 0;
}

/* ---- reading: a cursor over one whole message, every step checked ---- */

typedef struct Reader {
        const uint8_t *buf;
        size_t pos, end; /* positions from the start of the message, so alignment is absolute */
} Reader;

static int get_pad(Reader *rd, size_t align)
{
        size_t to = (rd->pos + align - 1) / align * align;

        if (to > rd->end)
                return -EBADMSG;
        for (; rd->pos < to; rd->pos++)
                if (rd->buf[rd->pos] != 0)
                        return -EBADMSG;
        return 0;
}

static int get_bytes(Reader *rd, size_t align, size_t n, const uint8_t **ret)
{
        if (get_pad(rd, align) < 0 || n > rd->end - rd->pos)
                return -EBADMSG;
        *ret = rd->buf + rd->pos;
        rd->pos += n;
        return 0;
}

static int get_u32(Reader *rd, uint32_t *ret)
{
        const uint8_t *p;

        if (get_bytes(rd, 4, 4, &p) < 0)
                return -EBADMSG;
        memcpy(ret, p, 4);
        return 0;
}

/* s or o (4-byte length) or g (1-byte length): NUL-terminated, no NUL inside, UTF-8. Borrowed. */
static int get_string(Reader *rd, char type, const char **ret)
{
        const uint8_t *p, *len1;
        uint32_t n;

        if (type == 'g') {
                if (get_bytes(rd, 1, 1, &len1) < 0)
                        return -EBADMSG;
                n = *len1;
        } else if (get_u32(rd, &n) < 0)
                return -EBADMSG;
        if (n >= rd->end - rd->pos || get_bytes(rd, 1, (size_t)n + 1, &p) < 0)
                return -EBADMSG;
        /* g_utf8_validate() refuses a NUL within the length too */
        if (p[n] != 0 || !g_utf8_validate((const char *)p, n, NULL))
                return -EBADMSG;
        if (type == 'o' && p[0] != '/')
                return -EBADMSG;
        *ret = (const char *)p;
        return 0;
}

/* A header field's value: one basic type (the specification's fields are all basic). */
static int get_basic(Reader *rd, char type, const char **ret_string, uint32_t *ret_u32)
{
        static const char sizes[] = "y1b4n2q2i4u4x8t8d8h4";
        const uint8_t *p;

        *ret_string = NULL;
        if (type == 's' || type == 'o' || type == 'g')
                return get_string(rd, type, ret_string);
        for (size_t i = 0; sizes[i]; i += 2)
                if (sizes[i] == type) {
                        size_t n = (size_t)(sizes[i + 1] - '0');
                        if (get_bytes(rd, n, n, &p) < 0)
                                return -EBADMSG;
                        if (n == 4)
                                memcpy(ret_u32, p, 4);
                        return 0;
                }
        return -EBADMSG;
}

typedef struct Header {
        uint8_t type;
        uint32_t body_len, fields_len;
        const char *error_name, *signature;
        bool has_reply_serial;
        uint32_t reply_serial;
} Header;

/* The expected type of the fields this parser reads; 0 for the others, read by their own. */
static char field_type(uint8_t code)
{
        switch (code) {
        case FIELD_PATH: return 'o';
        case FIELD_INTERFACE:
        case FIELD_MEMBER:
        case FIELD_ERROR_NAME:
        case FIELD_DESTINATION: return 's';
        case FIELD_REPLY_SERIAL: return 'u';
        case FIELD_SIGNATURE: return 'g';
        default: return 0;
        }
}

static int get_fields(Reader *rd, Header *h)
{
        size_t end = FIXED_HEADER + (size_t)h->fields_len;
        Reader fields = {rd->buf, FIXED_HEADER, end};

        while (fields.pos < end) {
                const uint8_t *code;
                const char *sig, *s;
                uint32_t u = 0;

                if (get_bytes(&fields, 8, 1, &code) < 0 || get_string(&fields, 'g', &sig) < 0 ||
                    strlen(sig) != 1)
                        return -EBADMSG;
                if (field_type(*code) != 0 && field_type(*code) != sig[0])
                        return -EBADMSG;
                if (get_basic(&fields, sig[0], &s, &u) < 0)
                        return -EBADMSG;
                if (*code == FIELD_ERROR_NAME)
                        h->error_name = s;
                else if (*code == FIELD_SIGNATURE)
                        h->signature = s;
                else if (*code == FIELD_REPLY_SERIAL) {
                        h->has_reply_serial = true;
                        h->reply_serial = u;
                }
        }
        rd->pos = end;
        return get_pad(rd, 8);
}

int vc_wire_message_size(const uint8_t *buf, size_t len, size_t *ret_size)
{
        uint32_t body_len, serial, fields_len;
        uint64_t size;

        if (len < FIXED_HEADER || buf[0] != HOST_ENDIAN || buf[1] < MESSAGE_METHOD_CALL ||
            buf[1] > MESSAGE_SIGNAL || buf[3] != 1)
                return -EBADMSG;
        memcpy(&body_len, buf + 4, 4);
        memcpy(&serial, buf + 8, 4);
        memcpy(&fields_len, buf + 12, 4);
        if (serial == 0)
                return -EBADMSG;
        size = ((uint64_t)FIXED_HEADER + fields_len + 7) / 8 * 8 + body_len;
        if (size > VC_WIRE_MAX_MESSAGE)
                return -EBADMSG;
        *ret_size = (size_t)size;
        return 0;
}

/* as: the array's length, then strings up to exactly its end. */
static int get_strv(Reader *rd, GPtrArray *out)
{
        const char *str;
        uint32_t n;
        size_t end;

        if (get_u32(rd, &n) < 0 || n > rd->end - rd->pos)
                return -EBADMSG;
        end = rd->pos + n;
        while (rd->pos < end) {
                if (get_string(rd, 's', &str) < 0 || rd->pos > end)
                        return -EBADMSG;
                g_ptr_array_add(out, g_strdup(str));
        }
        return 0;
}

/* The body of a reply: every argument of a signature of strings and paths only ("s", "so", "soss"),
 * the elements of "as" (nothing may follow either); of another signature that starts with a string,
 * that string; other bodies are not read. */
static int get_body(Reader *rd, const Header *h, VcWireReply *ret)
{
        const char *sig = h->signature ? h->signature : "";
        g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func(g_free);
        bool whole = sig[0] != '\0' && sig[strspn(sig, "so")] == '\0';
        const char *str;

        if (rd->end - rd->pos != h->body_len)
                return -EBADMSG;
        if (sig[0] == '\0' && h->body_len != 0)
                return -EBADMSG;
        if (strcmp(sig, "as") == 0) {
                if (get_strv(rd, strings) < 0 || rd->pos != rd->end)
                        return -EBADMSG;
        } else if (sig[0] == 's') {
                for (size_t i = 0; sig[i] && (whole || i == 0); i++) {
                        if (get_string(rd, sig[i], &str) < 0)
                                return -EBADMSG;
                        g_ptr_array_add(strings, g_strdup(str));
                }
                if (whole && rd->pos != rd->end)
                        return -EBADMSG;
                ret->first_string = g_strdup(strings->pdata[0]);
                if (h->type == MESSAGE_ERROR)
                        ret->error_message = g_strdup(strings->pdata[0]);
        }
        g_ptr_array_add(strings, NULL);
        ret->strings = (char **)g_ptr_array_free(g_steal_pointer(&strings), FALSE);
        return 0;
}

int vc_wire_parse_reply(const uint8_t *buf, size_t len, VcWireReply *ret)
{
        Reader rd = {buf, FIXED_HEADER, len};
        Header h = {};
        size_t size;
        int r;

        *ret = (VcWireReply){};
        r = vc_wire_message_size(buf, len, &size);
        if (r < 0 || size != len)
                return -EBADMSG;
        h.type = buf[1];
        memcpy(&h.body_len, buf + 4, 4);
        memcpy(&h.fields_len, buf + 12, 4);
        if (get_fields(&rd, &h) < 0)
                return -EBADMSG;
        if (h.type == MESSAGE_METHOD_CALL || h.type == MESSAGE_SIGNAL)
                return 0;
        if (!h.has_reply_serial || (h.type == MESSAGE_ERROR && !h.error_name))
                return -EBADMSG;
        if (!h.signature && h.body_len != 0)
                return -EBADMSG;
        r = get_body(&rd, &h, ret);
        if (r < 0) {
                vc_wire_reply_clear(ret);
                return r;
        }
        ret->is_error = h.type == MESSAGE_ERROR;
        ret->reply_serial = h.reply_serial;
        ret->error_name = h.type == MESSAGE_ERROR ? g_strdup(h.error_name) : NULL;
        ret->signature = g_strdup(h.signature ? h.signature : "");
        return 1;
}

/* ---- the connection ---- */

static uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000ULL;
}

/* At most this much is read at once, straight into the array (a buffer on the stack costs a page fault
 * per 4 KiB: the compiler probes every page of a large frame). */
#define READ_CHUNK 4096

/* Read what is there into in, waiting until deadline (UINT64_MAX: forever). 0 at EOF is -ECONNRESET. */
static int read_some(int fd, GByteArray *in, uint64_t deadline)
{
        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                uint64_t now = now_usec();
                int timeout = deadline == UINT64_MAX ? -1
                              : now >= deadline
                                      ? 0
                                      : (int)MIN((deadline - now + 999) / 1000, (uint64_t)INT32_MAX);
                int r = poll(&p, 1, timeout);
                guint len = in->len;
                ssize_t n;
                int e;

                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r == 0)
                        return -ETIMEDOUT;
                g_byte_array_set_size(in, len + READ_CHUNK);
                n = read(fd, in->data + len, READ_CHUNK);
                e = errno;
                g_byte_array_set_size(in, len + (guint)MAX(n, 0));
                if (n < 0 && (e == EINTR || e == EAGAIN))
                        continue;
                if (n < 0)
                        return e == EPIPE ? -ECONNRESET : -e;
                if (n == 0)
                        return -ECONNRESET;
                return 0;
        }
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
        while (n > 0) {
                ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return errno == EPIPE ? -ECONNRESET : -errno;
                p += w;
                n -= (size_t)w;
        }
        return 0;
}

/* SASL EXTERNAL as this process's effective uid: the bytes to send, appended to out. */
static void append_auth(GByteArray *out)
{
        char uid[16];

        snprintf(uid, sizeof uid, "%u", (unsigned)geteuid());
        g_byte_array_append(out, (const uint8_t *)"\0AUTH EXTERNAL ", 15);
        for (const char *c = uid; *c; c++) {
                char hex[3];

                snprintf(hex, sizeof hex, "%02x", (unsigned char)*c);
                g_byte_array_append(out, (const uint8_t *)hex, 2);
        }
        g_byte_array_append(out, (const uint8_t *)"\r\n", 2);
}

/* The server's answer to the authentication: its one line, read into in (and taken from it) within
 * 10 s. 0 for OK, -EACCES for REJECTED, -EBADMSG for anything else. */
static int read_auth(int fd, GByteArray *in)
{
        uint64_t deadline = now_usec() + 10ULL * 1000ULL * 1000ULL;
        uint8_t *nl = NULL;
        size_t line;
        int r = 0;

        /* in->data is NULL while in is empty, and memchr() must not be given NULL */
        while (r >= 0 && !(in->len > 0 && (nl = memchr(in->data, '\n', in->len)))) {
                if (in->len > 512)
                        return -EBADMSG;
                r = read_some(fd, in, deadline);
        }
        if (r < 0)
                return r;
        line = (size_t)(nl - in->data) + 1;
        if (line < 4 || nl[-1] != '\r')
                return -EBADMSG;
        if (strncmp((const char *)in->data, "OK ", 3) == 0)
                r = 0;
        else if (strncmp((const char *)in->data, "REJECTED", 8) == 0)
                r = -EACCES;
        else
                r = -EBADMSG;
        g_byte_array_remove_range(in, 0, (guint)line);
        return r;
}

/* Wait up to 10 s for the server's answer to the authentication sent alone. */
static int auth_wait(int fd)
{
        g_autoptr(GByteArray) in = g_byte_array_new();
        int r = read_auth(fd, in);

        /* the server says nothing more before our BEGIN */
        return r >= 0 && in->len > 0 ? -EBADMSG : r;
}

int vc_wire_connect(const char *path, bool authenticate, int *ret_fd)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (const struct sockaddr *)&sa, sizeof sa) < 0)
                return -errno;
        if (authenticate) {
                g_autoptr(GByteArray) out = g_byte_array_new();

                append_auth(out);
                r = write_all(fd, out->data, out->len);
                if (r >= 0)
                        r = auth_wait(fd);
                if (r < 0)
                        return r;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int vc_wire_call(int fd, bool authenticated, const GByteArray *message, uint64_t timeout_usec,
                 VcWireReply *ret)
{
        g_autoptr(GByteArray) out = g_byte_array_sized_new(message->len + 64);
        g_autoptr(GByteArray) in = g_byte_array_new();
        uint64_t deadline = now_usec() + timeout_usec;
        size_t size;
        int r;

        /* one write: each write wakes the server, which runs ahead of us on our CPU (a sync wake-up) */
        if (!authenticated)
                append_auth(out);
        g_byte_array_append(out, (const uint8_t *)"BEGIN\r\n", 7);
        g_byte_array_append(out, message->data, message->len);
        r = write_all(fd, out->data, out->len);
        /* a server that did not authenticate us has not read the call as one: it was not made */
        if (!authenticated && (r < 0 || read_auth(fd, in) < 0))
                return -ENOTCONN;
        while (r >= 0) {
                while (r >= 0 && in->len >= FIXED_HEADER) {
                        r = vc_wire_message_size(in->data, in->len, &size);
                        if (r < 0 || in->len < size)
                                break;
                        r = vc_wire_parse_reply(in->data, size, ret);
                        if (r > 0 && ret->reply_serial == VC_WIRE_SERIAL)
                                return 0;
                        if (r > 0)
                                vc_wire_reply_clear(ret);
                        g_byte_array_remove_range(in, 0, (guint)size);
                }
                if (r >= 0)
                        r = read_some(fd, in, deadline);
        }
        return r;
}
