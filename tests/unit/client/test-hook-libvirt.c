/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* client/hook-libvirt.c: reading libvirt domain XML (mdev hostdevs, vgpud metadata matched by namespace
 * URI, malformed documents) and matching the requested vGPUs to hostdevs. */

#include <glib.h>
#include <string.h>

#include "hook-libvirt.h"

#define U1 "11111111-2222-4333-8444-555555555551"
#define U2 "11111111-2222-4333-8444-555555555552"
#define U3 "11111111-2222-4333-8444-555555555553"
#define VM "c7a5fdbd-edaf-9455-926a-d65c16db1809"

/* A domain as `virsh dumpxml` prints it, with a PCI hostdev, three mdev hostdevs (one upper-case) and
 * metadata in three namespaces. */
static const char domain_xml[] =
        "<domain type='kvm' id='3'>\n"
        "  <name>web-01</name>\n"
        "  <uuid>C7A5FDBD-EDAF-9455-926A-D65C16DB1809</uuid>\n"
        "  <metadata>\n"
        "    <libosinfo:libosinfo xmlns:libosinfo=\"http://libosinfo.org/xmlns/libvirt/domain/1.0\">\n"
        "      <libosinfo:os id=\"http://debian.org/debian/12\"/>\n"
        "    </libosinfo:libosinfo>\n"
        "    <other:vgpu xmlns:other='https://example.org/not-vgpud' profile='ignored'/>\n"
        "    <v:vgpus xmlns:v='https://vgpud.org/xmlns/libvirt/1'>\n"
        "      <v:vgpu profile='A16-2Q'/>\n"
        "      <v:vgpu profile='A16-4Q' slot='5' board='0000:61:00.0' numa_node='1' policy='spread' "
        "persist='yes' parent='0000:63:00.4'/>\n"
        "    </v:vgpus>\n"
        "  </metadata>\n"
        "  <memory unit='KiB'>8388608</memory>\n"
        "  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>\n"
        "  <devices>\n"
        "    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
        "    <disk type='file' device='disk'><source file='/var/lib/libvirt/images/web-01.qcow2'/>"
        "<target dev='vda' bus='virtio'/></disk>\n"
        "    <hostdev mode='subsystem' type='pci' managed='yes'>\n"
        "      <source><address domain='0x0000' bus='0x41' slot='0x00' function='0x0'/></source>\n"
        "    </hostdev>\n"
        "    <hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci' display='off'>\n"
        "      <source><address uuid='" U1 "'/></source>\n"
        "      <alias name='hostdev1'/>\n"
        "      <address type='pci' domain='0x0000' bus='0x06' slot='0x00' function='0x0'/>\n"
        "    </hostdev>\n"
        "    <hostdev mode='subsystem' type='mdev' model='vfio-pci'>\n"
        "      <source><address uuid='11111111-2222-4333-8444-555555555552'/></source>\n"
        "    </hostdev>\n"
        "    <hostdev mode=\"subsystem\" type=\"mdev\" model=\"vfio-pci\">\n"
        "      <source><address uuid=\"11111111-2222-4333-8444-555555555553\"/></source>\n"
        "    </hostdev>\n"
        "  </devices>\n"
        "</domain>\n";

static VcDomain *parse_ok(const char *xml)
{
        VcDomain *d = NULL;
        g_autofree char *why = NULL;

        g_assert_cmpint(vc_domain_parse(xml, -1, &d, &why), ==, 0);
        g_assert_null(why);
        g_assert_nonnull(d);
        return d;
}

/* Parsing fails and the message holds want. */
static void parse_fails(const char *xml, const char *want)
{
        VcDomain *d = NULL;
        g_autofree char *why = NULL;

        g_assert_cmpint(vc_domain_parse(xml, -1, &d, &why), <, 0);
        g_assert_null(d);
        g_assert_nonnull(why);
        if (!strstr(why, want))
                g_error("'%s' does not say '%s'", why, want);
}

