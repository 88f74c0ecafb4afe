/*
 * smtp_msgauth_result — what message authentication learnt of one
 * message, and how it is told: the Authentication-Results header field
 * (RFC 8601) the message gets, and one log line.
 */
#ifndef POSTERN_SMTP_MSGAUTH_RESULT_H
#define POSTERN_SMTP_MSGAUTH_RESULT_H

#include <stddef.h>

#include "arc.h"
#include "dkim_verify.h"
#include "dmarc.h"
#include "spf.h"

struct smtp_session;

struct smtp_msgauth_results {
	int			 have_spf;
	struct spf_outcome	 spf;
	int			 have_dkim;
	struct dkim_sig_result	 dkim[DKIM_VERIFY_MAX];
	size_t			 ndkim;
	int			 have_arc;
	struct arc_outcome	 arc;		/* its aar: NULL (arc_aar) */
	char			*arc_aar;
	int			 have_dmarc;
	struct dmarc_outcome	 dmarc;
	int			 arc_override;	/* a trusted sealer's pass
						   turned a DMARC fail into
						   an accept */
	unsigned		 forged;	/* our A-R fields cut */
};

/* "Authentication-Results: HOST; spf=... dkim=... dmarc=... arc=..."
 * with its CRLF, folded (malloc'ed). */
char	*smtp_msgauth_result_header(const struct smtp_session *s,
	    const struct smtp_msgauth_results *r);
void	smtp_msgauth_result_log(const struct smtp_session *s,
	    const struct smtp_msgauth_results *r);

#endif
