/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of daemon/leases.c: the leases file, its round trip, and what a damaged one gives. */

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "leases.h"
#include "name.h"

#define U1 "6f4b6b63-0f0e-4b8e-9a43-7d39c1a3b1e0"
#define U2 "0b8e7f0a-5d1c-4f6e-8a2b-3c4d5e6f7a8b"

static char *make_dir(void)
{
        g_autoptr(GError) err = NULL;
        char *dir = g_dir_make_tmp("test-leases.XXXXXX", &err);
        g_assert_no_error(err);
        return dir;
}

static void remove_dir(const char *dir)
{
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *name;

        while (d && (name = g_dir_read_name(d))) {
                g_autofree char *p = g_build_filename(dir, name, NULL);
                g_unlink(p);
        }
        g_rmdir(dir);
}

static unsigned count_files(const char *dir, const char *prefix)
{
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *name;
        unsigned n = 0;

        while (d && (name = g_dir_read_name(d)))
                if (g_str_has_prefix(name, prefix))
                        n++;
        return n;
}

static Lease lease(const char *uuid, const char *owner, uint32_t slot, bool defined)
{
        Lease l = {.owner = (char *)owner,
                   .slot = slot,
                   .parent = (char *)"0000:41:00.0",
                   .type = (char *)"nvidia-231",
                   .acquired_usec = 1795000000000000ULL,
                   .defined = defined};
        g_strlcpy(l.uuid, uuid, sizeof(l.uuid));
        return l;
}

static void test_missing_file(void)
{
        g_autofree char *dir = make_dir();
        g_autofree char *sub = g_build_filename(dir, "not-yet", NULL);
        g_autoptr(Leases) l = NULL;
        g_autofree char *warning = NULL;

        g_assert_cmpint(leases_load(sub, &l, &warning), ==, 0);
        g_assert_null(warning);
        g_assert_cmpuint(leases_count(l), ==, 0);
        /* the first write makes the directory */
        Lease a = lease(U1, "libvirt:web1", 0, false);
        g_assert_cmpint(leases_put(l, &a), ==, 0);
        g_assert_cmpint(leases_save(l), ==, 0);
        g_assert_true(g_file_test(leases_path(l), G_FILE_TEST_IS_REGULAR));
        g_unlink(leases_path(l));
        g_rmdir(sub);
        remove_dir(dir);
}

static void test_round_trip(void)
{
        g_autofree char *dir = make_dir();
        g_autoptr(Leases) l = NULL, again = NULL;
        g_autofree char *warning = NULL;
        g_autoptr(GPtrArray) all = NULL, mine = NULL;
        /* an owner with the characters a key file must escape */
        const char *odd = "proxmox:100 [vm] =x; \\ ü";
        Lease a = lease(U1, odd, 3, true), b = lease(U2, "libvirt:web1", 0, false);
        Lease *got;

        g_assert_cmpint(leases_load(dir, &l, &warning), ==, 0);
        g_assert_cmpint(leases_put(l, &a), ==, 0);
        g_assert_cmpint(leases_put(l, &b), ==, 0);
        g_assert_cmpint(leases_save(l), ==, 0);
        g_assert_cmpuint(count_files(dir, "."), ==, 0); /* no temp file left */

        g_assert_cmpint(leases_load(dir, &again, &warning), ==, 0);
        g_assert_null(warning);
        g_assert_cmpuint(leases_count(again), ==, 2);
        got = leases_get(again, U1);
        g_assert_nonnull(got);
        g_assert_cmpstr(got->owner, ==, odd);
        g_assert_cmpuint(got->slot, ==, 3);
        g_assert_cmpstr(got->parent, ==, "0000:41:00.0");
        g_assert_cmpstr(got->type, ==, "nvidia-231");
        g_assert_cmpuint(got->acquired_usec, ==, 1795000000000000ULL);
        g_assert_true(got->defined);
        g_assert_true(leases_get_slot(again, "libvirt:web1", 0) == leases_get(again, U2));
        g_assert_null(leases_get_slot(again, "libvirt:web1", 1));
        g_assert_true(leases_has_owner(again, odd));
        g_assert_false(leases_has_owner(again, "nobody"));

        all = leases_list(again, NULL); /* sorted by owner: "libvirt:..." < "proxmox:..." */
        g_assert_cmpuint(all->len, ==, 2);
        g_assert_cmpstr(((Lease *)all->pdata[0])->uuid, ==, U2);
        mine = leases_list(again, "libvirt:web1");
        g_assert_cmpuint(mine->len, ==, 1);

        g_assert_cmpint(leases_remove(again, U2), ==, 0);
        g_assert_cmpint(leases_remove(again, U2), ==, -ENOENT);
        g_assert_cmpuint(leases_count(again), ==, 1);
        remove_dir(dir);
}

