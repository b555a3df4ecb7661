/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdevctl's callout and notifier scripts: find them, spawn them with posix_spawn, feed their stdin
 * and collect their stderr through io sources, reap them with a child source and kill them on a
 * timer, all on the sd-event loop. See callouts.h for the protocol. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "log.h"
#include "callouts.h"

/* What is kept of a script's stderr (the rest is read and dropped). */
#define STDERR_MAX (16 * 1024)

/* A listing is trusted again only while its directory is unchanged (see listing_get()) and was
 * already this much older than the clock when it was read: a later change of the directory then
 * carries a later time, even on a file system that keeps times to the second or two. */
#define LISTING_SETTLED_USEC (2 * G_USEC_PER_SEC)

/* One directory's entry names as last read, and what identified the directory then. */
typedef struct {
        char *path;
        bool kept; /* names hold a listing of the directory stat() still describes with id */
        struct stat id;
        char **names;        /* sorted, "." and ".." left out; not checked for executability */
        uint64_t checked_at; /* the loop iteration (sd_event_now()) of the last look, or 0 */
        bool missing;        /* what that look found: no directory to read */
} Listing;

enum {
        LISTING_SYSTEM_CALLOUTS,
        LISTING_SYSTEM_NOTIFIERS,
        LISTING_CONFIG_CALLOUTS,
        LISTING_CONFIG_NOTIFIERS,
        _LISTING_MAX
};

struct Callouts {
        sd_event *event;
        char *system_dir; /* .../scripts.d */
        char *config_dir; /* <definitions dir>/scripts.d */
        uint64_t timeout_usec;
        Listing listings[_LISTING_MAX];
        unsigned listings_read;
};

struct CalloutRun {
        Callouts *c;
        CalloutEvent event;
        char *action;
        CalloutState state;
        char *type, *uuid, *parent, *input;
        GPtrArray *scripts; /* paths to try (or, for notify, to run), in order */
        guint next;
        bool owner_only; /* scripts holds the owner found earlier */
        CalloutDone done;
        void *userdata;

        /* the script running now */
        const char *script;
        pid_t pid;
        sd_event_source *child_source, *stdin_source, *stderr_source, *timer;
        int stdin_fd, stderr_fd;
        size_t input_done;
        GString *err;
        bool timed_out;
};

const char *callout_event_to_string(CalloutEvent e)
{
        switch (e) {
        case CALLOUT_EVENT_PRE: return "pre";
        case CALLOUT_EVENT_POST: return "post";
        case CALLOUT_EVENT_LIVE: return "live";
        case CALLOUT_EVENT_NOTIFY: return "notify";
        }
        return "unknown";
}

const char *callout_state_to_string(CalloutState s)
{
        switch (s) {
        case CALLOUT_STATE_NONE: return "none";
        case CALLOUT_STATE_SUCCESS: return "success";
        case CALLOUT_STATE_FAILURE: return "failure";
        }
        return "unknown";
}

int callouts_new(sd_event *event, const char *system_dir, const char *config_dir, Callouts **ret)
{
        Callouts *c;

        if (!event || !config_dir || !ret)
                return -EINVAL;
        c = g_new0(Callouts, 1);
        c->event = sd_event_ref(event);
        c->system_dir = g_strdup(system_dir ? system_dir : CALLOUTS_SYSTEM_DIR);
        c->config_dir = g_build_filename(config_dir, "scripts.d", NULL);
        c->timeout_usec = CALLOUTS_DEFAULT_TIMEOUT_USEC;
        c->listings[LISTING_SYSTEM_CALLOUTS].path = g_build_filename(c->system_dir, "callouts", NULL);
        c->listings[LISTING_SYSTEM_NOTIFIERS].path = g_build_filename(c->system_dir, "notifiers", NULL);
        c->listings[LISTING_CONFIG_CALLOUTS].path = g_build_filename(c->config_dir, "callouts", NULL);
        c->listings[LISTING_CONFIG_NOTIFIERS].path = g_build_filename(c->config_dir, "notifiers", NULL);
        *ret = c;
        return 0;
}

