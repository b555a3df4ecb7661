/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The intent log: one durable write says what a batch of file changes will make, so that the changes
 * themselves can be put in place without waiting for their fsyncs.
 *
 * A batch committed through the log (fileio.h, a committer with a log) costs one write into a file
 * whose blocks are allocated and written already, and one fdatasync: on a file system without a
 * journal that is one block and one cache flush, where a replacement made durable in place is a new
 * file's data, inode and directory entry, then the directory again (two flushes, six block writes).
 * The changes are then renamed into place and answered; their own fsyncs follow after the answer, and
 * only then are their records retired. After a power cut, the next open replays every record not
 * retired, in order, each made durable in place (a replacement as write_file_atomic_at() makes it, a
 * removal unlinked and its directory synced): what was answered survives, even what the cut caught
 * between the answer and the fsyncs.
 *
 * The file: a header block (magic, version, the last retired sequence number, a SHA-256 of them), then
 * records from offset 4096, each with a magic, its length, its sequence number (one more than the one
 * before; the first after a retire one more than the retired), a SHA-256 of all that follows it and
 * its change (the kind, the mode, the directory's absolute path, the name, the bytes). A record whose
 * digest does not match (torn by the cut) or whose number does not follow ends the replay: nothing
 * after it was appended later than it. A header that does not check was being rewritten when the cut
 * came, which a retire does only once every record is in place: nothing is replayed then.
 *
 * One thread at a time uses a log (the flusher's); every function returns 0 or a negative errno. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <glib.h>

typedef struct IntentLog IntentLog;

typedef enum IntentKind {
        INTENT_WRITE = 1,  /* replace name in dir by the bytes, with mode */
        INTENT_REMOVE = 2, /* remove name from dir (absent already: done) */
        INTENT_CANCEL = 3, /* the record with the number in data (8 bytes) was not put in place */
} IntentKind;

typedef struct IntentRecord {
        IntentKind kind;
        const char *dir; /* absolute, no "." or ".." components */
        const char *name;
        mode_t mode;
        const void *data;
        size_t len;
} IntentRecord;

/* The size of a log: a batch whose records do not fit in what is left is refused (-ENOSPC), and its
 * caller makes it durable in place as without a log. */
#define INTENT_LOG_SIZE (1024 * 1024)

/* Put every record of the log at path (absent: nothing) not retired in place, in order, each made
 * durable there (a replacement's directory made when it is missing), then retire them all. A record
 * that cannot be put in place fails the replay, with the log left as it was for the next try.
 * *ret_replayed: how many records were put in place. */
int intent_log_replay(const char *path, unsigned *ret_replayed);

/* Open the log at path for appending, made (all its blocks written, synced with its directory) when it
 * is missing or short. -EBUSY: it holds records not retired (intent_log_replay() first). */
int intent_log_open(const char *path, IntentLog **ret);
void intent_log_free(IntentLog *l);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IntentLog, intent_log_free)

/* Could the records of one batch be appended? 0, or what intent_log_append() would refuse them with. */
int intent_log_check(const IntentLog *l, const IntentRecord *records, size_t n);
/* Append the records of one batch, then one fdatasync: once it returns 0 they are durable, and
 * ret_first (when asked) holds the number of the first. -ENOSPC: they do not fit (nothing written);
 * -EINVAL: a record this log cannot hold (a relative directory, a bad name); another error (the write
 * or the fdatasync failed): whether they reached the disk is unknown (they are overwritten with zeros,
 * best effort), their numbers count as appended, and the log is broken: appends and cancels fail with
 * -EIO until a retire succeeds. */
int intent_log_append(IntentLog *l, const IntentRecord *records, size_t n, uint64_t *ret_first);
/* Say durably that the record numbered seq was not put in place: a replay skips it. Fails as an
 * append does. */
int intent_log_cancel(IntentLog *l, uint64_t seq);
/* Every record appended (or tried) is in place and durable there: retire them all (the header's write
 * and its fdatasync), append from the start again, and the log is no longer broken. On failure it is. */
int intent_log_retire(IntentLog *l);
/* Records appended, or tried, and not retired. */
bool intent_log_pending(const IntentLog *l);
/* An append, a cancel or a retire failed, and no retire succeeded since. */
bool intent_log_broken(const IntentLog *l);
