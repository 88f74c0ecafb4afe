/*
 * test_bounce_text — what a DSN says, whatever it is given: hostile
 * diagnostic text from a peer, lines too long for the wire, UTF-8 and
 * 8-bit originals; the output is canonical (CRLF only, no line over 998
 * octets) (bounce_fixture.h).
 */
#include "bounce_fixture.h"

static void
test_hostile_diagnostic(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_HDRS, NULL);
	struct bounce_rcpt r = { "bob@winery-co.co", NULL, "5.7.1",
	    "550-5.7.1 first\r\nInjected: header\r\n\r\n--fake\x01\x1b[31m"
	    "\xff\xfe\xc3\xa9 end\n550 5.7.1 last\r",
	    "mx.example\r\nX-Evil: 1", NULL };
	struct parsed ps;
	size_t len, i;
	char *m, *u;

	(void)state;
	m = compose(BOUNCE_FAILED, env, orig_msg, strlen(orig_msg), &r, 1,
	    &len);
	assert_canonical(m, len);
	assert_null(strstr(m, "\r\nInjected:"));
	assert_null(strstr(m, "\r\nX-Evil"));
	assert_null(strstr(m, "\r\n--fake"));
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)m[i];

		assert_true(c < 0x80);
		assert_true(c >= 0x20 || c == '\r' || c == '\n');
	}
	parse(m, len, &ps);
	u = unfold(ps.content[1]);
	assert_non_null(strstr(u, "\r\nDiagnostic-Code: smtp; "
	    "550-5.7.1 first Injected: header --fake [31m???? end 550 5.7.1 "
	    "last\r\n"));
	assert_non_null(strstr(u,
	    "\r\nRemote-MTA: dns; mx.exampleX-Evil:1\r\n"));
	free(u);
	parsed_free(&ps);
	free(m);
	queue_envelope_free(env);
}

/* Long diagnostics fold; long or broken original lines are made canonical. */
static void
test_long_lines(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_FULL, NULL);
	struct bounce_rcpt r = { "bob@winery-co.co", NULL, "5.0.0", NULL,
	    NULL, NULL };
	const char canon[] = "Subject: x\r\n\r\nbare\r\nlf and bare\r\ncr\r\n";
	struct parsed ps;
	char *diag, *msg, *m, *unfolded, *p, *q;
	size_t len, i, n;

	(void)state;
	/* 1500 octets of words, then a 1500-octet token. */
	diag = xmalloc(3100);
	n = (size_t)sprintf(diag, "550 5.0.0");
	while (n < 1500)
		n += (size_t)sprintf(diag + n, " word%zu", n);
	diag[n++] = ' ';
	for (i = 0; i < 1500; i++)
		diag[n++] = 'T';
	diag[n] = '\0';
	r.diagnostic = diag;

	msg = xmalloc(4000);
	n = (size_t)sprintf(msg, "Subject: x\r\n\r\nbare\nlf and bare\rcr\r\n");
	for (i = 0; i < 2500; i++)
		msg[n++] = 'L';
	msg[n] = '\0';
	m = compose(BOUNCE_FAILED, env, msg, n, &r, 1, &len);
	assert_canonical(m, len);
	parse(m, len, &ps);

	/* The folded field unfolds to the words as given. */
	p = strstr(ps.content[1], "Diagnostic-Code: smtp; ");
	assert_non_null(p);
	q = strstr(p, "\r\nLast-Attempt-Date");
	p = xstrndup(p, (size_t)(q - p));
	unfolded = unfold(p);
	free(p);
	assert_true(strncmp(unfolded + 23, diag, 1500) == 0);
	free(unfolded);

	assert_true(strncmp(ps.content[2], canon, strlen(canon)) == 0);
	p = ps.content[2] + strlen(canon);
	assert_int_equal(strspn(p, "L"), 998);
	assert_true(strncmp(p + 998, "\r\nL", 3) == 0);
	python_check(m, len, "message/rfc822");
	parsed_free(&ps);
	free(m);
	free(msg);
	free(diag);
	queue_envelope_free(env);
}

static void
test_utf8_and_8bit(void **state)
{
	struct queue_envelope *env = mkenv(SMTP_RET_NONE, NULL);
	struct bounce_rcpt r = { "j\303\266e@winery-co.co", NULL, "5.1.1",
	    NULL, NULL, NULL };
	const char msg[] = "Subject: caf\xc3\xa9\r\n\r\nd\xc3\xa9j\xc3\xa0\r\n";
	struct parsed ps;
	size_t len;
	char *m;

	(void)state;
	m = compose(BOUNCE_FAILED, env, msg, strlen(msg), &r, 1, &len);
	assert_canonical(m, len);
	parse(m, len, &ps);
	assert_non_null(strstr(ps.content[1],
	    "Final-Recipient: utf-8; j\\x{F6}e@winery-co.co\r\n"));
	assert_non_null(strstr(ps.content[0], "<j\\x{F6}e@winery-co.co>"));
	assert_string_equal(ps.content[2], msg);
	/* 8-bit content is declared, at both levels. */
	assert_non_null(strstr(ps.part[2],
	    "Content-Transfer-Encoding: 8bit\r\n"));
	assert_non_null(strstr(m, "\r\nContent-Transfer-Encoding: 8bit\r\n"
	    "\r\nThis is"));
	parsed_free(&ps);
	free(m);
	queue_envelope_free(env);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_diagnostic),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_utf8_and_8bit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
