/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Reading a libvirt domain XML for the QEMU hook (GMarkup and a small namespace resolver), and matching
 * the vGPUs its vgpud metadata asks for to its mdev hostdevs. See hook-libvirt.h. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hook-libvirt.h"
#include "macro.h"
#include "uuid.h"

typedef struct Frame {
        char *local;      /* the element's name without its prefix */
        char *ns;         /* its namespace URI, NULL for none */
        GPtrArray *decls; /* char* pairs (prefix or "" for the default, URI) declared on it; NULL: none */
} Frame;

typedef struct Parser {
        VcDomain *domain;
        GPtrArray *frames;    /* Frame* */
        GString *text;        /* <name> or <uuid> text being read, else NULL */
        bool in_mdev_hostdev; /* inside <hostdev mode='subsystem' type='mdev'> */
        bool in_pci_hostdev;  /* inside <hostdev mode='subsystem' type='pci'> */
        char *pci_address;    /* its source address, "0000:c1:00.4" */
        char *mdev_uuid;      /* its source address uuid */
        int hostdev_line;
        GArray *vgpu_lines; /* unsigned: the line of each vgpu element */
} Parser;

static void frame_free(Frame *f)
{
        if (!f)
                return;
        g_free(f->local);
        g_free(f->ns);
        if (f->decls)
                g_ptr_array_unref(f->decls);
        g_free(f);
}

void vc_domain_free(VcDomain *d)
{
        if (!d)
                return;
        g_free(d->name);
        g_free(d->uuid);
        g_ptr_array_unref(d->mdevs);
        g_ptr_array_unref(d->vgpus);
        if (d->pci_hostdevs)
                g_ptr_array_unref(d->pci_hostdevs);
        g_free(d);
}

static const char *lookup_prefix(Parser *p, const char *prefix)
{
        for (guint i = p->frames->len; i > 0; i--) {
                const Frame *f = p->frames->pdata[i - 1];
                for (guint j = 0; f->decls && j < f->decls->len; j += 2)
                        if (strcmp(f->decls->pdata[j], prefix) == 0)
                                return *(const char *)f->decls->pdata[j + 1] ? f->decls->pdata[j + 1] : NULL;
        }
        return NULL;
}

/* The element at depth (0: the root) from the top, or NULL. */
static const Frame *frame_at(Parser *p, guint depth)
{
        return depth < p->frames->len ? p->frames->pdata[depth] : NULL;
}

static bool frame_is(const Frame *f, const char *ns, const char *local)
{
        return f && g_strcmp0(f->ns, ns) == 0 && strcmp(f->local, local) == 0;
}

static void set_error(GError **error, GMarkupParseContext *ctx, const char *format, ...)
        __attribute__((format(printf, 3, 4)));
static void set_error(GError **error, GMarkupParseContext *ctx, const char *format, ...)
{
        g_autofree char *msg = NULL;
        va_list ap;
        int line = 0;

        va_start(ap, format);
        msg = g_strdup_vprintf(format, ap);
        va_end(ap);
        g_markup_parse_context_get_position(ctx, &line, NULL);
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT, "line %d: %s", line, msg);
}

static const char *attr(const char **names, const char **values, const char *name)
{
        for (size_t i = 0; names[i]; i++)
                if (strcmp(names[i], name) == 0)
                        return values[i];
        return NULL;
}

/* A number of a libvirt PCI address: "0x41" or decimal, as libvirt takes them; -1 when it is none. */
static long pci_number(const char *s, long max)
{
        char *end = NULL;
        long v;

        if (!s || !*s)
                return -1;
        errno = 0;
        v = strtol(s, &end, 0);
        return errno || !end || *end || v < 0 || v > max ? -1 : v;
}

/* "0000:c1:00.4" from <address domain= bus= slot= function=/> (domain 0 when missing); NULL when it is
 * incomplete. */
static char *pci_address_of(const char **names, const char **values)
{
        const char *dom = attr(names, values, "domain");
        long d = dom ? pci_number(dom, 0xffff) : 0, b = pci_number(attr(names, values, "bus"), 0xff),
             s = pci_number(attr(names, values, "slot"), 0x1f),
             f = pci_number(attr(names, values, "function"), 7);

        if (d < 0 || b < 0 || s < 0 || f < 0)
                return NULL;
        return g_strdup_printf("%04lx:%02lx:%02lx.%lx", d, b, s, f);
}

