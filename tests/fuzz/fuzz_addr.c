/*
 * fuzz_addr — libFuzzer harness for addr.c, called directly.
 *
 * The first input byte picks the flags, the rest is the path.  Beyond
 * "no crash, no sanitizer report" it checks the contract: results stay in
 * their bounds, an accepted address formats to a mailbox that parses back
 * to itself, nothing 8-bit gets through without ADDR_F_UTF8, and allowing
 * UTF-8 never changes how an ASCII-only address parses.
 *   make fuzz        (libFuzzer, FUZZ_TIME seconds a harness)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static void
check_bounds(const struct addr *a, int flags)
{
	size_t ll = strnlen(a->local, sizeof(a->local));
	size_t dl = strnlen(a->domain, sizeof(a->domain));

	if (ll >= sizeof(a->local) || dl >= sizeof(a->domain))
		abort();
	if (ll > ADDR_LOCAL_MAX || dl > ADDR_DOMAIN_MAX)
		abort();
	if (a->utf8 && !(flags & ADDR_F_UTF8))
		abort();
	if (a->null && (ll || dl))
		abort();
}

static void
check_roundtrip(const struct addr *a, int flags)
{
	char text[ADDR_TEXT_MAX], key[ADDR_TEXT_MAX];
	struct addr b;

	if (a->null || a->domain[0] == '\0')
		return;
	addr_format(a, text, sizeof(text));
	addr_format_key(a, key, sizeof(key));
	if (strlen(text) != strlen(key))
		abort();
	if (addr_parse_mailbox(text, strlen(text), flags, &b) != ADDR_OK)
		abort();
	if (strcmp(a->local, b.local) != 0 || strcmp(a->domain, b.domain) ||
	    a->literal != b.literal || a->utf8 != b.utf8)
		abort();
	if (!a->literal && !addr_valid_domain(a->domain, strlen(a->domain),
	    flags & ADDR_F_UTF8))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr a, b;
	enum addr_status st, st2;
	size_t end = 0, end2 = 0;
	const char *s;
	int flags;

	if (size < 1)
		return 0;
	flags = data[0] & (ADDR_F_ALLOW_NULL | ADDR_F_UTF8 | ADDR_F_POSTMASTER);
	s = (const char *)data + 1;
	size--;

	st = addr_parse_path(s, size, flags, &a, &end);
	if (st == ADDR_OK) {
		if (end < 2 || end > size || end > ADDR_PATH_MAX ||
		    s[end - 1] != '>')
			abort();
		check_bounds(&a, flags);
		check_roundtrip(&a, flags);
		/* what parses without UTF-8 parses the same with it */
		if (!(flags & ADDR_F_UTF8)) {
			st2 = addr_parse_path(s, size, flags | ADDR_F_UTF8,
			    &b, &end2);
			if (st2 != ADDR_OK || end2 != end ||
			    memcmp(&a, &b, sizeof(a)) != 0)
				abort();
		}
		/* trailing bytes after '>' are the caller's business */
		st2 = addr_parse_path(s, end, flags, &b, &end2);
		if (st2 != ADDR_OK || end2 != end)
			abort();
	} else if (st != ADDR_ERR_SYNTAX && st != ADDR_ERR_TOO_LONG &&
	    st != ADDR_ERR_UTF8)
		abort();
	else if (a.local[0] != '\0' || a.domain[0] != '\0')
		abort();		/* nothing half-parsed is left */

	if (addr_parse_mailbox(s, size, flags, &a) == ADDR_OK) {
		check_bounds(&a, flags);
		check_roundtrip(&a, flags);
	}
	(void)addr_valid_domain(s, size, flags & ADDR_F_UTF8);
	return 0;
}
