/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Enabling SR-IOV on NVIDIA PFs at startup and when one is bound: sriov-manage as a child process on the
 * event loop, or a write to sriov_numvfs; retries; a warning when it does not happen. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "log.h"
#include "sysfs-util.h"
#include "nvml.h"
#include "sriov.h"

struct Sriov {
        sd_event *event;
        Inventory *inv;
        char *root;
        bool enable;
        char *manage;
        char **pfs;
        char **mixed;           /* PFs for mixed-size mode */
        GHashTable *mixed_done; /* PFs whose mode this run has seen to */
        unsigned attempts;
        uint64_t retry_usec;

        GQueue queue;     /* char* PF addresses waiting */
        char *current;    /* the PF being enabled */
        unsigned attempt; /* of current, from 1 */
        pid_t pid;        /* sriov-manage running for current, 0: none */
        int err_fd;       /* its stderr (a memfd) */
        sd_event_source *child, *timer, *kick;
};

static char *pf_dir(const char *root, const char *pf)
{
        return g_build_filename(root, "bus/pci/devices", pf, NULL);
}

bool sriov_pf_needs_enabling(const char *root, const char *pf)
{
        g_autofree char *dir = NULL, *driver = NULL, *physfn = NULL;

        if (!sysfs_is_pci_address(pf))
                return false;
        dir = pf_dir(root, pf);
        if (sysfs_read_hex16(dir, "vendor") != 0x10de)
                return false;
        driver = sysfs_link_basename(dir, "driver");
        physfn = sysfs_link_basename(dir, "physfn");
        return g_strcmp0(driver, "nvidia") == 0 && !physfn && sysfs_read_int(dir, "sriov_totalvfs", 0) > 0 &&
               sysfs_read_int(dir, "sriov_numvfs", -1) == 0;
}

static bool wanted(Sriov *s, const char *pf)
{
        return s->enable && (!s->pfs || g_strv_contains((const char *const *)s->pfs, pf));
}

/* Mixed-size mode for a configured PF whose VFs are there, once per run (after the rebind of an
 * enabling, again). */
static void apply_mixed(Sriov *s, const char *pf)
{
        g_autofree char *dir = pf_dir(s->root, pf);
        int r;

        if (!s->mixed || !g_strv_contains((const char *const *)s->mixed, pf) ||
            g_hash_table_contains(s->mixed_done, pf) || sysfs_read_int(dir, "sriov_numvfs", 0) <= 0)
                return;
        g_hash_table_add(s->mixed_done, g_strdup(pf));
        r = nvml_get_mixed_size(pf);
        if (r == 0)
                r = nvml_set_mixed_size(pf, true);
        if (r >= 0) {
                log_info("Mixed-size vGPU mode on %s", pf);
                inventory_set_core_mixed(s->inv, pf, true);
                return;
        }
        g_autofree char *line = g_strdup_printf(
                "Mixed-size mode could not be set on %s: %s", pf,
                r == -ENOENT       ? "NVML (libnvidia-ml.so.1) is not available"
                : r == -EBUSY      ? "vGPUs exist on it already (the driver switches only an empty GPU)"
                : r == -EOPNOTSUPP ? "the GPU or driver does not support it"
                                   : g_strerror(-r));
        log_warning("%s", line);
        inventory_add_warning(s->inv, line);
}

static void kick(Sriov *s)
{
        if (!s->current && !g_queue_is_empty(&s->queue))
                (void)sd_event_source_set_enabled(s->kick, SD_EVENT_ONESHOT);
}

void sriov_check(Sriov *s, const char *pf)
{
        if (!pf) {
                g_autofree char *devices = g_build_filename(s->root, "bus/pci/devices", NULL);
                _cleanup_closedir_ DIR *d = opendir(devices);
                struct dirent *de;

                while (d && (de = readdir(d)))
                        if (de->d_name[0] != '.')
                                sriov_check(s, de->d_name);
                return;
        }
        if (!sriov_pf_needs_enabling(s->root, pf)) {
                if (g_strcmp0(s->current, pf) != 0)
                        apply_mixed(s, pf);
                return;
        }
        if (!wanted(s, pf) || g_strcmp0(s->current, pf) == 0 ||
            g_queue_find_custom(&s->queue, pf, (GCompareFunc)strcmp))
                return;
        g_queue_push_tail(&s->queue, g_strdup(pf));
        kick(s);
}

unsigned sriov_pending(Sriov *s)
{
        return g_queue_get_length(&s->queue) + (s->current ? 1 : 0);
}

static void close_err(Sriov *s)
{
        if (s->err_fd >= 0)
                close(s->err_fd);
        s->err_fd = -1;
}

static void finish_current(Sriov *s)
{
        g_clear_pointer(&s->current, g_free);
        s->attempt = 0;
        kick(s);
}

/* An attempt on the current PF ended; why: NULL when it worked as far as the tool could tell. */
static void attempt_done(Sriov *s, const char *why)
{
        g_autofree char *dir = pf_dir(s->root, s->current);
        int n = sysfs_read_int(dir, "sriov_numvfs", 0);

        if (n > 0) {
                log_info("SR-IOV enabled on %s: %d VFs", s->current, n);
                g_hash_table_remove(s->mixed_done, s->current); /* the rebind reset it */
                apply_mixed(s, s->current);
                finish_current(s);
                return;
        }
        if (s->attempt < s->attempts) {
                log_info("Enabling SR-IOV on %s failed (attempt %u of %u), trying again: %s", s->current,
                         s->attempt, s->attempts, why ? why : "no VFs appeared");
                (void)sd_event_source_set_time_relative(s->timer, s->retry_usec);
                (void)sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
                return;
        }
        g_autofree char *line = g_strdup_printf("SR-IOV could not be enabled on %s after %u attempts (%s): "
                                                "its VFs and vGPUs are not available; "
                                                "run %s -e %s by hand",
                                                s->current, s->attempts, why ? why : "no VFs appeared",
                                                s->manage, s->current);
        log_warning("%s", line);
        inventory_add_warning(s->inv, line);
        finish_current(s);
}

