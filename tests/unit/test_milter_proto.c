/*
 * test_milter_proto — the milter codec against bytes written here from
 * the protocol's description (docs/milter.md): every encoder, the framer
 * (short, zero, oversized lengths), and every reply the decoder knows,
 * with the malformed forms of each (unterminated strings, trailing data,
 * bad reply codes, bad header names, truncated integers).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "milter_proto.h"

/* A byte string literal with its length (without the literal's NUL). */
#define B(s)	(s), sizeof(s) - 1

static void
expect_bytes(struct buf *b, const char *want, size_t wlen)
{
	if (b->len != wlen || memcmp(b->p, want, wlen) != 0) {
		size_t i;

		fprintf(stderr, "got %zu bytes:", b->len);
		for (i = 0; i < b->len; i++)
			fprintf(stderr, " %02x", (unsigned char)b->p[i]);
		fprintf(stderr, "\n");
		fail_msg("encoding differs (want %zu bytes)", wlen);
	}
	buf_reset(b);
}

static void
t_encoders(void **state)
{
	struct buf b;
	const char *args[] = { "SIZE=100", "BODY=8BITMIME" };
	struct milter_macro m[] = {
		{ "j", "mx.example" }, { "{daemon_name}", "postern" },
		{ "i", NULL }, { NULL, NULL }
	};

	(void)state;
	buf_init(&b, 1 << 20);
	/* version 6, actions 0x1ff, protocol 0x1fffff */
	assert_int_equal(milter_proto_optneg(&b, 6, 0x1ff, 0x1fffff), 0);
	expect_bytes(&b, B("\0\0\0\x0d" "O" "\0\0\0\x06" "\0\0\x01\xff"
	    "\0\x1f\xff\xff"));
	assert_int_equal(milter_proto_macro(&b, 'C', m), 0);
	expect_bytes(&b, B("\0\0\0\x28" "D" "C" "j\0mx.example\0"
	    "{daemon_name}\0postern\0" "i\0\0"));
	assert_int_equal(milter_proto_macro(&b, 'E', NULL), 0);
	expect_bytes(&b, B("\0\0\0\x02" "DE"));
	assert_int_equal(milter_proto_connect(&b, "mail.example", '4', 25,
	    "192.0.2.1"), 0);
	expect_bytes(&b, B("\0\0\0\x1b" "C" "mail.example\0" "4" "\0\x19"
	    "192.0.2.1\0"));
	assert_int_equal(milter_proto_connect(&b, "[2001:db8::1]", '6',
	    0x1234, "2001:db8::1"), 0);
	expect_bytes(&b, B("\0\0\0\x1e" "C" "[2001:db8::1]\0" "6" "\x12\x34"
	    "2001:db8::1\0"));
	assert_int_equal(milter_proto_connect(&b, "localhost", 'L', 0,
	    "/run/s"), 0);
	expect_bytes(&b, B("\0\0\0\x15" "C" "localhost\0" "L" "\0\0"
	    "/run/s\0"));
	assert_int_equal(milter_proto_connect(&b, "x", 'U', 0, NULL), 0);
	expect_bytes(&b, B("\0\0\0\x04" "Cx\0U"));
	assert_int_equal(milter_proto_connect(&b, "x", 'Z', 0, "a"), -1);
	assert_int_equal(b.len, 0);
	assert_int_equal(milter_proto_helo(&b, "client.example"), 0);
	expect_bytes(&b, B("\0\0\0\x10" "H" "client.example\0"));
	assert_int_equal(milter_proto_mail(&b, "a@b.example", args, 2), 0);
	expect_bytes(&b, B("\0\0\0\x26" "M" "<a@b.example>\0" "SIZE=100\0"
	    "BODY=8BITMIME\0"));
	assert_int_equal(milter_proto_mail(&b, "", NULL, 0), 0);
	expect_bytes(&b, B("\0\0\0\x04" "M<>\0"));
	assert_int_equal(milter_proto_rcpt(&b, "u@example", NULL, 0), 0);
	expect_bytes(&b, B("\0\0\0\x0d" "R" "<u@example>\0"));
	assert_int_equal(milter_proto_header(&b, "Subject", B(" hi\n there")),
	    0);
	expect_bytes(&b, B("\0\0\0\x14" "L" "Subject\0" " hi\n there\0"));
	assert_int_equal(milter_proto_header(&b, "X", B("a\0b")), -1);
	assert_int_equal(milter_proto_body(&b, B("line\r\n")), 0);
	expect_bytes(&b, B("\0\0\0\x07" "B" "line\r\n"));
	assert_int_equal(milter_proto_unknown(&b, "VRFY x"), 0);
	expect_bytes(&b, B("\0\0\0\x08" "U" "VRFY x\0"));
	assert_int_equal(milter_proto_simple(&b, 'T'), 0);
	assert_int_equal(milter_proto_simple(&b, 'N'), 0);
	assert_int_equal(milter_proto_simple(&b, 'E'), 0);
	assert_int_equal(milter_proto_simple(&b, 'A'), 0);
	assert_int_equal(milter_proto_simple(&b, 'Q'), 0);
	assert_int_equal(milter_proto_simple(&b, 'K'), 0);
	expect_bytes(&b, B("\0\0\0\x01" "T" "\0\0\0\x01" "N"
	    "\0\0\0\x01" "E" "\0\0\0\x01" "A" "\0\0\0\x01" "Q"
	    "\0\0\0\x01" "K"));
	buf_free(&b);
}

