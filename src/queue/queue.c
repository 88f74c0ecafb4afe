/*
 * queue — message ids, envelopes and the queue file format.  The spool's
 * files and start-up (queue_init, queue_scan, queue_read_envelope) are
 * queue_fs.c; the writer thread that makes messages durable is
 * queue_writer.c; delivery progress is queue_state.c.  The layout and the
 * commit protocol are described in docs/spool.md.
 *
 * A queue file is the message bytes, then a versioned text envelope of
 * "key value" records ending in a blank line, then a fixed-size trailer
 * "END <offset of the envelope in 16 hex digits>\n".  The message comes
 * first because it is written as it arrives, before the envelope is final
 * (docs/spool.md).  Values are
 * %XX-encoded so that they never hold a blank or a line end.  The reader is
 * strict and bounded (it reads at most QUEUE_ENVELOPE_MAX bytes of
 * envelope and never past what it read): anything that is not exactly a
 * complete file as the writer makes it is invalid, and start-up moves it to
 * corrupt/.  Every function here is safe on any thread.
 */
#include "queue.h"

#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "postern_limits.h"
#include "log.h"
#include "dsn.h"
#include "xmalloc.h"

#define QUEUE_MAGIC	"postern-queue 2"
#define NOTIFY_MASK	(SMTP_NOTIFY_NEVER | SMTP_NOTIFY_SUCCESS | \
			    SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY)

/* ---- ids ---- */

/* In ASCII order, so that ids sort as the numbers they encode. */
static const char b62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/*
 * 9 digits of microseconds (62^9 us lasts until the year 2398), 4 of a
 * per-process counter (ids made in one microsecond by one process stay
 * distinct and ordered), 7 of random bits (about 41 bits: distinct across
 * processes and gateways that share a clock tick).
 */
#define ID_TIME_DIGITS	9
#define ID_COUNT_DIGITS	4
#define ID_RAND_DIGITS	7

static _Atomic uint32_t id_counter;

static void
put_b62(char *p, int width, uint64_t v)
{
	while (width-- > 0) {
		p[width] = b62[v % 62];
		v /= 62;
	}
}

