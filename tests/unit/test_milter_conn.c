/*
 * test_milter_conn — one milter connection against the fake filter of
 * test_milter_fake.h, on the same loop: the negotiation (what is offered;
 * skipped steps, no-reply steps, macro lists, fewer actions, an old
 * filter), the connect families, each verdict and the verdicts kept for
 * later stages, abort between transactions, every modification, and the
 * socket forms.  The failures are in test_milter_faults.c.  The callback
 * must never run inside the call (wait_answer checks it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_milter_fake.h"

static void
t_whole_transaction(void **state)
{
	struct milter_conn *mc = conn(2000, 0);
	struct got g = { 0 };
	const char *args[] = { "SIZE=10" };
	struct milter_macro mi[] = { { "i", "Q1" }, { NULL, NULL } };

	(void)state;
	do_connect(mc, &g, NULL);
	assert_int_equal(g.a.verdict, MILTER_CONTINUE);
	assert_false(g.a.local);
	assert_string_equal(g.a.stage, "connect");
	/* what we offer: version 6, every action, the steps */
	assert_int_equal(F.lastlen['O'], 12);
	assert_memory_equal(F.last['O'], "\0\0\0\6" "\0\0\1\xff"
	    "\0\x1f\xf7\xff", 12);
	assert_memory_equal(F.last['C'], "[192.0.2.7]\0" "4" "\x9c\x40"
	    "192.0.2.7\0", 25);
	g.done = 0;
	milter_conn_helo(mc, "client.example", NULL, on_answer, &g);
	wait_answer(&g);
	g.done = 0;
	milter_conn_mail(mc, "a@example", args, 1, mi, on_answer, &g);
	wait_answer(&g);
	assert_memory_equal(F.last['M'], "<a@example>\0SIZE=10\0", 20);
	g.done = 0;
	milter_conn_rcpt(mc, "b@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	g.done = 0;
	milter_conn_data(mc, NULL, on_answer, &g);
	wait_answer(&g);
	g.done = 0;
	milter_conn_header(mc, "Subject", B(" hello\r\n world"), on_answer,
	    &g);
	wait_answer(&g);
	/* without HDR_LEADSPC: no leading space, folds as LF */
	assert_memory_equal(F.last['L'], "Subject\0hello\n world\0", 21);
	g.done = 0;
	milter_conn_eoh(mc, NULL, on_answer, &g);
	wait_answer(&g);
	g.done = 0;
	milter_conn_body(mc, B("body\r\n"), on_answer, &g);
	wait_answer(&g);
	g.done = 0;
	milter_conn_eom(mc, mi, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_ACCEPT);	/* continue at eom */
	assert_int_equal(g.a.nmods, 0);
	assert_string_equal(F.log, "O DC C H DM M R T L N B DE E ");
	/* the next transaction needs no abort: the message is over */
	milter_conn_abort(mc);
	g.done = 0;
	milter_conn_mail(mc, "c@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_string_equal(F.log, "O DC C H DM M R T L N B DE E M ");
	milter_conn_free(mc);
	settle();
	assert_string_equal(F.log, "O DC C H DM M R T L N B DE E M Q ");
}

static void
t_skips_and_noreply(void **state)
{
	struct milter_conn *mc = conn(300, 0);
	struct got g = { 0 };

	(void)state;
	/* no connect, no helo, no reply to RCPT or headers, no body; the
	 * fake stays silent where no reply is due */
	F.protocol = 0x1 | 0x2 | 0x10 | 0x8000 | 0x80 | 0x100000;
	STEP('R', 0, 0, "");
	STEP('L', 0, 0, "");
	do_connect(mc, &g, "client.example");
	assert_int_equal(g.a.verdict, MILTER_CONTINUE);
	assert_true(g.a.local);
	g.done = 0;
	milter_conn_helo(mc, "h", NULL, on_answer, &g);
	wait_answer(&g);
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	g.done = 0;
	milter_conn_rcpt(mc, "b@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_CONTINUE);
	assert_true(g.a.local);
	g.done = 0;
	milter_conn_header(mc, "X-A", B(" v"), on_answer, &g);
	wait_answer(&g);
	assert_true(g.a.local);
	g.done = 0;
	milter_conn_body(mc, B("x\r\n"), on_answer, &g);
	wait_answer(&g);
	assert_true(g.a.local);
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_ACCEPT);
	/* the macros of a skipped step still go */
	assert_string_equal(F.log, "O DC M R L E ");
	/* with HDR_LEADSPC the value goes as it is */
	assert_memory_equal(F.last['L'], "X-A\0 v\0", 7);
	milter_conn_free(mc);
}

static void
t_verdicts(void **state)
{
	struct milter_conn *mc = conn(2000, 0);
	struct got g = { 0 };

	(void)state;
	STEP('R', 0, 0, "\0\0\0\1r");
	STEP('M', 0, 0, "\0\0\0\1c");
	STEP('T', 0, 0, "\0\0\0\x16" "y550 5.7.1 100%% spam\0");
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	g.done = 0;
	milter_conn_rcpt(mc, "b@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_REJECT);
	assert_string_equal(g.a.reply, "");
	/* a rejected recipient does not end the transaction */
	F.script['R'][0].bytes = NULL;
	g.done = 0;
	milter_conn_rcpt(mc, "c@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_CONTINUE);
	g.done = 0;
	milter_conn_data(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_REJECT);
	assert_string_equal(g.a.reply, "550 5.7.1 100% spam");
	/* the rest of the transaction is answered without the filter */
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_REJECT);
	assert_true(g.a.local);
	assert_string_equal(g.a.reply, "550 5.7.1 100% spam");
	milter_conn_abort(mc);
	settle();
	assert_string_equal(F.log, "O DC C M R R T A ");
	/* a new transaction: tempfail at MAIL, discard at data */
	STEP('M', 0, 0, "\0\0\0\1t");
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_TEMPFAIL);
	STEP('M', 0, 0, "\0\0\0\1c");
	STEP('T', 0, 0, "\0\0\0\1d");
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_CONTINUE);
	g.done = 0;
	milter_conn_data(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_DISCARD);
	g.done = 0;
	milter_conn_body(mc, B("x"), on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_DISCARD);
	assert_true(g.a.local);
	settle();
	/* MAIL after the refused one aborted it first */
	assert_string_equal(F.log, "O DC C M R R T A M A M T ");
	milter_conn_free(mc);
}

