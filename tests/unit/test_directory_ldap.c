/*
 * test_directory_ldap — the pure parts of the LDAP backend: RFC 4515
 * escaping of what goes into the filter (%s, %u, %d), the filter items
 * that tell an address's own entry from a catch-all, host values
 * (Exchange legacy DNs included), the classification of the entries found
 * and of LDAP result codes; and the answer cache of the generic layer,
 * with a fake backend (hits, misses, joined lookups, expiry, TEMPFAIL not
 * kept).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "directory.h"
#include "directory_cache.h"
#include "directory_ldap.h"
#include "xmalloc.h"

static const char *
filt(const char *tmpl, const char *key)
{
	static char out[LDAP_FILTER_MAX];

	if (directory_ldap_filter(tmpl, key, out, sizeof(out)) == -1)
		return NULL;
	return out;
}

static void
test_escape(void **state)
{
	char out[64];
	size_t n;

	(void)state;
	n = directory_ldap_escape("a*b(c)d\\e", 9, out, sizeof(out));
	assert_string_equal(out, "a\\2ab\\28c\\29d\\5ce");
	assert_int_equal(n, strlen(out));
	/* NUL, controls and 8-bit bytes are escaped too; a blank is not. */
	n = directory_ldap_escape("x\0y\r\xc3\xa9 z", 8, out, sizeof(out));
	assert_string_equal(out, "x\\00y\\0d\\c3\\a9 z");
	/* Too small: cut, terminated, and the needed length returned. */
	n = directory_ldap_escape("****", 4, out, 5);
	assert_int_equal(n, 12);
	assert_int_equal(strlen(out), 3);
}

static void
test_filter(void **state)
{
	char small[16];

	(void)state;
	assert_string_equal(filt("(mail=%s)", "ericm@winery-co.co"),
	    "(mail=ericm@winery-co.co)");
	assert_string_equal(filt("(|(mail=%s)(proxyAddresses=smtp:%s))",
	    "kimy@winery-co.co"),
	    "(|(mail=kimy@winery-co.co)"
	    "(proxyAddresses=smtp:kimy@winery-co.co))");
	assert_string_equal(filt("(&(uid=%u)(dc=%d)(x=100%%))",
	    "kimy@winery-co.co"), "(&(uid=kimy)(dc=winery-co.co)(x=100%))");
	/* The catch-all key: %u is empty. */
	assert_string_equal(filt("(|(mail=%s)(uid=%u))", "@winery-co.co"),
	    "(|(mail=@winery-co.co)(uid=))");
	/* No address changes the filter's structure. */
	assert_string_equal(filt("(mail=%s)", "*@winery-co.co"),
	    "(mail=\\2a@winery-co.co)");
	assert_string_equal(filt("(mail=%s)", "\"x)(mail=*\"@winery-co.co"),
	    "(mail=\"x\\29\\28mail=\\2a\"@winery-co.co)");
	assert_string_equal(filt("(uid=%u)", "a\\b@x.example"),
	    "(uid=a\\5cb)");
	/* A quoted local part may hold '@': the domain is after the last. */
	assert_string_equal(filt("(&(uid=%u)(dc=%d))", "\"a@b\"@x.example"),
	    "(&(uid=\"a@b\")(dc=x.example))");
	/* A key starting with % is escaped like any other. */
	assert_string_equal(filt("(mail=%s)", "%s*@x.example"),
	    "(mail=%s\\2a@x.example)");
	/* Too long. */
	assert_int_equal(directory_ldap_filter("(mail=%s)",
	    "ericm@winery-co.co", small, sizeof(small)), -1);
	assert_int_equal(directory_ldap_filter("(mail=%s)", "a@b.c", small,
	    sizeof(small)), 0);
}

static void
test_items(void **state)
{
	struct dl_item it[LDAP_FILTER_ITEMS_MAX];
	size_t n;

	(void)state;
	n = directory_ldap_items("(|(mail=%s)(proxyAddresses=smtp:%s)"
	    "(mail=@%d)(cn>=%s)(sn=%u*)(uid=%u))", it, LDAP_FILTER_ITEMS_MAX);
	assert_int_equal(n, 3);
	assert_string_equal(it[0].attr, "mail");
	assert_string_equal(it[0].tmpl, "%s");
	assert_string_equal(it[1].attr, "proxyAddresses");
	assert_string_equal(it[2].attr, "uid");
	assert_true(directory_ldap_item_match(&it[0], "ericm@winery-co.co",
	    "EricM@Winery-co.co"));
	assert_false(directory_ldap_item_match(&it[0], "ericm@winery-co.co",
	    "@winery-co.co"));
	/* AD writes the primary address "SMTP:" in capitals. */
	assert_true(directory_ldap_item_match(&it[1], "ericm@winery-co.co",
	    "SMTP:ericm@winery-co.co"));
	assert_true(directory_ldap_item_match(&it[2], "ericm@winery-co.co",
	    "ericm"));
	directory_ldap_items_free(it, n);
	/* Escapes written in the template are decoded for comparing. */
	n = directory_ldap_items("(cn=\\2a%u)", it, LDAP_FILTER_ITEMS_MAX);
	assert_int_equal(n, 1);
	assert_true(directory_ldap_item_match(&it[0], "x@y.example", "*x"));
	directory_ldap_items_free(it, n);
	n = directory_ldap_items("(mail=%s)", it, 0);
	assert_int_equal(n, 0);
}

