/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The intent log (intent-log.h). */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "fault.h"
#include "fileio.h"
#include "intent-log.h"

/* The header, at offset 0, in the host's byte order. */
#define HEADER_MAGIC "vgpud-intent-log" /* 16 bytes, no NUL */
#define HEADER_SIZE  64
#define RECORDS_AT   4096
#define VERSION      1

/* A record: magic, length (a multiple of 8), number, digest, then the change. */
#define RECORD_MAGIC 0x4c494756u /* "VGIL" */
#define RECORD_HEAD  48
#define CHANGE_HEAD  24 /* kind, mode, the directory's length, the name's, the bytes' (64 bits) */
#define DIGEST_SIZE  32

struct IntentLog {
        int fd;
        uint64_t next;  /* the number of the next record */
        uint64_t first; /* the number of the first record not retired */
        size_t tail;    /* where the next record goes */
        bool broken;
};

static void sha256(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[DIGEST_SIZE])
{
        g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
        gsize len = DIGEST_SIZE;

        g_checksum_update(sum, a, (gssize)alen);
        if (blen > 0)
                g_checksum_update(sum, b, (gssize)blen);
        g_checksum_get_digest(sum, out, &len);
}

static int pwrite_all(int fd, const void *buf, size_t len, off_t at)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t n = pwrite(fd, p, len, at);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += n;
                at += n;
                len -= (size_t)n;
        }
        return 0;
}

/* The log's own fdatasync (VGPUD_TEST_FAIL_AT / VGPUD_TEST_SLOW_AT "fsync-intent-log", fault.h). */
static int sync_log(int fd)
{
        int r = fault_errno("fsync-intent-log");

        if (r < 0)
                return r;
        fault_delay("fsync-intent-log");
        return fdatasync(fd) < 0 ? negative_errno() : 0;
}

/* A name the log holds: one path component. */
static bool name_ok(const char *name, size_t len)
{
        return len > 0 && len <= NAME_MAX && memchr(name, '/', len) == NULL &&
               memchr(name, '\0', len) == NULL && !(len == 1 && name[0] == '.') &&
               !(len == 2 && name[0] == '.' && name[1] == '.');
}

/* A directory the log holds: absolute, each component a name (no ".", "..", or empty one). */
static bool dir_ok(const char *dir, size_t len)
{
        size_t i = 1;

        if (len < 2 || len > PATH_MAX || dir[0] != '/' || memchr(dir, '\0', len) != NULL)
                return false;
        while (i < len) {
                const char *slash = memchr(dir + i, '/', len - i);
                size_t end = slash ? (size_t)(slash - dir) : len;

                if (!name_ok(dir + i, end - i))
                        return false;
                i = end + 1;
        }
        return dir[len - 1] != '/';
}

/* ---- the header ---- */

static void header_make(uint64_t retired, uint8_t out[HEADER_SIZE])
{
        uint32_t version = VERSION, zero = 0;

        memset(out, 0, HEADER_SIZE);
        memcpy(out, HEADER_MAGIC, 16);
        memcpy(out + 16, &version, 4);
        memcpy(out + 20, &zero, 4);
        memcpy(out + 24, &retired, 8);
        sha256(out, 32, NULL, 0, out + 32);
}

/* The retired number the header says, or false when it does not check. */
static bool header_read(const uint8_t *buf, size_t len, uint64_t *ret_retired)
{
        uint8_t digest[DIGEST_SIZE];
        uint32_t version;

        if (len < HEADER_SIZE || memcmp(buf, HEADER_MAGIC, 16) != 0)
                return false;
        sha256(buf, 32, NULL, 0, digest);
        memcpy(&version, buf + 16, 4);
        if (memcmp(digest, buf + 32, DIGEST_SIZE) != 0 || version != VERSION)
                return false;
        memcpy(ret_retired, buf + 24, 8);
        return true;
}

static int header_write(int fd, uint64_t retired)
{
        uint8_t h[HEADER_SIZE];
        int r;

        header_make(retired, h);
        r = pwrite_all(fd, h, sizeof(h), 0);
        return r < 0 ? r : sync_log(fd);
}

/* ---- records ---- */

static size_t record_size(size_t dir, size_t name, size_t len)
{
        return (RECORD_HEAD + CHANGE_HEAD + dir + name + len + 7) & ~(size_t)7;
}