static void
t_body_limits(void **state)
{
	struct buf b;
	char *big = calloc(1, MILTER_CHUNK_MAX + 1);

	(void)state;
	buf_init(&b, 2 * MILTER_CHUNK_MAX);
	assert_int_equal(milter_proto_body(&b, big, MILTER_CHUNK_MAX), 0);
	assert_int_equal(b.len, MILTER_CHUNK_MAX + 5);
	/* 65535 octets and the letter: 0x00010000 */
	assert_memory_equal(b.p, "\0\x01\0\0" "B", 5);
	buf_reset(&b);
	assert_int_equal(milter_proto_body(&b, big, MILTER_CHUNK_MAX + 1), -1);
	/* the buf's own limit: nothing half-written */
	b.max = 100;
	assert_int_equal(milter_proto_helo(&b, "h"), 0);
	assert_int_equal(milter_proto_body(&b, big, 200), -1);
	assert_int_equal(b.len, 7);
	assert_int_equal(milter_proto_header(&b, "Name", big, 0), 0);
	assert_int_equal(b.len, 7 + 11);
	buf_free(&b);
	free(big);
}

static void
t_frame(void **state)
{
	const char *why = NULL;
	size_t total = 99;

	(void)state;
	assert_int_equal(milter_proto_frame("", 0, 100, &total, &why),
	    MILTER_PROTO_MORE);
	assert_int_equal(milter_proto_frame("\0\0\0", 3, 100, &total, &why),
	    MILTER_PROTO_MORE);
	assert_int_equal(milter_proto_frame("\0\0\0\x01", 4, 100, &total,
	    &why), MILTER_PROTO_MORE);
	assert_int_equal(milter_proto_frame("\0\0\0\x01" "c", 5, 100, &total,
	    &why), MILTER_PROTO_OK);
	assert_int_equal(total, 5);
	assert_int_equal(milter_proto_frame("\0\0\0\x01" "cjunk", 9, 100,
	    &total, &why), MILTER_PROTO_OK);
	assert_int_equal(total, 5);
	assert_int_equal(milter_proto_frame("\0\0\0\0" "c", 5, 100, &total,
	    &why), MILTER_PROTO_BAD);
	assert_string_equal(why, "packet of length 0");
	assert_int_equal(milter_proto_frame("\0\0\0\x65", 4, 100, &total,
	    &why), MILTER_PROTO_BAD);
	assert_int_equal(milter_proto_frame("\0\0\0\x64", 4, 100, &total,
	    &why), MILTER_PROTO_MORE);
	assert_int_equal(milter_proto_frame("\xff\xff\xff\xff", 4,
	    MILTER_PACKET_MAX, &total, &why), MILTER_PROTO_BAD);
	assert_string_equal(why, "packet longer than the limit");
	/* MILTER_PACKET_MAX itself is allowed, one more is not */
	assert_int_equal(milter_proto_frame("\0\x08\0\0", 4,
	    MILTER_PACKET_MAX, &total, &why), MILTER_PROTO_MORE);
	assert_int_equal(milter_proto_frame("\0\x08\0\x01", 4,
	    MILTER_PACKET_MAX, &total, &why), MILTER_PROTO_BAD);
}

static int
dec(const char *p, size_t n, struct milter_reply *r)
{
	const char *why = NULL;
	int rc = milter_proto_decode(p, n, r, &why);

	if (rc == -1)
		assert_non_null(why);
	return rc;
}

static void
t_decode_bare(void **state)
{
	static const char kinds[] = "acrtdps4f";
	struct milter_reply r;
	char pkt[2];
	size_t i;

	(void)state;
	for (i = 0; kinds[i] != '\0'; i++) {
		pkt[0] = kinds[i];
		pkt[1] = 'x';
		assert_int_equal(dec(pkt, 1, &r), 0);
		assert_int_equal(r.kind, kinds[i]);
		assert_int_equal(dec(pkt, 2, &r), -1);
	}
	assert_int_equal(dec("", 0, &r), -1);
	assert_int_equal(dec("Z", 1, &r), -1);
	assert_int_equal(dec("\0", 1, &r), -1);
}

