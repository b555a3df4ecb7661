/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Test-only crash points. When the environment variable VGPUD_TEST_CRASH_AT names a point, the process
 * kills itself with SIGKILL the first time it reaches it, as kill -9 or a power cut (for what is already
 * on disk) would at that step. The fault tier (tests/integration/fault_crash.py) runs vgpud once per point
 * and checks that the next start accounts for every lease, definition and device. Unset (always, outside
 * that tier), a point costs one comparison. The points: write-temp-definition and write-temp-leases (the
 * temporary file is written, and fsynced when its batch does not go through the intent log, not yet
 * renamed), logged (a batch's records are durable in the intent log, nothing renamed yet), created (the
 * write to create returned), removed (the write to remove returned), acquire-leased (the lease is saved,
 * nothing created yet), acquire-defined (Acquire --persist stored its definition), release-undefined
 * (Release removed the definition, the lease not yet saved), defined (Define wrote the file, nothing
 * reloaded yet). */
void fault_point(const char *point);

/* Test-only failures: when VGPUD_TEST_FAIL_AT is "<point>:<ERRNO NAME>" (e.g. "sysfs-write:EIO") and
 * names this point, a negative errno the caller returns as if the system call had failed so; else 0.
 * The points: sysfs-write (every write to create, remove or an attribute, before the file is opened);
 * uevent-receive with ENOBUFS (every uevent received is dropped as the kernel drops them when the
 * socket's buffer is full, and the overflow is reported); fsync-<name> and fsync-intent-log (as
 * VGPUD_TEST_SLOW_AT's below). */
int fault_errno(const char *point);

/* Test-only slowness: when VGPUD_TEST_SLOW_AT is "<point>:<milliseconds>" (1 to 10000, e.g.
 * "fsync-leases:300") and names this point, sleep that long. The point: fsync-<name> (every fsync of a
 * file or directory vgpud makes durable, before it; on the flusher's thread; fsync-intent-log for the
 * intent log's), so that tests can see which changes share a batch whatever the disk. */
void fault_delay(const char *point);