static void record_put(GByteArray *out, uint64_t seq, const IntentRecord *rec)
{
        size_t dir = strlen(rec->dir), name = strlen(rec->name);
        size_t total = record_size(dir, name, rec->len);
        uint32_t magic = RECORD_MAGIC, len32 = (uint32_t)total, kind = rec->kind, mode = rec->mode;
        uint32_t dir32 = (uint32_t)dir, name32 = (uint32_t)name;
        uint64_t data64 = rec->len;
        guint at = out->len;
        uint8_t *p;

        g_byte_array_set_size(out, at + (guint)total);
        p = out->data + at;
        memset(p, 0, total);
        memcpy(p, &magic, 4);
        memcpy(p + 4, &len32, 4);
        memcpy(p + 8, &seq, 8);
        memcpy(p + 48, &kind, 4);
        memcpy(p + 52, &mode, 4);
        memcpy(p + 56, &dir32, 4);
        memcpy(p + 60, &name32, 4);
        memcpy(p + 64, &data64, 8);
        memcpy(p + 72, rec->dir, dir);
        memcpy(p + 72 + dir, rec->name, name);
        if (rec->len > 0)
                memcpy(p + 72 + dir + name, rec->data, rec->len);
        sha256(p + 8, 8, p + RECORD_HEAD, total - RECORD_HEAD, p + 16);
}

/* One record read back: its change points into the buffer (dir and name copied, NUL-terminated). */
typedef struct Read {
        uint64_t seq;
        IntentKind kind;
        mode_t mode;
        char *dir, *name;
        const uint8_t *data;
        size_t len;
        bool cancelled;
} Read;

static void read_clear(Read *r)
{
        g_free(r->dir);
        g_free(r->name);
}

/* The record at buf[at] when it checks and carries the number seq: its size, else 0. */
static size_t record_get(const uint8_t *buf, size_t size, size_t at, uint64_t seq, Read *ret)
{
        uint32_t magic, len32, kind, mode, dir, name;
        uint64_t got, data;
        uint8_t digest[DIGEST_SIZE];
        const uint8_t *p = buf + at;

        if (size - at < RECORD_HEAD + CHANGE_HEAD)
                return 0;
        memcpy(&magic, p, 4);
        memcpy(&len32, p + 4, 4);
        memcpy(&got, p + 8, 8);
        if (magic != RECORD_MAGIC || got != seq || len32 % 8 != 0 || len32 < RECORD_HEAD + CHANGE_HEAD ||
            len32 > size - at)
                return 0;
        sha256(p + 8, 8, p + RECORD_HEAD, len32 - RECORD_HEAD, digest);
        if (memcmp(digest, p + 16, DIGEST_SIZE) != 0)
                return 0;
        memcpy(&kind, p + 48, 4);
        memcpy(&mode, p + 52, 4);
        memcpy(&dir, p + 56, 4);
        memcpy(&name, p + 60, 4);
        memcpy(&data, p + 64, 8);
        /* a record that checks was written by this code: a change it cannot hold is a bug or a forgery */
        if (data > len32 - RECORD_HEAD - CHANGE_HEAD ||
            (uint64_t)dir + name > len32 - RECORD_HEAD - CHANGE_HEAD - data ||
            (kind != INTENT_WRITE && kind != INTENT_REMOVE && kind != INTENT_CANCEL))
                return 0;
        if (kind == INTENT_CANCEL
                    ? data != 8
                    : !dir_ok((const char *)p + 72, dir) || !name_ok((const char *)p + 72 + dir, name))
                return 0;
        *ret = (Read){
                .seq = seq,
                .kind = kind,
                .mode = mode,
                .dir = g_strndup((const char *)p + 72, dir),
                .name = g_strndup((const char *)p + 72 + dir, name),
                .data = p + 72 + dir + name,
                .len = (size_t)data,
        };
        return len32;
}

/* The number of the record at the start of the records when one that checks is there (the chain a
 * header that does not check leaves to go by), else 0. */
static uint64_t chain_start(const uint8_t *buf, size_t size)
{
        uint64_t seq;
        Read rec;

        if (size < RECORDS_AT + 16)
                return 0;
        memcpy(&seq, buf + RECORDS_AT + 8, 8);
        if (seq == 0 || record_get(buf, size, RECORDS_AT, seq, &rec) == 0)
                return 0;
        read_clear(&rec);
        return seq;
}

/* ---- replay ---- */

/* The directory of a record, made when it is missing (its parent then synced): a replacement's
 * directory may have gone with its last definition after the record was appended. */
static int open_dir_made(const char *dir, bool make)
{
        g_autofree char *up = NULL;
        _cleanup_close_ int upfd = -1;
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd >= 0 || errno != ENOENT || !make)
                return fd >= 0 ? fd : negative_errno();
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        up = g_path_get_dirname(dir);
        upfd = open(up, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (upfd < 0 || fsync(upfd) < 0)
                return negative_errno();
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd >= 0 ? fd : negative_errno();
}