static void
t_connection_verdict(void **state)
{
	struct milter_conn *mc = conn(2000, 0);
	struct got g = { 0 };

	(void)state;
	STEP('H', 0, 0, "\0\0\0\1a");
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_helo(mc, "h", NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_ACCEPT);
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_ACCEPT);
	assert_true(g.a.local);
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_ACCEPT);
	settle();
	assert_string_equal(F.log, "O DC C H Q ");
	milter_conn_free(mc);
}

static void
t_modifications(void **state)
{
	struct milter_conn *mc = conn(2000, 0);
	struct got g = { 0 };

	(void)state;
	STEP('E', 0, 0,
	    "\0\0\0\x0c" "hX-Spam\0yes\0"
	    "\0\0\0\x12" "i\0\0\0\0" "X-First\0a\n\tb\0"
	    "\0\0\0\x0e" "m\0\0\0\0" "Subject\0\0"
	    "\0\0\0\x08" "+<n@ex>\0"
	    "\0\0\0\x15" "2<p@ex>\0NOTIFY=NEVER\0");
	STEP('E', 1, 0,
	    "\0\0\0\x08" "-<o@ex>\0"
	    "\0\0\0\x0c" "e<s@ex>\0A=B\0"
	    "\0\0\0\x06" "bnew\r\n"
	    "\0\0\0\x05" "bbody"
	    "\0\0\0\x01" "p"
	    "\0\0\0\x07" "qvirus\0"
	    "\0\0\0\x01" "c");
	do_connect(mc, &g, "h");
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_QUARANTINE);
	assert_string_equal(g.a.reason, "virus");
	assert_int_equal(g.a.nmods, 7);
	assert_int_equal(g.mods[0].kind, MILTER_MOD_ADDHEADER);
	assert_string_equal(g.mods[0].name, "X-Spam");
	assert_string_equal(g.mods[0].value, " yes");
	assert_int_equal(g.mods[1].kind, MILTER_MOD_INSHEADER);
	assert_int_equal(g.mods[1].index, 0);
	assert_string_equal(g.mods[1].value, " a\r\n\tb");
	assert_int_equal(g.mods[2].kind, MILTER_MOD_CHGHEADER);
	assert_int_equal(g.mods[2].index, 1);
	assert_string_equal(g.mods[2].value, "");
	assert_int_equal(g.mods[3].kind, MILTER_MOD_ADDRCPT);
	assert_string_equal(g.mods[3].addr, "<n@ex>");
	assert_null(g.mods[3].args);
	assert_int_equal(g.mods[4].kind, MILTER_MOD_ADDRCPT);
	assert_string_equal(g.mods[4].args, "NOTIFY=NEVER");
	assert_int_equal(g.mods[5].kind, MILTER_MOD_DELRCPT);
	assert_int_equal(g.mods[6].kind, MILTER_MOD_CHGFROM);
	assert_string_equal(g.mods[6].args, "A=B");
	assert_true(g.a.body_replaced);
	assert_string_equal(g.body, "new\r\nbody");
	got_free(&g);

	/* a value that would end the header block is a failure */
	memset(F.script['E'], 0, sizeof(F.script['E']));
	STEP('E', 0, 0, "\0\0\0\x0b" "hX-A\0a\nB:c\0" "\0\0\0\1c");
	milter_conn_eom(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	assert_non_null(strstr(g.a.reason, "line break"));
	milter_conn_free(mc);
}