void callouts_free(Callouts *c)
{
        if (!c)
                return;
        sd_event_unref(c->event);
        for (int i = 0; i < _LISTING_MAX; i++) {
                g_free(c->listings[i].path);
                g_strfreev(c->listings[i].names);
        }
        g_free(c->system_dir);
        g_free(c->config_dir);
        g_free(c);
}

unsigned callouts_listings_read(const Callouts *c)
{
        return c->listings_read;
}

void callouts_set_timeout(Callouts *c, uint64_t usec)
{
        c->timeout_usec = usec ? usec : CALLOUTS_DEFAULT_TIMEOUT_USEC;
}

static int compare_strptr(gconstpointer a, gconstpointer b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is the directory st describes the one l's names were read from, unchanged since? Creating, removing
 * or renaming an entry moves its mtime and ctime; another directory in its place (a replaced symlink, a
 * mount) has another device or inode. */
static bool listing_matches(const Listing *l, const struct stat *st)
{
        return l->kept && st->st_dev == l->id.st_dev && st->st_ino == l->id.st_ino &&
               st->st_size == l->id.st_size && st->st_nlink == l->id.st_nlink &&
               st->st_mtim.tv_sec == l->id.st_mtim.tv_sec && st->st_mtim.tv_nsec == l->id.st_mtim.tv_nsec &&
               st->st_ctim.tv_sec == l->id.st_ctim.tv_sec && st->st_ctim.tv_nsec == l->id.st_ctim.tv_nsec;
}

static int64_t timespec_usec(const struct timespec *ts)
{
        return (int64_t)ts->tv_sec * G_USEC_PER_SEC + ts->tv_nsec / 1000;
}

/* Read l's directory again: its identity first (fstat of what was opened), then its names, so that a
 * change while it is read gives a time no earlier than the one kept. */
static int listing_read(Callouts *c, Listing *l)
{
        _cleanup_closedir_ DIR *d = NULL;
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        int64_t now = g_get_real_time();
        struct dirent *de;

        l->kept = false;
        g_clear_pointer(&l->names, g_strfreev);
        d = opendir(l->path);
        if (!d || fstat(dirfd(d), &l->id) < 0)
                return negative_errno();
        while ((de = readdir(d)))
                if (!g_str_equal(de->d_name, ".") && !g_str_equal(de->d_name, ".."))
                        g_ptr_array_add(names, g_strdup(de->d_name));
        g_ptr_array_sort(names, compare_strptr);
        g_ptr_array_add(names, NULL);
        l->names = (char **)g_ptr_array_free(g_steal_pointer(&names), FALSE);
        c->listings_read++;
        l->kept = now - timespec_usec(&l->id.st_mtim) >= LISTING_SETTLED_USEC &&
                  now - timespec_usec(&l->id.st_ctim) >= LISTING_SETTLED_USEC;
        return 0;
}

/* The entry names of l's directory now, sorted: the kept ones while one stat() says the directory is
 * unchanged (a run of a request's three phases costs a stat per directory, not a listing), else read
 * again. NULL: the directory is missing or cannot be read (a warning unless missing). */
static char **listing_get(Callouts *c, Listing *l)
{
        uint64_t now = 0;
        struct stat st;
        int r;

        /* once per loop iteration: the phases one dispatch runs back to back (a job's post and notify,
         * the jobs of one durable batch) look once, as when they ran a microsecond apart */
        if (sd_event_now(c->event, CLOCK_MONOTONIC, &now) == 0 && now == l->checked_at)
                return l->missing ? NULL : l->names;
        l->checked_at = now;
        l->missing = true;
        if (stat(l->path, &st) < 0) {
                r = negative_errno();
                l->kept = false;
        } else if (listing_matches(l, &st)) {
                l->missing = false;
                return l->names;
        } else
                r = listing_read(c, l);
        if (r < 0) {
                if (r != -ENOENT && r != -ENOTDIR)
                        log_warning_errno(r, "Cannot read the callout directory %s: %m", l->path);
                return NULL;
        }
        l->missing = false;
        return l->names;
}

/* Append the executable files of l's directory to paths, sorted by name. Each entry is checked now
 * (what a symlink points to, its mode), as mdevctl checks it at every call. */
static void list_scripts(Callouts *c, Listing *l, GPtrArray *paths)
{
        char **names = listing_get(c, l);

        for (char **n = names; n && *n; n++) {
                g_autofree char *p = g_build_filename(l->path, *n, NULL);
                struct stat st;

                if (stat(p, &st) < 0 || !S_ISREG(st.st_mode) || access(p, X_OK) < 0) {
                        log_debug("Skipping %s: not an executable file", p);
                        continue;
                }
                g_ptr_array_add(paths, g_steal_pointer(&p));
        }
}

/* ---- one script ---- */

static void script_cleanup(CalloutRun *run)
{
        if (run->pid > 0 && run->child_source) {
                /* still running (a cancel): the whole process group goes; the source reaps it */
                (void)kill(-run->pid, SIGKILL);
        }
        run->child_source = sd_event_source_disable_unref(run->child_source);
        run->stdin_source = sd_event_source_disable_unref(run->stdin_source);
        run->stderr_source = sd_event_source_disable_unref(run->stderr_source);
        run->timer = sd_event_source_disable_unref(run->timer);
        if (run->stdin_fd >= 0)
                close(TAKE_FD(run->stdin_fd));
        if (run->stderr_fd >= 0)
                close(TAKE_FD(run->stderr_fd));
        run->pid = 0;
}

static void run_free(CalloutRun *run)
{
        if (!run)
                return;
        script_cleanup(run);
        g_free(run->action);
        g_free(run->type);
        g_free(run->uuid);
        g_free(run->parent);
        g_free(run->input);
        if (run->scripts)
                g_ptr_array_unref(run->scripts);
        if (run->err)
                g_string_free(run->err, TRUE);
        g_free(run);
}

void callout_run_cancel(CalloutRun *run)
{
        run_free(run);
}

/* Read what the script wrote to stderr so far; at EOF the pipe is closed. */
static void read_stderr(CalloutRun *run)
{
        char buf[4096];

        while (run->stderr_fd >= 0) {
                ssize_t n = read(run->stderr_fd, buf, sizeof(buf));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) {
                        run->stderr_source = sd_event_source_disable_unref(run->stderr_source);
                        close(TAKE_FD(run->stderr_fd));
                        return;
                }
                if (run->err->len < STDERR_MAX)
                        g_string_append_len(run->err, buf, MIN((size_t)n, STDERR_MAX - run->err->len));
        }
}

