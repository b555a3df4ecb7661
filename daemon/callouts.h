/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* mdevctl's callout and notifier scripts (the 1.3.0 protocol), run without blocking the event loop.
 *
 * Scripts live in <system dir>/{callouts,notifiers} (/usr/lib/mdevctl/scripts.d) and then in
 * <definitions dir>/scripts.d/{callouts,notifiers}, each directory in sorted order. A script is run as
 *   SCRIPT -t TYPE -e EVENT -a ACTION -s STATE -u UUID -p PARENT
 * with the daemon's environment, the compact definition JSON on stdin for pre, post and live (nothing
 * for notify), stdout discarded and stderr collected. Exit 0: fine; 2: not my device; anything else:
 * an error. For pre, post and live, the first callout not exiting 2 owns the device and is the only
 * one run for the later events of the same operation; a callout killed by a signal it did not get
 * from us is skipped, as mdevctl does. Every notifier runs, exit status ignored.
 *
 * A script that does not finish within the timeout is killed with its process group and counts as
 * failed (exit status 1).
 *
 * The process must block SIGCHLD (sd_event_add_child()) and ignore SIGPIPE (a script may close its
 * stdin before reading it); scripts start with an empty signal mask and default dispositions. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include <glib.h>

#define CALLOUTS_SYSTEM_DIR           "/usr/lib/mdevctl/scripts.d"
#define CALLOUTS_DEFAULT_TIMEOUT_USEC (30ULL * 1000 * 1000)

typedef struct Callouts Callouts;
typedef struct CalloutRun CalloutRun;

typedef enum {
        CALLOUT_EVENT_PRE,
        CALLOUT_EVENT_POST,
        CALLOUT_EVENT_LIVE,
        CALLOUT_EVENT_NOTIFY,
} CalloutEvent;

typedef enum {
        CALLOUT_STATE_NONE,
        CALLOUT_STATE_SUCCESS,
        CALLOUT_STATE_FAILURE,
} CalloutState;

const char *callout_event_to_string(CalloutEvent e);
const char *callout_state_to_string(CalloutState s);

/* What a run is about. input: the stdin of pre, post and live (may be NULL: empty). */
typedef struct CalloutDevice {
        const char *type;
        const char *uuid;
        const char *parent;
        const char *input;
} CalloutDevice;

/* How a run of pre, post or live ended: r 0 when the owner exited 0 or no callout claimed the device,
 * -EPROTO when the owner failed (message: which script, its exit status and stderr). owner: the path
 * of the script that claimed the device, or NULL. Notifiers end with r 0. */
typedef void (*CalloutDone)(int r, const char *message, const char *owner, void *userdata);

/* system_dir: NULL for CALLOUTS_SYSTEM_DIR; config_dir: the definitions directory (its scripts.d
 * is used). */
int callouts_new(sd_event *event, const char *system_dir, const char *config_dir, Callouts **ret);
void callouts_free(Callouts *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Callouts, callouts_free)

/* 0: the default. */
void callouts_set_timeout(Callouts *c, uint64_t usec);

/* How many times a script directory was read (opened and listed) so far. A run lists its two
 * directories only when they changed since they were last read (a stat() each tells, at most once per
 * loop iteration: the runs of one dispatch look once), so that a request does not read them three
 * times over; for the tests, which check that. */
unsigned callouts_listings_read(const Callouts *c);

/* Run event for action ("start", "stop", "define", "undefine", "modify") on dev. With owner set (pre,
 * post, live), only that script runs. Returns 1 with *ret when a script runs (done is called later,
 * once, from the loop, after which the run is freed by this module), or 0 when nothing is to be run
 * (no script claimed the device: done is not called). dev's strings are copied. */
int callouts_run(Callouts *c, CalloutEvent event, const char *action, CalloutState state,
                 const CalloutDevice *dev, const char *owner, CalloutDone done, void *userdata,
                 CalloutRun **ret);

/* Stop a run before it ends: its script is killed and reaped, done is not called. */
void callout_run_cancel(CalloutRun *run);
