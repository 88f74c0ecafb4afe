/*
 * test_directory_ldap_io — an LDAP connection as the event loop gets it
 * (src/directory/directory_ldap_open.c): opened and bound by directory_ldap_open(),
 * then made non-blocking with its writes watched by
 * directory_ldap_nonblock().  The server is this test, on a loopback TCP
 * socket: a thread answers the bind, then the test writes and reads the
 * server's side by hand.
 *
 * What the loop relies on, checked against the real libldap: half an LDAP
 * message makes ldap_result() return 0 at once (the rest completes it
 * later); a request the socket does not take whole shows as `blocked`,
 * libldap refuses the next one with LDAP_BUSY, and ldap_result() writes
 * the rest once the socket takes bytes again.  Nothing here is timed:
 * the test waits with poll() for what it needs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <ldap.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "directory_ldap.h"

#define SEARCHES_MAX	200000	/* enough to fill any socket buffer */

struct server {
	int		lfd;
	int		fd;
};

/* One whole BER element (short or long length form) into buf. */
static size_t
read_element(int fd, unsigned char *buf, size_t cap)
{
	size_t have = 0, need = 2;
	ssize_t n;

	while (have < need) {
		n = read(fd, buf + have, cap - have);
		if (n <= 0)
			return 0;
		have += (size_t)n;
		if (have >= 2 && !(buf[1] & 0x80))
			need = 2 + buf[1];
		else if (have >= 2 && have >= 2 + (size_t)(buf[1] & 0x7f)) {
			size_t len = 0, k = buf[1] & 0x7f;

			for (size_t i = 0; i < k; i++)
				len = len << 8 | buf[2 + i];
			need = 2 + k + len;
		}
		if (need > cap)
			return 0;
	}
	return have;
}

/* Accept, take the bind request, answer success (message id 1). */
static void *
serve_bind(void *arg)
{
	static const unsigned char ok[] = { 0x30, 0x0c, 0x02, 0x01, 0x01,
	    0x61, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00 };
	struct server *sv = arg;
	unsigned char buf[512];

	sv->fd = accept(sv->lfd, NULL, NULL);
	if (sv->fd >= 0 && read_element(sv->fd, buf, sizeof(buf)) > 0 &&
	    buf[5] == 0x60)
		(void)!write(sv->fd, ok, sizeof(ok));
	return NULL;
}