static int on_stderr(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        read_stderr(userdata);
        return 0;
}

static void close_stdin(CalloutRun *run)
{
        run->stdin_source = sd_event_source_disable_unref(run->stdin_source);
        if (run->stdin_fd >= 0)
                close(TAKE_FD(run->stdin_fd));
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata);

/* Feed the input as far as the pipe takes it; the rest when it has room. */
static void write_input(CalloutRun *run)
{
        size_t len = run->input ? strlen(run->input) : 0;

        while (run->input_done < len) {
                ssize_t n = write(run->stdin_fd, run->input + run->input_done, len - run->input_done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        if (!run->stdin_source &&
                            sd_event_add_io(run->c->event, &run->stdin_source, run->stdin_fd, EPOLLOUT,
                                            on_stdin, run) < 0)
                                break;
                        return;
                }
                if (n < 0) {
                        /* EPIPE: the script does not read its stdin, which is its business */
                        log_debug("%s closed its stdin: %s", run->script, g_strerror(errno));
                        break;
                }
                run->input_done += n;
        }
        close_stdin(run);
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        write_input(userdata);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        CalloutRun *run = userdata;

        log_warning("Callout script %s did not finish within %g s: killing it", run->script,
                    run->c->timeout_usec / 1e6);
        run->timed_out = true;
        (void)kill(-run->pid, SIGKILL);
        return 0;
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata);

/* posix_spawn path in a process group of its own (so that a timeout kills what it started too), with
 * the default dispositions of the signals the daemon handles: stdin from in_fd (/dev/null when -1),
 * stdout to /dev/null, stderr to err_fd. */