static void
t_decode_replycode(void **state)
{
	struct milter_reply r;

	(void)state;
	assert_int_equal(dec(B("y550 5.7.1 Spam\0"), &r), 0);
	assert_int_equal(r.kind, 'y');
	assert_int_equal(r.code, 550);
	assert_int_equal(r.a.len, 14);
	assert_string_equal(r.a.p, "550 5.7.1 Spam");
	assert_int_equal(dec(B("y451\0"), &r), 0);
	assert_int_equal(r.code, 451);
	assert_int_equal(dec(B("y421-4.7.0 a\r\n421 4.7.0 b\0"), &r), 0);
	assert_int_equal(r.code, 421);
	/* not terminated, trailing data, not 4xx/5xx, bad separator,
	 * enhanced code of another class */
	assert_int_equal(dec(B("y550 no"), &r), -1);
	assert_int_equal(dec(B("y550 x\0y"), &r), -1);
	assert_int_equal(dec(B("y250 ok\0"), &r), -1);
	assert_int_equal(dec(B("y55\0"), &r), -1);
	assert_int_equal(dec(B("y5a0 x\0"), &r), -1);
	assert_int_equal(dec(B("y550x\0"), &r), -1);
	assert_int_equal(dec(B("y550 4.7.1 x\0"), &r), -1);
	assert_int_equal(dec(B("y\0"), &r), -1);
}

static void
t_decode_headers(void **state)
{
	struct milter_reply r;

	(void)state;
	assert_int_equal(dec(B("hX-Spam\0yes\0"), &r), 0);
	assert_int_equal(r.kind, 'h');
	assert_string_equal(r.a.p, "X-Spam");
	assert_int_equal(r.a.len, 6);
	assert_string_equal(r.b.p, "yes");
	assert_int_equal(r.b.len, 3);
	assert_int_equal(dec(B("hX\0\0"), &r), 0);
	assert_int_equal(r.b.len, 0);
	assert_int_equal(dec(B("hX-Spam\0yes"), &r), -1);
	assert_int_equal(dec(B("hX-Spam"), &r), -1);
	assert_int_equal(dec(B("h\0yes\0"), &r), -1);
	assert_int_equal(dec(B("hX:Y\0yes\0"), &r), -1);
	assert_int_equal(dec(B("hX Y\0yes\0"), &r), -1);
	assert_int_equal(dec(B("hX\0a\0b"), &r), -1);

	assert_int_equal(dec(B("i\0\0\0\x02" "X-A\0v\0"), &r), 0);
	assert_int_equal(r.kind, 'i');
	assert_int_equal(r.index, 2);
	assert_string_equal(r.a.p, "X-A");
	assert_string_equal(r.b.p, "v");
	assert_int_equal(dec(B("i\0\0\0"), &r), -1);
	assert_int_equal(dec(B("i\0\0\0\0X\0"), &r), -1);

	assert_int_equal(dec(B("m\x80\0\0\x01" "Subject\0\0"), &r), 0);
	assert_int_equal(r.kind, 'm');
	assert_true(r.index == 0x80000001u);
	assert_string_equal(r.a.p, "Subject");
	assert_int_equal(r.b.len, 0);		/* empty: delete */
	assert_int_equal(dec(B("m\0\0\0\x01"), &r), -1);
}

static void
t_decode_envelope(void **state)
{
	struct milter_reply r;

	(void)state;
	assert_int_equal(dec(B("+<a@example>\0"), &r), 0);
	assert_int_equal(r.kind, '+');
	assert_string_equal(r.a.p, "<a@example>");
	assert_null(r.b.p);
	assert_int_equal(dec(B("+a\0b\0"), &r), -1);
	assert_int_equal(dec(B("+\0"), &r), -1);
	assert_int_equal(dec(B("+a"), &r), -1);
	assert_int_equal(dec(B("-<a@example>\0"), &r), 0);
	assert_int_equal(r.kind, '-');
	assert_int_equal(dec(B("2<a@example>\0NOTIFY=NEVER\0"), &r), 0);
	assert_int_equal(r.kind, '2');
	assert_string_equal(r.b.p, "NOTIFY=NEVER");
	assert_int_equal(dec(B("2<a@example>\0"), &r), 0);
	assert_null(r.b.p);
	assert_int_equal(dec(B("2<a@example>\0x"), &r), -1);
	assert_int_equal(dec(B("2<a@example>\0x\0y"), &r), -1);
	assert_int_equal(dec(B("e<s@example>\0SIZE=1\0"), &r), 0);
	assert_int_equal(r.kind, 'e');
	assert_string_equal(r.a.p, "<s@example>");
	assert_string_equal(r.b.p, "SIZE=1");
	assert_int_equal(dec(B("e<>\0"), &r), 0);
	assert_int_equal(dec(B("e\0"), &r), -1);
}