static uint64_t
id_random(void)
{
	struct timespec ts;
	uint64_t r;
	ssize_t n;

	do
		n = getrandom(&r, sizeof(r), 0);
	while (n == -1 && errno == EINTR);
	if (n == (ssize_t)sizeof(r))
		return r;
	/* No getrandom (seccomp, ancient kernel): pid and clock still keep
	 * processes apart. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)getpid() << 32 ^ (uint64_t)ts.tv_nsec) *
	    0x9e3779b97f4a7c15ULL;
}

/* Digits wrap (put_b62 keeps the low ones): the counter every 62^4 ids,
 * the random part is reduced modulo 62^7. */
void
queue_id_new(char *buf)
{
	struct timespec ts;
	uint64_t us;

	clock_gettime(CLOCK_REALTIME, &ts);
	us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	put_b62(buf, ID_TIME_DIGITS, us);
	put_b62(buf + ID_TIME_DIGITS, ID_COUNT_DIGITS,
	    atomic_fetch_add(&id_counter, 1));
	put_b62(buf + ID_TIME_DIGITS + ID_COUNT_DIGITS, ID_RAND_DIGITS,
	    id_random());
	buf[QUEUE_ID_LEN] = '\0';
}

int
queue_id_valid(const char *id)
{
	size_t i;

	if (id == NULL)
		return 0;
	for (i = 0; i < QUEUE_ID_LEN; i++)
		if (id[i] == '\0' || strchr(b62, id[i]) == NULL)
			return 0;
	return id[QUEUE_ID_LEN] == '\0';
}

/* ---- envelopes ---- */

void
queue_envelope_free(struct queue_envelope *env)
{
	size_t i;

	if (env == NULL)
		return;
	free(env->vserver);
	free(env->client_addr);
	free(env->helo);
	free(env->sender);
	free(env->envid);
	free(env->auth_user);
	free(env->prepend);
	queue_envelope_clear_cuts(env);
	free(env->hold);
	free(env->milters);
	for (i = 0; i < env->nrcpts; i++) {
		free(env->rcpts[i].addr);
		free(env->rcpts[i].orcpt);
	}
	free(env->rcpts);
	free(env);
}

/* rcpts grows by doubling from 4; only this function allocates it, so its
 * capacity follows from nrcpts. */
static size_t
rcpt_cap(size_t n)
{
	size_t c = 4;

	while (c < n)
		c *= 2;
	return c;
}

size_t
queue_envelope_del_rcpt(struct queue_envelope *env, const char *addr)
{
	size_t i, j, n = 0;

	for (i = j = 0; i < env->nrcpts; i++) {
		if (strcasecmp(env->rcpts[i].addr, addr) == 0) {
			free(env->rcpts[i].addr);
			free(env->rcpts[i].orcpt);
			n++;
			continue;
		}
		env->rcpts[j++] = env->rcpts[i];
	}
	env->nrcpts = j;
	return n;
}

void
queue_envelope_add_rcpt(struct queue_envelope *env, const char *addr,
    const char *orcpt, unsigned notify)
{
	struct queue_rcpt *r;
	size_t n = env->nrcpts;

	if (n == 0 || (n >= 4 && n == rcpt_cap(n)))
		env->rcpts = xreallocarray(env->rcpts, rcpt_cap(n + 1),
		    sizeof(*env->rcpts));
	r = &env->rcpts[n];
	r->addr = xstrdup(addr);
	r->orcpt = orcpt ? xstrdup(orcpt) : NULL;
	r->notify = notify;
	env->nrcpts = n + 1;
}

/* ---- encoding ---- */

static const char *const bool_words[] = { "0", "1", NULL };
static const char *const body_words[] = { "7bit", "8bitmime", NULL };
static const char *const ret_words[] = { "none", "full", "hdrs", NULL };

static int
must_encode(unsigned char c)
{
	return c <= 0x20 || c == '%' || c == 0x7f;
}

/* Append s with the bytes that could end a value or a line as %XX. */
int
queue_value_put(struct buf *b, const char *s)
{
	const char *run;
	int rc = 0;

	if (s == NULL)
		return 0;
	for (run = s; *s != '\0'; s++) {
		if (!must_encode((unsigned char)*s))
			continue;
		rc |= buf_append(b, run, (size_t)(s - run));
		rc |= buf_appendf(b, "%%%02X", (unsigned char)*s);
		run = s + 1;
	}
	rc |= buf_append(b, run, (size_t)(s - run));
	return rc;
}

static int
put_record(struct buf *b, const char *key, const char *value)
{
	int rc;

	rc = buf_appendf(b, "%s ", key);
	rc |= queue_value_put(b, value);
	rc |= buf_appendc(b, '\n');
	return rc;
}

char *
queue_envelope_encode(const struct queue_envelope *env, size_t *len)
{
	const struct queue_rcpt *r;
	struct buf b;
	size_t i;
	int rc = 0;

	/* Refuse what the reader would refuse: a file the writer makes must
	 * always be one that start-up accepts. */
	if (!queue_id_valid(env->id) || env->received < 0 ||
	    env->ret < SMTP_RET_NONE || env->ret > SMTP_RET_HDRS ||
	    env->nrcpts == 0) {
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; i < env->nrcpts; i++) {
		r = &env->rcpts[i];
		if (r->addr == NULL || r->addr[0] == '\0' ||
		    (r->notify & ~(unsigned)NOTIFY_MASK) != 0) {
			errno = EINVAL;
			return NULL;
		}
	}

	buf_init(&b, QUEUE_ENVELOPE_MAX);
	rc |= buf_appendf(&b, QUEUE_MAGIC "\nid %s\nreceived %lld\n",
	    env->id, (long long)env->received);
	rc |= put_record(&b, "vserver", env->vserver);
	rc |= put_record(&b, "client", env->client_addr);
	rc |= put_record(&b, "helo", env->helo);
	rc |= put_record(&b, "sender", env->sender);
	rc |= buf_appendf(&b, "smtputf8 %d\nbody %s\nret %s\n",
	    env->smtputf8 ? 1 : 0, env->body_8bit ? "8bitmime" : "7bit",
	    ret_words[env->ret]);
	if (env->envid != NULL)
		rc |= put_record(&b, "envid", env->envid);
	if (env->auth_user != NULL)
		rc |= put_record(&b, "auth", env->auth_user);
	if (env->prepend != NULL)
		rc |= put_record(&b, "prepend", env->prepend);
	for (i = 0; i < env->ncuts; i++) {
		rc |= buf_appendf(&b, "cut %llu %llu",
		    (unsigned long long)env->cuts[i].off,
		    (unsigned long long)env->cuts[i].len);
		if (env->cuts[i].text != NULL) {
			rc |= buf_appendc(&b, ' ');
			rc |= queue_value_put(&b, env->cuts[i].text);
		}
		rc |= buf_appendc(&b, '\n');
	}
	if (env->hold != NULL)
		rc |= put_record(&b, "hold", env->hold);
	if (env->milters != NULL)
		rc |= put_record(&b, "milters", env->milters);
	for (i = 0; i < env->nrcpts && rc == 0; i++) {
		r = &env->rcpts[i];
		rc |= buf_append(&b, "rcpt ", 5);
		rc |= queue_value_put(&b, r->addr);
		rc |= buf_appendf(&b, " %u ", r->notify);
		if (r->orcpt == NULL || r->orcpt[0] == '\0')
			rc |= buf_appendc(&b, '-');
		else if (strcmp(r->orcpt, "-") == 0)
			rc |= buf_append(&b, "%2D", 3);	/* not "none" */
		else
			rc |= queue_value_put(&b, r->orcpt);
		rc |= buf_appendc(&b, '\n');
	}
	rc |= buf_appendf(&b, "size %llu\n\n", (unsigned long long)env->size);
	if (rc != 0) {
		buf_free(&b);
		errno = E2BIG;
		return NULL;
	}
	return buf_release(&b, len);
}

/* ---- the message as it leaves ---- */

int
queue_envelope_add_cut(struct queue_envelope *env, uint64_t off,
    uint64_t len, const char *text)
{
	struct queue_cut *c;
	size_t i;

	if (text != NULL && text[0] == '\0')
		text = NULL;
	if ((len == 0 && text == NULL) || off + len < off)
		return -1;
	for (i = 0; i < env->ncuts && env->cuts[i].off < off; i++)
		;
	/* An insertion where another one stands: one text, in order. */
	if (len == 0 && i < env->ncuts && env->cuts[i].off == off &&
	    env->cuts[i].len == 0) {
		char *t = xasprintf("%s%s", env->cuts[i].text, text);

		free(env->cuts[i].text);
		env->cuts[i].text = t;
		return 0;
	}
	/* A cut starting where a text is inserted goes after it. */
	while (len > 0 && i < env->ncuts && env->cuts[i].off == off &&
	    env->cuts[i].len == 0)
		i++;
	if ((i > 0 && env->cuts[i - 1].off + env->cuts[i - 1].len > off) ||
	    (i < env->ncuts && (off + len > env->cuts[i].off ||
	    (len > 0 && env->cuts[i].off == off))))
		return -1;
	if (env->ncuts == QUEUE_CUTS_MAX)
		return -1;
	env->cuts = xreallocarray(env->cuts, env->ncuts + 1,
	    sizeof(*env->cuts));
	memmove(&env->cuts[i + 1], &env->cuts[i],
	    (env->ncuts - i) * sizeof(*env->cuts));
	c = &env->cuts[i];
	c->off = off;
	c->len = len;
	c->text = text ? xstrdup(text) : NULL;
	env->ncuts++;
	return 0;
}

void
queue_envelope_clear_cuts(struct queue_envelope *env)
{
	for (size_t i = 0; i < env->ncuts; i++)
		free(env->cuts[i].text);
	free(env->cuts);
	env->cuts = NULL;
	env->ncuts = 0;
}

uint64_t
queue_envelope_out_size(const struct queue_envelope *env)
{
	uint64_t n = env->size;

	for (size_t i = 0; i < env->ncuts; i++) {
		n -= env->cuts[i].len;
		if (env->cuts[i].text != NULL)
			n += strlen(env->cuts[i].text);
	}
	return n;
}

ssize_t
queue_view_pread(const struct queue_view *v, uint64_t pos, void *buf,
    size_t n)
{
	uint64_t at = 0, phys = 0;	/* view and file positions */
	ssize_t r;
	size_t i;

	/* Walk the segments: file bytes up to an edit, its text, then the
	 * file again past what it cut. */
	for (i = 0; i <= v->ncuts; i++) {
		uint64_t end = i < v->ncuts ? v->cuts[i].off : v->size;
		size_t tl;

		if (pos < at + (end - phys)) {
			uint64_t from = phys + (pos - at);

			if (n > end - from)
				n = (size_t)(end - from);
			do
				r = pread(v->fd, buf, n,
				    (off_t)(v->offset + from));
			while (r == -1 && errno == EINTR);
			return r;
		}
		at += end - phys;
		if (i == v->ncuts)
			break;
		tl = v->cuts[i].text ? strlen(v->cuts[i].text) : 0;
		if (pos < at + tl) {
			size_t k = (size_t)(pos - at);

			if (n > tl - k)
				n = tl - k;
			memcpy(buf, v->cuts[i].text + k, n);
			return (ssize_t)n;
		}
		at += tl;
		phys = end + v->cuts[i].len;
	}
	return 0;
}

/* ---- the trailer ---- */

void
queue_trailer_encode(char out[QUEUE_TRAILER_LEN + 1], uint64_t env_offset)
{
	snprintf(out, QUEUE_TRAILER_LEN + 1, "END %016llx\n",
	    (unsigned long long)env_offset);
}

int
queue_trailer_decode(const char *p, size_t len, uint64_t *env_offset)
{
	uint64_t v = 0;
	int d;

	if (len != QUEUE_TRAILER_LEN || memcmp(p, "END ", 4) != 0 ||
	    p[QUEUE_TRAILER_LEN - 1] != '\n')
		return -1;
	for (size_t i = 4; i < QUEUE_TRAILER_LEN - 1; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			d = p[i] - 'a' + 10;
		else
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*env_offset = v;
	return 0;
}

/* ---- decoding ---- */

#define ENV_STR(f)	offsetof(struct queue_envelope, f)

/* Every record; its index is its bit in the decoder's `seen` mask. */
#define REC_MANDATORY	0x1
#define REC_REPEAT	0x2
static const struct record {
	const char		*key;
	int			 flags;
	size_t			 str;	/* string field, or 0 */
	const char *const	*words;	/* the value is one of these */
} records[] = {
	{ "id",		REC_MANDATORY, 0, NULL },
	{ "received",	REC_MANDATORY, 0, NULL },
	{ "vserver",	REC_MANDATORY, ENV_STR(vserver), NULL },
	{ "client",	REC_MANDATORY, ENV_STR(client_addr), NULL },
	{ "helo",	REC_MANDATORY, ENV_STR(helo), NULL },
	{ "sender",	REC_MANDATORY, ENV_STR(sender), NULL },
	{ "smtputf8",	REC_MANDATORY, 0, bool_words },
	{ "body",	REC_MANDATORY, 0, body_words },
	{ "ret",	REC_MANDATORY, 0, ret_words },
	{ "envid",	0, ENV_STR(envid), NULL },
	{ "auth",	0, ENV_STR(auth_user), NULL },
	{ "prepend",	0, ENV_STR(prepend), NULL },
	{ "cut",	REC_REPEAT, 0, NULL },
	{ "hold",	0, ENV_STR(hold), NULL },
	{ "milters",	0, ENV_STR(milters), NULL },
	{ "size",	REC_MANDATORY, 0, NULL },
	{ "rcpt",	REC_MANDATORY | REC_REPEAT, 0, NULL },
};
#define NRECORDS	(sizeof(records) / sizeof(records[0]))

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode s[0..n) into a new string; NULL on a raw byte that should have
 * been encoded, a bad %XX or an encoded NUL. */
char *
queue_value_get(const char *s, size_t n)
{
	char *out, *o;
	size_t i;
	int hi, lo;

	o = out = xmalloc(n + 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (n - i < 3 ||
			    (hi = hexval((unsigned char)s[i + 1])) == -1 ||
			    (lo = hexval((unsigned char)s[i + 2])) == -1 ||
			    (hi | lo) == 0)
				goto bad;
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else if (must_encode(c))
			goto bad;
		else
			*o++ = (char)c;
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/* Plain decimal, no sign, no leading zeros beyond "0", within max. */
static int
get_number(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0, d;
	size_t i;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (uint64_t)(s[i] - '0');
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int
word_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(s, word, n) == 0;
}

/* "ADDR NOTIFY ORCPT", exactly two separating blanks. */
static int
get_rcpt(struct queue_envelope *env, const char *v, size_t n)
{
	const char *sp1, *sp2, *end = v + n;
	char *addr, *orcpt = NULL;
	uint64_t notify;

	if ((sp1 = memchr(v, ' ', n)) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1))) == NULL)
		return -1;
	if (sp1 == v || get_number(sp1 + 1, (size_t)(sp2 - sp1 - 1),
	    NOTIFY_MASK, &notify) == -1)
		return -1;
	if ((addr = queue_value_get(v, (size_t)(sp1 - v))) == NULL)
		return -1;
	if (!word_is(sp2 + 1, (size_t)(end - sp2 - 1), "-")) {
		orcpt = queue_value_get(sp2 + 1, (size_t)(end - sp2 - 1));
		if (orcpt == NULL || orcpt[0] == '\0') {
			free(addr);
			free(orcpt);
			return -1;
		}
	}
	queue_envelope_add_rcpt(env, addr, orcpt, (unsigned)notify);
	free(addr);
	free(orcpt);
	return 0;
}

/* "OFF LEN" or "OFF LEN TEXT". */
static int
get_cut(struct queue_envelope *env, const char *v, size_t n)
{
	const char *end = v + n, *sp1, *sp2;
	uint64_t off, len;
	char *text = NULL;
	int rc;

	if ((sp1 = memchr(v, ' ', n)) == NULL ||
	    get_number(v, (size_t)(sp1 - v), INT64_MAX, &off) == -1)
		return -1;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (get_number(sp1 + 1, (size_t)((sp2 ? sp2 : end) - sp1 - 1),
	    INT64_MAX, &len) == -1)
		return -1;
	if (sp2 != NULL && ((text = queue_value_get(sp2 + 1,
	    (size_t)(end - sp2 - 1))) == NULL || text[0] == '\0')) {
		free(text);
		return -1;
	}
	rc = queue_envelope_add_cut(env, off, len, text);
	free(text);
	return rc;
}

/* One record; -1 with a message in err. */
static int
get_record(struct queue_envelope *env, unsigned *seen, const char *key,
    size_t klen, const char *v, size_t vlen, char *err, size_t errlen)
{
	const struct record *rec;
	uint64_t num = 0;
	size_t i;
	char **field;

	for (rec = records; rec < records + NRECORDS; rec++)
		if (word_is(key, klen, rec->key))
			break;
	if (rec == records + NRECORDS) {
		/* Quote the key only if it is printable: it goes to logs. */
		for (i = 0; i < klen && i < 32; i++)
			if (key[i] < 0x21 || key[i] > 0x7e)
				break;
		if (i == klen || i == 32)
			snprintf(err, errlen, "unknown record \"%.*s\"",
			    (int)i, key);
		else
			snprintf(err, errlen, "unknown record");
		return -1;
	}
	if ((*seen & (1u << (rec - records))) &&
	    !(rec->flags & REC_REPEAT)) {
		snprintf(err, errlen, "duplicate record \"%s\"", rec->key);
		return -1;
	}
	*seen |= 1u << (rec - records);
	if (rec->str != 0) {
		field = (char **)((char *)env + rec->str);
		if ((*field = queue_value_get(v, vlen)) == NULL)
			goto bad;
		return 0;
	}
	if (rec->words != NULL) {
		for (num = 0; rec->words[num] != NULL; num++)
			if (word_is(v, vlen, rec->words[num]))
				break;
		if (rec->words[num] == NULL)
			goto bad;
	}
	if (strcmp(rec->key, "id") == 0) {
		if (vlen != QUEUE_ID_LEN)
			goto bad;
		memcpy(env->id, v, QUEUE_ID_LEN);
		env->id[QUEUE_ID_LEN] = '\0';
		if (!queue_id_valid(env->id))
			goto bad;
	} else if (strcmp(rec->key, "received") == 0) {
		if (get_number(v, vlen, INT64_MAX, &num) == -1)
			goto bad;
		env->received = (time_t)num;
	} else if (strcmp(rec->key, "size") == 0) {
		if (get_number(v, vlen, INT64_MAX, &num) == -1)
			goto bad;
		env->size = num;
	} else if (strcmp(rec->key, "rcpt") == 0) {
		if (get_rcpt(env, v, vlen) == -1)
			goto bad;
	} else if (strcmp(rec->key, "cut") == 0) {
		if (get_cut(env, v, vlen) == -1)
			goto bad;
	} else if (strcmp(rec->key, "smtputf8") == 0)
		env->smtputf8 = (int)num;
	else if (strcmp(rec->key, "body") == 0)
		env->body_8bit = (int)num;
	else
		env->ret = (int)num;
	return 0;
bad:
	snprintf(err, errlen, "bad value in record \"%s\"", rec->key);
	return -1;
}

struct queue_envelope *
queue_envelope_decode(const char *buf, size_t len, size_t *envlen, char *err,
    size_t errlen)
{
	struct queue_envelope *env;
	const char *line, *nl, *sp;
	size_t limit, off = 0, linelen, i;
	char msg[160];
	unsigned seen = 0;
	int lineno = 0;

	limit = len < QUEUE_ENVELOPE_MAX ? len : QUEUE_ENVELOPE_MAX;
	env = xcalloc(1, sizeof(*env));
	for (;;) {
		line = buf + off;
		if ((nl = memchr(line, '\n', limit - off)) == NULL) {
			if (len >= QUEUE_ENVELOPE_MAX)
				snprintf(err, errlen, "envelope longer than "
				    "%d bytes", QUEUE_ENVELOPE_MAX);
			else
				snprintf(err, errlen, "truncated envelope "
				    "(no blank line after line %d)", lineno);
			goto fail;
		}
		linelen = (size_t)(nl - line);
		off += linelen + 1;
		lineno++;
		if (lineno == 1) {
			if (word_is(line, linelen, QUEUE_MAGIC))
				continue;
			if (linelen >= 14 &&
			    memcmp(line, "postern-queue ", 14) == 0)
				snprintf(err, errlen, "unsupported queue file "
				    "version");
			else
				snprintf(err, errlen, "not a postern queue "
				    "file");
			goto fail;
		}
		if (linelen == 0)
			break;
		if ((sp = memchr(line, ' ', linelen)) == NULL || sp == line) {
			snprintf(err, errlen, "line %d: malformed record",
			    lineno);
			goto fail;
		}
		if (get_record(env, &seen, line, (size_t)(sp - line), sp + 1,
		    linelen - (size_t)(sp - line) - 1, msg,
		    sizeof(msg)) == -1) {
			snprintf(err, errlen, "line %d: %s", lineno, msg);
			goto fail;
		}
	}
	for (i = 0; i < NRECORDS; i++) {
		if ((records[i].flags & REC_MANDATORY) &&
		    !(seen & (1u << i))) {
			snprintf(err, errlen, "missing record \"%s\"",
			    records[i].key);
			goto fail;
		}
	}
	if (env->ncuts > 0 && env->cuts[env->ncuts - 1].off +
	    env->cuts[env->ncuts - 1].len > env->size) {
		snprintf(err, errlen, "record \"cut\" past the message");
		goto fail;
	}
	if (envlen != NULL)
		*envlen = off;
	return env;
fail:
	queue_envelope_free(env);
	return NULL;
}