static LDAP *
open_bound(struct server *sv, struct dl_settings *s, struct ldap_conncb *cb)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t slen = sizeof(sin);
	int small = 4096;
	pthread_t th;
	char uri[64], err[256];
	LDAP *ld = NULL;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sv->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(sv->lfd >= 0);
	/* A small window, so that the client's writes fill it soon. */
	setsockopt(sv->lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	assert_int_equal(bind(sv->lfd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	assert_int_equal(listen(sv->lfd, 1), 0);
	getsockname(sv->lfd, (struct sockaddr *)&sin, &slen);
	snprintf(uri, sizeof(uri), "ldap://127.0.0.1:%u",
	    ntohs(sin.sin_port));
	memset(s, 0, sizeof(*s));
	s->timeout = 30;	/* bounds the connect if the test is broken */
	directory_ldap_conncb_init(cb, s->timeout);
	assert_int_equal(pthread_create(&th, NULL, serve_bind, sv), 0);
	if (directory_ldap_open(s, uri, cb, &ld, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	pthread_join(th, NULL);
	assert_true(sv->fd >= 0);
	return ld;
}

static int
search(LDAP *ld, int *msgid)
{
	return ldap_search_ext(ld, "dc=winery,dc=local", LDAP_SCOPE_SUBTREE,
	    "(mail=ericm@winery-co.co)", NULL, 0, NULL, NULL, NULL, 8, msgid);
}

static void
wait_fd(int fd, short what)
{
	struct pollfd pfd = { fd, what, 0 };

	assert_int_equal(poll(&pfd, 1, -1), 1);
}

static void
test_half_a_message_never_blocks(void **state)
{
	/* SearchResultDone, success, for message id 2. */
	static const unsigned char done[] = { 0x30, 0x0c, 0x02, 0x01, 0x02,
	    0x65, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00 };
	struct timeval zero = { 0, 0 };
	struct dl_settings s;
	struct ldap_conncb cb;
	struct dl_watch w;
	struct server sv;
	unsigned char buf[1024];
	LDAPMessage *msg = NULL;
	int fd = -1, msgid = 0, rc = 0;
	LDAP *ld;

	(void)state;
	ld = open_bound(&sv, &s, &cb);
	assert_int_equal(directory_ldap_nonblock(ld, &w, &fd), 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(search(ld, &msgid), LDAP_SUCCESS);
	assert_int_equal(msgid, 2);
	assert_true(w.writes > 0 && !w.blocked);
	assert_true(read_element(sv.fd, buf, sizeof(buf)) > 0);
	assert_int_equal(buf[5], 0x63);		/* SearchRequest */
	/* The tag, the length and the message id: nothing to hand out. */
	assert_int_equal(write(sv.fd, done, 5), 5);
	wait_fd(fd, POLLIN);
	assert_int_equal(ldap_result(ld, LDAP_RES_ANY, LDAP_MSG_ONE, &zero,
	    &msg), 0);
	assert_null(msg);
	/* The rest: the message, whole. */
	assert_int_equal(write(sv.fd, done + 5, sizeof(done) - 5),
	    (ssize_t)sizeof(done) - 5);
	for (int i = 0; i < 100 && rc == 0; i++) {
		wait_fd(fd, POLLIN);
		rc = ldap_result(ld, LDAP_RES_ANY, LDAP_MSG_ONE, &zero, &msg);
	}
	assert_int_equal(rc, LDAP_RES_SEARCH_RESULT);
	assert_int_equal(ldap_msgid(msg), 2);
	ldap_msgfree(msg);
	ldap_unbind_ext(ld, NULL, NULL);
	assert_true(w.closed);
	close(sv.fd);
	close(sv.lfd);
}

static void
test_unsent_request_waits_for_the_socket(void **state)
{
	struct timeval zero = { 0, 0 };
	struct dl_settings s;
	struct ldap_conncb cb;
	struct dl_watch w;
	struct server sv;
	unsigned char buf[65536];
	unsigned long writes;
	LDAPMessage *msg = NULL;
	int fd = -1, msgid, small = 4096, n;
	LDAP *ld;

	(void)state;
	ld = open_bound(&sv, &s, &cb);
	assert_int_equal(directory_ldap_nonblock(ld, &w, &fd), 0);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	/* The server reads nothing: searches fill the socket until one is
	 * not taken whole. */
	for (n = 0; n < SEARCHES_MAX && !w.blocked; n++)
		assert_int_equal(search(ld, &msgid), LDAP_SUCCESS);
	assert_true(w.blocked);
	/* libldap holds one half-written request at a time. */
	assert_int_equal(search(ld, &msgid), LDAP_BUSY);
	writes = w.writes;
	/* The server reads again: ldap_result() writes the rest. */
	assert_int_equal(fcntl(sv.fd, F_SETFL, O_NONBLOCK), 0);
	for (n = 0; n < 100000 && w.blocked; n++) {
		while (read(sv.fd, buf, sizeof(buf)) > 0)
			;
		wait_fd(fd, POLLOUT);
		assert_int_equal(ldap_result(ld, LDAP_RES_ANY, LDAP_MSG_ONE,
		    &zero, &msg), 0);
	}
	assert_false(w.blocked);
	assert_true(w.writes > writes);
	assert_int_equal(search(ld, &msgid), LDAP_SUCCESS);
	ldap_unbind_ext(ld, NULL, NULL);
	close(sv.fd);
	close(sv.lfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_half_a_message_never_blocks),
		cmocka_unit_test(test_unsent_request_waits_for_the_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