static char *read_err(int fd)
{
        char buf[1024];
        ssize_t n;

        if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0)
                return g_strdup("");
        n = read(fd, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = '\0';
        return g_strstrip(g_strdup(buf));
}

static int on_child(sd_event_source *es, const siginfo_t *si, void *userdata)
{
        Sriov *s = userdata;
        g_autofree char *err = read_err(s->err_fd);
        g_autofree char *why = NULL;

        s->child = sd_event_source_disable_unref(s->child);
        s->pid = 0;
        close_err(s);
        if (si->si_code != CLD_EXITED || si->si_status != 0)
                why = g_strdup_printf("%s -e %s %s %d%s%s", s->manage, s->current,
                                      si->si_code == CLD_EXITED ? "exited with" : "was killed by signal",
                                      si->si_status, *err ? ": " : "", err);
        attempt_done(s, why);
        return 0;
}

/* Run sriov-manage -e PF with stdout to /dev/null and stderr to a memfd. */
static int spawn_manage(Sriov *s)
{
        const char *argv[] = {s->manage, "-e", s->current, NULL};
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        pid_t pid;
        int r;

        s->err_fd = memfd_create("sriov-manage-stderr", MFD_CLOEXEC);
        if (s->err_fd < 0)
                return negative_errno();
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, s->err_fd, STDERR_FILENO);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        r = posix_spawn(&pid, s->manage, &fa, &attr, (char *const *)argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (r != 0)
                return -r;
        s->pid = pid;
        r = sd_event_add_child(s->event, &s->child, pid, WEXITED, on_child, s);
        if (r < 0) {
                (void)kill(pid, SIGKILL);
                (void)waitpid(pid, NULL, 0);
                s->pid = 0;
        }
        return r;
}

static void attempt(Sriov *s)
{
        g_autofree char *dir = pf_dir(s->root, s->current);
        g_autofree char *why = NULL;
        int r;

        s->attempt++;
        if (!sriov_pf_needs_enabling(s->root, s->current)) {
                finish_current(s); /* someone else did it, or it went */
                return;
        }
        if (access(s->manage, X_OK) == 0) {
                log_info("Enabling SR-IOV on %s: %s -e %s", s->current, s->manage, s->current);
                r = spawn_manage(s);
                if (r >= 0)
                        return; /* on_child goes on */
                why = g_strdup_printf("cannot run %s: %s", s->manage, g_strerror(-r));
        } else {
                g_autofree char *total = sysfs_read_attr(dir, "sriov_totalvfs");
                g_autofree char *numvfs = g_build_filename(dir, "sriov_numvfs", NULL);

                log_info("Enabling SR-IOV on %s: %s VFs through sriov_numvfs (%s is not installed)",
                         s->current, total, s->manage);
                r = sysfs_write(numvfs, total ? total : "0", 0);
                if (r < 0)
                        why = g_strdup_printf("writing %s to sriov_numvfs: %s", total, g_strerror(-r));
        }
        attempt_done(s, why);
}

static int on_retry(sd_event_source *es, uint64_t usec, void *userdata)
{
        attempt(userdata);
        return 0;
}

static int on_kick(sd_event_source *es, void *userdata)
{
        Sriov *s = userdata;

        if (s->current || g_queue_is_empty(&s->queue))
                return 0;
        s->current = g_queue_pop_head(&s->queue);
        s->attempt = 0;
        attempt(s);
        return 0;
}

void sriov_free(Sriov *s)
{
        if (!s)
                return;
        if (s->pid > 0) {
                (void)kill(s->pid, SIGKILL);
                (void)waitpid(s->pid, NULL, 0);
        }
        close_err(s);
        sd_event_source_disable_unref(s->child);
        sd_event_source_disable_unref(s->timer);
        sd_event_source_disable_unref(s->kick);
        g_queue_clear_full(&s->queue, g_free);
        g_free(s->current);
        g_free(s->root);
        g_free(s->manage);
        g_strfreev(s->pfs);
        g_strfreev(s->mixed);
        if (s->mixed_done)
                g_hash_table_unref(s->mixed_done);
        sd_event_unref(s->event);
        g_free(s);
}

int sriov_new(sd_event *event, Inventory *inv, const char *root, const SriovSettings *settings, Sriov **ret)
{
        g_autoptr(Sriov) s = g_new0(Sriov, 1);
        int r;

        s->event = sd_event_ref(event);
        s->inv = inv;
        s->err_fd = -1;
        s->root = g_strdup(root ? root : "/sys");
        s->enable = settings->enable;
        s->manage = g_strdup(settings->manage ? settings->manage : SRIOV_MANAGE_DEFAULT);
        s->pfs = g_strdupv(settings->pfs);
        s->mixed = g_strdupv(settings->mixed_size);
        s->mixed_done = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        s->attempts = settings->attempts ? settings->attempts : SRIOV_ATTEMPTS_DEFAULT;
        s->retry_usec = settings->retry_usec ? settings->retry_usec : SRIOV_RETRY_USEC_DEFAULT;
        g_queue_init(&s->queue);
        r = sd_event_add_defer(event, &s->kick, on_kick, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->kick, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &s->timer, CLOCK_MONOTONIC, s->retry_usec, 0, on_retry,
                                               s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        *ret = g_steal_pointer(&s);
        return 0;
}
