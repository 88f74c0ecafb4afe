/*
 * smtp_milter_mods — filters' changes as edits; see smtp_milter_mods.h.
 */
#include "smtp_milter_mods.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "xmalloc.h"

/* "Name: value\r\n": the value as the filter gave it (milter_conn
 * checked it cannot end the header or start a field), with a blank after
 * the colon unless it brings its own. */
static char *
field_text(const char *name, const char *value)
{
	const char *sep = value[0] == ' ' || value[0] == '\t' ? ":" : ": ";

	return xasprintf("%s%s%s\r\n", name, sep, value);
}

/* Where the header section ends: after its last field. */
static uint64_t
header_end(const struct msg_header *h)
{
	if (h->nf == 0)
		return 0;
	return h->f[h->nf - 1].stream_off + h->f[h->nf - 1].len;
}

/* The index-th (from 1) field named name, or -1. */
static long
nth_field(const struct msg_header *h, const char *name, unsigned index)
{
	unsigned n = 0;

	for (size_t i = 0; i < h->nf; i++)
		if (msg_field_is(h, i, name) && ++n == index)
			return (long)i;
	return -1;
}

static void
list_add(char ***v, size_t *n, const char *addr)
{
	size_t len = strlen(addr);

	/* "<a@b>" as milters write addresses */
	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>') {
		addr++;
		len -= 2;
	}
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = xstrndup(addr, len);
}

static int
add_text(struct smtp_milter_edits *ed, uint64_t off, uint64_t len, char *text,
    char *err, size_t errlen)
{
	int rc = queue_envelope_add_cut(&ed->e, off, len, text);

	free(text);
	if (rc == -1)
		snprintf(err, errlen, "a change collides with another one, or "
		    "there are too many");
	return rc;
}

static int
one_mod(struct smtp_milter_edits *ed, const struct msg_header *h,
    const struct milter_mod *m, char *err, size_t errlen)
{
	long i;

	switch (m->kind) {
	case MILTER_MOD_ADDHEADER:
		return add_text(ed, header_end(h), 0,
		    field_text(m->name, m->value), err, errlen);
	case MILTER_MOD_INSHEADER:
		return add_text(ed, m->index < h->nf ?
		    h->f[m->index].stream_off : header_end(h), 0,
		    field_text(m->name, m->value), err, errlen);
	case MILTER_MOD_CHGHEADER:
		if ((i = nth_field(h, m->name, m->index)) < 0) {
			/* Changing a field that is not there adds it
			 * (libmilter's smfi_chgheader); deleting it is
			 * nothing to do. */
			if (m->value[0] == '\0')
				return 0;
			return add_text(ed, header_end(h), 0,
			    field_text(m->name, m->value), err, errlen);
		}
		return add_text(ed, h->f[i].stream_off, h->f[i].len,
		    m->value[0] ? field_text(m->name, m->value) : NULL, err,
		    errlen);
	case MILTER_MOD_ADDRCPT:
		list_add(&ed->add, &ed->nadd, m->addr);
		return 0;
	case MILTER_MOD_DELRCPT:
		list_add(&ed->del, &ed->ndel, m->addr);
		return 0;
	case MILTER_MOD_CHGFROM:
		break;		/* not offered (smtp_milter.c) */
	}
	snprintf(err, errlen, "a change postern does not make");
	return -1;
}

int
smtp_milter_mods_apply(struct smtp_milter_edits *ed,
    const struct msg_header *h, uint64_t size, const struct milter_answer *a,
    char *err, size_t errlen)
{
	for (size_t i = 0; i < a->nmods; i++)
		if (one_mod(ed, h, &a->mods[i], err, errlen) == -1)
			return -1;
	if (a->body_replaced) {
		uint64_t from = h->body_off < size ? h->body_off : size;
		char *body;

		/* The envelope stores text, never a NUL byte. */
		if (memchr(a->body, '\0', a->bodylen) != NULL) {
			snprintf(err, errlen, "a replaced body with a NUL byte");
			return -1;
		}
		body = xstrndup((const char *)a->body, a->bodylen);
		if (size - from == 0 && a->bodylen == 0) {
			free(body);
			return 0;
		}
		return add_text(ed, from, size - from, body, err, errlen);
	}
	return 0;
}

void
smtp_milter_mods_free(struct smtp_milter_edits *ed)
{
	queue_envelope_clear_cuts(&ed->e);
	for (size_t i = 0; i < ed->nadd; i++)
		free(ed->add[i]);
	free(ed->add);
	for (size_t i = 0; i < ed->ndel; i++)
		free(ed->del[i]);
	free(ed->del);
	memset(ed, 0, sizeof(*ed));
}