static void
t_connect_families(void **state)
{
	struct milter_conn *mc;
	struct got g = { 0 };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6,
	    .sin6_port = htons(25) };

	(void)state;
	inet_pton(AF_INET6, "2001:db8::7", &s6.sin6_addr);
	mc = conn(2000, 0);
	milter_conn_connect(mc, NULL, (struct sockaddr *)&s6, NULL, on_answer,
	    &g);
	wait_answer(&g);
	assert_memory_equal(F.last['C'], "[2001:db8::7]\0" "6" "\0\x19"
	    "2001:db8::7\0", 29);
	milter_conn_free(mc);
	settle();
	/* an IPv4 client on a dual-stack listener is an IPv4 client */
	inet_pton(AF_INET6, "::ffff:192.0.2.9", &s6.sin6_addr);
	mc = conn(2000, 0);
	memset(&g, 0, sizeof(g));
	milter_conn_connect(mc, "c.example", (struct sockaddr *)&s6, NULL,
	    on_answer, &g);
	wait_answer(&g);
	assert_memory_equal(F.last['C'], "c.example\0" "4" "\0\x19"
	    "192.0.2.9\0", 23);
	milter_conn_free(mc);
	settle();
	mc = conn(2000, 0);
	memset(&g, 0, sizeof(g));
	milter_conn_connect(mc, NULL, NULL, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(F.lastlen['C'], 9);
	assert_memory_equal(F.last['C'], "unknown\0" "U", 9);
	milter_conn_free(mc);
}

static void
t_connect_reject_and_old_filter(void **state)
{
	struct milter_conn *mc = conn(2000, 0);
	struct got g = { 0 };

	(void)state;
	/* a reply code at connect holds for the connection */
	STEP('C', 0, 0, "\0\0\0\x1a" "y421 4.7.0 go away\r\n421 x\0");
	do_connect(mc, &g, "h");
	assert_int_equal(g.a.verdict, MILTER_TEMPFAIL);
	assert_string_equal(g.a.reply, "421 4.7.0 go away\r\n421 x");
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_TEMPFAIL);
	assert_true(g.a.local);
	assert_string_equal(g.a.reply, "421 4.7.0 go away\r\n421 x");
	milter_conn_free(mc);
	settle();

	/* a version 2 filter is not sent DATA; DISCARD at connect is
	 * nothing; SKIP ends the body */
	F.version = 2;
	memset(F.script, 0, sizeof(F.script));
	STEP('C', 0, 0, "\0\0\0\1d");
	STEP('B', 0, 0, "\0\0\0\1s");
	F.log[0] = '\0';
	mc = conn(2000, 0);
	memset(&g, 0, sizeof(g));
	do_connect(mc, &g, "h");
	assert_int_equal(g.a.verdict, MILTER_CONTINUE);
	g.done = 0;
	milter_conn_mail(mc, "a@example", NULL, 0, NULL, on_answer, &g);
	wait_answer(&g);
	g.done = 0;
	milter_conn_data(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_true(g.a.local);
	g.done = 0;
	milter_conn_body(mc, B("a\r\n"), on_answer, &g);
	wait_answer(&g);
	assert_false(g.a.local);
	g.done = 0;
	milter_conn_body(mc, B("b\r\n"), on_answer, &g);
	wait_answer(&g);
	assert_true(g.a.local);
	g.done = 0;
	milter_conn_eom(mc, NULL, on_answer, &g);
	wait_answer(&g);
	assert_int_equal(g.a.verdict, MILTER_ACCEPT);
	assert_string_equal(F.log, "O DC C M B E ");
	milter_conn_free(mc);
}

