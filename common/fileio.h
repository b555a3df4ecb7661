/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one durable, atomic file writer of vgpud (definitions, leases, anything it says it wrote), for
 * one file or for a batch of changes that share their fsyncs. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <glib.h>

/* Replace name in the directory dirfd with exactly len bytes of data: a temporary file ".<name>.XXXXXX"
 * in the same directory (a dot name, so readers that skip dot files never take a leftover of a crash
 * for the real file), fsync, rename over name, fsync the directory. mode is open()'s (the umask
 * applies). When it returns 0 a power cut keeps the new contents; when it fails name is untouched and
 * the temporary file removed. A negative errno on failure. (A batch of one: file_changes_commit().) */
int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode);

typedef enum WriteAtomicFlags {
        WRITE_ATOMIC_DURABLE = 0,      /* as write_file_atomic_at() */
        WRITE_ATOMIC_NO_SYNC = 1 << 0, /* no fsync at all: readers see the old or the new contents, never
                                        * a mix, but a power cut may lose both (for tmpfs, e.g. /run) */
} WriteAtomicFlags;

/* write_file_atomic_at() with flags. */
int write_file_atomic_full_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                              WriteAtomicFlags flags);

/* Is entry a temporary file write_file_atomic_at() makes for name (".<name>.XXXXXX")? */
bool is_temp_file_of(const char *entry, const char *name);

/* ---- batches: many changes, their fsyncs shared ----
 *
 * A change is made in two steps. file_change_write() / file_change_remove() prepare it, quickly and
 * without touching the file system; then file_changes_commit() makes a whole batch durable at once:
 *   1. write and fsync every temporary file (on ext4 the first commits the journal for all of them);
 *   2. in the order of the batch, rename each over its name, or unlink the name of a removal;
 *   3. fsync each directory once (and the directories a change asked for, file_change_also_sync()).
 * A replacement followed in the same batch by another change of the same name in the same directory
 * (equal dir strings) is superseded: its temporary file is dropped unwritten to name and it gets the
 * later change's result (the file then holds what was submitted last, as if each were written in turn).
 * Each change gets its own result: a failing fsync or rename fails that change only (its temporary file
 * removed, name untouched); a failing fsync of a directory fails every change in it. Nothing in here
 * is thread-bound: a batch may be committed on another thread than the one that prepared it. */
typedef struct FileChange FileChange;

/* A replacement of name in dirfd (dir: its path, the batch's key for the directory) by data (copied):
 * nothing is written before the commit, which makes the temporary file (its name chosen now), writes
 * the bytes and fsyncs it. dirfd is duplicated. */
int file_change_write(int dirfd, const char *dir, const char *name, const void *data, size_t len,
                      mode_t mode, FileChange **ret);
/* The same in two steps, so that the temporary file can be made ahead of the data (the snapshot's next
 * file is created once the reply that published the last one is out): file_change_prepare() creates
 * it, with reserve bytes allocated already (0: none; the size stays 0), file_change_fill() writes the
 * data (once). */
int file_change_prepare(int dirfd, const char *dir, const char *name, mode_t mode, size_t reserve,
                        FileChange **ret);
int file_change_fill(FileChange *c, const void *data, size_t len);
/* A removal of name from dirfd, made at the commit (-ENOENT then when it is not there). */
int file_change_remove(int dirfd, const char *dir, const char *name, FileChange **ret);
/* Also fsync the directory dirfd (duplicated) when the change is committed: one created for it. */
int file_change_also_sync(FileChange *c, int dirfd);
/* Rename c's temporary file over its name now, with no fsync at all (WRITE_ATOMIC_NO_SYNC: for tmpfs);
 * its result, also file_change_result() then. */
int file_change_commit_no_sync(FileChange *c);
/* Make the batch durable; each change's result is then file_change_result(). */
void file_changes_commit(FileChange *const *changes, size_t n);

/* What one committing thread keeps from one batch to the next (the flusher's), so that the commit
 * path does less: temporary files made ahead for the directories it writes to, and the files a batch
 * replaced or removed, kept open until the batch is answered. On ext4 without a journal (the
 * development machine) creating a file costs 30-350 us (its inode search skips the ones freed in the
 * last minute), and with online discard the rename over a file, or its unlink, waits for the discard of
 * its blocks (60-140 us). A committer is used by one thread at a time. */
typedef struct FileCommitter FileCommitter;
typedef struct IntentLog IntentLog;
/* log (taken; NULL: none): the committer's intent log (intent-log.h), which it alone uses from now on. */
FileCommitter *file_committer_new(IntentLog *log);
/* file_changes_commit() with k: a replacement made by file_change_write() takes a temporary file made
 * ahead (unnamed, O_TMPFILE: no reader sees it; linked under its temporary name before its fsync)
 * when k has one for its directory and mode; every file replaced or removed is kept open in k.
 * With an intent log, a batch of file_change_write() and file_change_remove() changes whose
 * directories are absolute paths is made durable there instead (one append and its fdatasync, then
 * the renames and unlinks; step 1's fsyncs and step 3's come at the tidy, then the log forgets
 * them): a result of 0 means the same (a power cut keeps the change: the next intent_log_replay()
 * puts it in place). A batch the log cannot take (no room, another kind of change, an append that
 * failed) is made durable in place as without one, once what the log holds is synced in place and
 * retired (so that no replay can put an older change over it); when that cannot be (a sync in place
 * failed: the log is stuck, see file_committer_log_stuck()), its changes fail with -EIO, or with the
 * append's error. */
void file_committer_commit(FileCommitter *k, FileChange *const *changes, size_t n);
/* After the batch is answered: sync in place what the log holds (busy: another batch waits; then only
 * once the log holds 64 changes or more, so that a burst's batches follow each other and share their
 * syncs), then let the files it replaced or removed go (their blocks are freed now), and make temporary
 * files ahead for the directories it wrote to, as many as it asked for (at most 16 for one directory,
 * 32 in all); a directory not written to in 8 tidies has its spares closed. */
void file_committer_tidy(FileCommitter *k, bool busy);
/* A sync in place of what went through the log, or a retire, failed: the log keeps what it holds for
 * the next start's replay, every batch goes through it while it takes them, and fails after. */
bool file_committer_log_stuck(const FileCommitter *k);
void file_committer_free(FileCommitter *k);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FileCommitter, file_committer_free)
/* 0 once committed durably, or a negative errno; -EINPROGRESS before the commit. */
int file_change_result(const FileChange *c);
/* The name the change is about. */
const char *file_change_name(const FileChange *c);
/* A replacement's temporary file name (in its directory) until it is renamed, else NULL. */
const char *file_change_temp_name(const FileChange *c);
/* Free c; a temporary file not committed is removed. */
void file_change_free(FileChange *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FileChange, file_change_free)