static void start_vgpu(GMarkupParseContext *ctx, Parser *p, const char **names, const char **values,
                       GError **error)
{
        g_autoptr(VcVgpuRequest) r = g_new0(VcVgpuRequest, 1);
        int line = 0;

        for (size_t i = 0; names[i]; i++) {
                g_autofree char *why = NULL;

                if (strchr(names[i], ':') || strcmp(names[i], "xmlns") == 0)
                        continue; /* namespace declarations and attributes of other namespaces */
                if (vc_vgpu_request_set(r, names[i], values[i], true, &why) < 0) {
                        set_error(error, ctx, "<vgpud:vgpu>: %s", why);
                        return;
                }
        }
        g_markup_parse_context_get_position(ctx, &line, NULL);
        g_array_append_val(p->vgpu_lines, line);
        g_ptr_array_add(p->domain->vgpus, g_steal_pointer(&r));
}

static void on_start(GMarkupParseContext *ctx, const char *element, const char **names, const char **values,
                     gpointer user_data, GError **error)
{
        Parser *p = user_data;
        Frame *f = g_new0(Frame, 1);
        const char *colon = strchr(element, ':');
        const Frame *parent = p->frames->len ? p->frames->pdata[p->frames->len - 1] : NULL;
        guint depth = p->frames->len;

        for (size_t i = 0; names[i]; i++) {
                const char *prefix = NULL;
                if (strcmp(names[i], "xmlns") == 0)
                        prefix = "";
                else if (g_str_has_prefix(names[i], "xmlns:"))
                        prefix = names[i] + strlen("xmlns:");
                if (!prefix)
                        continue;
                if (!f->decls)
                        f->decls = g_ptr_array_new_with_free_func(g_free);
                g_ptr_array_add(f->decls, g_strdup(prefix));
                g_ptr_array_add(f->decls, g_strdup(values[i]));
        }
        g_ptr_array_add(p->frames, f);
        if (colon) {
                g_autofree char *prefix = g_strndup(element, colon - element);
                const char *ns = lookup_prefix(p, prefix);
                if (!ns) {
                        set_error(error, ctx, "element <%s>: namespace prefix '%s' is not declared", element,
                                  prefix);
                        return;
                }
                f->ns = g_strdup(ns);
                f->local = g_strdup(colon + 1);
        } else {
                f->ns = g_strdup(lookup_prefix(p, ""));
                f->local = g_strdup(element);
        }

        if (depth == 0) {
                if (!frame_is(f, NULL, "domain"))
                        set_error(error, ctx, "not a libvirt domain: the document is a <%s>, not a <domain>",
                                  element);
                return;
        }
        if (depth == 1 && (frame_is(f, NULL, "name") || frame_is(f, NULL, "uuid"))) {
                p->text = g_string_new(NULL);
                return;
        }
        if (g_strcmp0(f->ns, VC_LIBVIRT_NS) == 0) {
                if (strcmp(f->local, "vgpus") == 0) {
                        if (depth != 2 || !frame_is(frame_at(p, 1), NULL, "metadata"))
                                set_error(error, ctx, "<%s> belongs directly inside the domain's <metadata>",
                                          element);
                } else if (strcmp(f->local, "vgpu") == 0) {
                        if (depth != 3 || !frame_is(parent, VC_LIBVIRT_NS, "vgpus"))
                                set_error(error, ctx, "<%s> belongs inside <vgpud:vgpus> in <metadata>",
                                          element);
                        else
                                start_vgpu(ctx, p, names, values, error);
                } else
                        set_error(error, ctx, "unknown vgpud element <%s> (known: vgpus, vgpu)", element);
                return;
        }
        if (depth == 2 && frame_is(f, NULL, "hostdev") && frame_is(parent, NULL, "devices")) {
                const char *type = attr(names, values, "type");
                const char *mode = attr(names, values, "mode");

                if (g_strcmp0(type, "mdev") == 0 && g_strcmp0(mode ? mode : "subsystem", "subsystem") == 0) {
                        p->in_mdev_hostdev = true;
                        g_markup_parse_context_get_position(ctx, &p->hostdev_line, NULL);
                }
                if (g_strcmp0(type, "pci") == 0 && g_strcmp0(mode ? mode : "subsystem", "subsystem") == 0)
                        p->in_pci_hostdev = true;
                return;
        }
        if (p->in_pci_hostdev && depth == 4 && frame_is(f, NULL, "address") &&
            frame_is(parent, NULL, "source")) {
                g_free(p->pci_address);
                p->pci_address = pci_address_of(names, values);
                return;
        }
        if (p->in_mdev_hostdev && depth == 4 && frame_is(f, NULL, "address") &&
            frame_is(parent, NULL, "source")) {
                const char *uuid = attr(names, values, "uuid");
                char canonical[VGPU_UUID_STRING_MAX];

                if (!uuid) {
                        set_error(error, ctx,
                                  "the mdev <hostdev>'s <source><address> has no uuid attribute");
                        return;
                }
                if (vgpu_uuid_parse(uuid, canonical) < 0) {
                        set_error(error, ctx, "the mdev <hostdev>'s uuid '%s' is not a UUID", uuid);
                        return;
                }
                g_free(p->mdev_uuid);
                p->mdev_uuid = g_strdup(canonical);
        }
}

