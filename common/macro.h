/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one cleanup idiom of vgpud: _cleanup_(fn) for plain C resources, g_autoptr/g_autofree for
 * glib ones. Internal functions return a negative errno on failure, >= 0 on success. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _unused_       __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _likely_(x)    (__builtin_expect(!!(x), 1))
#define _unlikely_(x)  (__builtin_expect(!!(x), 0))

#define ELEMENTSOF(x)  (sizeof(x) / sizeof((x)[0]))

/* The elements of a GArray a of T as a T * (NULL when empty), where glib.h is included. Its data is a
 * gchar * to memory g_malloc() aligned for any type: g_array_index() goes through void *, where a direct
 * cast would raise the alignment (clang's -Wcast-align). */
#define GARRAY_ELEMENTS(a, T) ((a)->len > 0 ? &g_array_index((a), T, 0) : (T *)NULL)

static inline void freep(void *p)
{
        free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Take ownership out of a _cleanup_ variable: ret = TAKE_PTR(p). */
#define TAKE_PTR(p)                       \
        ({                                \
                __typeof__(p) _tp_ = (p); \
                (p) = NULL;               \
                _tp_;                     \
        })
#define TAKE_FD(fd)               \
        ({                        \
                int _tfd_ = (fd); \
                (fd) = -1;        \
                _tfd_;            \
        })

/* errno as a negative value, never 0 (for "return -errno" after a failed libc call). */
static inline int negative_errno(void)
{
        return errno > 0 ? -errno : -EIO;
}