static void test_full_domain(void)
{
        g_autoptr(VcDomain) d = parse_ok(domain_xml);
        const VcVgpuRequest *a, *b;

        g_assert_cmpstr(d->name, ==, "web-01");
        g_assert_cmpstr(d->uuid, ==, VM); /* canonical */
        g_assert_cmpuint(d->mdevs->len, ==, 3);
        g_assert_cmpstr(d->mdevs->pdata[0], ==, U1);
        g_assert_cmpstr(d->mdevs->pdata[1], ==, U2);
        g_assert_cmpstr(d->mdevs->pdata[2], ==, U3);
        g_assert_cmpuint(d->vgpus->len, ==, 2); /* the other namespace's vgpu is not ours */
        a = d->vgpus->pdata[0];
        b = d->vgpus->pdata[1];
        g_assert_cmpstr(a->profile, ==, "A16-2Q");
        g_assert_cmpuint(a->slot, ==, 0);
        g_assert_false(a->has_slot);
        g_assert_null(a->uuid);
        g_assert_null(a->parent);
        g_assert_false(a->persist);
        g_assert_cmpstr(b->profile, ==, "A16-4Q");
        g_assert_cmpuint(b->slot, ==, 5);
        g_assert_cmpstr(b->board, ==, "0000:61:00.0");
        g_assert_cmpstr(b->parent, ==, "0000:63:00.4");
        g_assert_true(b->has_numa_node);
        g_assert_cmpint(b->numa_node, ==, 1);
        g_assert_cmpstr(b->policy, ==, "spread");
        g_assert_true(b->persist);
}

static void test_prefix_does_not_matter(void)
{
        /* the default namespace, and a prefix declared on the root */
        g_autoptr(VcDomain) d1 =
                parse_ok("<domain><name>a</name><metadata><vgpus xmlns='https://vgpud.org/xmlns/libvirt/1'>"
                         "<vgpu profile='2Q' uuid='" U2 "'/></vgpus></metadata></domain>");
        g_autoptr(VcDomain) d2 =
                parse_ok("<domain xmlns:zz='https://vgpud.org/xmlns/libvirt/1'><metadata><zz:vgpus>"
                         "<zz:vgpu profile='nvidia-558' slot='3'/></zz:vgpus></metadata></domain>");
        /* the same local names in another namespace are not ours */
        g_autoptr(VcDomain) d3 =
                parse_ok("<domain><metadata><vgpud:vgpus xmlns:vgpud='https://vgpud.org/xmlns/libvirt/2'>"
                         "<vgpud:vgpu/></vgpud:vgpus></metadata></domain>");

        g_assert_cmpuint(d1->vgpus->len, ==, 1);
        g_assert_cmpstr(((VcVgpuRequest *)d1->vgpus->pdata[0])->uuid, ==, U2);
        g_assert_cmpuint(d2->vgpus->len, ==, 1);
        g_assert_cmpuint(((VcVgpuRequest *)d2->vgpus->pdata[0])->slot, ==, 3);
        g_assert_cmpuint(d3->vgpus->len, ==, 0);
        g_assert_null(d2->name);
}

static void test_no_vgpus(void)
{
        g_autoptr(VcDomain) d = parse_ok("<domain type='kvm'><name>plain</name><devices>"
                                         "<hostdev mode='subsystem' type='pci'><source><address bus='0x41'/>"
                                         "</source></hostdev></devices></domain>");

        g_assert_cmpuint(d->mdevs->len, ==, 0);
        g_assert_cmpuint(d->vgpus->len, ==, 0);
}

static void test_malformed(void)
{
        parse_fails("", "empty");
        parse_fails("<domain><name>x</name>", "not valid");
        parse_fails("<domain><name>x</nam></domain>", "not valid");
        parse_fails("<domain><devices></domain>", "not valid");
        parse_fails("not xml at all", "not valid");
        parse_fails("<network><name>default</name></network>", "not a <domain>");
        parse_fails("<domain><uuid>nope</uuid></domain>", "is not a UUID");
        parse_fails("<domain><devices><hostdev mode='subsystem' "
                    "type='mdev'><source/></hostdev></devices></domain>",
                    "has no <source><address uuid");
        parse_fails("<domain><devices><hostdev mode='subsystem' type='mdev'><source><address "
                    "uuid='zz'/></source>"
                    "</hostdev></devices></domain>",
                    "'zz' is not a UUID");
        parse_fails(
                "<domain><devices>"
                "<hostdev mode='subsystem' type='mdev'><source><address uuid='" U1 "'/></source></hostdev>"
                "<hostdev mode='subsystem' type='mdev'><source><address uuid='" U1 "'/></source></hostdev>"
                "</devices></domain>",
                "two <hostdev>");
        parse_fails("<domain><metadata><x:vgpus><x:vgpu profile='2Q'/></x:vgpus></metadata></domain>",
                    "prefix 'x' is not declared");
}

