/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* inotify on the definitions directory and its parent directories, as an sd-event io source. Events
 * that name a file in a parent's directory make only that file read again (vgpud's own writes come
 * back this way, once per file: a full read of every definition after each change would cost a host
 * with thousands of them tens of ms per change); anything else (the directory of parents, a parent's
 * directory itself, an overflow of the queue, many files at once) reads the whole directory. */

#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>

#include "macro.h"
#include "log.h"
#include "store.h"
#include "store-watch.h"

/* How long after the first event of a burst the directory is read again. */
#define COALESCE_USEC (50ULL * 1000)
/* More files named in one burst than this: read the whole directory instead, once. */
#define MAX_PENDING_FILES 64

#define DIR_EVENTS                                                                               \
        (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF | \
         IN_MOVE_SELF | IN_ONLYDIR)

struct StoreWatch {
        Inventory *inv;
        int fd;
        sd_event_source *io;
        sd_event_source *timer;
        bool armed;
        GHashTable *parents; /* watch descriptor -> the parent's name, for each parent's directory */
        GHashTable *pending; /* "<parent>/<file>" named by the events of this burst */
        bool reload_all;     /* an event of this burst that no single file explains */
        uint32_t own_cookie; /* the IN_MOVED_FROM of vgpud's own rename whose IN_MOVED_TO comes next */
        void (*hook)(void *userdata);
        void *hook_userdata;
};

/* Watch the directory and every parent's directory in it; when it does not exist (yet), its parent,
 * to see it appear. Watching a directory twice is harmless: inotify gives the same descriptor. */
static void add_watches(StoreWatch *w)
{
        const char *dir = inventory_definitions_dir(w->inv);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        if (inotify_add_watch(w->fd, dir, DIR_EVENTS) < 0) {
                g_autofree char *up = g_path_get_dirname(dir);
                if (errno != ENOENT ||
                    inotify_add_watch(w->fd, up, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR) < 0)
                        log_debug_errno(negative_errno(), "Cannot watch %s: %m", dir);
                return;
        }
        d = opendir(dir);
        while (d && (de = readdir(d))) {
                g_autofree char *path = NULL;
                int wd;

                if (!store_parent_name_is_valid(de->d_name))
                        continue;
                path = g_build_filename(dir, de->d_name, NULL);
                wd = inotify_add_watch(w->fd, path, DIR_EVENTS);
                if (wd >= 0)
                        g_hash_table_replace(w->parents, GINT_TO_POINTER(wd), g_strdup(de->d_name));
                else if (errno != ENOTDIR && errno != ENOENT)
                        log_debug_errno(negative_errno(), "Cannot watch %s: %m", path);
        }
}

/* Read again what the burst's events named: each file alone when they all named files (at most
 * MAX_PENDING_FILES) in parents' directories whose definitions live here, else everything. */
static void reload(StoreWatch *w)
{
        const char *dir = inventory_definitions_dir(w->inv);
        g_autofree char **keys = NULL;
        guint n = 0;

        if (!w->reload_all) {
                keys = (char **)g_hash_table_get_keys_as_array(w->pending, &n);
                for (guint i = 0; i < n && !w->reload_all; i++) {
                        g_autofree char *parent = g_strndup(keys[i], strcspn(keys[i], "/"));
                        w->reload_all = strcmp(inventory_definitions_dir_for(w->inv, parent), dir) != 0;
                }
        }
        if (w->reload_all) {
                add_watches(w); /* new parents' directories */
                log_debug("The definitions directory changed: reloading");
                (void)inventory_reload_definitions(w->inv);
        } else
                for (guint i = 0; i < n; i++) {
                        g_autofree char *parent = g_strndup(keys[i], strcspn(keys[i], "/"));
                        log_debug("The definition %s changed: reloading it", keys[i]);
                        (void)inventory_reload_definition(w->inv, parent, keys[i] + strlen(parent) + 1);
                }
        g_hash_table_remove_all(w->pending);
        w->reload_all = false;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        StoreWatch *w = userdata;

        w->armed = false;
        reload(w);
        if (w->hook)
                w->hook(w->hook_userdata);
        return 0;
}