static void on_end(GMarkupParseContext *ctx, const char *element, gpointer user_data, GError **error)
{
        Parser *p = user_data;
        guint depth = p->frames->len - 1;
        Frame *f = p->frames->pdata[depth];

        if (p->text && depth == 1) {
                g_autofree char *text = g_strstrip(g_string_free(g_steal_pointer(&p->text), false));

                if (strcmp(f->local, "name") == 0) {
                        g_free(p->domain->name);
                        p->domain->name = g_steal_pointer(&text);
                } else {
                        char canonical[VGPU_UUID_STRING_MAX];
                        if (vgpu_uuid_parse(text, canonical) < 0) {
                                set_error(error, ctx, "the domain's <uuid> '%s' is not a UUID", text);
                                return;
                        }
                        g_free(p->domain->uuid);
                        p->domain->uuid = g_strdup(canonical);
                }
        }
        if (p->in_pci_hostdev && depth == 2) {
                p->in_pci_hostdev = false;
                /* one without a complete address is not ours to judge: libvirt says what it lacks */
                if (p->pci_address)
                        g_ptr_array_add(p->domain->pci_hostdevs, g_steal_pointer(&p->pci_address));
        }
        if (p->in_mdev_hostdev && depth == 2) {
                p->in_mdev_hostdev = false;
                if (!p->mdev_uuid) {
                        set_error(error, ctx,
                                  "the mdev <hostdev> of line %d has no <source><address uuid='...'/>",
                                  p->hostdev_line);
                        return;
                }
                if (vc_domain_has_mdev(p->domain, p->mdev_uuid)) {
                        set_error(error, ctx, "mdev %s is named by two <hostdev> elements", p->mdev_uuid);
                        return;
                }
                g_ptr_array_add(p->domain->mdevs, g_steal_pointer(&p->mdev_uuid));
        }
        g_ptr_array_remove_index(p->frames, depth);
}

static void on_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer user_data,
                    GError **error)
{
        Parser *p = user_data;

        if (p->text && p->frames->len == 2)
                g_string_append_len(p->text, text, (gssize)len);
}

