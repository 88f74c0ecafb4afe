/*
 * orgdomain — the organizational domain by the Public Suffix List, on
 * libpsl (orgdomain.h).  The one list is process state written only by
 * orgdomain_init/orgdomain_free, at start and at exit.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <libpsl.h>

#include "orgdomain.h"

/* Debian's publicsuffix package: the list libpsl was built to read. */
#define ORGDOMAIN_DIST_FILE	"/usr/share/publicsuffix/public_suffix_list.dafsa"

static psl_ctx_t	*orgdomain_psl;		/* loaded by orgdomain_init */

int
orgdomain_init(const char *path)
{
	psl_ctx_t *p;

	if (path != NULL)
		p = psl_load_file(path);
	else {
		p = psl_latest(ORGDOMAIN_DIST_FILE);
		if (p == NULL)
			p = psl_latest(NULL);
	}
	if (p == NULL)
		return -1;
	orgdomain_free();
	orgdomain_psl = p;
	return 0;
}

void
orgdomain_free(void)
{
	if (orgdomain_psl != NULL)
		psl_free(orgdomain_psl);
	orgdomain_psl = NULL;
}

static const psl_ctx_t *
orgdomain_list(void)
{
	if (orgdomain_psl == NULL)
		(void)orgdomain_init(NULL);
	return orgdomain_psl != NULL ? orgdomain_psl : psl_builtin();
}

const char *
orgdomain_get(const char *domain, char *out, size_t outlen)
{
	char name[ORGDOMAIN_MAX + 1];
	const char *reg;
	const psl_ctx_t *psl;
	size_t n, i;

	if (domain == NULL || out == NULL || outlen == 0)
		return NULL;
	n = strnlen(domain, ORGDOMAIN_MAX + 2);
	if (n > 0 && domain[n - 1] == '.')
		n--;		/* the root's dot is no label */
	if (n == 0 || n > ORGDOMAIN_MAX)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)domain[i];

		if (c == '\0')
			return NULL;
		/* an empty label: leading dot or two dots in a row */
		if (c == '.' && (i == 0 || domain[i - 1] == '.'))
			return NULL;
		name[i] = (char)tolower(c);
	}
	name[n] = '\0';

	psl = orgdomain_list();
	reg = psl == NULL ? NULL : psl_registrable_domain(psl, name);
	/* NULL from libpsl: the name is itself a public suffix (or the
	 * list is missing): it is its own organizational domain. */
	if (reg == NULL)
		reg = name;
	if (strlen(reg) >= outlen)
		return NULL;
	memcpy(out, reg, strlen(reg) + 1);
	return out;
}