static void
t_macro_lists(void **state)
{
	struct milter_conn *mc = conn(2000, 0);
	struct got g = { 0 };
	static const char lists[] = "\0\0\0\0" "{client_addr}\0";

	(void)state;
	F.lists = lists;
	F.listslen = sizeof(lists) - 1;
	do_connect(mc, &g, "h");
	assert_int_equal(F.lastlen['D'], 1 + 14 + 10);
	assert_memory_equal(F.last['D'], "C{client_addr}\0" "192.0.2.7\0", 25);
	milter_conn_free(mc);
}

static void
t_offer_fewer_actions(void **state)
{
	char sock[64];
	struct milter_conn_params p = { "fake", sock, 2000, F.base, 0,
	    MILTER_F_ADDHDRS | MILTER_F_CHGHDRS };
	struct milter_conn *mc;
	struct got g = { 0 };

	(void)state;
	snprintf(sock, sizeof(sock), "inet:127.0.0.1:%d", F.port);
	/* the filter wants every action: refused */
	mc = milter_conn_new(&p);
	do_connect(mc, &g, "h");
	assert_memory_equal(F.last['O'] + 4, "\0\0\0\x11", 4);
	assert_int_equal(g.a.verdict, MILTER_FAILED);
	milter_conn_free(mc);
	settle();
	/* it wants what is offered */
	F.actions = MILTER_F_CHGHDRS;
	mc = milter_conn_new(&p);
	memset(&g, 0, sizeof(g));
	do_connect(mc, &g, "h");
	assert_int_equal(g.a.verdict, MILTER_CONTINUE);
	milter_conn_free(mc);
}

static void
t_parse_socket(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;

	(void)state;
	assert_int_equal(milter_conn_parse_socket("inet:127.0.0.1:11332", &ss,
	    &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(milter_conn_parse_socket("inet:[::1]:11332", &ss,
	    &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(milter_conn_parse_socket("inet:::1:25", &ss, &len),
	    0);
	assert_int_equal(milter_conn_parse_socket("unix:/run/x.sock", &ss,
	    &len), 0);
	assert_int_equal(ss.ss_family, AF_UNIX);
	assert_int_equal(milter_conn_parse_socket("inet:localhost:25", &ss,
	    &len), -1);
	assert_int_equal(milter_conn_parse_socket("inet:127.0.0.1:0", &ss,
	    &len), -1);
	assert_int_equal(milter_conn_parse_socket("inet:127.0.0.1:65536",
	    &ss, &len), -1);
	assert_int_equal(milter_conn_parse_socket("inet:127.0.0.1", &ss,
	    &len), -1);
	assert_int_equal(milter_conn_parse_socket("unix:", &ss, &len), -1);
	assert_int_equal(milter_conn_parse_socket("tcp:1.2.3.4:5", &ss, &len),
	    -1);
	assert_string_equal(milter_verdict_name(MILTER_QUARANTINE),
	    "quarantine");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_whole_transaction, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_skips_and_noreply, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_verdicts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_connection_verdict, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_modifications, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_connect_families, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_connect_reject_and_old_filter, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_macro_lists, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_offer_fewer_actions, setup,
		    teardown),
		cmocka_unit_test(t_parse_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