static int put_in_place(const Read *rec)
{
        _cleanup_close_ int dirfd = open_dir_made(rec->dir, rec->kind == INTENT_WRITE);

        if (dirfd == -ENOENT && rec->kind == INTENT_REMOVE)
                return 0; /* the directory went with what it held */
        if (dirfd < 0)
                return dirfd;
        if (rec->kind == INTENT_WRITE)
                return write_file_atomic_at(dirfd, rec->name, rec->data, rec->len, rec->mode);
        if (unlinkat(dirfd, rec->name, 0) < 0 && errno != ENOENT)
                return negative_errno();
        return fsync(dirfd) < 0 ? negative_errno() : 0;
}

/* Read the records of buf not retired (the header's retired number, or, when the header does not
 * check, the chain from the first record on, all of them in place already: see intent-log.h); put the
 * ones not cancelled in place when replay. *ret_last: the number of the last record read. */
static int replay(const uint8_t *buf, size_t size, bool *ret_changed, uint64_t *ret_last,
                  unsigned *ret_replayed)
{
        g_autoptr(GArray) recs = g_array_new(FALSE, FALSE, sizeof(Read));
        uint64_t retired = 0, seq;
        bool header_ok = header_read(buf, size, &retired);
        unsigned replayed = 0;
        size_t at = RECORDS_AT;
        int r = 0;

        g_array_set_clear_func(recs, (GDestroyNotify)read_clear);
        if (!header_ok) { /* whatever chain starts there (none: a new log, numbered from 1) */
                uint64_t start = chain_start(buf, size);

                retired = start > 0 ? start - 1 : 0;
        }
        for (seq = retired + 1; at < size; seq++) {
                Read rec;
                size_t n = record_get(buf, size, at, seq, &rec);

                if (n == 0)
                        break;
                g_array_append_val(recs, rec);
                at += n;
        }
        *ret_last = seq - 1;
        *ret_changed = !header_ok || seq - 1 != retired;
        if (!header_ok) {
                *ret_replayed = 0;
                return 0;
        }
        for (guint i = 0; i < recs->len; i++) {
                Read *c = &g_array_index(recs, Read, i);
                uint64_t target;

                if (c->kind != INTENT_CANCEL)
                        continue;
                memcpy(&target, c->data, 8);
                for (guint k = 0; k < i; k++)
                        if (g_array_index(recs, Read, k).seq == target)
                                g_array_index(recs, Read, k).cancelled = true;
        }
        for (guint i = 0; i < recs->len && r >= 0; i++) {
                Read *c = &g_array_index(recs, Read, i);

                if (c->kind == INTENT_CANCEL || c->cancelled)
                        continue;
                r = put_in_place(c);
                replayed += r >= 0;
        }
        *ret_replayed = replayed;
        return r;
}

/* ---- the log ---- */