/* Take note of one event for the next reload; true when it calls for one. */
static bool note_event(StoreWatch *w, const struct inotify_event *e, const char *name)
{
        const char *parent = g_hash_table_lookup(w->parents, GINT_TO_POINTER(e->wd));

        if (e->mask & IN_Q_OVERFLOW) {
                store_own_temps_forget(); /* their renames' events may be lost too */
                w->reload_all = true;
                return true;
        }
        if (e->mask & IN_IGNORED) { /* the directory is gone: its parent's directory says so */
                g_hash_table_remove(w->parents, GINT_TO_POINTER(e->wd));
                return false;
        }
        /* the second half of vgpud's own rename (below): the job that made it has put it into the
         * inventory, and someone else's later change of the file comes with events of its own */
        if ((e->mask & IN_MOVED_TO) && e->cookie != 0 && e->cookie == w->own_cookie) {
                w->own_cookie = 0;
                return false;
        }
        /* dot files are temp files (ours or anyone's): their rename is what counts, unless it is one
         * of vgpud's own (store_own_temp_take(); gone unrenamed: forgotten) */
        if (e->len > 0 && name[0] == '.') {
                if (parent && (e->mask & (IN_MOVED_FROM | IN_DELETE)) && store_own_temp_take(parent, name) &&
                    (e->mask & IN_MOVED_FROM))
                        w->own_cookie = e->cookie;
                return false;
        }
        if (parent && e->len > 0 && !(e->mask & IN_ISDIR) &&
            g_hash_table_size(w->pending) < MAX_PENDING_FILES)
                g_hash_table_add(w->pending, g_strconcat(parent, "/", name, NULL));
        else
                w->reload_all = true;
        return true;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        StoreWatch *w = userdata;
        union {
                struct inotify_event ev;
                char buf[16 * 1024];
        } u;
        bool relevant = false;

        for (;;) {
                ssize_t n = read(fd, u.buf, sizeof(u.buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        break; /* EAGAIN: all read */
                }
                for (const char *p = u.buf; p + (ssize_t)sizeof(struct inotify_event) <= u.buf + n;) {
                        struct inotify_event e; /* a copy of the header: no alignment assumed of p */
                        const char *name = p + sizeof(e);

                        memcpy(&e, p, sizeof(e));
                        if (note_event(w, &e, name))
                                relevant = true;
                        p = name + e.len;
                }
        }
        if (relevant && !w->armed) {
                w->armed = true;
                (void)sd_event_source_set_time_relative(w->timer, COALESCE_USEC);
                (void)sd_event_source_set_enabled(w->timer, SD_EVENT_ONESHOT);
        }
        return 0;
}

void store_watch_free(StoreWatch *w)
{
        if (!w)
                return;
        sd_event_source_disable_unref(w->io);
        sd_event_source_disable_unref(w->timer);
        if (w->fd >= 0)
                close(w->fd);
        g_clear_pointer(&w->parents, g_hash_table_unref);
        g_clear_pointer(&w->pending, g_hash_table_unref);
        g_free(w);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreWatch, store_watch_free)

void store_watch_set_hook(StoreWatch *w, void (*hook)(void *userdata), void *userdata)
{
        w->hook = hook;
        w->hook_userdata = userdata;
}

int store_watch_new(sd_event *event, Inventory *inv, StoreWatch **ret)
{
        g_autoptr(StoreWatch) w = g_new0(StoreWatch, 1);
        int r;

        w->inv = inv;
        w->parents = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
        w->pending = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->fd < 0)
                return log_error_errno(negative_errno(), "Cannot create an inotify instance: %m");
        add_watches(w);
        r = sd_event_add_io(event, &w->io, w->fd, EPOLLIN, on_io, w);
        if (r < 0)
                return log_error_errno(r, "Cannot watch the definitions directory: %m");
        (void)sd_event_source_set_description(w->io, "store-watch");
        r = sd_event_add_time_relative(event, &w->timer, CLOCK_MONOTONIC, COALESCE_USEC, 0, on_timer, w);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(w->timer, "store-watch-coalesce");
        r = sd_event_source_set_enabled(w->timer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        *ret = g_steal_pointer(&w);
        return 0;
}