/* member-attribute: the address a group member's entry holds. */
static void
test_item_addr(void **state)
{
	struct dl_item it[LDAP_FILTER_ITEMS_MAX];
	char a[LDAP_VALUE_MAX + 1];
	size_t n;

	(void)state;
	n = directory_ldap_items("(|(mail=%s)(proxyAddresses=smtp:%s)"
	    "(uid=%u)(cn=x\\2a%s\\29))", it, LDAP_FILTER_ITEMS_MAX);
	assert_int_equal(n, 4);
	assert_int_equal(directory_ldap_item_addr(&it[0],
	    "EricM@Winery-co.co", a, sizeof(a)), 0);
	assert_string_equal(a, "EricM@Winery-co.co");
	assert_int_equal(directory_ldap_item_addr(&it[0], "no-at-sign", a,
	    sizeof(a)), -1);
	/* AD: the prefix of proxyAddresses, any case. */
	assert_int_equal(directory_ldap_item_addr(&it[1],
	    "SMTP:ericm@winery-co.co", a, sizeof(a)), 0);
	assert_string_equal(a, "ericm@winery-co.co");
	assert_int_equal(directory_ldap_item_addr(&it[1],
	    "x400:c=us;a= ;p=winery", a, sizeof(a)), -1);
	assert_int_equal(directory_ldap_item_addr(&it[1], "smtp:", a,
	    sizeof(a)), -1);
	/* %u is no address */
	assert_int_equal(directory_ldap_item_addr(&it[2], "ericm", a,
	    sizeof(a)), -1);
	/* escapes of the template decoded, a suffix stripped */
	assert_int_equal(directory_ldap_item_addr(&it[3], "X*e@w.example)",
	    a, sizeof(a)), 0);
	assert_string_equal(a, "e@w.example");
	/* too long for out */
	assert_int_equal(directory_ldap_item_addr(&it[0], "e@w.example", a,
	    5), -1);
	directory_ldap_items_free(it, n);
}

static void
test_pick(void **state)
{
	struct dl_found f[3];

	(void)state;
	memset(f, 0, sizeof(f));
	assert_int_equal(directory_ldap_pick(f, 1), 0);
	assert_int_equal(directory_ldap_pick(f, 2), -1);
	f[1].exact = 1;
	assert_int_equal(directory_ldap_pick(f, 3), 1);
	f[2].exact = 1;
	assert_int_equal(directory_ldap_pick(f, 3), -1);
}

static void
test_host(void **state)
{
	char h[300];

	(void)state;
	assert_int_equal(directory_ldap_host("LOCAL", h, sizeof(h)), 0);
	assert_string_equal(h, "local");
	assert_int_equal(directory_ldap_host("MBX1.Winery.Local", h,
	    sizeof(h)), 0);
	assert_string_equal(h, "mbx1.winery.local");
	assert_int_equal(directory_ldap_host("[10.0.0.32]:25", h, sizeof(h)),
	    0);
	assert_string_equal(h, "[10.0.0.32]:25");
	assert_int_equal(directory_ldap_host("/o=Winery/ou=Exchange "
	    "Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/"
	    "cn=Servers/cn=MBX2", h, sizeof(h)), 0);
	assert_string_equal(h, "mbx2");
	assert_int_equal(directory_ldap_host("/o=Winery/ou=x", h, sizeof(h)),
	    -1);
	assert_int_equal(directory_ldap_host("bad host", h, sizeof(h)), -1);
	assert_int_equal(directory_ldap_host("", h, sizeof(h)), -1);
	assert_int_equal(directory_ldap_host("[300.1.1.1]", h, sizeof(h)), -1);
	assert_int_equal(directory_ldap_host("mbx1.winery.local", h, 5), -1);
}