static int read_all(int fd, size_t *ret_size, uint8_t **ret)
{
        struct stat st;
        g_autofree uint8_t *buf = NULL;
        size_t got = 0;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (st.st_size > 16 * INTENT_LOG_SIZE)
                return -EFBIG;
        buf = g_malloc0((size_t)st.st_size + 1);
        while (got < (size_t)st.st_size) {
                ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        *ret_size = got;
        *ret = g_steal_pointer(&buf);
        return 0;
}

/* Every block written (zeros), so that an append changes data only: its fdatasync writes no inode. */
static int fill(int fd, size_t from, const char *path)
{
        static const uint8_t zeros[65536];
        g_autofree char *dir = g_path_get_dirname(path);
        _cleanup_close_ int dirfd = -1;
        int r;

        for (size_t at = from; at < INTENT_LOG_SIZE; at += sizeof(zeros)) {
                r = pwrite_all(fd, zeros, MIN(sizeof(zeros), INTENT_LOG_SIZE - at), (off_t)at);
                if (r < 0)
                        return r;
        }
        if (fsync(fd) < 0)
                return negative_errno();
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return dirfd < 0 || fsync(dirfd) < 0 ? negative_errno() : 0;
}

/* The file at path read whole, opened for writing (absent: -ENOENT unless create). */
static int load(const char *path, bool create, int *ret_fd, size_t *ret_size, uint8_t **ret)
{
        _cleanup_close_ int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
        int r;

        if (fd < 0)
                return negative_errno();
        r = read_all(fd, ret_size, ret);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int intent_log_replay(const char *path, unsigned *ret_replayed)
{
        _cleanup_close_ int fd = -1;
        g_autofree uint8_t *buf = NULL;
        size_t size = 0;
        uint64_t last = 0;
        bool changed = false;
        unsigned replayed = 0;
        int r;

        *ret_replayed = 0;
        r = load(path, false, &fd, &size, &buf);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = replay(buf, size, &changed, &last, &replayed);
        if (r < 0)
                return r;
        /* everything read is in place now: retired, and the next record follows the last one read, so
         * that what is left of older records after it can never continue the chain */
        if (changed) {
                r = header_write(fd, last);
                if (r < 0)
                        return r;
        }
        *ret_replayed = replayed;
        return 0;
}

int intent_log_open(const char *path, IntentLog **ret)
{
        g_autoptr(IntentLog) l = g_new0(IntentLog, 1);
        g_autofree uint8_t *buf = NULL;
        size_t size = 0;
        uint64_t retired = 0, next = 0;
        int r;

        l->fd = -1;
        r = load(path, true, &l->fd, &size, &buf);
        if (r < 0)
                return r;
        /* a record after the retired ones, or records and a header that does not check: intent_log_replay()
         * was not run, or failed */
        if (header_read(buf, size, &retired)) {
                next = retired + 1;
                if (chain_start(buf, size) == next)
                        return -EBUSY;
        } else if (chain_start(buf, size) > 0)
                return -EBUSY;
        if (size < INTENT_LOG_SIZE) {
                r = fill(l->fd, size, path);
                if (r < 0)
                        return r;
        }
        if (next == 0) { /* a new log */
                r = header_write(l->fd, 0);
                if (r < 0)
                        return r;
                next = 1;
        }
        l->first = l->next = next;
        l->tail = RECORDS_AT;
        *ret = g_steal_pointer(&l);
        return 0;
}

void intent_log_free(IntentLog *l)
{
        if (!l)
                return;
        if (l->fd >= 0)
                close(l->fd);
        g_free(l);
}

/* Write the records of out (numbered from l->next) at the tail, then sync them. On failure what reached
 * the disk is unknown: the bytes are overwritten with zeros (which may not reach it either), their
 * numbers count as used, and the log takes nothing more until a retire, which covers them too. */
static int append_bytes(IntentLog *l, GByteArray *out, size_t n)
{
        int r;

        r = pwrite_all(l->fd, out->data, out->len, (off_t)l->tail);
        if (r >= 0)
                r = sync_log(l->fd);
        if (r < 0) {
                memset(out->data, 0, out->len);
                (void)pwrite_all(l->fd, out->data, out->len, (off_t)l->tail);
                l->broken = true;
        }
        l->tail += out->len;
        l->next += n;
        return r;
}

int intent_log_check(const IntentLog *l, const IntentRecord *records, size_t n)
{
        size_t total = 0;

        if (l->broken)
                return -EIO;
        for (size_t i = 0; i < n; i++) {
                const IntentRecord *rec = &records[i];

                if (!dir_ok(rec->dir, strlen(rec->dir)) || !name_ok(rec->name, strlen(rec->name)) ||
                    (rec->kind != INTENT_WRITE && rec->kind != INTENT_REMOVE) || rec->len > INTENT_LOG_SIZE)
                        return -EINVAL;
                total += record_size(strlen(rec->dir), strlen(rec->name), rec->len);
        }
        return total > INTENT_LOG_SIZE - l->tail ? -ENOSPC : 0;
}

int intent_log_append(IntentLog *l, const IntentRecord *records, size_t n, uint64_t *ret_first)
{
        g_autoptr(GByteArray) out = g_byte_array_new();
        int r = intent_log_check(l, records, n);

        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                record_put(out, l->next + i, &records[i]);
        if (ret_first)
                *ret_first = l->next;
        return append_bytes(l, out, n);
}

int intent_log_cancel(IntentLog *l, uint64_t seq)
{
        g_autoptr(GByteArray) out = g_byte_array_new();
        IntentRecord cancel = {.kind = INTENT_CANCEL, .dir = "", .name = "", .data = &seq, .len = 8};

        if (l->broken)
                return -EIO;
        if (record_size(0, 0, 8) > INTENT_LOG_SIZE - l->tail)
                return -ENOSPC;
        record_put(out, l->next, &cancel);
        return append_bytes(l, out, 1);
}

int intent_log_retire(IntentLog *l)
{
        int r;

        if (l->next == l->first)
                return 0;
        r = header_write(l->fd, l->next - 1);
        if (r < 0) {
                l->broken = true;
                return r;
        }
        l->first = l->next;
        l->tail = RECORDS_AT;
        l->broken = false;
        return 0;
}

bool intent_log_pending(const IntentLog *l)
{
        return l->next != l->first;
}

bool intent_log_broken(const IntentLog *l)
{
        return l->broken;
}