static void test_put_rules(void)
{
        g_autofree char *dir = make_dir();
        g_autoptr(Leases) l = NULL;
        g_autofree char *warning = NULL, *long_owner = g_strnfill(NAME_LEN_MAX + 1, 'x');
        Lease a = lease(U1, "vm", 0, false), b = lease(U2, "vm", 0, false);

        g_assert_cmpint(leases_load(dir, &l, &warning), ==, 0);
        g_assert_cmpint(leases_put(l, &a), ==, 0);
        g_assert_cmpint(leases_put(l, &b), ==, -EEXIST); /* the slot is held by U1 */
        a.parent = (char *)"0000:42:00.0";
        g_assert_cmpint(leases_put(l, &a), ==, 0); /* the same UUID: replaced */
        g_assert_cmpstr(leases_get(l, U1)->parent, ==, "0000:42:00.0");

        b.slot = 1;
        b.owner = (char *)"";
        g_assert_cmpint(leases_put(l, &b), ==, -EINVAL);
        b.owner = (char *)"tab\there";
        g_assert_cmpint(leases_put(l, &b), ==, -EINVAL);
        b.owner = long_owner;
        g_assert_cmpint(leases_put(l, &b), ==, -EINVAL);
        b.owner = (char *)"vm";
        g_strlcpy(b.uuid, "6F4B6B63-0F0E-4B8E-9A43-7D39C1A3B1E0", sizeof(b.uuid)); /* not canonical */
        g_assert_cmpint(leases_put(l, &b), ==, -EINVAL);
        g_assert_cmpuint(leases_count(l), ==, 1);

        g_assert_true(name_is_valid_owner("libvirt:web1"));
        g_assert_false(name_is_valid_owner(NULL));
        g_assert_false(name_is_valid_owner("\xff\xfe"));
        remove_dir(dir);
}

/* A damaged file: the valid groups are kept, the file is copied aside, a warning says so. */
static void test_damaged(void)
{
        g_autofree char *dir = make_dir();
        g_autofree char *path = g_build_filename(dir, LEASES_FILE, NULL);
        g_autoptr(Leases) l = NULL;
        g_autofree char *warning = NULL;
        const char *text = "[" U1 "]\nOwner=libvirt:web1\nSlot=0\nParent=0000:41:00.0\nType=nvidia-231\n"
                           "Acquired=1\nDefined=false\n"
                           "[not-a-uuid]\nOwner=x\nSlot=0\nParent=p\nType=t\nDefined=false\n"
                           "[" U2 "]\nOwner=libvirt:web1\nSlot=0\nParent=0000:41:00.0\nType=nvidia-231\n"
                           "Defined=false\n";

        g_assert_true(g_file_set_contents(path, text, -1, NULL));
        g_assert_cmpint(leases_load(dir, &l, &warning), ==, 0);
        g_assert_nonnull(warning);
        g_assert_nonnull(strstr(warning, "not-a-uuid"));
        g_assert_nonnull(strstr(warning, "held twice"));
        g_assert_nonnull(strstr(warning, "kept as"));
        g_assert_cmpuint(leases_count(l), ==, 1);
        g_assert_nonnull(leases_get(l, U1));
        g_assert_cmpuint(count_files(dir, LEASES_FILE ".corrupt-"), ==, 1);
        g_clear_pointer(&l, leases_free);
        g_clear_pointer(&warning, g_free);

        /* not a key file at all: nothing loaded, the file kept aside too */
        g_assert_true(g_file_set_contents(path, "{\"json\": true}\n\x01garbage", -1, NULL));
        g_assert_cmpint(leases_load(dir, &l, &warning), ==, 0);
        g_assert_nonnull(warning);
        g_assert_cmpuint(leases_count(l), ==, 0);
        g_assert_cmpuint(count_files(dir, LEASES_FILE ".corrupt-"), ==, 2);
        g_clear_pointer(&l, leases_free);
        g_clear_pointer(&warning, g_free);

        /* missing keys and a bad slot */
        g_assert_true(g_file_set_contents(path,
                                          "[" U1 "]\nOwner=a\nSlot=-1\nParent=p\nType=t\nDefined=false\n"
                                          "[" U2 "]\nSlot=0\nParent=p\nType=t\nDefined=no\n",
                                          -1, NULL));
        g_assert_cmpint(leases_load(dir, &l, &warning), ==, 0);
        g_assert_nonnull(strstr(warning, "Slot"));
        g_assert_nonnull(strstr(warning, "Owner"));
        g_assert_cmpuint(leases_count(l), ==, 0);
        remove_dir(dir);
}

static void test_unwritable(void)
{
        g_autofree char *dir = make_dir();
        g_autofree char *file = g_build_filename(dir, "a-file", NULL);
        g_autofree char *below = g_build_filename(file, "state", NULL);
        g_autoptr(Leases) l = NULL;
        g_autofree char *warning = NULL;
        Lease a = lease(U1, "vm", 0, false);

        /* a state directory that cannot be one: an error that says so */
        g_assert_true(g_file_set_contents(file, "", -1, NULL));
        g_assert_cmpint(leases_load(below, &l, &warning), <, 0);
        g_assert_nonnull(warning);
        g_assert_null(l);

        /* one that cannot be written: the save fails, nothing is lost in memory */
        g_clear_pointer(&warning, g_free);
        g_assert_cmpint(leases_load("/proc/self/no-such-state", &l, &warning), ==, 0);
        g_assert_cmpint(leases_put(l, &a), ==, 0);
        g_assert_cmpint(leases_save(l), <, 0);
        g_assert_nonnull(leases_get(l, U1));
        remove_dir(dir);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/leases/missing-file", test_missing_file);
        g_test_add_func("/leases/round-trip", test_round_trip);
        g_test_add_func("/leases/put-rules", test_put_rules);
        g_test_add_func("/leases/damaged", test_damaged);
        g_test_add_func("/leases/unwritable", test_unwritable);
        return g_test_run();
}