static void
test_classify(void **state)
{
	const char *team[] = { "ericm@winery-co.co", "kimy@winery-co.co" };
	struct dl_found f[3];
	struct dir_entry e;
	char host[300], why[256];

	(void)state;
	memset(f, 0, sizeof(f));
	assert_int_equal(directory_ldap_classify(f, 0, &e, host, sizeof(host),
	    why, sizeof(why)), DIR_NOTFOUND);

	f[0].dn = "uid=ericm";
	f[0].host = "MBX1.winery.local";
	assert_int_equal(directory_ldap_classify(f, 1, &e, host, sizeof(host),
	    why, sizeof(why)), DIR_FOUND);
	assert_int_equal(e.kind, DIR_ENTRY_MAILBOX);
	assert_string_equal(e.host, "mbx1.winery.local");

	/* A user and the catch-all both match: the exact one answers. */
	f[1].dn = "cn=catchall";
	f[1].host = "mbx9.winery.local";
	f[0].exact = 1;
	assert_int_equal(directory_ldap_classify(f, 2, &e, host, sizeof(host),
	    why, sizeof(why)), DIR_FOUND);
	assert_string_equal(e.host, "mbx1.winery.local");
	f[0].exact = 0;
	f[1].exact = 1;
	assert_int_equal(directory_ldap_classify(f, 2, &e, host, sizeof(host),
	    why, sizeof(why)), DIR_FOUND);
	assert_string_equal(e.host, "mbx9.winery.local");

	/* Found twice: a temporary failure, never a guess. */
	f[0].exact = 1;
	assert_int_equal(directory_ldap_classify(f, 2, &e, host, sizeof(host),
	    why, sizeof(why)), DIR_TEMPFAIL);
	assert_non_null(strstr(why, "found 2 times"));
	f[0].exact = f[1].exact = 0;
	assert_int_equal(directory_ldap_classify(f, 2, &e, host, sizeof(host),
	    why, sizeof(why)), DIR_TEMPFAIL);

	/* A list. */
	memset(f, 0, sizeof(f));
	f[0].dn = "cn=team";
	f[0].members = team;
	f[0].nmembers = 2;
	assert_int_equal(directory_ldap_classify(f, 1, &e, host, sizeof(host),
	    why, sizeof(why)), DIR_FOUND);
	assert_int_equal(e.kind, DIR_ENTRY_ALIAS);
	assert_int_equal(e.nmembers, 2);
	assert_string_equal(e.members[1], "kimy@winery-co.co");

	/* No host: not a recipient; a bad host: the directory is wrong. */
	memset(f, 0, sizeof(f));
	f[0].dn = "uid=nomail";
	assert_int_equal(directory_ldap_classify(f, 1, &e, host, sizeof(host),
	    why, sizeof(why)), DIR_NOTFOUND);
	f[0].host = "not a host";
	assert_int_equal(directory_ldap_classify(f, 1, &e, host, sizeof(host),
	    why, sizeof(why)), DIR_TEMPFAIL);
}

static void
test_rc(void **state)
{
	(void)state;
	assert_int_equal(directory_ldap_rc(LDAP_SUCCESS), DL_RC_OK);
	assert_int_equal(directory_ldap_rc(LDAP_BUSY), DL_RC_NEXT);
	assert_int_equal(directory_ldap_rc(LDAP_UNAVAILABLE), DL_RC_NEXT);
	assert_int_equal(directory_ldap_rc(LDAP_SERVER_DOWN), DL_RC_NEXT);
	assert_int_equal(directory_ldap_rc(LDAP_TIMELIMIT_EXCEEDED),
	    DL_RC_NEXT);
	assert_int_equal(directory_ldap_rc(LDAP_SIZELIMIT_EXCEEDED),
	    DL_RC_FAIL);
	assert_int_equal(directory_ldap_rc(LDAP_NO_SUCH_OBJECT), DL_RC_FAIL);
	assert_int_equal(directory_ldap_rc(LDAP_INSUFFICIENT_ACCESS),
	    DL_RC_FAIL);
	assert_int_equal(directory_ldap_rc(LDAP_FILTER_ERROR), DL_RC_FAIL);
}

/* ---- the answer cache, over a fake backend that answers later ---- */

struct fq {
	struct fq	*next;
	char		*key;
	dir_entry_cb	 cb;
	void		*arg;
};

static struct fq	*fq_head;
static int		 fq_asked;
static enum dir_status	 fq_answer = DIR_FOUND;

static void
fake_lookup(struct directory *d, const char *key, dir_entry_cb cb, void *arg)
{
	struct fq *q = xcalloc(1, sizeof(*q));

	(void)d;
	fq_asked++;
	q->key = xstrdup(key);
	q->cb = cb;
	q->arg = arg;
	q->next = fq_head;
	fq_head = q;
}