static int spawn_script(const char *path, const char *const *argv, int in_fd, int err_fd, pid_t *ret_pid)
{
        static const int defaults[] = {SIGPIPE, SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t mask, def;
        int r;

        sigemptyset(&mask);
        sigemptyset(&def);
        for (size_t i = 0; i < ELEMENTSOF(defaults); i++)
                sigaddset(&def, defaults[i]);
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        if (in_fd >= 0)
                posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO);
        else
                posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
        posix_spawnattr_setflags(&attr,
                                 POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
        posix_spawnattr_setsigmask(&attr, &mask);
        posix_spawnattr_setsigdefault(&attr, &def);
        posix_spawnattr_setpgroup(&attr, 0);
        r = posix_spawn(ret_pid, path, &fa, &attr, (char *const *)argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        return -r;
}

/* Watch the script run->pid from the loop: its exit, its stderr and its timeout; then feed its stdin.
 * On failure the script is killed and everything of it cleaned up. */
static int script_watch(CalloutRun *run)
{
        int r;

        r = sd_event_add_child(run->c->event, &run->child_source, run->pid, WEXITED, on_child, run);
        if (r < 0) {
                log_warning_errno(r, "Cannot watch callout script %s: %m", run->script);
                (void)kill(-run->pid, SIGKILL);
                (void)waitpid(run->pid, NULL, 0);
                run->pid = 0;
                script_cleanup(run);
                return r;
        }
        /* freed early (a cancel), the source kills and reaps it */
        (void)sd_event_source_set_child_process_own(run->child_source, true);
        (void)fcntl(run->stderr_fd, F_SETFL, O_NONBLOCK);
        r = sd_event_add_io(run->c->event, &run->stderr_source, run->stderr_fd, EPOLLIN, on_stderr, run);
        if (r >= 0)
                r = sd_event_add_time_relative(run->c->event, &run->timer, CLOCK_MONOTONIC,
                                               run->c->timeout_usec, 0, on_timeout, run);
        if (r < 0) {
                log_warning_errno(r, "Cannot watch callout script %s: %m", run->script);
                script_cleanup(run);
                return r;
        }
        if (run->stdin_fd >= 0) {
                (void)fcntl(run->stdin_fd, F_SETFL, O_NONBLOCK);
                write_input(run);
        }
        return 0;
}

/* Start one script with mdevctl's arguments (stdin: the definition, except for notifiers). */
static int script_spawn(CalloutRun *run, const char *path)
{
        const char *argv[] = {
                path,
                "-t",
                run->type,
                "-e",
                callout_event_to_string(run->event),
                "-a",
                run->action,
                "-s",
                callout_state_to_string(run->state),
                "-u",
                run->uuid,
                "-p",
                run->parent,
                NULL,
        };
        _cleanup_close_ int in_r = -1, in_w = -1, err_r = -1, err_w = -1;
        int fds[2], r;
        pid_t pid;

        if (run->event != CALLOUT_EVENT_NOTIFY) {
                if (pipe2(fds, O_CLOEXEC) < 0)
                        return negative_errno();
                in_r = fds[0];
                in_w = fds[1];
        }
        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        err_r = fds[0];
        err_w = fds[1];

        r = spawn_script(path, argv, in_r, err_w, &pid);
        if (r < 0)
                return r;
        log_debug("%s-%s: running %s -t %s -e %s -a %s -s %s -u %s -p %s (pid %d)",
                  callout_event_to_string(run->event), run->action, path, run->type,
                  callout_event_to_string(run->event), run->action, callout_state_to_string(run->state),
                  run->uuid, run->parent, (int)pid);
        run->script = path;
        run->pid = pid;
        run->timed_out = false;
        run->input_done = 0;
        g_string_truncate(run->err, 0);
        run->stderr_fd = TAKE_FD(err_r);
        run->stdin_fd = TAKE_FD(in_w);
        return script_watch(run);
}

/* ---- a run ---- */

/* Start the next script that can be started: 1, or 0 when none is left. */
static int run_next(CalloutRun *run)
{
        while (run->next < run->scripts->len) {
                const char *path = run->scripts->pdata[run->next++];
                int r = script_spawn(run, path);

                if (r >= 0)
                        return 1;
                log_warning_errno(r, "Cannot run callout script %s: %m", path);
        }
        return 0;
}

/* The run ends: it is freed, then its owner hears how. */
static void run_finish(CalloutRun *run, int r, const char *message, const char *owner)
{
        CalloutDone done = run->done;
        void *userdata = run->userdata;
        g_autofree char *m = g_strdup(message), *o = g_strdup(owner);

        run_free(run);
        done(r, m, o, userdata);
}

static void run_continue(CalloutRun *run)
{
        if (run_next(run) == 0)
                run_finish(run, 0, NULL, NULL);
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        CalloutRun *run = userdata;
        g_autofree char *path = g_strdup(run->script), *err = NULL, *message = NULL;
        bool exited = si->si_code == CLD_EXITED;
        int status = si->si_status;

        /* what it wrote before it went (a process it left behind may keep the pipe open: not waited for) */
        read_stderr(run);
        /* mark it reaped: the source must not kill its process group */
        run->child_source = sd_event_source_disable_unref(run->child_source);
        script_cleanup(run);
        err = g_utf8_make_valid(run->err->str, run->err->len);
        g_strstrip(err);
        if (run->timed_out) {
                exited = true;
                status = 1;
        }

        if (run->event == CALLOUT_EVENT_NOTIFY) {
                if (*err)
                        log_debug("Notifier %s: %s", path, err);
                if (!exited || status != 0)
                        log_debug("Notifier %s ended with %s %d", path, exited ? "exit status" : "signal",
                                  status);
                run_continue(run);
                return 0;
        }
        if (*err)
                log_info("Callout %s: %s", path, err);
        if (!exited) {
                log_warning("Callout script %s was terminated by signal %s", path, strsignal(status));
                if (run->owner_only)
                        run_finish(run, 0, NULL, path); /* as mdevctl: no exit status is no error */
                else
                        run_continue(run);
                return 0;
        }
        if (status == 2 && !run->owner_only) {
                log_debug("Callout script %s: not its device", path);
                run_continue(run);
                return 0;
        }
        if (status == 0) {
                run_finish(run, 0, NULL, path);
                return 0;
        }
        if (run->timed_out)
                message = g_strdup_printf("Callout script %s did not finish the %s-%s of %s within %g s",
                                          path, callout_event_to_string(run->event), run->action, run->uuid,
                                          run->c->timeout_usec / 1e6);
        else
                message = g_strdup_printf("Callout script %s refused the %s-%s of %s (exit status %d)%s%s",
                                          path, callout_event_to_string(run->event), run->action, run->uuid,
                                          status, *err ? ": " : "", err);
        run_finish(run, -EPROTO, message, path);
        return 0;
}

int callouts_run(Callouts *c, CalloutEvent event, const char *action, CalloutState state,
                 const CalloutDevice *dev, const char *owner, CalloutDone done, void *userdata,
                 CalloutRun **ret)
{
        g_autoptr(GPtrArray) scripts = g_ptr_array_new_with_free_func(g_free);
        bool owner_only = event != CALLOUT_EVENT_NOTIFY && owner;
        CalloutRun *run;

        g_return_val_if_fail(c && action && dev && dev->type && dev->uuid && dev->parent && done, -EINVAL);

        if (ret)
                *ret = NULL;
        if (owner_only)
                g_ptr_array_add(scripts, g_strdup(owner));
        else {
                bool notify = event == CALLOUT_EVENT_NOTIFY;
                list_scripts(c, &c->listings[notify ? LISTING_SYSTEM_NOTIFIERS : LISTING_SYSTEM_CALLOUTS],
                             scripts);
                list_scripts(c, &c->listings[notify ? LISTING_CONFIG_NOTIFIERS : LISTING_CONFIG_CALLOUTS],
                             scripts);
        }
        if (scripts->len == 0)
                return 0; /* nothing to run (most hosts, at every phase): nothing made */

        run = g_new0(CalloutRun, 1);
        run->c = c;
        run->event = event;
        run->action = g_strdup(action);
        run->state = state;
        run->type = g_strdup(dev->type);
        run->uuid = g_strdup(dev->uuid);
        run->parent = g_strdup(dev->parent);
        run->input = g_strdup(dev->input);
        run->done = done;
        run->userdata = userdata;
        run->stdin_fd = run->stderr_fd = -1;
        run->err = g_string_new(NULL);
        run->owner_only = owner_only;
        run->scripts = g_steal_pointer(&scripts);
        if (run_next(run) == 0) {
                run_free(run);
                return 0;
        }
        if (ret)
                *ret = run;
        return 1;
}