#define META(inner)                                                                             \
        "<domain><metadata><vgpud:vgpus xmlns:vgpud='https://vgpud.org/xmlns/libvirt/1'>" inner \
        "</vgpud:vgpus></metadata></domain>"

static void test_bad_metadata(void)
{
        parse_fails(META("<vgpud:vgpu/>"), "no profile");
        parse_fails(META("<vgpud:vgpu profile=''/>"), "profile is empty");
        parse_fails(META("<vgpud:vgpu profile='2Q' slot='-1'/>"), "slot '-1' is not a number");
        parse_fails(META("<vgpud:vgpu profile='2Q' slot='4294967296'/>"), "slot '4294967296'");
        parse_fails(META("<vgpud:vgpu profile='2Q' policy='random'/>"), "neither pack nor spread");
        parse_fails(META("<vgpud:vgpu profile='2Q' persist='maybe'/>"), "persist 'maybe'");
        parse_fails(META("<vgpud:vgpu profile='2Q' numa_node='x'/>"), "numa_node 'x'");
        parse_fails(META("<vgpud:vgpu profile='2Q' uuid='123'/>"), "uuid '123' is not a UUID");
        parse_fails(META("<vgpud:vgpu profile='2Q' colour='red'/>"), "unknown attribute 'colour'");
        parse_fails(META("<vgpud:vgpu profile='2Q'/><vgpud:vgpu profile='4Q' slot='0'/>"),
                    "both ask for slot 0");
        parse_fails(META("<vgpud:vgpu profile='2Q' uuid='" U1 "'/><vgpud:vgpu profile='4Q' uuid='" U1 "'/>"),
                    "both ask for UUID");
        parse_fails(META("<vgpud:gpu/>"), "unknown vgpud element");
        parse_fails("<domain><metadata><vgpud:vgpu xmlns:vgpud='https://vgpud.org/xmlns/libvirt/1' "
                    "profile='2Q'/>"
                    "</metadata></domain>",
                    "inside <vgpud:vgpus>");
        parse_fails(
                "<domain><devices><vgpud:vgpus xmlns:vgpud='https://vgpud.org/xmlns/libvirt/1'/></devices>"
                "</domain>",
                "directly inside the domain's <metadata>");
}

static GHashTable *set_of(const char *const *uuids)
{
        GHashTable *s = g_hash_table_new(g_str_hash, g_str_equal);
        for (; uuids && *uuids; uuids++)
                g_hash_table_add(s, (gpointer)*uuids);
        return s;
}

static void test_assign(void)
{
        g_autoptr(VcDomain) d = parse_ok(domain_xml);
        static const char *const running_u1[] = {U1, NULL};
        static const char *const defined_u2[] = {U2, NULL};
        g_autoptr(GHashTable) running = set_of(running_u1), defined = set_of(defined_u2);
        g_autoptr(GHashTable) held = g_hash_table_new(g_direct_hash, g_direct_equal);
        g_autoptr(GPtrArray) a = NULL, b = NULL, c = NULL;

        /* nothing runs: the hostdevs in order */
        a = vc_domain_assign(d, NULL, NULL, NULL);
        g_assert_cmpuint(a->len, ==, 2);
        g_assert_cmpstr(a->pdata[0], ==, U1);
        g_assert_cmpstr(a->pdata[1], ==, U2);

        /* U1 runs, U2 is defined: only U3 is free, the second element gets none */
        b = vc_domain_assign(d, running, defined, NULL);
        g_assert_cmpstr(b->pdata[0], ==, U3);
        g_assert_null(b->pdata[1]);

        /* the owner holds U1 in slot 5 (the second element): it keeps it though it runs */
        g_hash_table_insert(held, GUINT_TO_POINTER(5), (gpointer)U1);
        c = vc_domain_assign(d, running, defined, held);
        g_assert_cmpstr(c->pdata[0], ==, U3);
        g_assert_cmpstr(c->pdata[1], ==, U1);
}