static void
t_decode_misc(void **state)
{
	struct milter_reply r;

	(void)state;
	assert_int_equal(dec(B("qvirus found\0"), &r), 0);
	assert_int_equal(r.kind, 'q');
	assert_string_equal(r.a.p, "virus found");
	assert_int_equal(dec(B("qreason"), &r), -1);
	assert_int_equal(dec(B("q\0x"), &r), -1);
	assert_int_equal(dec(B("bnew body\r\n"), &r), 0);
	assert_int_equal(r.kind, 'b');
	assert_int_equal(r.datalen, 10);
	assert_memory_equal(r.data, "new body\r\n", 10);
	assert_int_equal(dec(B("b"), &r), 0);
	assert_int_equal(r.datalen, 0);
	assert_int_equal(dec(B("l\0\0\0\x02" "{mail_addr} i\0"), &r), 0);
	assert_int_equal(r.kind, 'l');
	assert_int_equal(r.index, 2);
	assert_string_equal(r.a.p, "{mail_addr} i");
	assert_int_equal(dec(B("l\0\0\0\x02"), &r), -1);
	assert_int_equal(dec(B("l\0\0"), &r), -1);
	assert_string_equal(milter_proto_reply_name('y'), "SMFIR_REPLYCODE");
	assert_string_equal(milter_proto_reply_name('Z'), "unknown");
}

static void
t_decode_optneg(void **state)
{
	struct milter_reply r;
	const unsigned char *p;
	size_t n;
	uint32_t cls;
	struct milter_span names;

	(void)state;
	assert_int_equal(dec(B("O\0\0\0\x06" "\0\0\0\x31" "\0\0\x10\x41"),
	    &r), 0);
	assert_int_equal(r.kind, 'O');
	assert_int_equal(r.version, 6);
	assert_int_equal(r.actions, 0x31);
	assert_int_equal(r.protocol, 0x1041);
	assert_int_equal(r.listslen, 0);
	assert_int_equal(dec(B("O\0\0\0\x06" "\0\0\0\x01" "\0\0\0\0"
	    "\0\0\0\x00" "j {client_addr}\0" "\0\0\0\x05" "i\0"), &r), 0);
	assert_int_equal(r.listslen, 4 + 16 + 4 + 2);
	p = r.lists;
	n = r.listslen;
	assert_int_equal(milter_proto_symlist_next(&p, &n, &cls, &names), 1);
	assert_int_equal(cls, 0);
	assert_string_equal(names.p, "j {client_addr}");
	assert_int_equal(milter_proto_symlist_next(&p, &n, &cls, &names), 1);
	assert_int_equal(cls, 5);
	assert_string_equal(names.p, "i");
	assert_int_equal(milter_proto_symlist_next(&p, &n, &cls, &names), 0);
	/* short, a list without its NUL, a list cut in its class */
	assert_int_equal(dec(B("O\0\0\0\x06" "\0\0\0\x01" "\0\0\0"), &r), -1);
	assert_int_equal(dec(B("O\0\0\0\x06" "\0\0\0\x01" "\0\0\0\0"
	    "\0\0\0\x00" "j"), &r), -1);
	assert_int_equal(dec(B("O\0\0\0\x06" "\0\0\0\x01" "\0\0\0\0"
	    "\0\0"), &r), -1);
}

static void
t_small_checks(void **state)
{
	unsigned code = 0;

	(void)state;
	assert_true(milter_proto_replycode_ok(B("550"), &code));
	assert_int_equal(code, 550);
	assert_true(milter_proto_replycode_ok(B("451 4.7.1 later"), &code));
	assert_false(milter_proto_replycode_ok(B("651 x"), &code));
	assert_false(milter_proto_replycode_ok(B("45"), &code));
	assert_true(milter_proto_header_name_ok(B("X-Spam-Status")));
	assert_false(milter_proto_header_name_ok(B("")));
	assert_false(milter_proto_header_name_ok(B("X\x7f")));
	assert_false(milter_proto_header_name_ok(B("X\xc3\xa9")));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_encoders),
		cmocka_unit_test(t_body_limits),
		cmocka_unit_test(t_frame),
		cmocka_unit_test(t_decode_bare),
		cmocka_unit_test(t_decode_replycode),
		cmocka_unit_test(t_decode_headers),
		cmocka_unit_test(t_decode_envelope),
		cmocka_unit_test(t_decode_misc),
		cmocka_unit_test(t_decode_optneg),
		cmocka_unit_test(t_small_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