int vc_domain_parse(const char *xml, gssize len, VcDomain **ret, char **ret_error)
{
        static const GMarkupParser callbacks = {
                .start_element = on_start,
                .end_element = on_end,
                .text = on_text,
        };
        g_autoptr(VcDomain) d = g_new0(VcDomain, 1);
        g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func((GDestroyNotify)frame_free);
        g_autoptr(GArray) lines = g_array_new(false, true, sizeof(unsigned));
        g_autoptr(GMarkupParseContext) ctx = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *why = NULL;
        Parser p = {.domain = d, .frames = frames, .vgpu_lines = lines};
        bool ok;

        d->mdevs = g_ptr_array_new_with_free_func(g_free);
        d->pci_hostdevs = g_ptr_array_new_with_free_func(g_free);
        d->vgpus = g_ptr_array_new_with_free_func((GDestroyNotify)vc_vgpu_request_free);
        if (len < 0)
                len = (gssize)strlen(xml);
        if (len == 0) {
                *ret_error = g_strdup("the domain XML is empty");
                return -EINVAL;
        }

        ctx = g_markup_parse_context_new(&callbacks, G_MARKUP_PREFIX_ERROR_POSITION, &p, NULL);
        ok = g_markup_parse_context_parse(ctx, xml, len, &error) &&
             g_markup_parse_context_end_parse(ctx, &error);
        if (p.text)
                g_string_free(p.text, true);
        g_free(p.mdev_uuid);
        g_free(p.pci_address);
        if (!ok) {
                *ret_error = g_strdup_printf("the domain XML is not valid: %s", error->message);
                return -EINVAL;
        }
        if (vc_vgpu_requests_finish(d->vgpus, "the <vgpud:vgpu> element of line",
                                    (const unsigned *)(void *)lines->data, &why) < 0) {
                *ret_error = g_steal_pointer(&why);
                return -EINVAL;
        }
        *ret = g_steal_pointer(&d);
        return 0;
}

bool vc_domain_has_mdev(const VcDomain *d, const char *uuid)
{
        for (guint i = 0; i < d->mdevs->len; i++)
                if (strcmp(d->mdevs->pdata[i], uuid) == 0)
                        return true;
        return false;
}

static bool in_set(GHashTable *set, const char *uuid)
{
        return set && g_hash_table_contains(set, uuid);
}

static bool taken_by(GPtrArray *assigned, const char *uuid)
{
        for (guint i = 0; i < assigned->len; i++)
                if (assigned->pdata[i] && strcmp(assigned->pdata[i], uuid) == 0)
                        return true;
        return false;
}

GPtrArray *vc_domain_assign(const VcDomain *d, GHashTable *running, GHashTable *defined, GHashTable *held)
{
        GPtrArray *assigned = g_ptr_array_new_with_free_func(g_free);

        /* First the elements that name their UUID, so that the others never take it. */
        for (guint i = 0; i < d->vgpus->len; i++) {
                const VcVgpuRequest *r = d->vgpus->pdata[i];
                g_ptr_array_add(assigned, g_strdup(r->uuid));
        }
        /* Then the devices the owner holds already in an element's slot. */
        for (guint i = 0; i < d->vgpus->len; i++) {
                const VcVgpuRequest *r = d->vgpus->pdata[i];
                const char *uuid = held ? g_hash_table_lookup(held, GUINT_TO_POINTER(r->slot)) : NULL;

                if (assigned->pdata[i] || !uuid || !vc_domain_has_mdev(d, uuid) || taken_by(assigned, uuid))
                        continue;
                assigned->pdata[i] = g_strdup(uuid);
        }
        /* Then the free hostdevs, in document order. */
        for (guint i = 0; i < d->vgpus->len; i++) {
                if (assigned->pdata[i])
                        continue;
                for (guint j = 0; j < d->mdevs->len; j++) {
                        const char *uuid = d->mdevs->pdata[j];
                        if (in_set(running, uuid) || in_set(defined, uuid) || taken_by(assigned, uuid))
                                continue;
                        assigned->pdata[i] = g_strdup(uuid);
                        break;
                }
        }
        return assigned;
}

bool vc_domain_has_pci(const VcDomain *d, const char *address)
{
        for (guint i = 0; i < d->pci_hostdevs->len; i++)
                if (strcmp(d->pci_hostdevs->pdata[i], address) == 0)
                        return true;
        return false;
}

char *vc_domain_pci_hostdev_xml(const char *address)
{
        unsigned dom = 0, bus = 0, slot = 0, fn = 0;

        if (sscanf(address, "%4x:%2x:%2x.%1x", &dom, &bus, &slot, &fn) != 4)
                return NULL;
        return g_strdup_printf("<hostdev mode='subsystem' type='pci' managed='no'><source>"
                               "<address domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/>"
                               "</source></hostdev>",
                               dom, bus, slot, fn);
}

char *vc_domain_hostdev_xml(const char *uuid)
{
        return g_strdup_printf("<hostdev mode='subsystem' type='mdev' model='vfio-pci'>"
                               "<source><address uuid='%s'/></source></hostdev>",
                               uuid);
}