static void test_assign_named_uuid_first(void)
{
        /* the second element names U1: the first one must not take it */
        g_autoptr(VcDomain) d = parse_ok(
                "<domain><metadata><vgpus xmlns='https://vgpud.org/xmlns/libvirt/1'>"
                "<vgpu profile='2Q'/><vgpu profile='2Q' uuid='" U1 "'/></vgpus></metadata><devices>"
                "<hostdev mode='subsystem' type='mdev'><source><address uuid='" U1 "'/></source></hostdev>"
                "<hostdev mode='subsystem' type='mdev'><source><address uuid='" U2 "'/></source></hostdev>"
                "</devices></domain>");
        g_autoptr(GPtrArray) a = vc_domain_assign(d, NULL, NULL, NULL);

        g_assert_cmpstr(a->pdata[0], ==, U2);
        g_assert_cmpstr(a->pdata[1], ==, U1);
}

static void test_hostdev_xml(void)
{
        g_autofree char *xml = vc_domain_hostdev_xml(U1);
        g_autoptr(VcDomain) d = NULL;
        g_autofree char *doc = g_strdup_printf("<domain><devices>%s</devices></domain>", xml);

        /* what the hook tells the admin to add is what it reads */
        d = parse_ok(doc);
        g_assert_cmpuint(d->mdevs->len, ==, 1);
        g_assert_cmpstr(d->mdevs->pdata[0], ==, U1);
        g_assert_nonnull(strstr(xml, "model='vfio-pci'"));
}

/* PCI hostdevs (an NVIDIA VF carries a vGPU itself): their addresses, and the element the hook tells the
 * admin to add reads back as the same address. */
static void test_pci_hostdevs(void)
{
        g_autoptr(VcDomain) d = parse_ok(domain_xml);
        g_autofree char *xml = vc_domain_pci_hostdev_xml("0000:c1:00.4");
        g_autofree char *doc = g_strdup_printf("<domain><devices>%s<hostdev mode='subsystem' type='pci'>"
                                               "<source><address bus='2' slot='0x1f' function='7'/></source>"
                                               "</hostdev><hostdev type='pci'><source><address bus='x'/>"
                                               "</source></hostdev></devices></domain>",
                                               xml);
        g_autoptr(VcDomain) d2 = NULL;

        g_assert_cmpuint(d->pci_hostdevs->len, ==, 1);
        g_assert_cmpstr(d->pci_hostdevs->pdata[0], ==, "0000:41:00.0");
        g_assert_true(vc_domain_has_pci(d, "0000:41:00.0"));
        g_assert_false(vc_domain_has_pci(d, "0000:41:00.1"));
        g_assert_nonnull(strstr(xml, "managed='no'"));
        d2 = parse_ok(doc);
        /* the VF's element, a decimal one with the domain left out, and an incomplete one left alone */
        g_assert_cmpuint(d2->pci_hostdevs->len, ==, 2);
        g_assert_cmpstr(d2->pci_hostdevs->pdata[0], ==, "0000:c1:00.4");
        g_assert_cmpstr(d2->pci_hostdevs->pdata[1], ==, "0000:02:1f.7");
        g_assert_null(vc_domain_pci_hostdev_xml("c1:00.4"));
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/hook-libvirt/full-domain", test_full_domain);
        g_test_add_func("/hook-libvirt/prefix-does-not-matter", test_prefix_does_not_matter);
        g_test_add_func("/hook-libvirt/no-vgpus", test_no_vgpus);
        g_test_add_func("/hook-libvirt/malformed", test_malformed);
        g_test_add_func("/hook-libvirt/bad-metadata", test_bad_metadata);
        g_test_add_func("/hook-libvirt/assign", test_assign);
        g_test_add_func("/hook-libvirt/assign-named-uuid-first", test_assign_named_uuid_first);
        g_test_add_func("/hook-libvirt/hostdev-xml", test_hostdev_xml);
        g_test_add_func("/hook-libvirt/pci-hostdevs", test_pci_hostdevs);
        return g_test_run();
}