static int
fake_pump(void)
{
	struct dir_entry e = { DIR_ENTRY_MAILBOX, "mbx1.winery.local", NULL,
	    0 };
	struct fq *q;
	int n = 0;

	while ((q = fq_head) != NULL) {
		fq_head = q->next;
		q->cb(q->arg, fq_answer, fq_answer == DIR_FOUND ? &e : NULL);
		free(q->key);
		free(q);
		n++;
	}
	return n;
}

static const struct directory_backend fake = {
	"fake", NULL, fake_lookup, NULL
};

struct got {
	int		n;
	enum dir_status	st;
	char		host[64];
};

static void
got_cb(void *arg, enum dir_status st, const struct dir_entry *e)
{
	struct got *g = arg;

	g->n++;
	g->st = st;
	snprintf(g->host, sizeof(g->host), "%s", e && e->host ? e->host : "");
}

static void
test_cache(void **state)
{
	struct dir_cache *c = directory_cache_new(1);
	struct dir_cache_stats st;
	struct directory d = { &fake, NULL, 1, 1, NULL };
	struct got g1 = { 0 }, g2 = { 0 }, g3 = { 0 };

	(void)state;
	fq_asked = 0;
	/* Two questions in flight for one key: one backend lookup. */
	directory_cache_lookup(c, &d, "ericm@winery-co.co", got_cb, &g1);
	directory_cache_lookup(c, &d, "ericm@winery-co.co", got_cb, &g2);
	assert_int_equal(fq_asked, 1);
	assert_int_equal(g1.n + g2.n, 0);
	assert_int_equal(fake_pump(), 1);
	assert_int_equal(g1.n, 1);
	assert_int_equal(g2.n, 1);
	assert_string_equal(g2.host, "mbx1.winery.local");
	/* Then from the cache, synchronously. */
	directory_cache_lookup(c, &d, "ericm@winery-co.co", got_cb, &g3);
	assert_int_equal(g3.n, 1);
	assert_int_equal(g3.st, DIR_FOUND);
	assert_string_equal(g3.host, "mbx1.winery.local");
	assert_int_equal(fq_asked, 1);
	/* Negative answers are kept; temporary failures are not. */
	fq_answer = DIR_NOTFOUND;
	directory_cache_lookup(c, &d, "nobody@winery-co.co", got_cb, &g1);
	fake_pump();
	directory_cache_lookup(c, &d, "nobody@winery-co.co", got_cb, &g1);
	assert_int_equal(g1.st, DIR_NOTFOUND);
	assert_int_equal(fq_asked, 2);
	fq_answer = DIR_TEMPFAIL;
	directory_cache_lookup(c, &d, "down@winery-co.co", got_cb, &g1);
	fake_pump();
	directory_cache_lookup(c, &d, "down@winery-co.co", got_cb, &g1);
	assert_int_equal(fq_asked, 4);
	fake_pump();
	directory_cache_stats(c, &st);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.joined, 1);
	assert_int_equal(st.misses, 4);
	assert_int_equal(st.entries, 2);
	/* Expired after the lifetime. */
	usleep(1100 * 1000);
	fq_answer = DIR_FOUND;
	directory_cache_lookup(c, &d, "ericm@winery-co.co", got_cb, &g1);
	assert_int_equal(fq_asked, 5);
	fake_pump();
	directory_cache_free(c);
}

/* The generic layer puts the cache in front of a backend that asks for
 * one: a list resolved twice asks the backend once per member. */
static int
fake_open(struct directory *d, const struct conf *c, char *err,
    size_t errlen)
{
	(void)c;
	(void)err;
	(void)errlen;
	d->cache_ttl = 60;
	return 0;
}

static const struct directory_backend fake_cached = {
	"fake", fake_open, fake_lookup, NULL
};

struct res {
	int			 n;
	struct dir_result	*r;
};

static void
res_cb(void *arg, struct dir_result *r)
{
	struct res *g = arg;

	g->n++;
	dir_result_free(g->r);
	g->r = r;
}

static void
test_cache_in_resolve(void **state)
{
	struct directory *d;
	struct res g = { 0, NULL };
	char err[256];

	(void)state;
	d = directory_open_backend(&fake_cached, NULL, err, sizeof(err));
	assert_non_null(d);
	fq_asked = 0;
	fq_answer = DIR_FOUND;
	assert_non_null(directory_resolve(d, "ericm@winery-co.co", res_cb,
	    &g));
	assert_int_equal(fake_pump(), 1);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r->status, DIR_FOUND);
	/* Answered from the cache, at once. */
	assert_null(directory_resolve(d, "ericm@winery-co.co", res_cb, &g));
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r->status, DIR_FOUND);
	assert_string_equal(g.r->targets[0].host, "mbx1.winery.local");
	assert_int_equal(fq_asked, 1);
	dir_result_free(g.r);
	directory_unref(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_items),
		cmocka_unit_test(test_item_addr),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_rc),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_cache_in_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
